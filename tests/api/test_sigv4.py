"""The local SigV4 mode over HTTP: APPCONFIG_AUTH=sigv4 with a credentials file.

The session's in-process server is reused: the mode is read per request, so these tests turn
it on through the environment (monkeypatch) and every other test module keeps the open
default. Clients are real boto3 clients (and the AWS CLI) signing with botocore; refusals
must come back as the modeled error: HTTP 403, ClientError with the front door's code.
"""

import datetime
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import boto3
import botocore.auth
import pytest
from botocore import UNSIGNED
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from chalicelib import auth, cache
from infra.sigv4_execute_api import sign_for_execute_api

ROOT = Path(__file__).resolve().parents[2]
AWS = Path(sys.prefix) / 'bin' / 'aws'
DEV = ('AKIDLOCALDEV', 'dev-secret/with+chars')
CI = ('ASIALOCALCI', 'ci-secret', 'ci-session-token')


@pytest.fixture
def signed_mode(monkeypatch, tmp_path):
    credentials = tmp_path / 'credentials'
    credentials.write_text(
        f'[dev]\naws_access_key_id = {DEV[0]}\naws_secret_access_key = {DEV[1]}\n\n'
        f'[ci]\naws_access_key_id = {CI[0]}\naws_secret_access_key = {CI[1]}\n'
        f'aws_session_token = {CI[2]}\n'
    )
    monkeypatch.setenv('APPCONFIG_AUTH', 'sigv4')
    monkeypatch.setenv('APPCONFIG_CREDENTIALS_FILE', str(credentials))
    monkeypatch.delenv('APPCONFIG_SIGV4_SERVICES', raising=False)
    return credentials


def _client(endpoint, service='appconfig', key=DEV[0], secret=DEV[1], token=None, **config):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name='eu-west-1',
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        aws_session_token=token,
        config=Config(retries={'max_attempts': 1}, **config),
    )


def _refusal(call):
    with pytest.raises(ClientError) as caught:
        call()
    response = caught.value.response
    assert response['ResponseMetadata']['HTTPStatusCode'] == 403
    assert response['ResponseMetadata']['HTTPHeaders']['x-amzn-requestid']
    return response['Error']['Code'], response['Error']['Message']


def test_correctly_signed_calls_pass(endpoint, signed_mode):
    appconfig = _client(endpoint)
    created = appconfig.create_application(Name='signed', Tags={'team': 'a b/c'})
    env = appconfig.create_environment(ApplicationId=created['Id'], Name='prod')
    profile = appconfig.create_configuration_profile(
        ApplicationId=created['Id'], Name='blob', LocationUri='hosted'
    )
    content = bytes(range(256))
    version = appconfig.create_hosted_configuration_version(
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
        ConfigurationVersion=str(version['VersionNumber']),
    )
    # Query strings and percent-encoded ARN labels are part of what is signed.
    listed = appconfig.list_applications(MaxResults=1)
    assert [i['Id'] for i in listed['Items']] == [created['Id']]
    arn = f'arn:aws:appconfig:us-east-1:123456789012:application/{created["Id"]}'
    assert appconfig.list_tags_for_resource(ResourceArn=arn)['Tags'] == {'team': 'a b/c'}

    data = _client(endpoint, 'appconfigdata')
    token = data.start_configuration_session(
        ApplicationIdentifier=created['Id'],
        EnvironmentIdentifier=env['Id'],
        ConfigurationProfileIdentifier=profile['Id'],
    )['InitialConfigurationToken']
    polled = data.get_latest_configuration(ConfigurationToken=token)
    assert polled['Configuration'].read() == content


def test_temporary_credentials_need_their_session_token(endpoint, signed_mode):
    assert _client(endpoint, key=CI[0], secret=CI[1], token=CI[2]).list_applications()
    code, message = _refusal(
        _client(endpoint, key=CI[0], secret=CI[1], token='stolen').list_applications
    )
    assert (code, message) == ('UnrecognizedClientException', auth.INVALID_TOKEN)


