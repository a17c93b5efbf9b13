"""StartDeployment, GetDeployment, ListDeployments, StopDeployment.

StartDeployment is one DynamoDB transaction over three items: the Environment (conditioned on
having no deployment in progress and on ``latest_deployment`` still being the number read),
the new Deployment (conditioned on not existing) and the Delivery the data plane reads. Any
failed condition answers ConflictException and nothing is written, so concurrent starts on
one environment give exactly one deployment.

Reads are exact for the current instant: the events and state the strategy owes by now are
merged in from the growth schedule (engine/progress.py) whether or not the tick wrote them.
"""
import logging

from pynamodb.exceptions import TransactWriteError

from chalicelib import arns, clock, crypto, flags, sources
from chalicelib.engine import actions, growth, progress, tick
from chalicelib.engine.progress import DEPLOYMENT_STARTED, REVERT_COMPLETED, USER, event
from chalicelib.errors import BadRequestException, ConflictException, not_found
from chalicelib.ops import tagging, validation
from chalicelib.store import paging
from chalicelib.store.delivery import Delivery
from chalicelib.store.delivery import key as delivery_key
from chalicelib.store.deployments import (ACTIVE, COMPLETE, IN_PROGRESS, REVERTED,
                                          ROLLED_BACK, Deployment, Event, active_key, env_key)

log = logging.getLogger(__name__)

FEATURE_FLAGS = 'AWS.AppConfig.FeatureFlags'
STOP_ATTEMPTS = 10
START_ATTEMPTS = 10
_STRATEGY_KEYS = ('DeploymentDurationInMinutes', 'GrowthType', 'GrowthFactor',
                  'FinalBakeTimeInMinutes')


# --- rendering -------------------------------------------------------------------------

def _wire_event(e):
    return {'EventType': e['event_type'], 'TriggeredBy': e['triggered_by'],
            'Description': e['description'], 'OccurredAt': e['occurred_at']}


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
    out.update({
        'ApplicationId': item.application_id,
        'EnvironmentId': item.environment_id,
        'DeploymentStrategyId': item.strategy_id,
        'ConfigurationLocationUri': item.configuration_location_uri,
        'Description': item.description,
        'EventLog': [_wire_event(e) for e in reversed(view.events)],
        'AppliedExtensions': [],
        'KmsKeyArn': item.kms_key_arn,
        'KmsKeyIdentifier': item.kms_key_identifier,
    })
    return actions.annotate(item, out)   # AppliedExtensions, ActionInvocations


def render_summary(item, now=None):
    out = _common(item, progress.view(item, now or clock.now()))
    out['Type'] = item.type or 'USER'
    return out


# --- reads -----------------------------------------------------------------------------

def _environment(application_id, environment_id):
    from chalicelib.ops import environments
    return environments.load(application_id, environment_id)


def load(application_id, environment_id, number):
    try:
        return Deployment.get(env_key(application_id, environment_id), int(number),
                              consistent_read=True)
    except Deployment.DoesNotExist:
        raise not_found('Deployment', str(number)) from None


def get_deployment(p):
    return render(load(p['ApplicationId'], p['EnvironmentId'], p['DeploymentNumber']))


def list_deployments(p):
    _environment(p['ApplicationId'], p['EnvironmentId'])
    now = clock.now()
    return paging.page(Deployment, env_key(p['ApplicationId'], p['EnvironmentId']), p,
                       render=lambda item: render_summary(item, now), scan_index_forward=False,
                       consistent_read=True)


def active_deployment(environment):
    """The in-progress Deployment item of an Environment item, or None."""
    number = getattr(environment, 'active_deployment', None)
    if number is None:
        return None
    try:
        return Deployment.get(env_key(environment.application_id, environment.id), int(number),
                              consistent_read=True)
    except Deployment.DoesNotExist:
        return None


def environment_state(environment, now=None):
    """An Environment item's State exact for ``now`` (for GetEnvironment/ListEnvironments):
    a deployment the clock says is COMPLETE reads ReadyForDeployment before a tick wrote it.
    Costs one GetItem, and only while a deployment is in progress."""
    return progress.environment_state(environment.state, active_deployment(environment),
                                      now or clock.now())


# --- StartDeployment -------------------------------------------------------------------

def _snapshot(strategy):
    return {k: strategy[k] for k in _STRATEGY_KEYS if strategy.get(k) is not None}


def _version_name(version):
    """The version as deployments show it: a hosted version's number, or the version of an
    external source as the request named it (an S3 VersionId, a parameter version, ...)."""
    name = getattr(version, 'configuration_version', None)
    return name if name is not None else str(validation.version_number(version))


def _release(version, digest):
    return {'VersionNumber': _version_name(version),
            'VersionLabel': version.version_label,
            'ContentType': version.content_type,
            'Digest': digest}


def _currently_delivered(old, now):
    """The release clients get from the Delivery item ``old`` once its deployment is over."""
    if old is None:
        return None
    if old.state in (ROLLED_BACK, REVERTED, 'ROLLING_BACK'):
        return old.previous
    return old.target


def _read_delivery(key):
    try:
        return Delivery.get(key, consistent_read=True)
    except Delivery.DoesNotExist:
        return None


