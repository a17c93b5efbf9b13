"""The manual clock of the local runner on DynamoDB Local: stored with the data, so every
process on one DynamoDB reads the same time and a restart keeps it; and polls that see a
finished deployment at once, as a user's test suite expects."""

import pytest

from local.clock_client import Clock
from tests.e2e.conftest import Runner, client

START = '2026-12-01T12:00:00Z'


@pytest.fixture(scope='module')
def manual_env(dynamodb_local):
    return {
        'AWS_ENDPOINT_URL_DYNAMODB': dynamodb_local,
        'APPCONFIG_TABLE_PREFIX': 'clock-',
        'APPCONFIG_CLOCK': 'manual',
        'APPCONFIG_CLOCK_START': START,
    }


@pytest.fixture(scope='module')
def runner(manual_env):
    first = Runner(manual_env)
    yield first
    first.stop()


def test_two_processes_on_one_dynamodb_report_the_same_time(runner, manual_env):
    a = Clock(runner.endpoint)
    b_runner = Runner(manual_env)
    try:
        b = Clock(b_runner.endpoint)
        assert a.get() == b.get()
        assert a.get()['mode'] == 'manual'
        moved = a.advance('2h')
        assert b.get() == moved
        moved = b.set('2027-01-01T00:00:00Z')
        assert a.get() == moved == {'now': '2027-01-01T00:00:00Z', 'mode': 'manual', 'speed': 0}
    finally:
        b_runner.stop()
    # A restart (same DynamoDB, same settings) keeps the stored time: no jump back to START.
    again = Runner(manual_env)
    try:
        assert Clock(again.endpoint).get()['now'] == '2027-01-01T00:00:00Z'
    finally:
        again.stop()


def _world(appconfig, name):
    app = appconfig.create_application(Name=name)['Id']
    env = appconfig.create_environment(ApplicationId=app, Name='prod')['Id']
    profile = appconfig.create_configuration_profile(
        ApplicationId=app, Name='settings', LocationUri='hosted'
    )['Id']
    return app, env, profile


@pytest.mark.parametrize('strategy', ['duration 0', 'AppConfig.AllAtOnce'])
def test_deploy_wait_poll_is_never_stale(runner, strategy):
    """deploy, wait for COMPLETE with the botocore waiter, poll once: the new bytes, always
    (the data plane's per-process cache must not serve the previous deployment)."""
    appconfig = client('appconfig', runner.endpoint)
    data = client('appconfigdata', runner.endpoint)
    control = Clock(runner.endpoint)
    app, env, profile = _world(appconfig, f'never-stale-{strategy.split()[-1]}')
    if strategy == 'duration 0':
        strategy_id = appconfig.create_deployment_strategy(
            Name='instant',
            DeploymentDurationInMinutes=0,
            GrowthFactor=100,
            FinalBakeTimeInMinutes=0,
            ReplicateTo='NONE',
        )['Id']
    else:
        strategy_id = strategy
    waiter = appconfig.get_waiter('deployment_complete')
    token = data.start_configuration_session(
        ApplicationIdentifier=app, EnvironmentIdentifier=env, ConfigurationProfileIdentifier=profile
    )['InitialConfigurationToken']
    for i in range(20):
        body = f'{{"release": {i}}}'.encode()
        version = appconfig.create_hosted_configuration_version(
            ApplicationId=app,
            ConfigurationProfileId=profile,
            Content=body,
            ContentType='application/json',
        )['VersionNumber']
        number = appconfig.start_deployment(
            ApplicationId=app,
            EnvironmentId=env,
            ConfigurationProfileId=profile,
            DeploymentStrategyId=strategy_id,
            ConfigurationVersion=str(version),
        )['DeploymentNumber']
        if strategy != 'duration 0':
            control.advance('10m')  # AllAtOnce bakes 10 minutes
        waiter.wait(
            ApplicationId=app,
            EnvironmentId=env,
            DeploymentNumber=number,
            WaiterConfig={'Delay': 1, 'MaxAttempts': 5},
        )
        answer = data.get_latest_configuration(ConfigurationToken=token)
        token = answer['NextPollConfigurationToken']
        assert answer['Configuration'].read() == body, f'deployment {i + 1} served stale'
