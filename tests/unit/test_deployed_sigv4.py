"""The deployed sigv4 stage: the app verifies SigV4 scoped to ``appconfig`` itself, against
service credentials in a Secrets Manager secret, so unmodified clients work.

Real boto3 clients sign for ``appconfig`` against the execute-api URL (stage prefix ``/api``
in the path they sign) or a custom domain; every request is answered through ``app.app``
with the REST proxy event API Gateway delivers (tests/apigw.py). Secrets Manager and
DynamoDB are moto's.
"""

import datetime
import json

import boto3
import botocore.auth
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib import auth, cache
from tests.apigw import serve_through_lambda

pytestmark = pytest.mark.usefixtures('tables')

REGION = 'us-east-1'
API = f'https://abcdef1234.execute-api.{REGION}.amazonaws.com/api'
KEY, SECRET = 'AKIDSERVICE0001', 'service-secret/with+chars'
OTHER_KEY, OTHER_SECRET = 'AKIDSERVICE0002', 'another-secret'


@pytest.fixture
def credentials_secret(monkeypatch):
    secrets = boto3.client('secretsmanager', region_name=REGION)
    arn = secrets.create_secret(
        Name='appconfig-sigv4-credentials',
        SecretString=json.dumps({KEY: SECRET, OTHER_KEY: OTHER_SECRET}),
    )['ARN']
    monkeypatch.setenv('APPCONFIG_AUTH', 'sigv4')
    monkeypatch.setenv('APPCONFIG_CREDENTIALS_SECRET', arn)
    monkeypatch.setenv('APPCONFIG_SIGV4_SERVICES', 'appconfig')
    monkeypatch.delenv('APPCONFIG_CREDENTIALS_FILE', raising=False)
    cache.reset()
    yield arn
    cache.reset()


def _client(
    app,
    service='appconfig',
    endpoint=API,
    key=KEY,
    secret=SECRET,
    stage='/api',
    context_path=None,
    **config,
):
    client = boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        aws_session_token=None,
        config=Config(retries={'max_attempts': 1}, **config),
    )
    serve_through_lambda(client, app, stage, context_path)
    return client


def _refusal(call, status=403):
    with pytest.raises(ClientError) as caught:
        call()
    response = caught.value.response
    assert response['ResponseMetadata']['HTTPStatusCode'] == status
    assert response['ResponseMetadata']['HTTPHeaders']['x-amzn-requestid']
    return response['Error']['Code'], response['Error']['Message']


def test_signed_boto3_requests_pass(app, credentials_secret):
    appconfig = _client(app)
    created = appconfig.create_application(Name='signed', Tags={'team': 'a b/c'})
    profile = appconfig.create_configuration_profile(
        ApplicationId=created['Id'], Name='blob', LocationUri='hosted'
    )
    env = appconfig.create_environment(ApplicationId=created['Id'], Name='prod')
    content = bytes(range(256))
    appconfig.create_hosted_configuration_version(
        ApplicationId=created['Id'],
        ConfigurationProfileId=profile['Id'],
        Content=content,
        ContentType='application/octet-stream',
    )
    appconfig.start_deployment(
        ApplicationId=created['Id'],
        EnvironmentId=env['Id'],
        ConfigurationProfileId=profile['Id'],
        DeploymentStrategyId='AppConfig.AllAtOnce',
        ConfigurationVersion='1',
    )
    # Query strings and percent-encoded ARN labels are part of what is signed.
    assert [a['Id'] for a in appconfig.list_applications(MaxResults=1)['Items']] == [created['Id']]
    arn = f'arn:aws:appconfig:{REGION}:123456789012:application/{created["Id"]}'
    assert appconfig.list_tags_for_resource(ResourceArn=arn)['Tags'] == {'team': 'a b/c'}
    # The data plane signs for appconfig too.
    data = _client(app, 'appconfigdata', key=OTHER_KEY, secret=OTHER_SECRET)
    token = data.start_configuration_session(
        ApplicationIdentifier=created['Id'],
        EnvironmentIdentifier=env['Id'],
        ConfigurationProfileIdentifier=profile['Id'],
    )['InitialConfigurationToken']
    assert (
        data.get_latest_configuration(ConfigurationToken=token)['Configuration'].read() == content
    )


