"""The read cache's bookkeeping: an answer read before a write ends is never stored after it,
and overlapping writes leave no image behind (chalicelib/store/connection.py)."""

from chalicelib.store.connection import ReadCache

ITEM = ('item', 'table', (('id', (('S', 'a'),)),))
TABLE = ('table', 'table')


def test_a_read_in_flight_while_a_write_ends_is_not_stored():
    cache = ReadCache()
    data, reader = cache.lookup(ITEM, ())
    assert data is None
    writer = cache.begin([ITEM, TABLE])
    cache.end([ITEM, TABLE], writer)
    cache.store(ITEM, (), reader, {'Item': {'name': {'S': 'old'}}})
    assert cache.lookup(ITEM, ())[0] is None


def test_a_read_that_started_after_the_write_is_stored_and_served():
    cache = ReadCache()
    writer = cache.begin([ITEM, TABLE])
    cache.end([ITEM, TABLE], writer)
    _, reader = cache.lookup(ITEM, ())
    cache.store(ITEM, (), reader, {'Item': {'name': {'S': 'new'}}})
    assert cache.lookup(ITEM, ())[0] == {'Item': {'name': {'S': 'new'}}}


def test_a_write_drops_the_item_and_the_tables_queries_and_leaves_its_image():
    cache = ReadCache()
    for tag in (ITEM, TABLE):
        _, reader = cache.lookup(tag, ())
        cache.store(tag, (), reader, {'Items': []} if tag is TABLE else {'Item': {}})
    writer = cache.begin([ITEM, TABLE])
    cache.end([ITEM, TABLE], writer, images=[(ITEM, {'Item': {'name': {'S': 'image'}}})])
    assert cache.lookup(TABLE, ())[0] is None
    assert cache.lookup(ITEM, ())[0] == {'Item': {'name': {'S': 'image'}}}


def test_overlapping_writes_leave_no_image():
    cache = ReadCache()
    first = cache.begin([ITEM])
    second = cache.begin([ITEM])
    cache.end([ITEM], second, images=[(ITEM, {'Item': {'v': {'N': '2'}}})])
    cache.end([ITEM], first, images=[(ITEM, {'Item': {'v': {'N': '1'}}})])
    assert cache.lookup(ITEM, ())[0] is None


def test_a_read_never_stores_while_a_write_is_in_flight():
    cache = ReadCache()
    writer = cache.begin([ITEM])
    _, reader = cache.lookup(ITEM, ())
    cache.store(ITEM, (), reader, {'Item': {}})
    assert cache.lookup(ITEM, ())[0] is None
    cache.end([ITEM], writer)


def test_entries_are_bounded():
    cache = ReadCache(max_entries=3)
    for i in range(5):
        tag = ('item', 't', i)
        _, reader = cache.lookup(tag, ())
        cache.store(tag, (), reader, {'Item': {}})
    assert [cache.lookup(('item', 't', i), ())[0] is not None for i in range(5)] == [
        False,
        False,
        True,
        True,
        True,
    ]


def test_a_ttl_bounds_the_age_of_an_answer(monkeypatch):
    import chalicelib.store.connection as module

    now = [100.0]
    monkeypatch.setattr(module.time, 'monotonic', lambda: now[0])
    cache = ReadCache(ttl=2)
    _, reader = cache.lookup(ITEM, ())
    cache.store(ITEM, (), reader, {'Item': {}})
    now[0] += 1
    assert cache.lookup(ITEM, ())[0] == {'Item': {}}
    now[0] += 1.5
    assert cache.lookup(ITEM, ())[0] is None
