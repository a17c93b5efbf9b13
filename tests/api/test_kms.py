"""KMS over HTTP: a hosted profile's KmsKeyIdentifier encrypts its versions at rest (envelope
encryption with moto's KMS: one GenerateDataKey per version, only the data key goes to KMS),
content is decrypted only when served, responses carry KmsKeyArn, and StartDeployment's
KmsKeyIdentifier encrypts what the deployment delivers."""

import hashlib
import json
from unittest import mock

import boto3
import botocore.client
import pytest

from chalicelib import cache, crypto, flags
from chalicelib.store import content
from chalicelib.store.content import Chunk
from chalicelib.store.delivery import Delivery
from chalicelib.store.delivery import key as delivery_key
from chalicelib.store.hosted_versions import HostedVersion, profile_key
from tests.api.polling import INSTANT, fresh_caches, poll, start  # noqa: F401

REGION = 'us-east-1'
SECRET = b'{"db_password": "correct horse battery staple", "pool": 5}'
FLAGS = {
    'version': '1',
    'flags': {'launch_rocket': {'name': 'Launch the rocket'}},
    'values': {'launch_rocket': {'enabled': True}},
}


@pytest.fixture
def kms_calls():
    """Every KMS request the process makes: (operation, params)."""
    calls = []
    real = botocore.client.BaseClient._make_api_call

    def recording(self, operation, params):
        if self.meta.service_model.service_name == 'kms':
            calls.append((operation, params))
        return real(self, operation, params)

    with mock.patch.object(botocore.client.BaseClient, '_make_api_call', recording):
        yield calls


@pytest.fixture(autouse=True)
def cold_content_caches():
    cache.reset()
    yield


def new_key(alias=None):
    kms = boto3.client('kms', region_name=REGION)
    key = kms.create_key(Description='appconfig content')['KeyMetadata']
    if alias:
        kms.create_alias(AliasName=alias, TargetKeyId=key['KeyId'])
    return key['Arn']


class Hosted:
    def __init__(self, appconfig, key=None, profile_type='AWS.Freeform'):
        self.client = appconfig
        self.app = appconfig.create_application(Name='shop')['Id']
        self.env = appconfig.create_environment(ApplicationId=self.app, Name='prod')['Id']
        extra = {'KmsKeyIdentifier': key} if key else {}
        self.profile = appconfig.create_configuration_profile(
            ApplicationId=self.app, Name='cfg', LocationUri='hosted', Type=profile_type, **extra
        )['Id']
        self.strategy = appconfig.create_deployment_strategy(**INSTANT)['Id']

    @property
    def ids(self):
        return dict(
            ApplicationIdentifier=self.app,
            EnvironmentIdentifier=self.env,
            ConfigurationProfileIdentifier=self.profile,
        )

    def version(self, data=SECRET, content_type='application/json'):
        return self.client.create_hosted_configuration_version(
            ApplicationId=self.app,
            ConfigurationProfileId=self.profile,
            Content=data,
            ContentType=content_type,
        )

    def get(self, number):
        return self.client.get_hosted_configuration_version(
            ApplicationId=self.app, ConfigurationProfileId=self.profile, VersionNumber=number
        )

    def item(self, number):
        return HostedVersion.get(profile_key(self.app, self.profile), number)

    def deploy(self, number, **extra):
        return self.client.start_deployment(
            ApplicationId=self.app,
            EnvironmentId=self.env,
            ConfigurationProfileId=self.profile,
            DeploymentStrategyId=self.strategy,
            ConfigurationVersion=str(number),
            **extra,
        )

    def delivered_digest(self):
        return Delivery.get(delivery_key(self.app, self.env, self.profile)).target['Digest']


def stored(digest):
    """The bytes of every chunk stored under ``digest``, read through the PynamoDB model."""
    chunks = list(Chunk.query(digest))
    assert chunks and len(chunks) == chunks[0].count
    return b''.join(c.data for c in chunks)


def plain_chunks(data):
    return list(Chunk.query(hashlib.sha256(data).hexdigest()))


