import json
from datetime import timedelta

import pytest

from chalicelib import clock
from chalicelib.store.profiles import Profile

ROLE = 'arn:aws:iam::123456789012:role/appconfig-reader'
LAMBDA = 'arn:aws:lambda:us-east-1:123456789012:function:check-config'
KEY_ARN = 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab'
SCHEMA = json.dumps(
    {
        '$schema': 'http://json-schema.org/draft-04/schema#',
        'type': 'object',
        'properties': {
            'limit': {'type': 'integer', 'minimum': 0, 'exclusiveMinimum': True},
            'name': {'type': 'string', 'pattern': '^[a-z]+$'},
        },
        'required': ['limit'],
        'additionalProperties': False,
    }
)


@pytest.fixture
def app_id(appconfig):
    return appconfig.create_application(Name='shop')['Id']


def _status(err):
    return err.value.response['ResponseMetadata']['HTTPStatusCode']


def _message(err):
    return err.value.response['Error']['Message']


def test_create_get_update_delete(appconfig, app_id):
    validators = [{'Type': 'JSON_SCHEMA', 'Content': SCHEMA}, {'Type': 'LAMBDA', 'Content': LAMBDA}]
    created = appconfig.create_configuration_profile(
        ApplicationId=app_id,
        Name='settings',
        Description='app settings',
        LocationUri='hosted',
        Validators=validators,
        KmsKeyIdentifier=KEY_ARN,
        Tags={'team': 'a'},
    )
    assert created['ResponseMetadata']['HTTPStatusCode'] == 201
    profile_id = created['Id']
    assert len(profile_id) == 7 and profile_id.isalnum() and profile_id.islower()
    expected = {
        'ApplicationId': app_id,
        'Id': profile_id,
        'Name': 'settings',
        'Description': 'app settings',
        'LocationUri': 'hosted',
        'Validators': validators,
        'Type': 'AWS.Freeform',
        'KmsKeyIdentifier': KEY_ARN,
        'KmsKeyArn': KEY_ARN,
    }
    assert {k: created.get(k) for k in expected} == expected
    got = appconfig.get_configuration_profile(
        ApplicationId=app_id, ConfigurationProfileId=profile_id
    )
    assert {k: got.get(k) for k in expected} == expected
    assert 'RetrievalRoleArn' not in got

    updated = appconfig.update_configuration_profile(
        ApplicationId=app_id,
        ConfigurationProfileId=profile_id,
        Name='config',
        Validators=[{'Type': 'LAMBDA', 'Content': LAMBDA + ':live'}],
        KmsKeyIdentifier='alias/x',
    )
    assert (
        updated['Name'],
        updated['Description'],
        updated['Validators'],
        updated['KmsKeyIdentifier'],
        updated.get('KmsKeyArn'),
    ) == (
        'config',
        'app settings',
        [{'Type': 'LAMBDA', 'Content': LAMBDA + ':live'}],
        'alias/x',
        None,
    )
    cleared = appconfig.update_configuration_profile(
        ApplicationId=app_id,
        ConfigurationProfileId=profile_id,
        Validators=[],
        KmsKeyIdentifier='',
        Description='',
    )
    assert cleared['Validators'] == [] and 'KmsKeyIdentifier' not in cleared
    assert cleared['Description'] == '' and cleared['Name'] == 'config'
    again = appconfig.get_configuration_profile(
        ApplicationId=app_id, ConfigurationProfileId=profile_id
    )
    assert again['Validators'] == [] and 'KmsKeyIdentifier' not in again

    deleted = appconfig.delete_configuration_profile(
        ApplicationId=app_id, ConfigurationProfileId=profile_id
    )
    assert deleted['ResponseMetadata']['HTTPStatusCode'] == 204
    with pytest.raises(appconfig.exceptions.ResourceNotFoundException) as err:
        appconfig.get_configuration_profile(ApplicationId=app_id, ConfigurationProfileId=profile_id)
    assert _status(err) == 404 and profile_id in _message(err)
    assert err.value.response['ResourceName'] == profile_id


