"""Extension action points: what runs when, with which payload, and what is recorded.

Action points and how they run (user guide, "Creating custom extensions"):

- PRE_CREATE_HOSTED_CONFIGURATION_VERSION and PRE_START_DEPLOYMENT run synchronously, in the
  request, before anything is written: the Lambda function gets the content (base64) and may
  replace it by answering ``{"Content": "<base64>"}``; a failure fails the request with
  BadRequestException "Error invoking extension <name>: <message>". Several extensions run one
  after the other (application, then environment, then profile associations), each getting
  the content the previous one returned.
- AT_DEPLOYMENT_TICK runs synchronously on every tick while the deployment is DEPLOYING or
  BAKING; an answer ``{"Directive": "ROLL_BACK", "Description": ...}``, or a failed call,
  asks for a rollback (:func:`at_deployment_tick` returns the cause; engine/lifecycle.py
  rolls back and then calls :func:`rolled_back` to record the invocation).
- ON_DEPLOYMENT_START / STEP / BAKING / COMPLETE / ROLLED_BACK run after the engine wrote the
  matching EventLog event (DEPLOYMENT_STARTED, PERCENTAGE_UPDATED, BAKE_TIME_STARTED,
  DEPLOYMENT_COMPLETED, ROLLBACK_COMPLETED or REVERT_COMPLETED), delivered by
  engine/extensions/targets.py. Errors are recorded on the invocation and never block or
  undo anything.

Every invocation made for a deployment is recorded (store.extensions.Invocation) under the
EventLog event it belongs to and shown as that event's ActionInvocations: PRE_START_DEPLOYMENT
and ON_DEPLOYMENT_START under DEPLOYMENT_STARTED, each ON_* under its event, and an
AT_DEPLOYMENT_TICK call under the ROLLBACK_STARTED it caused (ticks that answer CONTINUE are
not recorded: there is one per tick). The extensions that covered the deployment when it
started are its AppliedExtensions.

Cost: nothing beyond bindings.covering() (cached) while no association has an action for the
point; then one call per action, and one BatchWrite of the records.
"""

from __future__ import annotations

import base64
import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

from botocore.exceptions import ClientError

from chalicelib import arns
from chalicelib.constants import EventType
from chalicelib.engine import eventlog, events
from chalicelib.engine.extensions import catalog, targets
from chalicelib.engine.extensions.bindings import covering, name, ref
from chalicelib.engine.progress import Due
from chalicelib.errors import BadRequestException
from chalicelib.store.deployments import Deployment
from chalicelib.store.environments import Environment
from chalicelib.store.extensions import Invocation, deployment_key
from chalicelib.store.ids import new_id
from chalicelib.store.profiles import Profile

log = logging.getLogger(__name__)

POINTS = (
    'PRE_CREATE_HOSTED_CONFIGURATION_VERSION',
    'PRE_START_DEPLOYMENT',
    'AT_DEPLOYMENT_TICK',
    'ON_DEPLOYMENT_START',
    'ON_DEPLOYMENT_STEP',
    'ON_DEPLOYMENT_BAKING',
    'ON_DEPLOYMENT_COMPLETE',
    'ON_DEPLOYMENT_ROLLED_BACK',
)
# The event ``Type`` each action point sends: PRE_START_DEPLOYMENT -> PreStartDeployment.
TYPES = {p: ''.join(w.capitalize() for w in p.split('_')) for p in POINTS}
# EventBridge detail-type: "On Deployment Complete".
DETAIL_TYPES = {p: ' '.join(w.capitalize() for w in p.split('_')) for p in POINTS}
# The EventLog event after which each ON_* action point runs.
EVENT_POINTS = {
    'DEPLOYMENT_STARTED': 'ON_DEPLOYMENT_START',
    'PERCENTAGE_UPDATED': 'ON_DEPLOYMENT_STEP',
    'BAKE_TIME_STARTED': 'ON_DEPLOYMENT_BAKING',
    'DEPLOYMENT_COMPLETED': 'ON_DEPLOYMENT_COMPLETE',
    'ROLLBACK_COMPLETED': 'ON_DEPLOYMENT_ROLLED_BACK',
    'REVERT_COMPLETED': 'ON_DEPLOYMENT_ROLLED_BACK',
}


