"""infra/sigv4_execute_api.py: AppConfig SDK calls signed the way API Gateway requires.

Requests are captured at botocore's ``before-send`` (after signing) and answered there, so
nothing leaves the process. Each signature is checked twice: by re-signing the same request
with botocore's SigV4Auth for the expected scope, and by the server's verifier
(chalicelib.auth) configured as API Gateway is, accepting ``execute-api`` only.
"""

import datetime
import re
import subprocess
import sys
from collections import namedtuple
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import boto3
import botocore.auth
import botocore.session
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest, AWSResponse
from botocore.credentials import Credentials

from chalicelib import auth
from infra.sigv4_execute_api import awscli_initialize, region_from_url, sign_for_execute_api

ACCESS_KEY, SECRET = 'AKIDEXAMPLE', 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY'
API = 'https://abc123defg.execute-api.eu-west-1.amazonaws.com/api'
SECRETS = {ACCESS_KEY: (SECRET, None, 'example')}
ROOT = Path(__file__).resolve().parents[2]
_AUTH = re.compile(
    r'AWS4-HMAC-SHA256 Credential=([^,]+), SignedHeaders=([^,]+), '
    r'Signature=([0-9a-f]{64})$'
)


Sent = namedtuple('Sent', 'method url headers body')


class _Raw:
    def __init__(self, body):
        self._body = body

    def stream(self, **_):
        yield self._body


def _capture(events):
    """Record every signed request and answer it with an empty 200."""
    sent = []

    def before_send(request, **_):
        headers = {k: v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()}
        body = request.body or b''
        sent.append(
            Sent(
                request.method,
                request.url,
                headers,
                body.encode() if isinstance(body, str) else body,
            )
        )
        return AWSResponse(request.url, 200, {'Content-Type': 'application/json'}, _Raw(b'{}'))

    events.register('before-send', before_send)
    return sent


def _client(service, endpoint=API, session=None, **kwargs):
    make = session.create_client if session is not None else boto3.client
    return make(
        service,
        endpoint_url=endpoint,
        region_name='us-east-1',
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET,
        **kwargs,
    )


def _scope(request):
    credential, signed, signature = _AUTH.match(request.headers['Authorization']).groups()
    access_key, date, region, service, term = credential.split('/')
    assert (access_key, term) == (ACCESS_KEY, 'aws4_request')
    assert request.headers['X-Amz-Date'].startswith(date)
    return region, service


def _resign(request, service, region, monkeypatch):
    """The Authorization header botocore's SigV4Auth gives the same request at the same
    instant for (service, region)."""
    signed = _AUTH.match(request.headers['Authorization']).group(2).split(';')
    headers = {name: value for name, value in request.headers.items() if name.lower() in signed}
    copy = AWSRequest(
        method=request.method,
        url=request.url,
        data=request.body,
        headers={
            k: v for k, v in headers.items() if k.lower() not in ('authorization', 'x-amz-date')
        },
    )
    instant = datetime.datetime.strptime(request.headers['X-Amz-Date'], '%Y%m%dT%H%M%SZ')
    monkeypatch.setattr(botocore.auth, 'get_current_datetime', lambda *a, **k: instant)
    SigV4Auth(Credentials(ACCESS_KEY, SECRET), service, region).add_auth(copy)
    return copy.headers['Authorization']


def _server_verify(request, services=('execute-api',)):
    url = urlsplit(request.url)
    # The Host header as the HTTP layer adds it when sending (botocore signs it from the URL).
    headers = {'Host': url.netloc, **request.headers}
    return auth.verify(
        request.method,
        url.path,
        parse_qsl(url.query, keep_blank_values=True),
        headers,
        request.body,
        SECRETS,
        services=services,
    )


def test_unmodified_client_signs_for_appconfig_and_api_gateway_refuses_it():
    client = _client('appconfig')
    sent = _capture(client.meta.events)
    client.list_applications()
    assert _scope(sent[0]) == ('us-east-1', 'appconfig')
    with pytest.raises(auth.Refused) as refused:
        _server_verify(sent[0])
    assert refused.value.code == 'InvalidSignatureException'
    assert (
        refused.value.message == "Credential should be scoped to correct service: 'execute-api'. "
    )


def test_helper_signs_for_execute_api_in_the_api_region(monkeypatch):
    client = sign_for_execute_api(_client('appconfig'))
    sent = _capture(client.meta.events)
    client.list_applications(MaxResults=5)
    client.create_application(Name='shop', Description='naïve café')
    get, create = sent
    for request in sent:
        # The API's region, from its host name, not the client's us-east-1.
        assert _scope(request) == ('eu-west-1', 'execute-api')
        assert (
            _resign(request, 'execute-api', 'eu-west-1', monkeypatch)
            == request.headers['Authorization']
        )
        identity = _server_verify(request)
        assert (identity.service, identity.region) == ('execute-api', 'eu-west-1')
    assert '/api/applications' in get.url and 'max_results=5' in get.url
    assert b'"shop"' in create.body  # a body is covered by the signature too


