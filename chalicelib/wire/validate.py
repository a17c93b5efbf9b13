"""Checks a parsed request against every constraint its input shape declares.

Clients may switch off botocore's own validation and other SDKs check less, so the server
answers BadRequestException naming the member, in the service's wording.
"""
import re
from functools import lru_cache

from chalicelib.errors import BadRequestException

_TYPES = {
    'string': str, 'blob': (bytes, bytearray), 'boolean': bool, 'structure': dict, 'map': dict,
    'list': list, 'integer': int, 'long': int, 'float': (int, float), 'double': (int, float),
}


@lru_cache(maxsize=None)
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
        raise BadRequestException(f"{count} validation {noun} detected: " + '; '.join(problems))


def _walk(shape, value, where, problems, top=False):
    if not top:
        if value is None:
            return
        expected = _TYPES.get(shape.type_name)
        if expected and (not isinstance(value, expected) or
                         (shape.type_name not in ('boolean',) and isinstance(value, bool))):
            problems.append(f"Value at '{where}' must be of type {shape.type_name}")
            return
        _limits(shape, value, where, problems)
    if shape.type_name == 'structure':
        for name in shape.required_members:
            if value.get(name) is None:
                problems.append(f"Value null at '{_join(where, name, top)}' failed to satisfy "
                                f"constraint: Member must not be null")
        for name, member in shape.members.items():
            if name in value:
                _walk(member, value[name], _join(where, name, top), problems)
    elif shape.type_name == 'list':
        for i, item in enumerate(value):
            _walk(shape.member, item, f'{where}.{i + 1}.member', problems)
    elif shape.type_name == 'map':
        for key, item in value.items():
            _walk(shape.key, key, f'{where}.{key}.key', problems)
            _walk(shape.value, item, f'{where}.{key}.value', problems)


def _join(where, name, top):
    # AWS names top-level members on their own ('name'), nested ones with a path.
    return name[0].lower() + name[1:] if top else f'{where}.{name[0].lower() + name[1:]}'


def _limits(shape, value, where, problems):
    meta = shape.metadata
    sized = shape.type_name in ('string', 'blob', 'list', 'map')
    measure = len(value) if sized else value
    what = 'length' if sized else 'value'
    shown = '' if sized and shape.type_name != 'string' else f"Value '{value}' "
    if 'min' in meta and measure < meta['min']:
        problems.append(f"{shown}at '{where}' failed to satisfy constraint: Member must have "
                        f"{what} greater than or equal to {meta['min']}")
    if 'max' in meta and measure > meta['max']:
        problems.append(f"{shown}at '{where}' failed to satisfy constraint: Member must have "
                        f"{what} less than or equal to {meta['max']}")
    if shape.type_name == 'string':
        if 'pattern' in meta and not _pattern(meta['pattern']).fullmatch(value):
            problems.append(f"Value '{value}' at '{where}' failed to satisfy constraint: Member "
                            f"must satisfy regular expression pattern: {meta['pattern']}")
        if shape.enum and value not in shape.enum:
            problems.append(f"Value '{value}' at '{where}' failed to satisfy constraint: Member "
                            f"must satisfy enum value set: [{', '.join(shape.enum)}]")
