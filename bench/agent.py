"""The Agent endpoint: latency of one flag (``?flag=``) through a keep-alive HTTP client on
the Agent listener (local/agent_server.py, as `make run` serves it), and the DynamoDB requests
each read costs, counted on the wire (a botocore ``before-send`` hook on the server's
DynamoDB clients). Three reads: a basic flag, a multi-variant flag with Context and
Entity-Id, and a flag under a running experiment (its treatments evaluated per entity).

The measurement runs in a child process (the store reads its endpoint at import), on
DynamoDB Local when it starts, else on moto.

    python -m bench.agent            (part of `make bench`)
"""

import http.client
import json
import os
import subprocess
import sys
import time

from bench.common import FAKE_AWS, ROOT, median_ms, start_dynamodb_local
from bench.poll import WRITES, service_clients

DOC = {
    'version': '1',
    'flags': {
        'dark_mode': {
            'name': 'Dark mode',
            'attributes': {'level': {'constraints': {'type': 'number'}}},
        },
        'checkout': {
            'name': 'Checkout',
            'attributes': {'color': {'constraints': {'type': 'string'}}},
        },
        'ui': {'name': 'UI', 'attributes': {'theme': {'constraints': {'type': 'string'}}}},
    },
    'values': {
        'dark_mode': {'enabled': True, 'level': 3},
        'checkout': {'enabled': False},
        'ui': {
            'enabled': False,
            '_variants': [
                {
                    'name': 'gold',
                    'enabled': True,
                    'rule': '(eq $tier "gold")',
                    'attributeValues': {'theme': 'dark'},
                },
                {
                    'name': 'half',
                    'enabled': True,
                    'rule': '(split pct::50 by::$entityId)',
                    'attributeValues': {'theme': 'light'},
                },
                {'name': 'Default', 'enabled': False},
            ],
        },
    },
}


def _count_dynamodb_requests():
    """Hook the server's DynamoDB clients (each once: tables may share one); returns the
    list the hook appends operation names to."""
    from chalicelib.store.tables import models

    sent = []

    def on_send(event_name, **_):
        sent.append(event_name.rsplit('.', 1)[-1])

    clients = {id(c): c for c in (m._get_connection().connection.client for m in models())}
    for client in clients.values():
        client.meta.events.register('before-send.dynamodb', on_send)
    return sent


def _world(appconfig):
    app = appconfig.create_application(Name='bench')['Id']
    env = appconfig.create_environment(ApplicationId=app, Name='prod')['Id']
    profile = appconfig.create_configuration_profile(
        ApplicationId=app, Name='flags', LocationUri='hosted', Type='AWS.AppConfig.FeatureFlags'
    )['Id']
    strategy = appconfig.create_deployment_strategy(
        Name='instant', DeploymentDurationInMinutes=0, GrowthFactor=100, FinalBakeTimeInMinutes=0
    )['Id']
    version = appconfig.create_hosted_configuration_version(
        ApplicationId=app,
        ConfigurationProfileId=profile,
        Content=json.dumps(DOC).encode(),
        ContentType='application/json',
    )['VersionNumber']
    appconfig.start_deployment(
        ApplicationId=app,
        EnvironmentId=env,
        ConfigurationProfileId=profile,
        DeploymentStrategyId=strategy,
        ConfigurationVersion=str(version),
    )
    definition = appconfig.create_experiment_definition(
        ApplicationIdentifier=app,
        Name='checkout',
        ConfigurationProfileIdentifier=profile,
        EnvironmentIdentifier=env,
        FlagKey='checkout',
        AudienceRule='(eq $tier "gold")',
        Control={'Weight': 50, 'FlagValue': {'Enabled': False}},
        Treatments=[
            {
                'Weight': 50,
                'FlagValue': {
                    'Enabled': True,
                    'AttributeValues': {'color': {'StringValue': 'red'}},
                },
            }
        ],
    )['Id']
    appconfig.start_experiment_run(
        ApplicationIdentifier=app, ExperimentDefinitionIdentifier=definition, ExposurePercentage=50
    )


