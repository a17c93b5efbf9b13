"""Where an extension action delivers: one deliverer per target kind, chosen from a table.

A target is named by its ARN: a Lambda function, an SQS queue, an SNS topic or the default
EventBridge event bus. :func:`parse` tells which; :data:`DELIVERERS` maps each kind to the
function that sends an ON_* action's message there. Adding a kind is one pattern in
``_PATTERNS`` and one entry in ``DELIVERERS``.

Reaching targets. On AWS the service's own role may invoke, send to or publish to targets
only in its own account that are tagged ``appconfig:access=prod`` (.chalice/policy-prod-*.json).
An action with a RoleArn is performed with that role's credentials instead (sts:AssumeRole,
cached by chalicelib.roles until shortly before they expire), which is how targets in other
accounts or without the tag are reached; the role must trust the service's role.

Cost: one request to the target per delivery (plus one GetQueueUrl per queue and role per
process). Failure: deliverers raise; the caller records the error (extensions never block).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import boto3
from botocore.config import Config

from chalicelib import cache, roles

LAMBDA = 'lambda'
SQS = 'sqs'
SNS = 'sns'
EVENTS = 'events'

_PARTITION = r'arn:aws[a-zA-Z-]*'
_REGION = r'[a-z]{2}(?:-[a-z]+)+-\d'
_PATTERNS = (
    (
        LAMBDA,
        re.compile(
            rf'{_PARTITION}:lambda:({_REGION}):(\d{{12}}):function:'
            r'[a-zA-Z0-9_-]{1,64}(?::(?:\$LATEST|[a-zA-Z0-9_-]{1,128}))?'
        ),
    ),
    (
        SQS,
        re.compile(
            rf'{_PARTITION}:sqs:({_REGION}):(\d{{12}}):'
            r'([a-zA-Z0-9_-]{1,80}(?:\.fifo)?)'
        ),
    ),
    (
        SNS,
        re.compile(
            rf'{_PARTITION}:sns:({_REGION}):(\d{{12}}):'
            r'([a-zA-Z0-9_-]{1,256}(?:\.fifo)?)'
        ),
    ),
    (EVENTS, re.compile(rf'{_PARTITION}:events:({_REGION}):(\d{{12}}):event-bus/(default)')),
)


@dataclass(frozen=True)
class Target:
    kind: str
    region: str
    account: str
    name: str | None
    uri: str


def parse(uri: str | None) -> Target | None:
    """The Target a target ARN names, or None for anything else."""
    for kind, pattern in _PATTERNS:
        match = pattern.fullmatch(uri or '')
        if match:
            groups = match.groups()
            return Target(kind, groups[0], groups[1], groups[2] if len(groups) > 2 else None, uri)
    return None


def kind(uri: str | None) -> str | None:
    """LAMBDA, SQS, SNS or EVENTS for a target ARN; None for anything else."""
    found = parse(uri)
    return found.kind if found else None


# --- clients ---------------------------------------------------------------------------------

SYNC = Config(read_timeout=15, connect_timeout=3, retries={'max_attempts': 1})
_ASYNC = Config(read_timeout=5, connect_timeout=2, retries={'max_attempts': 2})
_SESSION_NAME = 'appconfig-extension'
_queue_urls = cache.TTLCache(float('inf'), with_frozen_clock=True)  # (queue ARN, role) -> url


def client(service: str, region: str, role_arn: str | None = None, config: Config = _ASYNC):
    """A boto3 client for an action target, as ``role_arn`` when the action names one."""
    extra = roles.credentials(role_arn, _SESSION_NAME) if role_arn else {}
    return boto3.client(service, region_name=region, config=config, **extra)


def lambda_client(region: str, role_arn: str | None = None):  # -> botocore Lambda client
    """The Lambda client for synchronous and asynchronous invocations (tests replace it)."""
    return client('lambda', region, role_arn, SYNC)


def _queue_url(sqs, target: Target, role: str | None) -> str:
    return _queue_urls.get(
        (target.uri, role),
        lambda: sqs.get_queue_url(QueueName=target.name, QueueOwnerAWSAccountId=target.account)[
            'QueueUrl'
        ],
    )


# --- deliverers --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Message:
    """One ON_* action's notification, before it is shaped for its target kind."""

    common: dict  # InvocationId, Parameters, Type, Application, Environment, Profile
    number: int  # deployment number
    description: str | None
    configuration_version: str
    group: str  # FIFO message group: one per deployment
    invocation_id: str
    detail_type: str  # EventBridge detail-type of the action point
    type_name: str  # the action point's event Type
    resource: str  # the association ARN (EventBridge Resources)
    source: str  # EventBridge source


def _to_lambda(target: Target, m: Message, role: str | None):
    payload = {
        **m.common,
        'DeploymentNumber': m.number,
        'Description': m.description,
        'ConfigurationVersion': m.configuration_version,
    }
    lambda_client(target.region, role).invoke(
        FunctionName=target.uri,
        InvocationType='Event',
        Payload=json.dumps(payload, separators=(',', ':')).encode(),
    )
    return None


def _to_events(target: Target, m: Message, role: str | None):
    detail = {
        **m.common,
        'DeploymentNumber': m.number,
        'ConfigurationVersion': m.configuration_version,
    }
    answer = client('events', target.region, role).put_events(
        Entries=[
            {
                'Source': m.source,
                'DetailType': m.detail_type,
                'Resources': [m.resource],
                'EventBusName': target.uri,
                'Detail': json.dumps(detail, separators=(',', ':')),
            }
        ]
    )
    if answer.get('FailedEntryCount'):
        entry = (answer.get('Entries') or [{}])[0]
        return (
            entry.get('ErrorCode') or 'FailedEntry',
            entry.get('ErrorMessage') or 'EventBridge refused the event',
        )
    return None


def _message_body(m: Message) -> str:
    message = {
        **m.common,
        'Description': m.description,
        'DeploymentNumber': str(m.number),
        'ConfigurationVersion': m.configuration_version,
    }
    # The documented message order: the Type last.
    message['Type'] = message.pop('Type')
    return json.dumps(message, separators=(',', ':'))


def _fifo(target: Target, m: Message) -> dict:
    if not target.name.endswith('.fifo'):
        return {}
    return {'MessageGroupId': m.group, 'MessageDeduplicationId': m.invocation_id}


def _to_sqs(target: Target, m: Message, role: str | None):
    sqs = client('sqs', target.region, role)
    sqs.send_message(
        QueueUrl=_queue_url(sqs, target, role), MessageBody=_message_body(m), **_fifo(target, m)
    )
    return None


def _to_sns(target: Target, m: Message, role: str | None):
    client('sns', target.region, role).publish(
        TopicArn=target.uri,
        Message=_message_body(m),
        MessageAttributes={'MessageType': {'DataType': 'String', 'StringValue': m.type_name}},
        **_fifo(target, m),
    )
    return None


# kind -> deliverer(target, message, role ARN or None) -> None, or (error code, message) when
# the target refused without raising. Raises on any other failure.
DELIVERERS = {LAMBDA: _to_lambda, SQS: _to_sqs, SNS: _to_sns, EVENTS: _to_events}


def deliver(target: Target, message: Message, role: str | None) -> tuple[str, str] | None:
    return DELIVERERS[target.kind](target, message, role)
