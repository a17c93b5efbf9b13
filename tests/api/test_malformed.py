"""Malformed requests, sent as raw HTTP, get a 4xx JSON error naming the problem, never a 5xx
or an HTML page."""

import json
import urllib.error
import urllib.request

import pytest


def send(endpoint, method, path, body=None, headers=None):
    request = urllib.request.Request(
        endpoint + path,
        data=body,
        method=method,
        headers={'Content-Type': 'application/json', **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@pytest.mark.parametrize(
    'method, path, body, status, code',
    [
        ('POST', '/applications', b'{"Name": ', 400, 'BadRequestException'),
        ('POST', '/applications', b'["Name"]', 400, 'BadRequestException'),
        ('POST', '/applications', b'\xff\xfe', 400, 'BadRequestException'),
        ('POST', '/applications', b'{"Name": {"nested": 1}}', 400, 'BadRequestException'),
        (
            'POST',
            '/deploymentstrategies',
            b'{"Name": "s", "DeploymentDurationInMinutes": "ten", "GrowthFactor": 10}',
            400,
            'BadRequestException',
        ),
        ('GET', '/applications/' + 'a' * 3000, None, 400, 'BadRequestException'),
        ('GET', '/applications?max_results=many', None, 400, 'BadRequestException'),
        (
            'GET',
            '/applications/abc1234/environments/env1234/deployments/not-a-number',
            None,
            400,
            'BadRequestException',
        ),
        ('GET', '/nothing/here', None, 404, 'UnknownOperationException'),
    ],
)
def test_answered_with_a_json_error(endpoint, method, path, body, status, code):
    got_status, headers, raw = send(endpoint, method, path, body)
    assert got_status == status
    assert headers['x-amzn-ErrorType'] == code
    assert headers['Content-Type'] == 'application/json'
    assert json.loads(raw)['Message']
    assert headers['x-amzn-RequestId']


def test_wrong_member_type_names_the_member(endpoint):
    status, headers, raw = send(endpoint, 'PATCH', '/settings', b'{"DeletionProtection": 7}')
    assert status == 400 and headers['x-amzn-ErrorType'] == 'BadRequestException'
    assert 'deletionProtection' in json.loads(raw)['Message']
