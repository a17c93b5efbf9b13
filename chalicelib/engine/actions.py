"""Extension actions: which associations cover a configuration, and invoking their actions.

Action points and how they run (user guide, "Creating custom extensions"):

- PRE_CREATE_HOSTED_CONFIGURATION_VERSION and PRE_START_DEPLOYMENT run synchronously, in the
  request, before anything is written: the Lambda function gets the content (base64) and may
  replace it by answering ``{"Content": "<base64>"}``; a failure fails the request with
  BadRequestException "Error invoking extension <name>: <message>". Several extensions run one
  after the other (application, then environment, then profile associations), each getting
  the content the previous one returned.
- AT_DEPLOYMENT_TICK runs synchronously on every tick while the deployment is DEPLOYING or
  BAKING; an answer ``{"Directive": "ROLL_BACK", "Description": ...}``, or a failed call,
  rolls the deployment back (ROLLBACK_STARTED triggered by APPCONFIG, the extension named in
  the description).
- ON_DEPLOYMENT_START / STEP / BAKING / COMPLETE / ROLLED_BACK run after the engine wrote the
  matching EventLog event (DEPLOYMENT_STARTED, PERCENTAGE_UPDATED, BAKE_TIME_STARTED,
  DEPLOYMENT_COMPLETED, ROLLBACK_COMPLETED or REVERT_COMPLETED): a Lambda function is invoked
  with InvocationType Event, a queue gets SendMessage, a topic Publish, the default event bus
  PutEvents. Errors are recorded on the invocation and never block or undo anything.

Every invocation made for a deployment is recorded (store.extensions.Invocation) under the
EventLog event it belongs to and shown as that event's ActionInvocations: PRE_START_DEPLOYMENT
and ON_DEPLOYMENT_START under DEPLOYMENT_STARTED, each ON_* under its event, and an
AT_DEPLOYMENT_TICK call under the ROLLBACK_STARTED it caused (ticks that answer CONTINUE are
not recorded: there is one per tick). The extensions that covered the deployment when it
started are its AppliedExtensions.

Cost: whether the account has any association is one Query; the associations of an
application are one Query on the ``by-application`` index; both are kept for
APPCONFIG_EXTENSION_CACHE_SECONDS (default 5) and dropped at once when this process changes an
extension or association. So an account without associations pays one Query per 5 seconds,
whatever the number of deployments and requests.

Reaching targets. On AWS the service's own role may invoke, send to or publish to targets
only in its own account that are tagged ``appconfig:access=prod`` (.chalice/policy-prod-*.json).
An action with a RoleArn is performed with that role's credentials instead (sts:AssumeRole,
cached until shortly before they expire), which is how targets in other accounts or without
the tag are reached; the role must trust the service's role.
"""
import base64
import json
import logging
import os
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import timezone

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from chalicelib import arns, roles
from chalicelib.errors import BadRequestException
from chalicelib.store.extensions import Association, Invocation, deployment_key
from chalicelib.store.ids import new_id

log = logging.getLogger(__name__)

# --- targets ---------------------------------------------------------------------------------

LAMBDA = 'lambda'
SQS_KIND = 'sqs'
SNS_KIND = 'sns'
EVENTS_KIND = 'events'

_PARTITION = r'arn:aws[a-zA-Z-]*'
_REGION = r'[a-z]{2}(?:-[a-z]+)+-\d'
_TARGETS = (
    (LAMBDA, re.compile(rf'{_PARTITION}:lambda:({_REGION}):(\d{{12}}):function:'
                        r'[a-zA-Z0-9_-]{1,64}(?::(?:\$LATEST|[a-zA-Z0-9_-]{1,128}))?')),
    (SQS_KIND, re.compile(rf'{_PARTITION}:sqs:({_REGION}):(\d{{12}}):'
                          r'([a-zA-Z0-9_-]{1,80}(?:\.fifo)?)')),
    (SNS_KIND, re.compile(rf'{_PARTITION}:sns:({_REGION}):(\d{{12}}):'
                          r'([a-zA-Z0-9_-]{1,256}(?:\.fifo)?)')),
    (EVENTS_KIND, re.compile(rf'{_PARTITION}:events:({_REGION}):(\d{{12}}):event-bus/(default)')),
)


def _target(uri):
    """(kind, region, account, name) of a target ARN, or None."""
    for kind, pattern in _TARGETS:
        match = pattern.fullmatch(uri or '')
        if match:
            groups = match.groups()
            return kind, groups[0], groups[1], groups[2] if len(groups) > 2 else None
    return None


