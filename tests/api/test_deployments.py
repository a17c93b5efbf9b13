"""StartDeployment, GetDeployment, ListDeployments and the growth timelines, over HTTP with
real boto3 clients; time is the fake clock, and the tick is run by hand where it matters."""

import contextlib
import json
from datetime import timedelta

import boto3
import pytest
from botocore.exceptions import WaiterError

from chalicelib import clock, flags
from chalicelib.engine import growth
from chalicelib.store import content
from chalicelib.store.delivery import Delivery
from chalicelib.store.delivery import key as delivery_key
from chalicelib.store.deployments import ACTIVE, Deployment
from tests.api.deploying import World, later, log, minutes, tick_now

PREDEFINED = {
    'AppConfig.AllAtOnce': ('LINEAR', 100, 0, 10),
    'AppConfig.Linear50PercentEvery30Seconds': ('LINEAR', 50, 1, 1),
    'AppConfig.Canary10Percent20Minutes': ('EXPONENTIAL', 10, 20, 10),
    'AppConfig.Linear20PercentEvery6Minutes': ('LINEAR', 20, 30, 30),
}


def expected_log(growth_type, factor, duration, bake):
    steps = growth.schedule(
        {
            'GrowthType': growth_type,
            'GrowthFactor': factor,
            'DeploymentDurationInMinutes': duration,
            'FinalBakeTimeInMinutes': bake,
        }
    )
    return [(timedelta(0), 'DEPLOYMENT_STARTED', 'USER', 'Deployment started')] + [
        (s.offset, s.event_type, 'APPCONFIG', s.description) for s in steps
    ]


def walk(world, number, with_ticks):
    """Step the clock through every scheduled instant (and just before each), checking that
    the deployment reads exactly what the schedule says at each of them."""
    started = world.get(number)['StartedAt']
    d = world.get(number)
    schedule = growth.schedule(
        {
            k: d[k]
            for k in (
                'GrowthType',
                'GrowthFactor',
                'DeploymentDurationInMinutes',
                'FinalBakeTimeInMinutes',
            )
        }
    )
    origin = clock.now()
    for step in schedule:
        for at in (step.offset - timedelta(seconds=1), step.offset):
            if origin + at < clock.now():
                continue
            clock.freeze(origin + at)
            if with_ticks:
                tick_now()
            got = world.get(number)
            expected = growth.progress(schedule_strategy(d), at)
            assert (got['State'], got['PercentageComplete']) == (
                expected.state,
                expected.percentage,
            ), at
            assert len(got['EventLog']) == 1 + len(expected.due)
    assert world.get(number)['CompletedAt'] == started + schedule[-1].offset


def schedule_strategy(d):
    return {
        k: d[k]
        for k in (
            'GrowthType',
            'GrowthFactor',
            'DeploymentDurationInMinutes',
            'FinalBakeTimeInMinutes',
        )
    }


