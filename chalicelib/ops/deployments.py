"""StartDeployment, GetDeployment, ListDeployments, StopDeployment.

StartDeployment reads and checks the request (version, PRE_START_DEPLOYMENT extension actions,
validators, the delivered bytes) and hands the write to engine/lifecycle.start: one DynamoDB
transaction over the Environment (conditioned on having no deployment in progress and on
``latest_deployment`` still being the number read), the new Deployment and the Delivery the
data plane reads. A failed condition answers ConflictException and nothing is written, so
concurrent starts on one environment give exactly one deployment. StopDeployment is
lifecycle.roll_back (in progress) or lifecycle.revert (complete, with Allow-Revert).

Reads are exact for the current instant: the events and state the strategy owes by now are
merged in from the growth schedule (engine/progress.py) whether or not the tick wrote them.
"""

import logging

from pynamodb.exceptions import TransactWriteError

from chalicelib import arns, clock, crypto, flags, sources
from chalicelib.constants import FEATURE_FLAGS, IN_PROGRESS, REVERTED, ROLLED_BACK
from chalicelib.engine import eventlog, lifecycle, progress
from chalicelib.engine.extensions import points
from chalicelib.errors import BadRequestException, ConflictException, not_found
from chalicelib.ops import environments, hosted_versions, profiles, strategies, tagging, validation
from chalicelib.store import paging
from chalicelib.store.deployments import Deployment, env_key
from chalicelib.store.tx import conflicted

log = logging.getLogger(__name__)

STOP_ATTEMPTS = 10
START_ATTEMPTS = 10
_STRATEGY_KEYS = (
    'DeploymentDurationInMinutes',
    'GrowthType',
    'GrowthFactor',
    'FinalBakeTimeInMinutes',
)


# --- rendering -------------------------------------------------------------------------


def _wire_event(e):
    return {
        'EventType': e['event_type'],
        'TriggeredBy': e['triggered_by'],
        'Description': e['description'],
        'OccurredAt': e['occurred_at'],
    }


def _common(item, view):
    s = item.strategy
    return {
        'DeploymentNumber': int(item.number),
        'ConfigurationProfileId': item.profile_id,
        'ConfigurationName': item.configuration_name,
        'ConfigurationVersion': item.configuration_version,
        'DeploymentDurationInMinutes': int(s['DeploymentDurationInMinutes']),
        'GrowthType': s.get('GrowthType') or 'LINEAR',
        'GrowthFactor': float(s['GrowthFactor']),
        'FinalBakeTimeInMinutes': int(s.get('FinalBakeTimeInMinutes') or 0),
        'State': view.state,
        'PercentageComplete': float(view.percentage),
        'StartedAt': item.started_at,
        'CompletedAt': view.completed_at,
        'VersionLabel': item.version_label,
    }


def render(item, now=None):
    """The Deployment shape, exact for ``now``."""
    view = progress.view(item, now or clock.now())
    out = _common(item, view)
    out.update(
        {
            'ApplicationId': item.application_id,
            'EnvironmentId': item.environment_id,
            'DeploymentStrategyId': item.strategy_id,
            'ConfigurationLocationUri': item.configuration_location_uri,
            'Description': item.description,
            'EventLog': [_wire_event(e) for e in reversed(view.events)],
            'AppliedExtensions': [],
            'KmsKeyArn': item.kms_key_arn,
            'KmsKeyIdentifier': item.kms_key_identifier,
        }
    )
    return points.annotate(item, out)  # AppliedExtensions, ActionInvocations


def render_summary(item, now=None):
    out = _common(item, progress.view(item, now or clock.now()))
    out['Type'] = item.type or 'USER'
    return out


# --- reads -----------------------------------------------------------------------------


def load(application_id, environment_id, number):
    try:
        return Deployment.get(
            env_key(application_id, environment_id), int(number), consistent_read=True
        )
    except Deployment.DoesNotExist:
        raise not_found('Deployment', str(number)) from None


def get_deployment(p):
    return render(load(p['ApplicationId'], p['EnvironmentId'], p['DeploymentNumber']))


def list_deployments(p):
    environments.load(p['ApplicationId'], p['EnvironmentId'])
    now = clock.now()
    return paging.page(
        Deployment,
        env_key(p['ApplicationId'], p['EnvironmentId']),
        p,
        render=lambda item: render_summary(item, now),
        scan_index_forward=False,
        consistent_read=True,
    )


# --- StartDeployment -------------------------------------------------------------------


def _snapshot(strategy):
    return {k: strategy[k] for k in _STRATEGY_KEYS if strategy.get(k) is not None}


def _version_name(version):
    """The version as deployments show it: a hosted version's number, or the version of an
    external source as the request named it (an S3 VersionId, a parameter version, ...)."""
    name = getattr(version, 'configuration_version', None)
    return name if name is not None else str(validation.version_number(version))


