"""The AWS AppConfig Agent's local HTTP API, as one plain function (spec/agent.md §1-§4).

    answer(method, path, query, headers, body) -> (status, headers, body)

``GET /applications/{app}/environments/{env}/configurations/{profile}`` (names or ids, each
URL-encoded) answers what the Agent would: the deployed bytes of a freeform profile, or the
evaluated flags of an AWS.AppConfig.FeatureFlags profile (all of them as a map, the ones
named by repeated ``?flag=`` as a map, or one ``?flag=`` as the bare flag object), with
``Configuration-Version``, ``Content-Type`` and ``Version-Label``. Rules see the ``Context``
header's pairs (repeated headers or ``k=v,k2=v2``) and ``$entityId`` from ``Entity-Id``.
Errors are JSON ``{"Message": ...}`` with the Agent's statuses; every other path is 404.
With ``APPCONFIG_AGENT_ACCESS_TOKEN`` set, a request needs ``Authorization: Bearer <it>``.

It reads what the data plane reads, in-process, through the same per-process caches
(engine/delivery.py, chalicelib/cache.py): an unchanged read within the cache's second makes
no DynamoDB request,
and content is cached by digest. The release a request gets during a gradual deployment is
engine.delivery's ``release_for`` with the caller ``entity#<Entity-Id>``, so an entity sticks
to one version in every process and the share on the new version follows the deployment's
percentage. A request without Entity-Id is the caller ``agent``: like one real Agent (one
session for all of its callers) it gets one version, switching to the new one once at the
step whose percentage reaches its bucket, never back.

Experiments running on the profile and environment (carried by the Delivery item, see
ops/experiments.py) are served by evaluating the document as treatments.with_experiments
rewrites it (cached per deployment); an entity outside every experiment gets the deployed
value unchanged (the rewrite's DEPLOYED_VARIANT is answered without ``_variant``).

Failure mode: an unexpected error answers 500 InternalServerException and is logged.
"""

import functools
import hmac
import json
import logging
import os
from urllib.parse import unquote

from chalicelib import arns, cache, clock, crypto, flags, treatments
from chalicelib.constants import FEATURE_FLAGS
from chalicelib.engine import delivery
from chalicelib.errors import ServiceError
from chalicelib.ops import data_plane, hosted_versions, protection

log = logging.getLogger(__name__)

JSON = 'application/json'
MAX_ENTITY_ID_BYTES = 2048
TOKEN_VARIABLE = 'APPCONFIG_AGENT_ACCESS_TOKEN'
# The bucket of requests without Entity-Id: one caller, as one Agent is one session.
ANONYMOUS = 'agent'


# Names and ids of a request path -> (application, environment, profile) items, found ones
# only (a miss raises), for as long as the real Agent holds a configuration between polls:
# unlike a session, every Agent request names its resources. A deleted resource is noticed
# by protection.record_poll within a minute.
resolve_cache = cache.TTLCache(float(os.environ.get('APPCONFIG_AGENT_RESOLVE_SECONDS', '45')))


class AgentError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


_STATUS = {'BadRequestException': 400, 'ResourceNotFoundException': 404}


def _reply(status, message, extra=None):
    headers = {'Content-Type': JSON, **(extra or {})}
    return status, headers, json.dumps({'Message': message}).encode()


def _header(headers, name):
    """All values of a header (case-insensitive), repeated ones in order."""
    out = []
    for key, value in headers.items():
        if key.lower() == name:
            out.extend(value if isinstance(value, (list, tuple)) else [value])
    return out


def _check_token(headers):
    expected = os.environ.get(TOKEN_VARIABLE)
    if not expected:
        return
    sent = _header(headers, 'authorization')
    scheme, _, token = (sent[-1] if sent else '').strip().partition(' ')
    if scheme.lower() != 'bearer' or not hmac.compare_digest(
        token.strip().encode(), expected.encode()
    ):
        raise AgentError(401, 'Unauthorized: send Authorization: Bearer <access token>')


def _context(headers):
    """The Context header's pairs: split on ',', then on the first '='; spaces trimmed."""
    context = {}
    for value in _header(headers, 'context'):
        for pair in value.split(','):
            if not pair.strip():
                continue
            key, sep, val = pair.partition('=')
            if not sep or not key.strip():
                raise AgentError(400, f'Context must be key=value pairs; got {pair.strip()!r}')
            context[key.strip()] = val.strip()
    return context


def _entity_id(headers):
    values = _header(headers, 'entity-id')
    if not values:
        return None
    entity = values[-1].strip()
    if len(entity.encode()) > MAX_ENTITY_ID_BYTES:
        raise AgentError(400, f'Entity-Id must be at most {MAX_ENTITY_ID_BYTES} bytes')
    return entity or None


def _path(path):
    """(application, environment, profile) of the Agent's one path, decoded, else None."""
    parts = path.split('/')
    if (
        len(parts) != 7
        or parts[0]
        or parts[1] != 'applications'
        or parts[3] != 'environments'
        or parts[5] != 'configurations'
    ):
        return None
    names = [unquote(parts[i]) for i in (2, 4, 6)]
    return names if all(names) else None


def _resolve(app_ref, env_ref, profile_ref):
    key = (arns.account(), app_ref, env_ref, profile_ref)
    return resolve_cache.get(key, lambda: _lookup(app_ref, env_ref, profile_ref))


