"""The deprecated GetConfiguration: names or ids, ClientId buckets, 204 when up to date."""

import json
from datetime import timedelta

import pytest

from chalicelib import clock
from chalicelib.store.environments import Environment
from chalicelib.store.profiles import Profile
from tests.api.polling import LINEAR_10, fresh_caches, make_world  # noqa: F401


def get(client, w, client_id='client-1', by_name=False, **extra):
    response = client.get_configuration(
        Application='shop' if by_name else w.app,
        Environment='prod' if by_name else w.env,
        Configuration='cfg' if by_name else w.profile,
        ClientId=client_id,
        **extra,
    )
    return response, response['Content'].read()


def test_configuration_by_ids_and_by_names(appconfig):
    w = make_world(appconfig)
    version = w.version(b'{"a": 1}', label='v1')
    w.deploy(version=version)
    for by_name in (False, True):
        response, body = get(appconfig, w, by_name=by_name)
        assert response['ResponseMetadata']['HTTPStatusCode'] == 200
        assert body == b'{"a": 1}'
        assert response['ConfigurationVersion'] == str(version)
        assert response['ContentType'] == 'application/json'


def test_current_client_version_gets_204_and_no_content(appconfig):
    w = make_world(appconfig)
    w.deploy(b'one')
    first, _ = get(appconfig, w)
    response, body = get(appconfig, w, ClientConfigurationVersion=first['ConfigurationVersion'])
    assert response['ResponseMetadata']['HTTPStatusCode'] == 204
    assert body == b''
    assert response['ConfigurationVersion'] == first['ConfigurationVersion']
    w.deploy(b'two')
    response, body = get(appconfig, w, ClientConfigurationVersion=first['ConfigurationVersion'])
    assert response['ResponseMetadata']['HTTPStatusCode'] == 200
    assert body == b'two'
    assert response['ConfigurationVersion'] != first['ConfigurationVersion']


def test_client_id_decides_the_bucket(appconfig):
    w = make_world(appconfig)
    w.deploy(b'old')
    w.deploy(b'new', strategy=LINEAR_10)
    clock.advance(minutes=3, seconds=30)  # 30 %
    ids = [f'host-{i}' for i in range(300)]
    first = {i: get(appconfig, w, client_id=i)[1] for i in ids}
    share = sum(b == b'new' for b in first.values()) / len(ids)
    assert 0.22 <= share <= 0.38, share
    # The same caller gets the same answer every time.
    assert all(get(appconfig, w, client_id=i)[1] == first[i] for i in ids[:40])
    clock.advance(minutes=3)  # 60 %: nobody who had the new version goes back
    later = {i: get(appconfig, w, client_id=i)[1] for i in ids}
    assert all(later[i] == b'new' for i in ids if first[i] == b'new')
    assert sum(b == b'new' for b in later.values()) > sum(b == b'new' for b in first.values())


def test_feature_flag_profiles_are_refused(appconfig):
    w = make_world(appconfig, profile_type='AWS.AppConfig.FeatureFlags')
    w.deploy(json.dumps({'version': '1', 'flags': {}, 'values': {}}).encode())
    with pytest.raises(appconfig.exceptions.BadRequestException) as err:
        get(appconfig, w)
    assert err.value.response['Error']['Message'] == (
        "Feature flag configurations must be accessed via AWS AppConfig Data's "
        'GetLatestConfiguration API'
    )


@pytest.mark.parametrize('member', ['Application', 'Environment', 'Configuration'])
def test_unknown_resources(appconfig, member):
    w = make_world(appconfig)
    w.deploy(b'x')
    params = {
        'Application': w.app,
        'Environment': w.env,
        'Configuration': w.profile,
        'ClientId': 'c',
        member: 'nope',
    }
    with pytest.raises(appconfig.exceptions.ResourceNotFoundException) as err:
        appconfig.get_configuration(**params)
    assert err.value.response['ResponseMetadata']['HTTPStatusCode'] == 404
    assert 'nope' in err.value.response['Error']['Message']


def test_nothing_deployed(appconfig):
    w = make_world(appconfig)
    with pytest.raises(appconfig.exceptions.ResourceNotFoundException):
        get(appconfig, w)


def test_client_id_is_required(raw_appconfig, appconfig):
    w = make_world(appconfig)
    w.deploy(b'x')
    with pytest.raises(raw_appconfig.exceptions.BadRequestException):
        raw_appconfig.get_configuration(
            Application=w.app, Environment=w.env, Configuration=w.profile
        )


def test_marks_the_environment_and_profile_as_polled(appconfig):
    w = make_world(appconfig)
    w.deploy(b'x')
    t0 = clock.now()
    get(appconfig, w)
    assert Environment.get(w.app, w.env).last_polled_at == t0
    assert Profile.get(w.app, w.profile).last_polled_at == t0
    clock.advance(seconds=30)
    get(appconfig, w)
    assert Environment.get(w.app, w.env).last_polled_at == t0
    clock.advance(seconds=31)
    get(appconfig, w)
    assert Profile.get(w.app, w.profile).last_polled_at == t0 + timedelta(seconds=61)