def test_examples_1_timeline(appconfig):
    """LINEAR 25 %, 15 minutes, no bake: the GetDeployment example of examples-1.json."""
    w = World(appconfig)
    strategy = w.strategy(25, 15)
    started = w.start(strategy)
    assert started['ResponseMetadata']['HTTPStatusCode'] == 201
    assert (started['DeploymentNumber'], started['State'], started['PercentageComplete']) == (
        1,
        'DEPLOYING',
        0.0,
    )
    assert [e['EventType'] for e in started['EventLog']] == ['DEPLOYMENT_STARTED']
    assert 'CompletedAt' not in started
    assert w.environment_state() == 'Deploying'
    for minute, pct in ((2, 0.0), (3, 25.0), (6, 50.0), (9, 75.0), (12, 100.0), (14, 100.0)):
        clock.freeze(started['StartedAt'] + minutes(minute))
        d = w.get(1)
        assert (d['State'], d['PercentageComplete']) == ('DEPLOYING', pct), minute
    clock.freeze(started['StartedAt'] + minutes(15))
    final = w.get(1)
    assert final['State'] == 'COMPLETE' and final['PercentageComplete'] == 100.0
    assert final['CompletedAt'] == started['StartedAt'] + minutes(15)
    assert log(final) == [
        (minutes(0), 'DEPLOYMENT_STARTED', 'USER', 'Deployment started'),
        (
            minutes(3),
            'PERCENTAGE_UPDATED',
            'APPCONFIG',
            'Configuration available to 25.00% of clients',
        ),
        (
            minutes(6),
            'PERCENTAGE_UPDATED',
            'APPCONFIG',
            'Configuration available to 50.00% of clients',
        ),
        (
            minutes(9),
            'PERCENTAGE_UPDATED',
            'APPCONFIG',
            'Configuration available to 75.00% of clients',
        ),
        (
            minutes(12),
            'PERCENTAGE_UPDATED',
            'APPCONFIG',
            'Configuration available to 100.00% of clients',
        ),
        (minutes(15), 'BAKE_TIME_STARTED', 'APPCONFIG', 'Deployment bake time started'),
        (minutes(15), 'DEPLOYMENT_COMPLETED', 'APPCONFIG', 'Deployment completed'),
    ]
    # Newest first on the wire.
    assert [e['EventType'] for e in final['EventLog']][:2] == [
        'DEPLOYMENT_COMPLETED',
        'BAKE_TIME_STARTED',
    ]
    # What the reads computed, the tick writes: identical log once materialised.
    assert tick_now()['completed'] == 1
    assert log(w.get(1)) == log(final)
    assert w.environment_state() == 'ReadyForDeployment'


@pytest.mark.parametrize('strategy_id', sorted(PREDEFINED))
@pytest.mark.parametrize('with_ticks', [True, False], ids=['ticks', 'no-ticks'])
def test_predefined_strategy_timelines(appconfig, strategy_id, with_ticks):
    w = World(appconfig)
    d = w.start(strategy_id)
    growth_type, factor, duration, bake = PREDEFINED[strategy_id]
    assert (
        d['GrowthType'],
        d['GrowthFactor'],
        d['DeploymentDurationInMinutes'],
        d['FinalBakeTimeInMinutes'],
        d['DeploymentStrategyId'],
    ) == (growth_type, factor, duration, bake, strategy_id)
    walk(w, 1, with_ticks)
    final = w.get(1)
    assert final['State'] == 'COMPLETE'
    assert log(final) == expected_log(growth_type, factor, duration, bake)
    if with_ticks:
        assert w.environment_state() == 'ReadyForDeployment'


@pytest.mark.parametrize(
    'growth_type, factor, duration, bake, percentages',
    [
        ('LINEAR', 20, 12, 3, [20, 40, 60, 80, 100]),
        ('LINEAR', 30, 8, 0, [30, 60, 90, 100]),
        ('EXPONENTIAL', 10, 12, 2, [10, 20, 40, 80, 100]),
        ('EXPONENTIAL', 2.5, 16, 0, [2.5, 5, 10, 20, 40, 80, 100]),
        ('LINEAR', 50, 0, 5, [100]),  # duration 0: everything at once, then bake
        ('EXPONENTIAL', 25, 6, 0, [25, 50, 100]),  # bake 0
    ],
)
def test_custom_strategy_timelines(appconfig, growth_type, factor, duration, bake, percentages):
    w = World(appconfig)
    strategy = w.strategy(factor, duration, bake, growth_type)
    w.start(strategy)
    walk(w, 1, with_ticks=True)
    final = w.get(1)
    assert log(final) == expected_log(growth_type, factor, duration, bake)
    assert [
        float(e[3].split()[3].rstrip('%')) for e in log(final) if e[1] == 'PERCENTAGE_UPDATED'
    ] == [float(p) for p in percentages]
    if duration == 0:
        assert log(final)[1][0] == log(final)[2][0] == timedelta(0)
    assert w.environment_state() == 'ReadyForDeployment'


