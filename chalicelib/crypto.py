"""KMS envelope encryption of stored configuration content.

A hosted profile with a KmsKeyIdentifier has each new version's bytes encrypted with that key,
and a StartDeployment that names a KmsKeyIdentifier has the bytes it delivers encrypted with
that one. Only a data key ever goes to KMS:

- ``store(data, key)``: one GenerateDataKey (AES_256) per stored version or deployment; the
  bytes are encrypted locally with AES-256-GCM under the plaintext data key (which is then
  dropped) and written to the content store as an *envelope*: a header holding the KMS key ARN,
  the encryption context, the encrypted data key and the nonce, followed by the ciphertext.
  The content store splits the envelope into chunks like any content.
- ``read(digest)``: the plaintext for any digest. Plain content is returned as stored; an
  envelope costs one KMS Decrypt of its data key, then a local AES-GCM decrypt. The plaintext
  is kept in a bounded in-process cache by digest, so a process pays KMS once per envelope,
  not once per poll.

The content store is content-addressed (the sha256 of the bytes is the key). Envelopes are
stored under ``kms:<sha256 of the envelope>``: a fresh data key and nonce make every envelope
unique, so encrypted content is never deduplicated with plaintext or with another encryption
of the same bytes, and no stored key or token reveals a hash of the plaintext. The prefix is
also how a reader knows the bytes need decrypting: plain digests are bare hex.

The encryption context names the application and configuration profile; KMS refuses to
decrypt a data key under any other context, and CloudTrail shows which configuration a
Decrypt was for. The GCM tag also covers the header, so a tampered envelope does not decrypt.

Keys are used with the service's own credentials: on AWS, keys in its account tagged
``appconfig:access=prod`` (.chalice/policy-prod-api.json, statement ContentKeys). A key that
is missing, disabled or not usable answers BadRequestException naming the key.
"""

import base64
import json
import os
import threading
from collections import OrderedDict

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from chalicelib import arns, cache
from chalicelib.errors import BadRequestException, InternalServerException
from chalicelib.store import content

PREFIX = 'kms:'
_MAGIC = b'ACKMS1\n'
_NONCE_BYTES = 12
_CONFIG = Config(connect_timeout=3, read_timeout=10, retries={'max_attempts': 3})
# KMS error codes that mean the key (or the caller's rights to it) is the problem.
_KEY_PROBLEMS = (
    'NotFoundException',
    'DisabledException',
    'KMSInvalidStateException',
    'AccessDeniedException',
    'InvalidKeyUsageException',
    'IncorrectKeyException',
    'InvalidCiphertextException',
    'InvalidGrantTokenException',
    'KeyUnavailableException',
    'UnsupportedOperationException',
    'ValidationException',
)

_clients = {}
_lock = threading.Lock()


def kms_client(region):
    """The KMS client for ``region`` (one per process and region)."""
    with _lock:
        client = _clients.get(region)
        if client is None:
            client = _clients[region] = boto3.client('kms', region_name=region, config=_CONFIG)
        return client


def _region_of(key_id):
    parts = key_id.split(':')
    if len(parts) > 3 and parts[0] == 'arn' and parts[2] == 'kms' and parts[3]:
        return parts[3]
    return arns.region()


def context(application_id, profile_id):
    """The KMS encryption context of a configuration profile's content."""
    return {'appconfig:application': application_id, 'appconfig:configuration-profile': profile_id}


def is_sealed(digest):
    return digest.startswith(PREFIX)


def _key_error(key_id, doing, error):
    err = error.response.get('Error', {})
    code = err.get('Code') or 'ClientError'
    if code not in _KEY_PROBLEMS:
        raise error
    return BadRequestException(
        f'The KMS key {key_id} cannot be used to {doing} the configuration: '
        f'{code}: {err.get("Message") or code}'
    )


def _aesgcm(key):
    # reason: cryptography loads only in processes that meet encrypted content.
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    return AESGCM(key)


# --- envelopes -------------------------------------------------------------------------------


def seal(data, key_id, encryption_context):
    """``(envelope bytes, key ARN)``: ``data`` encrypted under a new data key of ``key_id``."""
    try:
        key = kms_client(_region_of(key_id)).generate_data_key(
            KeyId=key_id, KeySpec='AES_256', EncryptionContext=encryption_context
        )
    except ClientError as error:
        raise _key_error(key_id, 'encrypt', error) from None
    nonce = os.urandom(_NONCE_BYTES)
    header = json.dumps(
        {
            'key': key['KeyId'],
            'context': encryption_context,
            'data_key': base64.b64encode(key['CiphertextBlob']).decode(),
            'nonce': base64.b64encode(nonce).decode(),
        },
        sort_keys=True,
        separators=(',', ':'),
    ).encode()
    prefix = _MAGIC + len(header).to_bytes(4, 'big') + header
    ciphertext = _aesgcm(key['Plaintext']).encrypt(nonce, bytes(data), prefix)
    return prefix + ciphertext, key['KeyId']


