"""Variant rules of multi-variant feature flags: parse once, evaluate against a request context.

A rule is one Amazon Ion text s-expression, such as ``(and (eq $state "Virginia") (gt $age 65))``
(spec/agent.md §5.1-5.2). ``parse(text)`` checks it completely (operators, arity, operand types,
regular expressions) and compiles it into nested closures; ``Rule.evaluate(context)`` then costs
a few dictionary look-ups and comparisons, and never raises.

Invariant: a rule that parses evaluates to a bool for every context of strings (str -> str);
a comparison reads a context string as the type of the constant it is compared with (number,
timestamp, boolean, string). A missing key, or a string that does not read as that type, makes
the comparison false (and ``not`` of it true, as in the AWS user guide's ``not`` example).

Cost: the Ion reader (``amazon.ion``, about 30 ms to import) is imported by the first parse,
never by evaluation. Parsed rules, and parse failures, are cached by text (4,096 entries), so
a flag document evaluated many times parses each rule once.

Failure mode: ``parse`` raises ``RuleError`` whose message says what is wrong and where.

``split`` buckets: the first 8 bytes of SHA-256 over a salt, a NUL and the ``by`` value,
modulo 10,000; true when the bucket is below ``pct`` × 100. The salt is ``seed:`` + the seed,
so splits with the same seed agree across flags, profiles and accounts; without a seed it is
``flag:`` + the flag key passed to ``evaluate`` ("locally consistent"). Hence an earlier split
shadows a later one of the same seed (20 then 20 gives 20 / 0 / 80 %), while different seeds
are independent (20 then 25 gives 20 / 20 / 60 %). Assignment is not byte-identical with AWS.
"""

import functools
import hashlib
import math
import operator
import re
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation

BUCKETS = 10_000
_CACHE_SIZE = 4096

_COMPARISONS = {
    'eq': operator.eq,
    'gt': operator.gt,
    'gte': operator.ge,
    'lt': operator.lt,
    'lte': operator.le,
}
_FLIPPED = {'eq': 'eq', 'gt': 'lt', 'gte': 'lte', 'lt': 'gt', 'lte': 'gte'}
_STRING_TESTS = {
    'begins_with': str.startswith,
    'ends_with': str.endswith,
    'contains': lambda a, b: b in a,
}
_NAMED = {'matches': ('in', 'pattern'), 'exists': ('key',), 'split': ('pct', 'by', 'seed')}
OPERATORS = (
    tuple(_COMPARISONS) + ('and', 'or', 'not') + tuple(_STRING_TESTS) + ('in',) + tuple(_NAMED)
)

_IDENT = re.compile(r'[A-Za-z_][A-Za-z0-9_]*\Z')
_NUMBER = re.compile(r'[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\Z')
_INTEGER = re.compile(r'[+-]?[0-9]+\Z')
# W3C date-time: 2024, 2024-01, 2024-01-02, then Thh:mm[:ss[.fff]] with Z or ±hh:mm. A trailing
# T after a date is Ion's spelling of the same precision.
_TIMESTAMP = re.compile(
    r'(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?'
    r'(Z|[+-]\d{2}:\d{2})|T)?|T)?|T)?\Z'
)
# Ion text needs 2024-01T for month precision; the AWS docs write 2024-01. Strings, quoted
# symbols and comments are matched first so that their contents are left alone.
_LEXEME = re.compile(
    r"""'{3}.*?'{3}|"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|//[^\n]*|/\*.*?\*/"""
    r"""|(?<![\w$.:+-])(\d{4}-\d{2})(?![\w.:+-])""",
    re.S,
)
_QUOTED = re.compile(
    r"""'{3}.*?'{3}|"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|//[^\n]*"""
    r"""|/\*.*?\*/""",
    re.S,
)
_PAIRS = {')': '(', ']': '[', '}': '{'}


class RuleError(ValueError):
    """The text is not a valid variant rule; the message says what is wrong."""


