"""The app as API Gateway runs it: ``app.app(event, context)`` with REST proxy events.

Behind API Gateway with binary media type ``*/*`` every request body reaches the function
base64-encoded (``isBase64Encoded: true``) and every response must go back base64-encoded, or
API Gateway mangles content that is not UTF-8 text. Path parameters arrive already decoded.
boto3 sends no Accept header. DynamoDB is moto's.
"""

import base64
import json
import uuid

import pytest

from tests.apigw import ACCOUNT, LambdaContext, proxy_event

# Every byte value, invalid UTF-8, CR/LF and NUL: what a text round trip would corrupt.
BINARY = bytes(range(256)) + b'\xff\xfe\x00\r\n\xc3\x28' + bytes(range(255, -1, -1))


# Every test here runs against a fresh moto account (tests/unit/conftest.py).
pytestmark = pytest.mark.usefixtures('tables')


def invoke(app, operation, **kwargs):
    response = app(proxy_event(operation, **kwargs), LambdaContext())
    assert response['isBase64Encoded'] is True, response
    body = base64.b64decode(response['body'], validate=True)
    headers = {k.lower(): v for k, v in response['headers'].items()}
    assert headers['x-amzn-requestid']
    return response['statusCode'], headers, body


def _json(**doc):
    return json.dumps(doc).encode()


def test_json_round_trip_through_base64(app):
    status, headers, body = invoke(
        app,
        'CreateApplication',
        body=_json(Name='shop ✓', Description='naïve café', Tags={'team': 'payments'}),
        headers={'Content-Type': 'application/json'},
    )
    assert status == 201, body
    assert headers['content-type'] == 'application/json'
    created = json.loads(body)
    assert created['Name'] == 'shop ✓'

    status, headers, body = invoke(app, 'GetApplication', labels={'ApplicationId': created['Id']})
    assert status == 200
    assert json.loads(body) == {'Id': created['Id'], 'Name': 'shop ✓', 'Description': 'naïve café'}


def test_error_through_base64(app):
    status, headers, body = invoke(app, 'GetApplication', labels={'ApplicationId': 'nothere'})
    assert status == 404
    assert headers['x-amzn-errortype'] == 'ResourceNotFoundException'
    assert 'nothere' in json.loads(body)['Message']


def test_decoded_arn_path_parameter(app):
    _, _, body = invoke(
        app,
        'CreateApplication',
        body=_json(Name='tagged'),
        headers={'Content-Type': 'application/json'},
    )
    arn = f'arn:aws:appconfig:us-east-1:{ACCOUNT}:application/{json.loads(body)["Id"]}'
    # API Gateway hands over the ARN decoded (':' and '/' as such), not %3A / %2F.
    status, _, body = invoke(
        app,
        'TagResource',
        labels={'ResourceArn': arn},
        body=_json(Tags={'env': 'prod'}),
        headers={'Content-Type': 'application/json'},
    )
    assert status == 204, body
    status, _, body = invoke(app, 'ListTagsForResource', labels={'ResourceArn': arn})
    assert status == 200, body
    assert json.loads(body) == {'Tags': {'env': 'prod'}}


def _hosted_profile(app):
    _, _, body = invoke(
        app,
        'CreateApplication',
        body=_json(Name='binary'),
        headers={'Content-Type': 'application/json'},
    )
    application_id = json.loads(body)['Id']
    status, _, body = invoke(
        app,
        'CreateConfigurationProfile',
        labels={'ApplicationId': application_id},
        body=_json(Name='blob', LocationUri='hosted'),
        headers={'Content-Type': 'application/json'},
    )
    assert status == 201, body
    return application_id, json.loads(body)['Id']


