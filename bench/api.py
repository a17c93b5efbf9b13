"""Control-plane latency through boto3 against the server as `make run` starts it
(DynamoDB Local behind it), beside stock `chalice local` serving the same app and store,
and the import time of app.py beside a bare `import boto3, chalice`."""
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

import boto3
from botocore.config import Config

from bench.common import ROOT, median_ms, python_import_seconds


def _client(endpoint):
    return boto3.client('appconfig', endpoint_url=endpoint, region_name='us-east-1',
                        aws_access_key_id='x', aws_secret_access_key='x',
                        config=Config(retries={'max_attempts': 1}))


def _wait(endpoint, proc):
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(proc.stdout.read().decode())
        try:
            urllib.request.urlopen(endpoint + '/applications', timeout=2)
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f'{endpoint} did not answer')


def _start(argv, env, port):
    proc = subprocess.Popen(argv, cwd=ROOT, env={**os.environ, **env},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    endpoint = f'http://127.0.0.1:{port}'
    _wait(endpoint, proc)
    return proc, endpoint


def _measure(endpoint, n, warmup):
    c = _client(endpoint)
    app_id = c.create_application(Name='bench')['Id']
    calls = {
        'get_application': lambda: c.get_application(ApplicationId=app_id),
        'list_applications': lambda: c.list_applications(MaxResults=10),
    }
    try:
        profile = c.create_configuration_profile(ApplicationId=app_id, Name='cfg',
                                                 LocationUri='hosted')['Id']
        version = c.create_hosted_configuration_version(
            ApplicationId=app_id, ConfigurationProfileId=profile, Content=b'{"a": 1}' * 100,
            ContentType='application/json')['VersionNumber']
        calls['get_hosted_configuration_version'] = lambda: c.get_hosted_configuration_version(
            ApplicationId=app_id, ConfigurationProfileId=profile, VersionNumber=version)
    except c.exceptions.ClientError as error:
        print(f'  (hosted versions unavailable: {error})')
    # DynamoDB Local runs on a JVM that needs a few hundred requests to warm up; a server
    # started by `make run` is measured warm, as it runs for hours.
    return {name: median_ms(fn, n=n, warmup=warmup) for name, fn in calls.items()}


def run(n=300):
    from local import dynamodb
    from tests.e2e.conftest import free_port
    ddb = dynamodb.start(in_memory=True)
    env = {'AWS_ENDPOINT_URL_DYNAMODB': ddb.endpoint, 'AWS_ACCESS_KEY_ID': 'x',
           'AWS_SECRET_ACCESS_KEY': 'x', 'AWS_DEFAULT_REGION': 'us-east-1',
           'APPCONFIG_TABLE_PREFIX': 'bench-', 'APPCONFIG_TICK_SECONDS': '3600'}
    procs = []
    try:
        port = free_port()
        ours, endpoint = _start([sys.executable, '-m', 'local.run'], {**env, 'PORT': str(port)}, port)
        procs.append(ours)
        results = {'local runner (make run)': _measure(endpoint, n, warmup=300)}
        port = free_port()
        stock, endpoint = _start([str(ROOT / '.venv/bin/chalice'), 'local', '--port', str(port),
                                  '--no-autoreload'], env, port)
        procs.append(stock)
        results['stock chalice local'] = _measure(endpoint, max(20, n // 10), warmup=20)
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait()
        ddb.stop()
    print('Control plane through boto3 (median / p90 ms per call):')
    for server, figures in results.items():
        for call, (med, p90) in figures.items():
            print(f'  {server:26} {call:34} {med:7.2f} / {p90:7.2f}')
    base = python_import_seconds('import boto3, chalice')
    ours = python_import_seconds('import app')
    print(f'Import time: import app {ours * 1000:.0f} ms, import boto3, chalice '
          f'{base * 1000:.0f} ms, ratio {ours / base:.2f}x (median of 7 fresh interpreters)')


if __name__ == '__main__':
    run()
