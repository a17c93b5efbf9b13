import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest

from chalicelib import flags

ROOT = Path(__file__).resolve().parents[2]

# Shaped like the AWS user guide's examples: metadata, a deprecated flag, every constraint
# type, variants, and a declared flag without a values entry.
DOC = {
    'version': '1',
    'flags': {
        'allow_mobile_payments': {
            'name': 'Allow mobile payments',
            'description': 'Mobile checkout for the payments page',
            '_createdAt': '2024-05-01T10:00:00.000Z',
            '_updatedAt': '2024-05-02T10:00:00.000Z',
        },
        'default_payments_per_region': {
            'name': 'Default payments per region',
            'attributes': {
                'limit': {
                    'description': 'Payments per minute',
                    'constraints': {
                        'type': 'number',
                        'required': True,
                        'minimum': 1,
                        'maximum': 100,
                    },
                },
                'currency': {'constraints': {'type': 'string', 'enum': ['USD', 'EUR', 978]}},
                'regions': {
                    'constraints': {
                        'type': 'array',
                        'elements': {'type': 'string', 'pattern': '^[a-z]{2}-[a-z]+-[0-9]$'},
                    }
                },
                'retries': {
                    'constraints': {
                        'type': 'array',
                        'elements': {'type': 'number', 'minimum': 0, 'maximum': 5},
                    }
                },
                'beta': {'constraints': {'type': 'boolean'}},
            },
        },
        'dark-mode': {
            'name': 'Dark mode',
            '_deprecation': {'status': 'planned', 'date': '2030-01-31'},
            'attributes': {
                'theme': {
                    'constraints': {'type': 'string', 'pattern': '^[a-z]+$', 'required': True}
                }
            },
        },
        'newCheckout': {'name': 'New checkout'},
    },
    'values': {
        'allow_mobile_payments': {
            'enabled': False,
            '_createdAt': '2024-05-01T10:00:00.000Z',
            '_updatedAt': '2024-05-02T10:00:00.000Z',
        },
        'default_payments_per_region': {
            'enabled': True,
            'limit': 25,
            'currency': 'EUR',
            'regions': ['eu-west-1', 'us-east-1'],
            'retries': [0, 2.5],
            'beta': False,
            '_updatedAt': '2024-05-02T10:00:00.000Z',
        },
        'dark-mode': {
            'enabled': False,
            'theme': 'midnight',
            '_variants': [
                {
                    'name': 'Staff',
                    'enabled': True,
                    'rule': '(ends_with $email "@example.com")',
                    'attributeValues': {'theme': 'solar'},
                },
                {'name': 'Default Variant', 'enabled': False},
            ],
        },
    },
}

EXPECTED = (
    b'{"allow_mobile_payments":{"enabled":false},'
    b'"default_payments_per_region":{"enabled":true,"limit":25,"currency":"EUR",'
    b'"regions":["eu-west-1","us-east-1"],"retries":[0,2.5],"beta":false},'
    b'"dark-mode":{"enabled":false},"newCheckout":{"enabled":false}}'
)


def encode(doc):
    return json.dumps(doc).encode()


def details_of(content):
    with pytest.raises(flags.FlagDocumentError) as caught:
        flags.validate(content)
    assert caught.value.details, 'an error must carry details'
    for detail in caught.value.details:
        assert set(detail) == {'Constraint', 'Location', 'Reason', 'Type', 'Value'}
        assert all(isinstance(v, str) for v in detail.values())
    return caught.value.details


def assert_rejected(doc, location, word=None):
    details = details_of(encode(doc) if not isinstance(doc, bytes) else doc)
    matching = [d for d in details if d['Location'] == location]
    assert matching, f'no detail at {location}: {details}'
    assert any((word or location.split('.')[-1]) in d['Reason'] for d in matching), matching
    return matching[0]


def mutated(change):
    doc = copy.deepcopy(DOC)
    change(doc)
    return doc


def test_realistic_document_validates_and_flattens_exactly():
    flags.validate(encode(DOC))
    assert flags.flatten(encode(DOC)) == EXPECTED