def _record(b, action, uri, invocation_id, error=None):
    out = {
        'ExtensionIdentifier': b.extension.arn,
        'ActionName': action.get('Name'),
        'Uri': uri,
        'InvocationId': invocation_id,
    }
    if action.get('RoleArn'):
        out['RoleArn'] = action['RoleArn']
    if error:
        out['ErrorCode'], out['ErrorMessage'] = error[0], error[1][:2048]
    return out


def _error_of(exc):
    if isinstance(exc, ClientError):
        err = exc.response.get('Error', {})
        return err.get('Code') or 'ClientError', err.get('Message') or str(exc)
    return type(exc).__name__, str(exc) or type(exc).__name__


def _call(b, action, payload):
    """Invoke the action's Lambda function synchronously: (answer, error, record). ``answer``
    is the decoded JSON the function returned (None if none); ``error`` is (code, message)."""
    function = action['Uri']
    invocation_id = payload['InvocationId']
    found = targets.parse(function)
    region = found.region if found else arns.region()
    try:
        answer = targets.lambda_client(region, action.get('RoleArn')).invoke(
            FunctionName=function,
            InvocationType='RequestResponse',
            Payload=json.dumps(payload, separators=(',', ':')).encode(),
        )
        raw = answer['Payload'].read() if answer.get('Payload') is not None else b''
    except Exception as exc:  # noqa: BLE001 - the caller decides what a failure means
        error = _error_of(exc)
        return None, error, _record(b, action, function, invocation_id, error)
    try:
        decoded = json.loads(raw) if raw else None
    except (ValueError, RecursionError):
        decoded = None
    if answer.get('FunctionError'):
        detail = decoded if isinstance(decoded, dict) else {}
        message = detail.get('errorMessage') or raw.decode('utf-8', 'replace')[:500] or 'failed'
        error = (detail.get('errorType') or answer['FunctionError'], message)
        return None, error, _record(b, action, function, invocation_id, error)
    return decoded, None, _record(b, action, function, invocation_id)


def _replacement(b, answer):
    """New content from a PRE_* answer ``{"Content": "<base64>"}``, or None."""
    if not isinstance(answer, dict) or answer.get('Content') is None:
        return None
    value = answer['Content']
    try:
        if not isinstance(value, str):
            raise ValueError
        return base64.b64decode(value, validate=True)
    except ValueError:
        raise BadRequestException(
            f'Error invoking extension {b.extension.name}: the returned Content is not '
            f'base64-encoded.'
        ) from None


def _fail(b, error):
    return BadRequestException(f'Error invoking extension {b.extension.name}: {error[1]}')


def _iso(moment):
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat()


def _save(key, entries):
    """Record invocations: ``entries`` are (event_type, occurred_at, point, record)."""
    if not entries:
        return
    try:
        with Invocation.batch_write() as batch:
            for seq, (event_type, occurred_at, point, record) in enumerate(entries):
                at = _iso(occurred_at)
                batch.save(
                    Invocation(
                        key,
                        f'r#{at}#{event_type}#{POINTS.index(point)}#{seq:04d}#'
                        f'{record["InvocationId"]}',
                        event_type=event_type,
                        occurred_at=at,
                        record=record,
                    )
                )
    except Exception:  # noqa: BLE001 - the invocations happened; only their record is lost
        log.exception('recording extension invocations of deployment %s failed', key)


# --- PRE_CREATE_HOSTED_CONFIGURATION_VERSION ---------------------------------------------------


def pre_create_hosted_configuration_version(
    profile: Profile, content: bytes, params: dict, max_bytes: int
) -> bytes:
    """The content to store for CreateHostedConfigurationVersion on ``profile``: ``content``
    as the covering PRE_CREATE_HOSTED_CONFIGURATION_VERSION actions return it. Content over
    ``max_bytes`` is returned as it is, for the size check that follows to refuse."""
    point = 'PRE_CREATE_HOSTED_CONFIGURATION_VERSION'
    todo = [
        (b, b.action(point))
        for b in covering(profile.application_id, None, profile.id)
        if b.action(point) and not b.builtin
    ]
    if not todo:
        return content
    if len(content) > max_bytes:
        return content  # refused by the size check that follows
    application = ref(profile.application_id, name('application', profile.application_id))
    for b, action in todo:
        payload = {
            'InvocationId': new_id(),
            'Parameters': b.parameters,
            'Type': TYPES[point],
            'Application': application,
            'ConfigurationProfile': ref(profile.id, profile.name),
            'Description': params.get('Description'),
            'ContentType': params.get('ContentType'),
            'VersionLabel': params.get('VersionLabel'),
            'Content': base64.b64encode(content).decode(),
        }
        answer, error, record = _call(b, action, payload)
        log.info('extension invocation %s', json.dumps(record))
        if error:
            raise _fail(b, error)
        new = _replacement(b, answer)
        if new is not None:
            content = new
    return content


