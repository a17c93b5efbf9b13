"""Multi-variant feature flags through the real clients: `_variants` validated when a hosted
version is created, and the default variant's projection delivered to SDK clients."""

import json

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters

from tests.api.polling import fresh_caches, make_world, poll, start  # noqa: F401

FF = 'AWS.AppConfig.FeatureFlags'

DOC = {
    'version': '1',
    'flags': {
        'ui_refresh': {
            'name': 'UI refresh',
            'attributes': {'dark_mode_support': {'constraints': {'type': 'boolean'}}},
        },
        'limits': {
            'name': 'Limits',
            'attributes': {'per_minute': {'constraints': {'type': 'number'}}},
        },
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
                    'rule': '(split pct::20 by::$userId seed::"beta")',
                },
                {
                    'name': 'Default Variant',
                    'enabled': True,
                    'attributeValues': {'dark_mode_support': False},
                },
            ]
        },
        'limits': {'enabled': True, 'per_minute': 30},
    },
}
SDK_VIEW = {
    'ui_refresh': {'enabled': True, 'dark_mode_support': False},
    'limits': {'enabled': True, 'per_minute': 30},
}


def with_variant(index, **change):
    doc = json.loads(json.dumps(DOC))
    variant = doc['values']['ui_refresh']['_variants'][index]
    variant.update(change)
    for key in [k for k, v in change.items() if v is None]:
        del variant[key]
    return json.dumps(doc).encode()


def test_sdk_clients_get_the_default_variant(appconfig, appconfigdata):
    w = make_world(appconfig, profile_type=FF)
    w.deploy(json.dumps(DOC).encode(), label='variants-1')
    response, body = poll(appconfigdata, start(appconfigdata, w))
    assert json.loads(body) == SDK_VIEW
    assert response['ContentType'] == 'application/json'
    assert b'_variant' not in body and b'rule' not in body
    # The hosted version itself keeps the variants.
    stored = appconfig.get_hosted_configuration_version(
        ApplicationId=w.app, ConfigurationProfileId=w.profile, VersionNumber=1
    )
    assert json.loads(stored['Content'].read()) == DOC


def test_powertools_provider_reads_the_default_variant(appconfig, appconfigdata):
    w = make_world(appconfig, profile_type=FF)
    w.deploy(with_variant(2, enabled=False))
    provider = parameters.AppConfigProvider(
        environment=w.env, application=w.app, boto3_client=appconfigdata
    )
    assert provider.get(w.profile, transform='json') == {
        'ui_refresh': {'enabled': False},
        'limits': {'enabled': True, 'per_minute': 30},
    }


def _refusal(appconfig, w, content):
    with pytest.raises(appconfig.exceptions.BadRequestException) as caught:
        w.version(content)
    response = caught.value.response
    assert caught.value.response['ResponseMetadata']['HTTPStatusCode'] == 400
    assert response['Reason'] == 'InvalidConfiguration'
    return response['Details']['InvalidConfiguration']


def test_a_bad_rule_is_refused_naming_flag_variant_and_problem(appconfig):
    w = make_world(appconfig, profile_type=FF)
    (detail,) = _refusal(appconfig, w, with_variant(1, rule='(split pct::20 by::"userId")'))
    assert detail['Location'] == 'values.ui_refresh._variants[1].rule'
    assert detail['Reason'] == (
        "flag 'ui_refresh', variant 'Beta': the rule is not valid: "
        'in (split pct::20 by::"userId"): by:: must be a context value, '
        'such as by::$userId'
    )
    assert detail['Type'] == 'Constraint' and detail['Constraint'] == 'rule'
    # Nothing was stored: the next good version is number 1.
    assert w.version(json.dumps(DOC).encode()) == 1


def test_two_defaults_and_duplicate_names_are_refused(appconfig):
    w = make_world(appconfig, profile_type=FF)
    details = _refusal(appconfig, w, with_variant(1, rule=None, name='QA'))
    by_constraint = {d['Constraint']: d for d in details}
    assert set(by_constraint) == {'defaultVariant', 'uniqueVariantName'}, details
    assert (
        'exactly one variant, the default, has no rule' in by_constraint['defaultVariant']['Reason']
    )
    assert by_constraint['uniqueVariantName']['Location'] == 'values.ui_refresh._variants[1].name'


def test_too_many_variants_are_refused(appconfig):
    w = make_world(appconfig, profile_type=FF)
    doc = json.loads(json.dumps(DOC))
    doc['values']['ui_refresh']['_variants'] = [
        {'name': f'v{i}', 'enabled': True, 'rule': f'(eq $n {i})'} for i in range(32)
    ] + [{'name': 'Default', 'enabled': False}]
    details = _refusal(appconfig, w, json.dumps(doc).encode())
    assert any(
        d['Location'] == 'values.ui_refresh._variants' and '32' in d['Reason'] for d in details
    ), details


# --- Ion for the AppConfig Agent ---------------------------------------------------------------

AGENT_ACCEPT = 'application/ion;type=AWS.AppConfig.FeatureFlags;q=1.0,*/*;q=0.1'
ION_TYPE = 'application/ion;type=AWS.AppConfig.FeatureFlags'


@pytest.fixture
def agent_data(endpoint):
    """An appconfigdata client that sends the Agent's Accept header on GetLatestConfiguration."""
    client = boto3.client('appconfigdata', endpoint_url=endpoint, region_name='us-east-1')
    sent = {'accept': AGENT_ACCEPT}

    def add_accept(request, **_):
        request.headers['Accept'] = sent['accept']

    client.meta.events.register('before-sign.appconfigdata.GetLatestConfiguration', add_accept)
    client.sent = sent
    return client


