"""Acknowledged writes against DynamoDB Local itself, across SIGKILLs of its JVM.

    python -m bench.killed_writes [--kills 10] [--threads 6] [--barrier off|on|both]
        [--paths put,update,delete,batch,transact] [--min-seconds 0.5] [--max-seconds 2]

Each round starts DynamoDB Local on a data dir (the same one every round), lets several
threads write (PutItem, UpdateItem, DeleteItem, BatchWriteItem, TransactWriteItems, each on
keys of its own), SIGKILLs the JVM at a random moment, restarts it on the same data and
checks every write that was answered 200 before the kill. It prints, per write path, the
acknowledged writes and the ones lost, with how long before the kill each lost one had been
acknowledged. Bounded: ``--kills`` rounds of at most ``--max-seconds`` writing each.
``--barrier both`` gives every other thread the store's barrier (a consistent GetItem after
each TransactWriteItems), so one kill tests transactions with and without it.
"""

import argparse
import os
import random
import signal
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import boto3
from botocore.config import Config

from local import dynamodb

TABLE = 'killed-writes'
PATHS = ('put', 'update', 'delete', 'batch', 'transact')


def _client(endpoint):
    return boto3.client(
        'dynamodb',
        endpoint_url=endpoint,
        region_name='us-east-1',
        aws_access_key_id='x',
        aws_secret_access_key='x',
        config=Config(retries={'max_attempts': 0}, connect_timeout=1, read_timeout=5),
    )


def _write(ddb, path, key, barrier, acked):
    """One write of ``path`` on fresh keys; appends what a 200 acknowledged to ``acked``."""
    value = os.urandom(16).hex()
    if path == 'put':
        ddb.put_item(TableName=TABLE, Item={'pk': {'S': key}, 'v': {'S': value}})
        keys = [key]
    elif path == 'update':
        ddb.update_item(
            TableName=TABLE,
            Key={'pk': {'S': key}},
            UpdateExpression='SET v = :v',
            ExpressionAttributeValues={':v': {'S': value}},
        )
        keys = [key]
    elif path == 'delete':
        # Written first (a PutItem, itself checked as 'put'), then deleted.
        ddb.put_item(TableName=TABLE, Item={'pk': {'S': key}, 'v': {'S': value}})
        acked.append(('put', [key], value, time.monotonic()))
        ddb.delete_item(TableName=TABLE, Key={'pk': {'S': key}})
        value = None
        keys = [key]
    elif path == 'batch':
        keys = [f'{key}-{n}' for n in range(3)]
        ddb.batch_write_item(
            RequestItems={
                TABLE: [{'PutRequest': {'Item': {'pk': {'S': k}, 'v': {'S': value}}}} for k in keys]
            }
        )
    else:
        keys = [f'{key}-{n}' for n in range(2)]
        ddb.transact_write_items(
            TransactItems=[
                {
                    'Put': {
                        'TableName': TABLE,
                        'Item': {'pk': {'S': keys[0]}, 'v': {'S': value}},
                        'ConditionExpression': 'attribute_not_exists(pk)',
                    }
                },
                {
                    'Update': {
                        'TableName': TABLE,
                        'Key': {'pk': {'S': keys[1]}},
                        'UpdateExpression': 'SET v = :v',
                        'ExpressionAttributeValues': {':v': {'S': value}},
                    }
                },
            ]
        )
        if barrier:
            ddb.get_item(
                TableName=TABLE,
                Key={'pk': {'S': keys[0]}},
                ConsistentRead=True,
                ProjectionExpression='pk',
            )
            path += '+barrier'
    acked.append((path, keys, value, time.monotonic()))


def _writer(endpoint, prefix, stop, acked, paths=PATHS, barrier=False):
    """Write until the server goes."""
    ddb = _client(endpoint)
    i = 0
    while not stop.is_set():
        i += 1
        try:
            _write(ddb, paths[i % len(paths)], f'{prefix}-{i}', barrier, acked)
        except Exception:  # noqa: BLE001 - the server was killed: this write is unknown
            return


def _check(endpoint, acked, killed_at):
    """The acknowledged writes not found intact, as (path, ms acknowledged before the kill)."""
    ddb = _client(endpoint)
    deleted = {keys[0] for path, keys, *_ in acked if path == 'delete'}
    lost = []
    for path, keys, value, at in acked:
        for key in keys:
            item = ddb.get_item(TableName=TABLE, Key={'pk': {'S': key}}, ConsistentRead=True).get(
                'Item'
            )
            got = item['v']['S'] if item else None
            # Keys are never reused, so a present item after an acknowledged delete is an
            # undone delete, and a put is only excused by its own acknowledged delete.
            if got != value and not (path == 'put' and key in deleted):
                lost.append((path, (killed_at - at) * 1000))
                break
    return lost


def _start(data_dir, port, jvm_args):
    server = dynamodb.start(data_dir=data_dir, port=port, jvm_args=jvm_args)
    ddb = _client(server.endpoint)
    if TABLE not in ddb.list_tables()['TableNames']:
        ddb.create_table(
            TableName=TABLE,
            BillingMode='PAY_PER_REQUEST',
            AttributeDefinitions=[{'AttributeName': 'pk', 'AttributeType': 'S'}],
            KeySchema=[{'AttributeName': 'pk', 'KeyType': 'HASH'}],
        )
    return server, ddb


def _kill(server):
    """SIGKILL the JVM; returns the moment of the kill."""
    at = time.monotonic()
    os.killpg(server.pid, signal.SIGKILL)
    server.process.wait()
    server.stop()
    return at