# --- PRE_START_DEPLOYMENT and the deployment's AppliedExtensions -------------------------------


@dataclass
class Start:
    """What PRE_START_DEPLOYMENT decided for one StartDeployment."""

    content: bytes
    replaced: bool = False
    applied: list = field(default_factory=list)
    records: list = field(default_factory=list)


def _matches(ext, reference):
    return reference in (ext.name, ext.id, ext.arn) or reference.startswith(
        f'{ext.arn.rsplit("/", 1)[0]}/'
    )


def _dynamic(bound, values):
    """{association id: {param: value}} from StartDeployment's DynamicExtensionParameters
    (keys ``<extension name, id or ARN>#<parameter>``). A key naming an extension that covers
    the deployment must name one of its Dynamic parameters (else BadRequestException); keys
    naming no covering extension are kept on the deployment and otherwise unused."""
    out = {}
    for key, value in (values or {}).items():
        reference, _, parameter = key.rpartition('#')
        for b in (b for b in bound if _matches(b.extension, reference)):
            spec = (b.extension.parameters or {}).get(parameter)
            if not spec or not spec.get('Dynamic'):
                raise BadRequestException(
                    f'Dynamic extension parameter {key}: extension {b.extension.name} has no '
                    f'dynamic parameter {parameter}.'
                )
            out.setdefault(b.association_id, {})[parameter] = value
    return out


def _parameters(b, dynamic):
    return {**b.parameters, **(dynamic or {}).get(b.association_id, {})}


def _applied(b, dynamic):
    return {
        'ExtensionId': b.extension.id,
        'ExtensionAssociationId': b.association_id,
        'VersionNumber': b.extension.version,
        'Parameters': _parameters(b, dynamic),
    }


def _version_number(version):
    """The ConfigurationVersion of the version being deployed: an external source's version
    (``configuration_version``, see sources.py), else a hosted version's number."""
    named = getattr(version, 'configuration_version', None)
    if named is not None:
        return str(named)
    number = getattr(version, 'version_number', None)
    if number is None:
        number = getattr(version, 'version', None)
    if isinstance(number, float) and number.is_integer():
        number = int(number)
    return None if number is None else str(number)


def pre_start_deployment(
    environment: Environment, profile: Profile, version, content: bytes, params: dict
) -> Start:
    """Run the PRE_START_DEPLOYMENT actions covering a StartDeployment (before anything is
    written); returns a Start with the content to deploy. ``version`` is the version being
    deployed: a HostedVersion item, or an external source's version object."""
    point = 'PRE_START_DEPLOYMENT'
    bound = covering(profile.application_id, environment.id, profile.id)
    dynamic = _dynamic(bound, params.get('DynamicExtensionParameters'))
    start = Start(content, applied=[_applied(b, dynamic) for b in bound])
    todo = [(b, b.action(point)) for b in bound if b.action(point) and not b.builtin]
    if not todo:
        return start
    application = ref(profile.application_id, name('application', profile.application_id))
    for b, action in todo:
        payload = {
            'InvocationId': new_id(),
            'Parameters': _parameters(b, dynamic),
            'Type': TYPES[point],
            'Application': application,
            'Environment': ref(environment.id, environment.name),
            'ConfigurationProfile': ref(profile.id, profile.name),
            'Description': params.get('Description'),
            'DeploymentStrategyId': params.get('DeploymentStrategyId'),
            'ConfigurationVersion': _version_number(version),
            'VersionLabel': getattr(version, 'version_label', None),
            'ContentType': getattr(version, 'content_type', None),
            'Content': base64.b64encode(start.content).decode(),
        }
        answer, error, record = _call(b, action, payload)
        if error:
            raise _fail(b, error)
        start.records.append(record)
        new = _replacement(b, answer)
        if new is not None:
            start.content, start.replaced = new, True
    return start


