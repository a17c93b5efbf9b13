"""What the durability barrier costs: a transactional write with and without it.

    python -m bench.durable

DynamoDB Local on a data dir (as `make run` starts it); the store's TransactWrite of a put and
an update (the shape of every create under an application), timed alternately with the
barrier and without it in alternating blocks in one run, so both see the same machine.
Prints the medians, p90s
and the added time per transaction; single-item writes have no barrier and cost nothing.
"""

import datetime
import functools
import os
import statistics
import subprocess
import sys
import tempfile
import time

from bench.common import ROOT


def _measure(n=300, warmup=150):
    from local import dynamodb

    with tempfile.TemporaryDirectory() as data, dynamodb.start(data_dir=data) as server:
        os.environ['AWS_ENDPOINT_URL_DYNAMODB'] = server.endpoint
        for name, value in (
            ('AWS_ACCESS_KEY_ID', 'x'),
            ('AWS_SECRET_ACCESS_KEY', 'x'),
            ('AWS_DEFAULT_REGION', 'us-east-1'),
        ):
            os.environ.setdefault(name, value)
        from chalicelib.store import durable
        from chalicelib.store.applications import Application
        from chalicelib.store.tx import transaction

        # The store reads its endpoint at import, so it is imported only now.
        Application.create_table(wait=True)
        now = datetime.datetime.now(datetime.UTC)
        Application('bench', 'parent', name='p', created_at=now).save()
        parent = Application('bench', 'parent')
        counter = iter(range(10**9))

        def write():
            with transaction() as t:
                t.save(
                    Application('bench', f'child-{next(counter)}', name='c', created_at=now),
                    condition=Application.id.does_not_exist(),
                )
                t.update(parent, actions=[Application.environment_count.add(1)])

        def put():
            Application('bench', f'single-{next(counter)}', name='c', created_at=now).save()

        kinds = {
            'PutItem (no barrier needed)': (put, False),
            'transaction without barrier': (write, False),
            'transaction with barrier': (write, True),
        }
        samples = {name: [] for name in kinds}
        names = list(kinds)
        # Blocks, not alternation: a transaction answered before its COMMIT makes the next
        # write wait for that COMMIT, which alternation would bill to the other kind.
        for i in range(warmup + len(names) * n):
            name = names[(i // 50) % len(names)]
            fn, barrier = kinds[name]
            durable.needed = functools.partial(bool, barrier)
            start = time.perf_counter()
            fn()
            if i >= warmup:
                samples[name].append((time.perf_counter() - start) * 1000)
    rows = {}
    print(f'DynamoDB Local on disk, {n} writes of each kind in rotating blocks of 50')
    for name, values in samples.items():
        values.sort()
        rows[name] = (statistics.median(values), values[int(len(values) * 0.9)])
        print(f'  {name:<30} median {rows[name][0]:6.2f} ms  p90 {rows[name][1]:6.2f} ms')
    added = rows['transaction with barrier'][0] - rows['transaction without barrier'][0]
    print(f'  added per transaction by the barrier: {added:.2f} ms median')
    return rows


def run():
    # A fresh interpreter: under `make bench` earlier benchmarks have bound the store's one
    # connection to moto; the store reads its endpoint once, when first used.
    subprocess.run([sys.executable, '-m', 'bench.durable'], cwd=ROOT, check=True)


if __name__ == '__main__':
    _measure()