def test_type_defaults_to_freeform_and_feature_flags_are_kept(appconfig, app_id):
    freeform = appconfig.create_configuration_profile(
        ApplicationId=app_id, Name='a', LocationUri='hosted'
    )
    assert freeform['Type'] == 'AWS.Freeform' and freeform['Validators'] == []
    flags = appconfig.create_configuration_profile(
        ApplicationId=app_id, Name='b', LocationUri='hosted', Type='AWS.AppConfig.FeatureFlags'
    )
    assert (
        appconfig.get_configuration_profile(
            ApplicationId=app_id, ConfigurationProfileId=flags['Id']
        )['Type']
        == 'AWS.AppConfig.FeatureFlags'
    )


@pytest.mark.parametrize(
    'location',
    [
        'ssm-parameter://my-parameter',
        'arn:aws:ssm:us-east-1:123456789012:parameter/app/settings',
        'ssm-document://my-document',
        'arn:aws:ssm:us-east-1:123456789012:document/my-document',
        's3://amzn-s3-demo-bucket/my-app/us-east-1/my-config.json',
        'secretsmanager://my-secret',
    ],
)
def test_other_sources_are_stored_with_their_role(appconfig, app_id, location):
    created = appconfig.create_configuration_profile(
        ApplicationId=app_id, Name='p', LocationUri=location, RetrievalRoleArn=ROLE
    )
    got = appconfig.get_configuration_profile(
        ApplicationId=app_id, ConfigurationProfileId=created['Id']
    )
    assert (got['LocationUri'], got['RetrievalRoleArn']) == (location, ROLE)


def test_codepipeline_needs_no_role(appconfig, app_id):
    created = appconfig.create_configuration_profile(
        ApplicationId=app_id, Name='p', LocationUri='codepipeline://pipe'
    )
    assert created['LocationUri'] == 'codepipeline://pipe'


@pytest.mark.parametrize(
    'params, text',
    [
        ({'LocationUri': 'ssm-parameter://x'}, 'RetrievalRoleArn is required'),
        ({'LocationUri': 's3://bucket/key'}, 'RetrievalRoleArn is required'),
        ({'LocationUri': 'ftp://somewhere/file'}, 'LocationUri'),
        ({'LocationUri': 's3://bucket-only'}, 'LocationUri'),
        ({'LocationUri': 'hosted', 'Type': 'AWS.Something'}, 'Type'),
        (
            {
                'LocationUri': 's3://bucket/key',
                'RetrievalRoleArn': ROLE,
                'Type': 'AWS.AppConfig.FeatureFlags',
            },
            'hosted',
        ),
    ],
)
def test_create_refuses_bad_sources_and_types(appconfig, app_id, params, text):
    with pytest.raises(appconfig.exceptions.BadRequestException) as err:
        appconfig.create_configuration_profile(ApplicationId=app_id, Name='p', **params)
    assert _status(err) == 400 and text in _message(err)


@pytest.mark.parametrize(
    'content, text',
    [
        ('{"type": "object"', 'not valid JSON'),
        ('[1, 2]', 'JSON object'),
        ('"a string"', 'JSON object'),
        ('{"type": "strin"}', 'draft-04'),
        ('{"type": []}', 'draft-04'),
        ('{"required": []}', 'draft-04'),
        ('{"minLength": -1}', 'draft-04'),
        ('{"properties": {"a": 5}}', 'draft-04'),
        ('{"exclusiveMinimum": 3}', 'draft-04'),
        ('{"multipleOf": 0}', 'draft-04'),
        ('{"pattern": "(unclosed"}', 'regular expression'),
        ('{"patternProperties": {"[a-": {}}}', 'regular expression'),
    ],
)
def test_json_schema_validator_must_be_a_draft4_schema(appconfig, app_id, content, text):
    with pytest.raises(appconfig.exceptions.BadRequestException) as err:
        appconfig.create_configuration_profile(
            ApplicationId=app_id,
            Name='p',
            LocationUri='hosted',
            Validators=[{'Type': 'JSON_SCHEMA', 'Content': content}],
        )
    assert 'Validator 1 (JSON_SCHEMA)' in _message(err) and text in _message(err)