class Rule:
    """A parsed rule. ``evaluate(context, flag_key='')`` -> bool; ``ion`` is the parsed Ion
    s-expression (what the Ion encoder embeds); ``text`` the source."""

    __slots__ = ('text', 'ion', 'test')

    def __init__(self, text, ion, test):
        self.text = text
        self.ion = ion
        self.test = test  # test(context, flag_key) -> bool: evaluate without a method call

    def evaluate(self, context, flag_key=''):
        """True when the rule holds for ``context`` (str -> str; ``entityId`` included when an
        Entity-Id was sent). ``flag_key`` salts the splits that name no seed."""
        return self.test(context, flag_key)

    def __repr__(self):
        return f'Rule({self.text!r})'


def parse(text):
    """The Rule for ``text``; RuleError when it is not a valid rule. Cached by text."""
    result = _parse_cached(text)
    if isinstance(result, RuleError):
        raise RuleError(str(result))
    return result


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _parse_cached(text):
    try:
        return _parse(text)
    except RuleError as error:
        return error


def _parse(text):
    if not isinstance(text, str):
        raise RuleError('a rule must be a string')
    if not text.strip():
        raise RuleError('the rule is empty')
    values = _read_ion(text)
    if len(values) != 1:
        raise RuleError(
            f'a rule is one s-expression, such as (eq $country "FR"); '
            f'this text holds {len(values)} values'
        )
    (value,) = values
    if _kind(value) != 'sexp':
        raise RuleError('a rule is an s-expression in parentheses, such as (eq $country "FR")')
    return Rule(text, value, _expression(value))


def _read_ion(text):
    from amazon.ion import simpleion  # reason: amazon.ion stays out of start-up

    source = _LEXEME.sub(lambda m: m.group(1) + 'T' if m.group(1) else m.group(0), text)
    try:
        return list(simpleion.loads(source, single_value=False))
    except Exception as error:  # noqa: BLE001 - the Ion reader raises several kinds
        raise RuleError(_syntax_problem(source, error)) from None


def _syntax_problem(source, error):
    """A readable reason for a text the Ion reader refused (its own codes name no position)."""
    code = str(error).strip() or type(error).__name__
    bare = _QUOTED.sub(lambda m: ' ' * len(m.group(0)), source)
    if '"' in bare or "'" in bare:
        return 'the rule is not valid Ion text: a string or quoted symbol is not terminated'
    open_brackets = []
    for m in re.finditer(r'[()\[\]{}]', bare):
        token = m.group(0)
        if token in '([{':
            open_brackets.append(token)
        elif not open_brackets or open_brackets.pop() != _PAIRS[token]:
            return (
                f"the rule is not valid Ion text: unexpected '{token}' at character {m.start() + 1}"
            )
    if open_brackets:
        return f"the rule is not valid Ion text: '{open_brackets[-1]}' is never closed"
    return f'the rule is not valid Ion text ({code})'


# --- reading Ion values ---------------------------------------------------------------------


def _kind(value):
    from amazon.ion.core import IonType  # reason: as in _read_ion
    from amazon.ion.simple_types import IonPyNull

    if isinstance(value, IonPyNull) or value is None:
        return 'null'
    return {
        IonType.SEXP: 'sexp',
        IonType.LIST: 'list',
        IonType.SYMBOL: 'symbol',
        IonType.STRING: 'string',
        IonType.BOOL: 'bool',
        IonType.INT: 'number',
        IonType.DECIMAL: 'number',
        IonType.FLOAT: 'number',
        IonType.TIMESTAMP: 'timestamp',
    }.get(getattr(value, 'ion_type', None), 'other')


def _annotations(value):
    return [a.text for a in getattr(value, 'ion_annotations', ()) or ()]


def _describe(value):
    kind = _kind(value)
    if kind == 'symbol':
        return f'symbol {value.text}'
    if kind == 'sexp':
        return 'an s-expression'
    if kind == 'other':
        return f'a {value.ion_type.name.lower()}'
    return kind if kind != 'null' else 'null'


def _constant(value, where):
    """(kind, python value) of an Ion constant."""
    kind = _kind(value)
    if kind == 'string':
        return kind, str(value)
    if kind == 'bool':
        return kind, bool(value)
    if kind == 'number':
        if value.ion_type.name == 'INT':
            return kind, int(value)
        if value.ion_type.name == 'DECIMAL':
            return kind, Decimal(value)
        number = float(value)
        if math.isnan(number):
            raise RuleError(f'{where}: nan is not a number a rule can compare')
        return kind, number
    if kind == 'timestamp':
        stamp = datetime(
            value.year,
            value.month,
            value.day,
            value.hour,
            value.minute,
            value.second,
            value.microsecond,
            value.tzinfo or UTC,
        )
        return kind, stamp
    if kind == 'null':
        raise RuleError(f'{where}: null is not a valid operand')
    raise RuleError(f'{where}: {_describe(value)} is not a valid operand')