def target_kind(uri):
    """LAMBDA, SQS_KIND, SNS_KIND or EVENTS_KIND for a target ARN; None for anything else."""
    found = _target(uri)
    return found[0] if found else None


# --- action points ---------------------------------------------------------------------------

POINTS = ('PRE_CREATE_HOSTED_CONFIGURATION_VERSION', 'PRE_START_DEPLOYMENT',
          'AT_DEPLOYMENT_TICK', 'ON_DEPLOYMENT_START', 'ON_DEPLOYMENT_STEP',
          'ON_DEPLOYMENT_BAKING', 'ON_DEPLOYMENT_COMPLETE', 'ON_DEPLOYMENT_ROLLED_BACK')
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
APPCONFIG = 'APPCONFIG'
MAX_DESCRIPTION = 1024


@dataclass(frozen=True)
class Bound:
    """One association with the extension version it names."""
    association_id: str
    resource: str
    parameters: dict
    extension: object          # chalicelib.ops.extensions.Definition

    @property
    def level(self):
        # Application, then environment, then configuration profile associations.
        if '/environment/' in self.resource:
            return 1
        return 2 if '/configurationprofile/' in self.resource else 0

    @property
    def association_arn(self):
        return arns.arn(f'extensionassociation/{self.association_id}')

    def action(self, point):
        listed = self.extension.actions.get(point) or []
        return listed[0] if listed else None

    @property
    def builtin(self):
        """True for the feature-flags extension: its work is done by the service itself."""
        from chalicelib.ops.extensions import FEATURE_FLAGS
        return self.extension.authored and self.extension.id == FEATURE_FLAGS


# --- which associations cover a configuration -------------------------------------------------

_cache = {}      # application id -> (expires, [Bound]); ('account', id) -> (expires, bool)
_names = {}      # ('application'|'environment'|'profile', ids) -> (expires, name)
_lock = threading.Lock()


def _ttl():
    try:
        return float(os.environ.get('APPCONFIG_EXTENSION_CACHE_SECONDS') or 5)
    except ValueError:
        return 5.0


def invalidate():
    """Forget cached associations and names (called after every extension or association
    change in this process)."""
    with _lock:
        _cache.clear()
        _names.clear()


def _account_has_associations():
    """Whether the account has any association at all (one Query, cached like the rest):
    while it has none, no action point costs a request."""
    now = time.monotonic()
    account = arns.account()
    with _lock:
        hit = _cache.get(('account', account))
        if hit and hit[0] > now:
            return hit[1]
    found = next(iter(Association.query(account, limit=1)), None) is not None
    with _lock:
        _cache[('account', account)] = (now + _ttl(), found)
    return found


def _application_bindings(application_id):
    now = time.monotonic()
    with _lock:
        hit = _cache.get(application_id)
        if hit and hit[0] > now:
            return hit[1]
    if not _account_has_associations():
        return []
    from chalicelib.ops.extensions import load_definition
    found = []
    for item in Association.by_application.query(application_id):
        ext = load_definition(item.extension_id, int(item.extension_version))
        if ext is None:
            log.warning('extension association %s names a missing extension %s version %s',
                        item.id, item.extension_id, item.extension_version)
            continue
        found.append(Bound(item.id, item.resource, dict(item.parameters or {}), ext))
    with _lock:
        _cache[application_id] = (now + _ttl(), found)
    return found


def covering(application_id, environment_id=None, profile_id=None):
    """The associations on the application, on the environment and on the profile (each
    when given), application ones first."""
    wanted = {f'application/{application_id}'}
    if environment_id:
        wanted.add(f'application/{application_id}/environment/{environment_id}')
    if profile_id:
        wanted.add(f'application/{application_id}/configurationprofile/{profile_id}')
    bound = [b for b in _application_bindings(application_id) if b.resource in wanted]
    return sorted(bound, key=lambda b: (b.level, b.association_id))


def _name(kind, *ids):
    now = time.monotonic()
    key = (kind, ids)
    with _lock:
        hit = _names.get(key)
        if hit and hit[0] > now:
            return hit[1]
    from chalicelib.store.applications import Application
    from chalicelib.store.environments import Environment
    from chalicelib.store.profiles import Profile
    model, keys = {'application': (Application, (arns.account(), ids[0])),
                   'environment': (Environment, ids), 'profile': (Profile, ids)}[kind]
    try:
        name = model.get(*keys).name
    except model.DoesNotExist:
        name = None
    with _lock:
        _names[key] = (now + _ttl(), name)
    return name


