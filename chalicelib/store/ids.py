"""Resource ids: 7 lowercase alphanumerics, unique by a conditional write."""

from __future__ import annotations

import secrets
import string
from collections.abc import Callable

from pynamodb.models import Model

from chalicelib.errors import InternalServerException
from chalicelib.store import tx

_ALPHABET = string.ascii_lowercase + string.digits


def new_id() -> str:
    return ''.join(secrets.choice(_ALPHABET) for _ in range(7))


def save_new(make_item: Callable[[str], Model], attempts: int = 5) -> Model:
    """Save ``make_item(new_id())``, drawing another id if that one is taken."""
    for _ in range(attempts):
        item = make_item(new_id())
        range_key = item._range_key_attribute() or item._hash_key_attribute()
        if tx.attempt(lambda: item.save(condition=range_key.does_not_exist())) is None:
            return item
    raise InternalServerException('Could not allocate a unique id. Try again.')