def test_flatten_minimal_documents():
    assert flags.flatten(b'{"version":"1"}') == b'{}'
    assert (
        flags.flatten(b'{"version":"1","flags":{"a":{}},"values":{"a":{}}}')
        == b'{"a":{"enabled":false}}'
    )
    # Non-ASCII text is delivered as UTF-8, not as \u escapes.
    doc = (
        b'{"version":"1","flags":{"a":{"attributes":{"s":{}}}},'
        b'"values":{"a":{"enabled":true,"s":"\xc3\xa9t\xc3\xa9"}}}'
    )
    flags.validate(doc)
    assert flags.flatten(doc) == '{"a":{"enabled":true,"s":"été"}}'.encode()


def test_disabled_flag_carries_no_attributes_and_enabling_adds_them():
    doc = mutated(lambda d: d['values']['default_payments_per_region'].update(enabled=False))
    delivered = json.loads(flags.flatten(encode(doc)))
    assert delivered['default_payments_per_region'] == {'enabled': False}
    doc = mutated(lambda d: d['values']['allow_mobile_payments'].update(enabled=True))
    flags.validate(encode(doc))
    assert json.loads(flags.flatten(encode(doc)))['allow_mobile_payments'] == {'enabled': True}


def test_required_attribute_may_be_missing_while_disabled():
    doc = copy.deepcopy(DOC)
    value = doc['values']['default_payments_per_region']
    value['enabled'] = False
    del value['limit']
    flags.validate(encode(doc))
    value['enabled'] = True
    assert_rejected(doc, 'values.default_payments_per_region.limit')


def test_import_does_not_compile_the_schema():
    code = (
        'import sys; from chalicelib import flags; '
        "assert 'fastjsonschema' not in sys.modules; "
        'assert flags._validator.cache_info().currsize == 0'
    )
    subprocess.run([sys.executable, '-c', code], cwd=ROOT, check=True)


@pytest.mark.parametrize(
    'content, constraint',
    [
        (b'\xff\xfe{}', 'utf-8'),
        (b'{"version": "1"', 'json'),
        (b'{"version":"1","values":{"a":{"x":NaN}}}', 'json'),
        (b'{"version":"1","x":1e999}', 'json'),
    ],
)
def test_unreadable_content(content, constraint):
    (detail,) = details_of(content)
    assert (detail['Location'], detail['Type'], detail['Constraint']) == ('$', 'Syntax', constraint)


def test_not_an_object():
    assert_rejected(b'[1]', '$', 'object')


