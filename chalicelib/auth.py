"""SigV4 checked by the app itself: ``APPCONFIG_AUTH=sigv4`` makes the server verify every
request's AWS Signature Version 4, scoped to ``appconfig``, the way AWS AppConfig does, so
unmodified SDKs and the AWS CLI work with no signing plugin.

Two places run it, with one check and two sources of service credentials:

- locally, ``APPCONFIG_CREDENTIALS_FILE`` names an INI file in the format of
  ``~/.aws/credentials``; every section's ``aws_access_key_id`` / ``aws_secret_access_key``
  (and, when present, ``aws_session_token``, which the request's ``X-Amz-Security-Token``
  must then match) is one accepted identity. The file is re-read when it changes.
- deployed (the ``sigv4`` Chalice stage, API Gateway without an IAM authorizer),
  ``APPCONFIG_CREDENTIALS_SECRET`` names a Secrets Manager secret whose SecretString is a
  JSON object ``{"<access key id>": "<secret access key>", ...}``. Each instance reads it
  once per ``APPCONFIG_CREDENTIALS_TTL`` seconds (default 300): a key added to or removed
  from the secret is honoured within that time, and the secret costs one GetSecretValue per
  instance per five minutes. When the secret cannot be read, requests are answered 500
  ``InternalFailure`` (retried by SDKs) and the read is retried after 10 seconds.

In the default deployed mode (``APPCONFIG_AUTH=iam``) API Gateway checks signatures before
the function runs and this module is idle; the default local mode stays open.
``APPCONFIG_SIGV4_SERVICES`` (default ``appconfig,execute-api``) lists the signing names
accepted in the credential scope. ``execute-api`` alone reproduces API Gateway's IAM
authorisation, which refuses the ``appconfig`` scope that unmodified SDK clients use (see
``infra/sigv4_execute_api.py``). Any region is accepted.

The signature is recomputed with botocore's own signer (``SigV4Auth``) over the request as
received: the same method, raw path (behind API Gateway the path the client sent, stage
prefix included, from ``requestContext.path``; the Host the client sent, the execute-api or
custom domain host), query, signed headers, ``X-Amz-Date`` and body, with the secret of the
credential's access key, and compared in constant time. Refusals are the service's front
door errors, 403 with ``x-amzn-ErrorType`` and a JSON ``message``, so botocore raises
``ClientError`` with these codes:

- ``MissingAuthenticationTokenException`` "Missing Authentication Token": no
  ``Authorization`` header;
- ``IncompleteSignatureException``: a malformed ``Authorization`` header, or no
  ``X-Amz-Date``;
- ``UnrecognizedClientException`` "The security token included in the request is invalid.":
  an unknown access key or session token;
- ``InvalidSignatureException``: a wrong signature (wrong secret, altered request), a scope
  with another service, or an ``X-Amz-Date`` more than five minutes from the server's clock
  ("Signature expired: ..." / "Signature not yet current: ...").

Only the ``Authorization`` header form is supported, not presigned URLs (query-string
signatures), and only ``AWS4-HMAC-SHA256`` (not SigV4a). Freshness is checked against the
wall clock, not ``chalicelib.clock``, which tests freeze and the local runner may speed up.
"""

import configparser
import functools
import hashlib
import hmac
import json
import logging
import os
import re
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

from chalicelib import cache

log = logging.getLogger(__name__)

MODE = 'sigv4'
DEFAULT_SERVICES = ('appconfig', 'execute-api')
ALGORITHM = 'AWS4-HMAC-SHA256'
MAX_SKEW = timedelta(minutes=5)
AMZ_DATE = '%Y%m%dT%H%M%SZ'

MISSING_TOKEN = 'Missing Authentication Token'
INVALID_TOKEN = 'The security token included in the request is invalid.'
MISMATCH = (
    'The request signature we calculated does not match the signature you provided. '
    'Check your AWS Secret Access Key and signing method. Consult the service '
    'documentation for details.'
)