def _release(version, digest):
    return {
        'VersionNumber': _version_name(version),
        'VersionLabel': version.version_label,
        'ContentType': version.content_type,
        'Digest': digest,
    }


def _hosted_version(application_id, profile, version, kms_identifier=None):
    if profile.location_uri != 'hosted':
        # S3, SSM, Secrets Manager: read now; the bytes are snapshotted below (sources.py).
        return sources.fetch(profile, version, kms_identifier)
    item = hosted_versions.load_version(application_id, profile.id, version)
    return item, hosted_versions.read_content(item)


def start_deployment(p):
    application_id, environment_id = p['ApplicationId'], p['EnvironmentId']
    tags = tagging.check(p.get('Tags'))
    environment = environments.load(application_id, environment_id)
    profile = profiles.load(application_id, p['ConfigurationProfileId'])
    strategy = strategies.load(p['DeploymentStrategyId'])
    version, raw = _hosted_version(
        application_id, profile, p['ConfigurationVersion'], p.get('KmsKeyIdentifier')
    )
    # PRE_START_DEPLOYMENT extension actions (may replace the content, or refuse).
    start = points.pre_start_deployment(environment, profile, version, raw, p)
    raw = start.content
    validation.check(profile, _version_name(version), raw)
    kms_identifier = p.get('KmsKeyIdentifier')
    # The delivered bytes, encrypted with the deployment's or the version's KMS key (crypto.py).
    flat = profile.type == FEATURE_FLAGS
    digest, kms_arn = crypto.delivered(
        version, flags.flatten(raw) if flat else raw, kms_identifier, changed=flat or start.replaced
    )
    target = _release(version, digest)
    if flat:
        # The stored document as well: the Ion answer for the AppConfig Agent and Agent-style
        # evaluation need the variants that the flattened bytes leave out.
        target['DocumentDigest'], _ = crypto.delivered(
            version, raw, kms_identifier, changed=start.replaced
        )

    for attempt in range(START_ATTEMPTS):
        if attempt:
            environment = environments.load(application_id, environment_id)
        now = clock.now()
        try:
            item = lifecycle.start(
                environment,
                profile,
                _snapshot(strategy),
                target,
                now,
                strategy_id=strategy['Id'],
                description=p.get('Description'),
                tags=tags,
                latest_expected=p.get('LatestDeploymentNumber'),
                kms_identifier=kms_identifier,
                kms_arn=kms_arn,
                dynamic_parameters=p.get('DynamicExtensionParameters'),
            )
        except TransactWriteError as error:
            if conflicted(error):
                continue  # another transaction held an item: read again and decide again
            if getattr(error, 'cause_response_code', None) != 'TransactionCanceledException':
                raise
            raise ConflictException(
                lifecycle.busy_message(application_id, environment_id)
            ) from None
        return points.started(start, render(item, now))
    raise ConflictException(lifecycle.busy_message(application_id, environment_id))


# --- StopDeployment --------------------------------------------------------------------


def stop_deployment(p):
    application_id, environment_id = p['ApplicationId'], p['EnvironmentId']
    number = p['DeploymentNumber']
    account = arns.account()
    for _ in range(STOP_ATTEMPTS):
        item = load(application_id, environment_id, number)
        now = clock.now()
        if item.state in (ROLLED_BACK, REVERTED):
            raise BadRequestException(f'Deployment {number} was already stopped ({item.state}).')
        due = progress.due(item, now) if item.state in IN_PROGRESS else None
        if due is not None and due.state in IN_PROGRESS:
            if lifecycle.roll_back(item, now, due, eventlog.by_user(account)):
                return render(load(application_id, environment_id, number), now)
            continue  # a tick or another stop wrote first: read again
        # COMPLETE (written, or due by the clock).
        if not p.get('AllowRevert'):
            raise BadRequestException(
                f'Deployment {number} is complete and cannot be stopped. To revert it to the '
                f'previous configuration, repeat the request with Allow-Revert: true '
                f'(possible for {int(progress.REVERT_WINDOW.total_seconds() // 3600)} hours '
                f'after it completed).'
            )
        completed_at = item.completed_at or due.completed_at
        if now - completed_at > progress.REVERT_WINDOW:
            raise BadRequestException(
                f'Deployment {number} completed at {completed_at.isoformat()}, more than '
                f'{int(progress.REVERT_WINDOW.total_seconds() // 3600)} hours ago, and can no '
                f'longer be reverted.'
            )
        if lifecycle.revert(item, now, due, completed_at, account):
            return render(load(application_id, environment_id, number), now)
    raise ConflictException(f'Deployment {number} is changing; try again.')
