"""The one generic handler behind every route: parse, call the operation, serialise."""

import logging
import uuid

from chalicelib import ops
from chalicelib.errors import (
    InternalServerException,
    NotImplementedException,
    ServiceError,
    UnknownOperationException,
)
from chalicelib.wire import serialise
from chalicelib.wire.parse import parse

log = logging.getLogger(__name__)


def handle(route, method, path_params, query, headers, body, raw_path=None):
    """Returns (status, headers, body bytes) for one request; never raises."""
    request_id = str(uuid.uuid4())
    operation = route.operation
    try:
        function = ops.resolve(operation.name)
        if function is None:
            raise NotImplementedException(f'{operation.name} is not implemented by this server')
        params = parse(route, path_params, query, headers, body, raw_path)
        status, out_headers, out_body = serialise.success(operation, function(params))
    except ServiceError as err:
        status, out_headers, out_body = serialise.error(err)
    except Exception:  # noqa: BLE001 - a bug must still answer as the service would
        log.exception('%s failed (request %s)', operation.name, request_id)
        status, out_headers, out_body = serialise.error(
            InternalServerException('An internal error occurred. Try again.')
        )
    out_headers['x-amzn-RequestId'] = request_id
    return status, out_headers, out_body


def unknown_operation(method, path):
    """(status, headers, body) for a method and path that no operation of either model
    serves: the same UnknownOperationException for an unknown path, a method the path does
    not serve (HEAD, TRACE, OPTIONS, made-up ones) and a request that names no route."""
    status, headers, body = serialise.error(
        UnknownOperationException(f'No operation matches {method} {path}')
    )
    headers['x-amzn-RequestId'] = str(uuid.uuid4())
    return status, headers, body