class Refused(Exception):
    """A request the front door turns away: 403 (or ``status``), ``code`` as
    x-amzn-ErrorType."""

    status = 403

    def __init__(self, code, message, status=None):
        super().__init__(f'{code}: {message}')
        self.code = code
        self.message = message
        self.status = status or self.status

    def response_parts(self):
        """(status, headers, body bytes) as API Gateway answers it."""
        headers = {
            'Content-Type': 'application/json',
            'x-amzn-ErrorType': self.code,
            'x-amzn-RequestId': str(uuid.uuid4()),
        }
        return self.status, headers, json.dumps({'message': self.message}).encode()


class Identity:
    """Who signed a verified request, and for which scope."""

    __slots__ = ('access_key', 'profile', 'service', 'region')

    def __init__(self, access_key, profile, service, region):
        self.access_key, self.profile = access_key, profile
        self.service, self.region = service, region

    def __repr__(self):
        return (
            f'Identity({self.access_key!r}, profile={self.profile!r}, '
            f'service={self.service!r}, region={self.region!r})'
        )


def enabled():
    """Whether requests must be signed now (read per request, so tests can toggle it)."""
    return os.environ.get('APPCONFIG_AUTH') == MODE


def middleware(request, get_response):
    """Chalice ``http`` middleware: a no-op unless ``APPCONFIG_AUTH=sigv4``."""
    if os.environ.get('APPCONFIG_AUTH') != MODE:
        return get_response(request)
    query = request.query_params
    try:
        identity = verify(
            request.method,
            # The path exactly as it came over the wire (percent-encoding and all):
            # chalice local passes it in requestContext.path.
            request.context.get('path') or request.path,
            [(k, v) for k in query for v in query.getlist(k)] if query else [],
            request.headers,
            request.raw_body,
            credentials(),
        )
    except Refused as refusal:
        from chalice import Response  # reason: chalice loads only when a request is refused

        status, headers, body = refusal.response_parts()
        return Response(body=body, headers=headers, status_code=status)
    # As API Gateway does for an IAM-authorised call.
    request.context.setdefault('identity', {})['accessKey'] = identity.access_key
    return get_response(request)


def verify(method, path, query, headers, body, secrets, services=None, now=None):
    """Check one request's SigV4 ``Authorization`` header; returns its :class:`Identity`.

    ``path`` is the raw request path (still percent-encoded), ``query`` a list of decoded
    (name, value) pairs, ``headers`` any mapping (names in any case), ``body`` bytes,
    ``secrets`` a mapping access key -> (secret, session token or None, profile name).
    Raises :class:`Refused` with the service's error code and message.
    """
    headers = {k.lower(): v for k, v in headers.items()}
    services = tuple(services or allowed_services())
    # The wall clock on purpose: clients sign with theirs, whatever the service's clock says.
    now = now or datetime.now(UTC)
    authorization = headers.get('authorization')
    if not authorization:
        raise Refused('MissingAuthenticationTokenException', MISSING_TOKEN)
    fields = _parse_authorization(authorization, 'x-amz-date' in headers)
    credential = fields['Credential'].split('/')
    if len(credential) != 5 or credential[4] != 'aws4_request' or not all(credential):
        raise Refused(
            'IncompleteSignatureException',
            'Credential must have exactly 5 slash-delimited elements, e.g. '
            f"keyid/date/region/service/term, got '{fields['Credential']}'",
        )
    access_key, _, region, service, _ = credential
    signed = [h for h in fields['SignedHeaders'].split(';') if h]
    if 'host' not in signed:
        raise Refused(
            'IncompleteSignatureException',
            "'Host' must be a 'SignedHeader' in the AWS Authorization.",
        )

    known = secrets.get(access_key)
    token = headers.get('x-amz-security-token')
    if known is None or (
        known[1] is not None and not hmac.compare_digest(known[1].encode(), (token or '').encode())
    ):
        raise Refused('UnrecognizedClientException', INVALID_TOKEN)
    if service not in services:
        raise Refused(
            'InvalidSignatureException',
            f"Credential should be scoped to correct service: '{services[0]}'. ",
        )

    amz_date = headers['x-amz-date']
    try:
        signed_at = datetime.strptime(amz_date, AMZ_DATE).replace(tzinfo=UTC)
    except ValueError:
        raise Refused(
            'IncompleteSignatureException',
            f"Date must be in ISO-8601 'basic format'. Got '{amz_date}'.",
        ) from None
    _check_fresh(signed_at, now)

    body = body or b''
    if isinstance(body, str):
        body = body.encode('utf-8')
    declared = headers.get('x-amz-content-sha256')
    if declared is not None and declared != hashlib.sha256(body).hexdigest():
        # The body is not what was signed (or UNSIGNED-PAYLOAD, which this API refuses).
        raise Refused('InvalidSignatureException', MISMATCH)

    signer, request = _signer_and_request(
        access_key,
        known[0],
        service,
        region,
        method,
        path,
        query,
        {h: headers.get(h) for h in signed},
        body,
        amz_date,
    )
    canonical = signer.canonical_request(request)
    string_to_sign = signer.string_to_sign(request, canonical)
    expected = signer.signature(string_to_sign, request)
    if not hmac.compare_digest(expected.encode(), fields['Signature'].encode()):
        # API Gateway shows both, so a client author can see which part differs.
        raise Refused(
            'InvalidSignatureException',
            (
                f'{MISMATCH}\n\nThe Canonical String for this request should have been\n'
                f"'{canonical}'\n\nThe String-to-Sign should have been\n'{string_to_sign}'\n"
            ),
        )
    return Identity(access_key, known[2], service, region)


