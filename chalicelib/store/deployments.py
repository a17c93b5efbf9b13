"""Deployments: one item per (application#environment, deployment number).

The item holds what StartDeployment decided once and for all (the strategy snapshot, the
version, the monitors to watch) and the events written so far. Events the engine owes
(percentage steps, bake, completion) are derivable from the strategy and the start time, so
readers merge in the ones that are due (engine/progress.py) and the tick only materialises
them; ``steps_written`` counts the schedule steps already in ``events`` and is the condition
every engine write checks, so two writers never append the same step twice.

While a deployment is in progress the item carries ``active`` (a constant) and
``active_key``: the sparse ``active`` index holds exactly the in-progress deployments, so the
tick's Query costs follow them and not the history.
"""

from __future__ import annotations

from pynamodb.attributes import (
    JSONAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.indexes import GlobalSecondaryIndex, IncludeProjection

from chalicelib.store.base import BaseMeta, BaseModel, table_name

# The value of ``active`` on every in-progress deployment: one index partition. A DynamoDB
# partition serves far more reads than a tick a second needs for thousands of deployments.
ACTIVE = 'active'


def env_key(application_id: str, environment_id: str) -> str:
    return f'{application_id}#{environment_id}'


def active_key(application_id: str, environment_id: str, number: int) -> str:
    return f'{application_id}#{environment_id}#{int(number):010d}'


class Event(MapAttribute):
    event_type = UnicodeAttribute()
    triggered_by = UnicodeAttribute()
    description = UnicodeAttribute()
    occurred_at = UTCDateTimeAttribute()


class ActiveIndex(GlobalSecondaryIndex):
    """In-progress deployments only (sparse). Projects what the tick needs, not the events."""

    class Meta:
        index_name = 'active'
        projection = IncludeProjection(
            [
                'application_id',
                'environment_id',
                'profile_id',
                'state',
                'strategy',
                'started_at',
                'steps_written',
                'monitors',
                'configuration_version',
                'version_label',
            ]
        )

    active = UnicodeAttribute(hash_key=True)
    active_key = UnicodeAttribute(range_key=True)


class Deployment(BaseModel):
    class Meta(BaseMeta):
        table_name = table_name('deployments')

    env_key = UnicodeAttribute(hash_key=True)
    number = NumberAttribute(range_key=True)

    application_id = UnicodeAttribute()
    environment_id = UnicodeAttribute()
    profile_id = UnicodeAttribute()
    configuration_name = UnicodeAttribute()
    configuration_location_uri = UnicodeAttribute()
    configuration_version = UnicodeAttribute()
    version_label = UnicodeAttribute(null=True)
    description = UnicodeAttribute(null=True)
    strategy_id = UnicodeAttribute()
    # DeploymentDurationInMinutes, GrowthType, GrowthFactor, FinalBakeTimeInMinutes as
    # StartDeployment found them: later strategy edits do not change a running deployment.
    strategy = JSONAttribute()
    # The environment's monitors when the deployment started: [{AlarmArn, AlarmRoleArn}].
    monitors = JSONAttribute(default=list)
    # The last state written. Readers compute DEPLOYING/BAKING/COMPLETE from the clock while
    # the item is active; ROLLED_BACK and REVERTED are final.
    state = UnicodeAttribute()
    started_at = UTCDateTimeAttribute()
    completed_at = UTCDateTimeAttribute(null=True)
    # Percentage when a rollback stopped the strategy (otherwise it follows from the clock).
    percentage = NumberAttribute(null=True)
    events = ListAttribute(of=Event, default=list)  # oldest first
    steps_written = NumberAttribute(default=0)
    tags = JSONAttribute(default=dict)
    kms_key_identifier = UnicodeAttribute(null=True)
    kms_key_arn = UnicodeAttribute(null=True)
    dynamic_extension_parameters = JSONAttribute(null=True)
    type = UnicodeAttribute(default='USER')

    active = UnicodeAttribute(null=True)
    active_key = UnicodeAttribute(null=True)
    active_index = ActiveIndex()


def active_of(environment) -> Deployment | None:
    """The in-progress Deployment item of an Environment item, or None (one GetItem, only
    while the environment has an active deployment)."""
    number = getattr(environment, 'active_deployment', None)
    if number is None:
        return None
    try:
        return Deployment.get(
            env_key(environment.application_id, environment.id), int(number), consistent_read=True
        )
    except Deployment.DoesNotExist:
        return None
