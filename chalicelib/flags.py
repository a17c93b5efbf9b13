"""AWS.AppConfig.FeatureFlags documents: validation, the SDK's delivered (flattened) format,
and Agent-style evaluation of multi-variant flags against a request context (`evaluate`).

The structure follows the published AWS.AppConfig.FeatureFlags JSON schema (draft-07), with
two of its slips made effective: the array limits (`_variants` <= 32, `enum` <= 100) are
`maxItems` here, because the published `maxLength` is ignored on arrays. Rules a schema cannot
express (references between `flags` and `values`, attribute values against their declared
constraints, `_variants` rules and defaults) are checked by a short pass over the parsed
document; variant rules are parsed by chalicelib.rules, which imports the Ion reader only then.
"""

import functools
import json
import math
import re

from chalicelib import rules

# Documented key pattern. The compiled one spells \d as [0-9] and $ as \Z: Python's \d also
# matches non-ASCII digits and $ also matches before a trailing newline, and fastjsonschema
# compiles patternProperties keys verbatim.
KEY_PATTERN = r'^[a-z][a-zA-Z\d_-]{0,63}$'
_KEY = r'^[a-z][a-zA-Z0-9_-]{0,63}\Z'
_META_VALUE_KEYS = ('enabled', '_createdAt', '_updatedAt', '_variants')
_MAX_DETAILS = 100  # keeps an error response small however broken the document is
_MAX_RULE = 16384
_DOLLAR = re.compile(r'(?<!\\)\$')


class FlagDocumentError(Exception):
    """The content is not a valid feature-flag document.

    `details` are InvalidConfigurationDetail dicts."""

    # The real service's message for this failure; the details say what is wrong.
    MESSAGE = (
        "Error invoking extension AppConfig Feature Flags Helper: Malformed 'Content' provided"
    )

    def __init__(self, details):
        super().__init__(self.MESSAGE)
        self.details = details


def _obj(properties, required=(), **extra):
    schema = {'type': 'object', 'properties': properties, 'additionalProperties': False, **extra}
    if required:
        schema['required'] = list(required)
    return schema


def _ref(name):
    return {'$ref': '#/definitions/' + name}


def _by_type(types):
    # Dispatch on "type" with if/then rather than oneOf, so an error names the offending member.
    return {
        'type': 'object',
        'required': ['type'],
        'properties': {'type': {'type': 'string', 'enum': list(types)}},
        'allOf': [
            {'if': {'required': ['type'], 'properties': {'type': {'const': t}}}, 'then': _ref(t)}
            for t in types
        ],
    }


