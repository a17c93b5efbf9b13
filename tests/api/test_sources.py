"""Configuration sources over HTTP: profiles whose LocationUri is s3://, ssm-parameter://,
ssm-document:// or secretsmanager:// are read at StartDeployment, at the version the request
names, with the RetrievalRoleArn's credentials, and the bytes are snapshotted: the data plane
keeps serving them after the source changes or disappears. The sources are moto's S3, SSM,
Secrets Manager, STS and KMS, set up with real boto3 clients.
"""

import json
from unittest import mock

import boto3
import botocore.client
import pytest
from botocore.exceptions import ClientError

from chalicelib import cache, crypto
from chalicelib.store import content
from chalicelib.store.delivery import Delivery
from chalicelib.store.delivery import key as delivery_key
from tests.api.polling import INSTANT, fresh_caches, poll, start  # noqa: F401

REGION = 'us-east-1'
ACCOUNT = '123456789012'
ROLE = f'arn:aws:iam::{ACCOUNT}:role/appconfig-reader'
BUCKET = 'shop-config'
KEY = 'prod/settings.json'
SERVICES = ('appconfig', 'appconfigdata', 'dynamodb')


@pytest.fixture(autouse=True)
def no_cached_role_credentials():
    cache.reset()
    yield
    cache.reset()


@pytest.fixture
def aws_calls():
    """Every request the process makes to AWS services other than its own tables and the
    API under test: (service, operation, params, access key id it was signed with)."""
    calls = []
    real = botocore.client.BaseClient._make_api_call

    def recording(self, operation, params):
        service = self.meta.service_model.service_name
        if service not in SERVICES:
            credentials = getattr(self._request_signer, '_credentials', None)
            calls.append((service, operation, params, getattr(credentials, 'access_key', None)))
        return real(self, operation, params)

    with mock.patch.object(botocore.client.BaseClient, '_make_api_call', recording):
        yield calls


def aws(service):
    return boto3.client(service, region_name=REGION)


class Source:
    """An application, environment and configuration profile reading ``location``."""

    def __init__(self, appconfig, location, role=ROLE, **profile):
        self.client = appconfig
        self.location = location
        self.app = appconfig.create_application(Name='shop')['Id']
        self.env = appconfig.create_environment(ApplicationId=self.app, Name='prod')['Id']
        args = {'RetrievalRoleArn': role} if role else {}
        self.profile = appconfig.create_configuration_profile(
            ApplicationId=self.app, Name='cfg', LocationUri=location, **args, **profile
        )['Id']
        self.strategy = appconfig.create_deployment_strategy(**INSTANT)['Id']

    @property
    def ids(self):
        return dict(
            ApplicationIdentifier=self.app,
            EnvironmentIdentifier=self.env,
            ConfigurationProfileIdentifier=self.profile,
        )

    def deploy(self, version, **extra):
        return self.client.start_deployment(
            ApplicationId=self.app,
            EnvironmentId=self.env,
            ConfigurationProfileId=self.profile,
            DeploymentStrategyId=self.strategy,
            ConfigurationVersion=str(version),
            **extra,
        )

    def served(self, appconfigdata):
        """What a new data-plane session receives, read from the store (caches dropped)."""
        cache.reset()
        response, body = poll(appconfigdata, start(appconfigdata, self))
        return body, response['ContentType']

    def deployments(self):
        return self.client.list_deployments(ApplicationId=self.app, EnvironmentId=self.env)['Items']

    def delivery(self):
        return Delivery.get(delivery_key(self.app, self.env, self.profile))


def refused(err):
    e = err.value.response
    return e['Error']['Code'], e['ResponseMetadata']['HTTPStatusCode'], e['Error']['Message']


def versioned_bucket():
    s3 = aws('s3')
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={'Status': 'Enabled'})
    return s3


# --- S3 ----------------------------------------------------------------------------------------


