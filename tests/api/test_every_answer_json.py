"""Every answer of the server is JSON with x-amzn-ErrorType and x-amzn-RequestId, whatever
the request: any method on any path of the models (generated from the routes), requests the
HTTP layer itself refuses, and HEAD (headers only, the connection stays usable)."""

import json
import socket
from urllib.parse import urlsplit

import pytest

from chalicelib.wire.model import routes
from tests.model_requests import LABEL, send

METHODS = (
    'GET',
    'PUT',
    'POST',
    'DELETE',
    'PATCH',
    'HEAD',
    'OPTIONS',
    'TRACE',
    'CONNECT',
    'FOO',
    'M-SEARCH',
)


def _paths():
    served = {}
    for route in routes():
        served.setdefault(route.path, set()).add(route.method)
    return sorted(served.items())


def _unknown(status, headers, body, method):
    assert status == 404, (status, body)
    assert headers['x-amzn-errortype'] == 'UnknownOperationException'
    assert headers['content-type'] == 'application/json'
    assert headers['x-amzn-requestid']
    if method == 'HEAD':
        assert body == b'' and int(headers['content-length']) > 0
    else:
        assert json.loads(body)['Message'].startswith(f'No operation matches {method} ')


@pytest.mark.parametrize('path, served', _paths(), ids=[p for p, _ in _paths()])
def test_a_method_the_path_does_not_serve_is_an_unknown_operation(endpoint, path, served):
    concrete = path.replace('{', '').replace('}', '')
    for var in {part[1:-1] for part in path.split('/') if part.startswith('{')}:
        concrete = concrete.replace(var, LABEL)
    for method in METHODS:
        if method in served:
            continue
        _unknown(*send(endpoint, method, concrete), method)
        _unknown(*send(endpoint, method, concrete + '/'), method)


@pytest.mark.parametrize('method', ['GET', 'HEAD', 'POST', 'FOO'])
def test_an_unknown_path_is_an_unknown_operation(endpoint, method):
    _unknown(*send(endpoint, method, '/nothing/here?x=1'), method)


def _raw(endpoint, data):
    parts = urlsplit(endpoint)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as conn:
        conn.sendall(data)
        received = b''
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                return received
            received += chunk


def _response(raw):
    """(status, headers, body) of the one HTTP/1.1 response in ``raw``."""
    head, _, body = raw.partition(b'\r\n\r\n')
    lines = head.decode().split('\r\n')
    headers = {k.lower(): v for k, v in (line.split(': ', 1) for line in lines[1:])}
    assert len(body) == int(headers['content-length'])
    return int(lines[0].split()[1]), headers, body


def test_more_than_100_headers(endpoint):
    headers = {f'X-Header-{i}': 'v' for i in range(101)}
    status, got, body = send(endpoint, 'GET', '/applications', headers)
    assert status == 431
    assert got['x-amzn-errortype'] == 'BadRequestException'
    assert got['content-type'] == 'application/json'
    assert got['x-amzn-requestid']
    assert json.loads(body)['Message']
    # 100 are fine.
    assert send(endpoint, 'GET', '/applications', dict(list(headers.items())[:90]))[0] == 200


@pytest.mark.parametrize(
    'request_bytes, status',
    [
        (b'GET /applications HTTP/1.1\r\nHost: x\r\nContent-Length: ten\r\n\r\n', 400),
        (
            b'GET /applications HTTP/1.1\r\nHost: x\r\n' + b'X-Long: ' + b'a' * 70000 + b'\r\n\r\n',
            431,
        ),
        (b'GET /' + b'a' * 70000 + b' HTTP/1.1\r\nHost: x\r\n\r\n', 414),
        (b'GET /applications HTTP/1.1 extra\r\nHost: x\r\n\r\n', 400),
    ],
)
def test_requests_the_http_layer_refuses_are_answered_in_json(endpoint, request_bytes, status):
    got, headers, body = _response(_raw(endpoint, request_bytes))
    assert got == status
    assert headers['x-amzn-errortype'] == 'BadRequestException'
    assert headers['content-type'] == 'application/json'
    assert headers['x-amzn-requestid']
    assert json.loads(body)['Message']


def test_head_answers_headers_only_and_keeps_the_connection(endpoint):
    raw = _raw(
        endpoint,
        b'HEAD /applications HTTP/1.1\r\nHost: x\r\n\r\n'
        b'GET /applications HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    )
    head, _, rest = raw.partition(b'\r\n\r\n')
    assert head.startswith(b'HTTP/1.1 404 ')
    assert b'x-amzn-ErrorType: UnknownOperationException' in head
    # The next bytes are the GET's answer: the HEAD wrote no body.
    assert rest.startswith(b'HTTP/1.1 200 ')
    assert rest.endswith(b'{"Items":[]}')
