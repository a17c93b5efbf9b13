"""aws-lambda-powertools, unmodified, against the server through an appconfigdata client."""

import json

from aws_lambda_powertools.utilities import feature_flags, parameters

from tests.api.polling import POWERTOOLS_RULES, fresh_caches, make_world  # noqa: F401


def test_appconfig_provider_gets_the_configuration_by_names(appconfig, appconfigdata):
    w = make_world(appconfig)
    w.deploy(b'{"color": "red", "size": 3}')
    provider = parameters.AppConfigProvider(
        environment='prod', application='shop', boto3_client=appconfigdata
    )
    assert provider.get('cfg') == b'{"color": "red", "size": 3}'
    # A forced fetch polls again: nothing new comes back, Powertools keeps what it has.
    assert provider.get('cfg', transform='json', force_fetch=True) == {'color': 'red', 'size': 3}
    w.deploy(b'{"color": "blue"}')
    assert provider.get('cfg', transform='json', force_fetch=True) == {'color': 'blue'}


def test_appconfig_provider_reads_a_feature_flag_profile(appconfig, appconfigdata):
    w = make_world(appconfig, profile_type='AWS.AppConfig.FeatureFlags')
    w.deploy(
        json.dumps(
            {
                'version': '1',
                'flags': {'dark_mode': {'name': 'Dark mode'}},
                'values': {'dark_mode': {'enabled': True}},
            }
        ).encode()
    )
    provider = parameters.AppConfigProvider(
        environment=w.env, application=w.app, boto3_client=appconfigdata
    )
    assert provider.get(w.profile, transform='json') == {'dark_mode': {'enabled': True}}


def test_feature_flags_evaluate_a_rule(appconfig, appconfigdata):
    w = make_world(appconfig)
    w.deploy(json.dumps(POWERTOOLS_RULES).encode())
    store = feature_flags.AppConfigStore(
        environment='prod', application='shop', name='cfg', boto3_client=appconfigdata
    )
    flags = feature_flags.FeatureFlags(store=store)
    assert flags.evaluate(name='premium_features', context={'tier': 'gold'}, default=False) is True
    assert (
        flags.evaluate(name='premium_features', context={'tier': 'basic'}, default=False) is False
    )
    assert flags.evaluate(name='ten_percent_off_campaign', default=False) is True
    assert sorted(flags.get_enabled_features(context={'tier': 'gold'})) == [
        'premium_features',
        'ten_percent_off_campaign',
    ]