def _restart_and_check(data_dir, port, jvm_args, acked, killed_at):
    server = dynamodb.start(data_dir=data_dir, port=port, jvm_args=jvm_args)
    try:
        return _check(server.endpoint, acked, killed_at)
    finally:
        server.stop()


def run_immediate(kills=12, threads=6, paths=(*PATHS, 'transact+barrier'), jvm_args=(), data=None):
    """Each round: ``threads`` background writers keep DynamoDB Local's job queue busy (plain
    PutItems) while one more writes ``path`` a few times, the last time followed by a SIGKILL
    the moment its 200 arrives. Every acknowledged write is checked, the background's too."""
    data_dir = Path(data or tempfile.mkdtemp(prefix='killed-writes-'))
    port = dynamodb._free_port()
    rounds, lost_by = Counter(), Counter()
    for round_no in range(kills):
        path = paths[round_no % len(paths)]
        server, ddb = _start(data_dir, port, jvm_args)
        acked, stop = [], threading.Event()
        background = [
            threading.Thread(
                target=_writer, args=(server.endpoint, f'i{round_no}b{n}', stop, acked, ('put',))
            )
            for n in range(threads)
        ]
        for w in background:
            w.start()
        base, barrier = path.split('+')[0], path.endswith('+barrier')
        mine = []
        for i in range(20):
            _write(ddb, base, f'i{round_no}-{i}', barrier, mine)
        killed_at = _kill(server)
        stop.set()
        for w in background:
            w.join()
        lost = _restart_and_check(data_dir, port, jvm_args, acked + mine, killed_at)
        rounds[path] += 1
        last = _check_one(lost, mine[-1], killed_at)
        lost_by[path] += last
        print(
            f'round {round_no + 1} {path}: last write {"LOST" if last else "kept"}; '
            f'{len(lost)} of {len(acked) + len(mine)} acknowledged writes lost '
            + ' '.join(f'{p}@{ms:.1f}ms' for p, ms in lost),
            flush=True,
        )
    print('path              kills  last write lost')
    for path in paths:
        print(f'{path:<17} {rounds[path]:>6} {lost_by[path]:>6}')
    return lost_by


def _check_one(lost, write, killed_at):
    """Whether ``write`` (the last one before the kill) is among the ``lost``."""
    path, _, _, at = write
    return any(p == path and abs(ms - (killed_at - at) * 1000) < 1e-6 for p, ms in lost)


def run(
    kills=10,
    threads=6,
    min_seconds=0.5,
    max_seconds=2.0,
    jvm_args=(),
    data=None,
    paths=PATHS,
    barrier='off',
):
    data_dir = Path(data or tempfile.mkdtemp(prefix='killed-writes-'))
    port = dynamodb._free_port()
    totals, lost_all = Counter(), []
    for round_no in range(1, kills + 1):
        server, _ = _start(data_dir, port, jvm_args)
        stop, acked = threading.Event(), []
        workers = [
            threading.Thread(
                target=_writer,
                args=(
                    server.endpoint,
                    f'r{round_no}t{n}',
                    stop,
                    acked,
                    paths,
                    barrier == 'on' or (barrier == 'both' and n % 2),
                ),
            )
            for n in range(threads)
        ]
        for w in workers:
            w.start()
        time.sleep(random.uniform(min_seconds, max_seconds))
        killed_at = _kill(server)
        stop.set()
        for w in workers:
            w.join()
        lost = _restart_and_check(data_dir, port, jvm_args, acked, killed_at)
        totals.update(p for p, *_ in acked)
        lost_all.extend(lost)
        print(
            f'round {round_no}: {len(acked)} acknowledged, {len(lost)} lost '
            + ' '.join(f'{p}@{ms:.1f}ms' for p, ms in lost),
            flush=True,
        )
    lost_by = Counter(p for p, _ in lost_all)
    print('path              acked   lost')
    for path in (*PATHS, 'transact+barrier'):
        print(f'{path:<17} {totals[path]:>6} {lost_by[path]:>6}')
    return lost_all


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--kills', type=int, default=10)
    parser.add_argument('--threads', type=int, default=6)
    parser.add_argument(
        '--immediate',
        action='store_true',
        help='one writer; the kill follows the last acknowledged write at once',
    )
    parser.add_argument('--min-seconds', type=float, default=0.5)
    parser.add_argument('--max-seconds', type=float, default=2.0)
    parser.add_argument('--data', help='data dir (default: a new temporary one)')
    parser.add_argument('--jvm-arg', action='append', default=[])
    parser.add_argument(
        '--paths',
        default=','.join(PATHS),
        help='write paths to mix, comma-separated (default: all; with '
        '--immediate also transact+barrier), one per round with --immediate',
    )
    parser.add_argument(
        '--barrier',
        choices=('off', 'on', 'both'),
        default='off',
        help='a GetItem after each TransactWriteItems before counting it '
        '(both: in every other thread, so one kill tests both)',
    )
    args = parser.parse_args()
    if args.immediate:
        paths = (
            (*PATHS, 'transact+barrier')
            if args.paths == ','.join(PATHS)
            else tuple(args.paths.split(','))
        )
        lost = run_immediate(
            kills=args.kills,
            threads=args.threads,
            paths=paths,
            jvm_args=args.jvm_arg,
            data=args.data,
        )
        # Only plain transactions are expected to lose their last write.
        raise SystemExit(1 if sum(lost.values()) > lost['transact'] else 0)
    lost = run(
        kills=args.kills,
        threads=args.threads,
        min_seconds=args.min_seconds,
        max_seconds=args.max_seconds,
        jvm_args=args.jvm_arg,
        data=args.data,
        paths=tuple(args.paths.split(',')),
        barrier=args.barrier,
    )
    raise SystemExit(1 if lost else 0)


if __name__ == '__main__':
    main()
