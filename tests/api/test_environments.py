from datetime import timedelta

import pytest

from chalicelib import clock
from chalicelib.store.environments import Environment

ALARM = 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:errors'
ROLE = 'arn:aws:iam::123456789012:role/appconfig-alarms'


@pytest.fixture
def app_id(appconfig):
    return appconfig.create_application(Name='shop')['Id']


def _status(err):
    return err.value.response['ResponseMetadata']['HTTPStatusCode']


def test_create_get_update_delete(appconfig, app_id):
    monitors = [{'AlarmArn': ALARM, 'AlarmRoleArn': ROLE}, {'AlarmArn': ALARM + '2'}]
    created = appconfig.create_environment(
        ApplicationId=app_id,
        Name='prod',
        Description='production',
        Monitors=monitors,
        Tags={'team': 'a'},
    )
    assert created['ResponseMetadata']['HTTPStatusCode'] == 201
    env_id = created['Id']
    assert len(env_id) == 7 and env_id.isalnum() and env_id.islower()
    expected = {
        'ApplicationId': app_id,
        'Id': env_id,
        'Name': 'prod',
        'Description': 'production',
        'State': 'ReadyForDeployment',
        'Monitors': monitors,
    }
    assert {k: created[k] for k in expected} == expected
    got = appconfig.get_environment(ApplicationId=app_id, EnvironmentId=env_id)
    assert {k: got[k] for k in expected} == expected

    updated = appconfig.update_environment(
        ApplicationId=app_id,
        EnvironmentId=env_id,
        Name='production',
        Monitors=[{'AlarmArn': ALARM}],
    )
    assert (updated['Name'], updated['Description'], updated['Monitors']) == (
        'production',
        'production',
        [{'AlarmArn': ALARM}],
    )
    cleared = appconfig.update_environment(ApplicationId=app_id, EnvironmentId=env_id, Monitors=[])
    assert cleared['Monitors'] == [] and cleared['Name'] == 'production'
    unchanged = appconfig.update_environment(ApplicationId=app_id, EnvironmentId=env_id)
    assert unchanged['Name'] == 'production'

    deleted = appconfig.delete_environment(ApplicationId=app_id, EnvironmentId=env_id)
    assert deleted['ResponseMetadata']['HTTPStatusCode'] == 204
    with pytest.raises(appconfig.exceptions.ResourceNotFoundException) as err:
        appconfig.get_environment(ApplicationId=app_id, EnvironmentId=env_id)
    assert _status(err) == 404 and env_id in err.value.response['Error']['Message']
    assert err.value.response['ResourceName'] == env_id


def test_waiter_sees_ready_for_deployment(appconfig, app_id):
    env_id = appconfig.create_environment(ApplicationId=app_id, Name='prod')['Id']
    waiter = appconfig.get_waiter('environment_ready_for_deployment')
    waiter.wait(
        ApplicationId=app_id, EnvironmentId=env_id, WaiterConfig={'Delay': 1, 'MaxAttempts': 1}
    )


def test_tags_at_creation(appconfig, app_id):
    env_id = appconfig.create_environment(
        ApplicationId=app_id, Name='prod', Tags={'team': 'a', 'tier': '1'}
    )['Id']
    arn = f'arn:aws:appconfig:us-east-1:123456789012:application/{app_id}/environment/{env_id}'
    assert appconfig.list_tags_for_resource(ResourceArn=arn)['Tags'] == {'team': 'a', 'tier': '1'}


@pytest.mark.parametrize(
    'call',
    [
        lambda c, a: c.create_environment(ApplicationId=a, Name='x'),
        lambda c, a: c.get_environment(ApplicationId=a, EnvironmentId='abc1234'),
        lambda c, a: c.update_environment(ApplicationId=a, EnvironmentId='abc1234', Name='y'),
        lambda c, a: c.delete_environment(ApplicationId=a, EnvironmentId='abc1234'),
        lambda c, a: c.list_environments(ApplicationId=a),
    ],
)
def test_unknown_application(appconfig, call):
    with pytest.raises(appconfig.exceptions.ResourceNotFoundException) as err:
        call(appconfig, 'nope123')
    assert _status(err) == 404
    assert 'Application nope123' in err.value.response['Error']['Message']
    assert err.value.response['ResourceName'] == 'nope123'


@pytest.mark.parametrize(
    'call',
    [
        lambda c, a: c.get_environment(ApplicationId=a, EnvironmentId='abc1234'),
        lambda c, a: c.update_environment(ApplicationId=a, EnvironmentId='abc1234', Name='y'),
        lambda c, a: c.delete_environment(ApplicationId=a, EnvironmentId='abc1234'),
    ],
)
def test_unknown_environment(appconfig, app_id, call):
    with pytest.raises(appconfig.exceptions.ResourceNotFoundException) as err:
        call(appconfig, app_id)
    assert _status(err) == 404
    assert 'Environment abc1234' in err.value.response['Error']['Message']


