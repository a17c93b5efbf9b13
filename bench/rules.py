"""The cost of evaluating multi-variant flags: one 32-variant flag (31 rules and the default)
through ``flags.evaluate``, as the Agent endpoint calls it, in-process (no HTTP, no DynamoDB).

    python -m bench.rules

Three contexts: the first variant matches (one rule evaluated); nothing matches, so all 31
rules run before the default wins (the worst case); the 31st matches. The rules mix every kind
the user guide shows (eq, in, begins_with, numeric gt on a context string, a timestamp, and/or,
exists, a seeded split). Each figure is the median over 31 batches of 2,000 evaluations, per
evaluation, with the rules already parsed (they are parsed once per text and cached); the
one-off parse and the Ion encoding of the document are shown beside. Goal: under 50 µs.
"""

import json
import statistics
import time

from chalicelib import flags, flags_ion, rules

BATCHES, PER_BATCH = 31, 2_000
TEMPLATES = [
    '(eq $country "C{i}")',
    '(in $userId ["u{i}a", "u{i}b", "u{i}c", "u{i}d"])',
    '(and (begins_with $email "team{i}") (gt $age {i}))',
    '(or (eq $tier "gold{i}") (lt $signup 2020-0{m}-01T00:00Z))',
    '(and (exists key::"beta{i}") (split pct::10 by::$userId seed::"s{i}"))',
]


def document():
    variants = [
        {
            'name': f'v{i:02d}',
            'enabled': True,
            'rule': TEMPLATES[i % len(TEMPLATES)].format(i=i, m=1 + i % 9),
            'attributeValues': {'level': i},
        }
        for i in range(31)
    ]
    variants.append({'name': 'Default', 'enabled': False})
    return {
        'version': '1',
        'flags': {'big': {'name': 'Big', 'attributes': {'level': {}}}},
        'values': {'big': {'_variants': variants}},
    }


def _per_call_us(fn, clock=time.perf_counter):
    samples = []
    for _ in range(BATCHES):
        start = clock()
        for _ in range(PER_BATCH):
            fn()
        samples.append((clock() - start) / PER_BATCH * 1e6)
    return statistics.median(samples)


def run():
    doc = document()
    flags.validate(json.dumps(doc).encode())
    texts = [v['rule'] for v in doc['values']['big']['_variants'] if 'rule' in v]
    rules.parse(texts[0])  # the Ion reader's import is paid once, outside the figure
    start = time.perf_counter()
    for n, text in enumerate(texts * 10):
        rules.parse(text + ' ' * (n + 1))  # a new text each time: never from the cache
    parse_us = (time.perf_counter() - start) / (len(texts) * 10) * 1e6
    base = {
        'email': 'nobody@example.com',
        'age': '1',
        'tier': 'silver',
        'signup': '2024-05-01T00:00:00Z',
    }
    cases = [
        ('first variant matches', {**base, 'country': 'C0'}, 'v00'),
        ('no rule matches (31 rules, then the default)', base, 'Default'),
        ('31st variant matches', {**base, 'country': 'C30'}, 'v30'),
    ]
    print(
        f'32-variant flag, flags.evaluate per call (median of {BATCHES} x {PER_BATCH:,}; '
        f'wall time, and CPU time of this process, which a busy machine inflates less):'
    )
    for label, context, expected in cases:
        got = flags.evaluate(doc, context, 'entity-1', ['big'])['big']['_variant']
        assert got == expected, (label, got)
        call = lambda: flags.evaluate(doc, context, 'entity-1', ['big'])  # noqa: E731
        wall, cpu = _per_call_us(call), _per_call_us(call, time.process_time)
        print(f'  {label:<48} {wall:7.1f} µs wall {cpu:7.1f} µs CPU   (goal < 50 µs)')
    print(f'  parsing one rule, uncached (once per rule text)    {parse_us:7.1f} µs')
    start = time.perf_counter()
    for _ in range(200):
        flags_ion.encode(doc)
    encode_us = (time.perf_counter() - start) / 200 * 1e6
    print(f'  Ion encoding of the document (once per deployment) {encode_us:7.1f} µs')


if __name__ == '__main__':
    run()
