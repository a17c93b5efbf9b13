"""Multi-variant feature flags through the real clients: `_variants` validated when a hosted
version is created, and the default variant's projection delivered to SDK clients."""
import json

import pytest
from aws_lambda_powertools.utilities import parameters

from tests.api.polling import fresh_caches, make_world, poll, start  # noqa: F401

FF = 'AWS.AppConfig.FeatureFlags'

DOC = {
    'version': '1',
    'flags': {
        'ui_refresh': {'name': 'UI refresh',
                       'attributes': {'dark_mode_support': {'constraints': {'type': 'boolean'}}}},
        'limits': {'name': 'Limits', 'attributes': {'per_minute': {'constraints': {'type': 'number'}}}},
    },
    'values': {
        'ui_refresh': {'_variants': [
            {'name': 'QA', 'enabled': True, 'rule': '(ends_with $email "@qa.example.com")',
             'attributeValues': {'dark_mode_support': True}},
            {'name': 'Beta', 'enabled': True,
             'rule': '(split pct::20 by::$userId seed::"beta")'},
            {'name': 'Default Variant', 'enabled': True,
             'attributeValues': {'dark_mode_support': False}},
        ]},
        'limits': {'enabled': True, 'per_minute': 30},
    },
}
SDK_VIEW = {'ui_refresh': {'enabled': True, 'dark_mode_support': False},
            'limits': {'enabled': True, 'per_minute': 30}}


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
        ApplicationId=w.app, ConfigurationProfileId=w.profile, VersionNumber=1)
    assert json.loads(stored['Content'].read()) == DOC


def test_powertools_provider_reads_the_default_variant(appconfig, appconfigdata):
    w = make_world(appconfig, profile_type=FF)
    w.deploy(with_variant(2, enabled=False))
    provider = parameters.AppConfigProvider(environment=w.env, application=w.app,
                                            boto3_client=appconfigdata)
    assert provider.get(w.profile, transform='json') == {
        'ui_refresh': {'enabled': False}, 'limits': {'enabled': True, 'per_minute': 30}}


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
    assert detail['Reason'] == ("flag 'ui_refresh', variant 'Beta': the rule is not valid: "
                                "(split ...): by:: must be a context value, such as by::$userId")
    assert detail['Type'] == 'Constraint' and detail['Constraint'] == 'rule'
    # Nothing was stored: the next good version is number 1.
    assert w.version(json.dumps(DOC).encode()) == 1


def test_two_defaults_and_duplicate_names_are_refused(appconfig):
    w = make_world(appconfig, profile_type=FF)
    details = _refusal(appconfig, w, with_variant(1, rule=None, name='QA'))
    by_constraint = {d['Constraint']: d for d in details}
    assert set(by_constraint) == {'defaultVariant', 'uniqueVariantName'}, details
    assert "exactly one variant, the default, has no rule" in by_constraint['defaultVariant']['Reason']
    assert by_constraint['uniqueVariantName']['Location'] == 'values.ui_refresh._variants[1].name'


def test_too_many_variants_are_refused(appconfig):
    w = make_world(appconfig, profile_type=FF)
    doc = json.loads(json.dumps(DOC))
    doc['values']['ui_refresh']['_variants'] = [
        {'name': f'v{i}', 'enabled': True, 'rule': f'(eq $n {i})'} for i in range(32)
    ] + [{'name': 'Default', 'enabled': False}]
    details = _refusal(appconfig, w, json.dumps(doc).encode())
    assert any(d['Location'] == 'values.ui_refresh._variants' and '32' in d['Reason']
               for d in details), details
