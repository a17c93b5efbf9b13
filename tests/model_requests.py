"""Raw HTTP requests built from the botocore service models, for tests that send what no SDK
would: every operation, every member, any value (NaN, null, 39-digit numbers, deep nesting).

``members(op)`` lists every input member an operation can carry, at any depth, with where the
server's validation message names it (``deletionProtection.protectionPeriodInMinutes``,
``monitors.1.member``); ``build(op, ...)`` turns chosen values into (method, path, headers,
body bytes); ``send(endpoint, ...)`` sends one request over a fresh connection.
"""

import base64
import http.client
import json
from dataclasses import dataclass
from urllib.parse import quote, urlencode, urlsplit

from chalicelib.wire.model import SERVICES, service

# Raw JSON spliced into a body where a member's value is this string.
RAW = '\x00raw:'
# A string that satisfies the pattern of every id label of the models.
LABEL = 'abc1234'
NESTING = 6


def operations():
    """Every operation of both models (botocore OperationModels)."""
    out = []
    for name, _ in SERVICES:
        model = service(name)
        out += [model.operation_model(op) for op in model.operation_names]
    return out


def operation(name):
    (op,) = [o for o in operations() if o.name == name]
    return op


@dataclass(frozen=True)
class Member:
    top: str  # the top-level member of the input shape
    steps: tuple  # ('member', Name) | ('list',) | ('map',) below the top member
    shape: object  # the leaf shape
    location: str  # 'uri', 'querystring', 'header' or 'body'
    where: str  # how the server's validation names it

    def value(self, leaf):
        """The top member's value holding ``leaf`` at this member's place."""
        value = leaf
        for step in reversed(self.steps):
            if step[0] == 'member':
                value = {step[1]: value}
            elif step[0] == 'list':
                value = [value]
            else:
                value = {'k': value}
        return value


def _lower(name):
    return name[0].lower() + name[1:]


def members(op):
    shape = op.input_shape
    if shape is None:
        return []
    payload = shape.serialization.get('payload')
    found = []
    for name, member in shape.members.items():
        location = member.serialization.get('location') or 'body'
        if name == payload:
            continue
        found.append(Member(name, (), member, location, _lower(name)))
        if location == 'body':
            found += _below(name, member, (), _lower(name), 0)
    return found


def _below(top, shape, steps, where, depth):
    if depth >= NESTING:
        return []
    out = []
    if shape.type_name == 'structure':
        for name, member in shape.members.items():
            s, w = steps + (('member', name),), f'{where}.{_lower(name)}'
            out.append(Member(top, s, member, 'body', w))
            out += _below(top, member, s, w, depth + 1)
    elif shape.type_name == 'list':
        s, w = steps + (('list',),), f'{where}.1.member'
        out.append(Member(top, s, shape.member, 'body', w))
        out += _below(top, shape.member, s, w, depth + 1)
    elif shape.type_name == 'map':
        s, w = steps + (('map',),), f'{where}.k.value'
        out.append(Member(top, s, shape.value, 'body', w))
        out += _below(top, shape.value, s, w, depth + 1)
    return out


def label_default(shape):
    return '1' if shape.type_name in ('integer', 'long') else LABEL


def build(op, params=None, labels=None, raw_body=None):
    """(method, path, headers, body) for ``op``: ``params`` maps top-level member names to
    values (placed by their location; body values may hold ``RAW + text`` strings, spliced
    in as raw JSON); labels not given get a valid-looking value; ``raw_body`` replaces the
    body altogether."""
    params = dict(params or {})
    shape = op.input_shape
    uri, _, fixed = op.http['requestUri'].partition('?')
    query = [tuple(p.split('=', 1)) if '=' in p else (p, '') for p in fixed.split('&') if p]
    headers, body = {}, {}
    payload = shape.serialization.get('payload') if shape else None
    for name, member in shape.members.items() if shape else ():
        location = member.serialization.get('location')
        wire = member.serialization.get('name', name)
        if location == 'uri':
            value = (labels or {}).get(name, params.pop(name, None))
            value = label_default(member) if value is None else value
            greedy = f'{{{wire}+}}' in uri
            uri = uri.replace(
                f'{{{wire}+}}' if greedy else f'{{{wire}}}',
                quote(str(value), safe='/' if greedy else '', errors='surrogatepass'),
            )
        elif name not in params:
            continue
        elif location == 'querystring':
            values = params.pop(name)
            for v in values if isinstance(values, list) else [values]:
                query.append((wire, str(v)))
        elif location == 'header':
            headers[wire] = str(params.pop(name))
        elif name == payload:
            body = params.pop(name)
        else:
            body[name] = params.pop(name)
    if raw_body is not None:
        data = raw_body
    elif isinstance(body, (bytes, bytearray)):
        data = bytes(body)
    elif body or (shape is not None and not payload and _has_body(shape)):
        data = _dumps(body).encode()
    else:
        data = b''
    headers.setdefault('Content-Type', 'application/json')
    path = uri + ('?' + urlencode(query, errors='surrogatepass') if query else '')
    return op.http['method'], path, headers, data


def _has_body(shape):
    return any('location' not in m.serialization for m in shape.members.values())


def _dumps(value):
    raws = []

    def mark(v):
        if isinstance(v, str) and v.startswith(RAW):
            raws.append(v[len(RAW) :])
            return f'{RAW}{len(raws) - 1}'
        if isinstance(v, dict):
            return {k: mark(x) for k, x in v.items()}
        if isinstance(v, list):
            return [mark(x) for x in v]
        return v

    text = json.dumps(mark(value), separators=(',', ':'))
    # Splice raw JSON where a marker string stands.
    for i, raw in enumerate(raws):
        text = text.replace(json.dumps(f'{RAW}{i}'), raw)
    return text


def send(endpoint, method, path, headers=None, body=b''):
    """(status, headers with lower-case names, body bytes) over a fresh connection."""
    parts = urlsplit(endpoint)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        conn.request(method, path, body=body or None, headers=headers or {})
        response = conn.getresponse()
        return (response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
    finally:
        conn.close()


def profile_with_versions(appconfig, name, count=2):
    """(application id, hosted profile id) with ``count`` hosted versions, through a client."""
    app = appconfig.create_application(Name=name)['Id']
    profile = appconfig.create_configuration_profile(
        ApplicationId=app, Name='p', LocationUri='hosted'
    )['Id']
    for _ in range(count):
        appconfig.create_hosted_configuration_version(
            ApplicationId=app,
            ConfigurationProfileId=profile,
            Content=b'x',
            ContentType='text/plain',
        )
    return app, profile


def forged_token(token, number):
    """``token`` (a NextToken) with every number in its key replaced by ``number``."""
    key = json.loads(base64.urlsafe_b64decode(token))
    assert any('N' in value for value in key.values()), key
    forged = {name: {'N': str(number)} if 'N' in value else value for name, value in key.items()}
    return base64.urlsafe_b64encode(json.dumps(forged).encode()).decode()
