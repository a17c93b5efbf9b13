"""The one PynamoDB Connection every table uses, and its write-through read cache.

Every DynamoDB request of the service (model gets, queries, saves, updates, deletes, batch
writes, transactions; from request threads and the ticker alike) goes through
``StoreConnection.dispatch``, so that is the one place where reads may be answered from memory
and where every write keeps the memory coherent.

The cache (off unless configured, see ``configure``) holds GetItem and Query answers as
DynamoDB returned them. It is write-through and never holds a write: a write goes to DynamoDB
first and DynamoDB stays the truth (every invariant is still a condition or a transaction
there); after the write returns, successful or not, every cached answer it may have changed
is dropped: the written items, and every Query of the written tables. A single-item write
that no other write overlapped leaves its new image behind (PutItem's item, UpdateItem's
ALL_NEW attributes, DeleteItem's absence). A read that was in flight while a write ended is
not stored, so an answer read before a write can never be cached after it. Misses are read
with ConsistentRead (base tables), so what is cached is the latest committed state.

Modes (``APPCONFIG_STORE_CACHE``): unset or ``off`` - every read goes to DynamoDB; ``on`` -
cached until a write of this process changes it (only correct while this process is the
only writer: the local runner sets it when it started its own DynamoDB Local); a number of
seconds - cached at most that long, for stores other writers share. Cost: a hit is a dict
lookup under one lock; memory is bounded (entries and bytes, least recently used dropped).
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from decimal import Decimal, InvalidOperation

from pynamodb.connection import Connection

from chalicelib.store.meta import BaseMeta

ENV = 'APPCONFIG_STORE_CACHE'
MAX_ENTRIES = 20_000
MAX_BYTES = 64 * 1024 * 1024

_WRITES = {'PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'TransactWriteItems'}
_SCHEMA = {'CreateTable', 'DeleteTable', 'UpdateTable', 'UpdateTimeToLive'}
# Request members that do not change what a read answers.
_NOT_SIGNATURE = {'ReturnConsumedCapacity', 'ConsistentRead', 'TableName', 'Key'}
_PLAIN = ()  # the signature of a GetItem of the whole item


def mode_from(value: str | None) -> str | float | None:
    """None (off), 'on', or a TTL in seconds, from the environment variable's text."""
    value = (value or '').strip().lower()
    if value in ('', 'off', '0', 'false', 'no'):
        return None
    if value in ('on', 'true', 'yes', '1'):
        return 'on'
    try:
        seconds = float(value)
    except ValueError:
        raise ValueError(f'{ENV} must be off, on or a number of seconds, not {value!r}') from None
    return seconds if seconds > 0 else None


def _size(value):
    if isinstance(value, (str, bytes)):
        return len(value)
    if isinstance(value, dict):
        return sum(len(k) + _size(v) for k, v in value.items())
    if isinstance(value, list):
        return sum(_size(v) for v in value)
    return 8


def _freeze(value):
    """A hashable, canonical form of request members (numbers compared by value)."""
    if isinstance(value, dict):
        if len(value) == 1 and 'N' in value and isinstance(value['N'], str):
            try:
                return ('N', format(Decimal(value['N']).normalize(), 'f'))
            except InvalidOperation:
                pass
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


