"""The clock control over HTTP (/_appconfig/clock on the server's port), with real boto3
clients: time stands still until a test moves it, and moving it runs the engine at every
instant that passes, as the ticker would have in real time."""

import http.client
import json
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import urlparse

import boto3
import pytest

from chalicelib import clock
from chalicelib.engine import events as bus
from chalicelib.store.deployments import Deployment, env_key
from chalicelib.store.environments import Environment
from local.clock_client import Clock, ClockError
from tests.api import polling
from tests.api.deploying import World, log, minutes
from tests.api.test_extension_actions import fake_lambda  # noqa: F401 - fixture

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def control(endpoint):
    clock.freeze(T0)
    return Clock(endpoint)


def raw(endpoint, method, body=None, path='/_appconfig/clock'):
    conn = http.client.HTTPConnection(
        urlparse(endpoint).hostname, urlparse(endpoint).port, timeout=30
    )
    conn.request(method, path, body=body, headers={'Content-Type': 'application/json'})
    response = conn.getresponse()
    payload = response.read()
    conn.close()
    return response.status, dict(response.getheaders()), payload


def at(offset):
    return (T0 + offset).isoformat().replace('+00:00', 'Z')


# --- the control API ------------------------------------------------------------------------


def test_get_and_every_move(control, endpoint):
    assert control.get() == {'now': '2026-12-01T12:00:00Z', 'mode': 'manual', 'speed': 0}
    assert control.advance('90s')['now'] == '2026-12-01T12:01:30Z'
    assert control.advance('1h30m')['now'] == '2026-12-01T13:31:30Z'
    assert control.advance('2h')['now'] == '2026-12-01T15:31:30Z'
    assert control.advance('1d')['now'] == '2026-12-02T15:31:30Z'
    assert control.advance(30)['now'] == '2026-12-02T15:32:00Z'
    assert control.set('2026-12-03T00:00:00Z') == {
        'now': '2026-12-03T00:00:00Z',
        'mode': 'manual',
        'speed': 0,
    }
    # Offsets are instants too; naive instants are UTC.
    assert control.set('2026-12-03T01:00:00+01:00')['now'] == '2026-12-03T00:00:00Z'
    assert control.set('2026-12-03T00:05:00')['now'] == '2026-12-03T00:05:00Z'
    assert clock.now() == datetime(2026, 12, 3, 0, 5, tzinfo=UTC)

    resumed = control.resume(speed=60)
    assert (resumed['mode'], resumed['speed']) == ('real', 60)
    assert clock.now() >= datetime(2026, 12, 3, 0, 5, tzinfo=UTC)
    paused = control.pause()
    assert (paused['mode'], paused['speed']) == ('manual', 0)
    assert control.get() == paused and clock.now() == control.now()
    # A resume without a speed continues at the last one.
    assert control.resume()['speed'] == 60
    control.pause()


def test_the_clock_never_moves_backwards(control):
    control.advance('1h')
    with pytest.raises(ClockError) as err:
        control.set('2026-12-01T12:30:00Z')
    assert err.value.status == 409
    assert '2026-12-01T13:00:00Z' in err.value.message
    assert control.get()['now'] == '2026-12-01T13:00:00Z'
    assert control.set('2026-12-01T13:00:00Z')['now'] == '2026-12-01T13:00:00Z'  # no-op


@pytest.mark.parametrize(
    'body',
    [
        b'',
        b'not json',
        b'[1]',
        b'{}',
        b'{"advance": "15x"}',
        b'{"advance": "-5m"}',
        b'{"advance": -5}',
        b'{"advance": true}',
        b'{"advance": "9999d"}',
        b'{"set": "tomorrow"}',
        b'{"set": 5}',
        b'{"pause": false}',
        b'{"resume": true, "speed": 0}',
        b'{"resume": true, "speed": "fast"}',
        b'{"pause": true, "speed": 2}',
        b'{"advance": "1m", "pause": true}',
        b'{"rewind": "1m"}',
        b'[' * 100000,
    ],
)
def test_a_bad_body_is_a_400_in_json(control, endpoint, body):
    status, headers, payload = raw(endpoint, 'POST', body)
    assert status == 400, payload
    assert headers['Content-Type'] == 'application/json'
    assert json.loads(payload)['message']
    assert control.get()['now'] == '2026-12-01T12:00:00Z'


