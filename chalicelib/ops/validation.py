"""ValidateConfiguration, and the validators runner StartDeployment shares.

A profile has up to two validators:

- JSON_SCHEMA: Content is a JSON Schema, draft-04 unless its ``$schema`` names another
  draft (the user guide: inline schemas are "version 4.X"). Compiled with fastjsonschema,
  which also backs Powertools' validation utility. Remote ``$ref`` are refused: a schema
  must not make the service fetch URLs.
- LAMBDA: Content is a function name or ARN, invoked synchronously with
  {applicationId, configurationProfileId, configurationVersion, content (base64), uri};
  a function error (X-Amz-Function-Error) means the configuration is invalid.

Invalid content answers BadRequestException with Reason ``InvalidConfiguration`` and
Details.InvalidConfiguration = [{Constraint, Location, Reason, Type, Value}], Type being the
validator type that refused it.
"""

import base64
import functools
import json
from collections.abc import Mapping

import boto3
from botocore.config import Config

from chalicelib import arns, flags, sources
from chalicelib.constants import FEATURE_FLAGS
from chalicelib.errors import BadRequestException
from chalicelib.ops import hosted_versions, profiles

_MAX_DETAILS = 100
_DRAFT_04 = 'http://json-schema.org/draft-04/schema#'


def validate_configuration(p):
    profile = profiles.load(p['ApplicationId'], p['ConfigurationProfileId'])
    if profile.location_uri != 'hosted':  # S3, SSM, Secrets Manager (sources.py)
        version, raw = sources.fetch(profile, p['ConfigurationVersion'], deploying=False)
        check(profile, version.configuration_version, raw)
        return {}
    version = hosted_versions.load_version(
        p['ApplicationId'], p['ConfigurationProfileId'], p['ConfigurationVersion']
    )
    check(profile, version_number(version), hosted_versions.read_content(version))
    return {}


def version_number(version):
    """The number of a hosted version item (``version_number``, or the store's ``version``)."""
    number = getattr(version, 'version_number', None)
    return int(number if number is not None else version.version)


def check(profile, number, content):
    """Raise BadRequestException (InvalidConfiguration) unless ``content`` passes the
    profile's validators (and, for a feature-flag profile, the feature-flag document rules)."""
    details = []
    if getattr(profile, 'type', None) == FEATURE_FLAGS:
        try:
            flags.validate(content)
        except flags.FlagDocumentError as error:
            details += error.details
    for validator in profile.validators or ():
        if validator.get('Type') == 'JSON_SCHEMA':
            details += json_schema_details(validator.get('Content') or '', content)
        elif validator.get('Type') == 'LAMBDA':
            details += lambda_details(validator.get('Content') or '', profile, number, content)
    if details:
        reasons = '; '.join(d['Reason'] for d in details[:3])
        more = f' (and {len(details) - 3} more)' if len(details) > 3 else ''
        raise BadRequestException(
            f'Configuration version {number} of configuration profile {profile.id} '
            f'is not valid: {reasons}{more}',
            Reason='InvalidConfiguration',
            Details={'InvalidConfiguration': details[:_MAX_DETAILS]},
        )


# --- JSON_SCHEMA -----------------------------------------------------------------------


class _NoRemoteRefs(Mapping):
    """fastjsonschema handlers: every URI scheme is 'handled' by refusing it."""

    def __contains__(self, scheme):
        return True

    def __getitem__(self, scheme):
        def refuse(uri):
            raise ValueError(f'remote $ref is not allowed: {uri}')

        return refuse

    def __iter__(self):
        return iter(())

    def __len__(self):
        return 0


@functools.lru_cache(maxsize=64)
def _compiled(schema_text):
    import fastjsonschema  # reason: only profiles with a JSON_SCHEMA validator need it

    schema = json.loads(schema_text)
    if isinstance(schema, dict) and '$schema' not in schema:
        schema = {**schema, '$schema': _DRAFT_04}
    return fastjsonschema.compile(schema, handlers=_NoRemoteRefs(), fast_fail=False)


def _location(name):
    # fastjsonschema names paths data.a.b[0]; show them as JSONPath from the document root.
    rest = (name or 'data')[len('data') :]
    return '$' + rest


def json_schema_details(schema_text, content):
    import fastjsonschema  # reason: as in _compiled

    try:
        validate = _compiled(schema_text)
    except (ValueError, fastjsonschema.JsonSchemaDefinitionException, RecursionError) as error:
        return [
            flags.detail(
                'JSON_SCHEMA',
                'schema',
                '$',
                f'the JSON_SCHEMA validator is not a valid JSON Schema: {error}',
            )
        ]
    try:
        doc = json.loads(content.decode('utf-8'))
    except UnicodeDecodeError as error:
        return [
            flags.detail(
                'JSON_SCHEMA', 'json', '$', f'content is not valid UTF-8 (byte {error.start})'
            )
        ]
    except ValueError as error:
        return [flags.detail('JSON_SCHEMA', 'json', '$', f'content is not valid JSON: {error}')]
    except RecursionError:
        return [
            flags.detail('JSON_SCHEMA', 'json', '$', 'content is not valid JSON: nested too deeply')
        ]
    try:
        validate(doc)
    except fastjsonschema.JsonSchemaValuesException as many:
        errors = many.errors
    except fastjsonschema.JsonSchemaValueException as one:
        errors = [one]
    else:
        return []
    out = []
    for e in errors:
        location = _location(e.name)
        reason = location + e.message[len(e.name or 'data') :]
        constraint = e.rule or 'schema'
        if e.rule_definition is not None:
            constraint += ': ' + json.dumps(e.rule_definition, separators=(',', ':'), default=str)
        out.append(flags.detail('JSON_SCHEMA', constraint[:500], location, reason, e.value))
    return out


# --- LAMBDA ----------------------------------------------------------------------------


def lambda_client(region):
    """The Lambda client validators use (tests replace this)."""
    # AppConfig gives a validator 15 seconds, cold start included.
    return boto3.client(
        'lambda',
        region_name=region,
        config=Config(read_timeout=15, connect_timeout=5, retries={'max_attempts': 1}),
    )


def _function_region(function):
    parts = function.split(':')
    if len(parts) >= 7 and parts[0] == 'arn' and parts[2] == 'lambda':
        return parts[3]
    return arns.region()


def lambda_details(function, profile, version_number, content):
    event = {
        'applicationId': profile.application_id,
        'configurationProfileId': profile.id,
        'configurationVersion': str(version_number),
        'content': base64.b64encode(content).decode(),
        'uri': profile.location_uri,
    }
    try:
        answer = lambda_client(_function_region(function)).invoke(
            FunctionName=function,
            InvocationType='RequestResponse',
            Payload=json.dumps(event).encode(),
        )
    except Exception as error:  # noqa: BLE001 - the user must learn why nothing deployed
        return [
            flags.detail(
                'LAMBDA',
                function,
                '$',
                f'the LAMBDA validator {function} could not be invoked: {error}',
            )
        ]
    if not answer.get('FunctionError'):
        return []
    raw = answer['Payload'].read() if answer.get('Payload') is not None else b''
    try:
        payload = json.loads(raw or b'{}')
    except (ValueError, RecursionError):
        payload = {}
    if not isinstance(payload, dict):
        payload = {}
    message = payload.get('errorMessage') or raw.decode('utf-8', 'replace')[:500] or 'failed'
    error_type = payload.get('errorType')
    reason = f'{function} rejected the configuration: {message}'
    if error_type:
        reason += f' ({error_type})'
    return [flags.detail('LAMBDA', function, '$', reason)]
