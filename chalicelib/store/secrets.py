"""Service-internal secrets (the data-plane token signing key): one item per named secret.

A secret is created on first use with a conditional put, so processes that race on the first
use all end up with the value that won the put.
"""

from __future__ import annotations

from collections.abc import Callable

from pynamodb.attributes import BinaryAttribute, UnicodeAttribute, UTCDateTimeAttribute

from chalicelib import clock
from chalicelib.store import tx
from chalicelib.store.base import BaseMeta, BaseModel, table_name


class Secret(BaseModel):
    class Meta(BaseMeta):
        table_name = table_name('secrets')

    name = UnicodeAttribute(hash_key=True)
    value = BinaryAttribute(legacy_encoding=False)
    created_at = UTCDateTimeAttribute()


def get_or_create(name: str, make_value: Callable[[], bytes]) -> bytes:
    """The value stored under ``name``; the first caller stores ``make_value()``."""
    try:
        return Secret.get(name, consistent_read=True).value
    except Secret.DoesNotExist:
        pass
    item = Secret(name, value=make_value(), created_at=clock.now())
    if tx.attempt(lambda: item.save(condition=Secret.name.does_not_exist())) is None:
        return item.value
    # Another process stored it between our read and our put: theirs is the one.
    return Secret.get(name, consistent_read=True).value