def test_wrong_secret_is_refused(endpoint, signed_mode):
    client = _client(endpoint, secret='not-the-secret')
    code, message = _refusal(client.list_applications)
    assert code == 'InvalidSignatureException'
    assert message.startswith(
        'The request signature we calculated does not match the signature you provided. '
        'Check your AWS Secret Access Key and signing method.'
    )


def test_unknown_access_key_is_refused(endpoint, signed_mode):
    code, message = _refusal(_client(endpoint, key='AKIDNOBODY').list_applications)
    assert (code, message) == (
        'UnrecognizedClientException',
        'The security token included in the request is invalid.',
    )


def test_unsigned_request_is_refused(endpoint, signed_mode):
    unsigned = _client(endpoint, signature_version=UNSIGNED)
    code, message = _refusal(unsigned.list_applications)
    assert (code, message) == (
        'MissingAuthenticationTokenException',
        'Missing Authentication Token',
    )
    data = _client(endpoint, 'appconfigdata', signature_version=UNSIGNED)
    assert (
        _refusal(lambda: data.get_latest_configuration(ConfigurationToken='t'))[0]
        == 'MissingAuthenticationTokenException'
    )


@pytest.fixture
def client_clock(monkeypatch):
    """Move the clock botocore signs with (this process's clients only; the server keeps
    the real time)."""

    def skew(**delta):
        moved = datetime.datetime.now(datetime.UTC).replace(tzinfo=None) + datetime.timedelta(
            **delta
        )
        monkeypatch.setattr(botocore.auth, 'get_current_datetime', lambda *a, **k: moved)
        return moved

    return skew


def test_old_signature_is_refused(endpoint, signed_mode, client_clock):
    signed_at = client_clock(minutes=-6)
    code, message = _refusal(_client(endpoint).list_applications)
    assert code == 'InvalidSignatureException'
    assert message.startswith(f'Signature expired: {signed_at:%Y%m%dT%H%M%SZ} is now earlier than ')
    assert message.endswith(' - 5 min.)')


def test_future_signature_is_refused(endpoint, signed_mode, client_clock):
    signed_at = client_clock(minutes=7)
    code, message = _refusal(_client(endpoint).list_applications)
    assert code == 'InvalidSignatureException'
    assert message.startswith(
        f'Signature not yet current: {signed_at:%Y%m%dT%H%M%SZ} is still later than '
    )
    assert message.endswith(' + 5 min.)')


def test_small_clock_skew_is_tolerated(endpoint, signed_mode, client_clock):
    client_clock(minutes=-4)
    assert _client(endpoint).list_applications()['Items'] == []
    client_clock(minutes=4)
    assert _client(endpoint).list_applications()['Items'] == []