STRUCTURAL = [
    # top level
    ('version missing', lambda d: d.pop('version'), 'version', None),
    ('version 2', lambda d: d.update(version='2'), 'version', None),
    ('version as a number', lambda d: d.update(version=1), 'version', None),
    ('unknown top-level key', lambda d: d.update(metadata={}), 'metadata', None),
    # flag definitions
    ('flag key uppercase start', lambda d: d['flags'].update(BadFlag={}), 'flags.BadFlag', None),
    ('flag key with a dot', lambda d: d['flags'].update({'a.b': {}}), 'flags.a.b', 'a.b'),
    ('flag key too long', lambda d: d['flags'].update({'f' * 65: {}}), 'flags.' + 'f' * 65, None),
    (
        'flag key trailing newline',
        lambda d: d['flags'].update({'flag\n': {}}),
        'flags.flag\n',
        'flag',
    ),
    (
        'flag key non-ASCII digit',
        lambda d: d['flags'].update({'flag\u0663': {}}),
        'flags.flag\u0663',
        None,
    ),
    (
        'name empty',
        lambda d: d['flags']['newCheckout'].update(name=''),
        'flags.newCheckout.name',
        None,
    ),
    (
        'name too long',
        lambda d: d['flags']['newCheckout'].update(name='n' * 65),
        'flags.newCheckout.name',
        '64',
    ),
    (
        'name with newline',
        lambda d: d['flags']['newCheckout'].update(name='New\ncheckout'),
        'flags.newCheckout.name',
        'newline',
    ),
    (
        'description too long',
        lambda d: d['flags']['newCheckout'].update(description='d' * 1025),
        'flags.newCheckout.description',
        '1024',
    ),
    (
        'unknown flag property',
        lambda d: d['flags']['newCheckout'].update(owner='me'),
        'flags.newCheckout.owner',
        None,
    ),
    (
        'deprecation status',
        lambda d: d['flags']['dark-mode']['_deprecation'].update(status='done'),
        'flags.dark-mode._deprecation.status',
        None,
    ),
    (
        'deprecation date',
        lambda d: d['flags']['dark-mode']['_deprecation'].update(date='2030-02-30'),
        'flags.dark-mode._deprecation.date',
        None,
    ),
    (
        'deprecation extra key',
        lambda d: d['flags']['dark-mode']['_deprecation'].update(by='me'),
        'flags.dark-mode._deprecation.by',
        None,
    ),
    # attribute definitions
    (
        '26 attributes',
        lambda d: d['flags']['newCheckout'].update(attributes={f'a{i}': {} for i in range(26)}),
        'flags.newCheckout.attributes',
        '25',
    ),
    (
        'attribute key',
        lambda d: d['flags']['newCheckout'].update(attributes={'Limit': {}}),
        'flags.newCheckout.attributes.Limit',
        None,
    ),
    (
        'unknown attribute property',
        lambda d: d['flags']['newCheckout'].update(attributes={'a': {'default': 1}}),
        'flags.newCheckout.attributes.a.default',
        None,
    ),
    (
        'constraint without type',
        lambda d: d['flags']['newCheckout'].update(
            attributes={'a': {'constraints': {'required': True}}}
        ),
        'flags.newCheckout.attributes.a.constraints.type',
        None,
    ),
    (
        'constraint type integer',
        lambda d: d['flags']['newCheckout'].update(
            attributes={'a': {'constraints': {'type': 'integer'}}}
        ),
        'flags.newCheckout.attributes.a.constraints.type',
        'boolean',
    ),
    (
        'number minimum not integer',
        lambda d: d['flags']['newCheckout'].update(
            attributes={'a': {'constraints': {'type': 'number', 'minimum': 0.5}}}
        ),
        'flags.newCheckout.attributes.a.constraints.minimum',
        'integer',
    ),
    (
        'number with pattern',
        lambda d: d['flags']['newCheckout'].update(
            attributes={'a': {'constraints': {'type': 'number', 'pattern': 'x'}}}
        ),
        'flags.newCheckout.attributes.a.constraints.pattern',
        None,
    ),
    (
        'required not boolean',
        lambda d: d['flags']['newCheckout'].update(
            attributes={'a': {'constraints': {'type': 'boolean', 'required': 'yes'}}}
        ),
        'flags.newCheckout.attributes.a.constraints.required',
        None,
    ),
    (
        'string pattern and enum',
        lambda d: d['flags']['newCheckout'].update(
            attributes={'a': {'constraints': {'type': 'string', 'pattern': 'x', 'enum': ['x']}}}
        ),
        'flags.newCheckout.attributes.a.constraints',
        'not both',
    ),
    (
        'string pattern too long',
        lambda d: d['flags']['newCheckout'].update(
            attributes={'a': {'constraints': {'type': 'string', 'pattern': 'x' * 1025}}}
        ),
        'flags.newCheckout.attributes.a.constraints.pattern',
        '1024',
    ),
    (
        'enum of 101',
        lambda d: d['flags']['newCheckout'].update(
            attributes={'a': {'constraints': {'type': 'string', 'enum': list(range(101))}}}
        ),
        'flags.newCheckout.attributes.a.constraints.enum',
        '100',
    ),
    (
        'enum of booleans',
        lambda d: d['flags']['newCheckout'].update(
            attributes={'a': {'constraints': {'type': 'string', 'enum': [True]}}}
        ),
        'flags.newCheckout.attributes.a.constraints.enum[0]',
        'string',
    ),
    (
        'array of booleans',
        lambda d: d['flags']['newCheckout'].update(
            attributes={'a': {'constraints': {'type': 'array', 'elements': {'type': 'boolean'}}}}
        ),
        'flags.newCheckout.attributes.a.constraints.elements.type',
        'number',
    ),
    (
        'boolean extra key',
        lambda d: d['flags']['newCheckout'].update(
            attributes={'a': {'constraints': {'type': 'boolean', 'enum': [True]}}}
        ),
        'flags.newCheckout.attributes.a.constraints.enum',
        None,
    ),
    # flag values
    (
        'enabled not boolean',
        lambda d: d['values']['allow_mobile_payments'].update(enabled='yes'),
        'values.allow_mobile_payments.enabled',
        'boolean',
    ),
    (
        'value key',
        lambda d: d['values']['allow_mobile_payments'].update(_owner='me'),
        'values.allow_mobile_payments._owner',
        None,
    ),
    (
        'string value too long',
        lambda d: d['values']['dark-mode'].update(theme='t' * 1025),
        'values.dark-mode.theme',
        '1024',
    ),
    (
        'object value',
        lambda d: d['values']['dark-mode'].update(theme={'x': 1}),
        'values.dark-mode.theme',
        'array',
    ),
    (
        'null value',
        lambda d: d['values']['dark-mode'].update(theme=None),
        'values.dark-mode.theme',
        'string',
    ),
    (
        'mixed array',
        lambda d: d['values']['default_payments_per_region'].update(retries=[1, '2']),
        'values.default_payments_per_region.retries[0]',
        'string',
    ),
    (
        'array of booleans value',
        lambda d: d['values']['default_payments_per_region'].update(retries=[True]),
        'values.default_payments_per_region.retries[0]',
        'number',
    ),
    (
        'array element too long',
        lambda d: d['values']['default_payments_per_region'].update(regions=['r' * 1025]),
        'values.default_payments_per_region.regions[0]',
        '1024',
    ),
    # variants
    (
        '33 variants',
        lambda d: d['values']['dark-mode'].update(
            _variants=[{'name': f'v{i}', 'enabled': True} for i in range(33)]
        ),
        'values.dark-mode._variants',
        '32',
    ),
    (
        'variant without enabled',
        lambda d: d['values']['dark-mode']['_variants'][1].pop('enabled'),
        'values.dark-mode._variants[1].enabled',
        None,
    ),
    (
        'variant without name',
        lambda d: d['values']['dark-mode']['_variants'][0].pop('name'),
        'values.dark-mode._variants[0].name',
        None,
    ),
    (
        'variant name too long',
        lambda d: d['values']['dark-mode']['_variants'][0].update(name='v' * 65),
        'values.dark-mode._variants[0].name',
        '64',
    ),
    (
        'variant rule too long',
        lambda d: d['values']['dark-mode']['_variants'][0].update(rule='r' * 16385),
        'values.dark-mode._variants[0].rule',
        '16384',
    ),
    (
        'variant extra key',
        lambda d: d['values']['dark-mode']['_variants'][0].update(weight=1),
        'values.dark-mode._variants[0].weight',
        None,
    ),
    (
        '26 variant attribute values',
        lambda d: d['values']['dark-mode']['_variants'][0].update(
            attributeValues={f'a{i}': 1 for i in range(26)}
        ),
        'values.dark-mode._variants[0].attributeValues',
        '25',
    ),
    (
        'variant attribute value type',
        lambda d: d['values']['dark-mode']['_variants'][0].update(attributeValues={'theme': {}}),
        'values.dark-mode._variants[0].attributeValues.theme',
        'string',
    ),
]


