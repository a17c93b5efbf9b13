"""The Ion form of a feature-flag document, as the AWS AppConfig Agent asks the data plane for
it (spec/agent.md §6), and the Accept negotiation that selects it.

``encode(document)`` writes one top-level value per flag, annotated with the flag key, in the
order of ``flags``:

- a basic flag: its retrieval-time JSON as an Ion string, ``key::"{\\"enabled\\":true,...}"``;
- a multi-variant flag: a list ``key::[name::[(rule), "{json}"], ..., "{default json}"]``:
  each variant with a rule as a list annotated with its name, holding the rule's s-expression
  and the variant's answer as JSON text; the default variant's answer last and alone.

The JSON texts are exactly what ``flags.evaluate`` answers, so an Agent that evaluates the rules
answers as the project's own evaluator does. The encoder knows nothing of experiments: a
document whose variants were rewritten for running experiments encodes the same way.

Binary Ion (with a local symbol table) is written, as AWS sends binary Ion; any Ion reader
reads it, and text readers are no help to the Agent anyway. AWS's responses import shared
symbol tables (``ops``, ``anns``) whose contents are not published; a local symbol table says
the same thing in a self-contained way.

Cost: ``amazon.ion`` (about 30 ms to import) is imported by the first ``encode``, never at app
start. Failure mode: a variant whose rule does not parse (stored before rules were checked) is
left out, as ``flags.evaluate`` counts it false.
"""

import json

from chalicelib import flags, rules

MEDIA_TYPE = 'application/ion'
FLAGS_TYPE = 'AWS.AppConfig.FeatureFlags'
CONTENT_TYPE = f'{MEDIA_TYPE};type={FLAGS_TYPE}'


def has_variants(document):
    """True when at least one flag of the document has variants (AWS answers Ion only then)."""
    values = document.get('values') or {}
    return any(isinstance(v, dict) and v.get('_variants') for v in values.values())


def _json(answer):
    return json.dumps(answer, separators=(',', ':'), ensure_ascii=False)


def encode(document: dict) -> bytes:
    """Binary Ion of the stored feature-flag document ``document`` (the layout above)."""
    # reason: amazon.ion loads only when a client asks for Ion.
    from amazon.ion import simpleion
    from amazon.ion.core import IonType
    from amazon.ion.simple_types import IonPyList, IonPyText

    values = document.get('values') or {}
    out = []
    for key in document.get('flags') or {}:
        value = values.get(key) or {}
        variants = value.get('_variants')
        if not variants:
            out.append(
                IonPyText.from_value(
                    IonType.STRING, _json(flags.basic_answer(value)), annotations=(key,)
                )
            )
            continue
        entries = []
        for variant in variants:
            text = flags.rule_of(variant) if isinstance(variant, dict) else None
            if text is None:
                continue
            try:
                rule = rules.parse(text)
            except rules.RuleError:
                continue
            entries.append(
                IonPyList.from_value(
                    IonType.LIST,
                    [rule.ion, _json(flags.variant_answer(variant))],
                    annotations=(str(variant.get('name')),),
                )
            )
        default = flags.default_variant(variants)
        entries.append(
            _json(flags.variant_answer(default))
            if default is not None
            else _json({'enabled': False})
        )
        out.append(IonPyList.from_value(IonType.LIST, entries, annotations=(key,)))
    return simpleion.dumps(out, binary=True, sequence_as_stream=True)


def accepts(header):
    """True when an Accept header asks for the Ion feature-flag type with a q above 0 and
    above any explicit JSON range's (the Agent sends
    ``application/ion;type=AWS.AppConfig.FeatureFlags;q=1.0,*/*;q=0.1``). Wildcards alone
    never select Ion: SDK clients, which send none or ``*/*``, keep JSON."""
    if not header or MEDIA_TYPE not in header.lower():
        return False
    ion = json_q = 0.0
    for media_range in header.split(','):
        kind, *params = (part.strip() for part in media_range.split(';'))
        kind = kind.lower()
        q, flavour = 1.0, None
        for param in params:
            name, _, raw = param.partition('=')
            name, raw = name.strip().lower(), raw.strip().strip('"')
            if name == 'q':
                try:
                    q = float(raw)
                except ValueError:
                    q = 0.0
            elif name == 'type':
                flavour = raw
        if kind == MEDIA_TYPE and flavour == FLAGS_TYPE:
            ion = max(ion, q)
        elif kind in ('application/json', 'application/*'):
            json_q = max(json_q, q)
    return ion > 0 and ion >= json_q