def test_duration_0_bakes_at_once(appconfig):
    w = World(appconfig)
    d = w.start(w.strategy(100, 0, 4))
    assert (d['State'], d['PercentageComplete']) == ('BAKING', 100.0)
    assert [e['EventType'] for e in d['EventLog']] == [
        'BAKE_TIME_STARTED',
        'PERCENTAGE_UPDATED',
        'DEPLOYMENT_STARTED',
    ]
    assert w.environment_state() == 'Deploying'
    later(minutes=4)
    assert w.get(1)['State'] == 'COMPLETE'


def test_duration_0_and_bake_0_completes_in_the_start_response(appconfig):
    w = World(appconfig)
    d = w.start(w.strategy(100, 0, 0))
    assert (d['State'], d['PercentageComplete']) == ('COMPLETE', 100.0)
    assert d['CompletedAt'] == d['StartedAt']
    assert [e['EventType'] for e in d['EventLog']] == [
        'DEPLOYMENT_COMPLETED',
        'BAKE_TIME_STARTED',
        'PERCENTAGE_UPDATED',
        'DEPLOYMENT_STARTED',
    ]
    assert w.environment_state() == 'ReadyForDeployment'
    assert list(Deployment.active_index.query(ACTIVE)) == []
    # The environment is free at once.
    assert w.start(w.strategy(100, 0, 0))['DeploymentNumber'] == 2


def test_fields_are_stored_and_returned(appconfig):
    w = World(appconfig)
    version = w.version({'a': 1}, label='v-one')
    # A real (moto) key: the deployment's delivered bytes are encrypted with it.
    key_arn = boto3.client('kms', region_name='us-east-1').create_key()['KeyMetadata']['Arn']
    d = w.start(
        'AppConfig.AllAtOnce',
        version='v-one',
        Description='first rollout',
        Tags={'team': 'web'},
        KmsKeyIdentifier=key_arn,
        DynamicExtensionParameters={'ext#param': 'value'},
    )
    for got in (d, w.get(1)):
        assert got['ApplicationId'] == w.app and got['EnvironmentId'] == w.env
        assert got['ConfigurationProfileId'] == w.profile
        assert got['ConfigurationName'] == 'settings'
        assert got['ConfigurationLocationUri'] == 'hosted'
        assert (got['ConfigurationVersion'], got['VersionLabel']) == (str(version), 'v-one')
        assert got['Description'] == 'first rollout'
        assert got['KmsKeyIdentifier'] == key_arn and got['KmsKeyArn'] == key_arn
    item = Deployment.get(f'{w.app}#{w.env}', 1)
    assert item.tags == {'team': 'web'}
    assert item.dynamic_extension_parameters == {'ext#param': 'value'}


def test_version_by_number_or_label(appconfig):
    w = World(appconfig)
    w.version({'v': 1}, label='first')
    second = w.version({'v': 2}, label='second')
    d = w.start('AppConfig.AllAtOnce', version='second')
    assert (d['ConfigurationVersion'], d['VersionLabel']) == (str(second), 'second')
    later(minutes=10)
    d = w.start('AppConfig.AllAtOnce', version=1)
    assert (d['ConfigurationVersion'], d['VersionLabel']) == ('1', 'first')


@pytest.mark.parametrize(
    'change, resource',
    [
        ({'ConfigurationVersion': '99'}, '99'),
        ({'ConfigurationVersion': 'no-such-label'}, 'no-such-label'),
        ({'DeploymentStrategyId': 'zzzz999'}, 'zzzz999'),
        ({'ConfigurationProfileId': 'zzzz999'}, 'zzzz999'),
        ({'EnvironmentId': 'zzzz999'}, 'zzzz999'),
    ],
)
def test_unknown_references_are_not_found(appconfig, change, resource):
    w = World(appconfig)
    w.version()
    args = {
        'ApplicationId': w.app,
        'EnvironmentId': w.env,
        'DeploymentStrategyId': 'AppConfig.AllAtOnce',
        'ConfigurationProfileId': w.profile,
        'ConfigurationVersion': '1',
        **change,
    }
    with pytest.raises(appconfig.exceptions.ResourceNotFoundException) as err:
        appconfig.start_deployment(**args)
    assert resource in err.value.response['Error']['Message']
    assert list(Deployment.query(f'{w.app}#{w.env}')) == []