def started(start: Start, out: dict) -> dict:
    """After StartDeployment wrote deployment ``out`` (its response): record the
    AppliedExtensions and the PRE_START_DEPLOYMENT invocations, and show them in ``out``."""
    if not start.applied and not start.records:
        return out
    key = deployment_key(out['ApplicationId'], out['EnvironmentId'], out['DeploymentNumber'])
    first = next(
        (e for e in out.get('EventLog') or [] if e['EventType'] == 'DEPLOYMENT_STARTED'), None
    )
    try:
        Invocation(key, 'applied', applied=start.applied).save()
    except Exception:  # noqa: BLE001 - the deployment runs; only the record is lost
        log.exception('recording the applied extensions of deployment %s failed', key)
    out['AppliedExtensions'] = list(start.applied)
    if first is not None and start.records:
        _save(
            key,
            [
                ('DEPLOYMENT_STARTED', first['OccurredAt'], 'PRE_START_DEPLOYMENT', r)
                for r in start.records
            ],
        )
        first['ActionInvocations'] = list(start.records) + list(
            first.get('ActionInvocations') or []
        )
    return out


def annotate(item: Deployment, out: dict) -> dict:
    """Add AppliedExtensions and each event's ActionInvocations to a rendered Deployment."""
    key = deployment_key(item.application_id, item.environment_id, item.number)
    try:
        rows = list(Invocation.query(key, consistent_read=True))
    except Exception:  # noqa: BLE001 - the deployment still reads without them
        log.exception('reading the extension invocations of deployment %s failed', key)
        return out
    by_event = {}
    for row in rows:
        if row.sort == 'applied':
            out['AppliedExtensions'] = list(row.applied or [])
        elif row.record:
            by_event.setdefault((row.event_type, row.occurred_at), []).append(row.record)
    if by_event:
        for e in out.get('EventLog') or []:
            found = by_event.get((e['EventType'], _iso(e['OccurredAt'])))
            if found:
                e['ActionInvocations'] = found
    return out


# --- deployments: context, ON_* and AT_DEPLOYMENT_TICK -----------------------------------------


@dataclass
class Context:
    key: str
    application: dict
    environment: dict
    profile: dict
    number: int
    description: str | None
    configuration_version: str
    dynamic: dict


def _deployment_context(item, bound):
    full = item
    if getattr(item, 'configuration_name', None) is None:
        # An item from the tick's index holds only what the tick needs.
        try:
            full = Deployment.get(item.env_key, int(item.number), consistent_read=True)
        except Deployment.DoesNotExist:
            full = item
    try:
        dynamic = _dynamic(bound, getattr(full, 'dynamic_extension_parameters', None))
    except BadRequestException:
        dynamic = {}  # associations changed since the deployment started
    a, e, p = item.application_id, item.environment_id, item.profile_id
    return Context(
        deployment_key(a, e, item.number),
        ref(a, name('application', a)),
        ref(e, name('environment', a, e)),
        ref(p, getattr(full, 'configuration_name', None) or name('profile', a, p)),
        int(item.number),
        getattr(full, 'description', None),
        item.configuration_version,
        dynamic,
    )


def _deliver(b, point, action, ctx):
    """Perform one ON_* action; returns its ActionInvocation record (never raises)."""
    invocation_id = new_id()
    parameters = _parameters(b, ctx.dynamic)
    if b.extension.authored and b.extension.id in catalog.TARGET_PARAMETERS:
        uri = parameters.get(catalog.TARGET_PARAMETERS[b.extension.id][0])
    else:
        uri = action.get('Uri')
    message = targets.Message(
        common={
            'InvocationId': invocation_id,
            'Parameters': parameters,
            'Type': TYPES[point],
            'Application': ctx.application,
            'Environment': ctx.environment,
            'ConfigurationProfile': ctx.profile,
        },
        number=ctx.number,
        description=ctx.description,
        configuration_version=ctx.configuration_version,
        group=ctx.key,
        invocation_id=invocation_id,
        detail_type=DETAIL_TYPES[point],
        type_name=TYPES[point],
        resource=b.association_arn,
        source=events.source(),
    )
    try:
        target = targets.parse(uri)
        if target is None:
            raise ValueError(f'{uri} is not a Lambda function, queue, topic or event bus ARN')
        refused = targets.deliver(target, message, action.get('RoleArn'))
    except Exception as exc:  # noqa: BLE001 - ON_* errors are recorded, never raised
        log.warning(
            'extension %s action %s (%s) failed: %s',
            b.extension.arn,
            action.get('Name'),
            point,
            exc,
        )
        return _record(b, action, uri or '-', invocation_id, _error_of(exc))
    return _record(b, action, uri, invocation_id, refused)