class ReadCache:
    """Answers by tag (an item, or a table's queries) and signature, with the reader and
    writer bookkeeping that keeps a stale answer from being stored (see the module doc)."""

    def __init__(self, ttl=None, max_entries=MAX_ENTRIES, max_bytes=MAX_BYTES):
        self.ttl = ttl
        self.max_entries, self.max_bytes = max_entries, max_bytes
        self._lock = threading.Lock()
        self._entries = OrderedDict()  # (tag, signature) -> (data, stored_at, size)
        self._by_tag = {}  # tag -> set of signatures
        self._readers = {}  # tag -> {token: spoiled}
        self._writers = {}  # tag -> {token: overlapped}
        self._tokens = iter(range(1, 1 << 62))
        self._bytes = 0
        self.hits = self.misses = 0

    # -- reads --------------------------------------------------------------------------

    def lookup(self, tag: tuple, signature: tuple) -> tuple[dict | None, int | None]:
        """The cached answer, or (None, token) to pass to ``store`` after reading."""
        with self._lock:
            entry = self._entries.get((tag, signature))
            if entry is not None and (self.ttl is None or time.monotonic() - entry[1] < self.ttl):
                self._entries.move_to_end((tag, signature))
                self.hits += 1
                return entry[0], None
            self.misses += 1
            token = next(self._tokens)
            self._readers.setdefault(tag, {})[token] = False
            return None, token

    def store(self, tag: tuple, signature: tuple, token: int, data: dict) -> None:
        with self._lock:
            readers = self._readers.get(tag)
            spoiled = readers.pop(token, True) if readers is not None else True
            if readers is not None and not readers:
                del self._readers[tag]
            if data is not None and not spoiled and not self._writers.get(tag):
                self._put(tag, signature, data)

    def abandon(self, tag: tuple, token: int) -> None:
        self.store(tag, None, token, None)

    # -- writes -------------------------------------------------------------------------

    def begin(self, tags: list) -> int:
        """Register a write touching ``tags`` (before it is sent); returns its token."""
        with self._lock:
            token = next(self._tokens)
            for tag in tags:
                writers = self._writers.setdefault(tag, {})
                overlapped = bool(writers)
                for other in writers:
                    writers[other] = True
                writers[token] = overlapped
            return token

    def end(self, tags: list, token: int, images: tuple = ()) -> None:
        """After the write returned (or failed): drop what it may have changed, spoil the
        reads in flight, and keep ``images`` ((item tag, data) pairs of a single-item write
        that succeeded) when no other write overlapped it."""
        with self._lock:
            alone = True
            for tag in tags:
                writers = self._writers.get(tag)
                if writers is not None:
                    alone = not writers.pop(token, True) and alone
                    if not writers:
                        del self._writers[tag]
                self._drop(tag)
                for reader in self._readers.get(tag, ()):
                    self._readers[tag][reader] = True
            if alone:
                for tag, data in images:
                    if not self._writers.get(tag):
                        self._put(tag, _PLAIN, data)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._by_tag.clear()
            self._bytes = 0
            for readers in self._readers.values():
                for reader in readers:
                    readers[reader] = True

    # -- bookkeeping (under the lock) -----------------------------------------------------

    def _put(self, tag, signature, data):
        key = (tag, signature)
        old = self._entries.pop(key, None)
        if old is not None:
            self._bytes -= old[2]
        size = _size(data)
        if size > self.max_bytes // 8:
            return
        self._entries[key] = (data, time.monotonic(), size)
        self._by_tag.setdefault(tag, set()).add(signature)
        self._bytes += size
        while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
            (old_tag, old_signature), (_, _, old_size) = self._entries.popitem(last=False)
            self._bytes -= old_size
            signatures = self._by_tag.get(old_tag)
            if signatures is not None:
                signatures.discard(old_signature)
                if not signatures:
                    del self._by_tag[old_tag]

    def _drop(self, tag):
        for signature in self._by_tag.pop(tag, ()):
            entry = self._entries.pop((tag, signature), None)
            if entry is not None:
                self._bytes -= entry[2]