def _ref(ident, name):
    return {'Id': ident, 'Name': name} if name is not None else {'Id': ident}


# --- clients ---------------------------------------------------------------------------------

_SYNC = Config(read_timeout=15, connect_timeout=3, retries={'max_attempts': 1})
_ASYNC = Config(read_timeout=5, connect_timeout=2, retries={'max_attempts': 2})
_SESSION_NAME = 'appconfig-extension'
_queue_urls = {}       # (queue ARN, role) -> url


def client(service, region, role_arn=None, config=_ASYNC):
    """A boto3 client for an action target, as ``role_arn`` when the action names one."""
    extra = roles.credentials(role_arn, _SESSION_NAME) if role_arn else {}
    return boto3.client(service, region_name=region, config=config, **extra)


def lambda_client(region, role_arn=None):
    """The Lambda client for synchronous and asynchronous invocations (tests replace it)."""
    return client('lambda', region, role_arn, _SYNC)


# --- invoking --------------------------------------------------------------------------------

def _record(b, action, uri, invocation_id, error=None):
    out = {'ExtensionIdentifier': b.extension.arn, 'ActionName': action.get('Name'),
           'Uri': uri, 'InvocationId': invocation_id}
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
    found = _target(function)
    region = found[1] if found else arns.region()
    try:
        answer = lambda_client(region, action.get('RoleArn')).invoke(
            FunctionName=function, InvocationType='RequestResponse',
            Payload=json.dumps(payload, separators=(',', ':')).encode())
        raw = answer['Payload'].read() if answer.get('Payload') is not None else b''
    except Exception as exc:  # noqa: BLE001 - the caller decides what a failure means
        error = _error_of(exc)
        return None, error, _record(b, action, function, invocation_id, error)
    try:
        decoded = json.loads(raw) if raw else None
    except ValueError:
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
            f'base64-encoded.') from None


def _fail(b, error):
    return BadRequestException(f'Error invoking extension {b.extension.name}: {error[1]}')


def _iso(moment):
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat()


def _save(key, entries):
    """Record invocations: ``entries`` are (event_type, occurred_at, point, record)."""
    if not entries:
        return
    try:
        with Invocation.batch_write() as batch:
            for seq, (event_type, occurred_at, point, record) in enumerate(entries):
                at = _iso(occurred_at)
                batch.save(Invocation(
                    key, f'r#{at}#{event_type}#{POINTS.index(point)}#{seq:04d}#'
                         f'{record["InvocationId"]}',
                    event_type=event_type, occurred_at=at, record=record))
    except Exception:  # noqa: BLE001 - the invocations happened; only their record is lost
        log.exception('recording extension invocations of deployment %s failed', key)


# --- PRE_CREATE_HOSTED_CONFIGURATION_VERSION ---------------------------------------------------

def pre_create_hosted_configuration_version(profile, content, params):
    """The content to store for CreateHostedConfigurationVersion on ``profile``: ``content``
    as the covering PRE_CREATE_HOSTED_CONFIGURATION_VERSION actions return it."""
    point = 'PRE_CREATE_HOSTED_CONFIGURATION_VERSION'
    todo = [(b, b.action(point)) for b in covering(profile.application_id, None, profile.id)
            if b.action(point) and not b.builtin]
    if not todo:
        return content
    from chalicelib.ops.hosted_versions import max_content_bytes
    if len(content) > max_content_bytes():
        return content    # refused by the size check that follows
    application = _ref(profile.application_id, _name('application', profile.application_id))
    for b, action in todo:
        payload = {
            'InvocationId': new_id(), 'Parameters': b.parameters, 'Type': TYPES[point],
            'Application': application,
            'ConfigurationProfile': _ref(profile.id, profile.name),
            'Description': params.get('Description'), 'ContentType': params.get('ContentType'),
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
        f'{ext.arn.rsplit("/", 1)[0]}/')


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
                    f'dynamic parameter {parameter}.')
            out.setdefault(b.association_id, {})[parameter] = value
    return out


def _parameters(b, dynamic):
    return {**b.parameters, **(dynamic or {}).get(b.association_id, {})}


def _applied(b, dynamic):
    return {'ExtensionId': b.extension.id, 'ExtensionAssociationId': b.association_id,
            'VersionNumber': b.extension.version, 'Parameters': _parameters(b, dynamic)}


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