_PARAM = re.compile(r'\s*([A-Za-z]+)=([^,\s]*)\s*')


def _parse_authorization(value, has_date):
    algorithm, _, rest = value.strip().partition(' ')
    fields = {}
    if algorithm == ALGORITHM:
        for part in rest.split(','):
            match = _PARAM.fullmatch(part)
            if match:
                fields[match.group(1)] = match.group(2)
    problems = [
        f"Authorization header requires '{name}' parameter."
        for name in ('Credential', 'Signature', 'SignedHeaders')
        if not fields.get(name)
    ]
    if not has_date:
        problems.append(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
        )
    if problems:
        raise Refused(
            'IncompleteSignatureException', ' '.join(problems) + f' Authorization={value}'
        )
    return fields


def _check_fresh(signed_at, now):
    if signed_at < now - MAX_SKEW:
        raise Refused(
            'InvalidSignatureException',
            (
                f'Signature expired: {signed_at:{AMZ_DATE}} is now earlier than '
                f'{now - MAX_SKEW:{AMZ_DATE}} ({now:{AMZ_DATE}} - 5 min.)'
            ),
        )
    if signed_at > now + MAX_SKEW:
        raise Refused(
            'InvalidSignatureException',
            (
                f'Signature not yet current: {signed_at:{AMZ_DATE}} is still later than '
                f'{now + MAX_SKEW:{AMZ_DATE}} ({now:{AMZ_DATE}} + 5 min.)'
            ),
        )


def _signer_and_request(
    access_key, secret, service, region, method, path, query, headers, body, amz_date
):
    # reason: botocore is imported on first use; only the sigv4 mode needs it.
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    signer = _verifier_class()(Credentials(access_key, secret), service, region)
    signer.signed_headers_only = headers
    host = headers.get('host') or 'localhost'
    request = AWSRequest(
        method=method,
        url=f'https://{host}{path}',
        headers={k: v for k, v in headers.items() if v is not None},
        data=body,
        params=list(query),
    )
    request.context['timestamp'] = amz_date
    return signer, request


@functools.lru_cache(maxsize=1)
def _verifier_class():
    # botocore is imported on first use, not at module import: only this mode needs it.
    from botocore.auth import SigV4Auth
    from botocore.compat import HTTPHeaders

    class Verifier(SigV4Auth):
        """botocore's signer, except that the headers it covers are exactly the ones the
        client listed in SignedHeaders (the stock signer would add or drop some)."""

        signed_headers_only = {}

        def headers_to_sign(self, request):
            selected = HTTPHeaders()
            for name in self.signed_headers_only:
                selected[name] = request.headers.get(name) or ''
            return selected

    return Verifier


def allowed_services():
    value = os.environ.get('APPCONFIG_SIGV4_SERVICES')
    if not value:
        return DEFAULT_SERVICES
    return tuple(s.strip() for s in value.split(',') if s.strip())


_cache_lock = threading.Lock()
_cache = {}


