"""Checks a parsed request against every constraint its input shape declares.

Clients may switch off botocore's own validation and other SDKs check less, so the server
answers BadRequestException naming the member, in the service's wording. Besides the
declared constraints, every number must fit its type (``integer`` is 32-bit and ``long``
64-bit, as in Smithy, so no unbounded number reaches the store, whose numbers carry at most
38 digits) and be finite, and no element of a list or value of a map may be null.
"""

import math
import re
from functools import cache

from chalicelib.errors import BadRequestException

_TYPES = {
    'string': str,
    'blob': (bytes, bytearray),
    'boolean': bool,
    'structure': dict,
    'map': dict,
    'list': list,
    'integer': int,
    'long': int,
    'float': (int, float),
    'double': (int, float),
}
# The range of each number type (Smithy's: 32-bit integer and float, 64-bit long), where
# the shape declares no narrower one. A double's range is the parser's own.
_FLOAT_MAX = 3.4028234663852886e38
_RANGES = {
    'integer': (-(2**31), 2**31 - 1),
    'long': (-(2**63), 2**63 - 1),
    'float': (-_FLOAT_MAX, _FLOAT_MAX),
}


@cache
def _pattern(expr):
    # The model's patterns are Java regexes matched against the whole value (Java's
    # Pattern.matches); the ones the models use read the same in Python.
    return re.compile(expr)


def check(shape, value):
    """Raise BadRequestException describing every violation in ``value`` (already typed)."""
    problems = []
    _walk(shape, value, shape.name, problems, top=True)
    if problems:
        count = len(problems)
        noun = 'error' if count == 1 else 'errors'
        raise BadRequestException(f'{count} validation {noun} detected: ' + '; '.join(problems))


def _walk(shape, value, where, problems, top=False):
    if not top:
        if value is None:
            return
        expected = _TYPES.get(shape.type_name)
        if expected and (
            not isinstance(value, expected)
            or (shape.type_name not in ('boolean',) and isinstance(value, bool))
        ):
            problems.append(f"Value at '{where}' must be of type {shape.type_name}")
            return
        _limits(shape, value, where, problems)
    if shape.type_name == 'structure':
        for name in shape.required_members:
            if value.get(name) is None:
                problems.append(
                    f"Value null at '{_join(where, name, top)}' failed to satisfy "
                    f'constraint: Member must not be null'
                )
        for name, member in shape.members.items():
            if name in value:
                _walk(member, value[name], _join(where, name, top), problems)
    elif shape.type_name == 'list':
        for i, item in enumerate(value):
            _element(shape.member, item, f'{where}.{i + 1}.member', problems)
    elif shape.type_name == 'map':
        for key, item in value.items():
            _walk(shape.key, key, f'{where}.{key}.key', problems)
            _element(shape.value, item, f'{where}.{key}.value', problems)


def _element(shape, value, where, problems):
    # A member may be absent (null), an element of a list or a value of a map may not.
    if value is None:
        problems.append(
            f"Value null at '{where}' failed to satisfy constraint: Member must not be null"
        )
    else:
        _walk(shape, value, where, problems)


def _join(where, name, top):
    # AWS names top-level members on their own ('name'), nested ones with a path.
    return name[0].lower() + name[1:] if top else f'{where}.{name[0].lower() + name[1:]}'


def _limits(shape, value, where, problems):
    meta = shape.metadata
    if isinstance(value, float) and not math.isfinite(value):
        shown = 'NaN' if math.isnan(value) else ('Infinity' if value > 0 else '-Infinity')
        problems.append(
            f"Value '{shown}' at '{where}' failed to satisfy constraint: Member "
            f'must be a finite number'
        )
        return
    if shape.type_name in _RANGES:
        low, high = _RANGES[shape.type_name]
        meta = {
            'min': max(meta.get('min', low), low),
            'max': min(meta.get('max', high), high),
            **{k: v for k, v in meta.items() if k not in ('min', 'max')},
        }
    sized = shape.type_name in ('string', 'blob', 'list', 'map')
    measure = len(value) if sized else value
    what = 'length' if sized else 'value'
    shown = '' if sized and shape.type_name != 'string' else f"Value '{value}' "
    if 'min' in meta and measure < meta['min']:
        problems.append(
            f"{shown}at '{where}' failed to satisfy constraint: Member must have "
            f'{what} greater than or equal to {meta["min"]}'
        )
    if 'max' in meta and measure > meta['max']:
        problems.append(
            f"{shown}at '{where}' failed to satisfy constraint: Member must have "
            f'{what} less than or equal to {meta["max"]}'
        )
    if shape.type_name == 'string':
        if 'pattern' in meta and not _pattern(meta['pattern']).fullmatch(value):
            problems.append(
                f"Value '{value}' at '{where}' failed to satisfy constraint: Member "
                f'must satisfy regular expression pattern: {meta["pattern"]}'
            )
        if shape.enum and value not in shape.enum:
            problems.append(
                f"Value '{value}' at '{where}' failed to satisfy constraint: Member "
                f'must satisfy enum value set: [{", ".join(shape.enum)}]'
            )
