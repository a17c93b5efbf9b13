"""Transactions that are on disk when they are answered, also on DynamoDB Local.

Invariant: when ``TransactWrite`` leaves its ``with`` block without an error, the transaction
has been committed to DynamoDB Local's SQLite file, so a SIGKILL of DynamoDB Local (or of
the whole local runner) cannot lose it.

Why it is needed: DynamoDB Local runs every SQLite statement as a job on one FIFO queue served
by one thread. PutItem, UpdateItem, DeleteItem and BatchWriteItem wait for their job, whose
COMMIT is inside it. TransactWriteItems does not: its final step enqueues the COMMIT job and
answers 200 without waiting for it (SQLiteDBAccess.commitTransaction in DynamoDB Local 3.3.1),
so a kill in the next few milliseconds rolls the transaction back from SQLite's journal.

The barrier: after the 200, one consistent GetItem on an item of the transaction, projected to
its hash key (a few bytes whatever the item's size). Its read job is enqueued after the COMMIT
job on the same queue and is waited for, so its answer proves the COMMIT has run. On AWS
(no custom endpoint) commits are synchronous and the barrier is skipped.

Cost: one GetItem round trip per transaction on DynamoDB Local (README, "Durability"), none
on AWS and none for single-item writes. A caller that commits many transactions before it
answers or publishes anything (the tick) may defer the barrier (``barrier=False``) and call
:meth:`TransactWrite.barrier` once, on the last of them, after all have been answered: every
COMMIT job was enqueued before its 200, so one read queued after the last 200 proves them all.

Failure mode: if the barrier read itself fails, the transaction's outcome is unknown to the
caller exactly as for a timed-out write, and the error propagates.
"""

from __future__ import annotations

from pynamodb.transactions import TransactWrite as _TransactWrite

from chalicelib.store.base import BaseMeta


def needed() -> bool:
    """Only a custom endpoint (DynamoDB Local, or moto in tests) can be DynamoDB Local."""
    return bool(BaseMeta.host)


class TransactWrite(_TransactWrite):
    """PynamoDB's TransactWrite, followed by a read barrier where commits are asynchronous
    (unless ``barrier=False``: then the caller calls :meth:`barrier` before relying on it)."""

    def __init__(self, *args, barrier: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self._barrier_on_commit = barrier

    def _commit(self):
        response = super()._commit()
        if self._barrier_on_commit:
            self.barrier()
        return response

    def barrier(self) -> None:
        """Return once this transaction's commit is on disk (at once where commits are
        synchronous)."""
        if needed():
            self._barrier()

    def _barrier(self):
        table, key = self._one_key()
        name = next(iter(key))
        # Straight to the botocore client: a read cache in front of DynamoDB must not be
        # allowed to answer (or keep) the barrier.
        self._connection.client.get_item(
            TableName=table,
            Key=key,
            ConsistentRead=True,
            ProjectionExpression='#k',
            ExpressionAttributeNames={'#k': name},
        )

    def _one_key(self):
        """(table, key) of any item the transaction wrote or checked."""
        for kwargs in self._update_items + self._delete_items + self._condition_check_items:
            return kwargs['TableName'], kwargs['Key']
        # Only puts: the key attributes of the first saved model, taken from its item.
        model = self._models_for_version_attribute_update[0]
        item = self._put_items[0]['Item']
        attributes = (model._hash_key_attribute(), model._range_key_attribute())
        names = [a.attr_name for a in attributes if a is not None]
        return self._put_items[0]['TableName'], {n: item[n] for n in names}
