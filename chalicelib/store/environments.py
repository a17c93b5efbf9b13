"""Environments (hash = application id, range = environment id), and the transaction helpers
the environment, profile and hosted-version writes share.

A child and its application's quota counter move in one transaction, so concurrent creates
can never pass the quota and a failed create never uses up a slot. Transactions touching the
same item at the same moment are refused by DynamoDB with ``TransactionConflict``; nothing was
written then, so :func:`retry_conflicts` simply runs the write again after a short pause.
"""
import random
import time

from pynamodb.attributes import JSONAttribute, NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute

from chalicelib.constants import EnvironmentState
from chalicelib.store.base import BaseMeta, BaseModel, table_name
from chalicelib.store.durable import TransactWrite

CONFLICT_ATTEMPTS = 25


class Environment(BaseModel):
    class Meta(BaseMeta):
        table_name = table_name('environments')

    application_id = UnicodeAttribute(hash_key=True)
    id = UnicodeAttribute(range_key=True)
    name = UnicodeAttribute()
    description = UnicodeAttribute(null=True)
    # [{'AlarmArn': ..., 'AlarmRoleArn': ...}] as the API shapes them.
    monitors = JSONAttribute(default=list)
    # PascalCase on the wire (ReadyForDeployment, Deploying, RollingBack, RolledBack,
    # Reverted); the deployment engine moves it.
    state = UnicodeAttribute(default=EnvironmentState.READY)
    tags = JSONAttribute(default=dict)
    created_at = UTCDateTimeAttribute()
    # Deployment numbers come from this counter; the active one guards "one at a time" and
    # makes DeleteEnvironment refuse while a deployment is in progress.
    latest_deployment = NumberAttribute(default=0)
    active_deployment = NumberAttribute(null=True)
    last_polled_at = UTCDateTimeAttribute(null=True)


def transaction():
    """A TransactWrite on the service's DynamoDB (every table shares endpoint and region)."""
    return TransactWrite(connection=Environment._get_connection().connection)


def reasons(error):
    """Cancellation reason codes of a failed transaction, one per item (None = no reason),
    in the order DynamoDB received them: condition checks, deletes, puts, updates."""
    return [r.code if r is not None else None
            for r in (getattr(error, 'cancellation_reasons', None) or [])]


def conflicted(error):
    """True when DynamoDB refused a write only because a transaction held the same item."""
    if getattr(error, 'cause_response_code', None) == 'TransactionConflictException':
        return True
    codes = reasons(error)
    return 'TransactionConflict' in codes and all(
        c in (None, 'None', 'TransactionConflict') for c in codes)


def retry_conflicts(write, attempts=CONFLICT_ATTEMPTS):
    """Run ``write()``, again after a short jittered pause while it only met a conflict."""
    for attempt in range(attempts):
        try:
            return write()
        except Exception as error:  # noqa: BLE001 - re-raised unless it is a pure conflict
            if not conflicted(error) or attempt == attempts - 1:
                raise
            time.sleep(random.uniform(0, min(0.2, 0.005 * 2 ** attempt)))
    raise AssertionError('unreachable')
