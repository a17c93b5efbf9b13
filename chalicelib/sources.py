"""Reading configurations kept outside the hosted store: S3, SSM Parameter Store, SSM documents
and Secrets Manager.

StartDeployment (and ValidateConfiguration) of a profile whose LocationUri names one of these
reads the source at the ConfigurationVersion the request names, once; StartDeployment then
stores the bytes in the content store (a snapshot, see crypto.delivered) and the data plane
serves that snapshot, so nothing served later depends on the source: changing or deleting it
afterwards changes nothing that is deployed. Validators run on the bytes read.

Versions. A deployment names one immutable version, never a label (StartDeploymentRequest:
"For all other configurations, you must specify the version number"):

==========================  ==================================================================
``s3://bucket/key``         the object's VersionId. The bucket must be versioned: ``null`` (the
                            id of objects written without versioning) is refused.
``ssm-parameter://name``    the parameter version number (digits; labels are refused). A name
or parameter ARN            holding ``/`` is hierarchical and gets its leading ``/``.
``ssm-document://name``     the document version number (digits; ``$LATEST``, ``$DEFAULT``
or document ARN             and version names are refused). DocumentType must be
                            ApplicationConfiguration.
``secretsmanager://name``   the secret's VersionId (32-64 characters, as Secrets Manager
                            returns it). Staging labels such as AWSCURRENT are refused: they
                            move. StartDeployment must name a KmsKeyIdentifier (the user
                            guide: deploying Secrets Manager secrets requires one), so a
                            secret's snapshot is always stored encrypted.
==========================  ==================================================================

Content-Type: the S3 object's ContentType; ``text/plain`` for parameters; for documents by
DocumentFormat (JSON ``application/json``, YAML ``application/x-yaml``, TEXT ``text/plain``);
for secrets ``application/json`` when the SecretString is a JSON object or array (what the
console's key/value editor writes), ``text/plain`` for any other SecretString, and
``application/octet-stream`` for a SecretBinary.

Size limits (BadRequestException above them; StartDeployment has no PayloadTooLarge error):
S3 1 MB (the limit AppConfig enforces for S3), parameters 8 KB (advanced tier), documents
64 KB, secrets 64 KB (Secrets Manager's own limit).

Errors: a missing bucket, object, object version, parameter, parameter version, document,
document version or secret (version) answers ResourceNotFoundException whose ResourceName is
the LocationUri and whose message names the source and the version. A source that exists but
cannot be read (the role cannot be assumed, access denied, a key that cannot decrypt, a
version that is a label, the wrong document type, too large) answers BadRequestException
naming the source.

Credentials. With a RetrievalRoleArn the source is read with that role's credentials
(sts:AssumeRole, session name ``appconfig-configuration-source``, cached until five minutes
before they expire); the role must trust the service's own role. Without one (only possible
for profiles written before the role became required) the service's own credentials are used,
which on AWS reach only resources in its account tagged ``appconfig:access=prod``
(.chalice/policy-prod-api.json).
"""

import json
import re
from dataclasses import dataclass

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from chalicelib import arns, auth, roles
from chalicelib.errors import BadRequestException, ResourceNotFoundException

KB = 1024
MB = 1024 * KB
LIMITS = {'s3': 1 * MB, 'ssm-parameter': 8 * KB, 'ssm-document': 64 * KB, 'secretsmanager': 64 * KB}
SESSION_NAME = 'appconfig-configuration-source'
_CONFIG = Config(connect_timeout=3, read_timeout=10, retries={'max_attempts': 3})
_DIGITS = re.compile(r'[0-9]{1,18}')
_SECRET_VERSION = re.compile(r'[^\s]{32,64}')
_SECRET_STAGES = ('AWSCURRENT', 'AWSPREVIOUS', 'AWSPENDING')
_SSM_ARN = re.compile(r'arn:aws[a-zA-Z-]*:ssm:([a-z0-9-]+):(\d{12}):(parameter|document)/(.+)')
_DOCUMENT_TYPES = {'JSON': 'application/json', 'YAML': 'application/x-yaml', 'TEXT': 'text/plain'}


@dataclass
class SourceVersion:
    """What StartDeployment knows about a version read from a source (the counterpart of a
    hosted version item): ``digest`` is None until the snapshot is stored."""

    application_id: str
    profile_id: str
    location_uri: str
    configuration_version: str
    content_type: str
    kms_key_arn: str = None  # the key the source reports (S3 SSE-KMS objects)
    version_label = None
    digest = None

    @property
    def version(self):
        return self.configuration_version


# --- credentials and clients ----------------------------------------------------------------


def _assumed(role_arn, location_uri):
    try:
        return roles.credentials(role_arn, SESSION_NAME)
    except ClientError as error:
        raise BadRequestException(
            f'Could not assume the retrieval role {role_arn} to read {location_uri}: '
            f'{_describe(error)}'
        ) from None


