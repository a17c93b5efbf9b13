"""Environments (hash = application id, range = environment id).

An environment and its application's quota counter move in one transaction (store/tx.py),
so concurrent creates can never pass the quota and a failed create never uses up a slot.
"""

from pynamodb.attributes import (
    JSONAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)

from chalicelib.constants import EnvironmentState
from chalicelib.store.base import BaseMeta, BaseModel, table_name


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