def test_list_paginates(appconfig, app_id):
    other = appconfig.create_application(Name='other')['Id']
    appconfig.create_environment(ApplicationId=other, Name='elsewhere')
    ids = {
        appconfig.create_environment(ApplicationId=app_id, Name=f'env{i}')['Id'] for i in range(7)
    }
    first = appconfig.list_environments(ApplicationId=app_id, MaxResults=3)
    assert len(first['Items']) == 3 and first['NextToken']
    seen, token = [i['Id'] for i in first['Items']], first['NextToken']
    while token:
        page = appconfig.list_environments(ApplicationId=app_id, MaxResults=3, NextToken=token)
        seen += [i['Id'] for i in page['Items']]
        token = page.get('NextToken')
    assert sorted(seen) == sorted(ids)
    assert all(i['State'] == 'ReadyForDeployment' for i in first['Items'])
    pages = appconfig.get_paginator('list_environments').paginate(
        ApplicationId=app_id, PaginationConfig={'PageSize': 2}
    )
    assert sorted(i['Id'] for p in pages for i in p['Items']) == sorted(ids)
    exact = appconfig.list_environments(ApplicationId=app_id, MaxResults=7)
    assert len(exact['Items']) == 7 and 'NextToken' not in exact


def test_next_token_from_another_application_is_refused(appconfig, app_id):
    other = appconfig.create_application(Name='other')['Id']
    for i in range(3):
        appconfig.create_environment(ApplicationId=other, Name=f'e{i}')
    token = appconfig.list_environments(ApplicationId=other, MaxResults=1)['NextToken']
    with pytest.raises(appconfig.exceptions.BadRequestException):
        appconfig.list_environments(ApplicationId=app_id, NextToken=token)
    with pytest.raises(appconfig.exceptions.BadRequestException):
        appconfig.list_environments(ApplicationId=app_id, NextToken='garbage')


def test_quota_of_twenty_per_application(appconfig, app_id):
    ids = [
        appconfig.create_environment(ApplicationId=app_id, Name=f'e{i}')['Id'] for i in range(20)
    ]
    with pytest.raises(appconfig.exceptions.ServiceQuotaExceededException) as err:
        appconfig.create_environment(ApplicationId=app_id, Name='one-too-many')
    assert _status(err) == 402
    assert '20' in err.value.response['Error']['Message']
    assert len(appconfig.list_environments(ApplicationId=app_id, MaxResults=50)['Items']) == 20
    # Another application has its own quota; a delete frees a slot.
    other = appconfig.create_application(Name='other')['Id']
    appconfig.create_environment(ApplicationId=other, Name='fine')
    appconfig.delete_environment(ApplicationId=app_id, EnvironmentId=ids[0])
    appconfig.create_environment(ApplicationId=app_id, Name='again')


def test_delete_refused_while_a_deployment_is_in_progress(appconfig, app_id):
    env_id = appconfig.create_environment(ApplicationId=app_id, Name='prod')['Id']
    # What the deployment engine does when a deployment starts.
    Environment(app_id, env_id).update(
        actions=[Environment.active_deployment.set(1), Environment.state.set('Deploying')]
    )
    assert (
        appconfig.get_environment(ApplicationId=app_id, EnvironmentId=env_id)['State']
        == 'Deploying'
    )
    with pytest.raises(appconfig.exceptions.ConflictException) as err:
        appconfig.delete_environment(ApplicationId=app_id, EnvironmentId=env_id)
    assert _status(err) == 409
    assert err.value.response['Error']['Message'] == (
        f'Cannot delete environment {env_id} because deployment 1 is in progress.'
    )
    appconfig.get_environment(ApplicationId=app_id, EnvironmentId=env_id)
    Environment(app_id, env_id).update(
        actions=[
            Environment.active_deployment.remove(),
            Environment.state.set('ReadyForDeployment'),
        ]
    )
    appconfig.delete_environment(ApplicationId=app_id, EnvironmentId=env_id)


def _polled(app_id, env_id, minutes_ago):
    Environment(app_id, env_id).update(
        actions=[Environment.last_polled_at.set(clock.now() - timedelta(minutes=minutes_ago))]
    )