def client(service, region, role_arn=None, location_uri=''):
    """A boto3 client for reading a source, as ``role_arn`` when the profile names one."""
    keys = _assumed(role_arn, location_uri) if role_arn else {}
    return boto3.client(service, region_name=region, config=_CONFIG, **keys)


# --- errors ----------------------------------------------------------------------------------


def _describe(error):
    if isinstance(error, ClientError):
        err = error.response.get('Error', {})
        code = err.get('Code') or 'ClientError'
        return f'{code}: {err.get("Message") or code}'
    return f'{type(error).__name__}: {error}'


def _missing(location_uri, version, error=None, hint=''):
    why = f' ({_describe(error)})' if error is not None else ''
    return ResourceNotFoundException(
        f'Version {version} of the configuration at {location_uri} could not be found{why}.{hint}',
        ResourceName=location_uri,
    )


def _unreadable(location_uri, version, error):
    return BadRequestException(
        f'Version {version} of the configuration at {location_uri} could not be read: '
        f'{_describe(error)}'
    )


def _too_large(location_uri, version, size, kind):
    limit = LIMITS[kind]
    return BadRequestException(
        f'Version {version} of the configuration at {location_uri} is {size} bytes; '
        f'configurations read from {kind} may be at most {limit} bytes ({limit // KB} KB).'
    )


def _not_a_version(location_uri, version, expected):
    return BadRequestException(
        f'ConfigurationVersion {version!r} does not name a version of {location_uri}: {expected}'
    )


# --- reading ---------------------------------------------------------------------------------


def kind_of(location_uri):
    """'s3', 'ssm-parameter', 'ssm-document', 'secretsmanager', 'codepipeline' or 'hosted'."""
    if location_uri == 'hosted':
        return 'hosted'
    match = _SSM_ARN.fullmatch(location_uri)
    if match:
        return f'ssm-{match.group(3)}'
    return location_uri.split('://', 1)[0]


def fetch(profile, version, kms_key_identifier=None, deploying=True):
    """``(SourceVersion, bytes)``: version ``version`` of the configuration profile
    ``profile``'s source. ``deploying`` adds the rules that only StartDeployment has (a
    Secrets Manager secret needs a KmsKeyIdentifier)."""
    location_uri, version = profile.location_uri, str(version)
    kind = kind_of(location_uri)
    reader = _READERS.get(kind)
    if reader is None:
        raise BadRequestException(
            f'Configuration profile {profile.id} uses {location_uri}; this service reads '
            f'configurations from hosted, s3://, ssm-parameter://, ssm-document:// and '
            f'secretsmanager:// locations.'
        )
    if deploying and kind == 'secretsmanager' and not kms_key_identifier:
        raise BadRequestException(
            f'Deploying the Secrets Manager secret {location_uri} requires a '
            f'KmsKeyIdentifier: AppConfig encrypts the deployed secret with that key.'
        )
    data, content_type, key_arn = reader(profile, location_uri, version)
    if len(data) > LIMITS[kind]:
        raise _too_large(location_uri, version, len(data), kind)
    return SourceVersion(
        profile.application_id, profile.id, location_uri, version, content_type, key_arn
    ), data


def _s3(profile, location_uri, version):
    bucket, _, key = location_uri[len('s3://') :].partition('/')
    if version == 'null':
        raise _not_a_version(
            location_uri,
            version,
            'the bucket must have versioning enabled and the '
            'deployment must name an object VersionId (null is the id of an object written '
            'without versioning).',
        )
    s3 = client('s3', arns.region(), profile.retrieval_role_arn, location_uri)
    try:
        head = s3.get_object(Bucket=bucket, Key=key, VersionId=version)
    except ClientError as error:
        code = error.response.get('Error', {}).get('Code')
        if code in (
            'NoSuchBucket',
            'NoSuchKey',
            'NoSuchVersion',
            'InvalidArgument',
            '404',
            'NotFound',
        ):
            raise _missing(location_uri, version, error, _versioning_hint(s3, bucket)) from None
        raise _unreadable(location_uri, version, error) from None
    except BotoCoreError as error:
        raise _unreadable(location_uri, version, error) from None
    body = head['Body']
    try:
        size = int(head.get('ContentLength') or 0)
        if size > LIMITS['s3']:
            raise _too_large(location_uri, version, size, 's3')
        data = body.read(LIMITS['s3'] + 1)
    finally:
        body.close()
    key_arn = head.get('SSEKMSKeyId') if head.get('ServerSideEncryption') == 'aws:kms' else None
    return data, head.get('ContentType') or 'application/octet-stream', key_arn