def test_json_schema_validators_that_are_fine(appconfig, app_id):
    for schema in (
        '{}',
        '{"type": ["string", "null"], "enum": ["a", null]}',
        '{"definitions": {"x": {"type": "integer"}}, "items": [{"$ref": "#/definitions/x"}]}',
        '{"dependencies": {"a": ["b"], "c": {"required": ["d"]}}}',
    ):
        appconfig.create_configuration_profile(
            ApplicationId=app_id,
            Name='p',
            LocationUri='hosted',
            Validators=[{'Type': 'JSON_SCHEMA', 'Content': schema}],
        )


@pytest.mark.parametrize(
    'content',
    [
        'check-config',
        'arn:aws:lambda:us-east-1:123456789012:layer:x',
        'arn:aws:s3:::bucket',
        'arn:aws:lambda:us-east-1:1234:function:x',
    ],
)
def test_lambda_validator_must_be_a_function_arn(appconfig, app_id, content):
    with pytest.raises(appconfig.exceptions.BadRequestException) as err:
        appconfig.create_configuration_profile(
            ApplicationId=app_id,
            Name='p',
            LocationUri='hosted',
            Validators=[
                {'Type': 'JSON_SCHEMA', 'Content': '{}'},
                {'Type': 'LAMBDA', 'Content': content},
            ],
        )
    assert 'Validator 2 (LAMBDA)' in _message(err)


def test_update_checks_validators_and_changes_nothing_when_refused(appconfig, app_id):
    profile_id = appconfig.create_configuration_profile(
        ApplicationId=app_id,
        Name='p',
        LocationUri='hosted',
        Validators=[{'Type': 'LAMBDA', 'Content': LAMBDA}],
    )['Id']
    with pytest.raises(appconfig.exceptions.BadRequestException):
        appconfig.update_configuration_profile(
            ApplicationId=app_id,
            ConfigurationProfileId=profile_id,
            Name='renamed',
            Validators=[{'Type': 'JSON_SCHEMA', 'Content': 'nope'}],
        )
    got = appconfig.get_configuration_profile(
        ApplicationId=app_id, ConfigurationProfileId=profile_id
    )
    assert got['Name'] == 'p' and got['Validators'] == [{'Type': 'LAMBDA', 'Content': LAMBDA}]


def test_list_filters_by_type_across_pages(appconfig, app_id):
    kinds = [
        'AWS.Freeform',
        'AWS.AppConfig.FeatureFlags',
        'AWS.Freeform',
        'AWS.Freeform',
        'AWS.AppConfig.FeatureFlags',
        'AWS.Freeform',
        'AWS.AppConfig.FeatureFlags',
    ]
    ids = {}
    for i, kind in enumerate(kinds):
        ids[
            appconfig.create_configuration_profile(
                ApplicationId=app_id,
                Name=f'p{i}',
                LocationUri='hosted',
                Type=kind,
                Validators=[{'Type': 'LAMBDA', 'Content': LAMBDA}] if i == 0 else [],
            )['Id']
        ] = kind
    flags = sorted(i for i, k in ids.items() if k == 'AWS.AppConfig.FeatureFlags')
    seen, token, pages = [], None, 0
    while True:
        extra = {'NextToken': token} if token else {}
        page = appconfig.list_configuration_profiles(
            ApplicationId=app_id, Type='AWS.AppConfig.FeatureFlags', MaxResults=2, **extra
        )
        pages += 1
        assert page['Items'], 'no page of a filtered list may be empty'
        seen += [i['Id'] for i in page['Items']]
        token = page.get('NextToken')
        if not token:
            break
    assert sorted(seen) == flags and pages == 2
    everything = appconfig.get_paginator('list_configuration_profiles').paginate(
        ApplicationId=app_id, PaginationConfig={'PageSize': 3}
    )
    items = [i for p in everything for i in p['Items']]
    assert sorted(i['Id'] for i in items) == sorted(ids)
    first = next(i for i in items if i['Name'] == 'p0')
    assert first == {
        'ApplicationId': app_id,
        'Id': first['Id'],
        'Name': 'p0',
        'LocationUri': 'hosted',
        'ValidatorTypes': ['LAMBDA'],
        'Type': 'AWS.Freeform',
    }
    assert (
        appconfig.list_configuration_profiles(ApplicationId=app_id, Type='Custom.Kind')['Items']
        == []
    )


