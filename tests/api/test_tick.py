"""The tick: idempotent, finds work through the active index only, publishes to EventBridge."""

import json
from datetime import timedelta

import boto3
import pytest

from chalicelib import clock
from chalicelib.engine import tick
from chalicelib.engine.extensions import bindings
from chalicelib.store.deployments import ACTIVE, Deployment
from chalicelib.store.environments import Environment
from tests.api.deploying import World, later, log, tick_now


class DynamoCalls:
    """DynamoDB operations as they go on the wire (one per HTTP request, retries included)."""

    def __init__(self, clients):
        self.operations = []
        self.clients = {id(client): client for client in clients}
        for client in self.clients.values():
            client.meta.events.register(
                'request-created.dynamodb', self._record, unique_id='count-dynamodb-calls'
            )

    def close(self):
        # The store's clients outlive the test.
        for client in self.clients.values():
            client.meta.events.unregister(
                'request-created.dynamodb', unique_id='count-dynamodb-calls'
            )

    def _record(self, request, operation_name, **_):
        self.operations.append(operation_name)

    def take(self):
        out, self.operations = self.operations, []
        return out


def test_two_ticks_at_the_same_instant_write_each_event_once(appconfig):
    w = World(appconfig)
    w.start(w.strategy(25, 15, 5))
    later(minutes=10)
    first, second = tick_now(), tick_now()
    assert (first['events'], second['events']) == (3, 0)
    later(minutes=10)
    first, second = tick_now(), tick_now()
    assert (first['events'], first['completed'], second['active']) == (3, 1, 0)
    kinds = [e[1] for e in log(w.get(1))]
    assert kinds == ['DEPLOYMENT_STARTED'] + ['PERCENTAGE_UPDATED'] * 4 + [
        'BAKE_TIME_STARTED',
        'DEPLOYMENT_COMPLETED',
    ]


def test_overlapping_ticks_never_duplicate(appconfig):
    """Two tickers that read the index at the same moment: one writes, the other's
    conditional writes fail and it writes nothing."""
    w = World(appconfig)
    w.start(w.strategy(25, 15))
    later(minutes=7)
    now = clock.now()
    seen_by_a = list(Deployment.active_index.query(ACTIVE))
    seen_by_b = list(Deployment.active_index.query(ACTIVE))
    assert tick.advance(seen_by_a[0], now) == ('progressed', 2)
    assert tick.advance(seen_by_b[0], now) == ('lost_races', 0)
    # Completion too: exactly one winner, and the environment is freed once.
    later(minutes=10)
    now = clock.now()
    seen_by_a = list(Deployment.active_index.query(ACTIVE))
    seen_by_b = list(Deployment.active_index.query(ACTIVE))
    assert tick.advance(seen_by_a[0], now) == ('completed', 4)
    assert tick.advance(seen_by_b[0], now) == ('lost_races', 0)
    assert len(w.get(1)['EventLog']) == 7
    env = Environment.get(w.app, w.env)
    assert (env.state, env.active_deployment, env.latest_deployment) == (
        'ReadyForDeployment',
        None,
        1,
    )


def test_replaying_an_earlier_instant_writes_nothing(appconfig):
    w = World(appconfig)
    w.start(w.strategy(25, 15))
    later(minutes=10)
    tick_now()
    assert tick.run(now=clock.now() - timedelta(minutes=5))['events'] == 0
    assert len(w.get(1)['EventLog']) == 4


@pytest.fixture
def dynamo_calls():
    from chalicelib.store.tables import clients

    calls = DynamoCalls(clients())
    yield calls
    calls.close()


def test_the_tick_queries_the_active_index_only(appconfig, dynamo_calls, monkeypatch):
    calls = dynamo_calls
    # Which associations apply is cached for seconds of real time; on a loaded machine the
    # ticks below can be further apart than that. Stop that cache's timer so the counts
    # below depend on the tick's work only.
    for ttl_cache in (bindings._bindings, bindings._names):
        monkeypatch.setattr(ttl_cache, 'timer', lambda: 0.0)
    w = World(appconfig)
    strategy = w.strategy(100, 0, 0)
    for _ in range(3):  # finished history
        w.start(strategy)
    calls.take()
    summary = tick_now()
    assert summary['active'] == 0 and calls.take() == ['Query']
    w.start('AppConfig.Canary10Percent20Minutes')
    calls.take()
    assert tick_now()['active'] == 1 and calls.take() == ['Query']  # nothing due
    later(minutes=4)
    assert tick_now()['events'] == 1 and calls.take() == ['Query', 'UpdateItem']
    later(minutes=30)
    assert tick_now()['completed'] == 1
    assert calls.take() == ['Query', 'TransactWriteItems']
    assert tick_now()['active'] == 0


def test_run_summary_and_the_scheduled_function(appconfig):
    import app

    w = World(appconfig)
    w.start('AppConfig.AllAtOnce')
    later(minutes=10)
    summary = app.tick(
        {
            'version': '0',
            'id': 'e1',
            'account': '123456789012',
            'region': 'us-east-1',
            'detail-type': 'Scheduled Event',
            'source': 'aws.events',
            'time': '2026-01-01T00:00:00Z',
            'resources': [],
            'detail': {},
        },
        None,
    )
    assert {
        k: summary[k]
        for k in ('active', 'events', 'completed', 'rolled_back', 'lost_races', 'errors')
    } == {'active': 1, 'events': 1, 'completed': 1, 'rolled_back': 0, 'lost_races': 0, 'errors': 0}
    assert summary['seconds'] >= 0
    assert w.environment_state() == 'ReadyForDeployment'