@pytest.mark.parametrize('content_type', ['application/octet-stream', 'image/png'])
def test_hosted_version_bytes_round_trip(app, content_type):
    application_id, profile_id = _hosted_profile(app)
    ids = {'ApplicationId': application_id, 'ConfigurationProfileId': profile_id}
    status, headers, body = invoke(
        app,
        'CreateHostedConfigurationVersion',
        labels=ids,
        body=BINARY,
        headers={'Content-Type': content_type, 'Description': 'all the bytes'},
    )
    assert status == 201, body
    assert body == BINARY
    assert headers['content-type'] == content_type
    assert headers['version-number'] == '1'

    status, headers, body = invoke(
        app, 'GetHostedConfigurationVersion', labels={**ids, 'VersionNumber': '1'}
    )
    assert status == 200, body
    assert body == BINARY
    assert headers['content-type'] == content_type
    assert headers['description'] == 'all the bytes'
    assert headers['application-id'] == application_id
    assert headers['configuration-profile-id'] == profile_id


@pytest.fixture
def observed(app, capsys):
    """The app with chalicelib.observability installed as on Lambda; yields a reader of the
    JSON log lines and EMF documents written since."""
    import io

    from chalicelib import observability

    stream = io.StringIO()
    handler = observability.logger.registered_handler
    previous, handler.stream = handler.stream, stream
    assert observability.install(app, force=True)
    # Chalice builds a scheduled function's middleware chain on its first call and keeps it;
    # another test may have called the tick before observability was installed here.
    from app import tick

    tick.handler = None
    tick.middleware_handlers = [f for f, kind in app.middleware_handlers if kind == 'all']
    lines = []

    def read():
        out = capsys.readouterr().out + stream.getvalue()
        stream.seek(0)
        stream.truncate()
        lines.extend(json.loads(line) for line in out.splitlines() if line.startswith('{'))
        return lines

    yield read
    observability.uninstall(app)
    tick.handler = None
    tick.middleware_handlers = [f for f, kind in app.middleware_handlers if kind == 'all']
    handler.stream = previous


def _emf(lines, metric):
    found = []
    for doc in lines:
        for directive in doc.get('_aws', {}).get('CloudWatchMetrics', []):
            if any(m['Name'] == metric for m in directive['Metrics']):
                found.append(doc)
    return found


def test_structured_log_and_error_metric(app, observed):
    _, _, body = invoke(
        app,
        'CreateApplication',
        body=_json(Name='observed'),
        headers={'Content-Type': 'application/json'},
    )
    application_id = json.loads(body)['Id']
    _, headers, _ = invoke(app, 'GetApplication', labels={'ApplicationId': application_id})
    invoke(app, 'GetApplication', labels={'ApplicationId': 'nothere'})
    lines = observed()
    requests = [line for line in lines if line.get('message') == 'request']
    assert [(r['operation'], r['status']) for r in requests] == [
        ('CreateApplication', 201),
        ('GetApplication', 200),
        ('GetApplication', 404),
    ]
    assert requests[1]['application_id'] == application_id
    assert requests[1]['request_id'] == headers['x-amzn-requestid']
    assert requests[1]['api_request_id'] and requests[1]['lambda_request_id']
    assert requests[2]['error_code'] == 'ResourceNotFoundException'
    assert all(r['service'] == 'appconfig' and r['level'] == 'INFO' for r in requests)
    (error,) = _emf(lines, 'Errors')
    assert error['ErrorCode'] == 'ResourceNotFoundException' and error['Errors'] in (1, [1])
    assert error['_aws']['CloudWatchMetrics'][0]['Namespace'] == 'AppConfig'


def test_tick_summary_metrics(app, observed):
    from app import tick

    scheduled = {
        'version': '0',
        'id': str(uuid.uuid4()),
        'detail-type': 'Scheduled Event',
        'source': 'aws.events',
        'account': ACCOUNT,
        'time': '2025-01-01T00:00:00Z',
        'region': 'us-east-1',
        'detail': {},
        'resources': [f'arn:aws:events:us-east-1:{ACCOUNT}:rule/appconfig-prod-tick'],
    }
    summary = tick(scheduled, LambdaContext())
    assert summary['active'] == 0
    lines = observed()
    (logged,) = [line for line in lines if line.get('message') == 'tick']
    assert logged['operation'] == 'Tick' and logged['summary']['active'] == 0
    (active,) = _emf(lines, 'ActiveDeployments')
    assert active['ActiveDeployments'] in (0, [0])