def test_other_methods_and_paths(control, endpoint):
    status, headers, payload = raw(endpoint, 'DELETE')
    assert (status, headers['Allow']) == (405, 'GET, POST')
    assert 'GET or POST' in json.loads(payload)['message']
    status, _, payload = raw(endpoint, 'GET', path='/_appconfig/clock/extra')
    assert status == 404 and json.loads(payload)['message']
    # Paths that only share the prefix's letters are the AWS API's (an unknown operation).
    status, headers, _ = raw(endpoint, 'GET', path='/_appconfig/clockwork')
    assert (status, headers['x-amzn-ErrorType']) == (404, 'UnknownOperationException')


def test_in_process_calls(control):
    from local import clockctl

    assert clockctl.describe()['now'] == '2026-12-01T12:00:00Z'
    assert clockctl.apply({'advance': '15m'})['now'] == '2026-12-01T12:15:00Z'
    with pytest.raises(clockctl.ClockError) as err:
        clockctl.apply({'set': '2026-01-01T00:00:00Z'})
    assert err.value.status == 409
    with pytest.raises(clockctl.ClockError) as err:
        clockctl.apply({'advance': 'soon'})
    assert err.value.status == 400


# --- the engine at every instant that passes ------------------------------------------------


@pytest.fixture
def published(monkeypatch):
    """Every event the engine publishes, with the clock's reading at the moment it did."""
    seen = []
    monkeypatch.setenv('APPCONFIG_EVENT_BUS', 'default')
    monkeypatch.setattr(
        bus,
        'publish',
        lambda details: seen.extend(
            (d['EventType'], d['PercentageComplete'], d['OccurredAt'], clock.iso(clock.now()))
            for d in details
        ),
    )
    return seen


def stored(w, number=1):
    item = Deployment.get(env_key(w.app, w.env), number, consistent_read=True)
    return item.state, int(item.steps_written), len(item.events)


def test_linear_20_percent_over_30_minutes_advanced_in_steps(control, appconfig, published):
    w = World(appconfig)
    w.start(w.strategy(20, 30, 0))
    # LINEAR 20 % over 30 minutes: 5 steps at 30/(5+1) = 5-minute intervals, bake at 30.
    expected = (
        [(minutes(0), 'DEPLOYMENT_STARTED', 'USER', 'Deployment started')]
        + [
            (
                minutes(5 * k),
                'PERCENTAGE_UPDATED',
                'APPCONFIG',
                f'Configuration available to {20 * k}.00% of clients',
            )
            for k in range(1, 6)
        ]
        + [
            (minutes(30), 'BAKE_TIME_STARTED', 'APPCONFIG', 'Deployment bake time started'),
            (minutes(30), 'DEPLOYMENT_COMPLETED', 'APPCONFIG', 'Deployment completed'),
        ]
    )
    # (advance, events in the log, percentage, state) after each step of the test.
    plan = [
        ('4m', 1, 0.0, 'DEPLOYING'),
        ('1m', 2, 20.0, 'DEPLOYING'),
        ('8m', 3, 40.0, 'DEPLOYING'),
        ('15m', 6, 100.0, 'DEPLOYING'),
        ('1m59s', 6, 100.0, 'DEPLOYING'),
        ('1s', 8, 100.0, 'COMPLETE'),
        ('1h', 8, 100.0, 'COMPLETE'),
    ]
    for step, count, percentage, state in plan:
        control.advance(step)
        d = w.get(1)
        assert log(d) == expected[:count], step
        assert (d['PercentageComplete'], d['State']) == (percentage, state), step
        # Written by the engine, not only worked out by the reader.
        assert stored(w) == (state, count - 1, count), step
    assert w.environment_state() == 'ReadyForDeployment'
    assert Environment.get(w.app, w.env).active_deployment is None
    # Every event was published once, while the clock stood at the instant it happened.
    assert published == [
        (kind, pct, at(offset), at(offset))
        for (offset, kind, _, _), pct in zip(
            expected, [0.0, 20.0, 40.0, 60.0, 80.0, 100.0, 100.0, 100.0], strict=True
        )
    ]