def _settle_active(environment, now):
    """If the environment's active deployment has run its course by the clock, write its
    completion now (as the tick would) so a new deployment can start."""
    item = active_deployment(environment)
    if item is None or item.state not in IN_PROGRESS:
        return False
    if progress.due(item, now).state != growth.COMPLETE:
        return False
    tick.advance(item, now, check_alarms=False)
    return True


def _hosted_version(application_id, profile, version, kms_identifier=None):
    from chalicelib.ops import hosted_versions
    if profile.location_uri != 'hosted':
        # S3, SSM, Secrets Manager: read now; the bytes are snapshotted below (sources.py).
        return sources.fetch(profile, version, kms_identifier)
    item = hosted_versions.load_version(application_id, profile.id, version)
    return item, hosted_versions.read_content(item)


def start_deployment(p):
    from chalicelib.ops import profiles, strategies
    from chalicelib.store.environments import conflicted
    application_id, environment_id = p['ApplicationId'], p['EnvironmentId']
    tags = tagging.check(p.get('Tags'))
    environment = _environment(application_id, environment_id)
    profile = profiles.load(application_id, p['ConfigurationProfileId'])
    strategy = strategies.load(p['DeploymentStrategyId'])
    version, raw = _hosted_version(application_id, profile, p['ConfigurationVersion'],
                                   p.get('KmsKeyIdentifier'))
    # PRE_START_DEPLOYMENT extension actions (may replace the content, or refuse).
    start = actions.pre_start_deployment(environment, profile, version, raw, p)
    raw = start.content
    validation.check(profile, _version_name(version), raw)
    kms_identifier = p.get('KmsKeyIdentifier')
    # The delivered bytes, encrypted with the deployment's or the version's KMS key (crypto.py).
    flat = profile.type == FEATURE_FLAGS
    digest, kms_arn = crypto.delivered(version, flags.flatten(raw) if flat else raw,
                                       kms_identifier, changed=flat or start.replaced)
    target = _release(version, digest)

    for attempt in range(START_ATTEMPTS):
        if attempt:
            environment = _environment(application_id, environment_id)
        try:
            return actions.started(start, _start(p, environment, profile, strategy, version,
                                                 target, tags, kms_identifier, kms_arn))
        except TransactWriteError as error:
            if conflicted(error):
                continue   # another transaction held an item: read again and decide again
            if getattr(error, 'cause_response_code', None) != 'TransactionCanceledException':
                raise
            raise ConflictException(_busy_message(application_id, environment_id)) from None
    raise ConflictException(_busy_message(application_id, environment_id))


def _busy_message(application_id, environment_id):
    try:
        environment = _environment(application_id, environment_id)
    except Exception:  # noqa: BLE001 - only the message depends on it
        environment = None
    number = getattr(environment, 'active_deployment', None)
    if number is not None:
        return (f'Deployment number {int(number)} is in progress on environment '
                f'{environment_id}. Wait for it to finish or stop it.')
    return (f'Another deployment to environment {environment_id} started at the same time. '
            f'Get the environment and try again.')


def _start(p, environment, profile, strategy, version, target, tags, kms_identifier,
           kms_arn=None):
    from chalicelib.store.environments import Environment
    application_id, environment_id = environment.application_id, environment.id
    now = clock.now()
    if environment.active_deployment is not None and _settle_active(environment, now):
        environment = _environment(application_id, environment_id)
    latest = int(environment.latest_deployment or 0)
    expected = p.get('LatestDeploymentNumber')
    if expected is not None and int(expected) != latest:
        raise ConflictException(
            f'LatestDeploymentNumber {expected} does not match the latest deployment number '
            f'{latest} of environment {environment_id}.')
    if environment.active_deployment is not None:
        raise ConflictException(_busy_message(application_id, environment_id))
    number = latest + 1

    item = Deployment(
        env_key(application_id, environment_id), number,
        application_id=application_id, environment_id=environment_id,
        profile_id=profile.id, configuration_name=profile.name,
        configuration_location_uri=profile.location_uri,
        configuration_version=target['VersionNumber'], version_label=target['VersionLabel'],
        description=p.get('Description'), strategy_id=strategy['Id'],
        strategy=_snapshot(strategy), monitors=list(environment.monitors or []),
        started_at=now, tags=tags, kms_key_identifier=kms_identifier,
        kms_key_arn=kms_arn,
        dynamic_extension_parameters=p.get('DynamicExtensionParameters'), type='USER')
    due = progress.due(item, now)
    started = event(DEPLOYMENT_STARTED, USER, 'Deployment started', now)
    written = [started] + list(due.pending)
    item.events = [Event(**e) for e in written]
    item.steps_written = due.steps_due
    finished = due.state == growth.COMPLETE          # duration 0 and bake 0
    if finished:
        item.state, item.completed_at, item.percentage = COMPLETE, due.completed_at, 100
        env_actions = [Environment.state.set(progress.ENV_READY),
                       Environment.latest_deployment.set(number)]
    else:
        item.state = due.state
        item.active, item.active_key = ACTIVE, active_key(application_id, environment_id, number)
        env_actions = [Environment.state.set(progress.ENV_DEPLOYING),
                       Environment.latest_deployment.set(number),
                       Environment.active_deployment.set(number)]

    key = delivery_key(application_id, environment_id, profile.id)
    old = _read_delivery(key)
    delivery = Delivery(key, deployment_number=number, state=growth.DEPLOYING, started_at=now,
                        strategy=item.strategy, target=target,
                        previous=_currently_delivered(old, now))
    delivery_condition = (Delivery.key.does_not_exist() if old is None else
                          Delivery.deployment_number == int(old.deployment_number))
    latest_condition = Environment.latest_deployment == latest
    if latest == 0:
        latest_condition |= Environment.latest_deployment.does_not_exist()
    with tick._transaction() as t:
        t.save(item, condition=Deployment.number.does_not_exist())
        t.save(delivery, condition=delivery_condition)
        t.update(Environment(application_id, environment_id), actions=env_actions,
                 condition=Environment.id.exists()
                 & Environment.active_deployment.does_not_exist() & latest_condition)
    percentages = [0.0] + tick._step_percentages(item, due)
    tick._publish(item, written, percentages)
    return render(item, now)


