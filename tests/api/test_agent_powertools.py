"""aws-lambda-powertools (Python), unmodified, against the Agent listener through
AWS_APPCONFIG_EXTENSION_HTTP_PORT, as in a Lambda function with the AppConfig extension."""

import json

import pytest
from aws_lambda_powertools.utilities import feature_flags, parameters
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

from tests.api.agent import agent_port, fresh_agent  # noqa: F401
from tests.api.polling import POWERTOOLS_RULES, fresh_caches, make_world  # noqa: F401


@pytest.fixture
def extension_port(agent_port, monkeypatch):
    monkeypatch.setenv('AWS_APPCONFIG_EXTENSION_HTTP_PORT', str(agent_port))
    return agent_port


def test_extension_provider_reads_a_freeform_profile(appconfig, extension_port):
    w = make_world(appconfig)
    w.deploy(b'{"color": "red", "size": 3}')
    provider = parameters.AppConfigExtensionProvider(environment='prod', application='shop')
    assert provider.port == extension_port
    assert provider.get('cfg') == b'{"color": "red", "size": 3}'
    w.deploy(b'{"color": "blue"}')
    assert provider.get('cfg', transform='json', force_fetch=True) == {'color': 'blue'}


def test_extension_provider_by_ids(appconfig, extension_port):
    w = make_world(appconfig)
    w.deploy(b'plain text')
    provider = parameters.AppConfigExtensionProvider(environment=w.env, application=w.app)
    assert provider.get(w.profile) == b'plain text'


def test_extension_provider_reads_flags_whole_and_one_by_one(appconfig, extension_port):
    w = make_world(appconfig, profile_type='AWS.AppConfig.FeatureFlags')
    w.deploy(
        json.dumps(
            {
                'version': '1',
                'flags': {'dark_mode': {'name': 'Dark mode'}, 'beta': {'name': 'Beta'}},
                'values': {'dark_mode': {'enabled': True}, 'beta': {'enabled': False}},
            }
        ).encode()
    )
    provider = parameters.AppConfigExtensionProvider(environment='prod', application='shop')
    assert provider.get('cfg', transform='json') == {
        'dark_mode': {'enabled': True},
        'beta': {'enabled': False},
    }
    # Keyword arguments become the query: one flag is the bare object, several a map
    # (Powertools caches by name alone, hence force_fetch).
    assert provider.get('cfg', transform='json', flag='dark_mode', force_fetch=True) == {
        'enabled': True
    }
    assert provider.get('cfg', transform='json', flag=['dark_mode', 'beta'], force_fetch=True) == {
        'dark_mode': {'enabled': True},
        'beta': {'enabled': False},
    }


def test_extension_provider_raises_the_agents_errors(appconfig, extension_port):
    make_world(appconfig)
    provider = parameters.AppConfigExtensionProvider(environment='prod', application='shop')
    with pytest.raises(GetParameterError, match='HTTP 404') as err:
        provider.get('cfg')
    assert 'No configuration has been deployed' in str(err.value)
    with pytest.raises(GetParameterError, match='HTTP 404'):
        provider.get('missing')


def test_feature_flags_through_the_extension_store(appconfig, extension_port):
    w = make_world(appconfig)
    w.deploy(json.dumps(POWERTOOLS_RULES).encode())
    store = feature_flags.AppConfigStore(
        environment='prod', application='shop', name='cfg', use_extension=True
    )
    flags = feature_flags.FeatureFlags(store=store)
    assert flags.evaluate(name='premium_features', context={'tier': 'gold'}, default=False) is True
    assert (
        flags.evaluate(name='premium_features', context={'tier': 'basic'}, default=False) is False
    )
    assert sorted(flags.get_enabled_features(context={'tier': 'gold'})) == [
        'premium_features',
        'ten_percent_off_campaign',
    ]
