"""Ours beside ministack, in one run: latency of the calls a test suite makes most, throughput
at 16 concurrent keep-alive clients, and start-up.

    python -m bench.compare        (the first part of `make bench`; about a minute and a half)

- *ours* is the server exactly as `make run` starts it: `make run` with a fresh data dir
  (APPCONFIG_DATA_DIR in a temporary folder) and a free PORT; its start-up is the time from
  the command to the first HTTP answer.
- *ministack* (PyPI ``ministack``, an in-memory emulator of many AWS services) is installed by
  this bench into its own virtualenv under ``.bench/`` (git-ignored) and started on a free port.
- *bare JVM* is DynamoDB Local's own start, as Amazon ships it (``java -jar DynamoDBLocal.jar``
  on a fresh ``-dbPath``, no JVM options), to the first answer: the floor under our start-up.

Latencies are medians of single calls through unmodified boto3 with keep-alive, ours and
ministack measured in alternating batches so that noise from other processes on the machine
hits both alike; ratios are ours / ministack (below 1.0: we are faster). Throughput runs 16
clients (4 processes x 4 threads, one boto3 client each) for a few seconds against each, twice,
alternating; the ratio is ours / ministack (above 1.0: we serve more).
"""

import http.client
import json
import multiprocessing
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench.common import ROOT, python_import_seconds

MINISTACK = 'ministack'
MINISTACK_VERSION = '1.5.33'
VENV = ROOT / '.bench' / 'ministack'
STARTS = 3  # start-up samples per server
SAMPLES = 300  # latency samples per call and server
BATCH = 25  # calls in a row before switching server
WARMUP = 300  # calls before measuring (DynamoDB Local's JVM warms up)
CLIENTS = (4, 4)  # throughput: processes x threads
THROUGHPUT_SECONDS = 3.0
START_TIMEOUT = 60.0


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _answers(port):
    """True once anything answers HTTP on the port."""
    conn = http.client.HTTPConnection('127.0.0.1', port, timeout=1)
    try:
        conn.request('GET', '/applications')
        conn.getresponse().read()
        return True
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()