def test_deletion_protection(appconfig, app_id):
    env_id = appconfig.create_environment(ApplicationId=app_id, Name='prod')['Id']
    clock.advance(hours=2)
    _polled(app_id, env_id, 10)
    # Protection is off by default: APPLY still checks.
    with pytest.raises(appconfig.exceptions.BadRequestException) as err:
        appconfig.delete_environment(
            ApplicationId=app_id, EnvironmentId=env_id, DeletionProtectionCheck='APPLY'
        )
    message = err.value.response['Error']['Message']
    assert env_id in message and 'last polled at' in message
    appconfig.update_account_settings(
        DeletionProtection={'Enabled': True, 'ProtectionPeriodInMinutes': 15}
    )
    with pytest.raises(appconfig.exceptions.BadRequestException):
        appconfig.delete_environment(ApplicationId=app_id, EnvironmentId=env_id)
    _polled(app_id, env_id, 20)  # outside the 15-minute period
    other = appconfig.create_environment(ApplicationId=app_id, Name='young')['Id']
    _polled(app_id, other, 1)  # but created less than an hour ago: not checked by default
    appconfig.delete_environment(ApplicationId=app_id, EnvironmentId=other)
    _polled(app_id, env_id, 1)
    appconfig.delete_environment(
        ApplicationId=app_id, EnvironmentId=env_id, DeletionProtectionCheck='BYPASS'
    )


@pytest.mark.parametrize(
    'params, field',
    [
        ({}, 'name'),
        ({'Name': ''}, 'name'),
        ({'Name': 'x' * 65}, 'name'),
        ({'Name': 5}, 'name'),
        ({'Name': 'ok', 'Description': 'd' * 1025}, 'description'),
        ({'Name': 'ok', 'Monitors': [{'AlarmArn': ALARM}] * 6}, 'monitors'),
        ({'Name': 'ok', 'Monitors': [{'AlarmRoleArn': ROLE}]}, 'alarmArn'),
        ({'Name': 'ok', 'Monitors': [{'AlarmArn': ''}]}, 'alarmArn'),
        ({'Name': 'ok', 'Monitors': [{'AlarmArn': 'a' * 2049}]}, 'alarmArn'),
        (
            {
                'Name': 'ok',
                'Monitors': [{'AlarmArn': ALARM, 'AlarmRoleArn': 'not-a-role-arn-at-all'}],
            },
            'alarmRoleArn',
        ),
        ({'Name': 'ok', 'Tags': {'k' * 129: 'v'}}, 'tags'),
        ({'Name': 'ok', 'Tags': {'k': 'v' * 257}}, 'tags'),
        ({'Name': 'ok', 'Tags': {f'k{i}': 'v' for i in range(51)}}, 'tags'),
        ({'Name': 'ok', 'Tags': {'aws:owner': 'me'}}, 'aws:'),
    ],
)
def test_create_validation(raw_appconfig, app_id, params, field):
    with pytest.raises(raw_appconfig.exceptions.BadRequestException) as err:
        raw_appconfig.create_environment(ApplicationId=app_id, **params)
    assert _status(err) == 400
    assert field in err.value.response['Error']['Message']
    assert raw_appconfig.list_environments(ApplicationId=app_id)['Items'] == []


@pytest.mark.parametrize(
    'params, field',
    [
        ({'Name': ''}, 'name'),
        ({'Description': 'd' * 1025}, 'description'),
        ({'Monitors': [{'AlarmArn': ALARM}] * 6}, 'monitors'),
        (
            {'Monitors': [{'AlarmArn': ALARM, 'AlarmRoleArn': 'arn:aws:iam::1:user/x'}]},
            'alarmRoleArn',
        ),
    ],
)
def test_update_validation(raw_appconfig, app_id, params, field):
    env_id = raw_appconfig.create_environment(ApplicationId=app_id, Name='prod')['Id']
    with pytest.raises(raw_appconfig.exceptions.BadRequestException) as err:
        raw_appconfig.update_environment(ApplicationId=app_id, EnvironmentId=env_id, **params)
    assert field in err.value.response['Error']['Message']
    assert (
        raw_appconfig.get_environment(ApplicationId=app_id, EnvironmentId=env_id)['Name'] == 'prod'
    )


def test_path_and_query_validation(raw_appconfig, app_id):
    with pytest.raises(raw_appconfig.exceptions.BadRequestException):
        raw_appconfig.get_environment(ApplicationId=app_id, EnvironmentId='e' * 65)
    with pytest.raises(raw_appconfig.exceptions.BadRequestException):
        raw_appconfig.delete_environment(
            ApplicationId=app_id, EnvironmentId='abc1234', DeletionProtectionCheck='SOMETIMES'
        )
    for bad in (0, 51):
        with pytest.raises(raw_appconfig.exceptions.BadRequestException):
            raw_appconfig.list_environments(ApplicationId=app_id, MaxResults=bad)
