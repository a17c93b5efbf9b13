"""The data plane: StartConfigurationSession and GetLatestConfiguration (appconfigdata), and the
deprecated control-plane GetConfiguration.

A poll reads one small item, the Delivery of (application, environment, profile), and
engine/delivery.release_for works out from the clock which release the caller gets (the
session id, or GetConfiguration's ClientId, is what it buckets).

Content is read only when the caller does not have that release yet. In-process caches keep
unchanged polls off DynamoDB (chalicelib/cache.py): the Delivery item (engine/delivery.load)
for ``APPCONFIG_DELIVERY_CACHE_SECONDS``
(default 1 s, so a new deployment or a rollback is seen within about a second), content by
digest (immutable, so never stale), and for the same second the resources a session start
or GetConfiguration names (found ones only, so a new resource is usable at once). A token
records the delivery generation its session last saw; a cached item older than that is read
again, so a session never steps back because another process answered it from a newer one.

A feature-flag poll whose Accept asks for ``application/ion;type=AWS.AppConfig.FeatureFlags``
(the AppConfig Agent) gets the Ion form of the release's stored document (flags_ion.py) when it
holds a multi-variant flag; encoded once per document digest and kept in-process.
"""

import functools
import hashlib
import json
from datetime import timedelta

from chalicelib import arns, cache, clock, crypto, flags_ion, tokens, treatments
from chalicelib.constants import FEATURE_FLAGS
from chalicelib.engine import delivery
from chalicelib.errors import BadRequestException, ResourceNotFoundException, not_found
from chalicelib.ops import lookup, protection

DEFAULT_INTERVAL = 60
# Clocks of different machines differ a little; a poll this much early still counts as on time.
EARLY_POLL_TOLERANCE = timedelta(seconds=1)


# Identifier -> item for session starts and GetConfiguration (found items only), trusted as
# long as the Delivery item (APPCONFIG_DELIVERY_CACHE_SECONDS).
lookup_cache = cache.TTLCache(delivery.delivery_cache.seconds)


def _identity(release):
    return (str(release['VersionNumber']), release['Digest'][:16])


# --- StartConfigurationSession --------------------------------------------------------------


def find(kind, parent, identifier):
    """The application, environment or profile item by id or name (``kind``), or None;
    found items are cached for a second (``lookup_cache``)."""
    finder = {
        'application': lambda: lookup.application(identifier),
        'environment': lambda: lookup.environment(parent, identifier),
        'profile': lambda: lookup.profile(parent, identifier),
    }[kind]
    return lookup_cache.get((kind, parent, identifier), finder, lambda item: item is not None)


def _missing(resource_type, member, identifier, what):
    return ResourceNotFoundException(
        f'{what} {identifier} could not be found',
        ResourceType=resource_type,
        ReferencedBy={member: identifier},
    )


def start_configuration_session(p):
    app_ref, env_ref = p['ApplicationIdentifier'], p['EnvironmentIdentifier']
    profile_ref = p['ConfigurationProfileIdentifier']
    app = find('application', arns.account(), app_ref)
    if app is None:
        raise _missing('Application', 'ApplicationIdentifier', app_ref, 'Application')
    env = find('environment', app.id, env_ref)
    if env is None:
        raise _missing('Environment', 'EnvironmentIdentifier', env_ref, 'Environment')
    profile = find('profile', app.id, profile_ref)
    if profile is None:
        raise _missing(
            'ConfigurationProfile',
            'ConfigurationProfileIdentifier',
            profile_ref,
            'Configuration profile',
        )
    minimum = p.get('RequiredMinimumPollIntervalInSeconds')
    session = tokens.Session(
        tokens.new_session_id(),
        app.id,
        env.id,
        profile.id,
        interval=minimum or DEFAULT_INTERVAL,
        enforce_interval=minimum is not None,
        expires_at=clock.now() + tokens.LIFETIME,
    )
    return {'InitialConfigurationToken': tokens.encode(session)}


# --- GetLatestConfiguration -----------------------------------------------------------------


def _refuse_deleted(model, session):
    if model is None:
        return
    if model is protection.Environment:
        raise ResourceNotFoundException(
            f'Environment {session.environment_id} could not be found', ResourceType='Environment'
        )
    raise ResourceNotFoundException(
        f'Configuration profile {session.profile_id} could not be found',
        ResourceType='ConfigurationProfile',
    )