def _schema():
    stamp = {'type': 'string'}
    description = {'type': 'string', 'maxLength': 1024}
    required = {'type': 'boolean'}
    return {
        '$schema': 'http://json-schema.org/draft-07/schema#',
        'definitions': {
            'name': {'type': 'string', 'minLength': 1, 'maxLength': 64, 'pattern': '^[^\n]*$'},
            'number': _obj(
                {
                    'type': {},
                    'required': required,
                    'minimum': {'type': 'integer'},
                    'maximum': {'type': 'integer'},
                },
                required=['type'],
            ),
            'string': _obj(
                {
                    'type': {},
                    'required': required,
                    'pattern': {'type': 'string', 'maxLength': 1024},
                    'enum': {
                        'type': 'array',
                        'maxItems': 100,
                        'items': {'type': ['string', 'integer'], 'maxLength': 1024},
                    },
                },
                required=['type'],
                **{'not': {'required': ['pattern', 'enum']}},
            ),
            'array': _obj(
                {'type': {}, 'required': required, 'elements': _by_type(['number', 'string'])},
                required=['type'],
            ),
            'boolean': _obj({'type': {}, 'required': required}, required=['type']),
            'attributeValue': {
                'type': ['string', 'number', 'boolean', 'array'],
                'maxLength': 1024,
                # An array holds strings only or numbers only; its first string decides which.
                'if': {'type': 'array', 'contains': {'type': 'string'}},
                'then': {'items': {'type': 'string', 'maxLength': 1024}},
                'else': {'items': {'type': 'number'}},
            },
            'flag': _obj(
                {
                    'name': _ref('name'),
                    'description': description,
                    '_createdAt': stamp,
                    '_updatedAt': stamp,
                    '_deprecation': _obj(
                        {
                            'status': {'enum': ['planned']},
                            'date': {'type': 'string', 'format': 'date'},
                        }
                    ),
                    'attributes': {
                        'type': 'object',
                        'maxProperties': 25,
                        'patternProperties': {
                            _KEY: _obj(
                                {
                                    'description': description,
                                    'constraints': _by_type(
                                        ['number', 'string', 'array', 'boolean']
                                    ),
                                }
                            )
                        },
                        'additionalProperties': False,
                    },
                }
            ),
            'variant': _obj(
                {
                    'name': _ref('name'),
                    'enabled': {'type': 'boolean'},
                    'rule': {'type': 'string', 'maxLength': _MAX_RULE},
                    'attributeValues': {
                        'type': 'object',
                        'maxProperties': 25,
                        'patternProperties': {_KEY: _ref('attributeValue')},
                        'additionalProperties': False,
                    },
                },
                required=['name', 'enabled'],
            ),
            'value': _obj(
                {
                    'enabled': {'type': 'boolean'},
                    '_createdAt': stamp,
                    '_updatedAt': stamp,
                    '_variants': {'type': 'array', 'maxItems': 32, 'items': _ref('variant')},
                },
                patternProperties={_KEY: _ref('attributeValue')},
            ),
        },
        **_obj(
            {
                'version': {'type': 'string', 'enum': ['1']},
                'flags': {
                    'type': 'object',
                    'patternProperties': {_KEY: _ref('flag')},
                    'additionalProperties': False,
                },
                'values': {
                    'type': 'object',
                    'patternProperties': {_KEY: _ref('value')},
                    'additionalProperties': False,
                },
            },
            required=['version'],
        ),
    }


@functools.cache
def _validator():
    # Compiled on first use: importing this module stays cheap for handlers that never see flags.
    import fastjsonschema

    return fastjsonschema.compile(_schema()), fastjsonschema.JsonSchemaValueException


def detail(kind, constraint, location, reason, value=None):
    """One entry of an InvalidConfiguration exception's Details (the value shown at most
    200 characters long)."""
    text = (
        ''
        if value is None
        else json.dumps(value, ensure_ascii=False, separators=(',', ':'), default=str)
    )
    return {
        'Constraint': constraint,
        'Location': location or '$',
        'Reason': reason,
        'Type': kind,
        'Value': text if len(text) <= 200 else text[:197] + '...',
    }


def _join(location, key):
    return f'{location}.{key}' if location else str(key)


def _schema_detail(e):
    location = e.name[len('data') :].lstrip('.')
    definition = e.definition if isinstance(e.definition, dict) else {}
    if e.rule == 'additionalProperties' and isinstance(e.value, dict):
        patterns = [re.compile(p) for p in definition.get('patternProperties', {})]
        known = definition.get('properties', {})
        key = next(
            (k for k in e.value if k not in known and not any(p.search(k) for p in patterns)), ''
        )
        reason = f"'{key}' is not an allowed key in {location or 'the document'}"
        if patterns:
            reason += f'; keys must match {KEY_PATTERN}'
        if known:
            reason += '; fixed keys are ' + ', '.join(known)
        return detail('Schema', 'additionalProperties', _join(location, key), reason, key)
    if e.rule == 'required' and isinstance(e.value, dict):
        key = next((k for k in definition.get('required', []) if k not in e.value), '')
        return detail(
            'Schema', 'required', _join(location, key), f'{_join(location, key)} is required'
        )
    # The schema has one "not" (string constraints), one "pattern" (names) and one "format" (dates).
    if e.rule == 'not':
        return detail(
            'Schema',
            'not',
            location,
            f'{location} may have a pattern or an enum, not both',
            e.value,
        )
    if e.rule == 'pattern':
        return detail(
            'Schema', 'pattern', location, f'{location} must not contain a newline', e.value
        )
    if e.rule == 'format':
        return detail(
            'Schema', 'format', location, f'{location} must be a date (YYYY-MM-DD)', e.value
        )
    return detail('Schema', e.rule, location, (location or '$') + e.message[len(e.name) :], e.value)