class Process:
    """A server started in its own process group; ``seconds`` to its first answer."""

    def __init__(self, argv, env, port, cwd=ROOT, drop=()):
        self.port = port
        self.endpoint = f'http://127.0.0.1:{port}'
        self.log = tempfile.TemporaryFile()
        full = {k: v for k, v in os.environ.items() if k not in drop}
        began = time.perf_counter()
        self.proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env={**full, **env},
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = began + START_TIMEOUT
        while not _answers(port):
            if self.proc.poll() is not None or time.perf_counter() > deadline:
                self.stop()
                self.log.seek(0)
                raise RuntimeError(
                    f'{argv[0]} did not answer on {port}:\n'
                    f'{self.log.read().decode(errors="replace")[-3000:]}'
                )
            time.sleep(0.01)
        self.seconds = time.perf_counter() - began

    def stop(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
            except ProcessLookupError:
                pass


# --- the three servers --------------------------------------------------------------------


def _ministack_python():
    python = VENV / 'bin' / 'python'
    marker = VENV / f'.{MINISTACK}-{MINISTACK_VERSION}'
    if not marker.exists():
        print(
            f'  installing {MINISTACK}=={MINISTACK_VERSION} into {VENV.relative_to(ROOT)}',
            flush=True,
        )
        shutil.rmtree(VENV, ignore_errors=True)
        subprocess.run([sys.executable, '-m', 'venv', str(VENV)], check=True)
        done = subprocess.run(
            [
                str(python),
                '-m',
                'pip',
                'install',
                '-q',
                '--disable-pip-version-check',
                f'{MINISTACK}=={MINISTACK_VERSION}',
            ],
            capture_output=True,
            text=True,
        )
        if done.returncode:
            raise RuntimeError(f'installing {MINISTACK} failed:\n{done.stdout}{done.stderr}')
        marker.touch()
    return str(python)


def start_ours(data_dir):
    port = free_port()
    # The Agent listener too, on a free port rather than 2772 (another runner may hold it).
    env = {
        'PORT': str(port),
        'APPCONFIG_AGENT_PORT': str(free_port()),
        'APPCONFIG_DATA_DIR': str(data_dir),
        'LOG_LEVEL': 'WARNING',
    }
    # As a user types it: no DynamoDB of their own, no make of an outer `make bench`.
    drop = (
        'AWS_ENDPOINT_URL_DYNAMODB',
        'APPCONFIG_TABLE_PREFIX',
        'MAKEFLAGS',
        'MAKELEVEL',
        'MFLAGS',
    )
    return Process(['make', '-s', 'run'], env, port, drop=drop)


def start_ministack(python):
    port = free_port()
    return Process(
        [python, '-m', 'ministack'],
        {'GATEWAY_PORT': str(port), 'BIND_HOST': '127.0.0.1', 'LOG_LEVEL': 'WARNING'},
        port,
        cwd=tempfile.gettempdir(),
    )


def start_bare_jvm(data_dir):
    from local import dynamodb

    jar_dir = dynamodb.ensure_installed()
    java = dynamodb.check_java()
    port = free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    argv = [
        java,
        f'-Djava.library.path={jar_dir / "DynamoDBLocal_lib"}',
        '-jar',
        str(jar_dir / 'DynamoDBLocal.jar'),
        '-port',
        str(port),
        '-sharedDb',
        '-disableTelemetry',
        '-dbPath',
        str(data_dir),
    ]
    return Process(argv, {}, port, cwd=data_dir)


# --- what is measured -----------------------------------------------------------------------


def _clients(endpoint):
    import boto3
    from botocore.config import Config

    kw = dict(
        endpoint_url=endpoint,
        region_name='us-east-1',
        aws_access_key_id='x',
        aws_secret_access_key='x',
        config=Config(retries={'max_attempts': 1}),
    )
    return boto3.client('appconfig', **kw), boto3.client('appconfigdata', **kw)


def _world(endpoint):
    """Resources for every measured call; returns {call name: zero-argument function}."""
    c, data = _clients(endpoint)
    for i in range(5):
        c.create_application(Name=f'other{i}')
    app = c.create_application(Name='bench')['Id']
    env = c.create_environment(ApplicationId=app, Name='prod')['Id']
    rollout_env = c.create_environment(ApplicationId=app, Name='canary')['Id']
    profile = c.create_configuration_profile(ApplicationId=app, Name='cfg', LocationUri='hosted')[
        'Id'
    ]

    def version(content):
        return c.create_hosted_configuration_version(
            ApplicationId=app,
            ConfigurationProfileId=profile,
            Content=content,
            ContentType='application/json',
        )['VersionNumber']

    first = version(json.dumps({'feature': True, 'padding': 'x' * 800}).encode())
    second = version(json.dumps({'feature': False, 'padding': 'y' * 800}).encode())
    instant = c.create_deployment_strategy(
        Name='instant',
        DeploymentDurationInMinutes=0,
        GrowthFactor=100,
        FinalBakeTimeInMinutes=0,
        ReplicateTo='NONE',
    )['Id']
    # 1 % every 10 minutes: 100 steps over 1,000 minutes, so the rollout runs for the whole bench.
    linear = c.create_deployment_strategy(
        Name='linear1',
        DeploymentDurationInMinutes=1000,
        GrowthFactor=1,
        GrowthType='LINEAR',
        FinalBakeTimeInMinutes=0,
        ReplicateTo='NONE',
    )['Id']
    numbers = {
        e: c.start_deployment(
            ApplicationId=app,
            EnvironmentId=e,
            ConfigurationProfileId=profile,
            DeploymentStrategyId=instant,
            ConfigurationVersion=str(first),
        )['DeploymentNumber']
        for e in (env, rollout_env)
    }
    wait_until = time.monotonic() + 30
    while any(
        c.get_deployment(ApplicationId=app, EnvironmentId=e, DeploymentNumber=n)['State']
        != 'COMPLETE'
        for e, n in numbers.items()
    ):
        if time.monotonic() > wait_until:
            raise RuntimeError('the instant deployments did not complete')
        time.sleep(0.2)
    c.start_deployment(
        ApplicationId=app,
        EnvironmentId=rollout_env,
        ConfigurationProfileId=profile,
        DeploymentStrategyId=linear,
        ConfigurationVersion=str(second),
    )

    def poller(environment):
        token = data.start_configuration_session(
            ApplicationIdentifier=app,
            EnvironmentIdentifier=environment,
            ConfigurationProfileIdentifier=profile,
        )['InitialConfigurationToken']
        state = {'token': token}
        r = data.get_latest_configuration(ConfigurationToken=token)
        r['Configuration'].read()
        state['token'] = r['NextPollConfigurationToken']

        def poll():
            r = data.get_latest_configuration(ConfigurationToken=state['token'])
            state['token'] = r['NextPollConfigurationToken']
            r['Configuration'].read()

        return poll

    return {
        'get_application': lambda: c.get_application(ApplicationId=app),
        'list_applications': lambda: c.list_applications(MaxResults=10),
        'get_hosted_configuration_version': lambda: c.get_hosted_configuration_version(
            ApplicationId=app, ConfigurationProfileId=profile, VersionNumber=first
        )['Content'].read(),
        'get_latest_configuration (unchanged)': poller(env),
        'get_latest_configuration (1% LINEAR rollout)': poller(rollout_env),
    }, app


def _latencies(worlds):
    """{call: {server: median ms}}, batches of each server alternating."""
    names = list(next(iter(worlds.values())))
    samples = {name: {server: [] for server in worlds} for name in names}
    for calls in worlds.values():
        for i in range(WARMUP):
            calls[names[i % len(names)]]()
    for name in names:
        while len(samples[name][next(iter(worlds))]) < SAMPLES:
            for server, calls in worlds.items():
                fn = calls[name]
                for _ in range(BATCH):
                    began = time.perf_counter()
                    fn()
                    samples[name][server].append((time.perf_counter() - began) * 1000)
    return {
        name: {server: statistics.median(s) for server, s in by.items()}
        for name, by in samples.items()
    }


def _throughput_worker(endpoint, app, threads, seconds, queue):
    import boto3  # noqa: F401 - imported before the clock starts

    counts = [0] * threads
    start = threading.Barrier(threads)

    def loop(i):
        c, _ = _clients(endpoint)
        c.get_application(ApplicationId=app)
        start.wait()
        stop_at = time.perf_counter() + seconds
        while time.perf_counter() < stop_at:
            c.get_application(ApplicationId=app)
            counts[i] += 1

    workers = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    queue.put(sum(counts))


def _throughput(endpoint, app):
    """get_application calls per second served to 16 concurrent keep-alive clients."""
    processes, threads = CLIENTS
    ctx = multiprocessing.get_context('fork')
    queue = ctx.Queue()
    workers = [
        ctx.Process(
            target=_throughput_worker, args=(endpoint, app, threads, THROUGHPUT_SECONDS, queue)
        )
        for _ in range(processes)
    ]
    for w in workers:
        w.start()
    total = sum(queue.get(timeout=120) for _ in workers)
    for w in workers:
        w.join()
    return total / THROUGHPUT_SECONDS


def run():
    ministack_python = _ministack_python()
    scratch = Path(tempfile.mkdtemp(prefix='appconfig-bench-'))
    started = {'ours': [], 'bare JVM': [], 'ministack': []}
    servers = {}
    try:
        for i in range(STARTS):
            last = i == STARTS - 1
            for name, start in (
                ('ours', lambda: start_ours(scratch / f'ours{i}')),
                ('bare JVM', lambda: start_bare_jvm(scratch / f'jvm{i}')),
                ('ministack', lambda: start_ministack(ministack_python)),
            ):
                server = start()
                started[name].append(server.seconds)
                if last and name != 'bare JVM':
                    servers[name] = server
                else:
                    server.stop()
        worlds, apps = {}, {}
        for name, server in servers.items():
            worlds[name], apps[name] = _world(server.endpoint)
        latency = _latencies(worlds)
        throughput = {name: [] for name in servers}
        for _ in range(2):
            for name, server in servers.items():
                throughput[name].append(_throughput(server.endpoint, apps[name]))
    finally:
        for server in servers.values():
            server.stop()
        shutil.rmtree(scratch, ignore_errors=True)

    print(
        f'Ours (make run, DynamoDB Local on disk) beside ministack {MINISTACK_VERSION} '
        f'(in memory), through boto3 with keep-alive; medians of {SAMPLES} calls each:'
    )
    print(f'  {"call":46} {"ours":>9} {"ministack":>10} {"ratio":>7}')
    for name, by in latency.items():
        ours, theirs = by['ours'], by['ministack']
        print(f'  {name:46} {ours:6.2f} ms {theirs:7.2f} ms {ours / theirs:6.2f}x')
    ours = statistics.median(throughput['ours'])
    theirs = statistics.median(throughput['ministack'])
    label = f'throughput, {CLIENTS[0] * CLIENTS[1]} clients (get_application)'
    print(f'  {label:46} {ours:6.0f}/s  {theirs:6.0f}/s {ours / theirs:6.2f}x (higher is better)')
    median = {name: statistics.median(s) for name, s in started.items()}
    print(
        f'Start-up to the first answer, fresh data dir, median of {STARTS}: '
        f'ours (make run) {median["ours"]:.2f} s, bare DynamoDB Local JVM '
        f'{median["bare JVM"]:.2f} s (ours {median["ours"] / median["bare JVM"]:.2f}x), '
        f'ministack {median["ministack"]:.2f} s'
    )
    base = python_import_seconds('import boto3, chalice')
    app = python_import_seconds('import app')
    print(
        f'Import time: import app {app * 1000:.0f} ms, import boto3, chalice '
        f'{base * 1000:.0f} ms, ratio {app / base:.2f}x (median of 7 fresh interpreters)',
        flush=True,
    )


if __name__ == '__main__':
    run()