def pre_start_deployment(environment, profile, version, content, params):
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
    application = _ref(profile.application_id, _name('application', profile.application_id))
    for b, action in todo:
        payload = {
            'InvocationId': new_id(), 'Parameters': _parameters(b, dynamic),
            'Type': TYPES[point], 'Application': application,
            'Environment': _ref(environment.id, environment.name),
            'ConfigurationProfile': _ref(profile.id, profile.name),
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


def started(start, out):
    """After StartDeployment wrote deployment ``out`` (its response): record the
    AppliedExtensions and the PRE_START_DEPLOYMENT invocations, and show them in ``out``."""
    if not start.applied and not start.records:
        return out
    key = deployment_key(out['ApplicationId'], out['EnvironmentId'], out['DeploymentNumber'])
    first = next((e for e in out.get('EventLog') or []
                  if e['EventType'] == 'DEPLOYMENT_STARTED'), None)
    try:
        Invocation(key, 'applied', applied=start.applied).save()
    except Exception:  # noqa: BLE001 - the deployment runs; only the record is lost
        log.exception('recording the applied extensions of deployment %s failed', key)
    out['AppliedExtensions'] = list(start.applied)
    if first is not None and start.records:
        _save(key, [('DEPLOYMENT_STARTED', first['OccurredAt'], 'PRE_START_DEPLOYMENT', r)
                    for r in start.records])
        first['ActionInvocations'] = list(start.records) + list(
            first.get('ActionInvocations') or [])
    return out


def annotate(item, out):
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
        from chalicelib.store.deployments import Deployment
        try:
            full = Deployment.get(item.env_key, int(item.number), consistent_read=True)
        except Deployment.DoesNotExist:
            full = item
    try:
        dynamic = _dynamic(bound, getattr(full, 'dynamic_extension_parameters', None))
    except BadRequestException:
        dynamic = {}    # associations changed since the deployment started
    a, e, p = item.application_id, item.environment_id, item.profile_id
    return Context(
        deployment_key(a, e, item.number), _ref(a, _name('application', a)),
        _ref(e, _name('environment', a, e)), _ref(p, getattr(full, 'configuration_name', None)
                                                  or _name('profile', a, p)),
        int(item.number), getattr(full, 'description', None), item.configuration_version,
        dynamic)


def _deliver(b, point, action, ctx):
    """Perform one ON_* action; returns its ActionInvocation record (never raises)."""
    from chalicelib.ops.extensions import SNS, SQS
    invocation_id = new_id()
    parameters = _parameters(b, ctx.dynamic)
    if b.extension.authored and b.extension.id == SQS:
        uri = parameters.get('queueArn')
    elif b.extension.authored and b.extension.id == SNS:
        uri = parameters.get('topicArn')
    else:
        uri = action.get('Uri')
    common = {
        'InvocationId': invocation_id, 'Parameters': parameters, 'Type': TYPES[point],
        'Application': ctx.application, 'Environment': ctx.environment,
        'ConfigurationProfile': ctx.profile,
    }
    role = action.get('RoleArn')
    try:
        found = _target(uri)
        if found is None:
            raise ValueError(f'{uri} is not a Lambda function, queue, topic or event bus ARN')
        kind, region, account, name = found
        if kind == LAMBDA:
            payload = {**common, 'DeploymentNumber': ctx.number,
                       'Description': ctx.description,
                       'ConfigurationVersion': ctx.configuration_version}
            lambda_client(region, role).invoke(
                FunctionName=uri, InvocationType='Event',
                Payload=json.dumps(payload, separators=(',', ':')).encode())
        elif kind == EVENTS_KIND:
            detail = {**common, 'DeploymentNumber': ctx.number,
                      'ConfigurationVersion': ctx.configuration_version}
            from chalicelib.engine.events import source
            answer = client('events', region, role).put_events(Entries=[{
                'Source': source(), 'DetailType': DETAIL_TYPES[point],
                'Resources': [b.association_arn], 'EventBusName': uri,
                'Detail': json.dumps(detail, separators=(',', ':'))}])
            if answer.get('FailedEntryCount'):
                entry = (answer.get('Entries') or [{}])[0]
                return _record(b, action, uri, invocation_id,
                               (entry.get('ErrorCode') or 'FailedEntry',
                                entry.get('ErrorMessage') or 'EventBridge refused the event'))
        else:
            message = {**common, 'Description': ctx.description,
                       'DeploymentNumber': str(ctx.number),
                       'ConfigurationVersion': ctx.configuration_version}
            # The documented message order: the Type last.
            message['Type'] = message.pop('Type')
            body = json.dumps(message, separators=(',', ':'))
            fifo = name.endswith('.fifo')
            if kind == SQS_KIND:
                sqs = client('sqs', region, role)
                url = _queue_url(sqs, uri, name, account, role)
                extra = {'MessageGroupId': ctx.key,
                         'MessageDeduplicationId': invocation_id} if fifo else {}
                sqs.send_message(QueueUrl=url, MessageBody=body, **extra)
            else:
                extra = {'MessageGroupId': ctx.key,
                         'MessageDeduplicationId': invocation_id} if fifo else {}
                client('sns', region, role).publish(
                    TopicArn=uri, Message=body, MessageAttributes={
                        'MessageType': {'DataType': 'String', 'StringValue': TYPES[point]}},
                    **extra)
    except Exception as exc:  # noqa: BLE001 - ON_* errors are recorded, never raised
        log.warning('extension %s action %s (%s) failed: %s', b.extension.arn,
                    action.get('Name'), point, exc)
        return _record(b, action, uri or '-', invocation_id, _error_of(exc))
    return _record(b, action, uri, invocation_id)


def _queue_url(sqs, arn, name, account, role):
    key = (arn, role)
    with _lock:
        if key in _queue_urls:
            return _queue_urls[key]
    url = sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)['QueueUrl']
    with _lock:
        _queue_urls[key] = url
    return url