def test_delete_refused_while_hosted_versions_exist(appconfig, app_id):
    profile_id = appconfig.create_configuration_profile(
        ApplicationId=app_id, Name='p', LocationUri='hosted'
    )['Id']
    for _ in range(2):
        appconfig.create_hosted_configuration_version(
            ApplicationId=app_id,
            ConfigurationProfileId=profile_id,
            Content=b'{}',
            ContentType='application/json',
        )
    with pytest.raises(appconfig.exceptions.BadRequestException) as err:
        appconfig.delete_configuration_profile(
            ApplicationId=app_id, ConfigurationProfileId=profile_id
        )
    assert _status(err) == 400
    assert _message(err) == (
        f'Cannot delete configuration profile {profile_id} because there are still hosted '
        f'configuration versions existing under it.'
    )
    for number in (1, 2):
        appconfig.delete_hosted_configuration_version(
            ApplicationId=app_id, ConfigurationProfileId=profile_id, VersionNumber=number
        )
    appconfig.delete_configuration_profile(ApplicationId=app_id, ConfigurationProfileId=profile_id)


def test_quota_of_a_hundred_per_application(appconfig, app_id):
    ids = [
        appconfig.create_configuration_profile(
            ApplicationId=app_id, Name=f'p{i}', LocationUri='hosted'
        )['Id']
        for i in range(100)
    ]
    with pytest.raises(appconfig.exceptions.ServiceQuotaExceededException) as err:
        appconfig.create_configuration_profile(
            ApplicationId=app_id, Name='more', LocationUri='hosted'
        )
    assert _status(err) == 402 and '100' in _message(err)
    appconfig.delete_configuration_profile(ApplicationId=app_id, ConfigurationProfileId=ids[0])
    appconfig.create_configuration_profile(ApplicationId=app_id, Name='again', LocationUri='hosted')


def test_deletion_protection(appconfig, app_id):
    profile_id = appconfig.create_configuration_profile(
        ApplicationId=app_id, Name='p', LocationUri='hosted'
    )['Id']
    appconfig.update_account_settings(DeletionProtection={'Enabled': True})
    clock.advance(hours=2)
    Profile(app_id, profile_id).update(
        actions=[Profile.last_polled_at.set(clock.now() - timedelta(minutes=5))]
    )
    with pytest.raises(appconfig.exceptions.BadRequestException) as err:
        appconfig.delete_configuration_profile(
            ApplicationId=app_id, ConfigurationProfileId=profile_id
        )
    assert profile_id in _message(err) and 'last polled at' in _message(err)
    appconfig.delete_configuration_profile(
        ApplicationId=app_id, ConfigurationProfileId=profile_id, DeletionProtectionCheck='BYPASS'
    )


@pytest.mark.parametrize(
    'call',
    [
        lambda c, a: c.create_configuration_profile(
            ApplicationId=a, Name='x', LocationUri='hosted'
        ),
        lambda c, a: c.get_configuration_profile(ApplicationId=a, ConfigurationProfileId='abc1234'),
        lambda c, a: c.update_configuration_profile(
            ApplicationId=a, ConfigurationProfileId='abc1234', Name='y'
        ),
        lambda c, a: c.delete_configuration_profile(
            ApplicationId=a, ConfigurationProfileId='abc1234'
        ),
        lambda c, a: c.list_configuration_profiles(ApplicationId=a),
    ],
)
def test_unknown_application(appconfig, call):
    with pytest.raises(appconfig.exceptions.ResourceNotFoundException) as err:
        call(appconfig, 'nope123')
    assert _status(err) == 404 and 'Application nope123' in _message(err)