def after_events(item: Deployment, written: list[dict]) -> None:
    """Run the ON_* actions for the EventLog events a writer just wrote for deployment
    ``item`` (event dicts, oldest first), and record the invocations. Never raises."""
    try:
        due = [
            (e, EVENT_POINTS[e['event_type']])
            for e in written or ()
            if e['event_type'] in EVENT_POINTS
        ]
        if not due:
            return
        bound = [
            b
            for b in covering(item.application_id, item.environment_id, item.profile_id)
            if not b.builtin
        ]
        if not any(b.action(point) for b in bound for _, point in due):
            return
        ctx = _deployment_context(item, bound)
        entries = []
        for event, point in due:
            for b in bound:
                action = b.action(point)
                if action:
                    entries.append(
                        (
                            event['event_type'],
                            event['occurred_at'],
                            point,
                            _deliver(b, point, action, ctx),
                        )
                    )
        _save(ctx.key, entries)
    except Exception:  # noqa: BLE001 - the events are written; actions are best effort
        log.exception(
            'extension actions for deployment %s #%s failed',
            getattr(item, 'env_key', '?'),
            getattr(item, 'number', '?'),
        )


@dataclass(frozen=True)
class Rollback:
    """An AT_DEPLOYMENT_TICK action asked for a rollback (or failed)."""

    cause: eventlog.Cause
    key: str  # the deployment's invocation key
    record: dict  # the ActionInvocation that asked


def has_tick_action(item: Deployment) -> bool:
    """Whether an AT_DEPLOYMENT_TICK action covers the deployment ``item`` (cached lookups)."""
    return any(
        b.action('AT_DEPLOYMENT_TICK') and not b.builtin
        for b in covering(item.application_id, item.environment_id, item.profile_id)
    )


def at_deployment_tick(item: Deployment, due: Due) -> Rollback | None:
    """Call the AT_DEPLOYMENT_TICK actions of an in-progress deployment, in order, until one
    answers ROLL_BACK (or fails): its Rollback. None when every action said to continue (or
    there is none). The caller rolls back and then calls :func:`rolled_back`."""
    point = 'AT_DEPLOYMENT_TICK'
    bound = covering(item.application_id, item.environment_id, item.profile_id)
    todo = [(b, b.action(point)) for b in bound if b.action(point) and not b.builtin]
    if not todo:
        return None
    ctx = _deployment_context(item, bound)
    for b, action in todo:
        payload = {
            'InvocationId': new_id(),
            'Parameters': _parameters(b, ctx.dynamic),
            'Type': TYPES[point],
            'Application': ctx.application,
            'Environment': ctx.environment,
            'ConfigurationProfile': ctx.profile,
            'DeploymentNumber': ctx.number,
            'Description': ctx.description,
            'ConfigurationVersion': ctx.configuration_version,
            'DeploymentState': due.state,
            'PercentageComplete': float(due.percentage),
        }
        answer, error, record = _call(b, action, payload)
        if error:
            why = f'the call failed ({error[0]}: {error[1]})'
        elif isinstance(answer, dict) and str(answer.get('Directive') or '').upper() == 'ROLL_BACK':
            why = str(answer.get('Description') or 'no description given')
        else:
            continue
        return Rollback(
            eventlog.by_extension(b.extension.name, action.get('Name'), why), ctx.key, record
        )
    return None


def rolled_back(rollback: Rollback, at: datetime) -> None:
    """Record the AT_DEPLOYMENT_TICK invocation under the ROLLBACK_STARTED it caused."""
    _save(rollback.key, [(EventType.ROLLBACK_STARTED, at, 'AT_DEPLOYMENT_TICK', rollback.record)])
