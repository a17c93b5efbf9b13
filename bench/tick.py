"""The deployment tick's cost: DynamoDB requests and wall time per tick with 0, 100 and 1,000
in-progress deployments beside 10,000 finished ones.

    python -m bench.tick                       (DynamoDB Local in memory, the default)
    BENCH_TICK_BACKEND=moto python -m bench.tick   (moto in-process: no Java, but slower)

DynamoDB requests are counted on the wire (a botocore ``request-created`` hook on the store's
clients, so retries would count too). Two kinds of tick are measured for each size:

- idle: no deployment has a step due (the common case between steps): the cost is the
  Query of the sparse active index and nothing else;
- busy: every in-progress deployment has exactly one step due: one conditional update each,
  a hundred to a TransactWriteItems. At the largest size two busy ticks run first and are
  reported apart: a fresh JVM has not yet compiled DynamoDB Local's write path, a server
  that has been running has.

Medians over 10 idle and 5 busy ticks per size. Seeding writes the items directly with
BatchWriteItem (not through the API) and is not measured. Under moto the request counts are
the same but the wall times are moto's, whose index Query walks the whole table; DynamoDB
Local gives the realistic picture. The bench runs in a child process so the store is
configured for its backend before it is imported.
"""

import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from bench.common import FAKE_AWS, ROOT

FINISHED = 10_000
SIZES = (0, 100, 1_000)
BUSY_TICKS = 5  # each followed by two idle ticks: 10 idle samples
WARM_UP = 2  # busy ticks at the largest size before the measured ones (10 steps in all)
PREFIX = 'bench-tick-'
T0 = datetime(2030, 1, 1, tzinfo=UTC)
# LINEAR 10 % over 1,100 minutes: a step every 100 minutes, none due in between.
STRATEGY = {
    'DeploymentDurationInMinutes': 1100,
    'GrowthType': 'LINEAR',
    'GrowthFactor': 10.0,
    'FinalBakeTimeInMinutes': 0,
}
STEP = timedelta(minutes=100)


def run():
    backend = os.environ.get('BENCH_TICK_BACKEND', 'dynamodb-local')
    env = {
        **os.environ,
        **FAKE_AWS,
        'APPCONFIG_TABLE_PREFIX': PREFIX,
    }
    env.pop('APPCONFIG_EVENT_BUS', None)
    ddb = None
    if backend == 'moto':
        env.pop('AWS_ENDPOINT_URL_DYNAMODB', None)
    else:
        from local import dynamodb

        ddb = dynamodb.start(in_memory=True)
        env['AWS_ENDPOINT_URL_DYNAMODB'] = ddb.endpoint
    try:
        subprocess.run(
            [sys.executable, '-m', 'bench.tick', '--child', backend], cwd=ROOT, env=env, check=True
        )
    finally:
        if ddb is not None:
            ddb.stop()


# --- the measurement, in the child process ---------------------------------------------


class Counter:
    def __init__(self, clients):
        self.operations = []
        for client in clients:
            client.meta.events.register('request-created.dynamodb', self._record)

    def _record(self, operation_name, **_):
        self.operations.append(operation_name)

    def take(self):
        out, self.operations = self.operations, []
        return out


def _event(kind, who, text, at):
    from chalicelib.store.deployments import Event

    return Event(event_type=kind, triggered_by=who, description=text, occurred_at=at)


def _finished_item(env_index, number):
    from chalicelib.engine import growth
    from chalicelib.store.deployments import Deployment

    started = T0 - timedelta(days=30) + timedelta(minutes=number)
    steps = growth.schedule({'DeploymentDurationInMinutes': 15, 'GrowthFactor': 25.0})
    events = [_event('DEPLOYMENT_STARTED', 'USER', 'Deployment started', started)] + [
        _event(s.event_type, 'APPCONFIG', s.description, started + s.offset) for s in steps
    ]
    return Deployment(
        f'hist{env_index:03d}#env',
        number,
        application_id=f'hist{env_index:03d}',
        environment_id='env',
        profile_id='prof',
        configuration_name='settings',
        configuration_location_uri='hosted',
        configuration_version=str(number),
        strategy_id='AppConfig.Example',
        strategy={'DeploymentDurationInMinutes': 15, 'GrowthFactor': 25.0},
        state='COMPLETE',
        started_at=started,
        completed_at=started + timedelta(minutes=15),
        percentage=100,
        events=events,
        steps_written=len(steps),
    )


