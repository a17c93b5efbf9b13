"""Acknowledged writes survive a SIGKILL of the whole local runner, DynamoDB Local included.

Several threads write through boto3 (hosted versions of random bytes, some large enough to be
chunked, deployments, creates); at a random moment, right after a hosted version is
acknowledged (when a commit that lagged its answer would be lost), the runner and its
DynamoDB Local are killed with SIGKILL, then a new runner starts on the same data. Every write
answered 2xx
before the kill must be there, byte-exact; numbers stay unique; at most one deployment is in
progress per environment; interrupted deployments complete. A few rounds, each bounded.

Deployments take one scaled minute (APPCONFIG_TIME_SCALE), so completing them after a
restart is waiting on the runner's ticker (a real process), polled with a deadline.
"""

import os
import random
import signal
import threading
import time

from botocore.exceptions import ClientError

from tests.e2e.conftest import Runner, client

ROUNDS = 3
KILL_AFTER = (0.0, 1.0)  # seconds after every writer had a write acknowledged: armed
DEADLINE = 60
ENVIRONMENTS = 3
IN_PROGRESS = {'DEPLOYING', 'BAKING', 'VALIDATING', 'ROLLING_BACK'}


class Acked:
    """What the service acknowledged, appended by the writer threads."""

    def __init__(self):
        self.versions = {}  # number -> bytes
        self.deployments = []  # (environment id, number, version number)
        self.profiles = {}  # (application id, profile id) -> name
        self.applications = {}  # id -> name
        self.errors = []  # (monotonic time, error) other than expected conflicts
        self.lock = threading.Lock()


def _versions(endpoint, ids, stop, acked, seed, kill=None):
    """Hosted versions of random bytes. With ``kill``: once ``kill.armed`` is set, the next
    acknowledgement is followed at once by the kill, the moment a write answered before its
    commit reached the disk would be lost."""
    appconfig, rng = client('appconfig', endpoint), random.Random(seed)
    while not stop.is_set():
        # One in eight over the 350 KB chunk size, so chunked content is killed mid-way too.
        size = rng.randrange(360_000, 800_000) if rng.random() < 0.125 else rng.randrange(1, 4096)
        content = os.urandom(size)
        try:
            number = appconfig.create_hosted_configuration_version(
                **ids, Content=content, ContentType='application/octet-stream'
            )['VersionNumber']
        except Exception as error:  # noqa: BLE001 - after the kill every call fails
            acked.errors.append((time.monotonic(), error))
            return
        with acked.lock:
            assert number not in acked.versions, number
            acked.versions[number] = content
        if kill is not None and kill.armed.is_set():
            kill()
            return


def _deployments(endpoint, ids, environments, strategy, stop, acked):
    appconfig = client('appconfig', endpoint)
    while not stop.is_set():
        for environment in environments:
            with acked.lock:
                version = max(acked.versions, default=1)
            try:
                number = appconfig.start_deployment(
                    ApplicationId=ids['ApplicationId'],
                    EnvironmentId=environment,
                    ConfigurationProfileId=ids['ConfigurationProfileId'],
                    DeploymentStrategyId=strategy,
                    ConfigurationVersion=str(version),
                )['DeploymentNumber']
            except ClientError as error:
                if error.response['Error']['Code'] == 'ConflictException':
                    continue  # one is still in progress there: the invariant at work
                acked.errors.append((time.monotonic(), error))
                return
            except Exception as error:  # noqa: BLE001 - after the kill every call fails
                acked.errors.append((time.monotonic(), error))
                return
            acked.deployments.append((environment, number, version))


def _creates(endpoint, stop, acked):
    """Applications, and profiles in the last one created (below its quota of 100)."""
    appconfig, i, application = client('appconfig', endpoint), 0, None
    while not stop.is_set():
        i += 1
        name = f'n{i}-{os.urandom(4).hex()}'
        try:
            if application is None or i % 100 == 0:
                application = appconfig.create_application(Name=name)['Id']
                acked.applications[application] = name
            else:
                created = appconfig.create_configuration_profile(
                    ApplicationId=application, Name=name, LocationUri='hosted'
                )
                acked.profiles[(application, created['Id'])] = name
        except Exception as error:  # noqa: BLE001 - after the kill every call fails
            acked.errors.append((time.monotonic(), error))
            return


def _wait_until_writing(acked, writers):
    """Until every kind of write has been acknowledged since the round began (a fresh
    runner's first requests are slow), so that the kill lands among writes in flight."""
    before = (
        len(acked.versions),
        len(acked.deployments),
        len(acked.profiles) + len(acked.applications),
    )
    deadline = time.monotonic() + DEADLINE
    while True:
        now = (
            len(acked.versions),
            len(acked.deployments),
            len(acked.profiles) + len(acked.applications),
        )
        if all(n > b for n, b in zip(now, before, strict=True)):
            return
        assert all(w.is_alive() for w in writers), acked.errors
        assert time.monotonic() < deadline, (before, now, acked.errors)
        time.sleep(0.01)


class Kill:
    """The kill of one round, done by whichever thread calls it first."""

    def __init__(self, runner):
        self.runner, self.armed, self.done = runner, threading.Event(), threading.Event()
        self.at, self._lock = None, threading.Lock()

    def __call__(self):
        with self._lock:
            if not self.done.is_set():
                self.at = time.monotonic()
                _kill(self.runner)
                self.done.set()