def _operand(value, where):
    """('context', name) or ('constant', kind, value) for a comparison operand."""
    kind = _kind(value)
    if kind == 'symbol':
        text = value.text or ''
        if text.startswith('$') and _IDENT.match(text[1:]):
            return ('context', text[1:])
        if text.startswith('$'):
            raise RuleError(
                f'{where}: {text} is not a context value name '
                f'(a letter or _, then letters, digits or _)'
            )
        raise RuleError(
            f"{where}: unknown symbol '{text}' (a context value is written "
            f'${text}, a string "{text}")'
        )
    if kind == 'sexp':
        raise RuleError(
            f'{where}: an s-expression cannot be an operand here; use a context value or a constant'
        )
    if kind == 'list':
        raise RuleError(f'{where}: a list is allowed only as the second operand of in')
    return ('constant',) + _constant(value, where)


# --- compiling ------------------------------------------------------------------------------


class _Where:
    """Names an s-expression in a message by its Ion text, written only when a message is."""

    __slots__ = ('sexp',)

    def __init__(self, sexp):
        self.sexp = sexp

    def __format__(self, spec):
        from amazon.ion import simpleion  # reason: as in _read_ion

        text = simpleion.dumps(self.sexp, binary=False).removeprefix('$ion_1_0').strip()
        return 'in ' + (text if len(text) <= 60 else text[:57] + '...')


def _expression(sexp):
    items = list(sexp)
    here = _Where(sexp)
    if not items:
        raise RuleError(f'{here}: () is empty; it needs an operator such as eq')
    head = items[0]
    if _kind(head) != 'symbol' or _annotations(head):
        raise RuleError(
            f'{here}: an s-expression starts with an operator '
            f'({", ".join(OPERATORS)}), not {_describe(head)}'
        )
    op = head.text
    if op not in OPERATORS:
        raise RuleError(f"{here}: unknown operator '{op}' (operators: {', '.join(OPERATORS)})")
    operands = items[1:]
    if op in _NAMED:
        return _NAMED_BUILDERS[op](_named(op, operands, here), here)
    for value in operands:
        names = _annotations(value)
        if names:
            raise RuleError(f'{here}: {op} takes positional operands, not {names[0]}::')
    if op in ('and', 'or'):
        if len(operands) < 2:
            raise RuleError(f'{here}: {op} needs at least 2 operands, got {len(operands)}')
        tests = tuple(_boolean(v, here) for v in operands)
        return (_all if op == 'and' else _any)(tests)
    if len(operands) != (1 if op == 'not' else 2):
        expected = 1 if op == 'not' else 2
        raise RuleError(
            f'{here}: {op} takes exactly {expected} operand'
            f'{"s" if expected > 1 else ""}, got {len(operands)}'
        )
    if op == 'not':
        test = _boolean(operands[0], here)
        return lambda ctx, flag: not test(ctx, flag)
    if op == 'in':
        return _in(operands, here)
    left, right = (_operand(v, here) for v in operands)
    if op in _STRING_TESTS:
        return _string_test(op, left, right, here)
    return _comparison(op, left, right, here)


def _all(tests):
    if len(tests) == 2:
        a, b = tests
        return lambda ctx, flag: a(ctx, flag) and b(ctx, flag)

    def every(ctx, flag):
        for test in tests:
            if not test(ctx, flag):
                return False
        return True

    return every


def _any(tests):
    if len(tests) == 2:
        a, b = tests
        return lambda ctx, flag: a(ctx, flag) or b(ctx, flag)

    def some(ctx, flag):
        for test in tests:
            if test(ctx, flag):
                return True
        return False

    return some