def test_a_broken_deployment_does_not_stop_the_others(appconfig, monkeypatch):
    w = World(appconfig)
    w.start(w.strategy(50, 2))
    other = World(appconfig)
    other.start(other.strategy(50, 2))
    later(minutes=5)
    real = tick.settle
    calls = []

    def flaky(item, now, clients=None, check_alarms=True):
        calls.append(item.env_key)
        if len(calls) == 1:
            raise RuntimeError('boom')
        return real(item, now, clients, check_alarms)

    monkeypatch.setattr(tick, 'settle', flaky)
    summary = tick.run()
    assert (summary['errors'], summary['completed']) == (1, 1)
    monkeypatch.setattr(tick, 'settle', real)
    assert tick.run()['completed'] == 1


@pytest.fixture
def event_queue(monkeypatch):
    events = boto3.client('events', region_name='us-east-1')
    sqs = boto3.client('sqs', region_name='us-east-1')
    events.create_event_bus(Name='appconfig-local')
    queue = sqs.create_queue(QueueName='deployment-events')['QueueUrl']
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=['QueueArn'])['Attributes'][
        'QueueArn'
    ]
    events.put_rule(
        Name='all',
        EventBusName='appconfig-local',
        EventPattern=json.dumps({'source': ['appconfig.local']}),
    )
    events.put_targets(
        Rule='all', EventBusName='appconfig-local', Targets=[{'Id': 'q', 'Arn': queue_arn}]
    )
    monkeypatch.setenv('APPCONFIG_EVENT_BUS', 'appconfig-local')

    def drain():
        got = []
        while True:
            batch = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get('Messages')
            if not batch:
                return got
            for m in batch:
                got.append(json.loads(m['Body']))
                sqs.delete_message(QueueUrl=queue, ReceiptHandle=m['ReceiptHandle'])

    return drain


def test_events_are_published_to_eventbridge_once(appconfig, event_queue):
    w = World(appconfig)
    w.start(w.strategy(50, 3))
    later(minutes=3)
    tick_now()
    tick_now()
    got = event_queue()
    assert [(e['source'], e['detail-type']) for e in got] == [
        ('appconfig.local', 'AppConfig Deployment Event')
    ] * 5
    details = [e['detail'] for e in got]
    assert [(d['EventType'], d['PercentageComplete']) for d in details] == [
        ('DEPLOYMENT_STARTED', 0.0),
        ('PERCENTAGE_UPDATED', 50.0),
        ('PERCENTAGE_UPDATED', 100.0),
        ('BAKE_TIME_STARTED', 100.0),
        ('DEPLOYMENT_COMPLETED', 100.0),
    ]
    first = details[0]
    assert (
        first['ApplicationId'],
        first['EnvironmentId'],
        first['ConfigurationProfileId'],
        first['DeploymentNumber'],
        first['ConfigurationVersion'],
    ) == (w.app, w.env, w.profile, 1, '1')
    assert first['TriggeredBy'] == 'USER' and details[1]['TriggeredBy'] == 'APPCONFIG'
    assert details[-1]['State'] == 'COMPLETE'
    # A stop publishes its rollback events.
    w.start('AppConfig.Canary10Percent20Minutes')
    w.stop(2)
    assert [e['detail']['EventType'] for e in event_queue()] == [
        'DEPLOYMENT_STARTED',
        'ROLLBACK_STARTED',
        'ROLLBACK_COMPLETED',
    ]


def test_event_source_is_configurable(appconfig, event_queue, monkeypatch):
    monkeypatch.setenv('APPCONFIG_EVENT_SOURCE', 'my.appconfig')
    events = boto3.client('events', region_name='us-east-1')
    events.put_rule(
        Name='all',
        EventBusName='appconfig-local',
        EventPattern=json.dumps({'source': ['my.appconfig']}),
    )
    w = World(appconfig)
    w.start('AppConfig.AllAtOnce')
    assert {e['source'] for e in event_queue()} == {'my.appconfig'}


def test_publishing_failures_do_not_undo_writes(appconfig, monkeypatch):
    monkeypatch.setenv('APPCONFIG_EVENT_BUS', 'no-such-bus')
    w = World(appconfig)
    w.start(w.strategy(50, 3))
    later(minutes=3)
    assert tick_now()['completed'] == 1
    assert w.get(1)['State'] == 'COMPLETE'


def test_a_step_written_by_the_tick_is_published_with_its_percentage(appconfig, event_queue):
    w = World(appconfig)
    w.start(w.strategy(50, 4))  # 50 % after 1m20s, 100 % after 2m40s
    later(minutes=2)
    assert tick_now()['events'] == 1
    details = [e['detail'] for e in event_queue()]
    assert [(d['EventType'], d['PercentageComplete']) for d in details] == [
        ('DEPLOYMENT_STARTED', 0.0),
        ('PERCENTAGE_UPDATED', 50.0),
    ]