def test_second_deployment_conflicts_and_writes_nothing(appconfig):
    w = World(appconfig)
    w.start('AppConfig.Canary10Percent20Minutes')
    version = w.version({'v': 2})
    later(minutes=5)
    with pytest.raises(appconfig.exceptions.ConflictException) as err:
        w.start('AppConfig.AllAtOnce', version=version)
    assert err.value.response['ResponseMetadata']['HTTPStatusCode'] == 409
    assert 'Deployment number 1 is in progress' in err.value.response['Error']['Message']
    items = appconfig.list_deployments(ApplicationId=w.app, EnvironmentId=w.env)['Items']
    assert [i['DeploymentNumber'] for i in items] == [1]
    delivery = Delivery.get(delivery_key(w.app, w.env, w.profile))
    assert (delivery.deployment_number, delivery.target['VersionNumber']) == (1, '1')
    # Once the first one is complete by the clock, the next starts even before any tick.
    later(minutes=25)
    assert w.start('AppConfig.AllAtOnce', version=version)['DeploymentNumber'] == 2
    first = w.get(1)
    assert first['State'] == 'COMPLETE' and first['CompletedAt'] == first['StartedAt'] + minutes(30)


def test_deployments_to_other_environments_run_together(appconfig):
    w = World(appconfig)
    other = appconfig.create_environment(ApplicationId=w.app, Name='staging')['Id']
    w.start('AppConfig.Canary10Percent20Minutes')
    d = appconfig.start_deployment(
        ApplicationId=w.app,
        EnvironmentId=other,
        DeploymentStrategyId='AppConfig.AllAtOnce',
        ConfigurationProfileId=w.profile,
        ConfigurationVersion='1',
    )
    assert d['DeploymentNumber'] == 1 and d['EnvironmentId'] == other


def test_latest_deployment_number_is_checked(appconfig):
    w = World(appconfig)
    with pytest.raises(appconfig.exceptions.ConflictException):
        w.start('AppConfig.AllAtOnce', LatestDeploymentNumber=3)
    assert w.start('AppConfig.AllAtOnce', LatestDeploymentNumber=0)['DeploymentNumber'] == 1
    later(minutes=11)
    with pytest.raises(appconfig.exceptions.ConflictException):
        w.start('AppConfig.AllAtOnce', LatestDeploymentNumber=0)
    assert w.start('AppConfig.AllAtOnce', LatestDeploymentNumber=1)['DeploymentNumber'] == 2


def test_list_deployments_newest_first_and_paginated(appconfig):
    w = World(appconfig)
    strategy = w.strategy(100, 0, 0)
    for _ in range(5):
        w.start(strategy)
        later(seconds=1)
    w.start('AppConfig.Linear50PercentEvery30Seconds')
    first = appconfig.list_deployments(ApplicationId=w.app, EnvironmentId=w.env, MaxResults=4)
    assert [i['DeploymentNumber'] for i in first['Items']] == [6, 5, 4, 3]
    running = first['Items'][0]
    assert (running['State'], running['PercentageComplete'], running['Type']) == (
        'DEPLOYING',
        0.0,
        'USER',
    )
    assert running['ConfigurationName'] == 'settings' and running['ConfigurationVersion']
    assert running['DeploymentDurationInMinutes'] == 1 and running['GrowthType'] == 'LINEAR'
    assert 'CompletedAt' not in running
    done = first['Items'][1]
    assert done['State'] == 'COMPLETE' and done['CompletedAt'] == done['StartedAt']
    rest = appconfig.list_deployments(
        ApplicationId=w.app, EnvironmentId=w.env, MaxResults=4, NextToken=first['NextToken']
    )
    assert [i['DeploymentNumber'] for i in rest['Items']] == [2, 1]
    assert 'NextToken' not in rest
    pages = appconfig.get_paginator('list_deployments').paginate(
        ApplicationId=w.app, EnvironmentId=w.env, PaginationConfig={'PageSize': 2}
    )
    assert [i['DeploymentNumber'] for p in pages for i in p['Items']] == [6, 5, 4, 3, 2, 1]
    # Summaries are exact for the instant too.
    later(minutes=2)
    assert (
        appconfig.list_deployments(ApplicationId=w.app, EnvironmentId=w.env, MaxResults=1)['Items'][
            0
        ]['State']
        == 'COMPLETE'
    )