def get_latest_configuration(p):
    now = clock.now()
    session = tokens.decode(p['ConfigurationToken'], now)
    if session.not_before is not None and now + EARLY_POLL_TOLERANCE < session.not_before:
        raise tokens.invalid('PollIntervalNotSatisfied', 'Request too early')
    ids = (session.application_id, session.environment_id, session.profile_id)
    current = delivery.load(*ids, seen=session.generation)
    _refuse_deleted(protection.record_poll(*ids, now=now), session)
    release = delivery.release_for(current, session.session_id, now)
    if release is None:
        raise ResourceNotFoundException(
            'No configuration has been deployed for this session yet', ResourceType='Deployment'
        )
    identity = _identity(release)
    seen = max(delivery.generation(current), tuple(session.generation or (0, 0)))
    ion, experiment_flags = (
        _ion_answer(current, release) if flags_ion.accepts(p.get('_accept')) else (None, None)
    )
    if experiment_flags:
        # Running experiments change the Ion answer without a new version.
        identity = identity + (hashlib.sha256(experiment_flags.encode()).hexdigest()[:16],)
    out = {
        'NextPollConfigurationToken': tokens.encode(
            session.next(now, received=identity, generation=seen)
        ),
        'NextPollIntervalInSeconds': session.interval,
        'ContentType': flags_ion.CONTENT_TYPE if ion is not None else release.get('ContentType'),
    }
    if session.received is not None and tuple(session.received) == identity:
        out.update(Configuration=b'', VersionLabel='')
    else:
        out['Configuration'] = ion if ion is not None else crypto.read(release['Digest'])
        out['VersionLabel'] = release.get('VersionLabel')
        if experiment_flags:
            out['_headers'] = {'Experiment-Flags': experiment_flags}
    return out


@functools.lru_cache(maxsize=64)
def _ion_of(document_digest):
    document = json.loads(crypto.read(document_digest))
    return flags_ion.encode(document) if flags_ion.has_variants(document) else None


cache.on_reset(_ion_of.cache_clear)
_ion_served = {}  # (delivery key, deployment number, digest) -> (Ion, Experiment-Flags)
_MAX_ION_SERVED = 64
cache.on_reset(_ion_served.clear)


def _ion_answer(current, release):
    """(Ion body, Experiment-Flags header) for a client that asked for Ion (the AppConfig
    Agent), or (None, None) for JSON: AWS answers Ion only for a feature-flag document with
    at least one multi-variant flag. Running experiments (on the Delivery item) add their
    variants (treatments.py), which makes every flag they touch multi-variant. Cached by
    digest, and with experiments by deployment number (they change only with a deployment)."""
    digest = release.get('DocumentDigest')
    if not digest:
        return None, None
    running = getattr(current, 'experiments', None)
    if not running:
        return _ion_of(digest), None
    key = (current.key, int(current.deployment_number), digest)
    answer = _ion_served.get(key)
    if answer is None:
        document = json.loads(crypto.read(digest))
        served = treatments.with_experiments(document, running)
        answer = (
            (flags_ion.encode(served) if flags_ion.has_variants(served) else None),
            treatments.header(document, running),
        )
        if len(_ion_served) >= _MAX_ION_SERVED:
            _ion_served.clear()
        _ion_served[key] = answer
    return answer


# --- GetConfiguration (deprecated) ----------------------------------------------------------


def get_configuration(p):
    now = clock.now()
    app = find('application', arns.account(), p['Application'])
    if app is None:
        raise not_found('Application', p['Application'])
    env = find('environment', app.id, p['Environment'])
    if env is None:
        raise not_found('Environment', p['Environment'])
    profile = find('profile', app.id, p['Configuration'])
    if profile is None:
        raise not_found('Configuration profile', p['Configuration'])
    if profile.type == FEATURE_FLAGS:
        raise BadRequestException(
            "Feature flag configurations must be accessed via AWS AppConfig Data's "
            'GetLatestConfiguration API'
        )
    current = delivery.load(app.id, env.id, profile.id)
    protection.record_poll(app.id, env.id, profile.id, now=now)
    release = delivery.release_for(current, f'client#{p["ClientId"]}', now)
    if release is None:
        raise ResourceNotFoundException(
            f'No configuration has been deployed for configuration profile {profile.id} '
            f'in environment {env.id}',
            ResourceName=profile.id,
        )
    version = str(release['VersionNumber'])
    out = {'ConfigurationVersion': version, 'ContentType': release.get('ContentType')}
    if p.get('ClientConfigurationVersion') == version:
        return {**out, 'Content': b'', '_status': 204}
    return {**out, 'Content': crypto.read(release['Digest'])}
