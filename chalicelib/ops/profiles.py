"""CreateConfigurationProfile, GetConfigurationProfile, UpdateConfigurationProfile,
DeleteConfigurationProfile, ListConfigurationProfiles.

Also ``load(application_id, profile_id)`` for other operations and ``check_validators``.
"""

import json
import re
from functools import cache

from chalicelib import arns, clock
from chalicelib.constants import FEATURE_FLAGS, FREEFORM, PROFILE_TYPES
from chalicelib.errors import BadRequestException, InternalServerException, not_found
from chalicelib.ops import applications, protection, tagging
from chalicelib.store import paging, tx
from chalicelib.store.applications import Application
from chalicelib.store.hosted_versions import HostedVersion, profile_key
from chalicelib.store.profiles import Profile

MAX_PROFILES = 100  # per application
MAX_VALIDATORS = 2
DELETE_ATTEMPTS = 5


# LocationUri forms the API accepts (CreateConfigurationProfileRequest.LocationUri).
_PARTITION = r'arn:aws[a-zA-Z-]*'
_REGION_ACCOUNT = r'[a-z0-9-]+:\d{12}'
_LOCATIONS = (
    ('hosted', re.compile(r'hosted')),
    ('ssm-parameter', re.compile(r'ssm-parameter://\S+')),
    ('ssm-parameter', re.compile(rf'{_PARTITION}:ssm:{_REGION_ACCOUNT}:parameter/\S+')),
    ('ssm-document', re.compile(r'ssm-document://\S+')),
    ('ssm-document', re.compile(rf'{_PARTITION}:ssm:{_REGION_ACCOUNT}:document/\S+')),
    ('s3', re.compile(r's3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/\S+')),
    ('secretsmanager', re.compile(r'secretsmanager://\S+')),
    ('codepipeline', re.compile(r'codepipeline://\S+')),
)
# Sources AppConfig reads without assuming a role.
_NO_ROLE_NEEDED = ('hosted', 'codepipeline')

_LAMBDA_ARN = re.compile(
    rf'{_PARTITION}:lambda:[a-z]{{2}}(-[a-z]+)+-\d:\d{{12}}:function:[a-zA-Z0-9_-]{{1,64}}'
    r'(:(\$LATEST|[a-zA-Z0-9_-]{1,128}))?'
)
_KMS_KEY_ARN = re.compile(rf'{_PARTITION}:kms:[a-z0-9-]+:\d{{12}}:key/[a-zA-Z0-9-]+')


def kms_key_arn(identifier):
    """The key ARN for a KMS key identifier, when the identifier is one (aliases and bare
    key ids would need KMS to resolve; they are stored and echoed as given)."""
    return identifier if identifier and _KMS_KEY_ARN.fullmatch(identifier) else None


def render(profile):
    return {
        'ApplicationId': profile.application_id,
        'Id': profile.id,
        'Name': profile.name,
        'Description': profile.description,
        'LocationUri': profile.location_uri,
        'RetrievalRoleArn': profile.retrieval_role_arn,
        'Validators': list(profile.validators or []),
        'Type': profile.type,
        'KmsKeyIdentifier': profile.kms_key_identifier,
        'KmsKeyArn': kms_key_arn(profile.kms_key_identifier),
    }


def summary(profile):
    return {
        'ApplicationId': profile.application_id,
        'Id': profile.id,
        'Name': profile.name,
        'LocationUri': profile.location_uri,
        'ValidatorTypes': [v['Type'] for v in profile.validators or []],
        'Type': profile.type,
    }


def load(application_id, profile_id):
    """The Profile item; ResourceNotFoundException naming the application when that is what
    is missing, else naming the profile."""
    try:
        return Profile.get(application_id, profile_id, consistent_read=True)
    except Profile.DoesNotExist:
        applications.load(application_id)
        raise not_found('ConfigurationProfile', profile_id) from None


# --- validators -----------------------------------------------------------------------------