def test_data_plane_client_and_arn_paths(monkeypatch):
    data = sign_for_execute_api(_client('appconfigdata'))
    control = sign_for_execute_api(_client('appconfig'))
    polls, tags = _capture(data.meta.events), _capture(control.meta.events)
    data.get_latest_configuration(ConfigurationToken='token/with+special=chars')
    control.list_tags_for_resource(
        ResourceArn='arn:aws:appconfig:eu-west-1:123456789012:application/abc1234'
    )
    sent = polls + tags
    for request in sent:
        assert _scope(request) == ('eu-west-1', 'execute-api')
        assert (
            _resign(request, 'execute-api', 'eu-west-1', monkeypatch)
            == request.headers['Authorization']
        )
        _server_verify(request)
    assert '%3A' in sent[1].url  # the ARN label travels percent-encoded and still verifies


def test_region_argument_wins_and_custom_domains_use_it():
    explicit = sign_for_execute_api(_client('appconfig'), region='ap-southeast-2')
    custom = sign_for_execute_api(_client('appconfig', endpoint='https://config.example.com'))
    first, second = _capture(explicit.meta.events), _capture(custom.meta.events)
    explicit.list_applications()
    custom.list_applications()
    assert [_scope(r) for r in first + second] == [
        ('ap-southeast-2', 'execute-api'),
        ('us-east-1', 'execute-api'),
    ]


def test_registering_twice_is_harmless():
    client = sign_for_execute_api(sign_for_execute_api(_client('appconfig')))
    sent = _capture(client.meta.events)
    client.list_applications()
    assert _scope(sent[0]) == ('eu-west-1', 'execute-api')


@pytest.mark.parametrize(
    'url, region',
    [
        (API, 'eu-west-1'),
        ('https://ABC123DEFG.execute-api.us-gov-west-1.amazonaws.com', 'us-gov-west-1'),
        ('https://abc-vpce-0123.execute-api.eu-central-1.vpce.amazonaws.com/api', 'eu-central-1'),
        ('https://abc.execute-api.cn-north-1.amazonaws.com.cn/api', 'cn-north-1'),
        ('https://appconfig.eu-west-1.amazonaws.com', None),
        ('http://127.0.0.1:8000', None),
        (None, None),
    ],
)
def test_region_from_url(url, region):
    assert region_from_url(url) == region


def test_cli_plugin_rescopes_execute_api_endpoints_only(monkeypatch):
    monkeypatch.delenv('APPCONFIG_SIGN_FOR_EXECUTE_API', raising=False)
    monkeypatch.delenv('APPCONFIG_EXECUTE_API_REGION', raising=False)
    session = botocore.session.get_session()
    awscli_initialize(session.get_component('event_emitter'))
    scopes = {}
    for name, service, endpoint in (
        ('api', 'appconfig', API),
        ('api-data', 'appconfigdata', API),
        ('real', 'appconfig', 'https://appconfig.us-east-1.amazonaws.com'),
        ('local', 'appconfig', 'http://127.0.0.1:8000'),
    ):
        client = _client(service, endpoint, session=session)
        sent = _capture(client.meta.events)
        if service == 'appconfig':
            client.list_applications()
        else:
            client.get_latest_configuration(ConfigurationToken='t')
        scopes[name] = _scope(sent[0])
    assert scopes == {
        'api': ('eu-west-1', 'execute-api'),
        'api-data': ('eu-west-1', 'execute-api'),
        # the real AWS AppConfig keeps its own scope
        'real': ('us-east-1', 'appconfig'),
        'local': ('us-east-1', 'appconfig'),
    }

    monkeypatch.setenv('APPCONFIG_SIGN_FOR_EXECUTE_API', '1')
    monkeypatch.setenv('APPCONFIG_EXECUTE_API_REGION', 'eu-north-1')
    client = _client('appconfig', 'https://config.example.com', session=session)
    sent = _capture(client.meta.events)
    client.list_applications()
    assert _scope(sent[0]) == ('eu-north-1', 'execute-api')


def test_cli_loads_it_as_a_plugin():
    from awscli import plugin

    session = botocore.session.get_session()
    # What the CLI does at start with the [plugins] section of its config file.
    plugin.load_plugins(
        {'appconfig_execute_api': 'infra.sigv4_execute_api'},
        event_hooks=session.get_component('event_emitter'),
        include_builtins=False,
    )
    client = _client('appconfig', session=session)
    sent = _capture(client.meta.events)
    client.list_applications()
    assert _scope(sent[0]) == ('eu-west-1', 'execute-api')


def test_module_needs_only_the_standard_library_to_import():
    # Importable beside any botocore, without the app, chalicelib or boto3.
    code = (
        'import sys; import infra.sigv4_execute_api; '
        'print(sorted(m for m in sys.modules if m.split(".")[0] in '
        '("app", "chalicelib", "boto3", "botocore", "chalice")))'
    )
    done = subprocess.run(
        [sys.executable, '-c', code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == '[]'