@functools.lru_cache(maxsize=256)
def _regex(pattern):
    # JSON Schema's $ is end of input; Python's also matches before a final newline.
    try:
        return re.compile(_DOLLAR.sub(r'\\Z', pattern))
    except re.error:  # e.g. a $ inside a character class, where \Z is not allowed
        return re.compile(pattern)


def _is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _check(constraints, value, location):
    """Problems of one attribute value against its declared constraints.

    Each is (constraint, location, reason, value)."""
    kind = constraints.get('type')

    def problem(constraint, reason):
        return [(constraint, location, f'{location} {reason}', value)]

    if kind == 'boolean' and not isinstance(value, bool):
        return problem('type', 'must be a boolean')
    if kind == 'number':
        if not _is_number(value):
            return problem('type', 'must be a number')
        low, high = constraints.get('minimum'), constraints.get('maximum')
        if _is_number(low) and value < low:
            return problem('minimum', f'must be >= {low}')
        if _is_number(high) and value > high:
            return problem('maximum', f'must be <= {high}')
    if kind == 'string':
        enum = constraints.get('enum')
        if isinstance(enum, list):
            # Enum entries may be integers; compare type and value so True never equals 1.
            if not any(type(e) is type(value) and e == value for e in enum):
                return problem('enum', 'must be one of ' + json.dumps(enum, ensure_ascii=False))
        elif not isinstance(value, str):
            return problem('type', 'must be a string')
        pattern = constraints.get('pattern')
        if isinstance(pattern, str) and isinstance(value, str):
            try:
                matched = _regex(pattern).search(value)
            except re.error as e:
                return problem(
                    'pattern',
                    f'cannot be checked: pattern {pattern!r} is not a valid regular '
                    f'expression ({e})',
                )
            if not matched:
                return problem('pattern', f'must match pattern {pattern}')
    if kind == 'array':
        if not isinstance(value, list):
            return problem('type', 'must be an array')
        elements = constraints.get('elements')
        if isinstance(elements, dict):
            return [
                p
                for i, item in enumerate(value)
                for p in _check(elements, item, f'{location}[{i}]')
            ]
    return []


def _semantic_details(doc):
    details = []

    def add(constraint, location, reason, value=None):
        details.append(detail('Constraint', constraint, location, reason, value))

    def check_values(attributes, values, location, skip=()):
        for key, value in values.items():
            if key in skip:
                continue
            where = _join(location, key)
            definition = attributes.get(key)
            if not isinstance(definition, dict):
                add(
                    'declaredAttribute',
                    where,
                    f"{where}: attribute '{key}' is not declared for this flag",
                    value,
                )
            elif isinstance(definition.get('constraints'), dict):
                for problem in _check(definition['constraints'], value, where):
                    add(*problem)

    flags = doc.get('flags') if isinstance(doc, dict) else None
    flags = flags if isinstance(flags, dict) else {}
    values = doc.get('values') if isinstance(doc, dict) else None
    for key, flag in flags.items():
        attributes = flag.get('attributes') if isinstance(flag, dict) else None
        if isinstance(attributes, dict) and 'enabled' in attributes:
            # The delivered format uses "enabled" for the flag state, so an attribute
            # cannot have it.
            add(
                'reservedAttribute',
                f'flags.{key}.attributes.enabled',
                f"flags.{key}.attributes.enabled: 'enabled' is reserved",
            )
    for key, value in values.items() if isinstance(values, dict) else ():
        if key not in flags:
            add(
                'declaredFlag',
                f'values.{key}',
                f"values.{key}: flag '{key}' is not declared in flags",
            )
            continue
        if not isinstance(value, dict):
            continue
        attributes = flags[key].get('attributes') if isinstance(flags[key], dict) else None
        attributes = attributes if isinstance(attributes, dict) else {}
        check_values(attributes, value, f'values.{key}', skip=_META_VALUE_KEYS)
        if value.get('enabled') is True:
            for name, definition in attributes.items():
                constraints = (
                    definition.get('constraints') if isinstance(definition, dict) else None
                )
                if (
                    isinstance(constraints, dict)
                    and constraints.get('required') is True
                    and name not in value
                ):
                    where = f'values.{key}.{name}'
                    add('required', where, f"{where} is required while flag '{key}' is enabled")
        variants = value.get('_variants')
        for i, variant in enumerate(variants if isinstance(variants, list) else ()):
            own = variant.get('attributeValues') if isinstance(variant, dict) else None
            if isinstance(own, dict):
                check_values(attributes, own, f'values.{key}._variants[{i}].attributeValues')
        if isinstance(variants, list):
            details.extend(validate_variants(key, variants))
    return details