def _versioning_hint(s3, bucket):
    """A sentence for a missing S3 version when the bucket is not versioned (best effort:
    the role may lack s3:GetBucketVersioning)."""
    try:
        status = s3.get_bucket_versioning(Bucket=bucket).get('Status')
    except (ClientError, BotoCoreError):
        return ''
    if status == 'Enabled':
        return ''
    return (
        f' Bucket {bucket} does not have versioning enabled; AppConfig deploys object '
        f'versions, so the bucket must be versioned.'
    )


def _ssm_target(location_uri, scheme):
    """(name or ARN to send, region) for an ssm-parameter:// or ssm-document:// location."""
    match = _SSM_ARN.fullmatch(location_uri)
    if match:
        region, account, _, name = match.groups()
        if account != arns.account():
            return location_uri, region  # shared from another account: only the ARN works
        if scheme == 'parameter' and '/' in name:
            name = '/' + name
        return name, region
    name = location_uri[len(f'ssm-{scheme}://') :]
    if scheme == 'parameter' and '/' in name and not name.startswith('/'):
        name = '/' + name
    return name, arns.region()


def _ssm_parameter(profile, location_uri, version):
    if not _DIGITS.fullmatch(version):
        raise _not_a_version(
            location_uri, version, 'name the parameter version number, not a label.'
        )
    name, region = _ssm_target(location_uri, 'parameter')
    ssm = client('ssm', region, profile.retrieval_role_arn, location_uri)
    try:
        parameter = ssm.get_parameter(Name=f'{name}:{int(version)}', WithDecryption=True)[
            'Parameter'
        ]
    except ClientError as error:
        code = error.response.get('Error', {}).get('Code')
        if code in ('ParameterNotFound', 'ParameterVersionNotFound'):
            raise _missing(location_uri, version, error) from None
        raise _unreadable(location_uri, version, error) from None
    except BotoCoreError as error:
        raise _unreadable(location_uri, version, error) from None
    return parameter['Value'].encode('utf-8'), 'text/plain', None


def _ssm_document(profile, location_uri, version):
    if not _DIGITS.fullmatch(version):
        raise _not_a_version(
            location_uri,
            version,
            'name the document version number, not $LATEST, $DEFAULT or a version name.',
        )
    name, region = _ssm_target(location_uri, 'document')
    ssm = client('ssm', region, profile.retrieval_role_arn, location_uri)
    try:
        document = ssm.get_document(Name=name, DocumentVersion=str(int(version)))
    except ClientError as error:
        code = error.response.get('Error', {}).get('Code')
        if code in ('InvalidDocument', 'InvalidDocumentVersion'):
            raise _missing(location_uri, version, error) from None
        raise _unreadable(location_uri, version, error) from None
    except BotoCoreError as error:
        raise _unreadable(location_uri, version, error) from None
    kind = document.get('DocumentType')
    if kind != 'ApplicationConfiguration':
        raise BadRequestException(
            f'The SSM document at {location_uri} has DocumentType {kind}; AppConfig deploys '
            f'documents of type ApplicationConfiguration.'
        )
    content_type = _DOCUMENT_TYPES.get(document.get('DocumentFormat'), 'text/plain')
    return (document.get('Content') or '').encode('utf-8'), content_type, None


def _secret(profile, location_uri, version):
    if version in _SECRET_STAGES or not _SECRET_VERSION.fullmatch(version):
        raise _not_a_version(
            location_uri,
            version,
            'name the secret VersionId (32 to 64 characters, as '
            'ListSecretVersionIds returns it), not a staging label.',
        )
    secret_id = location_uri[len('secretsmanager://') :]
    secrets = client('secretsmanager', arns.region(), profile.retrieval_role_arn, location_uri)
    try:
        value = secrets.get_secret_value(SecretId=secret_id, VersionId=version)
    except ClientError as error:
        if error.response.get('Error', {}).get('Code') == 'ResourceNotFoundException':
            raise _missing(location_uri, version, error) from None
        raise _unreadable(location_uri, version, error) from None
    except BotoCoreError as error:
        raise _unreadable(location_uri, version, error) from None
    if auth.is_credentials_secret(value.get('ARN')):
        # The function may read the service's own credentials (the sigv4 stage); no
        # configuration profile may deliver them.
        raise BadRequestException(
            f"The secret at {location_uri} holds this service's credentials and cannot be "
            f'used as a configuration source.'
        )
    if value.get('SecretString') is not None:
        text = value['SecretString']
        try:
            structured = isinstance(json.loads(text), (dict, list))
        except ValueError:
            structured = False
        except RecursionError:
            structured = True  # JSON, only nested deeper than this parser goes
        content_type = 'application/json' if structured else 'text/plain'
        return text.encode('utf-8'), content_type, None
    return bytes(value.get('SecretBinary') or b''), 'application/octet-stream', None


_READERS = {
    's3': _s3,
    'ssm-parameter': _ssm_parameter,
    'ssm-document': _ssm_document,
    'secretsmanager': _secret,
}
