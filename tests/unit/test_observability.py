"""chalicelib/observability.py as wired in app.py: JSON logs and EMF metrics on Lambda.

The app is driven as API Gateway drives it on AWS (``app.app(event, context)`` with REST
proxy events); DynamoDB is moto's. What Powertools writes (the JSON log lines through its
handler, the EMF documents on stdout) is parsed back and checked: one log line per request
with the operation, request ids and the resource ids of its path; the metric names for a
deployment started, a poll (with and without content) and an error. Outside Lambda nothing is
installed and app.py does not even import Powertools.
"""

import base64
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.apigw import LambdaContext, proxy_event

ROOT = Path(__file__).resolve().parents[2]


# Every test here runs against a fresh moto account (tests/unit/conftest.py).
pytestmark = pytest.mark.usefixtures('tables')


@pytest.fixture
def observed(app, capsys):
    """observability installed on the app as on Lambda; yields a reader of everything it
    wrote since (JSON log lines and EMF documents, parsed)."""
    from chalicelib import observability

    stream = io.StringIO()
    handler = observability.logger.registered_handler
    previous, handler.stream = handler.stream, stream
    assert observability.install(app, force=True)
    capsys.readouterr()

    def read():
        out = capsys.readouterr().out + stream.getvalue()
        stream.seek(0)
        stream.truncate()
        return [json.loads(line) for line in out.splitlines() if line.startswith('{')]

    yield read
    observability.uninstall(app)
    handler.stream = previous


def call(app, operation, labels=None, body=None, query=None, headers=None):
    """One API Gateway REST proxy invocation; returns (status, headers, body bytes, the
    API Gateway request id, the Lambda request id)."""
    raw = json.dumps(body).encode() if isinstance(body, dict) else body
    headers = {
        'Host': 'abc123defg.execute-api.us-east-1.amazonaws.com',
        **({'Content-Type': 'application/json'} if isinstance(body, dict) else {}),
        **(headers or {}),
    }
    event = proxy_event(operation, labels, raw, headers, query, signed=False)
    api_request_id, context = event['requestContext']['requestId'], LambdaContext()
    response = app(event, context)
    out = (
        base64.b64decode(response['body'])
        if response.get('isBase64Encoded')
        else (response.get('body') or '').encode()
    )
    return (
        response['statusCode'],
        {k.lower(): v for k, v in response['headers'].items()},
        out,
        api_request_id,
        context.aws_request_id,
    )


def _requests(lines):
    return [line for line in lines if line.get('message') == 'request']


def _metrics(lines):
    """{metric name: [(value, dimensions)]} over the EMF documents."""
    found = {}
    for doc in lines:
        for directive in doc.get('_aws', {}).get('CloudWatchMetrics', []):
            assert directive['Namespace'] == 'AppConfig'
            dimensions = {d: doc[d] for group in directive['Dimensions'] for d in group}
            for metric in directive['Metrics']:
                assert metric['Unit'] == 'Count'
                value = doc[metric['Name']]
                found.setdefault(metric['Name'], []).append(
                    (sum(value) if isinstance(value, list) else value, dimensions)
                )
    return found


def _deployable(app):
    _, _, body, _, _ = call(app, 'CreateApplication', body={'Name': 'shop'})
    application_id = json.loads(body)['Id']
    _, _, body, _, _ = call(
        app, 'CreateEnvironment', {'ApplicationId': application_id}, body={'Name': 'prod'}
    )
    environment_id = json.loads(body)['Id']
    _, _, body, _, _ = call(
        app,
        'CreateConfigurationProfile',
        {'ApplicationId': application_id},
        body={'Name': 'settings', 'LocationUri': 'hosted'},
    )
    profile_id = json.loads(body)['Id']
    status, _, _, _, _ = call(
        app,
        'CreateHostedConfigurationVersion',
        {'ApplicationId': application_id, 'ConfigurationProfileId': profile_id},
        body=b'{"greeting": "hello"}',
        headers={'Content-Type': 'application/json'},
    )
    assert status == 201
    return application_id, environment_id, profile_id


def test_start_deployment_log_line_and_metric(app, observed):
    application_id, environment_id, profile_id = _deployable(app)
    observed()
    status, headers, _, api_request_id, lambda_request_id = call(
        app,
        'StartDeployment',
        {'ApplicationId': application_id, 'EnvironmentId': environment_id},
        body={
            'DeploymentStrategyId': 'AppConfig.AllAtOnce',
            'ConfigurationProfileId': profile_id,
            'ConfigurationVersion': '1',
        },
    )
    assert status == 201
    lines = observed()
    (logged,) = _requests(lines)
    assert logged['operation'] == 'StartDeployment'
    assert logged['status'] == 201 and logged.get('error_code') is None
    assert logged['level'] == 'INFO' and logged['service'] == 'appconfig'
    # The three request ids: the service's (x-amzn-RequestId), API Gateway's and Lambda's.
    assert logged['request_id'] == headers['x-amzn-requestid']
    assert logged['api_request_id'] == api_request_id
    assert logged['lambda_request_id'] == lambda_request_id
    # The resources named in the path.
    assert logged['application_id'] == application_id
    assert logged['environment_id'] == environment_id
    assert isinstance(logged['duration_ms'], (int, float))
    assert _metrics(lines) == {'DeploymentsStarted': [(1, {'service': 'appconfig'})]}


