"""Turns an HTTP request into the operation's input dict by walking its input shape.

Every failure is a BadRequestException naming what is wrong, never an exception escaping to
a 500: a body that is not JSON, nested deeper than the parser goes (the member holding the
nesting is named), or numbers too large for a float member.
"""

import base64
import json
from urllib.parse import unquote

from chalicelib.errors import BadRequestException
from chalicelib.wire import validate

# Content negotiation lies outside the models: these operations answer in more than one format
# (GetLatestConfiguration: JSON, or Ion for the AppConfig Agent) and read Accept under the
# non-member key '_accept', as '_status' carries a documented status the other way.
NEGOTIATED = frozenset({'GetLatestConfiguration'})


def parse(route, path_params, query, headers, body, raw_path=None):
    """``query`` maps names to lists of values; ``headers`` is case-insensitive; ``raw_path``
    is the request path as sent (still percent-encoded)."""
    shape = route.operation.input_shape
    if shape is None:
        return {}
    labels = {label: path_params.get(var) for var, label in route.labels.items()}
    # API Gateway hands labels over decoded, `chalice local` still percent-encoded. A label
    # that stands verbatim as a segment of the raw path has not been decoded yet.
    raw_segments = set(raw_path.split('/')) if raw_path else None
    payload = shape.serialization.get('payload')
    params = {}
    if payload:
        params[payload] = bytes(body or b'')
    else:
        params.update(_json_members(shape, body))
    for name, member in shape.members.items():
        location = member.serialization.get('location')
        wire_name = member.serialization.get('name', name)
        if location == 'uri':
            raw = labels.get(name)
            encoded = raw is not None and (raw_segments is None or raw in raw_segments)
            value = unquote(raw) if encoded else raw
        elif location == 'querystring':
            values = query.get(wire_name)
            value = values if values is None or member.type_name == 'list' else values[-1]
        elif location == 'header':
            value = headers.get(wire_name)
        else:
            continue
        if value is not None:
            params[name] = _scalar(member, value, name)
    validate.check(shape, params)
    if route.operation.name in NEGOTIATED:
        params['_accept'] = headers.get('accept')
    return params


def _json_members(shape, body):
    if not body:
        return {}
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise BadRequestException('The request body is not valid JSON') from None
    except RecursionError:
        raise _too_deep(body) from None
    if not isinstance(doc, dict):
        raise BadRequestException('The request body must be a JSON object')
    out = {}
    for name, member in shape.members.items():
        if 'location' not in member.serialization and doc.get(name) is not None:
            out[name] = _from_json(member, doc[name], name)
    return out


def _from_json(shape, value, where):
    kind = shape.type_name
    if kind == 'blob' and isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except ValueError:
            raise BadRequestException(f"Value at '{where}' must be base64-encoded") from None
    if kind == 'structure' and isinstance(value, dict):
        return {
            k: _from_json(m, value[k], f'{where}.{k}')
            for k, m in shape.members.items()
            if value.get(k) is not None
        }
    if kind == 'list' and isinstance(value, list):
        return [_from_json(shape.member, v, where) for v in value]
    if kind == 'map' and isinstance(value, dict):
        return {k: _from_json(shape.value, v, f'{where}.{k}') for k, v in value.items()}
    if kind in ('float', 'double') and isinstance(value, int) and not isinstance(value, bool):
        # An integer beyond a double's range is infinite, which the validator refuses.
        try:
            return float(value)
        except OverflowError:
            return float('inf') if value > 0 else float('-inf')
    # Type mismatches are left for the validator, which names the member.
    return value


# Deeper than any input shape of either model, shallower than the parser's recursion limit.
MAX_DEPTH = 64


def _too_deep(body):
    """The refusal of a body too deeply nested to parse, naming the top-level member whose
    value holds the nesting. Only on this failure path is the body scanned (iteratively)."""
    text = body.decode('utf-8', 'replace') if isinstance(body, (bytes, bytearray)) else body
    depth, i, key, expect_key = 0, 0, None, False
    while i < len(text):
        char = text[i]
        if char == '"':
            end = i + 1
            while end < len(text) and text[end] != '"':
                end += 2 if text[end] == '\\' else 1
            if depth == 1 and expect_key:
                try:
                    key = json.loads(text[i : end + 1])
                except ValueError:
                    key = text[i + 1 : end]
                expect_key = False
            i = end
        elif char in '[{':
            depth += 1
            expect_key = depth == 1 and char == '{'
            if depth > MAX_DEPTH:
                break
        elif char in ']}':
            depth -= 1
        elif char == ',' and depth == 1:
            expect_key = True
        i += 1
    if not key or depth <= 1:
        return BadRequestException(
            f'The request body is not valid JSON: nested more than {MAX_DEPTH} levels deep'
        )
    member = key[0].lower() + key[1:]
    return BadRequestException(
        f"1 validation error detected: Value at '{member}' failed to satisfy constraint: "
        f'Member must not be nested more than {MAX_DEPTH} levels deep'
    )


def _scalar(shape, value, where):
    kind = shape.type_name
    if kind == 'list':
        return [_scalar(shape.member, v, where) for v in value]
    if kind in ('integer', 'long'):
        try:
            return int(value)
        except ValueError:
            raise BadRequestException(
                f"Value '{value}' at '{where}' must be of type integer"
            ) from None
    if kind in ('float', 'double'):
        try:
            return float(value)
        except ValueError:
            raise BadRequestException(
                f"Value '{value}' at '{where}' must be of type {kind}"
            ) from None
    if kind == 'boolean':
        if value.lower() not in ('true', 'false'):
            raise BadRequestException(f"Value '{value}' at '{where}' must be true or false")
        return value.lower() == 'true'
    return value