def test_a_custom_domain_without_stage_prefix(app, credentials_secret):
    client = _client(app, endpoint='https://appconfig.example.com', stage='')
    assert client.list_applications()['Items'] == []


def test_wrong_secret_is_refused(app, credentials_secret):
    code, message = _refusal(_client(app, secret='not-the-secret').list_applications)
    assert code == 'InvalidSignatureException'
    assert message.startswith(auth.MISMATCH)


def test_the_stage_prefix_is_part_of_what_is_signed(app, credentials_secret):
    # The client signed /api/applications: checked against /applications, it fails.
    client = _client(app, context_path=lambda path: path[len('/api') :])
    code, message = _refusal(client.list_applications)
    assert code == 'InvalidSignatureException'
    assert "should have been\n'GET\n/applications\n" in message


def test_unknown_access_key_is_refused(app, credentials_secret):
    code, message = _refusal(_client(app, key='AKIDNOBODY').list_applications)
    assert (code, message) == ('UnrecognizedClientException', auth.INVALID_TOKEN)


def test_unsigned_request_is_refused(app, credentials_secret):
    code, message = _refusal(_client(app, signature_version=UNSIGNED).list_applications)
    assert (code, message) == ('MissingAuthenticationTokenException', auth.MISSING_TOKEN)
    data = _client(app, 'appconfigdata', signature_version=UNSIGNED)
    assert (
        _refusal(lambda: data.get_latest_configuration(ConfigurationToken='t'))[0]
        == 'MissingAuthenticationTokenException'
    )


@pytest.mark.parametrize(
    'minutes, start', [(-6, 'Signature expired: '), (7, 'Signature not yet current: ')]
)
def test_stale_signature_is_refused(app, credentials_secret, monkeypatch, minutes, start):
    moved = datetime.datetime.now(datetime.UTC).replace(tzinfo=None) + datetime.timedelta(
        minutes=minutes
    )
    monkeypatch.setattr(botocore.auth, 'get_current_datetime', lambda *a, **k: moved)
    code, message = _refusal(_client(app).list_applications)
    assert code == 'InvalidSignatureException'
    assert message.startswith(f'{start}{moved:%Y%m%dT%H%M%SZ} ')


def test_execute_api_scope_is_refused(app, credentials_secret):
    from infra.sigv4_execute_api import sign_for_execute_api

    client = sign_for_execute_api(_client(app))
    code, message = _refusal(client.list_applications)
    assert (code, message) == (
        'InvalidSignatureException',
        "Credential should be scoped to correct service: 'appconfig'. ",
    )


def test_the_secret_is_read_once_per_ttl(app, credentials_secret, monkeypatch):
    reads = []
    real = auth._read_secret
    monkeypatch.setattr(auth, '_read_secret', lambda s: reads.append(s) or real(s))
    now = [1000.0]
    monkeypatch.setattr(auth.time, 'monotonic', lambda: now[0])
    client = _client(app)
    for _ in range(5):
        client.list_applications()
    assert reads == [credentials_secret]
    # A key added to the secret is honoured once the cached copy expires.
    boto3.client('secretsmanager', region_name=REGION).put_secret_value(
        SecretId=credentials_secret, SecretString=json.dumps({'AKIDNEW': 'new'})
    )
    newcomer = _client(app, key='AKIDNEW', secret='new')
    assert _refusal(newcomer.list_applications)[0] == 'UnrecognizedClientException'
    now[0] += auth.DEFAULT_TTL + 1
    assert newcomer.list_applications()['Items'] == []
    assert _refusal(client.list_applications)[0] == 'UnrecognizedClientException'
    assert len(reads) == 2


def test_an_unreadable_secret_is_an_internal_failure(app, credentials_secret, monkeypatch):
    monkeypatch.setenv('APPCONFIG_CREDENTIALS_SECRET', credentials_secret + '-gone')
    cache.reset()
    code, message = _refusal(_client(app).list_applications, status=500)
    assert (code, message) == ('InternalFailure', auth.UNAVAILABLE)


def test_a_secret_that_is_not_a_json_object_refuses_everyone(app, credentials_secret):
    boto3.client('secretsmanager', region_name=REGION).put_secret_value(
        SecretId=credentials_secret, SecretString='["not", "pairs"]'
    )
    cache.reset()
    assert _refusal(_client(app).list_applications, status=500)[0] == 'InternalFailure'


