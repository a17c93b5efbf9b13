"""Deployments against DynamoDB Local: concurrent StartDeployment calls (moto is not safe
under threads, so the race is tested here) and the runner's ticker on a real DynamoDB engine
(transactions, the sparse index), sped up with APPCONFIG_TIME_SCALE."""

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from botocore.exceptions import ClientError

from tests.e2e.conftest import Runner, client

PARALLEL = 8


def _world(appconfig, versions=1):
    app_id = appconfig.create_application(Name='deployments')['Id']
    env_id = appconfig.create_environment(ApplicationId=app_id, Name='prod')['Id']
    profile_id = appconfig.create_configuration_profile(
        ApplicationId=app_id, Name='p', LocationUri='hosted'
    )['Id']
    for n in range(versions):
        appconfig.create_hosted_configuration_version(
            ApplicationId=app_id,
            ConfigurationProfileId=profile_id,
            ContentType='application/json',
            Content=f'{{"n": {n}}}'.encode(),
        )
    return {'ApplicationId': app_id, 'EnvironmentId': env_id}, profile_id


def test_parallel_starts_give_one_deployment_and_conflicts(e2e_endpoint):
    appconfig = client('appconfig', e2e_endpoint)
    ids, profile_id = _world(appconfig, versions=PARALLEL)
    clients = [client('appconfig', e2e_endpoint) for _ in range(PARALLEL)]

    def start(i):
        try:
            return clients[i].start_deployment(
                **ids,
                ConfigurationProfileId=profile_id,
                ConfigurationVersion=str(i + 1),
                DeploymentStrategyId='AppConfig.Canary10Percent20Minutes',
            )['DeploymentNumber']
        except ClientError as error:
            return error.response['Error']['Code']

    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        results = list(pool.map(start, range(PARALLEL)))
    assert sorted(r for r in results if isinstance(r, int)) == [1]
    assert sorted(r for r in results if not isinstance(r, int)) == ['ConflictException'] * 7
    winner = results.index(1)
    listed = appconfig.list_deployments(**ids)['Items']
    assert [(d['DeploymentNumber'], d['ConfigurationVersion']) for d in listed] == [
        (1, str(winner + 1))
    ]
    env = appconfig.get_environment(
        ApplicationId=ids['ApplicationId'], EnvironmentId=ids['EnvironmentId']
    )
    assert env['State'] == 'Deploying'
    stopped = appconfig.stop_deployment(**ids, DeploymentNumber=1)
    assert stopped['State'] == 'ROLLED_BACK'
    # Free again: the next start gets number 2.
    assert (
        appconfig.start_deployment(
            **ids,
            ConfigurationProfileId=profile_id,
            ConfigurationVersion='1',
            DeploymentStrategyId='AppConfig.AllAtOnce',
        )['DeploymentNumber']
        == 2
    )


@pytest.fixture(scope='module')
def fast_endpoint(dynamodb_local):
    """A runner whose clock runs 60 times faster (a minute a second), ticking 10 times a
    second, on its own tables."""
    runner = Runner(
        {
            'AWS_ENDPOINT_URL_DYNAMODB': dynamodb_local,
            'APPCONFIG_TABLE_PREFIX': 'e2e-fast-',
            'APPCONFIG_TIME_SCALE': '60',
            'APPCONFIG_TICK_SECONDS': '0.1',
        }
    )
    yield runner.endpoint
    runner.stop()


def test_the_ticker_runs_a_deployment_to_completion(fast_endpoint):
    appconfig = client('appconfig', fast_endpoint)
    ids, profile_id = _world(appconfig)
    appconfig.start_deployment(
        **ids,
        ConfigurationProfileId=profile_id,
        ConfigurationVersion='1',
        DeploymentStrategyId='AppConfig.Linear50PercentEvery30Seconds',
    )
    # Two scaled minutes are two real seconds; the environment waiter polls every 0.1 s.
    appconfig.get_waiter('environment_ready_for_deployment').wait(
        ApplicationId=ids['ApplicationId'],
        EnvironmentId=ids['EnvironmentId'],
        WaiterConfig={'Delay': 0.1, 'MaxAttempts': 300},
    )
    d = appconfig.get_deployment(**ids, DeploymentNumber=1)
    assert d['State'] == 'COMPLETE'
    assert [e['EventType'] for e in reversed(d['EventLog'])] == [
        'DEPLOYMENT_STARTED',
        'PERCENTAGE_UPDATED',
        'PERCENTAGE_UPDATED',
        'BAKE_TIME_STARTED',
        'DEPLOYMENT_COMPLETED',
    ]
    # The tick wrote them at their scheduled instants, not when it happened to run.
    offsets = [(e['OccurredAt'] - d['StartedAt']).total_seconds() for e in reversed(d['EventLog'])]
    assert offsets == [0, 20, 40, 60, 120]


def test_stop_and_revert_on_dynamodb_local(fast_endpoint):
    appconfig = client('appconfig', fast_endpoint)
    ids, profile_id = _world(appconfig, versions=2)
    appconfig.start_deployment(
        **ids,
        ConfigurationProfileId=profile_id,
        ConfigurationVersion='1',
        DeploymentStrategyId='AppConfig.AllAtOnce',
    )
    deadline = time.monotonic() + 60
    while appconfig.get_deployment(**ids, DeploymentNumber=1)['State'] != 'COMPLETE':
        assert time.monotonic() < deadline
        time.sleep(0.1)
    reverted = appconfig.stop_deployment(**ids, DeploymentNumber=1, AllowRevert=True)
    assert reverted['State'] == 'REVERTED'
    env = appconfig.get_environment(
        ApplicationId=ids['ApplicationId'], EnvironmentId=ids['EnvironmentId']
    )
    assert env['State'] == 'Reverted'
