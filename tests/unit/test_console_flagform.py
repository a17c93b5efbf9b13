"""The flag editor's form holds a feature-flag document without loss, and its buttons edit it."""

import json

import pytest

from local.console import flagform

DOCUMENT = {
    'version': '1',
    'flags': {
        'checkout': {
            'name': 'Checkout',
            'description': 'new flow',
            '_createdAt': '2026-01-01',
            'attributes': {
                'limit': {
                    'constraints': {'type': 'number', 'minimum': 1, 'maximum': 10, 'required': True}
                },
                'colour': {
                    'description': 'button',
                    'constraints': {'type': 'string', 'enum': ['red', 'green']},
                },
                'tags': {
                    'constraints': {
                        'type': 'array',
                        'elements': {'type': 'string', 'pattern': '^[a-z]+$'},
                    }
                },
                'free': {},
            },
        },
        'banner': {
            'name': 'Banner',
            'attributes': {
                'text': {'constraints': {'type': 'string'}},
                'bold': {'constraints': {'type': 'boolean'}},
            },
        },
    },
    'values': {
        'checkout': {
            'enabled': True,
            'limit': 5,
            'colour': 'red',
            'tags': ['a', 'b'],
            'free': 1.5,
            '_updatedAt': '2026-01-02',
        },
        'banner': {
            '_variants': [
                {
                    'name': 'Germany',
                    'enabled': True,
                    'rule': '(eq $country "DE")',
                    'attributeValues': {'text': 'Hallo', 'bold': True},
                },
                {'name': 'Beta', 'enabled': False, 'rule': '(exists key::"beta")'},
                {'name': 'Default Variant', 'enabled': False, 'attributeValues': {'text': 'Hello'}},
            ]
        },
    },
}


def _post(flags):
    """What the browser posts for the form the template draws from ``flags``."""
    fields = {'flags': str(len(flags))}
    for i, f in enumerate(flags):
        p = f'f{i}.'
        fields.update(
            {
                p + 'key': f.key,
                p + 'name': f.name,
                p + 'description': f.description,
                p + 'meta': f.meta,
                p + 'vmeta': f.vmeta,
                p + 'default_name': f.default_name,
                p + 'attrs': str(len(f.attributes)),
                p + 'variants': str(len(f.variants)),
            }
        )
        if f.enabled:
            fields[p + 'enabled'] = 'on'
        for j, text in enumerate(f.values):
            fields[f'{p}val{j}'] = text
        for j, a in enumerate(f.attributes):
            q = f'{p}a{j}.'
            fields.update(
                {
                    q + 'key': a.key,
                    q + 'type': a.type,
                    q + 'description': a.description,
                    q + 'pattern': a.pattern,
                    q + 'enum': a.enum,
                    q + 'minimum': a.minimum,
                    q + 'maximum': a.maximum,
                }
            )
            if a.required:
                fields[q + 'required'] = 'on'
        for k, v in enumerate(f.variants):
            q = f'{p}v{k}.'
            fields.update({q + 'name': v.name, q + 'rule': v.rule})
            if v.enabled:
                fields[q + 'enabled'] = 'on'
            for j, text in enumerate(v.values):
                fields[f'{q}val{j}'] = text
    return fields


def test_a_document_survives_the_form_unchanged():
    flags = flagform.read(_post(flagform.to_form(DOCUMENT)))
    assert flagform.from_form(flags) == DOCUMENT


def test_adding_a_variant_turns_the_value_into_the_default_variant():
    flags = flagform.to_form(DOCUMENT)
    assert flagform.edit(flags, 'add-variant:0') == 'f0.v0.name'
    flags[0].variants[0].name, flags[0].variants[0].rule = 'Big', '(gt $size 3)'
    flags[0].variants[0].values[0] = '9'
    doc = flagform.from_form(flagform.read(_post(flags)))
    assert doc['values']['checkout'] == {
        '_updatedAt': '2026-01-02',
        '_variants': [
            {
                'name': 'Big',
                'enabled': False,
                'rule': '(gt $size 3)',
                'attributeValues': {'limit': 9},
            },
            {
                'name': 'Default Variant',
                'enabled': True,
                'attributeValues': {'limit': 5, 'colour': 'red', 'tags': ['a', 'b'], 'free': 1.5},
            },
        ],
    }


def test_moving_and_removing():
    flags = flagform.to_form(DOCUMENT)
    flagform.edit(flags, 'down-variant:1:0')
    assert [v.name for v in flags[1].variants] == ['Beta', 'Germany']
    flagform.edit(flags, 'up-variant:1:0')  # the first cannot move up
    assert [v.name for v in flags[1].variants] == ['Beta', 'Germany']
    flagform.edit(flags, 'remove-attr:1:0')
    assert [a.key for a in flags[1].attributes] == ['bold']
    assert flags[1].variants[1].values == ['true']
    flagform.edit(flags, 'remove-variant:1:0')
    flagform.edit(flags, 'remove-variant:1:0')
    doc = flagform.from_form(flags)
    assert doc['values']['banner'] == {'enabled': False}  # back to a basic flag
    flagform.edit(flags, 'remove-flag:0')
    flagform.edit(flags, 'add-flag')
    assert [f.key for f in flags] == ['banner', '']
    assert flagform.edit(flags, 'remove-flag:9') is None


def test_values_that_cannot_be_typed_are_named():
    flags = flagform.to_form(DOCUMENT)
    flags[0].values[0] = 'five'
    flags[1].variants[0].values[1] = 'maybe'
    with pytest.raises(flagform.FormError) as caught:
        flagform.from_form(flags)
    assert [where for where, _ in caught.value.problems] == ['f0.val0', 'f1.v0.val1']
    assert "'five' is not a number" in str(caught.value)


def test_duplicate_keys_and_damaged_metadata_are_refused():
    flags = flagform.to_form(DOCUMENT)
    flags[1].key = 'checkout'
    flags[0].meta = 'not json'
    with pytest.raises(flagform.FormError) as caught:
        flagform.from_form(flags)
    assert {where for where, _ in caught.value.problems} == {'f0.meta', 'f1.key'}


def test_a_posted_count_is_bounded():
    assert len(flagform.read({'flags': '100000000'})) == flagform.MAX_ITEMS
    assert flagform.read({'flags': 'lots'}) == []
    assert json.loads(json.dumps(flagform.from_form([]))) == {
        'version': '1',
        'flags': {},
        'values': {},
    }
