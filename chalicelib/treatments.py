"""Running experiments as flag variants: the stored feature-flag document rewritten so that
one evaluator (flags.evaluate) and one Ion encoder (flags_ion.encode) serve treatments with no
knowledge of experiments.

``with_experiments(document, experiments)`` prepends, to each experiment's flag, one variant
per treatment, ``__c__`` for the control and ``__t1__``, ``__t2__``, ... in order, each with a
rule in the rule language (spec/agent.md §5):

    (or (in $entityId ["forced", ...])                                 ; TreatmentOverrides
        (and (exists key::"entityId")
             (not (in $entityId [every overridden entity]))
             <AudienceRule>
             (split pct::<ExposurePercentage> by::$entityId seed::"<run>:exposure")
             (split pct::<cumulative weight %> by::$entityId seed::"<run>:treatment")))

Two independent splits: the exposure split decides who takes part, so raising the exposure
only adds entities; the treatment split (same seed for every treatment, cumulative
percentages, so earlier variants shadow later ones) decides which treatment, independently of
the exposure, so an entity keeps its treatment while exposure grows. The last treatment's
split is 100 %. A flag without variants gets its deployed value as a last, rule-less variant
named ``DEPLOYED_VARIANT``, so an entity outside the experiment gets what is deployed.

``experiments`` are the specs ``spec(...)`` builds from a RUNNING run (stored on the Delivery
item). An experiment whose flag is not in the document is skipped. Pure and cheap: a few
dicts per experiment; the input document is not modified.
"""

import json

CONTROL_KEY = 'c'
DEPLOYED_VARIANT = '__deployed__'
_META = ('enabled', '_createdAt', '_updatedAt', '_variants')


def variant_name(key):
    return f'__{key}__'


def spec(run_id, flag, exposure, overrides, audience, control, treatments, arn=None):
    """What a running run contributes: ``run_id`` names the run (the splits' seeds), ``arn``
    its ARN, ``control``/``treatments`` as ExperimentDefinition stores them (Key, Weight,
    FlagValue)."""
    return {
        'Run': run_id,
        'Arn': arn,
        'Flag': flag,
        'Exposure': float(exposure),
        'Overrides': dict((overrides or {}).get('Inline') or {}),
        'Audience': audience or '',
        'Treatments': [control, *treatments],
    }


def _string(text):
    # JSON string escapes are valid Ion string escapes.
    return json.dumps(text, ensure_ascii=False)


def _list(values):
    return '[' + ', '.join(_string(v) for v in values) + ']'


def _pct(value):
    value = max(0.0, min(100.0, float(value)))
    return str(int(value)) if value == int(value) else f'{value:.6f}'.rstrip('0')


def _attributes(flag_value):
    out = {}
    for key, one in (flag_value.get('AttributeValues') or {}).items():
        for member in ('StringValue', 'NumberValue', 'BooleanValue', 'StringArray', 'NumberArray'):
            if one.get(member) is not None:
                value = one[member]
                if member == 'NumberValue' and float(value) == int(value):
                    value = int(value)
                out[key] = value
                break
    return out


def variants(experiment):
    """The experiment's variants, in order, as the stored `_variants` entries."""
    seed = experiment['Run']
    overrides = experiment['Overrides']
    treatments = experiment['Treatments']
    total = sum(float(t['Weight']) for t in treatments) or 1.0
    audience = experiment['Audience'].strip()
    out = []
    cumulative = 0.0
    for i, treatment in enumerate(treatments):
        cumulative += float(treatment['Weight'])
        share = 100.0 if i == len(treatments) - 1 else 100.0 * cumulative / total
        parts = ['(exists key::"entityId")']
        if overrides:
            parts.append(f'(not (in $entityId {_list(sorted(overrides))}))')
        if audience:
            parts.append(audience)
        parts.append(
            f'(split pct::{_pct(experiment["Exposure"])} by::$entityId '
            f'seed::{_string(seed + ":exposure")})'
        )
        parts.append(
            f'(split pct::{_pct(share)} by::$entityId seed::{_string(seed + ":treatment")})'
        )
        rule = '(and ' + ' '.join(parts) + ')'
        forced = sorted(e for e, key in overrides.items() if key == treatment['Key'])
        if forced:
            rule = f'(or (in $entityId {_list(forced)}) {rule})'
        value = treatment['FlagValue']
        variant = {
            'name': variant_name(treatment['Key']),
            'enabled': bool(value['Enabled']),
            'rule': rule,
        }
        attributes = _attributes(value)
        if attributes:
            variant['attributeValues'] = attributes
        out.append(variant)
    return out


def with_experiments(document, experiments):
    """``document`` with each experiment's variants prepended to its flag (a new dict)."""
    if not experiments:
        return document
    flags = document.get('flags') or {}
    values = dict(document.get('values') or {})
    for experiment in experiments:
        key = experiment['Flag']
        if key not in flags:
            continue
        value = dict(values.get(key) or {})
        existing = value.get('_variants')
        if not existing:
            deployed = {'name': DEPLOYED_VARIANT, 'enabled': value.get('enabled') is True}
            attributes = {k: v for k, v in value.items() if k not in _META}
            if attributes:
                deployed['attributeValues'] = attributes
            existing = [deployed]
        value['_variants'] = variants(experiment) + list(existing)
        values[key] = value
    return {**document, 'values': values}


def header(document, experiments):
    """The ``Experiment-Flags`` response header for the Ion answer (spec/agent.md §6):
    ``<flag>=<run ARN>|c=__c__,t1=__t1__;...`` for each experiment on a flag of ``document``,
    or None when there is none."""
    flags = document.get('flags') or {}
    parts = []
    for experiment in experiments or ():
        if experiment['Flag'] not in flags:
            continue
        keys = ','.join(f'{t["Key"]}={variant_name(t["Key"])}' for t in experiment['Treatments'])
        parts.append(f'{experiment["Flag"]}={experiment.get("Arn") or experiment["Run"]}|{keys}')
    return ';'.join(parts) or None
