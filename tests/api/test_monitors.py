"""CloudWatch alarm rollback (moto CloudWatch, IAM and STS in the same process as the server)."""

import json
from unittest import mock

import boto3
import pytest

from chalicelib import cache, roles
from chalicelib.engine import monitors
from chalicelib.store.delivery import Delivery
from chalicelib.store.delivery import key as delivery_key
from tests.api.deploying import World, later, log, tick_now


@pytest.fixture
def cloudwatch():
    return boto3.client('cloudwatch', region_name='us-east-1')


def alarm(cloudwatch, name, actions_enabled=True, region=None):
    client = cloudwatch if region is None else boto3.client('cloudwatch', region_name=region)
    client.put_metric_alarm(
        AlarmName=name,
        MetricName='Errors',
        Namespace='Shop',
        Statistic='Sum',
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator='GreaterThanOrEqualToThreshold',
        ActionsEnabled=actions_enabled,
    )
    return client.describe_alarms(AlarmNames=[name])['MetricAlarms'][0]['AlarmArn']


def set_state(cloudwatch, name, state):
    cloudwatch.set_alarm_state(AlarmName=name, StateValue=state, StateReason='test')


def rolled_back_by(d, alarm_arn):
    events = log(d)
    assert [(e[1], e[2]) for e in events[-2:]] == [
        ('ROLLBACK_STARTED', 'CLOUDWATCH_ALARM'),
        ('ROLLBACK_COMPLETED', 'CLOUDWATCH_ALARM'),
    ]
    assert alarm_arn in events[-2][3]
    return True


def test_alarm_rolls_back_while_deploying(appconfig, cloudwatch):
    arn = alarm(cloudwatch, 'errors')
    quiet = alarm(cloudwatch, 'latency')
    w = World(appconfig, monitors=[{'AlarmArn': quiet}, {'AlarmArn': arn}])
    w.start(w.strategy(25, 15))
    later(minutes=4)
    assert tick_now()['events'] == 1  # alarms OK: the deployment progresses
    set_state(cloudwatch, 'errors', 'ALARM')
    later(minutes=1)
    summary = tick_now()
    assert summary['rolled_back'] == 1
    d = w.get(1)
    assert (d['State'], d['PercentageComplete']) == ('ROLLED_BACK', 25.0)
    assert rolled_back_by(d, arn)
    assert w.environment_state() == 'RolledBack'
    assert Delivery.get(delivery_key(w.app, w.env, w.profile)).state == 'ROLLED_BACK'
    later(minutes=1)
    assert tick_now()['active'] == 0


def test_alarm_rolls_back_during_bake(appconfig, cloudwatch):
    arn = alarm(cloudwatch, 'errors')
    w = World(appconfig, monitors=[{'AlarmArn': arn}])
    w.start('AppConfig.AllAtOnce')
    later(minutes=3)
    tick_now()
    assert w.get(1)['State'] == 'BAKING'
    set_state(cloudwatch, 'errors', 'ALARM')
    later(minutes=1)
    tick_now()
    d = w.get(1)
    assert d['State'] == 'ROLLED_BACK' and rolled_back_by(d, arn)
    assert [e[1] for e in log(d)] == [
        'DEPLOYMENT_STARTED',
        'PERCENTAGE_UPDATED',
        'BAKE_TIME_STARTED',
        'ROLLBACK_STARTED',
        'ROLLBACK_COMPLETED',
    ]


def test_insufficient_data_rolls_back(appconfig, cloudwatch):
    arn = alarm(cloudwatch, 'errors')
    set_state(cloudwatch, 'errors', 'INSUFFICIENT_DATA')
    w = World(appconfig, monitors=[{'AlarmArn': arn}])
    w.start('AppConfig.Canary10Percent20Minutes')
    tick_now()
    assert w.get(1)['State'] == 'ROLLED_BACK'


def test_alarms_with_actions_disabled_are_ignored(appconfig, cloudwatch):
    arn = alarm(cloudwatch, 'muted', actions_enabled=False)
    set_state(cloudwatch, 'muted', 'ALARM')
    w = World(appconfig, monitors=[{'AlarmArn': arn}])
    w.start('AppConfig.Linear50PercentEvery30Seconds')
    for _ in range(4):
        later(seconds=30)
        tick_now()
    assert w.get(1)['State'] == 'COMPLETE'


def test_alarm_after_complete_changes_nothing(appconfig, cloudwatch):
    arn = alarm(cloudwatch, 'errors')
    w = World(appconfig, monitors=[{'AlarmArn': arn}])
    w.start('AppConfig.AllAtOnce')
    later(minutes=10)
    set_state(cloudwatch, 'errors', 'ALARM')
    tick_now()
    assert w.get(1)['State'] == 'COMPLETE'
    assert w.environment_state() == 'ReadyForDeployment'


def test_alarm_in_another_region_and_missing_alarms(appconfig, cloudwatch):
    arn = alarm(cloudwatch, 'far', region='eu-west-1')
    missing = arn.replace('far', 'gone')
    w = World(appconfig, monitors=[{'AlarmArn': missing}, {'AlarmArn': arn}])
    w.start('AppConfig.Canary10Percent20Minutes')
    tick_now()
    assert w.get(1)['State'] == 'DEPLOYING'  # a missing alarm does not roll back
    boto3.client('cloudwatch', region_name='eu-west-1').set_alarm_state(
        AlarmName='far', StateValue='ALARM', StateReason='test'
    )
    tick_now()
    assert rolled_back_by(w.get(1), arn)


def test_alarm_role_is_assumed(appconfig, cloudwatch):
    iam = boto3.client('iam', region_name='us-east-1')
    role = iam.create_role(
        RoleName='appconfig-monitor',
        AssumeRolePolicyDocument=json.dumps(
            {
                'Version': '2012-10-17',
                'Statement': [
                    {
                        'Effect': 'Allow',
                        'Principal': {'Service': 'appconfig.amazonaws.com'},
                        'Action': 'sts:AssumeRole',
                    }
                ],
            }
        ),
    )['Role']['Arn']
    arn = alarm(cloudwatch, 'errors')
    w = World(appconfig, monitors=[{'AlarmArn': arn, 'AlarmRoleArn': role}])
    w.start('AppConfig.Canary10Percent20Minutes')
    cache.reset()
    with mock.patch.object(roles, 'credentials', wraps=roles.credentials) as assumed:
        tick_now()
        set_state(cloudwatch, 'errors', 'ALARM')
        tick_now()
    assert [c.args[0] for c in assumed.call_args_list] == [role, role]
    assert rolled_back_by(w.get(1), arn)


def test_monitor_errors_never_roll_back(appconfig, cloudwatch):
    arn = alarm(cloudwatch, 'errors')
    set_state(cloudwatch, 'errors', 'ALARM')
    w = World(appconfig, monitors=[{'AlarmArn': arn}])
    w.start('AppConfig.Canary10Percent20Minutes')
    broken = mock.Mock(side_effect=RuntimeError('access denied'))
    with mock.patch.object(monitors.Clients, 'cloudwatch', broken):
        assert tick_now()['rolled_back'] == 0
    assert w.get(1)['State'] == 'DEPLOYING'
    tick_now()
    assert w.get(1)['State'] == 'ROLLED_BACK'
