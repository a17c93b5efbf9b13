"""The variant rule language (spec/agent.md §5): every operator with the AWS user guide's
examples, type coercion of context strings, missing keys, parse errors, and split shares over
10,000 entities."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from chalicelib import rules

ROOT = Path(__file__).resolve().parents[2]


def holds(text, context=None, flag=''):
    return rules.parse(text).evaluate(context or {}, flag)


# (rule, context where it is true, context where it is false): the examples of the user guide's
# "Defining rules for multi-variant feature flags" operator tables.
GUIDE = [
    ('(eq $state "Virginia")', {'state': 'Virginia'}, {'state': 'Maryland'}),
    ('(gt $age 65)', {'age': '66'}, {'age': '65'}),
    ('(gte $age 65)', {'age': '65'}, {'age': '64'}),
    ('(lt $age 65)', {'age': '64'}, {'age': '65'}),
    ('(lte $age 65)', {'age': '65'}, {'age': '66'}),
    (
        '(and (eq $state "Virginia") (gt $age 65))',
        {'state': 'Virginia', 'age': '70'},
        {'state': 'Virginia', 'age': '60'},
    ),
    (
        '(or (eq $state "Virginia") (gt $age 65))',
        {'state': 'Ohio', 'age': '70'},
        {'state': 'Ohio', 'age': '60'},
    ),
    ('(not (eq $state "Virginia"))', {'state': 'Ohio'}, {'state': 'Virginia'}),
    ('(begins_with $state "A")', {'state': 'Alabama'}, {'state': 'Texas'}),
    (
        '(ends_with $email "amazon.com")',
        {'email': 'jane@amazon.com'},
        {'email': 'jane@example.org'},
    ),
    ('(contains $promoCode "WIN")', {'promoCode': 'WINTER24'}, {'promoCode': 'SUMMER'}),
    ('(in $userId ["123", "456"])', {'userId': '456'}, {'userId': '789'}),
    ('(matches in::$greeting pattern::"h.*y")', {'greeting': 'hey'}, {'greeting': 'hello'}),
    ('(exists key::"country")', {'country': 'FR'}, {'state': 'Ohio'}),
]


@pytest.mark.parametrize('text, true_for, false_for', GUIDE, ids=[g[0] for g in GUIDE])
def test_guide_examples(text, true_for, false_for):
    assert holds(text, true_for) is True
    assert holds(text, false_for) is False


def test_split_example_and_its_bounds():
    text = '(split pct::10 by::$userId seed::"abc")'
    inside = [u for u in (f'user-{i}' for i in range(1000)) if holds(text, {'userId': u})]
    assert 60 < len(inside) < 140
    assert not holds('(split pct::0 by::$userId)', {'userId': 'u'})
    assert all(holds('(split pct::100 by::$userId)', {'userId': f'u{i}'}) for i in range(200))
    assert not holds(text, {})  # nothing to hash: false


def test_operands_of_every_documented_type():
    # String (UTF-8), integer, float, timestamp, boolean, context value.
    assert holds('(eq $s "Ḽơᶉëᶆ ȋṕšᶙṁ")', {'s': 'Ḽơᶉëᶆ ȋṕšᶙṁ'})
    assert holds('(eq $n -7)', {'n': '-7'}) and holds('(gt $n 42)', {'n': '43'})
    assert holds('(eq $f 3.14)', {'f': '3.14'}) and holds('(lt $f 1.234e-5)', {'f': '0.000001'})
    assert holds('(lt $t 2012-03-04T05:06:07-08:00)', {'t': '2012-03-04T13:06:06Z'})
    assert not holds('(lt $t 2012-03-04T05:06:07-08:00)', {'t': '2012-03-04T13:06:07Z'})
    assert holds('(eq $b true)', {'b': 'true'}) and holds('(eq $b false)', {'b': 'false'})
    assert holds('(eq $a $b)', {'a': 'x', 'b': 'x'}) and not holds(
        '(eq $a $b)', {'a': 'x', 'b': 'y'}
    )


@pytest.mark.parametrize(
    'text, context, expected',
    [
        # Numbers: the string is read as a number, so the comparison is numeric, not textual.
        ('(gt $age 65)', {'age': '100'}, True),  # "100" > "65" is false as text
        ('(eq $age 65)', {'age': '65.0'}, True),
        ('(eq $age 65)', {'age': '6.5e1'}, True),
        ('(lt $price 9.99)', {'price': '9.5'}, True),
        ('(gt $big 9007199254740992)', {'big': '9007199254740993'}, True),  # exact beyond 2^53
        ('(gt $age 65)', {'age': 'old'}, False),
        ('(gt $age 65)', {'age': ''}, False),
        ('(eq $age 65)', {'age': 'nan'}, False),
        # Strings compare as strings.
        ('(gt $name "m")', {'name': 'zed'}, True),
        ('(lt $name "m")', {'name': 'Zed'}, True),  # code-point order
        ('(eq $code "007")', {'code': '7'}, False),
        # Timestamps, with the documented month precision 2024-01.
        ('(gte $since 2024-01)', {'since': '2024-01-01'}, True),
        ('(lt $since 2024-01)', {'since': '2023-12-31T23:59:59.999Z'}, True),
        ('(gt $since 2024-01)', {'since': '2024-02'}, True),
        ('(lt $since 2024-01T)', {'since': '2023'}, True),
        ('(eq $since 2024-01-01T00:00Z)', {'since': '2024-01-01T01:00+01:00'}, True),
        ('(gt $since 2024-01)', {'since': 'next::2024-02'}, False),
        ('(gt $since 2024-01)', {'since': 'null'}, False),
        ('(gt $since 2024-01)', {'since': '2024-13'}, False),
        # Booleans.
        ('(eq $beta true)', {'beta': 'TRUE'}, True),
        ('(eq $beta true)', {'beta': 'yes'}, False),
        # A constant on the left reads the same.
        ('(lt 65 $age)', {'age': '66'}, True),
        ('(gte 65 $age)', {'age': '66'}, False),
        # in: each list element reads the context value as its own type.
        ('(in $tier [1, 2, "gold"])', {'tier': '2.0'}, True),
        ('(in $tier [1, 2, "gold"])', {'tier': 'gold'}, True),
        ('(in $tier [1, 2, "gold"])', {'tier': 'Gold'}, False),
        ('(in $day [2024-01-01])', {'day': '2024-01-01T00:00:00Z'}, True),
    ],
)
def test_type_coercion(text, context, expected):
    assert holds(text, context) is expected


@pytest.mark.parametrize(
    'text',
    [
        '(eq $state "Virginia")',
        '(gt $age 65)',
        '(begins_with $state "A")',
        '(ends_with $e "x")',
        '(contains $p "WIN")',
        '(in $u ["1"])',
        '(matches in::$g pattern::".*")',
        '(exists key::"country")',
        '(split pct::100 by::$u)',
        '(eq $a $b)',
        '(and (exists key::"x") (eq $y "1"))',
    ],
)
def test_missing_context_keys_make_the_test_false(text):
    assert holds(text, {'b': 'x', 'x': '1'}) is False


def test_missing_key_under_not_is_true_and_falls_through_otherwise():
    # The comparison is false, so its negation holds (the guide's not example without state).
    assert holds('(not (eq $state "Virginia"))', {}) is True
    assert holds('(or (eq $state "Virginia") (gt $age 65))', {'age': '70'}) is True


def test_entity_id_and_nested_logic():
    text = '(and (exists key::"entityId") (or (in $entityId ["a", "b"]) (not (lt $n 3))))'
    assert holds(text, {'entityId': 'a'})
    assert holds(text, {'entityId': 'z', 'n': '3'})
    assert not holds(text, {'entityId': 'z', 'n': '2'})
    assert not holds(text, {'n': '9'})
    assert holds('(and true (eq $a "1"))', {'a': '1'})


def test_matches_is_a_search_and_anchors_work():
    assert holds('(matches in::$g pattern::"ell")', {'g': 'hello'})
    assert not holds('(matches in::$g pattern::"^ell")', {'g': 'hello'})
    assert holds('(matches pattern::"^h.*o$" in::$g)', {'g': 'hello'})  # any order


def test_comments_strings_and_whitespace_are_ion_text():
    assert holds('( eq\n  $s  "2024-01" ) // the month as a string', {'s': '2024-01'})
    assert holds("(eq $s '''multi''')", {'s': 'multi'})
    assert holds('(eq $s "a \\"quoted\\" word")', {'s': 'a "quoted" word'})


@pytest.mark.parametrize(
    'text, words',
    [
        ('', 'empty'),
        ('   ', 'empty'),
        ('eq', 's-expression'),
        ('"abc"', 's-expression'),
        ('(eq $a 1) (eq $b 2)', '2 values'),
        ('(eq $a 1', 'never closed'),
        ('(eq $a 1))', "unexpected ')'"),
        ('(eq $a "x)', 'not terminated'),
        ('()', 'empty'),
        ('(foo $a 1)', "unknown operator 'foo'"),
        ('("eq" $a 1)', 'starts with an operator'),
        ('(eq $a)', 'exactly 2 operands, got 1'),
        ('(eq $a 1 2)', 'exactly 2 operands, got 3'),
        ('(gt $a)', 'exactly 2'),
        ('(begins_with $a)', 'exactly 2'),
        ('(not)', 'exactly 1 operand'),
        ('(not (eq $a 1) (eq $b 2))', 'exactly 1 operand'),
        ('(and (eq $a 1))', 'at least 2'),
        ('(or)', 'at least 2'),
        ('(and (eq $a 1) "x")', 'expected an s-expression'),
        ('(eq state "Virginia")', "unknown symbol 'state'"),
        ('(eq $a null)', 'null is not a valid operand'),
        ('(eq $a null.string)', 'null is not a valid operand'),
        ('(in $a ["x", null])', 'null is not a valid operand'),
        ('(eq $a {b: 1})', 'struct is not a valid operand'),
        ('(eq $a nan)', 'nan'),
        ('(eq $a (eq $b 1))', 'cannot be an operand'),
        ('(eq $a [1])', 'only as the second operand of in'),
        ('(gt $a true)', 'numbers, strings or timestamps'),
        ('(begins_with $a 1)', 'works on strings'),
        ('(in $a "x")', 'list of constants'),
        ('(in $a [$b])', 'must be a constant'),
        ('(eq pct::$a 1)', 'positional'),
        ('(matches $a "x")', 'named operands'),
        ('(matches in::$a)', 'needs pattern::'),
        ('(matches in::$a pattern::"(")', 'not a valid regular expression'),
        ('(matches in::$a pattern::5)', 'pattern:: must be a string'),
        ('(exists key::$country)', 'must be a string'),
        ('(exists key::"$country")', 'without $'),
        ('(exists)', 'needs key::'),
        ('(exists name::"x")', 'named operands key::'),
        ('(split by::$u)', 'needs pct::'),
        ('(split pct::10)', 'needs by::'),
        ('(split pct::101 by::$u)', 'from 0 to 100'),
        ('(split pct::-1 by::$u)', 'from 0 to 100'),
        ('(split pct::"10" by::$u)', 'must be a number'),
        ('(split pct::10 by::"u")', 'must be a context value'),
        ('(split pct::10 by::$u seed::7)', 'seed:: must be a string'),
        ('(split pct::10 by::$u pct::20)', 'given twice'),
        ('(split pct::10 by::$u weight::2)', 'weight::'),
    ],
)
def test_parse_errors_say_what_is_wrong(text, words):
    with pytest.raises(rules.RuleError) as caught:
        rules.parse(text)
    assert words in str(caught.value)
    with pytest.raises(rules.RuleError):  # a cached failure raises again
        rules.parse(text)


def test_parse_is_cached_and_imports_ion_only_when_parsing():
    assert rules.parse('(eq $a "cached")') is rules.parse('(eq $a "cached")')
    code = (
        'import sys; import app; from chalicelib import rules, flags, flags_ion; '
        'from chalicelib.ops import data_plane; '
        'assert "amazon.ion" not in sys.modules, "imported at start-up"; '
        'rules.parse("(eq $a 1)"); assert "amazon.ion" in sys.modules'
    )
    env = {**os.environ, 'AWS_DEFAULT_REGION': 'us-east-1'}
    subprocess.run([sys.executable, '-c', code], cwd=ROOT, env=env, check=True)


# --- split shares over 10,000 entities -------------------------------------------------------

ENTITIES = [f'entity-{i:05d}' for i in range(10_000)]


def shares(variant_rules, flag='checkout'):
    """Percent of ENTITIES that land on each variant, tried in order; the last is the default."""
    parsed = [rules.parse(text) for text in variant_rules]
    counts = [0] * (len(parsed) + 1)
    for entity in ENTITIES:
        context = {'userId': entity}
        chosen = next(
            (i for i, rule in enumerate(parsed) if rule.evaluate(context, flag)), len(parsed)
        )
        counts[chosen] += 1
    return [100 * c / len(ENTITIES) for c in counts]


def close(actual, expected, within=1.0):
    return all(abs(a - e) <= within for a, e in zip(actual, expected, strict=True))


@pytest.mark.parametrize('pct', [1, 10, 12.5, 33, 50, 90])
def test_split_share_within_one_point_of_pct(pct):
    assert close(shares([f'(split pct::{pct} by::$userId seed::"s")']), [pct, 100 - pct])
    assert close(shares([f'(split pct::{pct} by::$userId)']), [pct, 100 - pct])


def test_same_seed_earlier_split_shadows_a_later_equal_one():
    got = shares(
        ['(split pct::20 by::$userId seed::"one")', '(split pct::20 by::$userId seed::"one")']
    )
    assert close(got, [20, 0, 80]) and got[1] == 0


def test_same_seed_larger_later_split_gets_the_difference():
    got = shares(
        ['(split pct::20 by::$userId seed::"one")', '(split pct::25 by::$userId seed::"one")']
    )
    assert close(got, [20, 5, 75])


def test_unseeded_splits_of_one_flag_shadow_like_one_seed():
    assert close(
        shares(['(split pct::20 by::$userId)', '(split pct::20 by::$userId)']), [20, 0, 80]
    )
    assert close(
        shares(['(split pct::20 by::$userId)', '(split pct::25 by::$userId)']), [20, 5, 75]
    )


def test_different_seeds_are_independent():
    got = shares(
        [
            '(split pct::20 by::$userId seed::"seed_one")',
            '(split pct::25 by::$userId seed::"seed_two")',
        ]
    )
    assert close(got, [20, 20, 60])


def test_seeded_split_is_the_same_in_every_flag_and_unseeded_differs_per_flag():
    seeded = rules.parse('(split pct::30 by::$userId seed::"shared")')
    local = rules.parse('(split pct::30 by::$userId)')
    sample = [{'userId': e} for e in ENTITIES[:2000]]
    assert [seeded.evaluate(c, 'a') for c in sample] == [seeded.evaluate(c, 'b') for c in sample]
    in_a = {i for i, c in enumerate(sample) if local.evaluate(c, 'a')}
    in_b = {i for i, c in enumerate(sample) if local.evaluate(c, 'b')}
    assert in_a != in_b
    # Independent per flag: about 30 % of a's entities are also in b's band.
    assert 0.24 < len(in_a & in_b) / len(in_a) < 0.36


def test_growing_pct_only_adds_entities():
    smaller = {e for e in ENTITIES if holds('(split pct::10 by::$userId seed::"g")', {'userId': e})}
    larger = {e for e in ENTITIES if holds('(split pct::15 by::$userId seed::"g")', {'userId': e})}
    assert smaller < larger


TOKENS = [
    '(',
    ')',
    '[',
    ']',
    'eq',
    'gt',
    'and',
    'not',
    'in',
    'split',
    'exists',
    '$a',
    'pct::',
    'by::',
    'key::',
    '"x"',
    '"("',
    '1',
    'nan',
    '2024-01',
    'true',
    'null',
    '{',
    '"',
    '//',
]
VALUES = [
    '$a',
    '$b',
    '$entityId',
    '"x"',
    '"2024-01-05"',
    '1',
    '-7',
    '3.14',
    '1e3',
    '2024-01',
    '2024-01-02T03:04Z',
    'true',
    'false',
]


def random_rule(chooser, depth=0):
    """A rule from the grammar, mostly valid: every operator, random operands."""
    op = chooser.choice(rules.OPERATORS if depth < 3 else ('eq', 'gt', 'lte', 'contains'))
    value = lambda: chooser.choice(VALUES)  # noqa: E731
    if op in ('and', 'or'):
        parts = [random_rule(chooser, depth + 1) for _ in range(chooser.randint(2, 3))]
    elif op == 'not':
        parts = [random_rule(chooser, depth + 1)]
    elif op == 'in':
        parts = [value(), '[' + ', '.join(value() for _ in range(chooser.randint(0, 3))) + ']']
    elif op == 'matches':
        parts = [f'in::{value()}', chooser.choice(['pattern::"a.*"', 'pattern::"^-?[0-9]"'])]
    elif op == 'exists':
        parts = [chooser.choice(['key::"a"', 'key::"entityId"', 'key::"zz"'])]
    elif op == 'split':
        parts = [
            f'pct::{chooser.choice(["0", "12.5", "50", "100"])}',
            chooser.choice(['by::$a', 'by::$entityId']),
        ]
        parts += [chooser.choice(['', 'seed::"s"'])]
    else:
        parts = [value(), value()]
    chooser.shuffle(parts) if op in ('matches', 'split') else None
    return '(' + ' '.join([op] + parts) + ')'


def test_random_rules_parse_or_fail_cleanly_and_evaluate_to_booleans():
    import random

    chooser = random.Random(9)
    contexts = [
        {},
        {'a': '1', 'b': 'x'},
        {'a': '2024-01-05', 'b': 'true', 'entityId': 'e'},
        {'a': 'aaa', 'b': '-7', 'entityId': 'f'},
    ]
    parsed = failed = 0
    for _ in range(3000):
        words = random_rule(chooser).split(' ')
        if chooser.random() < 0.4:  # a broken variant: a token replaced, dropped or added
            words[chooser.randrange(len(words))] = chooser.choice(TOKENS + [''])
        text = ' '.join(words)
        try:
            rule = rules.parse(text)
        except rules.RuleError as error:
            assert str(error), text
            failed += 1
            continue
        parsed += 1
        for context in contexts:
            assert rule.evaluate(context, 'flag') in (True, False), text
    assert parsed > 1000 and failed > 500, (parsed, failed)
