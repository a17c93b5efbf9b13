"""The clock's line, kept in a store shared by processes, and reconciled at start-up."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from chalicelib import clock

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


class FakeStore:
    """What store/clock.py does, in memory: conditional saves on the version."""

    def __init__(self, line=None):
        self.line = line
        self.loads = 0

    def load(self):
        self.loads += 1
        return self.line

    def save(self, line, expected):
        if (self.line.version if self.line else 0) != expected:
            return False
        self.line = line
        return True


@pytest.fixture
def attached():
    yield
    clock.detach()


def test_a_new_manual_clock_starts_paused_at_the_given_instant(attached):
    store = FakeStore()
    line = clock.use_store(store, mode='manual', start=T0)
    assert (line.mode, line.speed, line.version) == ('manual', 0, 1)
    assert clock.now() == T0 and store.line == line
    assert clock.describe() == {'now': '2026-12-01T12:00:00Z', 'mode': 'manual', 'speed': 0}


def test_a_new_real_clock_runs_at_the_time_scale(attached):
    line = clock.use_store(FakeStore(), mode=None, speed=60)
    assert (line.mode, line.speed) == ('real', 60)
    first = clock.now()
    assert abs(first - datetime.now(UTC)) < timedelta(seconds=5)


def test_an_empty_store_is_not_read_first_and_a_wrong_hint_costs_only_a_read(attached):
    store = FakeStore()
    line = clock.use_store(store, mode='manual', start=T0, empty=True)
    assert store.loads == 0 and store.line == line and clock.now() == T0
    # Told "empty" wrongly: the conditional save is refused, and the stored clock is kept.
    stored = clock.Line(T0, 0.0, 0, 1, 7)
    store = FakeStore(stored)
    line = clock.use_store(store, mode='manual', start=T0 - timedelta(days=1), empty=True)
    assert store.loads == 1 and line == stored and store.line == stored


def test_a_stored_clock_survives_a_restart(attached):
    store = FakeStore(clock.Line(T0, 0.0, 0, 1, 7))
    # Unset mode keeps it as stored; a start earlier than the stored instant is ignored.
    line = clock.use_store(store, start=T0 - timedelta(days=1))
    assert (line.version, clock.now()) == (7, T0)
    # An explicit mode switches it, from the stored instant (never backwards).
    line = clock.use_store(store, mode='real', speed=2)
    assert (line.mode, line.speed, line.version) == ('real', 2, 8)
    assert clock.now() >= T0
    line = clock.use_store(store, mode='manual')
    assert (line.mode, line.resume_speed, line.version) == ('manual', 2, 9)
    paused_at = clock.now()
    assert clock.use_store(store, start=paused_at + timedelta(hours=1)).at == paused_at + timedelta(
        hours=1
    )


def test_another_process_move_is_seen_within_the_refresh_interval(attached, monkeypatch):
    store = FakeStore()
    clock.use_store(store, mode='manual', start=T0)
    ticks = iter(range(1000))
    monkeypatch.setattr(clock.time, 'monotonic', lambda: 100.0 + next(ticks) * 0.25)
    monkeypatch.setattr(clock, '_loaded_at', 100.0)
    # Another process commits a move.
    store.line = store.line.moved(at=T0 + timedelta(minutes=5))
    seen = [clock.now() for _ in range(6)]
    # Reads at 100.0, 100.25, 100.5, 100.75 use the snapshot; the one at 101.0 re-reads.
    assert seen[:4] == [T0] * 4 and seen[4:] == [T0 + timedelta(minutes=5)] * 2
    assert store.loads == 2
    # A fresh read (the control API's GET) adopts at once.
    store.line = store.line.moved(at=T0 + timedelta(minutes=9))
    assert clock.current().at == T0 + timedelta(minutes=9)


def test_a_store_that_cannot_be_read_keeps_the_last_time(attached, monkeypatch):
    store = FakeStore()
    clock.use_store(store, mode='manual', start=T0)

    def broken():
        raise OSError('connection refused')

    monkeypatch.setattr(store, 'load', broken)
    monkeypatch.setattr(clock, '_loaded_at', -1e9)
    assert clock.now() == T0


def test_a_commit_loses_to_a_move_it_did_not_read(attached):
    store = FakeStore()
    clock.use_store(store, mode='manual', start=T0)
    read = clock.current()
    store.line = read.moved(at=T0 + timedelta(minutes=1))  # another process
    assert not clock.commit(read, read.moved(at=T0 + timedelta(minutes=2)))
    assert store.line.at == T0 + timedelta(minutes=1)
    again = clock.current()
    assert clock.commit(again, again.moved(at=T0 + timedelta(minutes=2)))
    assert clock.now() == T0 + timedelta(minutes=2) == store.line.at


def test_hold_keeps_the_process_at_an_instant():
    clock.freeze(T0)
    try:
        clock.hold(T0 + timedelta(hours=1))
        assert clock.now() == T0 + timedelta(hours=1) and not clock.running()
        clock.release()
        assert clock.now() == T0
    finally:
        clock.thaw()


def test_the_default_clock_is_the_wall_clock():
    clock.thaw()
    assert clock.running() and clock.line().mode == 'real'
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(seconds=5)


def test_the_stored_item_shares_the_settings_table(tables):
    from chalicelib.store import clock as stored
    from chalicelib.store.settings import AccountSettings
    from chalicelib.store.tables import models

    assert stored.StoredClock.Meta.table_name == AccountSettings.Meta.table_name
    assert (
        stored.StoredClock._get_schema()['key_schema']
        == AccountSettings._get_schema()['key_schema']
    )
    assert stored.StoredClock not in models()
    assert stored.load() is None
    first = clock.Line(T0, 1.5, 0, 60, 1)
    assert stored.save(first, 0) and not stored.save(first, 0)
    assert stored.load() == first
    second = first.moved(at=T0 + timedelta(hours=1))
    assert not stored.save(second, 5) and stored.save(second, 1)
    assert stored.load() == second
    # The account's settings are not disturbed by the item beside them.
    from chalicelib.ops import settings

    assert settings.deletion_protection() == (False, 60)