def test_no_profile_may_deliver_the_credentials_secret(app, credentials_secret):
    appconfig = _client(app)
    application = appconfig.create_application(Name='a')['Id']
    for uri in (
        f'secretsmanager://{credentials_secret}',
        'secretsmanager://appconfig-sigv4-credentials',
    ):
        profile = appconfig.create_configuration_profile(
            ApplicationId=application,
            Name='leak',
            LocationUri=uri,
            RetrievalRoleArn='arn:aws:iam::123456789012:role/appconfig-reader',
        )['Id']
        version = boto3.client('secretsmanager', region_name=REGION).list_secret_version_ids(
            SecretId=credentials_secret
        )['Versions'][0]['VersionId']
        with pytest.raises(
            appconfig.exceptions.BadRequestException, match="holds this service's credentials"
        ):
            appconfig.validate_configuration(
                ApplicationId=application,
                ConfigurationProfileId=profile,
                ConfigurationVersion=version,
            )


_texts = st.text(max_size=40) | st.sampled_from(
    [
        '',
        'AWS4-HMAC-SHA256',
        'AWS4-HMAC-SHA256 Credential=',
        f'Credential={KEY}/20250101/',
        'aws4_request',
        'SignedHeaders=host;x-amz-date',
        'Signature=' + '0' * 64,
        ',',
        '=',
        '\u00e9\u0000',
        '20250101T000000Z',
        '99991301T256161Z',
        '/',
    ]
)


_token = st.text(
    st.characters(min_codepoint=33, max_codepoint=126, blacklist_characters=',/;='),
    min_size=1,
    max_size=12,
) | st.text(
    st.characters(blacklist_characters=', /;=', blacklist_categories=('Cs', 'Zs')),
    min_size=1,
    max_size=6,
)
_parts = _token | st.sampled_from(
    [
        KEY,
        'appconfig',
        'us-east-1',
        'aws4_request',
        'host',
        'x-amz-date',
        'content-type',
        '20261201',
    ]
)
_well_formed = st.builds(
    'AWS4-HMAC-SHA256 Credential={}, SignedHeaders={}, Signature={}'.format,
    st.integers(0, 4).flatmap(
        lambda n: (
            st.lists(_parts, min_size=1).map('/'.join)
            if n == 4
            else st.builds(
                '{}/{}/{}/{}/{}'.format,
                st.just(KEY) | _parts,
                _parts,
                st.just('us-east-1') | _parts,
                st.just('appconfig') | _parts,
                st.just('aws4_request'),
            )
        )
    ),
    st.lists(st.just('host') | _parts, min_size=1, max_size=4).map(';'.join),
    _token | st.just('0' * 64),
)
_now = st.just(datetime.datetime.now(datetime.UTC).strftime('%Y%m%dT%H%M%SZ'))


_garbage = st.lists(_texts, max_size=6).map(' '.join) | st.lists(_texts, max_size=6).map(', '.join)


@settings(max_examples=300, derandomize=True, database=None, deadline=None)
@given(
    authorization=st.integers(0, 9).flatmap(lambda n: _well_formed if n < 8 else _garbage),
    date=_now | _texts,
    token=st.none() | _texts,
    body_hash=st.none() | _texts,
    signed=st.lists(_texts, max_size=4).map(';'.join),
)
def test_any_authorization_header_is_refused_cleanly(authorization, date, token, body_hash, signed):
    # Whatever the client sends, the verifier answers with a front-door refusal, never an
    # exception of its own (which the app would answer as a 500).
    headers = {
        'Host': 'abcdef1234.execute-api.us-east-1.amazonaws.com',
        'Authorization': authorization or 'AWS4-HMAC-SHA256 ' + signed,
        'X-Amz-Date': date,
    }
    if token is not None:
        headers['X-Amz-Security-Token'] = token
    if body_hash is not None:
        headers['X-Amz-Content-SHA256'] = body_hash
    with pytest.raises(auth.Refused) as refused:
        auth.verify(
            'GET',
            '/api/applications',
            [('a', date)],
            headers,
            b'{}',
            {KEY: (SECRET, None, 'secret')},
        )
    assert refused.value.code in (
        'MissingAuthenticationTokenException',
        'IncompleteSignatureException',
        'UnrecognizedClientException',
        'InvalidSignatureException',
    )