@pytest.mark.parametrize(
    'change, location, word', [c[1:] for c in STRUCTURAL], ids=[c[0] for c in STRUCTURAL]
)
def test_structural_rules(change, location, word):
    detail = assert_rejected(mutated(change), location, word)
    assert detail['Type'] == 'Schema'


SEMANTIC = [
    (
        'undeclared flag',
        lambda d: d['values'].update(ghost={'enabled': True}),
        'values.ghost',
        'ghost',
        'declaredFlag',
    ),
    (
        'values without flags',
        lambda d: d.pop('flags'),
        'values.allow_mobile_payments',
        'allow_mobile_payments',
        'declaredFlag',
    ),
    (
        'undeclared attribute',
        lambda d: d['values']['allow_mobile_payments'].update(limit=3),
        'values.allow_mobile_payments.limit',
        'limit',
        'declaredAttribute',
    ),
    (
        'reserved attribute name',
        lambda d: d['flags']['newCheckout'].update(attributes={'enabled': {}}),
        'flags.newCheckout.attributes.enabled',
        'enabled',
        'reservedAttribute',
    ),
    (
        'required while enabled',
        lambda d: d['values']['default_payments_per_region'].pop('limit'),
        'values.default_payments_per_region.limit',
        'limit',
        'required',
    ),
    (
        'number given a string',
        lambda d: d['values']['default_payments_per_region'].update(limit='25'),
        'values.default_payments_per_region.limit',
        'number',
        'type',
    ),
    (
        'number given a boolean',
        lambda d: d['values']['default_payments_per_region'].update(limit=True),
        'values.default_payments_per_region.limit',
        'number',
        'type',
    ),
    (
        'below minimum',
        lambda d: d['values']['default_payments_per_region'].update(limit=0),
        'values.default_payments_per_region.limit',
        '>= 1',
        'minimum',
    ),
    (
        'above maximum',
        lambda d: d['values']['default_payments_per_region'].update(limit=100.5),
        'values.default_payments_per_region.limit',
        '<= 100',
        'maximum',
    ),
    (
        'not in enum',
        lambda d: d['values']['default_payments_per_region'].update(currency='GBP'),
        'values.default_payments_per_region.currency',
        'EUR',
        'enum',
    ),
    (
        'enum integer as string',
        lambda d: d['values']['default_payments_per_region'].update(currency='978'),
        'values.default_payments_per_region.currency',
        '978',
        'enum',
    ),
    (
        'string given a number',
        lambda d: d['values']['dark-mode'].update(theme=7),
        'values.dark-mode.theme',
        'string',
        'type',
    ),
    (
        'pattern mismatch',
        lambda d: d['values']['dark-mode'].update(theme='Midnight'),
        'values.dark-mode.theme',
        '^[a-z]+$',
        'pattern',
    ),
    (
        'pattern $ is end of input',
        lambda d: d['values']['dark-mode'].update(theme='midnight\n'),
        'values.dark-mode.theme',
        'pattern',
        'pattern',
    ),
    (
        'array given a string',
        lambda d: d['values']['default_payments_per_region'].update(regions='eu-west-1'),
        'values.default_payments_per_region.regions',
        'array',
        'type',
    ),
    (
        'array element pattern',
        lambda d: d['values']['default_payments_per_region'].update(regions=['eu-west-1', 'Mars']),
        'values.default_payments_per_region.regions[1]',
        'pattern',
        'pattern',
    ),
    (
        'array element maximum',
        lambda d: d['values']['default_payments_per_region'].update(retries=[1, 6]),
        'values.default_payments_per_region.retries[1]',
        '<= 5',
        'maximum',
    ),
    (
        'array of numbers for string elements',
        lambda d: d['values']['default_payments_per_region'].update(regions=[1]),
        'values.default_payments_per_region.regions[0]',
        'string',
        'type',
    ),
    (
        'boolean given a string',
        lambda d: d['values']['default_payments_per_region'].update(beta='true'),
        'values.default_payments_per_region.beta',
        'boolean',
        'type',
    ),
    (
        'variant value violates constraint',
        lambda d: d['values']['dark-mode']['_variants'][0].update(
            attributeValues={'theme': 'Solar'}
        ),
        'values.dark-mode._variants[0].attributeValues.theme',
        'pattern',
        'pattern',
    ),
    (
        'variant undeclared attribute',
        lambda d: d['values']['dark-mode']['_variants'][0].update(attributeValues={'font': 'mono'}),
        'values.dark-mode._variants[0].attributeValues.font',
        'font',
        'declaredAttribute',
    ),
    (
        'invalid regular expression',
        lambda d: d['flags']['dark-mode']['attributes']['theme']['constraints'].update(
            pattern='(['
        ),
        'values.dark-mode.theme',
        'regular expression',
        'pattern',
    ),
]