def _parse(envelope):
    if not envelope.startswith(_MAGIC):
        raise InternalServerException('Stored encrypted content is damaged (no envelope).')
    start = len(_MAGIC) + 4
    size = int.from_bytes(envelope[len(_MAGIC) : start], 'big')
    try:
        header = json.loads(envelope[start : start + size])
    except ValueError:
        raise InternalServerException('Stored encrypted content is damaged (header).') from None
    return header, envelope[: start + size], envelope[start + size :]


def unseal(envelope):
    """The plaintext of an envelope made by ``seal``."""
    header, prefix, ciphertext = _parse(envelope)
    key_id = header['key']
    try:
        answer = kms_client(_region_of(key_id)).decrypt(
            CiphertextBlob=base64.b64decode(header['data_key']),
            EncryptionContext=header['context'],
            KeyId=key_id,
        )
    except ClientError as error:
        raise _key_error(key_id, 'decrypt', error) from None
    from cryptography.exceptions import InvalidTag  # reason: as in _aesgcm

    try:
        return _aesgcm(answer['Plaintext']).decrypt(
            base64.b64decode(header['nonce']), ciphertext, prefix
        )
    except InvalidTag:
        raise InternalServerException(
            'Stored encrypted content is damaged (authentication failed).'
        ) from None


def key_of(envelope):
    """The ARN of the KMS key whose data key sealed ``envelope``."""
    return _parse(envelope)[0]['key']


# --- the content store -----------------------------------------------------------------------


def store(data, key_id=None, encryption_context=None):
    """Store ``data``: ``(digest, key ARN)``. Without ``key_id`` the bytes are stored as they
    are (content-addressed, shared with identical content) and the key ARN is None."""
    if not key_id:
        return content.put(data), None
    envelope, key_arn = seal(data, key_id, encryption_context or {})
    return content.put(envelope, namespace=PREFIX), key_arn


class _Plaintexts:
    """Recently read plaintexts by digest, least recently used out first, bounded in total
    size. Content never changes for its digest, so an entry is never stale."""

    def __init__(self, max_bytes):
        self.max_bytes = max_bytes
        self._entries = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, digest):
        with self._lock:
            data = self._entries.get(digest)
            if data is not None:
                self._entries.move_to_end(digest)
            return data

    def put(self, digest, data):
        if len(data) > self.max_bytes // 4:
            return
        with self._lock:
            if digest not in self._entries:
                self._entries[digest] = data
                self._size += len(data)
            while self._size > self.max_bytes:
                _, old = self._entries.popitem(last=False)
                self._size -= len(old)

    def clear(self):
        with self._lock:
            self._entries.clear()
            self._size = 0


_plaintexts = _Plaintexts(int(os.environ.get('APPCONFIG_CONTENT_CACHE_BYTES') or 32 << 20))
cache.on_reset(_plaintexts.clear)


def read(digest):
    """The plaintext bytes stored under ``digest`` (decrypted when it names an envelope),
    kept in-process so a hot configuration costs neither DynamoDB nor KMS per read."""
    data = _plaintexts.get(digest)
    if data is None:
        stored = content.get(digest)
        data = unseal(stored) if is_sealed(digest) else stored
        _plaintexts.put(digest, data)
    return data


def delivered(version, data, deployment_key=None, changed=False):
    """``(digest, key ARN)`` of the bytes a deployment delivers.

    ``version`` is the hosted version item or a sources.SourceVersion; ``data`` the bytes to
    deliver; ``changed`` says they differ from the version's stored bytes (flattened feature
    flags, content replaced by an extension). With a deployment key the bytes are sealed with
    it. Otherwise a hosted version's stored bytes are reused when unchanged, and new bytes are
    sealed with the version's own key (so an encrypted version never lands in plaintext); a
    source's snapshot is stored as read, reporting the key the source named (S3 SSE-KMS)."""
    encryption_context = context(version.application_id, version.profile_id)
    if deployment_key:
        return store(data, deployment_key, encryption_context)
    if version.digest is None:  # read from an external source just now
        return content.put(data), version.kms_key_arn
    if changed:
        digest, _ = store(data, version.kms_key_arn, encryption_context)
        return digest, version.kms_key_arn
    return version.digest, version.kms_key_arn