# --- StopDeployment --------------------------------------------------------------------

def stop_deployment(p):
    application_id, environment_id = p['ApplicationId'], p['EnvironmentId']
    number = p['DeploymentNumber']
    account = arns.account()
    for _ in range(STOP_ATTEMPTS):
        item = load(application_id, environment_id, number)
        now = clock.now()
        if item.state in (ROLLED_BACK, REVERTED):
            raise BadRequestException(
                f'Deployment {number} was already stopped ({item.state}).')
        due = progress.due(item, now) if item.state in IN_PROGRESS else None
        if due is not None and due.state in IN_PROGRESS:
            if tick.roll_back(item, now, due, USER, f'Rollback started by account {account}',
                              f'Rollback completed (started by account {account})'):
                return render(load(application_id, environment_id, number), now)
            continue   # a tick or another stop wrote first: read again
        # COMPLETE (written, or due by the clock).
        if not p.get('AllowRevert'):
            raise BadRequestException(
                f'Deployment {number} is complete and cannot be stopped. To revert it to the '
                f'previous configuration, repeat the request with Allow-Revert: true '
                f'(possible for {int(progress.REVERT_WINDOW.total_seconds() // 3600)} hours '
                f'after it completed).')
        completed_at = item.completed_at or due.completed_at
        if now - completed_at > progress.REVERT_WINDOW:
            raise BadRequestException(
                f'Deployment {number} completed at {completed_at.isoformat()}, more than '
                f'{int(progress.REVERT_WINDOW.total_seconds() // 3600)} hours ago, and can no '
                f'longer be reverted.')
        if _revert(item, now, due, completed_at, account):
            return render(load(application_id, environment_id, number), now)
    raise ConflictException(f'Deployment {number} is changing; try again.')


def _revert(item, now, due, completed_at, account):
    """REVERTED + REVERT_COMPLETED; environment Reverted; clients back on the previous
    release. False when another writer changed something first (re-read and retry)."""
    from chalicelib.store.environments import Environment, reasons
    number = int(item.number)
    key = delivery_key(item.application_id, item.environment_id, item.profile_id)
    current = _read_delivery(key)
    if current is None or int(current.deployment_number) != number:
        raise BadRequestException(
            f'Deployment {number} can no longer be reverted: deployment '
            f'{int(current.deployment_number) if current else "?"} of the same configuration '
            f'profile replaced it.')
    environment = _environment(item.application_id, item.environment_id)
    active = environment.active_deployment
    if active is not None and int(active) != number:
        raise ConflictException(
            f'Deployment {int(active)} is in progress on environment {item.environment_id}; '
            f'stop it or wait for it before reverting deployment {number}.')
    pending = list(due.pending) if due is not None else []
    new = pending + [event(REVERT_COMPLETED, USER,
                           f'Deployment reverted by account {account}', now)]
    updates = [tick.append_events(new),
               Deployment.state.set(REVERTED), Deployment.completed_at.set(completed_at),
               Deployment.percentage.set(100)]
    if due is not None:
        updates += [Deployment.steps_written.set(due.steps_due), Deployment.active.remove(),
                    Deployment.active_key.remove()]
        condition = tick._unchanged(item)
        env_condition = Environment.active_deployment == number
    else:
        condition = Deployment.state == COMPLETE
        env_condition = Environment.active_deployment.does_not_exist()
    try:
        with tick._transaction() as t:
            t.update(item, actions=updates, condition=condition)
            t.update(Environment(item.application_id, item.environment_id),
                     actions=[Environment.state.set(progress.ENV_REVERTED),
                              Environment.active_deployment.remove()],
                     condition=env_condition)
            t.update(Delivery(key), actions=[Delivery.state.set(REVERTED)],
                     condition=Delivery.deployment_number == number)
    except TransactWriteError as error:
        if reasons(error):
            return False
        raise
    written = tick._step_percentages(item, due) if due is not None else []
    tick._publish(item, new, written + [100.0])
    return True