def test_polls_count_served_and_delivered(app, observed):
    application_id, environment_id, profile_id = _deployable(app)
    call(
        app,
        'StartDeployment',
        {'ApplicationId': application_id, 'EnvironmentId': environment_id},
        body={
            'DeploymentStrategyId': 'AppConfig.AllAtOnce',
            'ConfigurationProfileId': profile_id,
            'ConfigurationVersion': '1',
        },
    )
    _, _, body, _, _ = call(
        app,
        'StartConfigurationSession',
        body={
            'ApplicationIdentifier': application_id,
            'EnvironmentIdentifier': environment_id,
            'ConfigurationProfileIdentifier': profile_id,
        },
    )
    token = json.loads(body)['InitialConfigurationToken']
    observed()

    status, headers, content, _, _ = call(
        app, 'GetLatestConfiguration', query={'configuration_token': token}
    )
    assert (status, content) == (200, b'{"greeting": "hello"}')
    first = observed()
    # Unchanged since: served, nothing delivered.
    status, _, content, _, _ = call(
        app,
        'GetLatestConfiguration',
        query={'configuration_token': headers['next-poll-configuration-token']},
    )
    assert (status, content) == (200, b'')
    second = observed()

    assert [r['operation'] for r in _requests(first + second)] == [
        'GetLatestConfiguration',
        'GetLatestConfiguration',
    ]
    assert _metrics(first) == {
        'PollsServed': [(1, {'service': 'appconfig'})],
        'ConfigurationsDelivered': [(1, {'service': 'appconfig'})],
    }
    assert _metrics(second) == {'PollsServed': [(1, {'service': 'appconfig'})]}


def test_error_log_line_and_metric_by_code(app, observed):
    status, headers, _, _, _ = call(app, 'GetApplication', {'ApplicationId': 'nothere'})
    assert status == 404
    status, _, _, _, _ = call(app, 'CreateApplication', body={'Name': ''})
    assert status == 400
    lines = observed()
    missing, invalid = _requests(lines)
    assert (missing['operation'], missing['status'], missing['error_code']) == (
        'GetApplication',
        404,
        'ResourceNotFoundException',
    )
    assert missing['application_id'] == 'nothere'
    assert missing['request_id'] == headers['x-amzn-requestid']
    assert invalid['error_code'] == 'BadRequestException'
    errors = _metrics(lines)['Errors']
    assert sorted((value, dims['ErrorCode']) for value, dims in errors) == [
        (1, 'BadRequestException'),
        (1, 'ResourceNotFoundException'),
    ]
    assert all(dims['service'] == 'appconfig' for _, dims in errors)


def test_requests_refused_by_the_signature_check_are_logged(app, observed, monkeypatch, tmp_path):
    # Locally with APPCONFIG_AUTH=sigv4 and observability on. app.py installs observability
    # before the signature check; the fixture installed it late, so put it first here.
    from chalicelib import observability

    (entry,) = [h for h in app.middleware_handlers if h[0] is observability.middleware]
    app.middleware_handlers.remove(entry)
    app.middleware_handlers.insert(0, entry)
    credentials = tmp_path / 'credentials'
    credentials.write_text('[a]\naws_access_key_id = AKID\naws_secret_access_key = s\n')
    monkeypatch.setenv('APPCONFIG_AUTH', 'sigv4')
    monkeypatch.setenv('APPCONFIG_CREDENTIALS_FILE', str(credentials))
    status, headers, _, _, _ = call(app, 'ListApplications')
    assert (status, headers['x-amzn-errortype']) == (403, 'MissingAuthenticationTokenException')
    lines = observed()
    (logged,) = _requests(lines)
    assert (logged['operation'], logged['status'], logged['error_code']) == (
        'ListApplications',
        403,
        'MissingAuthenticationTokenException',
    )
    assert [dims['ErrorCode'] for _, dims in _metrics(lines)['Errors']] == [
        'MissingAuthenticationTokenException'
    ]


def _fresh_python(code, **env):
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in ('AWS_LAMBDA_FUNCTION_NAME', 'APPCONFIG_OBSERVABILITY')
    }
    done = subprocess.run(
        [sys.executable, '-c', code],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


CHECK = (
    'import json, sys; from app import app; from chalicelib import auth; '
    'print(json.dumps({"powertools": "aws_lambda_powertools" in sys.modules, '
    '"middleware": [f.__module__ for f, _ in app.middleware_handlers]}))'
)


def test_app_imports_no_powertools_outside_lambda():
    # Local runs and tests do not pay its import time.
    for env in (
        {},
        {'APPCONFIG_OBSERVABILITY': 'off', 'AWS_LAMBDA_FUNCTION_NAME': 'appconfig-prod'},
    ):
        found = _fresh_python(CHECK, **env)
        assert found['powertools'] is False, env
        assert 'chalicelib.observability' not in found['middleware']
        assert 'chalicelib.auth' in found['middleware']


def test_app_installs_it_on_lambda_first_in_line():
    for env in ({'AWS_LAMBDA_FUNCTION_NAME': 'appconfig-prod'}, {'APPCONFIG_OBSERVABILITY': 'on'}):
        found = _fresh_python(CHECK, **env)
        assert found['powertools'] is True, env
        # Outermost, so it also logs and counts what the middlewares after it refuse.
        assert found['middleware'][0] == 'chalicelib.observability'
        assert found['middleware'].count('chalicelib.observability') == 1