@pytest.mark.parametrize(
    'call',
    [
        lambda c, a: c.get_configuration_profile(ApplicationId=a, ConfigurationProfileId='abc1234'),
        lambda c, a: c.update_configuration_profile(
            ApplicationId=a, ConfigurationProfileId='abc1234', Name='y'
        ),
        lambda c, a: c.delete_configuration_profile(
            ApplicationId=a, ConfigurationProfileId='abc1234'
        ),
    ],
)
def test_unknown_profile(appconfig, app_id, call):
    with pytest.raises(appconfig.exceptions.ResourceNotFoundException) as err:
        call(appconfig, app_id)
    assert _status(err) == 404 and 'ConfigurationProfile abc1234' in _message(err)
    assert err.value.response['ResourceName'] == 'abc1234'


@pytest.mark.parametrize(
    'params, field',
    [
        ({'LocationUri': 'hosted'}, 'name'),
        ({'Name': 'p'}, 'locationUri'),
        ({'Name': '', 'LocationUri': 'hosted'}, 'name'),
        ({'Name': 'x' * 129, 'LocationUri': 'hosted'}, 'name'),
        ({'Name': 'p', 'LocationUri': ''}, 'locationUri'),
        ({'Name': 'p', 'LocationUri': 'h' * 2049}, 'locationUri'),
        ({'Name': 'p', 'LocationUri': 'hosted', 'Description': 'd' * 1025}, 'description'),
        (
            {'Name': 'p', 'LocationUri': 'hosted', 'RetrievalRoleArn': 'arn:aws:iam::123:role/x'},
            'retrievalRoleArn',
        ),
        ({'Name': 'p', 'LocationUri': 'hosted', 'Type': 'AWS Freeform'}, 'type'),
        ({'Name': 'p', 'LocationUri': 'hosted', 'KmsKeyIdentifier': ''}, 'kmsKeyIdentifier'),
        (
            {
                'Name': 'p',
                'LocationUri': 'hosted',
                'Validators': [{'Type': 'LAMBDA', 'Content': LAMBDA}] * 3,
            },
            'validators',
        ),
        (
            {'Name': 'p', 'LocationUri': 'hosted', 'Validators': [{'Type': 'XML', 'Content': 'x'}]},
            'type',
        ),
        ({'Name': 'p', 'LocationUri': 'hosted', 'Validators': [{'Type': 'LAMBDA'}]}, 'content'),
        (
            {
                'Name': 'p',
                'LocationUri': 'hosted',
                'Validators': [{'Type': 'JSON_SCHEMA', 'Content': ' ' * 32769}],
            },
            'content',
        ),
        ({'Name': 'p', 'LocationUri': 'hosted', 'Tags': {'aws:x': 'y'}}, 'aws:'),
    ],
)
def test_create_validation(raw_appconfig, app_id, params, field):
    with pytest.raises(raw_appconfig.exceptions.BadRequestException) as err:
        raw_appconfig.create_configuration_profile(ApplicationId=app_id, **params)
    assert _status(err) == 400 and field in _message(err)
    assert raw_appconfig.list_configuration_profiles(ApplicationId=app_id)['Items'] == []


@pytest.mark.parametrize(
    'params, field',
    [
        ({'Name': ''}, 'name'),
        ({'Description': 'd' * 1025}, 'description'),
        ({'RetrievalRoleArn': 'role'}, 'retrievalRoleArn'),
        ({'KmsKeyIdentifier': 'k' * 2049}, 'kmsKeyIdentifier'),
        ({'Validators': [{'Type': 'LAMBDA', 'Content': LAMBDA}] * 3}, 'validators'),
    ],
)
def test_update_validation(raw_appconfig, app_id, params, field):
    profile_id = raw_appconfig.create_configuration_profile(
        ApplicationId=app_id, Name='p', LocationUri='hosted'
    )['Id']
    with pytest.raises(raw_appconfig.exceptions.BadRequestException) as err:
        raw_appconfig.update_configuration_profile(
            ApplicationId=app_id, ConfigurationProfileId=profile_id, **params
        )
    assert field in _message(err)


def test_list_validation(raw_appconfig, app_id):
    for params in (
        {'MaxResults': 0},
        {'MaxResults': 51},
        {'Type': 'bad type'},
        {'NextToken': 'garbage'},
    ):
        with pytest.raises(raw_appconfig.exceptions.BadRequestException):
            raw_appconfig.list_configuration_profiles(ApplicationId=app_id, **params)