def test_version_is_encrypted_at_rest_and_served_in_plaintext(appconfig, kms_calls):
    key = new_key(alias='alias/shop-config')
    w = Hosted(appconfig, key='alias/shop-config')
    del kms_calls[:]
    created = w.version()
    # The alias is resolved to the key's ARN by KMS.
    assert created['KmsKeyArn'] == key
    assert created['Content'].read() == SECRET

    item = w.item(created['VersionNumber'])
    assert item.kms_key_arn == key and item.size == len(SECRET)
    assert crypto.is_sealed(item.digest)
    envelope = stored(item.digest)
    assert SECRET not in envelope and b'correct horse' not in envelope
    assert plain_chunks(SECRET) == []  # no plaintext copy, no plaintext hash
    assert hashlib.sha256(SECRET).hexdigest() not in item.digest
    assert crypto.key_of(envelope) == key

    # One data key for the version; the content itself never went to KMS.
    assert [op for op, _ in kms_calls] == ['GenerateDataKey']
    assert kms_calls[0][1]['KeyId'] == 'alias/shop-config'
    assert kms_calls[0][1]['EncryptionContext'] == {
        'appconfig:application': w.app,
        'appconfig:configuration-profile': w.profile,
    }
    assert not any(SECRET in repr(params).encode() for _, params in kms_calls)

    got = w.get(created['VersionNumber'])
    assert got['Content'].read() == SECRET and got['KmsKeyArn'] == key
    assert [op for op, _ in kms_calls] == ['GenerateDataKey', 'Decrypt']
    listed = appconfig.list_hosted_configuration_versions(
        ApplicationId=w.app, ConfigurationProfileId=w.profile
    )['Items']
    assert [v['KmsKeyArn'] for v in listed] == [key]
    assert [op for op, _ in kms_calls] == ['GenerateDataKey', 'Decrypt']  # lists decrypt nothing


def test_identical_content_is_never_shared_with_plaintext_or_other_versions(appconfig):
    key = new_key()
    w = Hosted(appconfig, key=key)
    first, second = w.version()['VersionNumber'], w.version()['VersionNumber']
    plain = Hosted(appconfig)
    third = plain.version()['VersionNumber']
    digests = [w.item(first).digest, w.item(second).digest, plain.item(third).digest]
    assert len(set(digests)) == 3
    assert digests[2] == hashlib.sha256(SECRET).hexdigest()
    assert stored(digests[0]) != stored(digests[1])  # a data key and nonce per version
    assert w.get(first)['Content'].read() == w.get(second)['Content'].read() == SECRET


def test_deploying_an_encrypted_version_decrypts_once_per_process(
    appconfig, appconfigdata, kms_calls
):
    key = new_key()
    w = Hosted(appconfig, key=key)
    number = w.version()['VersionNumber']
    deployment = w.deploy(number)
    assert deployment['KmsKeyArn'] == key and 'KmsKeyIdentifier' not in deployment
    assert (
        appconfig.get_deployment(ApplicationId=w.app, EnvironmentId=w.env, DeploymentNumber=1)[
            'KmsKeyArn'
        ]
        == key
    )
    # The delivered bytes are the version's own envelope: no second data key.
    assert w.delivered_digest() == w.item(number).digest
    assert [op for op, _ in kms_calls].count('GenerateDataKey') == 1

    cache.reset()
    del kms_calls[:]
    first, body = poll(appconfigdata, start(appconfigdata, w))
    assert body == SECRET and first['ContentType'] == 'application/json'
    _, again = poll(appconfigdata, start(appconfigdata, w))
    assert again == SECRET
    assert [op for op, _ in kms_calls] == ['Decrypt']  # the second session is served from cache


def test_feature_flags_are_delivered_encrypted(appconfig, appconfigdata):
    key = new_key()
    w = Hosted(appconfig, key=key, profile_type='AWS.AppConfig.FeatureFlags')
    raw = json.dumps(FLAGS).encode()
    number = w.version(raw)['VersionNumber']
    assert w.deploy(number)['KmsKeyArn'] == key
    digest = w.delivered_digest()
    assert crypto.is_sealed(digest) and digest != w.item(number).digest
    envelope = stored(digest)
    assert b'launch_rocket' not in envelope and crypto.key_of(envelope) == key
    assert plain_chunks(flags.flatten(raw)) == []
    _, body = poll(appconfigdata, start(appconfigdata, w))
    assert json.loads(body) == {'launch_rocket': {'enabled': True}}