def after_events(item, written):
    """Run the ON_* actions for the EventLog events a writer just wrote for deployment
    ``item`` (event dicts, oldest first), and record the invocations. Never raises."""
    try:
        due = [(e, EVENT_POINTS[e['event_type']]) for e in written or ()
               if e['event_type'] in EVENT_POINTS]
        if not due:
            return
        bound = [b for b in covering(item.application_id, item.environment_id,
                                     item.profile_id) if not b.builtin]
        if not any(b.action(point) for b in bound for _, point in due):
            return
        ctx = _deployment_context(item, bound)
        entries = []
        for event, point in due:
            for b in bound:
                action = b.action(point)
                if action:
                    entries.append((event['event_type'], event['occurred_at'], point,
                                    _deliver(b, point, action, ctx)))
        _save(ctx.key, entries)
    except Exception:  # noqa: BLE001 - the events are written; actions are best effort
        log.exception('extension actions for deployment %s #%s failed',
                      getattr(item, 'env_key', '?'), getattr(item, 'number', '?'))


def at_deployment_tick(item, now, due, roll_back):
    """Call the AT_DEPLOYMENT_TICK actions of an in-progress deployment. When one answers
    ROLL_BACK (or fails), roll the deployment back with ``roll_back`` (engine/tick.py) and
    return what it returned; None when every action said to continue (or there is none)."""
    point = 'AT_DEPLOYMENT_TICK'
    bound = covering(item.application_id, item.environment_id, item.profile_id)
    todo = [(b, b.action(point)) for b in bound if b.action(point) and not b.builtin]
    if not todo:
        return None
    ctx = _deployment_context(item, bound)
    for b, action in todo:
        payload = {
            'InvocationId': new_id(), 'Parameters': _parameters(b, ctx.dynamic),
            'Type': TYPES[point], 'Application': ctx.application,
            'Environment': ctx.environment, 'ConfigurationProfile': ctx.profile,
            'DeploymentNumber': ctx.number, 'Description': ctx.description,
            'ConfigurationVersion': ctx.configuration_version,
            'DeploymentState': due.state, 'PercentageComplete': float(due.percentage),
        }
        answer, error, record = _call(b, action, payload)
        if error:
            why = f'the call failed ({error[0]}: {error[1]})'
        elif isinstance(answer, dict) and str(answer.get('Directive') or '').upper() == 'ROLL_BACK':
            why = str(answer.get('Description') or 'no description given')
        else:
            continue
        name = b.extension.name
        started_text = (f'Rollback started by extension {name} (action {action.get("Name")}, '
                        f'AT_DEPLOYMENT_TICK): {why}')[:MAX_DESCRIPTION]
        completed_text = f'Rollback completed (extension {name})'[:MAX_DESCRIPTION]
        written = roll_back(item, now, due, APPCONFIG, started_text, completed_text)
        if written:
            _save(ctx.key, [('ROLLBACK_STARTED', now, point, record)])
        return written
    return None