def test_an_alarm_in_alarm_rolls_back_at_the_first_instant_it_is_checked(control, appconfig):
    cloudwatch = boto3.client('cloudwatch', region_name='us-east-1')
    cloudwatch.put_metric_alarm(
        AlarmName='errors',
        MetricName='Errors',
        Namespace='Shop',
        Statistic='Sum',
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator='GreaterThanOrEqualToThreshold',
    )
    arn = cloudwatch.describe_alarms(AlarmNames=['errors'])['MetricAlarms'][0]['AlarmArn']
    w = World(appconfig, monitors=[{'AlarmArn': arn}])
    w.start(w.strategy(20, 30, 0))
    control.advance('4m30s')  # checked at every whole minute: all OK
    assert w.get(1)['State'] == 'DEPLOYING'
    cloudwatch.set_alarm_state(AlarmName='errors', StateValue='ALARM', StateReason='test')
    assert w.get(1)['State'] == 'DEPLOYING'  # time stands still: nobody looked yet
    control.advance('15m')
    d = w.get(1)
    # The first check after the alarm went off is at minute 5, where the first step is due
    # too: the step is written, then the rollback, all at that instant.
    assert (d['State'], d['PercentageComplete']) == ('ROLLED_BACK', 20.0)
    assert [(e[0], e[1], e[2]) for e in log(d)] == [
        (minutes(0), 'DEPLOYMENT_STARTED', 'USER'),
        (minutes(5), 'PERCENTAGE_UPDATED', 'APPCONFIG'),
        (minutes(5), 'ROLLBACK_STARTED', 'CLOUDWATCH_ALARM'),
        (minutes(5), 'ROLLBACK_COMPLETED', 'CLOUDWATCH_ALARM'),
    ]
    assert arn in log(d)[2][3]
    assert w.environment_state() == 'RolledBack'


def test_a_session_token_expires_after_24_hours(control, appconfig, appconfigdata):
    world = polling.make_world(appconfig)
    world.deploy(b'{"v": 1}')
    token = polling.start(appconfigdata, world)
    answer, body = polling.poll(appconfigdata, token)
    assert body == b'{"v": 1}'
    control.advance('23h59m')  # a token lives 24 hours from its issue
    answer, _ = polling.poll(appconfigdata, answer['NextPollConfigurationToken'])
    control.advance('1d')
    with pytest.raises(appconfigdata.exceptions.BadRequestException) as err:
        polling.poll(appconfigdata, answer['NextPollConfigurationToken'])
    assert polling.problem(err) == 'Expired'


def test_the_minimum_poll_interval_follows_the_clock(control, appconfig, appconfigdata):
    world = polling.make_world(appconfig)
    world.deploy(b'{"v": 1}')
    answer, _ = polling.poll(
        appconfigdata, polling.start(appconfigdata, world, RequiredMinimumPollIntervalInSeconds=60)
    )
    control.advance('30s')
    with pytest.raises(appconfigdata.exceptions.BadRequestException):
        polling.poll(appconfigdata, answer['NextPollConfigurationToken'])
    control.advance('30s')
    polling.poll(appconfigdata, answer['NextPollConfigurationToken'])


def test_a_revert_is_refused_after_72_hours(control, appconfig):
    late, in_time = World(appconfig), World(appconfig)
    for w in (late, in_time):
        w.start('AppConfig.AllAtOnce')  # 100 % at once, then a 10-minute bake
    control.advance('10m')
    assert late.get(1)['State'] == 'COMPLETE'
    control.advance('72h')  # exactly 72 hours after completing: still in
    assert in_time.stop(1, allow_revert=True)
    assert in_time.get(1)['State'] == 'REVERTED'
    control.advance('1s')
    with pytest.raises(appconfig.exceptions.BadRequestException) as err:
        late.stop(1, allow_revert=True)
    assert 'no longer be reverted' in str(err.value)
    assert late.get(1)['State'] == 'COMPLETE'


