"""A feature-flag document as the flag editor's form, and back.

``to_form(document)`` gives the template a list of flags (attributes, default value, rule
variants); ``from_form(fields)`` rebuilds the document from the posted fields, raising
FormError for values that cannot be typed (a number that is not one). ``edit(flags, action)``
applies one editing button (add or remove a flag, an attribute or a variant, move a variant)
so the form needs no script. Keys and metadata the editor has no field for (``_createdAt``,
``_deprecation``, ...) ride along in hidden JSON fields, so an edit changes only what was
edited. Whether the document is valid is for CreateHostedConfigurationVersion to say.
Cost: linear in the fields.

Fields: ``flags`` (count); per flag i ``f{i}.key``, ``.name``, ``.description``, ``.enabled``,
``.val{j}`` (default value of attribute j), ``.default_name``, ``.meta``, ``.vmeta``,
``.attrs`` (count) and ``f{i}.a{j}.key|type|required|description|pattern|enum|minimum|
maximum``, ``.variants`` (count) and ``f{i}.v{k}.name|enabled|rule|val{j}``.
"""

import json
import re
from dataclasses import dataclass, field

TYPES = (
    ('string', 'String'),
    ('number', 'Number'),
    ('boolean', 'Boolean'),
    ('string[]', 'String array'),
    ('number[]', 'Number array'),
    ('array', 'Array'),
    ('', 'Any (no constraints)'),
)
DEFAULT_VARIANT = 'Default Variant'
_VALUE_META = ('enabled', '_variants')
_FLAG_FIELDS = ('name', 'description', 'attributes')
_INTEGER = re.compile(r'-?[0-9]+')
MAX_ITEMS = 100  # a posted count above this is refused, not looped over


class FormError(Exception):
    """Values the form cannot turn into a document; ``problems`` are (field id, message)."""

    def __init__(self, problems):
        super().__init__('; '.join(message for _, message in problems))
        self.problems = problems


@dataclass
class Attribute:
    key: str = ''
    type: str = 'string'
    required: bool = False
    description: str = ''
    pattern: str = ''
    enum: str = ''
    minimum: str = ''
    maximum: str = ''


@dataclass
class Variant:
    name: str = ''
    enabled: bool = False
    rule: str = ''
    values: list = field(default_factory=list)  # text per attribute, by attribute index


@dataclass
class Flag:
    key: str = ''
    name: str = ''
    description: str = ''
    enabled: bool = False
    values: list = field(default_factory=list)  # default value text per attribute
    attributes: list = field(default_factory=list)
    variants: list = field(default_factory=list)  # rule variants, in order; default is last
    default_name: str = DEFAULT_VARIANT
    meta: str = '{}'  # the flag definition's other keys, as JSON
    vmeta: str = '{}'  # the flag value's other keys, as JSON


# --- document -> form -----------------------------------------------------------------------


def _text(value):
    if value is None:
        return ''
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _attribute(key, definition):
    definition = definition if isinstance(definition, dict) else {}
    constraints = (
        definition.get('constraints') if isinstance(definition.get('constraints'), dict) else None
    )
    out = Attribute(key=key, description=definition.get('description') or '')
    if constraints is None:
        out.type = ''
        return out
    kind = constraints.get('type', '')
    limits = constraints
    if kind == 'array':
        elements = constraints.get('elements')
        if isinstance(elements, dict) and elements.get('type') in ('string', 'number'):
            kind, limits = elements['type'] + '[]', elements
    out.type = kind
    out.required = constraints.get('required') is True
    out.pattern = limits.get('pattern') or ''
    enum = limits.get('enum')
    if isinstance(enum, list):
        plain = all(isinstance(e, str) and ',' not in e and e == e.strip() for e in enum)
        out.enum = ', '.join(enum) if plain else json.dumps(enum, ensure_ascii=False)
    out.minimum, out.maximum = _text(limits.get('minimum')), _text(limits.get('maximum'))
    return out


