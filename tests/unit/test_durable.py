"""The read barrier after a transaction: one small GetItem on an item of the transaction,
whatever the transaction's shape (moto checks the key against the table's schema)."""

import datetime

import pytest
from botocore.client import BaseClient

from chalicelib.store import durable
from chalicelib.store.applications import Application
from chalicelib.store.tx import transaction

NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


@pytest.fixture
def reads(tables, monkeypatch):
    monkeypatch.setattr(durable, 'needed', lambda: True)
    seen, make_api_call = [], BaseClient._make_api_call

    def spy(self, operation, kwargs):
        if operation == 'GetItem':
            seen.append(kwargs)
        return make_api_call(self, operation, kwargs)

    monkeypatch.setattr(BaseClient, '_make_api_call', spy)
    return seen


def _app(app_id, **attrs):
    return Application('111122223333', app_id, name='n', created_at=NOW, **attrs)


def test_every_transaction_shape_ends_with_one_consistent_key_only_read(reads):
    with transaction() as t:  # puts only: the key comes from the first saved item
        t.save(_app('a1', description='x' * 1000))
        t.save(_app('a2'))
    with transaction() as t:  # an update and a put
        t.save(_app('a3'))
        t.update(_app('a1'), actions=[Application.description.set('y')])
    with transaction() as t:  # deletes and a condition check
        t.delete(_app('a2'))
        t.condition_check(Application, '111122223333', 'a3', condition=Application.id.exists())
    assert [r['Key'] for r in reads] == [
        {'account': {'S': '111122223333'}, 'id': {'S': 'a1'}},
        {'account': {'S': '111122223333'}, 'id': {'S': 'a1'}},
        {'account': {'S': '111122223333'}, 'id': {'S': 'a2'}},
    ]
    assert all(r['ConsistentRead'] for r in reads)
    # Projected to one key attribute: the barrier never reads a large item back.
    assert {r['ExpressionAttributeNames']['#k'] for r in reads} == {'account'}
    assert Application.get('111122223333', 'a1').description == 'y'


def test_no_barrier_without_a_custom_endpoint(tables, monkeypatch):
    monkeypatch.delenv('AWS_ENDPOINT_URL_DYNAMODB', raising=False)
    calls = []
    monkeypatch.setattr(durable.TransactWrite, '_barrier', lambda self: calls.append(self))
    with transaction() as t:
        t.save(_app('b1'))
    assert calls == []


def test_a_failed_transaction_reads_nothing(reads):
    from pynamodb.exceptions import TransactWriteError

    with pytest.raises(TransactWriteError), transaction() as t:
        t.save(_app('c1'), condition=Application.id.exists())
    assert reads == []


def test_a_busy_tick_reads_one_barrier_after_its_last_transaction(tables, monkeypatch):
    """250 deployments with a step due: three transactions (two in flight at once), then one
    barrier, and only then anything published."""
    from bench import tick as seed
    from chalicelib.engine import lifecycle, tick

    monkeypatch.setattr(durable, 'needed', lambda: True)
    log, make_api_call = [], BaseClient._make_api_call

    def spy(self, operation, kwargs):
        response = make_api_call(self, operation, kwargs)
        if operation in ('TransactWriteItems', 'GetItem'):
            log.append(operation)
        return response

    monkeypatch.setattr(BaseClient, '_make_api_call', spy)
    monkeypatch.setattr(lifecycle, '_publish', lambda item, written, pcts: log.append('publish'))
    seed._write([seed._active_item(i, seed.T0) for i in range(250)])
    summary = tick.run(now=seed.T0 + seed.STEP)
    assert summary['events'] == 250 and summary['errors'] == 0
    assert log == ['TransactWriteItems'] * 3 + ['GetItem'] + ['publish'] * 250


def test_a_deferred_barrier_reads_only_when_asked(reads):
    with transaction(barrier=False) as t:
        t.save(_app('d1'))
        t.save(_app('d2'))
    assert reads == []
    t.barrier()
    assert [r['Key'] for r in reads] == [{'account': {'S': '111122223333'}, 'id': {'S': 'd1'}}]