def _active_item(i, started):
    from chalicelib.store.deployments import ACTIVE, Deployment, active_key

    app = f'act{i:04d}'
    return Deployment(
        f'{app}#env',
        1,
        application_id=app,
        environment_id='env',
        profile_id='prof',
        configuration_name='settings',
        configuration_location_uri='hosted',
        configuration_version='1',
        strategy_id='custom1',
        strategy=STRATEGY,
        state='DEPLOYING',
        started_at=started,
        events=[_event('DEPLOYMENT_STARTED', 'USER', 'Deployment started', started)],
        steps_written=0,
        active=ACTIVE,
        active_key=active_key(app, 'env', 1),
    )


def _write(items):
    from chalicelib.store.deployments import Deployment

    with Deployment.batch_write() as batch:
        for item in items:
            batch.save(item)


def _delete(items):
    from chalicelib.store.deployments import Deployment

    with Deployment.batch_write() as batch:
        for item in items:
            batch.delete(item)


def _measure(n_active, counter, warm_up=0):
    """Idle and busy ticks, after ``warm_up`` busy ticks that are reported apart (the first
    busy ticks of a fresh JVM run before its JIT has compiled the write path, which a server
    that has been running for a minute has done)."""
    from chalicelib.engine import tick

    started = T0 + timedelta(days=n_active + 1)  # each size starts afresh
    actives = [_active_item(i, started) for i in range(n_active)]
    _write(actives)
    samples = {'idle': [], 'busy': [], 'warm-up': []}
    kinds = ['warm-up'] * warm_up + ['busy'] * BUSY_TICKS
    for k, kind in enumerate(kinds, start=1):
        moments = [(kind, started + k * STEP)] + [
            ('idle', started + k * STEP + timedelta(minutes=m)) for m in (1, 2)
        ]
        for kind, at in moments:
            counter.take()
            began = time.perf_counter()
            summary = tick.run(now=at)
            seconds = time.perf_counter() - began
            requests = counter.take()
            expected = 0 if kind == 'idle' else n_active
            assert summary['active'] == n_active and summary['events'] == expected, summary
            samples[kind].append((len(requests), seconds, requests))
    _delete(actives)
    return samples


def _seconds(samples):
    return statistics.median(s[1] for s in samples)


def _row(label, n_active, samples):
    counts = [s[0] for s in samples]
    seconds = [s[1] for s in samples]
    kinds = {}
    for op in samples[len(samples) // 2][2]:
        kinds[op] = kinds.get(op, 0) + 1
    detail = ', '.join(f'{v} {k}' for k, v in sorted(kinds.items()))
    return (
        f'  {n_active:>6,} active  {label:5}  {statistics.median(counts):>7,.0f} requests '
        f'({detail})  {statistics.median(seconds) * 1000:>9,.1f} ms'
    )


def child(backend):
    import contextlib

    mock = contextlib.nullcontext()
    if backend == 'moto':
        from moto import mock_aws

        mock = mock_aws()
    with mock:
        from chalicelib.store.tables import create_all

        create_all()
        began = time.perf_counter()
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(
                pool.map(
                    lambda e: _write([_finished_item(e, n) for n in range(1, 101)]),
                    range(FINISHED // 100),
                )
            )
        seeded = time.perf_counter() - began
        from chalicelib.store.tables import clients

        counter = Counter(clients())  # every client of the store: all DynamoDB requests count
        where = (
            'DynamoDB Local (in memory), in-process tick'
            if backend != 'moto'
            else "moto in-process (request counts exact; wall times are moto's)"
        )
        print(
            f'Deployment tick against {where}; {FINISHED:,} finished deployments '
            f'(seeded in {seeded:.1f} s); medians of {2 * BUSY_TICKS} idle and '
            f'{BUSY_TICKS} busy ticks:'
        )
        for n_active in SIZES:
            last = n_active == SIZES[-1]
            samples = _measure(n_active, counter, warm_up=WARM_UP if last else 0)
            print(_row('idle', n_active, samples['idle']), flush=True)
            if n_active:
                print(_row('busy', n_active, samples['busy']), flush=True)
            if samples['warm-up']:
                first = samples['warm-up'][0][1]
                print(
                    f'  (the {WARM_UP} busy ticks before those, while the JVM compiled the '
                    f'write path: {", ".join(f"{s[1] * 1000:,.0f}" for s in samples["warm-up"])}'
                    f' ms; the first {first / _seconds(samples["busy"]):.1f}x the median)',
                    flush=True,
                )


if __name__ == '__main__':
    if sys.argv[1:2] == ['--child']:
        child(sys.argv[2] if len(sys.argv) > 2 else 'dynamodb-local')
    else:
        run()