def rule_of(variant):
    """A variant's rule text, or None for the default variant (no rule, or a blank one)."""
    rule = variant.get('rule')
    return rule if isinstance(rule, str) and rule.strip() else None


def validate_variants(key, variants):
    """InvalidConfiguration details for the `_variants` of flag `key` beyond what the schema
    checks: every rule parses (spec/agent.md §5), names are unique, exactly one default."""
    details = []
    where = f'values.{key}._variants'
    defaults, seen = [], {}
    for i, variant in enumerate(variants):
        if not isinstance(variant, dict):
            continue
        name = variant.get('name')
        label = f'{where}[{i}]'
        if isinstance(name, str):
            if name in seen:
                details.append(
                    detail(
                        'Constraint',
                        'uniqueVariantName',
                        f'{label}.name',
                        f"flag '{key}': variants {seen[name]} and {i} are both named '{name}'; "
                        f'variant names must be unique within a flag',
                        name,
                    )
                )
            seen.setdefault(name, i)
        rule = rule_of(variant)
        if rule is None:
            defaults.append((i, name))
            continue
        if len(rule) > _MAX_RULE:
            continue  # the schema reports the length
        try:
            rules.parse(rule)
        except rules.RuleError as error:
            details.append(
                detail(
                    'Constraint',
                    'rule',
                    f'{label}.rule',
                    f"flag '{key}', variant '{name}': the rule is not valid: {error}",
                    rule,
                )
            )
    if variants and len(defaults) != 1:
        if defaults:
            names = ', '.join(f"'{n}'" for _, n in defaults)
            reason = (
                f"flag '{key}' has {len(defaults)} variants without a rule ({names}); "
                f'exactly one variant, the default, has no rule'
            )
        else:
            reason = f"flag '{key}' has no default variant: exactly one variant must have no rule"
        details.append(detail('Constraint', 'defaultVariant', where, reason))
    return details


def _reject_constant(name):
    raise ValueError(f'{name} is not a JSON number')


def _finite_float(text):
    number = float(text)
    if math.isinf(number):
        raise ValueError(f'number {text} is out of range')
    return number


def _parse(content):
    try:
        return json.loads(
            content.decode('utf-8'), parse_constant=_reject_constant, parse_float=_finite_float
        )
    except UnicodeDecodeError as e:
        raise FlagDocumentError(
            [detail('Syntax', 'utf-8', '$', f'content is not valid UTF-8 (byte {e.start})')]
        ) from None
    except json.JSONDecodeError as e:
        reason = f'content is not valid JSON: {e.msg} at line {e.lineno} column {e.colno}'
    except ValueError as e:
        reason = f'content is not valid JSON: {e}'
    except RecursionError:
        reason = 'content is not valid JSON: nested too deeply'
    raise FlagDocumentError([detail('Syntax', 'json', '$', reason)])