def test_s3_object_version_is_deployed_through_the_role_and_snapshotted(
    appconfig, appconfigdata, aws_calls
):
    s3 = versioned_bucket()
    first = s3.put_object(
        Bucket=BUCKET, Key=KEY, Body=b'{"color": "red"}', ContentType='application/json'
    )['VersionId']
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=b'{"color": "blue"}', ContentType='application/json')
    w = Source(appconfig, f's3://{BUCKET}/{KEY}')

    deployment = w.deploy(first)
    assert deployment['State'] == 'COMPLETE'
    assert deployment['ConfigurationVersion'] == first
    assert deployment['ConfigurationLocationUri'] == f's3://{BUCKET}/{KEY}'
    assert 'VersionLabel' not in deployment and 'KmsKeyArn' not in deployment
    assert w.served(appconfigdata) == (b'{"color": "red"}', 'application/json')

    # Read once, at StartDeployment, with the retrieval role's credentials.
    assumed = [c for c in aws_calls if c[1] == 'AssumeRole']
    assert [(c[2]['RoleArn'], c[2]['RoleSessionName']) for c in assumed] == [
        (ROLE, 'appconfig-configuration-source')
    ]
    reads = [c for c in aws_calls if c[0] == 's3' and c[1] == 'GetObject']
    assert [(c[2]['Bucket'], c[2]['Key'], c[2]['VersionId']) for c in reads] == [
        (BUCKET, KEY, first)
    ]
    # Signed with the assumed role's temporary key, not with the service's own.
    own = s3._request_signer._credentials.access_key
    assert reads[0][3].startswith('ASIA') and reads[0][3] != own

    # The source changes, then goes away: the deployed bytes stay what they were.
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=b'{"color": "green"}')
    for v in s3.list_object_versions(Bucket=BUCKET)['Versions']:
        s3.delete_object(Bucket=BUCKET, Key=v['Key'], VersionId=v['VersionId'])
    s3.delete_bucket(Bucket=BUCKET)
    assert w.served(appconfigdata) == (b'{"color": "red"}', 'application/json')
    target = w.delivery().target
    assert target['VersionNumber'] == first
    assert content.get(target['Digest']) == b'{"color": "red"}'
    assert [c for c in aws_calls if c[0] == 's3' and c[1] == 'GetObject'] == reads


def test_s3_later_versions_deploy_and_content_type_comes_from_the_object(appconfig, appconfigdata):
    s3 = versioned_bucket()
    w = Source(appconfig, f's3://{BUCKET}/{KEY}')
    yaml = s3.put_object(
        Bucket=BUCKET, Key=KEY, Body=b'color: red\n', ContentType='application/x-yaml'
    )['VersionId']
    w.deploy(yaml)
    assert w.served(appconfigdata) == (b'color: red\n', 'application/x-yaml')
    raw = s3.put_object(Bucket=BUCKET, Key=KEY, Body=b'\x00\x01binary')['VersionId']
    w.deploy(raw)
    body, content_type = w.served(appconfigdata)
    assert body == b'\x00\x01binary' and content_type == 'binary/octet-stream'
    assert [d['ConfigurationVersion'] for d in w.deployments()] == [raw, yaml]


def test_s3_missing_bucket_object_or_version_is_not_found(appconfig):
    s3 = versioned_bucket()
    version = s3.put_object(Bucket=BUCKET, Key=KEY, Body=b'{}')['VersionId']
    cases = [
        (f's3://{BUCKET}/{KEY}', 'not-a-version-of-this-object'),
        (f's3://{BUCKET}/other.json', version),
        ('s3://no-such-bucket/settings.json', version),
    ]
    for location, asked in cases:
        w = Source(appconfig, location)
        with pytest.raises(appconfig.exceptions.ResourceNotFoundException) as err:
            w.deploy(asked)
        code, status, message = refused(err)
        assert status == 404
        assert err.value.response['ResourceName'] == location
        assert location in message and asked in message
        assert w.deployments() == []


def test_s3_bucket_must_be_versioned(appconfig):
    s3 = aws('s3')
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=b'{}')
    w = Source(appconfig, f's3://{BUCKET}/{KEY}')
    with pytest.raises(appconfig.exceptions.BadRequestException) as err:
        w.deploy('null')
    assert 'versioning' in refused(err)[2]
    with pytest.raises(appconfig.exceptions.ResourceNotFoundException) as err:
        w.deploy('3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY+MTRCxf3vjVBH40Nrjfkd')
    assert f'Bucket {BUCKET} does not have versioning enabled' in refused(err)[2]
    assert w.deployments() == []