def test_list_and_get_unknown(appconfig):
    w = World(appconfig)
    with pytest.raises(appconfig.exceptions.ResourceNotFoundException):
        appconfig.list_deployments(ApplicationId=w.app, EnvironmentId='zzzz999')
    with pytest.raises(appconfig.exceptions.ResourceNotFoundException):
        w.get(7)
    assert appconfig.list_deployments(ApplicationId=w.app, EnvironmentId=w.env)['Items'] == []


def test_delivery_item_tracks_the_releases(appconfig):
    w = World(appconfig)
    key = delivery_key(w.app, w.env, w.profile)
    v1 = w.version({'v': 1}, label='one')
    w.start('AppConfig.AllAtOnce', version=v1)
    first = Delivery.get(key)
    assert first.deployment_number == 1 and first.state == 'DEPLOYING'
    assert first.previous is None
    body = json.dumps({'v': 1}).encode()
    assert first.target == {
        'VersionNumber': str(v1),
        'VersionLabel': 'one',
        'ContentType': 'application/json',
        'Digest': content.digest_of(body),
    }
    assert content.get(first.target['Digest']) == body
    later(minutes=10)
    v2 = w.version({'v': 2})
    w.start('AppConfig.Canary10Percent20Minutes', version=v2)
    second = Delivery.get(key)
    assert second.previous == first.target and second.target['VersionNumber'] == str(v2)
    assert second.strategy['GrowthType'] == 'EXPONENTIAL'
    later(minutes=1)
    w.stop(2)
    assert Delivery.get(key).state == 'ROLLED_BACK'
    # After a rollback, clients are on the release before it: the next deployment's previous.
    v3 = w.version({'v': 3})
    w.start('AppConfig.AllAtOnce', version=v3)
    assert Delivery.get(key).previous == first.target


def test_feature_flag_profiles_deliver_the_flattened_document(appconfig):
    w = World(appconfig, profile_type='AWS.AppConfig.FeatureFlags')
    doc = {
        'version': '1',
        'flags': {'dark': {'name': 'dark mode'}},
        'values': {'dark': {'enabled': True}},
    }
    raw = json.dumps(doc).encode()
    version = w.version(raw=raw)
    w.start('AppConfig.AllAtOnce', version=version)
    target = Delivery.get(delivery_key(w.app, w.env, w.profile)).target
    assert content.get(target['Digest']) == flags.flatten(raw)
    assert json.loads(content.get(target['Digest'])) == {'dark': {'enabled': True}}


def test_strategy_is_snapshotted(appconfig):
    w = World(appconfig)
    strategy = w.strategy(50, 10)
    w.start(strategy)
    appconfig.update_deployment_strategy(
        DeploymentStrategyId=strategy, DeploymentDurationInMinutes=100, GrowthFactor=10
    )
    later(minutes=10)
    d = w.get(1)
    assert (d['DeploymentDurationInMinutes'], d['GrowthFactor'], d['State']) == (
        10,
        50.0,
        'COMPLETE',
    )


# --- waiters ---------------------------------------------------------------------------