def to_form(document):
    """The editor's flags for a stored document (``{}`` for a new profile)."""
    definitions = document.get('flags') or {}
    values = document.get('values') or {}
    flags = []
    for key, definition in definitions.items():
        definition = definition if isinstance(definition, dict) else {}
        value = values.get(key) if isinstance(values.get(key), dict) else {}
        attributes = [_attribute(k, d) for k, d in (definition.get('attributes') or {}).items()]
        names = [a.key for a in attributes]
        flag = Flag(
            key=key,
            name=definition.get('name') or '',
            description=definition.get('description') or '',
            attributes=attributes,
        )
        variants = value.get('_variants')
        if isinstance(variants, list) and variants:
            ruled = [v for v in variants if isinstance(v, dict) and 'rule' in v]
            default = next(
                (v for v in reversed(variants) if isinstance(v, dict) and 'rule' not in v), {}
            )
            flag.variants = [
                Variant(
                    v.get('name') or '',
                    v.get('enabled') is True,
                    v.get('rule') or '',
                    [_text((v.get('attributeValues') or {}).get(n)) for n in names],
                )
                for v in ruled
            ]
            flag.default_name = default.get('name') or DEFAULT_VARIANT
            flag.enabled = default.get('enabled') is True
            flag.values = [_text((default.get('attributeValues') or {}).get(n)) for n in names]
            rest = {k: v for k, v in value.items() if k != '_variants'}
        else:
            flag.enabled = value.get('enabled') is True
            flag.values = [_text(value.get(n)) for n in names]
            rest = {k: v for k, v in value.items() if k not in _VALUE_META and k not in names}
        flag.meta = json.dumps({k: v for k, v in definition.items() if k not in _FLAG_FIELDS})
        flag.vmeta = json.dumps(rest)
        flags.append(flag)
    return flags


# --- form -> flags --------------------------------------------------------------------------


def _count(fields, name):
    try:
        count = int(fields.get(name) or 0)
    except ValueError:
        count = 0
    return max(0, min(count, MAX_ITEMS))


def read(fields):
    """The editor's flags from posted ``fields`` (name -> last value)."""
    flags = []
    for i in range(_count(fields, 'flags')):
        p = f'f{i}.'
        attributes = [
            Attribute(
                key=fields.get(f'{p}a{j}.key', '').strip(),
                type=fields.get(f'{p}a{j}.type', ''),
                required=f'{p}a{j}.required' in fields,
                description=fields.get(f'{p}a{j}.description', ''),
                pattern=fields.get(f'{p}a{j}.pattern', ''),
                enum=fields.get(f'{p}a{j}.enum', ''),
                minimum=fields.get(f'{p}a{j}.minimum', '').strip(),
                maximum=fields.get(f'{p}a{j}.maximum', '').strip(),
            )
            for j in range(_count(fields, p + 'attrs'))
        ]
        n = len(attributes)
        variants = [
            Variant(
                fields.get(f'{p}v{k}.name', ''),
                f'{p}v{k}.enabled' in fields,
                fields.get(f'{p}v{k}.rule', ''),
                [fields.get(f'{p}v{k}.val{j}', '') for j in range(n)],
            )
            for k in range(_count(fields, p + 'variants'))
        ]
        flags.append(
            Flag(
                key=fields.get(p + 'key', '').strip(),
                name=fields.get(p + 'name', ''),
                description=fields.get(p + 'description', ''),
                enabled=p + 'enabled' in fields,
                values=[fields.get(f'{p}val{j}', '') for j in range(n)],
                attributes=attributes,
                variants=variants,
                default_name=fields.get(p + 'default_name', '') or DEFAULT_VARIANT,
                meta=fields.get(p + 'meta', '{}'),
                vmeta=fields.get(p + 'vmeta', '{}'),
            )
        )
    return flags


def edit(flags, action):
    """Apply one editor button, e.g. ``add-variant:0`` or ``up-variant:0:2``; returns the id
    of the field to focus next."""
    verb, _, where = action.partition(':')
    at = [int(x) for x in where.split(':') if x.isdigit()]
    if verb == 'add-flag':
        flags.append(Flag(name='', key=''))
        return f'f{len(flags) - 1}.key'
    if not at or at[0] >= len(flags):
        return None
    flag = flags[at[0]]
    i = at[0]
    if verb == 'remove-flag':
        del flags[i]
        return 'add-flag'
    if verb == 'add-attr':
        flag.attributes.append(Attribute())
        flag.values.append('')
        for variant in flag.variants:
            variant.values.append('')
        return f'f{i}.a{len(flag.attributes) - 1}.key'
    if verb == 'add-variant':
        flag.variants.append(Variant(values=[''] * len(flag.attributes)))
        return f'f{i}.v{len(flag.variants) - 1}.name'
    if len(at) < 2:
        return None
    j = at[1]
    if verb == 'remove-attr' and j < len(flag.attributes):
        del flag.attributes[j]
        del flag.values[j]
        for variant in flag.variants:
            del variant.values[j]
        return f'f{i}.add-attr'
    if verb == 'remove-variant' and j < len(flag.variants):
        del flag.variants[j]
        return f'f{i}.add-variant'
    if verb in ('up-variant', 'down-variant') and j < len(flag.variants):
        k = j - 1 if verb == 'up-variant' else j + 1
        if 0 <= k < len(flag.variants):
            flag.variants[j], flag.variants[k] = flag.variants[k], flag.variants[j]
            return f'f{i}.v{k}.name'
    return None


# --- flags -> document ----------------------------------------------------------------------


