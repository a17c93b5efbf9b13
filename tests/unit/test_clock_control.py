"""The clock control exists only on the local server: the deployed stage never routes it."""

import base64
import json
import uuid

import pytest

from tests.apigw import ACCOUNT, LambdaContext

pytestmark = pytest.mark.usefixtures('tables')


def _event(method, path):
    """A REST proxy event as API Gateway would send it, were the path routed at all."""
    return {
        'resource': path,
        'path': path,
        'httpMethod': method,
        'headers': {'Host': 'abcdef1234.execute-api.us-east-1.amazonaws.com'},
        'multiValueHeaders': {},
        'queryStringParameters': None,
        'multiValueQueryStringParameters': None,
        'pathParameters': None,
        'stageVariables': None,
        'requestContext': {
            'resourcePath': path,
            'httpMethod': method,
            'path': '/api' + path,
            'stage': 'api',
            'accountId': ACCOUNT,
            'apiId': 'abcdef1234',
            'requestId': str(uuid.uuid4()),
            'protocol': 'HTTP/1.1',
            'identity': {'sourceIp': '203.0.113.7'},
        },
        'body': base64.b64encode(b'{"advance": "1d"}').decode() if method == 'POST' else None,
        'isBase64Encoded': method == 'POST',
    }


def test_the_route_table_has_no_clock(app):
    assert not [path for path in app.routes if 'appconfig' in path or path.startswith('/_')]


@pytest.mark.parametrize('method', ['GET', 'POST'])
def test_the_lambda_answers_the_clock_path_as_an_unknown_operation(app, method):
    from chalicelib import clock

    before = clock.line()
    response = app(_event(method, '/_appconfig/clock'), LambdaContext())
    assert response['statusCode'] == 404
    headers = {k.lower(): v for k, v in response['headers'].items()}
    assert headers['x-amzn-errortype'] == 'UnknownOperationException'
    assert headers['content-type'] == 'application/json'
    body = (
        base64.b64decode(response['body'])
        if response['isBase64Encoded']
        else response['body'].encode()
    )
    assert json.loads(body) == {'Message': f'No operation matches {method} /api/_appconfig/clock'}
    assert clock.line() is before  # nothing moved the clock
    assert not app.routes.get('/_appconfig/clock')
