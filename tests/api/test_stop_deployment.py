"""StopDeployment: rollback while DEPLOYING or BAKING, revert of a COMPLETE deployment with
Allow-Revert within 72 hours, and the AWS CLI's stop-deployment end to end."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from chalicelib.store.delivery import Delivery
from chalicelib.store.delivery import key as delivery_key
from chalicelib.store.deployments import ACTIVE, Deployment
from tests.api.deploying import World, later, log, minutes, tick_now
from tests.cli import aws_cli

ACCOUNT = '123456789012'


def strip(response):
    return {k: v for k, v in response.items() if k != 'ResponseMetadata'}


def rollback_tail(d):
    return [(e[1], e[2]) for e in log(d)[-2:]]


def test_stop_while_deploying(appconfig):
    w = World(appconfig)
    w.start(w.strategy(25, 15))
    later(minutes=7)
    stopped = w.stop(1)
    assert stopped['ResponseMetadata']['HTTPStatusCode'] == 202
    # The full Deployment comes back.
    assert (stopped['DeploymentNumber'], stopped['State'], stopped['PercentageComplete']) == (
        1,
        'ROLLED_BACK',
        50.0,
    )
    assert stopped['ApplicationId'] == w.app and stopped['ConfigurationProfileId'] == w.profile
    assert stopped['CompletedAt'] == stopped['StartedAt'] + minutes(7)
    assert [(e[0], e[1]) for e in log(stopped)] == [
        (minutes(0), 'DEPLOYMENT_STARTED'),
        (minutes(3), 'PERCENTAGE_UPDATED'),
        (minutes(6), 'PERCENTAGE_UPDATED'),
        (minutes(7), 'ROLLBACK_STARTED'),
        (minutes(7), 'ROLLBACK_COMPLETED'),
    ]
    assert rollback_tail(stopped) == [('ROLLBACK_STARTED', 'USER'), ('ROLLBACK_COMPLETED', 'USER')]
    assert all(ACCOUNT in e[3] for e in log(stopped)[-2:])
    assert stopped['EventLog'][0]['EventType'] == 'ROLLBACK_COMPLETED'
    assert w.environment_state() == 'RolledBack'
    assert Delivery.get(delivery_key(w.app, w.env, w.profile)).state == 'ROLLED_BACK'
    assert list(Deployment.active_index.query(ACTIVE)) == []
    # Nothing moves afterwards: not the reads, not the tick.
    later(minutes=30)
    assert tick_now()['active'] == 0
    assert strip(w.get(1)) == strip(stopped)
    # And the environment takes a new deployment.
    assert w.start('AppConfig.AllAtOnce')['DeploymentNumber'] == 2


def test_stop_while_baking(appconfig):
    w = World(appconfig)
    w.start('AppConfig.Linear50PercentEvery30Seconds')
    later(seconds=70)
    assert w.get(1)['State'] == 'BAKING'
    tick_now()
    stopped = w.stop(1)
    assert (stopped['State'], stopped['PercentageComplete']) == ('ROLLED_BACK', 100.0)
    assert [e[1] for e in log(stopped)] == [
        'DEPLOYMENT_STARTED',
        'PERCENTAGE_UPDATED',
        'PERCENTAGE_UPDATED',
        'BAKE_TIME_STARTED',
        'ROLLBACK_STARTED',
        'ROLLBACK_COMPLETED',
    ]
    assert w.environment_state() == 'RolledBack'


def test_stop_with_allow_revert_while_in_progress_rolls_back(appconfig):
    w = World(appconfig)
    w.start('AppConfig.AllAtOnce')
    assert w.stop(1, allow_revert=True)['State'] == 'ROLLED_BACK'


def test_stop_complete_needs_allow_revert(appconfig):
    w = World(appconfig)
    w.start('AppConfig.AllAtOnce')
    later(minutes=10)
    with pytest.raises(appconfig.exceptions.BadRequestException) as err:
        w.stop(1)
    assert 'Allow-Revert' in err.value.response['Error']['Message']
    with pytest.raises(appconfig.exceptions.BadRequestException):
        w.stop(1, allow_revert=False)
    # Refusals change nothing (the tick has not even run: it was COMPLETE by the clock).
    assert w.get(1)['State'] == 'COMPLETE'
    tick_now()
    assert w.get(1)['State'] == 'COMPLETE' and w.environment_state() == 'ReadyForDeployment'


@pytest.mark.parametrize('with_tick', [True, False], ids=['ticked', 'clock-only'])
def test_revert_within_72_hours(appconfig, with_tick):
    w = World(appconfig)
    key = delivery_key(w.app, w.env, w.profile)
    w.start('AppConfig.AllAtOnce', version=w.version({'v': 1}))
    later(minutes=10)
    tick_now()
    w.start('AppConfig.AllAtOnce', version=w.version({'v': 2}))
    later(minutes=10)
    if with_tick:
        tick_now()
    later(hours=71, minutes=59)
    reverted = w.stop(2, allow_revert=True)
    assert reverted['ResponseMetadata']['HTTPStatusCode'] == 202
    assert reverted['State'] == 'REVERTED'
    assert reverted['CompletedAt'] == reverted['StartedAt'] + minutes(10)
    events = log(reverted)
    assert [e[1] for e in events][-2:] == ['DEPLOYMENT_COMPLETED', 'REVERT_COMPLETED']
    assert events[-1][2] == 'USER' and ACCOUNT in events[-1][3]
    assert w.environment_state() == 'Reverted'
    delivery = Delivery.get(key)
    assert delivery.state == 'REVERTED' and delivery.previous['VersionNumber'] == '1'
    assert list(Deployment.active_index.query(ACTIVE)) == []
    with pytest.raises(appconfig.exceptions.BadRequestException):
        w.stop(2, allow_revert=True)
    # A reverted environment takes the next deployment.
    assert w.start('AppConfig.AllAtOnce')['DeploymentNumber'] == 3


def test_revert_after_72_hours_is_refused(appconfig):
    w = World(appconfig)
    w.start('AppConfig.AllAtOnce')
    later(minutes=10)
    tick_now()
    later(hours=72, seconds=1)
    with pytest.raises(appconfig.exceptions.BadRequestException) as err:
        w.stop(1, allow_revert=True)
    assert '72 hours' in err.value.response['Error']['Message']
    assert w.get(1)['State'] == 'COMPLETE'
    assert w.environment_state() == 'ReadyForDeployment'


def test_stop_unknown_deployment(appconfig):
    w = World(appconfig)
    with pytest.raises(appconfig.exceptions.ResourceNotFoundException) as err:
        w.stop(4)
    assert err.value.response['ResponseMetadata']['HTTPStatusCode'] == 404


def test_stop_twice(appconfig):
    w = World(appconfig)
    w.start('AppConfig.AllAtOnce')
    w.stop(1)
    with pytest.raises(appconfig.exceptions.BadRequestException):
        w.stop(1)
    assert len(w.get(1)['EventLog']) == 5


def test_a_stale_tick_after_a_stop_writes_nothing(appconfig):
    w = World(appconfig)
    w.start(w.strategy(25, 15))
    later(minutes=4)
    stale = list(Deployment.active_index.query(ACTIVE))  # what a slow tick read
    stopped = w.stop(1)
    from chalicelib.engine import tick

    later(minutes=20)
    assert tick.advance(stale[0], w.get(1)['StartedAt'] + minutes(20)) == ('lost_races', 0)
    assert log(w.get(1)) == log(stopped)
    assert w.environment_state() == 'RolledBack'


def test_aws_cli_stop_deployment(appconfig, endpoint, tmp_path):
    w = World(appconfig)
    w.start(w.strategy(25, 15))
    later(minutes=4)
    aws = aws_cli('appconfig', endpoint, tmp_path)
    stop = (
        'stop-deployment',
        '--application-id',
        w.app,
        '--environment-id',
        w.env,
        '--deployment-number',
        '1',
    )
    out = aws(*stop)
    assert (out['ApplicationId'], out['EnvironmentId'], out['DeploymentNumber']) == (
        w.app,
        w.env,
        1,
    )
    assert (out['State'], out['PercentageComplete'], out['GrowthFactor']) == (
        'ROLLED_BACK',
        25.0,
        25.0,
    )
    assert [e['EventType'] for e in out['EventLog']][:2] == [
        'ROLLBACK_COMPLETED',
        'ROLLBACK_STARTED',
    ]
    assert out['EventLog'][0]['TriggeredBy'] == 'USER'
    assert w.environment_state() == 'RolledBack'
    # A second stop through the CLI: the service's BadRequestException, exit status 254.
    again = aws(*stop, check=False)
    assert again.returncode != 0 and 'BadRequestException' in again.stderr
