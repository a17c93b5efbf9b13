"""The data-plane poll: latency of an unchanged GetLatestConfiguration through boto3, and the
DynamoDB requests each one costs, counted on the wire (a botocore ``before-send`` hook on the
server's DynamoDB clients, so retries count too).

Each measurement runs in a child process (the store reads its endpoint at import):

- the in-process server (local/server.py, as `make run` serves it) on DynamoDB Local, with the
  delivery cache on (the default, 1 s) and off (APPCONFIG_DELIVERY_CACHE_SECONDS=0);
- the same on moto when DynamoDB Local cannot start (no Java);
- latency only through `python -m local.run` (the runner as a separate process).

With the cache on it also measures how soon a poller sees a new deployment: a session polls
back to back, StartDeployment is called at a random moment of the cache's second, and the
time from its return to the first poll that brings the new version is recorded.

    python -m bench.poll            (part of `make bench`)
"""

import json
import os
import random
import statistics
import subprocess
import sys
import time

from bench.common import FAKE_AWS, ROOT, median_ms, start_dynamodb_local

WRITES = {'PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'TransactWriteItems'}


# --- child: one server, one measurement -------------------------------------------------------


def _count_dynamodb_requests():
    """Hook every model's DynamoDB client; returns the list the hook appends operation names to."""
    from chalicelib.store.tables import clients

    sent = []

    def on_send(event_name, **_):
        sent.append(event_name.rsplit('.', 1)[-1])

    for client in clients():
        client.meta.events.register('before-send.dynamodb', on_send)
    return sent


def service_clients(endpoint):
    import boto3
    from botocore.config import Config

    config = Config(retries={'max_attempts': 1})
    kw = dict(
        endpoint_url=endpoint,
        region_name='us-east-1',
        aws_access_key_id='x',
        aws_secret_access_key='x',
        config=config,
    )
    return boto3.client('appconfig', **kw), boto3.client('appconfigdata', **kw)


def _world(appconfig):
    app = appconfig.create_application(Name='bench')['Id']
    env = appconfig.create_environment(ApplicationId=app, Name='prod')['Id']
    profile = appconfig.create_configuration_profile(
        ApplicationId=app, Name='cfg', LocationUri='hosted'
    )['Id']
    strategy = appconfig.create_deployment_strategy(
        Name='instant', DeploymentDurationInMinutes=0, GrowthFactor=100, FinalBakeTimeInMinutes=0
    )['Id']

    def deploy(data):
        version = appconfig.create_hosted_configuration_version(
            ApplicationId=app,
            ConfigurationProfileId=profile,
            Content=data,
            ContentType='application/json',
        )['VersionNumber']
        appconfig.start_deployment(
            ApplicationId=app,
            EnvironmentId=env,
            ConfigurationProfileId=profile,
            DeploymentStrategyId=strategy,
            ConfigurationVersion=str(version),
        )

    return app, env, profile, deploy


def _measure_server(n, visibility_runs):
    from chalicelib.store.tables import create_all

    create_all()
    from app import app as chalice_app
    from local.server import serve_in_thread

    server = serve_in_thread(chalice_app)
    appconfig, data = service_clients(f'http://127.0.0.1:{server.port}')
    app, env, profile, deploy = _world(appconfig)
    deploy(json.dumps({'feature': True, 'padding': 'x' * 2000}).encode())
    token = data.start_configuration_session(
        ApplicationIdentifier=app, EnvironmentIdentifier=env, ConfigurationProfileIdentifier=profile
    )['InitialConfigurationToken']
    first = data.get_latest_configuration(ConfigurationToken=token)
    assert first['Configuration'].read()
    state = {'token': first['NextPollConfigurationToken']}

    def unchanged_poll():
        r = data.get_latest_configuration(ConfigurationToken=state['token'])
        state['token'] = r['NextPollConfigurationToken']
        assert r['Configuration'].read() == b''

    sent = _count_dynamodb_requests()
    for _ in range(20):
        unchanged_poll()  # warm-up, not counted
    del sent[:]
    started = time.perf_counter()
    med, p90 = median_ms(unchanged_poll, n=n, warmup=0)
    seconds = time.perf_counter() - started
    requests, writes = len(sent), sum(op in WRITES for op in sent)
    operations = sorted(set(sent))

    # The server's own share: the wire layer and the operation, called without HTTP.
    from chalice.app import CaseInsensitiveMapping

    from chalicelib.wire.handler import handle
    from chalicelib.wire.model import routes

    route = next(r for r in routes() if r.operation.name == 'GetLatestConfiguration')

    def handled_poll():
        _, headers, body = handle(
            route,
            'GET',
            {},
            {'configuration_token': [state['token']]},
            CaseInsensitiveMapping({}),
            b'',
        )
        state['token'] = headers['Next-Poll-Configuration-Token']
        assert body == b''

    handler_ms, _ = median_ms(handled_poll, n=n)

    seen_after = []
    rng = random.Random(7)
    for i in range(visibility_runs):
        # Keep polling (the cache refreshes once a second) and deploy at a random phase.
        until = time.perf_counter() + rng.uniform(0.5, 2.0)
        while time.perf_counter() < until:
            unchanged_poll()
        deploy(json.dumps({'release': i}).encode())
        deployed = time.perf_counter()
        while True:
            r = data.get_latest_configuration(ConfigurationToken=state['token'])
            state['token'] = r['NextPollConfigurationToken']
            if r['Configuration'].read():
                seen_after.append(time.perf_counter() - deployed)
                break
    server.shutdown()
    return {
        'median_ms': med,
        'p90_ms': p90,
        'handler_ms': handler_ms,
        'polls': n,
        'seconds': seconds,
        'dynamodb_requests': requests,
        'dynamodb_writes': writes,
        'operations': operations,
        'seen_after_s': seen_after,
    }


def child(spec):
    if spec.get('moto'):
        from moto import mock_aws

        with mock_aws():
            return _measure_server(spec['n'], spec['visibility_runs'])
    return _measure_server(spec['n'], spec['visibility_runs'])


# --- parent -------------------------------------------------------------------------------------


def _run_child(env, n, visibility_runs=0, moto=False):
    spec = json.dumps({'n': n, 'visibility_runs': visibility_runs, 'moto': moto})
    full = {**os.environ, **env}
    if moto:
        full.pop('AWS_ENDPOINT_URL_DYNAMODB', None)
    done = subprocess.run(
        [sys.executable, '-m', 'bench.poll', '--child', spec],
        cwd=ROOT,
        env=full,
        capture_output=True,
        text=True,
        timeout=900,
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-4000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def _runner_latency(env, n):
    """Median unchanged-poll latency through `python -m local.run` (a separate process)."""
    from bench.compare import Process, free_port

    port = free_port()
    server = Process([sys.executable, '-m', 'local.run'], {**env, 'PORT': str(port)}, port)
    endpoint = server.endpoint
    try:
        appconfig, data = service_clients(endpoint)
        app, env_id, profile, deploy = _world(appconfig)
        deploy(b'{"feature": true}')
        token = data.start_configuration_session(
            ApplicationIdentifier=app,
            EnvironmentIdentifier=env_id,
            ConfigurationProfileIdentifier=profile,
        )['InitialConfigurationToken']
        state = {
            'token': data.get_latest_configuration(ConfigurationToken=token)[
                'NextPollConfigurationToken'
            ]
        }

        def unchanged_poll():
            r = data.get_latest_configuration(ConfigurationToken=state['token'])
            state['token'] = r['NextPollConfigurationToken']

        return median_ms(unchanged_poll, n=n)
    finally:
        server.stop()


def _report(name, r):
    per_poll = r['dynamodb_requests'] / r['polls']
    print(
        f'  {name:34} median {r["median_ms"]:5.2f} ms  p90 {r["p90_ms"]:5.2f} ms  '
        f'DynamoDB requests/poll {per_poll:.4f} ({r["dynamodb_requests"]} over '
        f'{r["polls"]} polls in {r["seconds"]:.1f} s: {", ".join(r["operations"]) or "none"})  '
        f'writes {r["dynamodb_writes"]}'
    )
    print(
        f'  {"":34} server handler alone (wire + operation, no HTTP): median '
        f'{r["handler_ms"] * 1000:.0f} us'
    )
    if r['seen_after_s']:
        seen = r['seen_after_s']
        print(
            f'  {"":34} new deployment seen after: median {statistics.median(seen):.2f} s, '
            f'max {max(seen):.2f} s ({len(seen)} deployments)'
        )


def run(n=2000):
    base = {
        **FAKE_AWS,
        'APPCONFIG_TABLE_PREFIX': 'benchpoll-',
        'APPCONFIG_TICK_SECONDS': '3600',
    }
    print('Unchanged GetLatestConfiguration through boto3 (1 session, back-to-back polls):')
    ddb = start_dynamodb_local()
    try:
        if ddb is not None:
            env = {**base, 'AWS_ENDPOINT_URL_DYNAMODB': ddb.endpoint}
            cached = _run_child(
                {**env, 'APPCONFIG_TABLE_PREFIX': 'benchpoll1-'}, n, visibility_runs=10
            )
            uncached = _run_child(
                {
                    **env,
                    'APPCONFIG_TABLE_PREFIX': 'benchpoll2-',
                    'APPCONFIG_DELIVERY_CACHE_SECONDS': '0',
                },
                n // 4,
            )
            _report('DynamoDB Local, cache 1 s', cached)
            _report('DynamoDB Local, cache off', uncached)
            med, p90 = _runner_latency({**env, 'APPCONFIG_TABLE_PREFIX': 'benchpoll3-'}, n // 4)
            print(
                f'  {"python -m local.run, cache 1 s":34} median {med:5.2f} ms  '
                f'p90 {p90:5.2f} ms  (separate process: requests not counted)'
            )
        else:
            _report('moto, cache 1 s', _run_child(base, n, visibility_runs=10, moto=True))
            _report(
                'moto, cache off',
                _run_child({**base, 'APPCONFIG_DELIVERY_CACHE_SECONDS': '0'}, n // 4, moto=True),
            )
    finally:
        if ddb is not None:
            ddb.stop()
    print(
        '  goals: median <= 3 ms; <= 1 DynamoDB request and 0 writes per unchanged poll '
        '(< 0.1 with the cache), a new deployment seen within about 1 s'
    )


if __name__ == '__main__':
    if len(sys.argv) > 2 and sys.argv[1] == '--child':
        print(json.dumps(child(json.loads(sys.argv[2]))))
    else:
        run()