def _draft04_metaschema():
    """The structure of a JSON Schema draft-04 document, as a draft-04 schema."""
    non_negative = {'type': 'integer', 'minimum': 0}
    schema_array = {'type': 'array', 'minItems': 1, 'items': {'$ref': '#'}}
    string_array = {
        'type': 'array',
        'items': {'type': 'string'},
        'minItems': 1,
        'uniqueItems': True,
    }
    simple_type = {'enum': ['array', 'boolean', 'integer', 'null', 'number', 'object', 'string']}
    schema_map = {'type': 'object', 'additionalProperties': {'$ref': '#'}}
    bool_or_schema = {'anyOf': [{'type': 'boolean'}, {'$ref': '#'}]}
    text = {'type': 'string'}
    return {
        '$schema': 'http://json-schema.org/draft-04/schema#',
        'type': 'object',
        'properties': {
            'id': text,
            '$schema': text,
            '$ref': text,
            'title': text,
            'description': text,
            'format': text,
            'pattern': text,
            'multipleOf': {'type': 'number', 'minimum': 0, 'exclusiveMinimum': True},
            'maximum': {'type': 'number'},
            'exclusiveMaximum': {'type': 'boolean'},
            'minimum': {'type': 'number'},
            'exclusiveMinimum': {'type': 'boolean'},
            'maxLength': non_negative,
            'minLength': non_negative,
            'maxItems': non_negative,
            'minItems': non_negative,
            'maxProperties': non_negative,
            'minProperties': non_negative,
            'uniqueItems': {'type': 'boolean'},
            'additionalItems': bool_or_schema,
            'additionalProperties': bool_or_schema,
            'items': {'anyOf': [{'$ref': '#'}, schema_array]},
            'required': string_array,
            'definitions': schema_map,
            'properties': schema_map,
            'patternProperties': schema_map,
            'dependencies': {
                'type': 'object',
                'additionalProperties': {'anyOf': [{'$ref': '#'}, string_array]},
            },
            'enum': {'type': 'array', 'minItems': 1, 'uniqueItems': True},
            'type': {
                'anyOf': [
                    simple_type,
                    {'type': 'array', 'items': simple_type, 'minItems': 1, 'uniqueItems': True},
                ]
            },
            'allOf': schema_array,
            'anyOf': schema_array,
            'oneOf': schema_array,
            'not': {'$ref': '#'},
        },
        'dependencies': {'exclusiveMaximum': ['maximum'], 'exclusiveMinimum': ['minimum']},
    }


@cache
def _metaschema_check():
    # Only this fixed, trusted schema is compiled; a user's schema is only ever data here.
    import fastjsonschema

    return fastjsonschema.compile(_draft04_metaschema())


def _patterns(schema):
    """Every regular expression a schema document declares (pattern, patternProperties)."""
    if isinstance(schema, dict):
        if isinstance(schema.get('pattern'), str):
            yield schema['pattern']
        if isinstance(schema.get('patternProperties'), dict):
            yield from schema['patternProperties']
        for value in schema.values():
            yield from _patterns(value)
    elif isinstance(schema, list):
        for value in schema:
            yield from _patterns(value)


def _json_schema_problem(content):
    """Why ``content`` is not a usable JSON Schema (draft-04) document, or None."""
    import fastjsonschema  # reason: compiled schemas only for requests that carry one

    try:
        schema = json.loads(content)
    except ValueError as error:
        return f'the content is not valid JSON ({error})'
    except RecursionError:
        return 'the content is not valid JSON (nested too deeply)'
    if not isinstance(schema, dict):
        return 'the content must be a JSON object'
    try:
        _metaschema_check()(schema)
    except fastjsonschema.JsonSchemaException as error:
        return f'the content is not a valid JSON Schema (draft-04): {error.message}'
    for pattern in _patterns(schema):
        try:
            re.compile(pattern)
        except re.error as error:
            return f'the regular expression {pattern!r} is not valid ({error})'
    return None


def check_validators(validators):
    """BadRequestException unless every validator is well formed: JSON_SCHEMA content a JSON
    Schema draft-04 document, LAMBDA content a Lambda function ARN."""
    validators = validators or []
    if len(validators) > MAX_VALIDATORS:
        raise BadRequestException(
            f'A configuration profile can have at most {MAX_VALIDATORS} validators.'
        )
    for position, validator in enumerate(validators, 1):
        kind, content = validator['Type'], validator['Content']
        if kind == 'JSON_SCHEMA':
            problem = _json_schema_problem(content)
        elif not _LAMBDA_ARN.fullmatch(content):
            problem = 'the content must be the ARN of a Lambda function'
        else:
            problem = None
        if problem:
            raise BadRequestException(f'Validator {position} ({kind}): {problem}.')
    return [{'Type': v['Type'], 'Content': v['Content']} for v in validators]


# --- operations -----------------------------------------------------------------------------