def _lookup(app_ref, env_ref, profile_ref):
    app = data_plane.find('application', arns.account(), app_ref)
    if app is None:
        raise AgentError(404, f'Application {app_ref} could not be found')
    env = data_plane.find('environment', app.id, env_ref)
    if env is None:
        raise AgentError(404, f'Environment {env_ref} could not be found')
    profile = data_plane.find('profile', app.id, profile_ref)
    if profile is None:
        raise AgentError(404, f'Configuration profile {profile_ref} could not be found')
    return app, env, profile


@functools.lru_cache(maxsize=256)
def _parsed(digest):
    # Immutable by digest; callers must not change what they get.
    return json.loads(crypto.read(digest))


@functools.lru_cache(maxsize=256)
def _document_digest(application_id, profile_id, version):
    # Releases written before DocumentDigest existed: the hosted version's stored bytes.
    return hosted_versions.load_version(application_id, profile_id, version).digest


def document(application_id, profile_id, release):
    """The stored feature-flag document of a release, parsed (shared: do not modify)."""
    digest = release.get('DocumentDigest') or _document_digest(
        application_id, profile_id, str(release['VersionNumber'])
    )
    return _parsed(digest)


def release(app, env, profile, entity_id, now=None):
    """The release dict the caller (``entity_id`` or the anonymous Agent caller) gets now."""
    now = now or clock.now()
    ids = (app.id, env.id, profile.id)
    item = delivery.load(*ids)
    if protection.record_poll(*ids, now=now) is not None:
        raise AgentError(
            404, f'Environment {env.id} or configuration profile {profile.id} could not be found'
        )
    caller = ANONYMOUS if entity_id is None else f'entity#{entity_id}'
    found = delivery.release_for(item, caller, now)
    if found is None:
        raise AgentError(
            404,
            f'No configuration has been deployed for configuration profile '
            f'{profile.id} in environment {env.id}',
        )
    return item, found


_served = {}  # (delivery key, deployment number, document digest) -> document with treatments
_MAX_SERVED = 256


def served_document(item, doc, digest):
    """``doc`` with the treatments of the experiments running on ``item`` (a Delivery).
    They change only with a (MANAGED) deployment, so the number keys the cache."""
    if not item.experiments:
        return doc
    key = (item.key, int(item.deployment_number), digest)
    out = _served.get(key)
    if out is None:
        if len(_served) >= _MAX_SERVED:
            _served.clear()
        out = _served[key] = treatments.with_experiments(doc, item.experiments)
    return out


def _answer(flag):
    # An entity outside every experiment gets the deployed basic value, as before the run.
    if flag.get('_variant') == treatments.DEPLOYED_VARIANT:
        return {k: v for k, v in flag.items() if k != '_variant'}
    return flag


def _get(app_ref, env_ref, profile_ref, query, headers):
    _check_token(headers)
    context = _context(headers)
    entity_id = _entity_id(headers)
    keys = [k for k in query.get('flag', []) if k != ''] if query.get('flag') else None
    app, env, profile = _resolve(app_ref, env_ref, profile_ref)
    item, found = release(app, env, profile, entity_id)
    out = {'Configuration-Version': str(found['VersionNumber'])}
    if found.get('VersionLabel'):
        out['Version-Label'] = found['VersionLabel']
    if profile.type != FEATURE_FLAGS:
        if keys is not None:
            raise AgentError(
                400,
                f'flag applies only to {FEATURE_FLAGS} configuration '
                f'profiles; {profile.name} is {profile.type}',
            )
        out['Content-Type'] = found.get('ContentType') or 'application/octet-stream'
        return 200, out, crypto.read(found['Digest'])
    doc = document(app.id, profile.id, found)
    doc = served_document(item, doc, found.get('DocumentDigest') or found['Digest'])
    try:
        values = flags.evaluate(doc, context, entity_id, keys)
    except KeyError as error:
        key = error.args[0] if error.args else ''
        raise AgentError(
            404, f'Flag {key} could not be found in configuration profile {profile.name}'
        ) from None
    values = {key: _answer(flag) for key, flag in values.items()}
    body = values[keys[0]] if keys is not None and len(keys) == 1 else values
    out['Content-Type'] = JSON
    return 200, out, json.dumps(body, separators=(',', ':'), ensure_ascii=False).encode()


def answer(method, path, query, headers, body):
    """One Agent request: ``query`` maps names to value lists, ``headers`` names to a value or
    a list of values (repeated headers). Returns (status, headers, body bytes)."""
    try:
        parts = _path(path.split('?', 1)[0])
        if parts is None:
            return _reply(404, f'No such path: {path}')
        if method not in ('GET', 'HEAD'):
            return _reply(405, f'Method {method} is not allowed; use GET', {'Allow': 'GET'})
        status, out, payload = _get(*parts, query or {}, headers or {})
        return status, out, b'' if method == 'HEAD' else payload
    except AgentError as error:
        return _reply(error.status, error.message)
    except ServiceError as error:
        return _reply(_STATUS.get(error.code, 500), error.message)
    except Exception:  # noqa: BLE001 - a client gets a modeled answer, the log the cause
        log.exception('Agent request failed: %s %s', method, path)
        return _reply(500, 'InternalServerException: the request could not be answered')


cache.on_reset(_parsed.cache_clear)
cache.on_reset(_document_digest.cache_clear)
cache.on_reset(_served.clear)