@pytest.mark.parametrize(
    'change, location, word, constraint', [c[1:] for c in SEMANTIC], ids=[c[0] for c in SEMANTIC]
)
def test_semantic_rules(change, location, word, constraint):
    detail = assert_rejected(mutated(change), location, word)
    assert (detail['Type'], detail['Constraint']) == ('Constraint', constraint)


def test_collects_first_structural_error_and_all_semantic_ones():
    def change(d):
        d['flags']['newCheckout']['name'] = ''
        d['values']['ghost'] = {'enabled': False}
        d['values']['default_payments_per_region'].update(limit=500, currency='GBP')

    locations = {d['Location'] for d in details_of(encode(mutated(change)))}
    assert {
        'flags.newCheckout.name',
        'values.ghost',
        'values.default_payments_per_region.limit',
        'values.default_payments_per_region.currency',
    } <= locations


def test_error_carries_the_service_message_and_a_bounded_detail_list():
    doc = mutated(lambda d: d['values'].update({f'ghost{i}': {} for i in range(300)}))
    with pytest.raises(flags.FlagDocumentError) as caught:
        flags.validate(encode(doc))
    assert (
        str(caught.value)
        == "Error invoking extension AppConfig Feature Flags Helper: Malformed 'Content' provided"
    )
    assert 1 < len(caught.value.details) <= 100