def _source(location_uri):
    for source, pattern in _LOCATIONS:
        if pattern.fullmatch(location_uri):
            return source
    raise BadRequestException(
        f'LocationUri {location_uri!r} is not valid. Use hosted, ssm-parameter://<name>, '
        f'ssm-document://<name>, s3://<bucket>/<key>, secretsmanager://<name>, '
        f'codepipeline://<name>, or the ARN of an SSM parameter or document.'
    )


def create_configuration_profile(p):
    application_id = p['ApplicationId']
    tags = tagging.check(p.get('Tags'))
    kind = p.get('Type') or FREEFORM
    if kind not in PROFILE_TYPES:
        raise BadRequestException(f'Type {kind!r} is not valid. Use {FREEFORM} or {FEATURE_FLAGS}.')
    source = _source(p['LocationUri'])
    if kind == FEATURE_FLAGS and source != 'hosted':
        raise BadRequestException(
            'Feature flag configuration profiles must use the LocationUri hosted.'
        )
    if source not in _NO_ROLE_NEEDED and not p.get('RetrievalRoleArn'):
        raise BadRequestException(
            f'RetrievalRoleArn is required for configurations stored in {source}.'
        )
    validators = check_validators(p.get('Validators'))
    profile = applications.create_child(
        application_id,
        lambda new: Profile(
            application_id,
            new,
            name=p['Name'],
            description=p.get('Description'),
            location_uri=p['LocationUri'],
            retrieval_role_arn=p.get('RetrievalRoleArn'),
            validators=validators,
            type=kind,
            kms_key_identifier=p.get('KmsKeyIdentifier'),
            tags=tags,
            created_at=clock.now(),
            latest_version=0,
        ),
        Application.profile_count,
        MAX_PROFILES,
        'configuration profiles',
    )
    return render(profile)


def get_configuration_profile(p):
    return render(load(p['ApplicationId'], p['ConfigurationProfileId']))


def update_configuration_profile(p):
    profile = load(p['ApplicationId'], p['ConfigurationProfileId'])
    actions = [
        attr.set(value)
        for attr, value in (
            (Profile.name, p.get('Name')),
            (Profile.description, p.get('Description')),
            (Profile.retrieval_role_arn, p.get('RetrievalRoleArn')),
        )
        if value is not None
    ]
    if 'Validators' in p:
        actions.append(Profile.validators.set(check_validators(p['Validators'])))
    if 'KmsKeyIdentifier' in p:
        # An empty identifier removes the key: new versions are stored without one.
        identifier = p['KmsKeyIdentifier']
        actions.append(
            Profile.kms_key_identifier.set(identifier)
            if identifier
            else Profile.kms_key_identifier.remove()
        )
    if actions:
        if tx.attempt(lambda: profile.update(actions=actions, condition=Profile.id.exists())):
            raise not_found('ConfigurationProfile', profile.id)
    return render(profile)


def delete_configuration_profile(p):
    application_id, profile_id = p['ApplicationId'], p['ConfigurationProfileId']
    count = Application.profile_count
    for _ in range(DELETE_ATTEMPTS):
        # Read the profile before looking for versions: a version created after the read has
        # moved latest_version, so the delete's condition fails and the check runs again.
        profile = load(application_id, profile_id)
        protection.check('configuration profile', profile, p.get('DeletionProtectionCheck'))
        versions = HostedVersion.query(
            profile_key(application_id, profile_id), limit=1, consistent_read=True
        )
        if next(iter(versions), None) is not None:
            raise BadRequestException(
                f'Cannot delete configuration profile {profile_id} because there are still '
                f'hosted configuration versions existing under it.'
            )
        seen = profile.latest_version

        def write():
            with tx.transaction() as t:
                t.delete(profile, condition=Profile.id.exists() & (Profile.latest_version == seen))
                t.update(
                    Application(arns.account(), application_id),
                    actions=[count.add(-1)],
                    condition=Application.id.exists(),
                )

        if tx.attempt(write):
            continue  # gone, or a version was created meanwhile: look again
        return {}
    raise InternalServerException('The configuration profile kept changing. Try again.')


def list_configuration_profiles(p):
    application_id = p['ApplicationId']
    query = {}
    if p.get('Type'):
        query['filter_condition'] = Profile.type == p['Type']
    out = paging.page(Profile, application_id, p, render=summary, **query)
    if not out['Items']:
        applications.load(application_id)  # an empty list, or a missing application
    return out
