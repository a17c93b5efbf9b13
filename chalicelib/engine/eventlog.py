"""Every EventLog text, and the causes that stop a deployment.

An event is a plain dict with the store's attribute names (event_type, triggered_by,
description, occurred_at), so it can be written as it is (store.deployments.Event) and
rendered for the wire. A :class:`Cause` is who stopped a deployment and the two texts its
ROLLBACK_STARTED / ROLLBACK_COMPLETED events carry: :func:`by_user`, :func:`by_alarm`,
:func:`by_extension`. To change what an event says, change it here; nothing else spells one.

Pure: no I/O; the texts depend only on the arguments.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction

from chalicelib.constants import EventType, Trigger

# DeploymentEvent.Description is at most 1024 characters in the real service's event logs.
MAX_DESCRIPTION = 1024

DEPLOYMENT_STARTED_TEXT = 'Deployment started'
BAKE_TIME_STARTED_TEXT = 'Deployment bake time started'
DEPLOYMENT_COMPLETED_TEXT = 'Deployment completed'


def event(event_type: str, triggered_by: str, description: str, occurred_at: datetime) -> dict:
    return {
        'event_type': event_type,
        'triggered_by': triggered_by,
        'description': description,
        'occurred_at': occurred_at,
    }


def started(at: datetime) -> dict:
    return event(EventType.DEPLOYMENT_STARTED, Trigger.USER, DEPLOYMENT_STARTED_TEXT, at)


def percentage_text(percentage: Fraction) -> str:
    """PERCENTAGE_UPDATED's text. Two decimals, rounded DOWN: the text never claims more
    clients than have the configuration, and only the real final step reads 100.00%
    (G=33.333 gives 33.33, 66.66, 99.99, 100.00 instead of two "100.00%" with half-up)."""
    hundredths = int(percentage * 100)  # percentage >= 0, so int() is floor
    return f'Configuration available to {hundredths // 100}.{hundredths % 100:02d}% of clients'


def reverted(account: str, at: datetime) -> dict:
    return event(
        EventType.REVERT_COMPLETED, Trigger.USER, f'Deployment reverted by account {account}', at
    )


@dataclass(frozen=True)
class Cause:
    """Who rolls a deployment back, and what its two rollback events say."""

    triggered_by: str
    started_text: str
    completed_text: str

    def events(self, at: datetime) -> list[dict]:
        return [
            event(EventType.ROLLBACK_STARTED, self.triggered_by, self.started_text, at),
            event(EventType.ROLLBACK_COMPLETED, self.triggered_by, self.completed_text, at),
        ]


def by_user(account: str) -> Cause:
    """StopDeployment."""
    return Cause(
        Trigger.USER,
        f'Rollback started by account {account}',
        f'Rollback completed (started by account {account})',
    )


def by_alarm(alarm_arn: str) -> Cause:
    """A monitored CloudWatch alarm in ALARM or INSUFFICIENT_DATA."""
    return Cause(
        Trigger.CLOUDWATCH_ALARM,
        f'Rollback started by CloudWatch alarm {alarm_arn}',
        f'Rollback completed (alarm {alarm_arn})',
    )


def by_extension(name: str, action_name: str | None, why: str) -> Cause:
    """An AT_DEPLOYMENT_TICK action that answered ROLL_BACK, or failed (``why`` says which)."""
    return Cause(
        Trigger.APPCONFIG,
        (f'Rollback started by extension {name} (action {action_name}, AT_DEPLOYMENT_TICK): {why}')[
            :MAX_DESCRIPTION
        ],
        f'Rollback completed (extension {name})'[:MAX_DESCRIPTION],
    )