def test_start_deployment_key_encrypts_what_is_delivered(appconfig, appconfigdata, kms_calls):
    profile_key_arn = new_key()
    deployment_key = new_key(alias='alias/deployments')
    for key in (profile_key_arn, None):  # an encrypted version, then a plain one
        w = Hosted(appconfig, key=key)
        number = w.version()['VersionNumber']
        deployment = w.deploy(number, KmsKeyIdentifier='alias/deployments')
        assert deployment['KmsKeyIdentifier'] == 'alias/deployments'
        assert deployment['KmsKeyArn'] == deployment_key
        got = appconfig.get_deployment(ApplicationId=w.app, EnvironmentId=w.env, DeploymentNumber=1)
        assert (got['KmsKeyIdentifier'], got['KmsKeyArn']) == ('alias/deployments', deployment_key)
        digest = w.delivered_digest()
        assert crypto.is_sealed(digest) and digest != w.item(number).digest
        assert crypto.key_of(stored(digest)) == deployment_key
        assert SECRET not in stored(digest)
        cache.reset()
        _, body = poll(appconfigdata, start(appconfigdata, w))
        assert body == SECRET
    assert plain_chunks(SECRET) != []  # the plain profile's version itself is plaintext


def test_unusable_keys_are_bad_requests_and_write_nothing(appconfig):
    missing = f'arn:aws:kms:{REGION}:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab'
    w = Hosted(appconfig, key=missing)
    with pytest.raises(appconfig.exceptions.BadRequestException) as err:
        w.version()
    assert missing in err.value.response['Error']['Message']
    assert 'NotFoundException' in err.value.response['Error']['Message']
    assert (
        appconfig.list_hosted_configuration_versions(
            ApplicationId=w.app, ConfigurationProfileId=w.profile
        )['Items']
        == []
    )

    plain = Hosted(appconfig)
    number = plain.version()['VersionNumber']
    with pytest.raises(appconfig.exceptions.BadRequestException) as err:
        plain.deploy(number, KmsKeyIdentifier='alias/no-such-key')
    assert 'alias/no-such-key' in err.value.response['Error']['Message']
    assert (
        appconfig.list_deployments(ApplicationId=plain.app, EnvironmentId=plain.env)['Items'] == []
    )


def test_changing_the_profile_key_affects_new_versions_only(appconfig):
    old_key, new_key_arn = new_key(), new_key()
    w = Hosted(appconfig, key=old_key)
    first = w.version()['VersionNumber']
    appconfig.update_configuration_profile(
        ApplicationId=w.app, ConfigurationProfileId=w.profile, KmsKeyIdentifier=new_key_arn
    )
    second = w.version()['VersionNumber']
    appconfig.update_configuration_profile(
        ApplicationId=w.app, ConfigurationProfileId=w.profile, KmsKeyIdentifier=''
    )
    third = w.version()
    assert 'KmsKeyArn' not in third
    assert [w.get(n).get('KmsKeyArn') for n in (first, second, third['VersionNumber'])] == [
        old_key,
        new_key_arn,
        None,
    ]
    assert crypto.key_of(stored(w.item(first).digest)) == old_key
    assert crypto.key_of(stored(w.item(second).digest)) == new_key_arn
    assert not crypto.is_sealed(w.item(third['VersionNumber']).digest)
    for n in (first, second, third['VersionNumber']):
        assert w.get(n)['Content'].read() == SECRET


def test_tampered_ciphertext_is_refused(appconfig):
    w = Hosted(appconfig, key=new_key())
    number = w.version()['VersionNumber']
    digest = w.item(number).digest
    chunk = next(iter(Chunk.query(digest)))
    chunk.data = chunk.data[:-1] + bytes([chunk.data[-1] ^ 1])
    chunk.save()
    with pytest.raises(appconfig.exceptions.InternalServerException) as err:
        w.get(number)
    assert 'authentication failed' in err.value.response['Error']['Message']


def test_plain_content_reads_through_crypto_unchanged(appconfig):
    w = Hosted(appconfig)
    number = w.version(b'plain')['VersionNumber']
    digest = w.item(number).digest
    assert not crypto.is_sealed(digest)
    assert crypto.read(digest) == content.get(digest) == b'plain'
