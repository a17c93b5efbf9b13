"""Deployment events to EventBridge, when ``APPCONFIG_EVENT_BUS`` names a bus (name or ARN).

Each event written to a deployment's EventLog is published once, by the writer whose
conditional write put it there (the tick, StartDeployment or StopDeployment). Publishing
happens after the write: a failure is logged and never undoes or repeats the write.

    source       APPCONFIG_EVENT_SOURCE, default "appconfig.local"
    detail-type  "AppConfig Deployment Event"
    detail       {ApplicationId, EnvironmentId, ConfigurationProfileId, DeploymentNumber,
                  ConfigurationVersion, VersionLabel, EventType, TriggeredBy, Description,
                  OccurredAt, PercentageComplete, State}
"""

from __future__ import annotations

import json
import logging
import os
from datetime import datetime

import boto3
from botocore.config import Config

from chalicelib import arns
from chalicelib.store.deployments import Deployment

log = logging.getLogger(__name__)

DETAIL_TYPE = 'AppConfig Deployment Event'
_BATCH = 10  # PutEvents accepts at most 10 entries


def bus() -> str | None:
    return os.environ.get('APPCONFIG_EVENT_BUS') or None


def source() -> str:
    return os.environ.get('APPCONFIG_EVENT_SOURCE') or 'appconfig.local'


def client():  # -> botocore EventBridge client
    return boto3.client(
        'events',
        region_name=arns.region(),
        config=Config(retries={'max_attempts': 3}, connect_timeout=2, read_timeout=5),
    )


def detail(item: Deployment, event: dict, percentage: float, state: str) -> dict:
    return {
        'ApplicationId': item.application_id,
        'EnvironmentId': item.environment_id,
        'ConfigurationProfileId': item.profile_id,
        'DeploymentNumber': int(item.number),
        'ConfigurationVersion': item.configuration_version,
        'VersionLabel': item.version_label,
        'EventType': event['event_type'],
        'TriggeredBy': event['triggered_by'],
        'Description': event['description'],
        'OccurredAt': event['occurred_at'].isoformat().replace('+00:00', 'Z'),
        'PercentageComplete': float(percentage),
        'State': state,
    }


def publish(details: list[dict]) -> int:
    """Send ``details`` (dicts from detail()) in order; returns how many were accepted."""
    name = bus()
    if not name or not details:
        return 0
    sent = 0
    try:
        events = client()
        for i in range(0, len(details), _BATCH):
            entries = [
                {
                    'Source': source(),
                    'DetailType': DETAIL_TYPE,
                    'Time': datetime.fromisoformat(d['OccurredAt'].replace('Z', '+00:00')),
                    'Detail': json.dumps(d, separators=(',', ':')),
                    'EventBusName': name,
                    'Resources': [
                        arns.arn(
                            f'application/{d["ApplicationId"]}/environment/'
                            f'{d["EnvironmentId"]}/deployment/{d["DeploymentNumber"]}'
                        )
                    ],
                }
                for d in details[i : i + _BATCH]
            ]
            answer = events.put_events(Entries=entries)
            failed = answer.get('FailedEntryCount') or 0
            if failed:
                log.warning(
                    'EventBridge refused %d deployment events: %s',
                    failed,
                    [e for e in answer.get('Entries', []) if e.get('ErrorCode')],
                )
            sent += len(entries) - failed
    except Exception:  # noqa: BLE001 - the events are written; publishing is best effort
        log.exception('publishing deployment events to %s failed', name)
    return sent