def test_the_deletion_protection_window_follows_the_clock(control, appconfig, appconfigdata):
    appconfig.update_account_settings(
        DeletionProtection={'Enabled': True, 'ProtectionPeriodInMinutes': 15}
    )
    world = polling.make_world(appconfig)
    world.deploy(b'{"v": 1}')
    control.advance('2h')  # past the grace period of a new resource
    polling.poll(appconfigdata, polling.start(appconfigdata, world))
    with pytest.raises(appconfig.exceptions.BadRequestException):
        appconfig.delete_environment(ApplicationId=world.app, EnvironmentId=world.env)
    control.advance('16m')
    appconfig.delete_environment(ApplicationId=world.app, EnvironmentId=world.env)


def test_resources_are_stamped_with_the_clock(control, appconfig):
    control.set('2027-03-04T05:06:07Z')
    w = World(appconfig)
    w.start(w.strategy(50, 10))
    assert w.get(1)['StartedAt'] == datetime(2027, 3, 4, 5, 6, 7, tzinfo=UTC)
    control.advance('10m')
    assert w.get(1)['CompletedAt'] == datetime(2027, 3, 4, 5, 16, 7, tzinfo=UTC)


def test_advancing_with_nothing_in_progress_costs_one_query(control, appconfig):
    from chalicelib.store.tables import clients
    from tests.api.test_tick import DynamoCalls

    calls = DynamoCalls(clients())
    try:
        control.advance('1d')
        assert calls.take() == ['Query']
    finally:
        calls.close()


def test_one_move_writes_what_a_ticker_each_minute_writes(control, appconfig):
    from chalicelib.engine import tick

    by_ticker = World(appconfig)
    strategy = by_ticker.strategy(10, 20, 7, 'EXPONENTIAL')
    by_ticker.start(strategy)
    for _ in range(30):
        clock.advance(minutes=1)
        tick.run(now=clock.now())
    by_move = World(appconfig)
    by_move.start(strategy)
    control.advance('30m')
    assert log(by_move.get(1)) == log(by_ticker.get(1))
    assert stored(by_move) == stored(by_ticker) == ('COMPLETE', 7, 8)
    assert by_move.environment_state() == 'ReadyForDeployment'


def test_tick_actions_are_called_at_every_tick_instant_a_move_passes(
    control, appconfig, fake_lambda
):
    from tests.api.test_extension_actions import FUNCTION, associate, lambda_extension

    w = World(appconfig)
    lambda_extension(appconfig, 'AT_DEPLOYMENT_TICK', name='watchdog')
    associate(appconfig, w, 'watchdog')
    asked = []

    def verdict(event):
        asked.append((clock.now() - T0, event['DeploymentState'], event['PercentageComplete']))
        # The monitor goes bad 3 minutes in.
        return {
            'Directive': 'ROLL_BACK' if clock.now() - T0 >= minutes(3) else 'CONTINUE',
            'Description': 'p99 above 2 s',
        }

    fake_lambda.answers[FUNCTION] = verdict
    # 50 % over 5 minutes: steps at 1m40s and 3m20s. Ticks at every whole minute.
    w.start(w.strategy(50, 5))
    control.advance('2m30s')
    assert asked == [
        (minutes(1), 'DEPLOYING', 0.0),
        (minutes(1, 40), 'DEPLOYING', 50.0),
        (minutes(2), 'DEPLOYING', 50.0),
    ]
    control.advance('1h')
    assert asked[3:] == [(minutes(3), 'DEPLOYING', 50.0)]  # rolled back there
    d = w.get(1)
    assert d['State'] == 'ROLLED_BACK'
    assert [(e[0], e[1]) for e in log(d)][-2:] == [
        (minutes(3), 'ROLLBACK_STARTED'),
        (minutes(3), 'ROLLBACK_COMPLETED'),
    ]
    assert 'p99 above 2 s' in log(d)[-2][3]