@contextlib.contextmanager
def _advance_on(client, operation, seconds, with_tick=False):
    """Each call of ``operation`` first moves the fake clock on (and runs the ticker, as the
    local runner does every second): the waiter's 30-second sleeps, without sleeping.
    Unregistered on exit: clients of one boto3 session share their event hooks."""
    calls = []

    def hook(**_):
        if calls:
            clock.advance(seconds=seconds)
            if with_tick:
                tick_now()
        calls.append(clock.now())

    event = f'before-call.appconfig.{operation}'
    client.meta.events.register(event, hook, unique_id='advance-clock')
    try:
        yield calls
    finally:
        client.meta.events.unregister(event, unique_id='advance-clock')


def test_deployment_complete_waiter(appconfig):
    w = World(appconfig)
    w.start('AppConfig.Linear50PercentEvery30Seconds')
    with _advance_on(appconfig, 'GetDeployment', 30) as calls:
        appconfig.get_waiter('deployment_complete').wait(
            ApplicationId=w.app,
            EnvironmentId=w.env,
            DeploymentNumber=1,
            WaiterConfig={'Delay': 0, 'MaxAttempts': 20},
        )
    # LINEAR 50 % over 1 minute + 1 minute bake: COMPLETE after 2 minutes = the 5th poll.
    assert len(calls) == 5
    assert w.get(1)['State'] == 'COMPLETE'


def test_deployment_complete_waiter_fails_on_rollback(appconfig):
    w = World(appconfig)
    w.start('AppConfig.Linear20PercentEvery6Minutes')
    later(minutes=7)
    w.stop(1)
    with pytest.raises(WaiterError) as err:
        appconfig.get_waiter('deployment_complete').wait(
            ApplicationId=w.app,
            EnvironmentId=w.env,
            DeploymentNumber=1,
            WaiterConfig={'Delay': 0, 'MaxAttempts': 3},
        )
    assert 'ROLLED_BACK' in str(err.value) or err.value.last_response['State'] == 'ROLLED_BACK'


def test_environment_ready_for_deployment_waiter(appconfig):
    w = World(appconfig)
    w.start('AppConfig.AllAtOnce')
    assert w.environment_state() == 'Deploying'
    with _advance_on(appconfig, 'GetEnvironment', 30, with_tick=True) as calls:
        appconfig.get_waiter('environment_ready_for_deployment').wait(
            ApplicationId=w.app, EnvironmentId=w.env, WaiterConfig={'Delay': 0, 'MaxAttempts': 40}
        )
    # AllAtOnce bakes 10 minutes: ready on the poll 10 minutes after the first one.
    assert len(calls) == 21
    assert w.environment_state() == 'ReadyForDeployment'


def test_environment_waiter_fails_on_rolled_back_and_reverted(appconfig):
    w = World(appconfig)
    w.start('AppConfig.AllAtOnce')
    w.stop(1)
    assert w.environment_state() == 'RolledBack'
    waiter = appconfig.get_waiter('environment_ready_for_deployment')
    with pytest.raises(WaiterError):
        waiter.wait(
            ApplicationId=w.app, EnvironmentId=w.env, WaiterConfig={'Delay': 0, 'MaxAttempts': 2}
        )
    w.start('AppConfig.AllAtOnce')
    later(minutes=10)
    w.stop(2, allow_revert=True)
    assert w.environment_state() == 'Reverted'
    with pytest.raises(WaiterError):
        waiter.wait(
            ApplicationId=w.app, EnvironmentId=w.env, WaiterConfig={'Delay': 0, 'MaxAttempts': 2}
        )


def test_environment_state_is_exact_without_a_tick(appconfig):
    w = World(appconfig)
    w.start('AppConfig.AllAtOnce')
    later(minutes=9, seconds=59)
    assert w.environment_state() == 'Deploying'
    later(seconds=1)
    assert w.environment_state() == 'ReadyForDeployment'
    listed = appconfig.list_environments(ApplicationId=w.app)['Items']
    assert [e['State'] for e in listed] == ['ReadyForDeployment']
    tick_now()
    assert w.environment_state() == 'ReadyForDeployment'