def _number(text, where, problems):
    try:
        return int(text) if _INTEGER.fullmatch(text) else float(text)
    except ValueError:
        problems.append((where, f'{where}: {text!r} is not a number'))
        return None


def _list(text, element, where, problems):
    text = text.strip()
    if text.startswith('['):
        try:
            items = json.loads(text)
        except ValueError:
            problems.append((where, f'{where}: {text!r} is not a JSON array'))
            return None
    else:
        items = [t.strip() for t in text.split(',')] if text else []
        if element == 'number':
            items = [_number(t, where, problems) for t in items]
    return items


def _value(attribute, text, where, problems):
    """The typed value of ``text`` for ``attribute``, or None when left empty."""
    if text.strip() == '' and attribute.type != 'string':
        return None
    if attribute.type == 'string':
        return text if text != '' else None
    if attribute.type == 'number':
        return _number(text.strip(), where, problems)
    if attribute.type == 'boolean':
        if text.strip() not in ('true', 'false'):
            problems.append((where, f'{where}: choose true or false'))
            return None
        return text.strip() == 'true'
    if attribute.type in ('string[]', 'number[]', 'array'):
        return _list(text, attribute.type[:-2], where, problems)
    try:  # no declared type: a JSON literal when it reads as one, else the text
        value = json.loads(text)
        return value if isinstance(value, (int, float, bool, list)) else text
    except ValueError:
        return text


def _constraints(attribute, where, problems):
    if attribute.type == '':
        return None
    limits = {}
    element = attribute.type[:-2] if attribute.type.endswith('[]') else attribute.type
    if element == 'string':
        if attribute.pattern:
            limits['pattern'] = attribute.pattern
        if attribute.enum.strip():
            limits['enum'] = _list(attribute.enum, 'string', where + '.enum', problems)
    if element == 'number':
        for name in ('minimum', 'maximum'):
            text = getattr(attribute, name)
            if text:
                limits[name] = _number(text, f'{where}.{name}', problems)
    constraints = {'type': 'array' if attribute.type.endswith('[]') else attribute.type}
    if attribute.type.endswith('[]'):
        constraints['elements'] = {'type': element, **limits}
    else:
        constraints.update(limits)
    if attribute.required:
        constraints['required'] = True
    return constraints


def _json(text, where, problems):
    try:
        value = json.loads(text or '{}')
    except ValueError:
        value = None
    if not isinstance(value, dict):
        problems.append((where, f'{where}: hidden metadata was damaged; reload the editor'))
        return {}
    return value


def from_form(flags):
    """The stored document for the editor's ``flags``; FormError for untypable values."""
    problems = []
    definitions, values = {}, {}
    for i, flag in enumerate(flags):
        p = f'f{i}.'
        definition = _json(flag.meta, p + 'meta', problems)
        definition['name'] = flag.name
        if flag.description:
            definition['description'] = flag.description
        if flag.attributes:
            definition['attributes'] = {}
            for j, attribute in enumerate(flag.attributes):
                entry = {}
                if attribute.description:
                    entry['description'] = attribute.description
                constraints = _constraints(attribute, f'{p}a{j}', problems)
                if constraints is not None:
                    entry['constraints'] = constraints
                definition['attributes'][attribute.key] = entry

        def attribute_values(texts, where):
            out = {}
            for j, (attribute, text) in enumerate(zip(flag.attributes, texts)):
                typed = _value(attribute, text, f'{where}{j}', problems)
                if typed is not None:
                    out[attribute.key] = typed
            return out

        value = _json(flag.vmeta, p + 'vmeta', problems)
        defaults = attribute_values(flag.values, p + 'val')
        if flag.variants:
            value['_variants'] = [
                {
                    'name': v.name,
                    'enabled': v.enabled,
                    'rule': v.rule,
                    **(
                        {'attributeValues': a}
                        if (a := attribute_values(v.values, f'{p}v{k}.val'))
                        else {}
                    ),
                }
                for k, v in enumerate(flag.variants)
            ]
            value['_variants'].append(
                {
                    'name': flag.default_name,
                    'enabled': flag.enabled,
                    **({'attributeValues': defaults} if defaults else {}),
                }
            )
        else:
            value = {
                'enabled': flag.enabled,
                **defaults,
                **{k: v for k, v in value.items() if k not in defaults and k not in _VALUE_META},
            }
        if flag.key in definitions:
            problems.append((p + 'key', f'{p}key: two flags have the key {flag.key!r}'))
        keys = [a.key for a in flag.attributes]
        for key in sorted({k for k in keys if keys.count(k) > 1}):
            problems.append(
                (p + 'attrs', f'flag {flag.key!r}: two attributes have the key {key!r}')
            )
        definitions[flag.key] = definition
        values[flag.key] = value
    if problems:
        raise FormError(problems)
    return {'version': '1', 'flags': definitions, 'values': values}
