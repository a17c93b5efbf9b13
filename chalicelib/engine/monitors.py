"""CloudWatch alarms that roll a deployment back.

While a deployment is DEPLOYING or BAKING, a monitored alarm in ALARM or INSUFFICIENT_DATA
rolls it back, unless the alarm's actions are disabled (user guide, "Monitoring deployments
for automatic rollback"). Alarms are read with DescribeAlarms, in the alarm's own region, as
the monitor's AlarmRoleArn (assumed through STS) when it names one.

An alarm that cannot be read (missing, access denied, throttled) does not roll back: the
failure is logged and the next tick looks again. A rollback needs an alarm that says so.
"""

from __future__ import annotations

import logging
import threading

import boto3
from botocore.config import Config

from chalicelib import arns, roles

log = logging.getLogger(__name__)

FIRING = ('ALARM', 'INSUFFICIENT_DATA')
_CONFIG = Config(retries={'max_attempts': 2}, connect_timeout=2, read_timeout=5)
_SESSION_NAME = 'appconfig-deployment-monitor'


def parse_alarm_arn(alarm_arn: str) -> tuple[str, str]:
    """(region, alarm name) of ``arn:aws:cloudwatch:<region>:<account>:alarm:<name>``."""
    parts = alarm_arn.split(':', 6)
    if len(parts) != 7 or parts[2] != 'cloudwatch' or parts[5] != 'alarm' or not parts[6]:
        raise ValueError(f'not a CloudWatch alarm ARN: {alarm_arn}')
    return parts[3] or arns.region(), parts[6]


class Clients:
    """CloudWatch clients by (region, role), reused for one tick by all its workers (boto3's
    default session must not build clients from two threads at once: one lock)."""

    def __init__(self):
        self._clients = {}
        self._lock = threading.Lock()

    def cloudwatch(self, region: str, role_arn: str | None = None):  # -> CloudWatch client
        key = (region, role_arn)
        with self._lock:
            if key not in self._clients:
                extra = roles.credentials(role_arn, _SESSION_NAME) if role_arn else {}
                self._clients[key] = boto3.client(
                    'cloudwatch', region_name=region, config=_CONFIG, **extra
                )
            return self._clients[key]


def _alarm_states(client, names):
    """{alarm name: alarm description dict} for the ``names`` that exist."""
    found = {}
    names = list(names)
    for i in range(0, len(names), 100):
        answer = client.describe_alarms(
            AlarmNames=names[i : i + 100], AlarmTypes=['CompositeAlarm', 'MetricAlarm']
        )
        for alarm in answer.get('MetricAlarms', []) + answer.get('CompositeAlarms', []):
            found[alarm['AlarmName']] = alarm
    return found


def firing(monitors: list[dict], clients: Clients | None = None) -> str | None:
    """The ARN of the first monitored alarm that rolls back, or None.

    ``monitors`` is the API shape: [{"AlarmArn": ..., "AlarmRoleArn": ...}]."""
    if not monitors:
        return None
    clients = clients or Clients()
    groups = {}
    for monitor in monitors:
        try:
            region, name = parse_alarm_arn(monitor['AlarmArn'])
        except ValueError as error:
            log.warning('%s', error)
            continue
        groups.setdefault((region, monitor.get('AlarmRoleArn') or None), []).append(
            (monitor['AlarmArn'], name)
        )
    for (region, role), members in groups.items():
        try:
            states = _alarm_states(clients.cloudwatch(region, role), {n for _, n in members})
        except Exception as error:  # noqa: BLE001 - an unreadable alarm never rolls back
            log.warning(
                'cannot read alarms %s in %s as %s: %s',
                [a for a, _ in members],
                region,
                role or 'the service',
                error,
            )
            continue
        for alarm_arn, name in members:
            alarm = states.get(name)
            if alarm is None:
                log.warning('monitored alarm %s does not exist', alarm_arn)
                continue
            if alarm.get('ActionsEnabled') is False:
                continue
            if alarm.get('StateValue') in FIRING:
                return alarm_arn
    return None