def test_s3_object_over_one_megabyte_is_refused(appconfig):
    s3 = versioned_bucket()
    big = s3.put_object(Bucket=BUCKET, Key=KEY, Body=b'x' * (1024 * 1024 + 1))['VersionId']
    fits = s3.put_object(Bucket=BUCKET, Key=KEY, Body=b'x' * (1024 * 1024))['VersionId']
    w = Source(appconfig, f's3://{BUCKET}/{KEY}')
    with pytest.raises(appconfig.exceptions.BadRequestException) as err:
        w.deploy(big)
    assert '1048577 bytes' in refused(err)[2] and '1024 KB' in refused(err)[2]
    assert w.deployments() == []
    assert w.deploy(fits)['State'] == 'COMPLETE'


# --- SSM Parameter Store -----------------------------------------------------------------------


def test_ssm_parameter_version_is_deployed_and_snapshotted(appconfig, appconfigdata, aws_calls):
    ssm = aws('ssm')
    for value in ('{"limit": 1}', '{"limit": 2}', '{"limit": 3}'):
        ssm.put_parameter(Name='/shop/limits', Value=value, Type='String', Overwrite=True)
    w = Source(appconfig, 'ssm-parameter:///shop/limits')
    assert w.deploy(2)['ConfigurationVersion'] == '2'
    assert w.served(appconfigdata) == (b'{"limit": 2}', 'text/plain')
    gets = [c[2]['Name'] for c in aws_calls if c[1] == 'GetParameter']
    assert gets == ['/shop/limits:2']

    ssm.put_parameter(Name='/shop/limits', Value='{"limit": 4}', Type='String', Overwrite=True)
    ssm.delete_parameter(Name='/shop/limits')
    assert w.served(appconfigdata) == (b'{"limit": 2}', 'text/plain')


def test_ssm_parameter_by_arn_and_secure_string(appconfig, appconfigdata):
    ssm = aws('ssm')
    ssm.put_parameter(Name='/shop/token', Value='s3cret', Type='SecureString')
    w = Source(appconfig, f'arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/shop/token')
    w.deploy(1)
    assert w.served(appconfigdata) == (b's3cret', 'text/plain')


def test_ssm_parameter_needs_a_version_number_that_exists(appconfig):
    ssm = aws('ssm')
    ssm.put_parameter(Name='limits', Value='1', Type='String')
    ssm.label_parameter_version(Name='limits', ParameterVersion=1, Labels=['stable'])
    w = Source(appconfig, 'ssm-parameter://limits')
    with pytest.raises(appconfig.exceptions.BadRequestException) as err:
        w.deploy('stable')
    assert 'version number' in refused(err)[2]
    with pytest.raises(appconfig.exceptions.ResourceNotFoundException) as err:
        w.deploy(7)
    assert err.value.response['ResourceName'] == 'ssm-parameter://limits'
    assert 'Version 7 of the configuration at ssm-parameter://limits' in refused(err)[2]
    missing = Source(appconfig, 'ssm-parameter://no-such-parameter')
    with pytest.raises(appconfig.exceptions.ResourceNotFoundException) as err:
        missing.deploy(1)
    assert 'ssm-parameter://no-such-parameter' in refused(err)[2]
    assert w.deployments() == [] and missing.deployments() == []


# --- SSM documents -----------------------------------------------------------------------------


def _document(**doc):
    # moto wants every document to carry schemaVersion, whatever its type.
    return json.dumps({'schemaVersion': '1.0', **doc})


def test_ssm_document_version_is_deployed_and_snapshotted(appconfig, appconfigdata):
    ssm = aws('ssm')
    first = _document(color='red')
    ssm.create_document(
        Name='shop-settings',
        Content=first,
        DocumentFormat='JSON',
        DocumentType='ApplicationConfiguration',
    )
    ssm.update_document(
        Name='shop-settings',
        Content=_document(color='blue'),
        DocumentFormat='JSON',
        DocumentVersion='$LATEST',
    )
    w = Source(appconfig, 'ssm-document://shop-settings')
    w.deploy(1)
    assert w.served(appconfigdata) == (first.encode(), 'application/json')

    ssm.update_document(
        Name='shop-settings',
        Content=_document(color='green'),
        DocumentFormat='JSON',
        DocumentVersion='$LATEST',
    )
    ssm.update_document_default_version(Name='shop-settings', DocumentVersion='3')
    assert w.served(appconfigdata) == (first.encode(), 'application/json')

    by_arn = Source(appconfig, f'arn:aws:ssm:{REGION}:{ACCOUNT}:document/shop-settings')
    by_arn.deploy(2)
    assert by_arn.served(appconfigdata) == (_document(color='blue').encode(), 'application/json')


