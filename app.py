"""The AppConfig API as a Chalice app: one route per operation of both service models,
all served by the model-driven wire handler, plus the scheduled deployment tick."""

import json
import os
import uuid

from chalice import Chalice, IAMAuthorizer, Response
from chalice.app import CaseInsensitiveMapping

from chalicelib import arns, auth
from chalicelib.wire.handler import handle, unknown_operation
from chalicelib.wire.model import routes

app = Chalice(app_name='appconfig')
# Hosted content of any type must round-trip byte-exact, so API Gateway treats every body as
# binary and the app base64-encodes every response.
app.api.binary_types = ['*/*']
# On AWS every route is IAM-authorised (SigV4, checked by API Gateway). The prod stage sets
# APPCONFIG_AUTH=iam in .chalice/config.json, which `chalice package`/`deploy` load before
# importing this module; local runs leave it unset and stay open.
_authorizer = IAMAuthorizer() if os.environ.get('APPCONFIG_AUTH') == 'iam' else None
# Structured logs and EMF metrics where Lambda runs the code (or APPCONFIG_OBSERVABILITY=on;
# =off turns them off on Lambda). Powertools takes tens of milliseconds to import, so it is
# imported only when they may be on; install() decides. Registered first, it also sees the
# requests refused by the middlewares below.
_observability = (os.environ.get('APPCONFIG_OBSERVABILITY') or '').lower()
if _observability not in ('off', '0', 'false') and (
    _observability or os.environ.get('AWS_LAMBDA_FUNCTION_NAME')
):
    from chalicelib import observability

    observability.install(app)


@app.middleware('http')
def known_operations_only(request, get_response):
    # Chalice answers a method that a known path does not serve with its own 405, which is
    # not the service's error; API Gateway and the local server hand such requests on.
    routes = app.routes.get(request.context.get('resourcePath')) if request else None
    if not routes or request.method not in routes:
        method = request.method if request else '?'
        path = (request.context.get('path') or request.path) if request else '?'
        status, headers, body = unknown_operation(method, path)
        return Response(body=body, headers=headers, status_code=status)
    return get_response(request)


# Locally, APPCONFIG_AUTH=sigv4 verifies each request's SigV4 signature against a
# credentials file, as API Gateway does on AWS; otherwise a no-op (read per request).
app.register_middleware(auth.middleware, 'http')


@app.middleware('http')
def accept_any(request, get_response):
    # Chalice refuses a binary response unless the request's Accept names a binary type, and
    # boto3 sends no Accept header; the service answers such requests all the same.
    if 'accept' not in request.headers:
        request.headers = CaseInsensitiveMapping({**request.headers, 'accept': '*/*'})
    return get_response(request)


@app.middleware('http')
def unrouted(request, get_response):
    # Only the AWS API's paths are routed here: the local-only endpoints (the clock control,
    # the console) are mounts of local/server.py and never reach the deployed stage. A
    # resource this app does not route answers as an unknown operation, in JSON.
    resource = request.context.get('resourcePath')
    if resource is not None and not app.routes.get(resource):
        path = request.context.get('path') or resource
        return Response(
            body=json.dumps({'Message': f'No operation matches {request.method} {path}'}),
            status_code=404,
            headers={
                'Content-Type': 'application/json',
                'x-amzn-ErrorType': 'UnknownOperationException',
                'x-amzn-RequestId': str(uuid.uuid4()),
            },
        )
    return get_response(request)


def _view(route):
    def view(**path_params):
        request = app.current_request
        arns.use_lambda_context(app.lambda_context)
        query = request.query_params
        status, headers, body = handle(
            route,
            request.method,
            path_params,
            {k: query.getlist(k) for k in query} if query else {},
            request.headers,
            request.raw_body,
            request.context.get('path'),
        )
        return Response(body=body, headers=headers, status_code=status)

    view.__name__ = route.operation.name
    return view


for _route in routes():
    app.route(
        _route.path,
        methods=[_route.method],
        name=_route.operation.name,
        content_types=['*/*'],
        authorizer=_authorizer,
    )(_view(_route))


@app.schedule('rate(1 minute)')
def tick(event):
    # On AWS every minute; locally the runner calls chalicelib.engine.tick.run() itself.
    from chalicelib.engine import tick as engine_tick

    return engine_tick.run()
