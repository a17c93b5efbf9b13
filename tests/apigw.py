"""What API Gateway and Lambda hand the deployed app: REST proxy events and a Lambda context."""

import base64
import io
import uuid
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from botocore.awsrequest import AWSResponse

from chalicelib.wire.model import routes

ACCOUNT = '123456789012'


class LambdaContext:
    function_name = 'appconfig-prod-APIHandler-0123456789AB'
    memory_limit_in_mb = 512
    invoked_function_arn = f'arn:aws:lambda:us-east-1:{ACCOUNT}:function:{function_name}'

    def __init__(self):
        self.aws_request_id = str(uuid.uuid4())

    def get_remaining_time_in_millis(self):
        return 29000


def route_of(operation):
    (route,) = [r for r in routes() if r.operation.name == operation]
    return route


_SIGNED = {
    'X-Amz-Date': '20250101T000000Z',
    'Authorization': 'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20250101/us-east-1/execute-api/'
    'aws4_request, SignedHeaders=host;x-amz-date, Signature=0',
}


def proxy_event(operation, labels=None, body=None, headers=None, query=None, signed=True):
    """An API Gateway REST proxy event as the deployed API delivers it for ``operation``:
    path parameters decoded, every body base64-encoded (binary media type */*); ``signed``
    adds the SigV4 headers API Gateway passes through after checking them."""
    route = route_of(operation)
    by_label = {label: var for var, label in route.labels.items()}
    params = {by_label[k]: v for k, v in (labels or {}).items()}
    path = route.path.format(**{k: quote(v, safe='') for k, v in params.items()})
    headers = {
        'Host': 'abcdef1234.execute-api.us-east-1.amazonaws.com',
        'User-Agent': 'Boto3/1.44.5 md/Botocore#1.44.5',
        **(_SIGNED if signed else {}),
        **(headers or {}),
    }
    query = {k: v if isinstance(v, list) else [v] for k, v in (query or {}).items()}
    return {
        'resource': route.path,
        'path': path,
        'httpMethod': route.method,
        'headers': headers,
        'multiValueHeaders': {k: [v] for k, v in headers.items()},
        'queryStringParameters': {k: v[-1] for k, v in query.items()} or None,
        'multiValueQueryStringParameters': query or None,
        'pathParameters': params or None,
        'stageVariables': None,
        'requestContext': {
            'resourcePath': route.path,
            'httpMethod': route.method,
            'path': '/api' + path,
            'stage': 'api',
            'accountId': ACCOUNT,
            'apiId': 'abcdef1234',
            'requestId': str(uuid.uuid4()),
            'protocol': 'HTTP/1.1',
            'identity': {
                'sourceIp': '203.0.113.7',
                'accountId': ACCOUNT,
                'userArn': f'arn:aws:iam::{ACCOUNT}:user/deployer',
            },
        },
        'body': None if body is None else base64.b64encode(body).decode(),
        'isBase64Encoded': body is not None,
    }


class _Raw(io.BytesIO):
    def stream(self, **_):
        yield self.getvalue()


def _match(path):
    """(route, decoded path parameters) of the route serving ``path`` (raw), or (None, {})."""
    parts = path.strip('/').split('/')
    for route in routes():
        template = route.path.strip('/').split('/')
        if len(template) != len(parts):
            continue
        params = {}
        for want, got in zip(template, parts):
            if want.startswith('{'):
                params[want[1:-1]] = unquote(got)
            elif want != got:
                break
        else:
            return route, params
    return None, {}


def serve_through_lambda(client, app, stage='/api', context_path=None):
    """Answer every request ``client`` sends, after botocore signed it, by invoking ``app``
    with the REST proxy event API Gateway would deliver: the raw path the client sent in
    ``requestContext.path`` (``stage`` prefix included), path parameters decoded, query
    values decoded, headers as sent, the body base64-encoded. Returns the list of events."""
    events = []

    def before_send(request, **_):
        url = urlsplit(request.url)
        raw_path = url.path
        path = raw_path[len(stage) :] if stage and raw_path.startswith(stage) else raw_path
        route, params = _match(path)
        query = {}
        for name, value in parse_qsl(url.query, keep_blank_values=True):
            query.setdefault(name, []).append(value)
        headers = {k: v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()}
        headers['Host'] = url.netloc
        body = request.body or b''
        body = body.encode() if isinstance(body, str) else body
        if hasattr(body, 'read'):
            body = body.read()
        resource = route.path if route else path
        method = request.method
        event = {
            'resource': resource,
            'path': path,
            'httpMethod': method,
            'headers': headers,
            'multiValueHeaders': {k: [v] for k, v in headers.items()},
            'queryStringParameters': {k: v[-1] for k, v in query.items()} or None,
            'multiValueQueryStringParameters': query or None,
            'pathParameters': params or None,
            'stageVariables': None,
            'requestContext': {
                'resourcePath': resource,
                'httpMethod': method,
                'path': context_path(raw_path) if context_path else raw_path,
                'stage': stage.strip('/') or '$default',
                'accountId': ACCOUNT,
                'apiId': 'abcdef1234',
                'requestId': str(uuid.uuid4()),
                'protocol': 'HTTP/1.1',
                'identity': {'sourceIp': '203.0.113.7'},
            },
            'body': base64.b64encode(body).decode() if body else None,
            'isBase64Encoded': bool(body),
        }
        events.append(event)
        answer = app(event, LambdaContext())
        payload = answer.get('body') or ''
        payload = base64.b64decode(payload) if answer.get('isBase64Encoded') else payload.encode()
        return AWSResponse(request.url, answer['statusCode'], answer['headers'], _Raw(payload))

    # First, before moto's own before-send handler, which would answer for the endpoint.
    client.meta.events.register_first('before-send', before_send)
    return events