def test_ssm_document_rules(appconfig):
    ssm = aws('ssm')
    ssm.create_document(
        Name='settings',
        Content=_document(a=1),
        DocumentFormat='YAML',
        DocumentType='ApplicationConfiguration',
    )
    ssm.create_document(
        Name='runbook',
        Content=_document(mainSteps=[]),
        DocumentFormat='JSON',
        DocumentType='Command',
    )
    w = Source(appconfig, 'ssm-document://settings')
    for version in ('$LATEST', '$DEFAULT'):
        with pytest.raises(appconfig.exceptions.BadRequestException) as err:
            w.deploy(version)
        assert 'document version number' in refused(err)[2]
    with pytest.raises(appconfig.exceptions.ResourceNotFoundException) as err:
        w.deploy(5)
    assert err.value.response['ResourceName'] == 'ssm-document://settings'
    with pytest.raises(appconfig.exceptions.ResourceNotFoundException):
        Source(appconfig, 'ssm-document://no-such-document').deploy(1)
    with pytest.raises(appconfig.exceptions.BadRequestException) as err:
        Source(appconfig, 'ssm-document://runbook').deploy(1)
    assert 'ApplicationConfiguration' in refused(err)[2]
    assert w.deploy(1)['State'] == 'COMPLETE'
    assert (
        w.client.get_deployment(ApplicationId=w.app, EnvironmentId=w.env, DeploymentNumber=1)[
            'ConfigurationVersion'
        ]
        == '1'
    )


# --- Secrets Manager ---------------------------------------------------------------------------


def test_secret_version_is_deployed_encrypted_and_snapshotted(appconfig, appconfigdata):
    secrets = aws('secretsmanager')
    key = aws('kms').create_key()['KeyMetadata']['Arn']
    first = secrets.create_secret(Name='shop/db', SecretString='{"user": "shop"}')['VersionId']
    secrets.put_secret_value(SecretId='shop/db', SecretString='{"user": "other"}')
    w = Source(appconfig, 'secretsmanager://shop/db')

    deployment = w.deploy(first, KmsKeyIdentifier=key)
    assert deployment['ConfigurationVersion'] == first
    assert (deployment['KmsKeyIdentifier'], deployment['KmsKeyArn']) == (key, key)
    assert w.served(appconfigdata) == (b'{"user": "shop"}', 'application/json')
    # The snapshot is stored encrypted with the deployment's key.
    digest = w.delivery().target['Digest']
    assert crypto.is_sealed(digest)
    stored = content.get(digest)
    assert b'shop' not in stored and crypto.key_of(stored) == key

    secrets.put_secret_value(SecretId='shop/db', SecretString='{"user": "third"}')
    secrets.delete_secret(SecretId='shop/db', ForceDeleteWithoutRecovery=True)
    assert w.served(appconfigdata) == (b'{"user": "shop"}', 'application/json')


def test_secret_string_that_is_not_json_is_text(appconfig, appconfigdata):
    secrets = aws('secretsmanager')
    key = aws('kms').create_key()['KeyMetadata']['Arn']
    version = secrets.create_secret(Name='token', SecretString='abc123')['VersionId']
    w = Source(appconfig, 'secretsmanager://token')
    w.deploy(version, KmsKeyIdentifier=key)
    assert w.served(appconfigdata) == (b'abc123', 'text/plain')


def test_secret_rules(appconfig):
    secrets = aws('secretsmanager')
    key = aws('kms').create_key()['KeyMetadata']['Arn']
    version = secrets.create_secret(Name='db', SecretString='{}')['VersionId']
    w = Source(appconfig, 'secretsmanager://db')
    with pytest.raises(appconfig.exceptions.BadRequestException) as err:
        w.deploy(version)
    assert 'requires a KmsKeyIdentifier' in refused(err)[2]
    for stage in ('AWSCURRENT', 'AWSPREVIOUS'):
        with pytest.raises(appconfig.exceptions.BadRequestException) as err:
            w.deploy(stage, KmsKeyIdentifier=key)
        assert 'not a staging label' in refused(err)[2]
    with pytest.raises(appconfig.exceptions.ResourceNotFoundException) as err:
        w.deploy('0' * 32, KmsKeyIdentifier=key)
    assert err.value.response['ResourceName'] == 'secretsmanager://db'
    with pytest.raises(appconfig.exceptions.ResourceNotFoundException):
        Source(appconfig, 'secretsmanager://no-such-secret').deploy(version, KmsKeyIdentifier=key)
    assert w.deployments() == []