def _boolean(value, where):
    kind = _kind(value)
    if kind == 'sexp':
        return _expression(value)
    if kind == 'bool' and not _annotations(value):
        constant = bool(value)
        return lambda ctx, flag: constant
    raise RuleError(
        f'{where}: expected an s-expression such as (eq $key "value"), got {_describe(value)}'
    )


def _named(op, operands, where):
    allowed = _NAMED[op]
    found = {}
    for value in operands:
        names = _annotations(value)
        if len(names) != 1 or names[0] not in allowed:
            label = f'{names[0]}::' if names else _describe(value)
            raise RuleError(
                f'{where}: {op} takes named operands '
                f'{", ".join(n + "::" for n in allowed)}; got {label}'
            )
        if names[0] in found:
            raise RuleError(f'{where}: {names[0]}:: is given twice')
        found[names[0]] = value
    return found


def _read_number(text):
    if not _NUMBER.match(text):
        return None
    if _INTEGER.match(text):
        return int(text)
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


@functools.lru_cache(maxsize=1024)
def _read_timestamp(text):
    m = _TIMESTAMP.match(text)
    if not m:
        return None
    year, month, day, hour, minute, second, fraction, offset = m.groups()
    try:
        if hour is not None:
            zone = UTC
            if offset != 'Z':
                sign = -1 if offset[0] == '-' else 1
                zone = timezone(sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[4:6])))
            micro = int(((fraction or '.0')[1:] + '000000')[:6])
            return datetime(
                int(year),
                int(month),
                int(day),
                int(hour),
                int(minute),
                int(second or 0),
                micro,
                zone,
            )
        return datetime(int(year), int(month or 1), int(day or 1), tzinfo=UTC)
    except ValueError:
        return None


def _read_bool(text):
    lowered = text.lower()
    return True if lowered == 'true' else False if lowered == 'false' else None


_READERS = {
    'string': lambda text: text,
    'number': _read_number,
    'timestamp': _read_timestamp,
    'bool': _read_bool,
}
_ORDERED = ('string', 'number', 'timestamp')


def _comparison(op, left, right, where):
    if left[0] == 'constant' and right[0] == 'context':
        op, left, right = _FLIPPED[op], right, left
    compare = _COMPARISONS[op]
    if right[0] == 'context':
        if left[0] == 'context':  # two context values: compared as strings
            a, b = left[1], right[1]

            def both(ctx, flag):
                x, y = ctx.get(a), ctx.get(b)
                return x is not None and y is not None and compare(x, y)

            return both
    _, kind, constant = right
    if op != 'eq' and kind not in _ORDERED:
        raise RuleError(f'{where}: {op} compares numbers, strings or timestamps, not a {kind}')
    if left[0] == 'constant':  # two constants: decided now
        if left[1] != kind:
            outcome = False
        else:
            outcome = bool(compare(left[2], constant))
        return lambda ctx, flag: outcome
    name, read = left[1], _READERS[kind]
    if kind == 'string':  # the common case, without conversions
        if op == 'eq':
            return lambda ctx, flag: ctx.get(name) == constant

        def text_test(ctx, flag):
            text = ctx.get(name)
            return text is not None and compare(text, constant)

        return text_test

    def test(ctx, flag):
        text = ctx.get(name)
        if text is None:
            return False
        value = read(text)
        if value is None:
            return False
        try:
            return compare(value, constant)
        except (TypeError, ArithmeticError):
            return False

    return test


def _string_test(op, left, right, where):
    for side in (left, right):
        if side[0] == 'constant' and side[1] != 'string':
            raise RuleError(f'{where}: {op} works on strings; got a {side[1]} constant')
    check = _STRING_TESTS[op]
    if left[0] == 'context' and right[0] == 'constant':  # the common case
        name, constant = left[1], right[2]

        def text_test(ctx, flag):
            text = ctx.get(name)
            return text is not None and check(text, constant)

        return text_test

    def value(side):
        if side[0] == 'context':
            name = side[1]
            return lambda ctx: ctx.get(name)
        constant = side[2]
        return lambda ctx: constant

    a, b = value(left), value(right)

    def test(ctx, flag):
        x, y = a(ctx), b(ctx)
        return x is not None and y is not None and check(x, y)

    return test