def _send(endpoint, method, path, body=b'', headers=None, sign_body=None):
    """Sign with botocore (DEV credentials), then send ``body``, which may differ from the
    ``sign_body`` the signature covers."""
    request = AWSRequest(
        method=method,
        url=endpoint + path,
        data=sign_body or body,
        headers={'Content-Type': 'application/json', **(headers or {})},
    )
    SigV4Auth(Credentials(*DEV), 'appconfig', 'eu-west-1').add_auth(request)
    sent = urllib.request.Request(
        endpoint + path, data=body or None, method=method, headers=dict(request.headers.items())
    )
    try:
        with urllib.request.urlopen(sent, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_altered_body_is_refused(endpoint, signed_mode):
    signed = json.dumps({'Name': 'signed'}).encode()
    status, _, _ = _send(endpoint, 'POST', '/applications', signed)
    assert status == 201
    status, headers, body = _send(
        endpoint, 'POST', '/applications', json.dumps({'Name': 'forged'}).encode(), sign_body=signed
    )
    assert status == 403
    assert headers['x-amzn-ErrorType'] == 'InvalidSignatureException'
    assert json.loads(body)['message'].startswith('The request signature we calculated')


def test_malformed_authorization_is_refused(endpoint, signed_mode):
    request = urllib.request.Request(
        endpoint + '/applications',
        headers={'Authorization': 'Bearer abc', 'X-Amz-Date': '20250101T000000Z'},
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=10)
    assert caught.value.code == 403
    assert caught.value.headers['x-amzn-ErrorType'] == 'IncompleteSignatureException'
    assert "requires 'Credential' parameter" in json.loads(caught.value.read())['message']


def test_api_gateway_scope_rule(endpoint, signed_mode, monkeypatch):
    # As on AWS: only execute-api scopes pass; the helper makes unmodified clients comply.
    monkeypatch.setenv('APPCONFIG_SIGV4_SERVICES', 'execute-api')
    code, message = _refusal(_client(endpoint).list_applications)
    assert (code, message) == (
        'InvalidSignatureException',
        "Credential should be scoped to correct service: 'execute-api'. ",
    )
    client = sign_for_execute_api(_client(endpoint), region='eu-west-1')
    client.create_application(Name='through-api-gateway')
    assert [a['Name'] for a in client.list_applications()['Items']] == ['through-api-gateway']
    # The data plane too: past the signature check, the operation itself answers.
    data = sign_for_execute_api(_client(endpoint, 'appconfigdata'))
    with pytest.raises(data.exceptions.ResourceNotFoundException):
        data.start_configuration_session(
            ApplicationIdentifier='nothere',
            EnvironmentIdentifier='prod',
            ConfigurationProfileIdentifier='settings',
        )


def test_credentials_file_changes_apply(endpoint, signed_mode):
    client = _client(endpoint, key='AKIDLATER', secret='later')
    assert _refusal(client.list_applications)[0] == 'UnrecognizedClientException'
    signed_mode.write_text(
        signed_mode.read_text()
        + ('\n[later]\naws_access_key_id = AKIDLATER\naws_secret_access_key = later\n')
    )
    os.utime(signed_mode, ns=(0, os.stat(signed_mode).st_mtime_ns + 10**9))
    assert client.list_applications()['Items'] == []


def test_default_mode_stays_open(endpoint, monkeypatch):
    monkeypatch.delenv('APPCONFIG_AUTH', raising=False)
    assert _client(endpoint, signature_version=UNSIGNED).list_applications()['Items'] == []


def test_aws_cli_with_the_plugin(endpoint, signed_mode, monkeypatch, tmp_path):
    monkeypatch.setenv('APPCONFIG_SIGV4_SERVICES', 'execute-api')
    config = tmp_path / 'config'
    env = {
        'PATH': os.environ.get('PATH', '/usr/bin:/bin'),
        'HOME': str(tmp_path),
        'AWS_ACCESS_KEY_ID': DEV[0],
        'AWS_SECRET_ACCESS_KEY': DEV[1],
        'AWS_CONFIG_FILE': str(config),
        'AWS_SHARED_CREDENTIALS_FILE': str(tmp_path / 'none'),
        'AWS_EC2_METADATA_DISABLED': 'true',
        'AWS_MAX_ATTEMPTS': '1',
        # The local endpoint is no execute-api host name: re-scope all the same.
        'APPCONFIG_SIGN_FOR_EXECUTE_API': '1',
        'PYTHONPATH': str(ROOT),
    }

    def cli(*args):
        return subprocess.run(
            [
                str(AWS),
                'appconfig',
                *args,
                '--endpoint-url',
                endpoint,
                '--region',
                'eu-west-1',
                '--output',
                'json',
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    config.write_text('')
    refused = cli('list-applications')
    assert refused.returncode != 0
    assert "Credential should be scoped to correct service: 'execute-api'" in refused.stderr

    # AWS CLI version 1 reads [plugins] and imports each module from its Python path.
    config.write_text('[plugins]\nappconfig_execute_api = infra.sigv4_execute_api\n')
    created = cli('create-application', '--name', 'from-cli')
    assert created.returncode == 0, created.stderr
    listed = cli('list-applications')
    assert listed.returncode == 0, listed.stderr
    assert [a['Name'] for a in json.loads(listed.stdout)['Items']] == ['from-cli']


def _signed_headers(body=b'', **extra):
    request = AWSRequest(
        method='POST',
        url='http://127.0.0.1:8000/applications',
        data=body,
        headers={'Content-Type': 'application/json', **extra},
    )
    SigV4Auth(Credentials(*DEV), 'appconfig', 'eu-west-1').add_auth(request)
    return {'Host': '127.0.0.1:8000', **dict(request.headers.items())}


@pytest.mark.parametrize(
    'change, code, text',
    [
        ({'X-Amz-Date': None}, 'IncompleteSignatureException', "either a 'X-Amz-Date' or a 'Date'"),
        ({'X-Amz-Date': '2025-01-01T00:00:00Z'}, 'IncompleteSignatureException', 'basic format'),
        (
            {'Authorization': lambda v: v.replace('/aws4_request', '')},
            'IncompleteSignatureException',
            'exactly 5 slash-delimited elements',
        ),
        (
            {
                'Authorization': lambda v: v.replace(
                    'SignedHeaders=', 'SignedHeaders=x-amz-date;'
                ).replace('host;', '')
            },
            'IncompleteSignatureException',
            "'Host' must be",
        ),
        # A body hash that is not the body's (or UNSIGNED-PAYLOAD) is not accepted.
        (
            {'X-Amz-Content-SHA256': 'UNSIGNED-PAYLOAD'},
            'InvalidSignatureException',
            'does not match',
        ),
    ],
)
def test_malformed_signatures(change, code, text):
    headers = _signed_headers(b'{"Name": "x"}')
    for name, value in change.items():
        if value is None:
            headers.pop(name)
        else:
            headers[name] = value(headers[name]) if callable(value) else value
    with pytest.raises(auth.Refused) as refused:
        auth.verify(
            'POST', '/applications', [], headers, b'{"Name": "x"}', {DEV[0]: (DEV[1], None, 'dev')}
        )
    assert refused.value.code == code
    assert text in refused.value.message
    assert refused.value.response_parts()[0] == 403


def test_unmodified_aws_cli_against_the_credentials_secret(endpoint, monkeypatch, tmp_path):
    # The sigv4 stage's source of credentials: a Secrets Manager secret (moto's here), with
    # the stage's scope rule. The AWS CLI signs for appconfig as it does for AWS: no plugin.
    from tests.cli import aws_cli

    secret = boto3.client('secretsmanager', region_name='us-east-1').create_secret(
        Name='appconfig-credentials', SecretString=json.dumps({'testing': 'testing'})
    )['ARN']
    monkeypatch.setenv('APPCONFIG_AUTH', 'sigv4')
    monkeypatch.setenv('APPCONFIG_CREDENTIALS_SECRET', secret)
    monkeypatch.setenv('APPCONFIG_SIGV4_SERVICES', 'appconfig')
    monkeypatch.delenv('APPCONFIG_CREDENTIALS_FILE', raising=False)
    cache.reset()
    try:
        cli = aws_cli('appconfig', endpoint, tmp_path)
        cli('create-application', '--name', 'from-cli')
        assert [a['Name'] for a in cli('list-applications')['Items']] == ['from-cli']
        boto3.client('secretsmanager', region_name='us-east-1').put_secret_value(
            SecretId=secret, SecretString=json.dumps({'someone-else': 'x'})
        )
        cache.reset()
        refused = cli('list-applications', check=False)
        assert refused.returncode != 0
        assert 'UnrecognizedClientException' in refused.stderr
    finally:
        cache.reset()