EXPECTED_ION = [
    (
        ('ui_refresh',),
        (
            'list',
            [
                (
                    ('QA',),
                    (
                        'list',
                        [
                            (
                                'sexp',
                                [
                                    ('symbol', 'ends_with'),
                                    ('symbol', '$email'),
                                    ('string_raw', '@qa.example.com'),
                                ],
                            ),
                            (
                                'string',
                                {'_variant': 'QA', 'enabled': True, 'dark_mode_support': True},
                            ),
                        ],
                    ),
                ),
                (
                    ('Beta',),
                    (
                        'list',
                        [
                            (
                                'sexp',
                                [
                                    ('symbol', 'split'),
                                    (('pct',), ('int', 20)),
                                    (('by',), ('symbol', '$userId')),
                                    (('seed',), ('string_raw', 'beta')),
                                ],
                            ),
                            ('string', {'_variant': 'Beta', 'enabled': True}),
                        ],
                    ),
                ),
                (
                    'string',
                    {'_variant': 'Default Variant', 'enabled': True, 'dark_mode_support': False},
                ),
            ],
        ),
    ),
    (('limits',), ('string', {'enabled': True, 'per_minute': 30})),
]


def agent_tree(body):
    from amazon.ion import simpleion
    from amazon.ion.core import IonType

    def walk(value, in_rule=False):
        notes = tuple(a.text for a in value.ion_annotations)
        kind = value.ion_type
        if kind in (IonType.LIST, IonType.SEXP):
            node = (kind.name.lower(), [walk(v, in_rule or kind == IonType.SEXP) for v in value])
        elif kind == IonType.SYMBOL:
            node = ('symbol', value.text)
        elif kind == IonType.STRING:
            node = ('string_raw', str(value)) if in_rule else ('string', json.loads(str(value)))
        else:
            node = (kind.name.lower(), value)
        return (notes, node) if notes else node

    assert body[:4] == b'\xe0\x01\x00\xea', 'binary Ion version marker'
    return [walk(v) for v in simpleion.loads(body, single_value=False)]


def test_the_agent_gets_the_documented_ion_layout(appconfig, agent_data):
    w = make_world(appconfig, profile_type=FF)
    w.deploy(json.dumps(DOC).encode(), label='v1')
    token = start(agent_data, w)
    response = agent_data.get_latest_configuration(ConfigurationToken=token)
    body = response['Configuration'].read()
    assert response['ContentType'] == ION_TYPE
    assert response['VersionLabel'] == 'v1'
    assert agent_tree(body) == EXPECTED_ION
    # An unchanged poll: no body, the same type.
    again = agent_data.get_latest_configuration(
        ConfigurationToken=response['NextPollConfigurationToken']
    )
    assert again['Configuration'].read() == b''
    assert again['ContentType'] == ION_TYPE


def test_the_ion_answers_match_the_evaluator(appconfig, agent_data):
    from chalicelib import flags

    w = make_world(appconfig, profile_type=FF)
    w.deploy(json.dumps(DOC).encode())
    body = agent_data.get_latest_configuration(ConfigurationToken=start(agent_data, w))[
        'Configuration'
    ].read()
    ui, limits = (node for _, node in agent_tree(body))  # drop the flag keys
    qa, _beta, (_, default) = ui[1]
    _, (_, (_rule, (_, qa_answer))) = qa
    _, limits = limits
    assert qa_answer == flags.evaluate(DOC, {'email': 'a@qa.example.com'}, None)['ui_refresh']
    assert default == flags.evaluate(DOC, {}, None)['ui_refresh']
    assert limits == flags.evaluate(DOC, {}, None)['limits']


@pytest.mark.parametrize(
    'accept',
    [
        '*/*',
        'application/ion',  # not the feature-flag type
        'application/ion;type=AWS.AppConfig.FeatureFlags;q=0',
        'application/json, application/ion;type=AWS.AppConfig.FeatureFlags;q=0.5',
        'application/json',
    ],
)
def test_other_accept_headers_keep_json(appconfig, agent_data, accept):
    w = make_world(appconfig, profile_type=FF)
    w.deploy(json.dumps(DOC).encode())
    agent_data.sent['accept'] = accept
    response = agent_data.get_latest_configuration(ConfigurationToken=start(agent_data, w))
    assert response['ContentType'] == 'application/json'
    assert json.loads(response['Configuration'].read()) == SDK_VIEW


def test_ion_only_for_documents_with_variants_and_only_for_flags(appconfig, agent_data):
    w = make_world(appconfig, profile_type=FF)
    basic = {
        'version': '1',
        'flags': {'limits': DOC['flags']['limits']},
        'values': {'limits': DOC['values']['limits']},
    }
    w.deploy(json.dumps(basic).encode())
    response = agent_data.get_latest_configuration(ConfigurationToken=start(agent_data, w))
    assert response['ContentType'] == 'application/json'
    assert json.loads(response['Configuration'].read()) == {
        'limits': {'enabled': True, 'per_minute': 30}
    }
    freeform = make_world(appconfig, app_name='other')
    freeform.deploy(b'{"_variants": [1]}')
    response = agent_data.get_latest_configuration(ConfigurationToken=start(agent_data, freeform))
    assert response['ContentType'] == 'application/json'
    assert response['Configuration'].read() == b'{"_variants": [1]}'