def _measure(n):
    from chalicelib.store.tables import create_all

    create_all()
    from app import app as chalice_app
    from local import agent_server
    from local.server import serve_in_thread

    api = serve_in_thread(chalice_app)
    appconfig, _ = service_clients(f'http://127.0.0.1:{api.port}')
    _world(appconfig)
    agent = agent_server.serve_in_thread()
    conn = http.client.HTTPConnection('127.0.0.1', agent.port, timeout=10)
    base = '/applications/bench/environments/prod/configurations/flags'
    counter = {'i': 0}

    def read(query, headers):
        def once():
            counter['i'] += 1
            sent = {k: v.replace('{i}', str(counter['i'] % 1000)) for k, v in headers.items()}
            conn.request('GET', f'{base}?{query}', headers=sent)
            response = conn.getresponse()
            body = response.read()
            assert response.status == 200, body

        return once

    cases = [
        ('basic flag', read('flag=dark_mode', {})),
        (
            'variant flag, Context + Entity-Id',
            read('flag=ui', {'Context': 'tier=silver', 'Entity-Id': 'user-{i}'}),
        ),
        (
            'experiment flag (treatments)',
            read('flag=checkout', {'Context': 'tier=gold', 'Entity-Id': 'user-{i}'}),
        ),
    ]
    sent = _count_dynamodb_requests()
    out = []
    for name, once in cases:
        for _ in range(50):
            once()  # warm-up: caches filled, rules compiled
        del sent[:]
        started = time.perf_counter()
        med, p90 = median_ms(once, n=n, warmup=0)
        seconds = time.perf_counter() - started
        out.append(
            {
                'name': name,
                'median_ms': med,
                'p90_ms': p90,
                'reads': n,
                'seconds': seconds,
                'dynamodb_requests': len(sent),
                'dynamodb_writes': sum(op in WRITES for op in sent),
                'operations': sorted(set(sent)),
            }
        )
    agent.shutdown()
    api.shutdown()
    return out


def child(spec):
    if spec.get('moto'):
        from moto import mock_aws

        with mock_aws():
            return _measure(spec['n'])
    return _measure(spec['n'])


def _run_child(env, n, moto=False):
    full = {**os.environ, **env}
    if moto:
        full.pop('AWS_ENDPOINT_URL_DYNAMODB', None)
    done = subprocess.run(
        [sys.executable, '-m', 'bench.agent', '--child', json.dumps({'n': n, 'moto': moto})],
        cwd=ROOT,
        env=full,
        capture_output=True,
        text=True,
        timeout=900,
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-4000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(n=3000):
    base = {
        **FAKE_AWS,
        'APPCONFIG_TABLE_PREFIX': 'benchagent-',
        'APPCONFIG_TICK_SECONDS': '3600',
    }
    print('Agent endpoint, one ?flag= per request through one keep-alive connection:')
    ddb = start_dynamodb_local()
    try:
        if ddb is not None:
            where, results = (
                'DynamoDB Local',
                _run_child({**base, 'AWS_ENDPOINT_URL_DYNAMODB': ddb.endpoint}, n),
            )
        else:
            where, results = 'moto', _run_child(base, n, moto=True)
    finally:
        if ddb is not None:
            ddb.stop()
    for r in results:
        print(
            f'  {r["name"]:36} median {r["median_ms"]:5.3f} ms  p90 {r["p90_ms"]:5.3f} ms  '
            f'DynamoDB requests {r["dynamodb_requests"]} over {r["reads"]} reads in '
            f'{r["seconds"]:.1f} s ({", ".join(r["operations"]) or "none"}; {where})  '
            f'writes {r["dynamodb_writes"]}'
        )
    print(
        '  goals: median < 1 ms; no DynamoDB request on an unchanged read (the Delivery '
        'item is read again once a second: APPCONFIG_DELIVERY_CACHE_SECONDS)'
    )


if __name__ == '__main__':
    if len(sys.argv) > 2 and sys.argv[1] == '--child':
        print(json.dumps(child(json.loads(sys.argv[2]))))
    else:
        run()