def _in(operands, where):
    subject, options = operands
    if _kind(options) != 'list' or _annotations(options):
        raise RuleError(
            f'{where}: the second operand of in is a list of constants, '
            f'such as ["123", "456"]; got {_describe(options)}'
        )
    by_kind = {}
    for i, item in enumerate(options):
        if _annotations(item):
            raise RuleError(f'{where}: list element {i + 1} has an annotation')
        if _kind(item) in ('list', 'sexp', 'symbol'):
            raise RuleError(
                f'{where}: list element {i + 1} must be a constant, not {_describe(item)}'
            )
        kind, constant = _constant(item, f'{where}, list element {i + 1}')
        by_kind.setdefault(kind, []).append(constant)
    left = _operand(subject, where)
    if left[0] == 'constant':
        outcome = any(left[2] == c for c in by_kind.get(left[1], ()))
        return lambda ctx, flag: outcome
    name = left[1]
    strings = frozenset(by_kind.pop('string', ()))
    others = [(_READERS[k], tuple(v)) for k, v in by_kind.items()]
    if not others:
        return lambda ctx, flag: ctx.get(name) in strings

    def test(ctx, flag):
        text = ctx.get(name)
        if text is None:
            return False
        if text in strings:
            return True
        for read, constants in others:
            value = read(text)
            if value is not None and any(value == c for c in constants):
                return True
        return False

    return test


def _matches(named, where):
    for key in ('in', 'pattern'):
        if key not in named:
            raise RuleError(f'{where}: matches needs {key}::')
    subject = _operand(named['in'], where)
    if subject[0] == 'constant' and subject[1] != 'string':
        raise RuleError(f'{where}: in:: must be a context value or a string')
    if _kind(named['pattern']) != 'string':
        raise RuleError(f'{where}: pattern:: must be a string (a regular expression)')
    try:
        pattern = re.compile(str(named['pattern']))
    except re.error as error:
        raise RuleError(f'{where}: pattern:: is not a valid regular expression: {error}') from None
    if subject[0] == 'constant':
        outcome = pattern.search(subject[2]) is not None
        return lambda ctx, flag: outcome
    name = subject[1]

    def test(ctx, flag):
        text = ctx.get(name)
        return text is not None and pattern.search(text) is not None

    return test


def _exists(named, where):
    key = named.get('key')
    if key is None:
        raise RuleError(f'{where}: exists needs key::"name"')
    if _kind(key) != 'string':
        raise RuleError(
            f'{where}: key:: must be a string naming the context key, '
            f'such as key::"country", not {_describe(key)}'
        )
    name = str(key)
    if name.startswith('$'):
        raise RuleError(f'{where}: key:: names the context key without $ (key::"{name[1:]}")')
    return lambda ctx, flag: ctx.get(name) is not None


def bucket(salt, value):
    """The split bucket in [0, BUCKETS) of ``value`` under ``salt`` (bytes)."""
    digest = hashlib.sha256(salt + b'\x00' + value.encode('utf-8')).digest()
    return int.from_bytes(digest[:8], 'big') % BUCKETS


def _split(named, where):
    for key in ('pct', 'by'):
        if key not in named:
            raise RuleError(f'{where}: split needs {key}::')
    pct = named['pct']
    if _kind(pct) != 'number':
        raise RuleError(f'{where}: pct:: must be a number from 0 to 100')
    _, share = _constant(pct, where)
    if not 0 <= share <= 100:
        raise RuleError(f'{where}: pct:: must be from 0 to 100, got {share}')
    by = _operand(named['by'], where)
    if by[0] != 'context':
        raise RuleError(f'{where}: by:: must be a context value, such as by::$userId')
    seed = named.get('seed')
    if seed is not None and _kind(seed) != 'string':
        raise RuleError(f'{where}: seed:: must be a string')
    threshold = float(share) * (BUCKETS // 100)
    name = by[1]
    if seed is not None:
        salt = b'seed:' + str(seed).encode('utf-8')

        def seeded(ctx, flag):
            text = ctx.get(name)
            return text is not None and bucket(salt, text) < threshold

        return seeded

    def local(ctx, flag):
        text = ctx.get(name)
        return text is not None and bucket(b'flag:' + flag.encode('utf-8'), text) < threshold

    return local


_NAMED_BUILDERS = {'matches': _matches, 'exists': _exists, 'split': _split}
