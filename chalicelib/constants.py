"""The service's vocabulary, each value defined once: states, event types, triggers, profile
types, and the transition table (what each EventLog event does to the deployment, its
environment and the data plane's Delivery item).

Values are ``StrEnum`` members: they compare equal to, hash like and serialise as the plain
strings the wire and the store use, so stored items and request parameters need no
conversion. No I/O, no imports from the project; importing it costs microseconds.
"""

from enum import StrEnum
from typing import NamedTuple


class DeploymentState(StrEnum):
    """Deployment.State on the wire (and the Deployment/Delivery items' ``state``)."""

    VALIDATING = 'VALIDATING'
    DEPLOYING = 'DEPLOYING'
    BAKING = 'BAKING'
    COMPLETE = 'COMPLETE'
    ROLLING_BACK = 'ROLLING_BACK'
    ROLLED_BACK = 'ROLLED_BACK'
    REVERTED = 'REVERTED'


class EnvironmentState(StrEnum):
    """Environment.State on the wire (PascalCase, as botocore's waiter expects)."""

    READY = 'ReadyForDeployment'
    DEPLOYING = 'Deploying'
    ROLLING_BACK = 'RollingBack'
    ROLLED_BACK = 'RolledBack'
    REVERTED = 'Reverted'


class EventType(StrEnum):
    """DeploymentEvent.EventType."""

    DEPLOYMENT_STARTED = 'DEPLOYMENT_STARTED'
    PERCENTAGE_UPDATED = 'PERCENTAGE_UPDATED'
    BAKE_TIME_STARTED = 'BAKE_TIME_STARTED'
    DEPLOYMENT_COMPLETED = 'DEPLOYMENT_COMPLETED'
    ROLLBACK_STARTED = 'ROLLBACK_STARTED'
    ROLLBACK_COMPLETED = 'ROLLBACK_COMPLETED'
    REVERT_COMPLETED = 'REVERT_COMPLETED'


class Trigger(StrEnum):
    """DeploymentEvent.TriggeredBy."""

    USER = 'USER'
    APPCONFIG = 'APPCONFIG'
    CLOUDWATCH_ALARM = 'CLOUDWATCH_ALARM'
    INTERNAL_USER = 'INTERNAL_USER'


# Shorthands used across the engine.
DEPLOYING = DeploymentState.DEPLOYING
BAKING = DeploymentState.BAKING
COMPLETE = DeploymentState.COMPLETE
ROLLING_BACK = DeploymentState.ROLLING_BACK
ROLLED_BACK = DeploymentState.ROLLED_BACK
REVERTED = DeploymentState.REVERTED
IN_PROGRESS = (DEPLOYING, BAKING)
# A deployment in one of these states delivers its ``previous`` release again.
STOPPED = (ROLLING_BACK, ROLLED_BACK, REVERTED)

# Configuration profile types; FEATURE_FLAGS is also the id of the AWS-authored extension
# that every feature-flag profile gets.
FREEFORM = 'AWS.Freeform'
FEATURE_FLAGS = 'AWS.AppConfig.FeatureFlags'
PROFILE_TYPES = (FREEFORM, FEATURE_FLAGS)


class Transition(NamedTuple):
    """What writing one event leaves behind; None = that item is not changed by it."""

    deployment: DeploymentState
    environment: EnvironmentState | None
    delivery: DeploymentState | None


# The transition table. A Delivery keeps DEPLOYING through completion: readers work out
# BAKING/COMPLETE from the clock, so the tick never has to touch it.
TRANSITIONS = {
    EventType.DEPLOYMENT_STARTED: Transition(DEPLOYING, EnvironmentState.DEPLOYING, DEPLOYING),
    EventType.PERCENTAGE_UPDATED: Transition(DEPLOYING, None, None),
    EventType.BAKE_TIME_STARTED: Transition(BAKING, None, None),
    EventType.DEPLOYMENT_COMPLETED: Transition(COMPLETE, EnvironmentState.READY, None),
    EventType.ROLLBACK_STARTED: Transition(ROLLING_BACK, EnvironmentState.ROLLING_BACK, None),
    EventType.ROLLBACK_COMPLETED: Transition(
        ROLLED_BACK, EnvironmentState.ROLLED_BACK, ROLLED_BACK
    ),
    EventType.REVERT_COMPLETED: Transition(REVERTED, EnvironmentState.REVERTED, REVERTED),
}