# --- multi-variant flags: validation, the SDK projection, Agent-style evaluation -------------

UI = {
    'version': '1',
    'flags': {
        'ui_refresh': {
            'name': 'UI refresh',
            'attributes': {'dark_mode_support': {'constraints': {'type': 'boolean'}}},
        },
        'banner': {'name': 'Banner', 'attributes': {'text': {'constraints': {'type': 'string'}}}},
        'off': {'name': 'Off', 'attributes': {'text': {}}},
    },
    'values': {
        'ui_refresh': {
            '_variants': [
                {
                    'name': 'QA',
                    'enabled': True,
                    'rule': '(ends_with $email "@qa.example.com")',
                    'attributeValues': {'dark_mode_support': True},
                },
                {
                    'name': 'Beta',
                    'enabled': True,
                    'rule': '(in $accountId ["123", "456"])',
                    'attributeValues': {'dark_mode_support': False},
                },
                {
                    'name': 'Ghost',
                    'enabled': False,
                    'rule': '(eq $accountId "999")',
                    'attributeValues': {'dark_mode_support': True},
                },
                {'name': 'Sticky', 'enabled': True, 'rule': '(in $entityId ["e-1"])'},
                {
                    'name': 'Default Variant',
                    'enabled': False,
                    'attributeValues': {'dark_mode_support': False},
                },
            ]
        },
        'banner': {'enabled': True, 'text': 'hello'},
        'off': {'enabled': False, 'text': 'hidden'},
    },
}


def test_evaluate_tries_variants_in_order_and_falls_back_to_the_default():
    flags.validate(encode(UI))
    # No context: the default, disabled, so only _variant and enabled (the doc example).
    assert flags.evaluate(UI, {}, None) == {
        'ui_refresh': {'_variant': 'Default Variant', 'enabled': False},
        'banner': {'enabled': True, 'text': 'hello'},
        'off': {'enabled': False},
    }
    got = flags.evaluate(UI, {'email': 'a@qa.example.com', 'accountId': '123'}, None)
    assert got['ui_refresh'] == {'_variant': 'QA', 'enabled': True, 'dark_mode_support': True}
    got = flags.evaluate(UI, {'email': 'a@example.com', 'accountId': '123'}, None)
    assert got['ui_refresh'] == {'_variant': 'Beta', 'enabled': True, 'dark_mode_support': False}
    # A disabled variant is still chosen: enabled is its value, not a switch.
    got = flags.evaluate(UI, {'accountId': '999'}, None, keys=['ui_refresh'])
    assert got == {'ui_refresh': {'_variant': 'Ghost', 'enabled': False}}


def test_evaluate_makes_the_entity_id_available_to_rules():
    assert flags.evaluate(UI, {}, 'e-1', ['ui_refresh'])['ui_refresh']['_variant'] == 'Sticky'
    assert (
        flags.evaluate(UI, {}, 'e-2', ['ui_refresh'])['ui_refresh']['_variant'] == 'Default Variant'
    )
    # The Entity-Id wins over a context value of the same name.
    assert (
        flags.evaluate(UI, {'entityId': 'e-2'}, 'e-1', ['ui_refresh'])['ui_refresh']['_variant']
        == 'Sticky'
    )


def test_evaluate_picks_keys_in_order_and_rejects_unknown_ones():
    assert list(flags.evaluate(UI, {}, None, keys=['off', 'banner'])) == ['off', 'banner']
    with pytest.raises(KeyError):
        flags.evaluate(UI, {}, None, keys=['banner', 'ghost'])
    # A declared flag without values is a disabled basic flag.
    doc = {'version': '1', 'flags': {'x': {'name': 'X'}}}
    assert flags.evaluate(doc, {}, None) == {'x': {'enabled': False}}


def test_evaluate_returns_fresh_answers_and_skips_a_rule_that_does_not_parse():
    doc = copy.deepcopy(UI)
    doc['values']['ui_refresh']['_variants'][0]['rule'] = '(eq $email'  # stored before checks
    got = flags.evaluate(doc, {'email': 'a@qa.example.com'}, None, ['ui_refresh'])
    assert got['ui_refresh']['_variant'] == 'Default Variant'
    got['ui_refresh']['enabled'] = True
    assert flags.evaluate(doc, {}, None, ['ui_refresh'])['ui_refresh']['enabled'] is False