def validate(content: bytes) -> None:
    """Raise FlagDocumentError unless `content` is a valid AWS.AppConfig.FeatureFlags document."""
    doc = _parse(content)
    check, schema_error = _validator()
    details = []
    try:
        check(doc)
    except schema_error as e:
        details.append(_schema_detail(e))
    details += _semantic_details(doc)
    if details:
        raise FlagDocumentError(details[:_MAX_DETAILS])


def basic_answer(value):
    """{"enabled": b, **attributes when enabled} of a basic flag's value."""
    enabled = value.get('enabled') is True
    entry = {'enabled': enabled}
    if enabled:
        entry.update((k, v) for k, v in value.items() if k not in _META_VALUE_KEYS)
    return entry


def variant_answer(variant):
    """{"_variant": name, "enabled": b, **attributeValues when enabled} of one variant."""
    enabled = variant.get('enabled') is True
    entry = {'_variant': variant.get('name'), 'enabled': enabled}
    if enabled:
        entry.update(variant.get('attributeValues') or {})
    return entry


def default_variant(variants):
    """The variant without a rule (the last one, should a document hold several), or None."""
    found = None
    for variant in variants:
        if isinstance(variant, dict) and rule_of(variant) is None:
            found = variant
    return found


def flatten(content: bytes) -> bytes:
    """The delivered format for SDK clients (GetLatestConfiguration) of a validated document:
    {flag: {"enabled": bool, **attributes if enabled}}.

    Rules need a caller's context, which SDK clients do not send: a multi-variant flag delivers
    its default variant's `enabled` and attribute values, without `_variant` ("SDK calls don't
    retrieve variant data").
    """
    doc = json.loads(content)
    values = doc.get('values') or {}
    delivered = {}
    for key in doc.get('flags') or {}:
        value = values.get(key) or {}
        variants = value.get('_variants')
        default = default_variant(variants) if variants else None
        if default is not None:
            delivered[key] = {k: v for k, v in variant_answer(default).items() if k != '_variant'}
        else:
            delivered[key] = basic_answer(value)
    return json.dumps(delivered, separators=(',', ':'), ensure_ascii=False).encode('utf-8')


def evaluate(document: dict, context, entity_id=None, keys=None) -> dict:
    """The Agent's answer for a stored feature-flag document: {flag_key: answer}.

    A basic flag answers {"enabled", **attributes when enabled}. A multi-variant flag tries its
    variants in order; the first whose rule is true for `context` (str -> str, plus `entityId`
    when `entity_id` is given) wins, else the default variant; the answer is {"_variant": name,
    "enabled": the variant's enabled, **its attributeValues when enabled} (spec/agent.md §4-5).
    A rule that does not parse counts as false. `keys` picks flags, in that order; an unknown
    key raises KeyError. `document` must be valid (flags.validate). Each rule text is compiled
    once (a bounded map from text to its test), so a call costs the tests it runs.
    """
    declared = document.get('flags') or {}
    values = document.get('values') or {}
    if keys is None:
        keys = list(declared)
    else:
        for key in keys:
            if key not in declared:
                raise KeyError(key)
    if entity_id is not None:
        context = {**context, 'entityId': entity_id}
    answers = {}
    for key in keys:
        value = values.get(key) or {}
        variants = value.get('_variants')
        if not variants:
            answers[key] = basic_answer(value)
            continue
        chosen = default = None
        for variant in variants:
            text = variant.get('rule')
            test = _tests.get(text) if text else None
            if test is None:
                if rule_of(variant) is None:
                    default = variant
                    continue
                test = _compile(text)
            if test(context, key):
                chosen = variant
                break
        chosen = chosen or default
        answers[key] = variant_answer(chosen) if chosen is not None else {'enabled': False}
    return answers


_tests = {}  # rule text -> test(context, flag_key); a plain dict is the cheapest look-up
_MAX_TESTS = 4096


def _never(context, flag_key):
    return False


def _compile(text):
    try:
        test = rules.parse(text).test
    except rules.RuleError:
        test = _never  # stored before rules were checked: counts as false
    if len(_tests) >= _MAX_TESTS:
        _tests.clear()
    _tests[text] = test
    return test