def test_observability_is_off_outside_lambda(app, monkeypatch):
    from chalicelib import observability

    monkeypatch.delenv('AWS_LAMBDA_FUNCTION_NAME', raising=False)
    monkeypatch.delenv('APPCONFIG_OBSERVABILITY', raising=False)
    before = list(app.middleware_handlers)
    assert observability.install(app) is False
    assert app.middleware_handlers == before
    monkeypatch.setenv('AWS_LAMBDA_FUNCTION_NAME', 'appconfig-prod')
    assert observability.enabled()


def test_ion_answer_for_the_appconfig_agent(app):
    """The Agent's Accept header through API Gateway: binary Ion, base64-encoded on the way out."""
    from amazon.ion import simpleion

    def call(operation, labels=None, **doc):
        status, headers, body = invoke(
            app,
            operation,
            labels=labels,
            body=_json(**doc),
            headers={'Content-Type': 'application/json'},
        )
        assert status in (200, 201), body
        return json.loads(body)

    application_id = call('CreateApplication', Name='agent')['Id']
    app_label = {'ApplicationId': application_id}
    env_id = call('CreateEnvironment', app_label, Name='prod')['Id']
    profile_id = call(
        'CreateConfigurationProfile',
        app_label,
        Name='flags',
        LocationUri='hosted',
        Type='AWS.AppConfig.FeatureFlags',
    )['Id']
    document = {
        'version': '1',
        'flags': {'ui': {'name': 'UI'}},
        'values': {
            'ui': {
                '_variants': [
                    {'name': 'Beta', 'enabled': True, 'rule': '(eq $tier "beta")'},
                    {'name': 'Default', 'enabled': False},
                ]
            }
        },
    }
    status, _, body = invoke(
        app,
        'CreateHostedConfigurationVersion',
        labels={**app_label, 'ConfigurationProfileId': profile_id},
        body=_json(**document),
        headers={'Content-Type': 'application/json'},
    )
    assert status == 201, body
    strategy_id = call(
        'CreateDeploymentStrategy',
        Name='now',
        DeploymentDurationInMinutes=0,
        GrowthFactor=100,
        FinalBakeTimeInMinutes=0,
        ReplicateTo='NONE',
    )['Id']
    call(
        'StartDeployment',
        {**app_label, 'EnvironmentId': env_id},
        ConfigurationProfileId=profile_id,
        DeploymentStrategyId=strategy_id,
        ConfigurationVersion='1',
    )
    token = call(
        'StartConfigurationSession',
        ApplicationIdentifier=application_id,
        EnvironmentIdentifier=env_id,
        ConfigurationProfileIdentifier=profile_id,
    )['InitialConfigurationToken']
    status, headers, body = invoke(
        app,
        'GetLatestConfiguration',
        query={'configuration_token': token},
        headers={'Accept': 'application/ion;type=AWS.AppConfig.FeatureFlags;q=1.0,*/*;q=0.1'},
    )
    assert status == 200, body
    assert headers['content-type'] == 'application/ion;type=AWS.AppConfig.FeatureFlags'
    (flag,) = simpleion.loads(body, single_value=False)
    assert [a.text for a in flag.ion_annotations] == ['ui']
    beta, default = flag
    assert [a.text for a in beta.ion_annotations] == ['Beta']
    assert json.loads(str(beta[1])) == {'_variant': 'Beta', 'enabled': True}
    assert json.loads(str(default)) == {'_variant': 'Default', 'enabled': False}