def credentials(path=None):
    """access key -> (secret, session token or None, profile) from the credentials secret
    (``APPCONFIG_CREDENTIALS_SECRET``) or the credentials file."""
    secret_id = os.environ.get('APPCONFIG_CREDENTIALS_SECRET')
    if secret_id and not path:
        return secret_credentials(secret_id)
    path = path or os.environ.get('APPCONFIG_CREDENTIALS_FILE')
    if not path:
        log.error('APPCONFIG_AUTH=sigv4 needs APPCONFIG_CREDENTIALS_FILE; refusing every request')
        return {}
    try:
        stat = os.stat(path)
    except OSError as err:
        log.error('APPCONFIG_CREDENTIALS_FILE %s: %s; refusing every request', path, err)
        return {}
    key = (path, stat.st_mtime_ns, stat.st_size)
    with _cache_lock:
        if key not in _cache:
            _cache.clear()
            _cache[key] = load_credentials(path)
        return _cache[key]


def load_credentials(path):
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(path, encoding='utf-8')
    found = {}
    for profile in parser.sections():
        section = parser[profile]
        access_key = section.get('aws_access_key_id', '').strip()
        secret = section.get('aws_secret_access_key', '').strip()
        if access_key and secret:
            token = section.get('aws_session_token', '').strip() or None
            found[access_key] = (secret, token, profile)
    return found


# --- the deployed source: a Secrets Manager secret --------------------------------------------

DEFAULT_TTL = 300
RETRY_AFTER = 10
UNAVAILABLE = 'The request processing has failed because of an unknown error, exception or failure.'
_secret_lock = threading.Lock()
_secret = {}  # secret id -> (monotonic expiry, credentials, or None when unreadable)


def secret_credentials(secret_id):
    """access key -> (secret, None, 'secret') from the JSON secret, cached per instance for
    ``APPCONFIG_CREDENTIALS_TTL`` seconds. Raises :class:`Refused` (500 InternalFailure)
    while the secret cannot be read."""
    now = time.monotonic()
    with _secret_lock:
        cached = _secret.get(secret_id)
        if cached is None or cached[0] <= now:
            found = _read_secret(secret_id)
            ttl = float(os.environ.get('APPCONFIG_CREDENTIALS_TTL') or DEFAULT_TTL)
            cached = (now + (ttl if found is not None else RETRY_AFTER), found)
            _secret.clear()
            _secret[secret_id] = cached
    if cached[1] is None:
        raise Refused('InternalFailure', UNAVAILABLE, status=500)
    return cached[1]


@cache.on_reset
def _forget_secret():
    # A new value is otherwise read within the TTL.
    with _secret_lock:
        _secret.clear()


def _read_secret(secret_id):
    # reason: boto3 loads only in the deployed sigv4 mode.
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        value = boto3.client('secretsmanager').get_secret_value(SecretId=secret_id)
        doc = json.loads(value.get('SecretString') or '')
    except (ClientError, BotoCoreError, ValueError, RecursionError) as error:
        log.error(
            'APPCONFIG_CREDENTIALS_SECRET %s cannot be read (%s); refusing every request',
            secret_id,
            type(error).__name__,
        )
        return None
    if not isinstance(doc, dict):
        log.error(
            'APPCONFIG_CREDENTIALS_SECRET %s is not a JSON object of access key id -> '
            'secret access key; refusing every request',
            secret_id,
        )
        return None
    found = {
        key.strip(): (secret.strip(), None, 'secret')
        for key, secret in doc.items()
        if isinstance(key, str) and isinstance(secret, str) and key.strip() and secret.strip()
    }
    if len(found) != len(doc):
        log.warning(
            'APPCONFIG_CREDENTIALS_SECRET %s: %d entries are not "access key id": '
            '"secret" pairs and are ignored',
            secret_id,
            len(doc) - len(found),
        )
    return found


def is_credentials_secret(arn):
    """Whether ``arn`` (a secret's full ARN, as GetSecretValue returns it) is the service's
    credentials secret, which no configuration profile may read."""
    own = os.environ.get('APPCONFIG_CREDENTIALS_SECRET')
    return bool(
        own
        and arn
        and (
            arn == own
            or (not own.startswith('arn:') and arn.split(':')[-1].rsplit('-', 1)[0] == own)
        )
    )