def _kill(runner):
    """SIGKILL the runner's process group and its DynamoDB Local (a session of its own) at
    one instant: the JVM is frozen first, so it does nothing after the runner's death."""
    jvm = runner.dynamodb_pid()
    os.kill(jvm, signal.SIGSTOP)
    os.killpg(runner.proc.pid, signal.SIGKILL)
    os.kill(jvm, signal.SIGKILL)
    runner.proc.wait(timeout=DEADLINE)
    deadline = time.monotonic() + DEADLINE
    while os.path.exists(f'/proc/{jvm}'):
        assert time.monotonic() < deadline, 'DynamoDB Local did not die'
        time.sleep(0.01)


def _check(appconfig, ids, environments, acked):
    listed = [
        v['VersionNumber']
        for page in appconfig.get_paginator('list_hosted_configuration_versions').paginate(**ids)
        for v in page['Items']
    ]
    assert len(listed) == len(set(listed))
    for number, content in acked.versions.items():
        got = appconfig.get_hosted_configuration_version(**ids, VersionNumber=number)
        assert got['Content'].read() == content, number
    for (application, profile), name in acked.profiles.items():
        got = appconfig.get_configuration_profile(
            ApplicationId=application, ConfigurationProfileId=profile
        )
        assert got['Name'] == name
    for application, name in acked.applications.items():
        assert appconfig.get_application(ApplicationId=application)['Name'] == name
    by_environment = {}
    for environment in environments:
        deployments = _deployments_of(appconfig, ids, environment)
        numbers = [d['DeploymentNumber'] for d in deployments]
        assert len(numbers) == len(set(numbers))
        assert sum(d['State'] in IN_PROGRESS for d in deployments) <= 1, deployments
        by_environment[environment] = {d['DeploymentNumber']: d for d in deployments}
    for environment, number, version in acked.deployments:
        assert by_environment[environment][number]['ConfigurationVersion'] == str(version)


def _deployments_of(appconfig, ids, environment):
    pages = appconfig.get_paginator('list_deployments').paginate(
        ApplicationId=ids['ApplicationId'], EnvironmentId=environment
    )
    return [d for page in pages for d in page['Items']]


def _wait_for_deployments_to_complete(appconfig, ids, environments):
    deadline = time.monotonic() + DEADLINE
    for environment in environments:
        while True:
            states = {d['State'] for d in _deployments_of(appconfig, ids, environment)}
            if states <= {'COMPLETE'}:
                break
            assert time.monotonic() < deadline, states
            time.sleep(0.1)


def test_acknowledged_writes_survive_sigkill_of_the_whole_runner(tmp_path):
    env = {
        'APPCONFIG_DATA_DIR': str(tmp_path / 'data'),
        'AWS_ENDPOINT_URL_DYNAMODB': '',
        'APPCONFIG_TIME_SCALE': '600',
        'APPCONFIG_TICK_SECONDS': '0.2',
    }
    runner = Runner(env, output=tmp_path / 'runner.log')
    try:
        appconfig = client('appconfig', runner.endpoint)
        app_id = appconfig.create_application(Name='killed')['Id']
        profile = appconfig.create_configuration_profile(
            ApplicationId=app_id, Name='p', LocationUri='hosted'
        )['Id']
        ids = {'ApplicationId': app_id, 'ConfigurationProfileId': profile}
        environments = [
            appconfig.create_environment(ApplicationId=app_id, Name=f'e{n}')['Id']
            for n in range(ENVIRONMENTS)
        ]
        strategy = appconfig.create_deployment_strategy(
            Name='one-minute',
            DeploymentDurationInMinutes=1,
            GrowthFactor=50,
            FinalBakeTimeInMinutes=0,
            ReplicateTo='NONE',
        )['Id']
        acked = Acked()
        appconfig.create_hosted_configuration_version(
            **ids, Content=b'v1', ContentType='application/octet-stream'
        )
        acked.versions[1] = b'v1'
        for round_no in range(ROUNDS):
            stop, kill = threading.Event(), Kill(runner)
            writers = [
                threading.Thread(
                    target=_versions,
                    args=(
                        runner.endpoint,
                        ids,
                        stop,
                        acked,
                        round_no * 2 + n,
                        kill if n == 0 else None,
                    ),
                )
                for n in range(2)
            ]
            writers.append(
                threading.Thread(
                    target=_deployments,
                    args=(runner.endpoint, ids, environments, strategy, stop, acked),
                )
            )
            writers.append(threading.Thread(target=_creates, args=(runner.endpoint, stop, acked)))
            for writer in writers:
                writer.start()
            _wait_until_writing(acked, writers)
            time.sleep(random.uniform(*KILL_AFTER))  # a random moment, not a wait
            # The kill follows the next acknowledged version at once; the other writers are
            # wherever they are.
            kill.armed.set()
            if not kill.done.wait(DEADLINE):
                kill()
            stop.set()
            for writer in writers:
                writer.join(timeout=DEADLINE)
            # Every failure came from the kill, none before it.
            assert all(at >= kill.at for at, _ in acked.errors), acked.errors
            acked.errors.clear()

            runner = Runner(env, output=tmp_path / 'runner.log')
            appconfig = client('appconfig', runner.endpoint)
            _check(appconfig, ids, environments, acked)
        _wait_for_deployments_to_complete(appconfig, ids, environments)
        _check(appconfig, ids, environments, acked)
        assert len(acked.versions) > ROUNDS and acked.deployments
    finally:
        runner.stop()