# --- validators, ValidateConfiguration, the role --------------------------------------------

SCHEMA = json.dumps(
    {'type': 'object', 'required': ['limit'], 'properties': {'limit': {'type': 'integer'}}}
)


def test_validators_check_the_bytes_read(appconfig, appconfigdata):
    ssm = aws('ssm')
    ssm.put_parameter(Name='limits', Value='{"limit": "many"}', Type='String')
    ssm.put_parameter(Name='limits', Value='{"limit": 5}', Type='String', Overwrite=True)
    w = Source(
        appconfig, 'ssm-parameter://limits', Validators=[{'Type': 'JSON_SCHEMA', 'Content': SCHEMA}]
    )
    with pytest.raises(appconfig.exceptions.BadRequestException) as err:
        w.deploy(1)
    assert err.value.response['Reason'] == 'InvalidConfiguration'
    assert 'Configuration version 1 ' in refused(err)[2]
    assert w.deployments() == []
    with pytest.raises(appconfig.exceptions.BadRequestException) as err:
        appconfig.validate_configuration(
            ApplicationId=w.app, ConfigurationProfileId=w.profile, ConfigurationVersion='1'
        )
    assert err.value.response['Reason'] == 'InvalidConfiguration'
    validated = appconfig.validate_configuration(
        ApplicationId=w.app, ConfigurationProfileId=w.profile, ConfigurationVersion='2'
    )
    assert validated['ResponseMetadata']['HTTPStatusCode'] == 204
    with pytest.raises(appconfig.exceptions.ResourceNotFoundException):
        appconfig.validate_configuration(
            ApplicationId=w.app, ConfigurationProfileId=w.profile, ConfigurationVersion='9'
        )
    w.deploy(2)
    assert w.served(appconfigdata) == (b'{"limit": 5}', 'text/plain')


def test_validate_configuration_of_a_secret_needs_no_key(appconfig):
    secrets = aws('secretsmanager')
    version = secrets.create_secret(Name='db', SecretString='{"limit": 1}')['VersionId']
    w = Source(
        appconfig, 'secretsmanager://db', Validators=[{'Type': 'JSON_SCHEMA', 'Content': SCHEMA}]
    )
    assert (
        appconfig.validate_configuration(
            ApplicationId=w.app, ConfigurationProfileId=w.profile, ConfigurationVersion=version
        )['ResponseMetadata']['HTTPStatusCode']
        == 204
    )


def test_role_that_cannot_be_assumed_is_a_bad_request(appconfig, aws_calls):
    ssm = aws('ssm')
    ssm.put_parameter(Name='limits', Value='1', Type='String')
    w = Source(appconfig, 'ssm-parameter://limits')
    real = botocore.client.BaseClient._make_api_call  # aws_calls' recorder

    def refuse_assume_role(self, operation, params):
        if operation == 'AssumeRole':
            raise ClientError(
                {'Error': {'Code': 'AccessDenied', 'Message': 'not trusted'}}, operation
            )
        return real(self, operation, params)

    with mock.patch.object(botocore.client.BaseClient, '_make_api_call', refuse_assume_role):
        with pytest.raises(appconfig.exceptions.BadRequestException) as err:
            w.deploy(1)
    message = refused(err)[2]
    assert ROLE in message and 'ssm-parameter://limits' in message and 'not trusted' in message
    assert not [c for c in aws_calls if c[1] == 'GetParameter']
    assert w.deployments() == []


def test_role_credentials_are_reused(appconfig, aws_calls):
    ssm = aws('ssm')
    ssm.put_parameter(Name='limits', Value='1', Type='String')
    ssm.put_parameter(Name='limits', Value='2', Type='String', Overwrite=True)
    w = Source(appconfig, 'ssm-parameter://limits')
    w.deploy(1)
    w.deploy(2)
    assert [c[1] for c in aws_calls if c[1] in ('AssumeRole', 'GetParameter')] == [
        'AssumeRole',
        'GetParameter',
        'GetParameter',
    ]


def test_codepipeline_profiles_are_not_deployable_here(appconfig):
    w = Source(appconfig, 'codepipeline://pipeline', role=None)
    with pytest.raises(appconfig.exceptions.BadRequestException) as err:
        w.deploy(1)
    assert 'codepipeline://pipeline' in refused(err)[2]
