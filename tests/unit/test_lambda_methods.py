"""Through ``app.app`` as Lambda runs it: a proxy event whose method the resource does not
serve, or that names no resource, is answered UnknownOperationException in JSON, not with
Chalice's own 405 or 500."""

import base64
import json

import pytest

from chalicelib.wire.model import routes
from tests.apigw import LambdaContext, proxy_event

pytestmark = pytest.mark.usefixtures('tables')


def _served():
    served = {}
    for route in routes():
        served.setdefault(route.path, []).append(route)
    return served


def _answer(app, event):
    response = app(event, LambdaContext())
    headers = {k.lower(): v for k, v in response['headers'].items()}
    body = response['body'] or ''
    if response.get('isBase64Encoded'):
        body = base64.b64decode(body)
    return response['statusCode'], headers, body


@pytest.mark.parametrize('method', ['PUT', 'HEAD', 'OPTIONS', 'TRACE', 'FOO'])
def test_a_method_the_resource_does_not_serve(app, method):
    checked = 0
    for path, served in _served().items():
        if method in {r.method for r in served}:
            continue
        event = proxy_event(
            served[0].operation.name,
            labels={label: 'abc1234' for label in served[0].labels.values()},
        )
        event['httpMethod'] = event['requestContext']['httpMethod'] = method
        status, headers, body = _answer(app, event)
        assert status == 404, (path, status, body)
        assert headers['x-amzn-errortype'] == 'UnknownOperationException'
        assert headers['x-amzn-requestid']
        assert json.loads(body)['Message'].startswith(f'No operation matches {method} /api/')
        checked += 1
    assert checked


def test_an_event_naming_no_resource(app):
    event = proxy_event('ListApplications')
    event['resource'] = event['requestContext']['resourcePath'] = '/nothing/{here}'
    status, headers, body = _answer(app, event)
    assert status == 404
    assert headers['x-amzn-errortype'] == 'UnknownOperationException'
    del event['requestContext']['resourcePath']
    status, headers, body = _answer(app, event)
    assert status == 404
    assert headers['x-amzn-errortype'] == 'UnknownOperationException'


def test_served_methods_still_reach_the_operation(app):
    status, headers, body = _answer(app, proxy_event('ListApplications'))
    assert status == 200 and json.loads(body) == {'Items': []}
