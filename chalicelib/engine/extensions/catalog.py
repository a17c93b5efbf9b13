"""The catalogue of extensions: the AWS-authored ones (constants, never stored) and the
account's custom versions (store.extensions.ExtensionVersion), found by name, id or ARN.

An extension is named by its name, its id or its ARN
(``arn:aws:appconfig:<region>:<account>:extension/<id>/<version>``); AWS-authored ARNs have an
empty account field. The notification extensions deliver to the queue (``queueArn``) or topic
(``topicArn``) named in the association, or to the default event bus; the feature-flags one
is what every AWS.AppConfig.FeatureFlags profile already gets, so its work is the service's.
The Jira one is listed and described as AWS lists it, but cannot be associated: it works only
with the AWS AppConfig for Jira app in the Atlassian Marketplace (:data:`NOT_ASSOCIABLE`).

Cost: an AWS-authored lookup is free; a custom one is one GetItem or one Query (limit 1).
Failure: ResourceNotFoundException from :func:`resolve` when nothing matches.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from chalicelib import arns
from chalicelib.constants import FEATURE_FLAGS
from chalicelib.engine.extensions import targets
from chalicelib.errors import not_found
from chalicelib.store.extensions import Extension, ExtensionVersion, version_key

EVENTBRIDGE = 'AWS.AppConfig.DeploymentNotificationsToEventBridge'
SQS = 'AWS.AppConfig.DeploymentNotificationsToSqs'
SNS = 'AWS.AppConfig.DeploymentNotificationsToSns'
JIRA = 'AWS.AppConfig.JiraIntegration'
NOTIFICATION_POINTS = ('ON_DEPLOYMENT_START', 'ON_DEPLOYMENT_COMPLETE', 'ON_DEPLOYMENT_ROLLED_BACK')
# The association parameter an AWS-authored notification extension delivers to, and the
# target kind it must name.
TARGET_PARAMETERS = {SQS: ('queueArn', targets.SQS), SNS: ('topicArn', targets.SNS)}
# AWS-authored extensions that this server lists but cannot run, and why.
NOT_ASSOCIABLE = {
    JIRA: (
        'The extension AWS.AppConfig.JiraIntegration cannot be associated on this server: '
        'it exports feature flags to Atlassian Jira and works only with the AWS AppConfig '
        'for Jira app from the Atlassian Marketplace, which associates it itself.'
    ),
}


def _notifications(action_name, description, uri):
    return {
        point: [{'Name': action_name, 'Description': description, 'Uri': uri}]
        for point in NOTIFICATION_POINTS
    }


def _authored_definitions():
    """Id -> (Name, Description, Actions, Parameters). The Uri of a notification action
    names the association parameter it delivers to (or the default bus); AWS does not
    publish what its own extensions return there."""
    bus = f'arn:aws:events:{arns.region()}:{arns.account()}:event-bus/default'
    return {
        FEATURE_FLAGS: (
            'AppConfig Feature Flags Helper',
            'Validates AppConfig feature flag data automatically against a JSON schema that '
            'includes structure and constraints. Also transforms feature flag data prior to '
            'sending to the client. This extension is automatically associated to '
            'configuration profiles with type "AWS.AppConfig.FeatureFlags".',
            {
                'PRE_CREATE_HOSTED_CONFIGURATION_VERSION': [
                    {
                        'Name': 'ValidateFeatureFlags',
                        'Description': 'Validates the feature flag document.',
                        'Uri': authored_arn(FEATURE_FLAGS),
                    }
                ],
                'PRE_START_DEPLOYMENT': [
                    {
                        'Name': 'TransformFeatureFlags',
                        'Description': 'Transforms the feature flag document for delivery.',
                        'Uri': authored_arn(FEATURE_FLAGS),
                    }
                ],
            },
            {},
        ),
        # Name and description as the service lists them (AWS CLI list-extensions example).
        # AWS does not publish its actions, and the app associates it itself: none listed.
        JIRA: (
            'AppConfig integration with Atlassian Jira',
            'Exports feature flag data from AWS AppConfig into Jira. The lifecycle of each '
            'feature flag in AppConfig is tracked in Jira as an individual issue. Customers '
            'can see in Jira when flags are updated, turned on or off. Works in conjunction '
            'with the AppConfig app in the Atlassian Marketplace and is automatically '
            'associated to configuration profiles configured within that app.',
            {},
            {},
        ),
        EVENTBRIDGE: (
            'AppConfig deployment events to Amazon EventBridge',
            'Sends events to Amazon EventBridge when a deployment of configuration data in '
            'AppConfig is started, completed, or rolled back. Can be associated to the '
            'following resources in AppConfig: Application, Environment, Configuration '
            'Profile.',
            _notifications(
                'SendEventToEventBridge',
                'Sends the deployment event to the default event bus.',
                bus,
            ),
            {},
        ),
        SQS: (
            'AppConfig deployment events to Amazon SQS',
            'Sends messages to the configured Amazon SQS queue when a deployment of '
            'configuration data in AppConfig is started, completed, or rolled back. Can be '
            'associated to the following resources in AppConfig: Application, Environment, '
            'Configuration Profile.',
            _notifications(
                'SendMessageToSqs',
                'Sends the deployment event to the queue in queueArn.',
                '${queueArn}',
            ),
            {
                'queueArn': {
                    'Description': 'The ARN of the Amazon SQS queue to send messages to.',
                    'Required': True,
                    'Dynamic': False,
                }
            },
        ),
        SNS: (
            'AppConfig deployment events to Amazon SNS',
            'Sends events to the configured Amazon SNS topic when a deployment of '
            'configuration data in AppConfig is started, completed, or rolled back. Can be '
            'associated to the following resources in AppConfig: Application, Environment, '
            'Configuration Profile.',
            _notifications(
                'PublishToSns',
                'Publishes the deployment event to the topic in topicArn.',
                '${topicArn}',
            ),
            {
                'topicArn': {
                    'Description': 'The ARN of the Amazon SNS topic to publish to.',
                    'Required': True,
                    'Dynamic': False,
                }
            },
        ),
    }


# The order in which the service lists them.
AUTHORED_ORDER = (FEATURE_FLAGS, JIRA, EVENTBRIDGE, SQS, SNS)


def authored_arn(extension_id: str) -> str:
    return f'arn:aws:appconfig:{arns.region()}::extension/{extension_id}/1'


def custom_arn(extension_id: str, version: int) -> str:
    return arns.arn(f'extension/{extension_id}/{int(version)}')


def association_arn(association_id: str) -> str:
    return arns.arn(f'extensionassociation/{association_id}')


@dataclass
class Definition:
    """One version of an extension, custom or AWS-authored, in API shape."""

    id: str
    name: str
    version: int
    arn: str
    description: str | None
    actions: dict
    parameters: dict
    authored: bool = False
    item: object = field(default=None, repr=False)  # the ExtensionVersion (custom only)

    def render(self) -> dict:
        out = {
            'Id': self.id,
            'Name': self.name,
            'VersionNumber': self.version,
            'Arn': self.arn,
            'Description': self.description,
            'Actions': self.actions,
        }
        if self.parameters:
            out['Parameters'] = self.parameters
        return out

    def summary(self) -> dict:
        return {
            'Id': self.id,
            'Name': self.name,
            'VersionNumber': self.version,
            'Arn': self.arn,
            'Description': self.description,
        }


def authored(extension_id: str) -> Definition:
    name, description, actions, parameters = _authored_definitions()[extension_id]
    return Definition(
        extension_id,
        name,
        1,
        authored_arn(extension_id),
        description,
        actions,
        parameters,
        authored=True,
    )


def authored_by_name() -> dict[str, str]:
    return {d[0]: i for i, d in _authored_definitions().items()}


def definition(item: ExtensionVersion) -> Definition:
    return Definition(
        item.id,
        item.name,
        int(item.version),
        custom_arn(item.id, item.version),
        item.description,
        dict(item.actions or {}),
        dict(item.parameters or {}),
        item=item,
    )


# --- finding extensions ----------------------------------------------------------------------

_EXTENSION_ARN = re.compile(
    r'arn:aws[a-zA-Z-]*:appconfig:[^:]*:(\d{12})?:extension/([^/]+)(?:/([0-9]+))?'
)
_ID = re.compile(r'[a-z0-9]{4,7}')


def version_item(extension_id: str, version: int) -> ExtensionVersion | None:
    try:
        return ExtensionVersion.get(
            arns.account(), version_key(extension_id, version), consistent_read=True
        )
    except ExtensionVersion.DoesNotExist:
        return None


def latest_item(extension_id: str) -> ExtensionVersion | None:
    items = ExtensionVersion.query(
        arns.account(),
        ExtensionVersion.sort.startswith(f'{extension_id}#'),
        scan_index_forward=False,
        limit=1,
        consistent_read=True,
    )
    return next(iter(items), None)


def head(name: str) -> Extension | None:
    try:
        return Extension.get(arns.account(), name, consistent_read=True)
    except Extension.DoesNotExist:
        return None


def identify(identifier: str) -> tuple[str, str | None, int | None]:
    """(kind, extension id or None, version from an ARN or None); kind is 'authored' or
    'custom'. The id is None when ``identifier`` names no extension."""
    match = _EXTENSION_ARN.fullmatch(identifier)
    if match:
        account, extension_id, version = match.groups()
        version = int(version) if version else None
        if not account:
            return ('authored', extension_id if extension_id in AUTHORED_ORDER else None, version)
        if account != arns.account():
            return 'custom', None, version
        return 'custom', extension_id, version
    if identifier in AUTHORED_ORDER:
        return 'authored', identifier, None
    by_name = authored_by_name()
    if identifier in by_name:
        return 'authored', by_name[identifier], None
    if _ID.fullmatch(identifier) and latest_item(identifier) is not None:
        return 'custom', identifier, None
    found = head(identifier)
    return 'custom', (found.id if found is not None else None), None


def resolve(identifier: str, version: int | None = None) -> Definition:
    """The Definition of ``identifier`` (name, id or ARN) at ``version`` (default: the
    version in the ARN, else the highest); ResourceNotFoundException when there is none."""
    kind, extension_id, arn_version = identify(identifier)
    version = version if version is not None else arn_version
    if extension_id is None:
        raise not_found('Extension', identifier)
    if kind == 'authored':
        if version not in (None, 1):
            raise not_found('Extension', f'{identifier} version {version}')
        return authored(extension_id)
    item = latest_item(extension_id) if version is None else version_item(extension_id, version)
    if item is None:
        raise not_found(
            'Extension', identifier if version is None else f'{identifier} version {version}'
        )
    return definition(item)


def load_definition(extension_id: str, version: int) -> Definition | None:
    """The Definition an association names, or None when it no longer exists."""
    if extension_id in AUTHORED_ORDER:
        return authored(extension_id)
    item = version_item(extension_id, version)
    return definition(item) if item is not None else None
