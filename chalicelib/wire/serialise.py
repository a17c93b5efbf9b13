"""Turns an operation's result dict, or a ServiceError, into status, headers and body."""

import base64
import json
from datetime import datetime
from decimal import Decimal
from email.utils import format_datetime

from chalicelib.errors import ServiceError
from chalicelib.wire.model import error_status


def success(operation, result):
    # An operation may answer another documented status (GetConfiguration's 204 when the
    # client already has the current version) under the non-member key '_status'.
    status = result.get('_status') or operation.http.get('responseCode', 200)
    shape = operation.output_shape
    # Headers outside the model (the Agent's Experiment-Flags) under the non-member '_headers'.
    headers = dict(result.get('_headers') or {})
    if shape is None:
        return status, headers, b''
    payload = shape.serialization.get('payload')
    body_doc = {}
    for name, member in shape.members.items():
        value = result.get(name)
        if value is None:
            continue
        location = member.serialization.get('location')
        if location == 'header':
            headers[member.serialization.get('name', name)] = _header(member, value)
        elif name != payload:
            body_doc[name] = _to_json(member, value)
    if payload:
        body = result.get(payload) or b''
        headers.setdefault('Content-Type', 'application/octet-stream')
    else:
        body = json.dumps(body_doc, separators=(',', ':')).encode()
        headers['Content-Type'] = 'application/json'
    return status, headers, body


def error(err: ServiceError):
    status = error_status(err.code) or err.status
    doc = {'Message': err.message, **err.fields}
    headers = {'Content-Type': 'application/json', 'x-amzn-ErrorType': err.code}
    return status, headers, json.dumps(doc, separators=(',', ':'), default=str).encode()


def _header(shape, value):
    if shape.type_name == 'boolean':
        return 'true' if value else 'false'
    if shape.type_name == 'timestamp':
        return format_datetime(value, usegmt=True)
    return str(value)


def _to_json(shape, value):
    kind = shape.type_name
    if kind == 'structure':
        return {
            k: _to_json(m, value[k]) for k, m in shape.members.items() if value.get(k) is not None
        }
    if kind == 'list':
        return [_to_json(shape.member, v) for v in value]
    if kind == 'map':
        return {k: _to_json(shape.value, v) for k, v in value.items()}
    if kind == 'timestamp':
        if shape.serialization.get('timestampFormat') == 'iso8601':
            return value.isoformat().replace('+00:00', 'Z')
        return value.timestamp()
    if kind == 'blob':
        return base64.b64encode(value).decode()
    if kind in ('integer', 'long'):
        return int(value)
    if kind in ('float', 'double'):
        return float(value)
    if isinstance(value, (Decimal, datetime)):
        return str(value)
    return value