class StoreConnection(Connection):
    """A PynamoDB Connection whose dispatch consults and maintains the read cache."""

    def _key_names(self, table_name):
        meta = self._tables.get(table_name)
        if meta is None:
            return None
        return [n for n in (meta.hash_keyname, meta.range_keyname) if n]

    def _item_tag(self, table_name, item):
        names = self._key_names(table_name)
        if names is None or any(n not in item for n in names):
            return None
        return ('item', table_name, _freeze({n: item[n] for n in names}))

    def _write_tags(self, operation_name, kwargs):
        """Every tag the write may change, and its new image when it has one; None when the
        write cannot be understood (the cache is then cleared)."""
        writes = []  # (table, key or item)
        if operation_name in ('PutItem', 'UpdateItem', 'DeleteItem'):
            writes.append((kwargs.get('TableName'), kwargs.get('Item') or kwargs.get('Key')))
        elif operation_name == 'BatchWriteItem':
            for table_name, requests in kwargs.get('RequestItems', {}).items():
                for request in requests:
                    if 'PutRequest' in request:
                        writes.append((table_name, request['PutRequest'].get('Item')))
                    elif 'DeleteRequest' in request:
                        writes.append((table_name, request['DeleteRequest'].get('Key')))
        else:
            for entry in kwargs.get('TransactItems', ()):
                for member in entry.values():
                    writes.append(
                        (member.get('TableName'), member.get('Item') or member.get('Key'))
                    )
        tags = []
        for table_name, item in writes:
            tag = self._item_tag(table_name, item or {})
            if tag is None:
                return None
            tags += [tag, ('table', table_name)]
        return list(dict.fromkeys(tags))

    def dispatch(self, operation_name: str, operation_kwargs: dict) -> dict:
        cache = _cache
        if cache is None:
            return super().dispatch(operation_name, operation_kwargs)
        if operation_name in ('GetItem', 'Query'):
            return self._read(cache, operation_name, operation_kwargs)
        if operation_name in _WRITES:
            return self._write(cache, operation_name, operation_kwargs)
        if operation_name in _SCHEMA:
            try:
                return super().dispatch(operation_name, operation_kwargs)
            finally:
                cache.clear()
        return super().dispatch(operation_name, operation_kwargs)

    def _read(self, cache, operation_name, kwargs):
        table_name = kwargs.get('TableName')
        if operation_name == 'GetItem':
            tag = self._item_tag(table_name, kwargs.get('Key') or {})
            if tag is None:
                return super().dispatch(operation_name, kwargs)
        else:
            tag = ('table', table_name)
        signature = _freeze({k: v for k, v in kwargs.items() if k not in _NOT_SIGNATURE})
        data, token = cache.lookup(tag, signature)
        if token is None:
            return dict(data)
        if 'IndexName' not in kwargs:
            kwargs['ConsistentRead'] = True  # what is cached is the latest committed state
        try:
            data = super().dispatch(operation_name, kwargs)
        except BaseException:
            cache.abandon(tag, token)
            raise
        cache.store(tag, signature, token, data)
        return data

    def _write(self, cache, operation_name, kwargs):
        tags = self._write_tags(operation_name, kwargs)
        if tags is None:
            try:
                return super().dispatch(operation_name, kwargs)
            finally:
                cache.clear()
        token = cache.begin(tags)
        images = ()
        try:
            data = super().dispatch(operation_name, kwargs)
            images = self._images(operation_name, kwargs, data, tags)
            return data
        finally:
            cache.end(tags, token, images)

    @staticmethod
    def _images(operation_name, kwargs, data, tags):
        item_tag = tags[0]
        if operation_name == 'PutItem':
            return [(item_tag, {'Item': kwargs['Item']})]
        if operation_name == 'UpdateItem' and kwargs.get('ReturnValues') == 'ALL_NEW' and data:
            return [(item_tag, {'Item': data['Attributes']})] if 'Attributes' in data else ()
        if operation_name == 'DeleteItem':
            return [(item_tag, {})]
        return ()


_cache = None
_connection = None
_connection_lock = threading.Lock()


def configure(mode: str | float | None = None) -> ReadCache | None:
    """Set the cache mode (None: from ``APPCONFIG_STORE_CACHE``); drops what is cached."""
    global _cache
    if mode is None:
        mode = mode_from(os.environ.get(ENV))
    elif mode == 'off':
        mode = None
    _cache = None if mode is None else ReadCache(ttl=None if mode == 'on' else float(mode))
    return _cache


def cache() -> ReadCache | None:
    """The ReadCache in use, or None when the cache is off."""
    return _cache


def reset() -> None:
    """Forget the process's connection: the next use makes one for the endpoint configured
    then (the local runner, when DynamoDB Local answers elsewhere than first launched)."""
    global _connection
    with _connection_lock:
        _connection = None


def connection() -> StoreConnection:
    """The process's one StoreConnection (created on first use, with the store's settings)."""
    global _connection
    if _connection is None:
        with _connection_lock:
            if _connection is None:
                _connection = StoreConnection(
                    region=BaseMeta.region,
                    host=BaseMeta.host,
                    connect_timeout_seconds=BaseMeta.connect_timeout_seconds,
                    read_timeout_seconds=BaseMeta.read_timeout_seconds,
                    max_retry_attempts=BaseMeta.max_retry_attempts,
                    max_pool_connections=BaseMeta.max_pool_connections,
                )
    return _connection


configure()
