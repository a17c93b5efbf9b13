"""Writes that must hold an invariant: transactions, conditional writes, and telling why one
was refused.

- :func:`transaction` is a PynamoDB ``TransactWrite`` on the store's one public
  ``Connection`` (store/connection.py, shared by every table, so its read cache stays
  coherent), with store/durable.py's commit barrier on DynamoDB Local.
- :func:`attempt` runs a conditional write (PutItem, UpdateItem, DeleteItem or a whole
  transaction): it retries while DynamoDB refuses it only because another transaction held
  one of its items (nothing was written then), returns None once it is written, and a
  :class:`Refused` naming which condition failed when one did. Anything else raises.

Cost: a refused or conflicting write costs one request per attempt; conflicts back off with
jitter (at most ~0.2 s a pause, CONFLICT_ATTEMPTS attempts).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from pynamodb.connection import Connection

from chalicelib.store.connection import connection as store_connection
from chalicelib.store.durable import TransactWrite

CONFLICT_ATTEMPTS = 25
CONDITION_FAILED = 'ConditionalCheckFailed'
T = TypeVar('T')


def connection() -> Connection:
    """The Connection transactions use: the store's one Connection (store/connection.py), so
    its read cache sees every transaction's writes."""
    return store_connection()


def transaction(barrier: bool = True) -> TransactWrite:
    """A TransactWrite on the service's DynamoDB; ``barrier=False`` defers its commit barrier
    to the caller (store/durable.py)."""
    return TransactWrite(connection=connection(), barrier=barrier)


def reasons(error: Exception) -> list[str | None]:
    """Cancellation reason codes of a failed transaction, one per item (None = no reason),
    in the order DynamoDB received them: condition checks, deletes, puts, updates."""
    return [
        r.code if r is not None else None
        for r in (getattr(error, 'cancellation_reasons', None) or [])
    ]


def conditional_failed(error: Exception) -> bool:
    """True when a write was refused by its condition (or its transaction was cancelled)."""
    cause = getattr(error, 'cause_response_code', None)
    return cause in ('ConditionalCheckFailedException', 'TransactionCanceledException')


def conflicted(error: Exception) -> bool:
    """True when DynamoDB refused a write only because a transaction held the same item."""
    if getattr(error, 'cause_response_code', None) == 'TransactionConflictException':
        return True
    codes = reasons(error)
    return 'TransactionConflict' in codes and all(
        c in (None, 'None', 'TransactionConflict') for c in codes
    )


def retry_conflicts(write: Callable[[], T], attempts: int = CONFLICT_ATTEMPTS) -> T:
    """Run ``write()``, again after a short jittered pause while it only met a conflict."""
    for attempt_number in range(attempts):
        try:
            return write()
        except Exception as error:  # noqa: BLE001 - re-raised unless it is a pure conflict
            if not conflicted(error) or attempt_number == attempts - 1:
                raise
            time.sleep(random.uniform(0, min(0.2, 0.005 * 2**attempt_number)))
    raise AssertionError('unreachable')


@dataclass(frozen=True)
class Refused:
    """A conditional write that DynamoDB refused. ``reasons`` has one code per item of a
    transaction (empty for a single-item write); ``error`` is pynamodb's exception."""

    reasons: list
    error: Exception

    def failed(self, index: int) -> bool:
        """Whether the condition on the ``index``-th item of the transaction failed."""
        return self.reasons[index : index + 1] == [CONDITION_FAILED]


def attempt(write: Callable[[], object]) -> Refused | None:
    """Run the conditional write ``write()`` (retrying pure conflicts): None when it was
    written, a Refused when a condition failed. Any other failure raises."""
    try:
        retry_conflicts(write)
    except Exception as error:  # noqa: BLE001 - re-raised unless a condition refused it
        if not conditional_failed(error):
            raise
        return Refused(reasons(error), error)
    return None