def test_flatten_delivers_the_default_variant_to_sdk_clients():
    doc = copy.deepcopy(UI)
    assert json.loads(flags.flatten(encode(doc)))['ui_refresh'] == {'enabled': False}
    default = doc['values']['ui_refresh']['_variants'][-1]
    default.update(enabled=True, attributeValues={'dark_mode_support': True})
    flags.validate(encode(doc))
    delivered = json.loads(flags.flatten(encode(doc)))
    assert delivered['ui_refresh'] == {'enabled': True, 'dark_mode_support': True}
    assert delivered['banner'] == {'enabled': True, 'text': 'hello'}
    # The default may stand anywhere in the list; the SDK still gets it.
    variants = doc['values']['ui_refresh']['_variants']
    variants.insert(0, variants.pop())
    assert json.loads(flags.flatten(encode(doc)))['ui_refresh'] == {
        'enabled': True,
        'dark_mode_support': True,
    }


def variant_details(change):
    doc = copy.deepcopy(UI)
    change(doc['values']['ui_refresh']['_variants'])
    return details_of(encode(doc))


def test_a_bad_rule_names_the_flag_the_variant_and_the_problem():
    (detail,) = variant_details(lambda v: v[1].update(rule='(in $accountId "123")'))
    assert detail['Location'] == 'values.ui_refresh._variants[1].rule'
    assert detail['Type'] == 'Constraint' and detail['Constraint'] == 'rule'
    assert "'ui_refresh'" in detail['Reason'] and "'Beta'" in detail['Reason']
    assert 'list of constants' in detail['Reason']
    assert detail['Value'] == json.dumps('(in $accountId "123")')


@pytest.mark.parametrize(
    'rule, words',
    [
        ('(eq $a', 'never closed'),
        ('(equals $a 1)', "unknown operator 'equals'"),
        ('(gt $age)', 'exactly 2 operands'),
        ('(split pct::120 by::$userId)', 'from 0 to 100'),
        ('(eq $a null)', 'null'),
    ],
)
def test_each_rule_problem_is_reported(rule, words):
    (detail,) = variant_details(lambda v: v[0].update(rule=rule))
    assert words in detail['Reason'] and "'QA'" in detail['Reason']


def test_exactly_one_default_variant():
    (detail,) = variant_details(lambda v: v.pop())
    assert (detail['Location'], detail['Constraint']) == (
        'values.ui_refresh._variants',
        'defaultVariant',
    )
    assert 'no default variant' in detail['Reason']
    (detail,) = variant_details(lambda v: v[0].pop('rule'))
    assert "2 variants without a rule ('QA', 'Default Variant')" in detail['Reason']
    # A blank rule is no rule.
    (detail,) = variant_details(lambda v: v[1].update(rule='  '))
    assert "'Beta'" in detail['Reason'] and detail['Constraint'] == 'defaultVariant'


def test_variant_names_are_unique_and_all_problems_are_listed():
    def change(v):
        v[1]['name'] = 'QA'
        v[2]['rule'] = '(nope)'

    details = variant_details(change)
    assert {d['Constraint'] for d in details} == {'uniqueVariantName', 'rule'}
    unique = next(d for d in details if d['Constraint'] == 'uniqueVariantName')
    assert (
        unique['Location'] == 'values.ui_refresh._variants[1].name' and "'QA'" in unique['Reason']
    )


def test_variant_limits_are_schema_errors():
    thirty_two = [{'name': f'v{i}', 'enabled': True, 'rule': f'(eq $n "{i}")'} for i in range(31)]
    doc = copy.deepcopy(UI)
    doc['values']['ui_refresh']['_variants'] = thirty_two + [{'name': 'd', 'enabled': False}]
    flags.validate(encode(doc))
    doc['values']['ui_refresh']['_variants'].insert(
        0, {'name': 'extra', 'enabled': True, 'rule': '(eq $n 1)'}
    )
    assert_rejected(doc, 'values.ui_refresh._variants', '32')
    long_rule = '(or ' + ' '.join(f'(eq $n "{i:05d}")' for i in range(1200)) + ')'
    assert len(long_rule) > 16384
    (detail,) = variant_details(lambda v: v[0].update(rule=long_rule))
    assert (
        detail['Location'] == 'values.ui_refresh._variants[0].rule' and '16384' in detail['Reason']
    )
