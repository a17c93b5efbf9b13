"""The Agent's HTTP API (chalicelib/agent.py) over raw HTTP on the listener: paths, headers,
both response shapes, every error, the access token, and entity stickiness during rollouts."""

import json

import pytest

from chalicelib import agent, cache, clock
from chalicelib.engine import delivery as engine_delivery
from tests.api.agent import (
    agent_cached,
    agent_client,
    agent_port,
    call,  # noqa: F401
    fresh_agent,
    path,
)
from tests.api.polling import (
    LINEAR_10,
    cached,
    dynamo_calls,
    fresh_caches,  # noqa: F401
    make_world,
)

FLAGS = {
    'version': '1',
    'flags': {
        'dark_mode': {
            'name': 'Dark mode',
            'attributes': {'level': {'constraints': {'type': 'number'}}},
        },
        'beta': {'name': 'Beta', 'attributes': {'group': {'constraints': {'type': 'string'}}}},
    },
    'values': {
        'dark_mode': {'enabled': True, 'level': 3},
        'beta': {'enabled': False, 'group': 'qa'},
    },
}


def flag_world(appconfig, doc=FLAGS, **extra):
    w = make_world(appconfig, profile_type='AWS.AppConfig.FeatureFlags', **extra)
    w.deploy(json.dumps(doc).encode())
    return w


# --- freeform -------------------------------------------------------------------------------


def test_freeform_answers_the_deployed_bytes_by_names_and_by_ids(appconfig, agent_client):
    w = make_world(appconfig)
    w.deploy(b'color: red\n', label='v-one', content_type='application/x-yaml')
    for names in (('shop', 'prod', 'cfg'), (w.app, w.env, w.profile)):
        r = agent_client.get(path(*names))
        assert r.status == 200
        assert r.body == b'color: red\n'
        assert r.headers['content-type'] == 'application/x-yaml'
        assert r.headers['configuration-version'] == '1'
        assert r.headers['version-label'] == 'v-one'


def test_version_label_is_absent_when_the_version_has_none(appconfig, agent_client):
    w = make_world(appconfig)
    w.deploy(b'{"a": 1}')
    r = agent_client.get(path('shop', 'prod', 'cfg'))
    assert r.status == 200 and r.body == b'{"a": 1}'
    assert 'version-label' not in r.headers


def test_a_name_with_a_slash_is_url_encoded(appconfig, agent_client):
    w = make_world(appconfig, app_name='team/shop')
    w.deploy(b'x')
    assert agent_client.get(path('team/shop', 'prod', 'cfg')).body == b'x'
    # Unencoded, the slash splits the path: not the Agent's path.
    assert (
        agent_client.get('/applications/team/shop/environments/prod/configurations/cfg').status
        == 404
    )


def test_a_new_deployment_is_served(appconfig, agent_client):
    w = make_world(appconfig)
    w.deploy(b'one')
    assert agent_client.get(path('shop', 'prod', 'cfg')).body == b'one'
    w.deploy(b'two')
    r = agent_client.get(path('shop', 'prod', 'cfg'))
    assert (r.body, r.headers['configuration-version']) == (b'two', '2')


def test_flag_on_a_freeform_profile_is_a_bad_request(appconfig, agent_client):
    make_world(appconfig).deploy(b'{}')
    r = agent_client.get(path('shop', 'prod', 'cfg', 'flag=x'))
    assert r.status == 400
    assert r.headers['content-type'] == 'application/json'
    assert 'AWS.AppConfig.FeatureFlags' in r.json()['Message']


# --- feature flags: the two shapes ----------------------------------------------------------


def test_without_flag_every_flag_comes_as_a_map(appconfig, agent_client):
    flag_world(appconfig)
    r = agent_client.get(path('shop', 'prod', 'cfg'))
    assert r.status == 200
    assert r.headers['content-type'] == 'application/json'
    assert r.headers['configuration-version'] == '1'
    # A disabled basic flag carries no attributes.
    assert r.json() == {'dark_mode': {'enabled': True, 'level': 3}, 'beta': {'enabled': False}}


def test_one_flag_is_the_bare_flag_object(appconfig, agent_client):
    flag_world(appconfig)
    r = agent_client.get(path('shop', 'prod', 'cfg', 'flag=dark_mode'))
    assert r.status == 200
    assert r.json() == {'enabled': True, 'level': 3}


def test_several_flags_come_as_a_map_of_those_flags(appconfig, agent_client):
    w = flag_world(appconfig)
    doc = json.loads(json.dumps(FLAGS))
    doc['flags']['third'] = {'name': 'Third'}
    doc['values']['third'] = {'enabled': True}
    w.deploy(json.dumps(doc).encode())
    r = agent_client.get(path('shop', 'prod', 'cfg', 'flag=dark_mode&flag=beta'))
    assert r.json() == {'dark_mode': {'enabled': True, 'level': 3}, 'beta': {'enabled': False}}


@pytest.mark.parametrize('query', ['flag=nope', 'flag=dark_mode&flag=nope'])
def test_an_unknown_flag_is_not_found(appconfig, agent_client, query):
    flag_world(appconfig)
    r = agent_client.get(path('shop', 'prod', 'cfg', query))
    assert r.status == 404
    assert r.headers['content-type'] == 'application/json'
    assert 'nope' in r.json()['Message']


# --- request headers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    'header', [{'Context': 'tier'}, {'Context': '=gold'}, {'Context': ['a=1', 'broken']}]
)
def test_a_malformed_context_is_a_bad_request(appconfig, agent_client, header):
    flag_world(appconfig)
    r = agent_client.get(path('shop', 'prod', 'cfg'), header)
    assert r.status == 400
    assert 'Context' in r.json()['Message']


def test_context_pairs_come_repeated_or_comma_separated():
    one = agent._context({'Context': ['tier=gold', ' country = DE , city=Bonn']})
    assert one == {'tier': 'gold', 'country': 'DE', 'city': 'Bonn'}
    # The value is split on the first '=' only.
    assert agent._context({'context': 'expr=a=b'}) == {'expr': 'a=b'}


def test_entity_id_up_to_2_kb(appconfig, agent_client):
    flag_world(appconfig)
    assert agent_client.get(path('shop', 'prod', 'cfg'), {'Entity-Id': 'e' * 2048}).status == 200
    r = agent_client.get(path('shop', 'prod', 'cfg'), {'Entity-Id': 'e' * 2049})
    assert r.status == 400
    assert 'Entity-Id' in r.json()['Message']


def test_the_access_token(appconfig, agent_client, monkeypatch):
    make_world(appconfig).deploy(b'secret')
    monkeypatch.setenv('APPCONFIG_AGENT_ACCESS_TOKEN', 's3cr3t')
    for headers in (
        {},
        {'Authorization': 'Bearer wrong'},
        {'Authorization': 's3cr3t'},
        {'Authorization': 'Basic s3cr3t'},
    ):
        r = agent_client.get(path('shop', 'prod', 'cfg'), headers)
        assert r.status == 401, headers
        assert r.headers['content-type'] == 'application/json'
        assert 'Bearer' in r.json()['Message']
    r = agent_client.get(path('shop', 'prod', 'cfg'), {'Authorization': 'Bearer s3cr3t'})
    assert (r.status, r.body) == (200, b'secret')
    # The token guards every path: an unknown resource is not revealed to a caller without it.
    assert agent_client.get(path('nope', 'prod', 'cfg')).status == 401


# --- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    'names, what',
    [
        (('nope', 'prod', 'cfg'), 'Application nope'),
        (('shop', 'nope', 'cfg'), 'Environment nope'),
        (('shop', 'prod', 'nope'), 'Configuration profile nope'),
    ],
)
def test_unknown_resources_are_not_found(appconfig, agent_client, names, what):
    make_world(appconfig).deploy(b'x')
    r = agent_client.get(path(*names))
    assert r.status == 404
    assert r.headers['content-type'] == 'application/json'
    assert what in r.json()['Message']


def test_nothing_deployed_is_not_found(appconfig, agent_client):
    make_world(appconfig)
    r = agent_client.get(path('shop', 'prod', 'cfg'))
    assert r.status == 404
    assert 'No configuration has been deployed' in r.json()['Message']


@pytest.mark.parametrize(
    'raw',
    [
        '/',
        '/metrics',
        '/ping',
        '/applications/shop',
        '/applications/shop/environments/prod/configurations',
        '/applications/shop/environments/prod/configurations/cfg/x',
        '/applications/shop/environments//configurations/cfg',
    ],
)
def test_every_other_path_is_not_found(appconfig, agent_client, raw):
    make_world(appconfig).deploy(b'x')
    r = agent_client.get(raw)
    assert r.status == 404
    assert r.headers['content-type'] == 'application/json'
    assert 'Message' in r.json()


def test_only_get_reads(appconfig, agent_client):
    make_world(appconfig).deploy(b'x')
    r = agent_client.get(path('shop', 'prod', 'cfg'), method='POST')
    assert r.status == 405
    assert r.headers['allow'] == 'GET'
    assert 'Message' in r.json()


def test_an_unexpected_failure_is_a_json_500(appconfig, agent_client, monkeypatch):
    make_world(appconfig).deploy(b'x')

    def broken(*args, **kwargs):
        raise RuntimeError('boom')

    monkeypatch.setattr(engine_delivery, 'load', broken)
    r = agent_client.get(path('shop', 'prod', 'cfg'))
    assert r.status == 500
    assert 'InternalServerException' in r.json()['Message']
    assert 'boom' not in r.body.decode()


# --- caching --------------------------------------------------------------------------------


def test_an_unchanged_read_makes_no_dynamodb_request(
    appconfig, agent_client, agent_cached, dynamo_calls
):
    flag_world(appconfig)
    first = agent_client.get(path('shop', 'prod', 'cfg', 'flag=dark_mode'))
    assert first.status == 200
    dynamo_calls.clear()
    for _ in range(5):
        again = agent_client.get(path('shop', 'prod', 'cfg', 'flag=dark_mode'))
        assert again.body == first.body
    assert dynamo_calls == []
    # After the cache's second the Delivery item is read again, and nothing else.
    agent_cached.now += 1.5
    agent_client.get(path('shop', 'prod', 'cfg', 'flag=dark_mode'))
    assert [op for op, _ in dynamo_calls] == ['GetItem']


# --- gradual deployments: entities stick --------------------------------------------------


def _version(w, entity):
    headers = {'Entity-Id': entity} if entity is not None else {}
    return call('shop', 'prod', 'cfg', headers=headers).headers['configuration-version']


def test_entities_stick_and_follow_the_percentage(appconfig, agent_cached):
    w = make_world(appconfig)
    w.deploy(b'old')
    w.deploy(b'new', strategy=LINEAR_10)
    entities = [f'user-{i}' for i in range(10_000)]
    on_new = set()
    for minute in range(1, 11):  # step k lands at minute k with 10k %
        clock.advance(minutes=minute - clock_minutes(w))
        now_new = {e for e in entities if _version(w, e) == '2'}
        share = 100 * len(now_new) / len(entities)
        assert abs(share - 10 * minute) <= 2, (minute, share)
        assert on_new <= now_new  # nobody goes back to the old version
        on_new = now_new
    # Every process buckets alike: the bucket is a SHA-256 of the deployment and the entity.
    delivery = engine_delivery.load(w.app, w.env, w.profile)
    assert on_new == {e for e in entities if engine_delivery.bucket(delivery, f'entity#{e}') < 100}
    sample = entities[:50]
    assert [_version(w, e) for e in sample] == [_version(w, e) for e in sample]


def test_an_entity_gets_the_same_version_on_every_request(appconfig, agent_client):
    w = make_world(appconfig)
    w.deploy(b'old')
    w.deploy(b'new', strategy=LINEAR_10)
    clock.advance(minutes=5)  # 50 %
    seen = {}
    for i in range(120):
        entity = f'e{i % 40}'  # 40 entities, 3 requests each (all on one side: 2**-39)
        body = agent_client.get(path('shop', 'prod', 'cfg'), {'Entity-Id': entity}).body
        assert seen.setdefault(entity, body) == body
    assert set(seen.values()) == {b'old', b'new'}


def test_without_entity_id_one_caller_switches_once(appconfig):
    w = make_world(appconfig)
    w.deploy(b'old')
    w.deploy(b'new', strategy=LINEAR_10)
    delivery = engine_delivery.load(w.app, w.env, w.profile)
    switch = engine_delivery.bucket(delivery, agent.ANONYMOUS)
    versions = []
    for _ in range(12):
        clock.advance(minutes=1)
        versions.append(_version(w, None))
    # Old until the percentage passes its bucket, then new for good.
    first_new = versions.index('2')
    assert versions[:first_new] == ['1'] * first_new
    assert versions[first_new:] == ['2'] * (len(versions) - first_new)
    assert first_new == min(int(switch // 10), 10)


def clock_minutes(w):
    """Whole minutes since the world's last deployment started."""
    started = w.appconfig.list_deployments(ApplicationId=w.app, EnvironmentId=w.env)['Items'][0][
        'StartedAt'
    ]
    return int((clock.now() - started).total_seconds() // 60)


def test_a_stopped_rollout_returns_every_entity_to_the_old_version(appconfig, agent_cached):
    w = make_world(appconfig)
    w.deploy(b'old')
    deployment = w.deploy(b'new', strategy=LINEAR_10)
    clock.advance(minutes=5)
    assert {_version(w, f'u{i}') for i in range(200)} == {'1', '2'}
    w.stop(deployment)
    cache.reset()
    assert {_version(w, f'u{i}') for i in range(200)} == {'1'}


# --- multi-variant flags: Context and Entity-Id reach the rules --------------------------

VARIANTS = {
    'version': '1',
    'flags': {'ui': {'name': 'UI', 'attributes': {'theme': {'constraints': {'type': 'string'}}}}},
    'values': {
        'ui': {
            'enabled': False,
            '_variants': [
                {
                    'name': 'gold',
                    'enabled': True,
                    'rule': '(and (eq $tier "gold") (eq $country "DE"))',
                    'attributeValues': {'theme': 'dark'},
                },
                {
                    'name': 'listed',
                    'enabled': True,
                    'rule': '(in $entityId ["user-7", "user-9"])',
                    'attributeValues': {'theme': 'light'},
                },
                {'name': 'Default Variant', 'enabled': False},
            ],
        }
    },
}


@pytest.mark.parametrize(
    'headers, expected',
    [
        ({}, {'_variant': 'Default Variant', 'enabled': False}),
        (
            {'Context': ['tier=gold', 'country=DE']},
            {'_variant': 'gold', 'enabled': True, 'theme': 'dark'},
        ),
        (
            {'Context': 'tier=gold, country=DE'},
            {'_variant': 'gold', 'enabled': True, 'theme': 'dark'},
        ),
        ({'Context': 'tier=gold'}, {'_variant': 'Default Variant', 'enabled': False}),
        ({'Entity-Id': 'user-9'}, {'_variant': 'listed', 'enabled': True, 'theme': 'light'}),
        ({'Entity-Id': 'user-8'}, {'_variant': 'Default Variant', 'enabled': False}),
    ],
)
def test_variants_see_context_and_entity_id(appconfig, agent_client, headers, expected):
    flag_world(appconfig, doc=VARIANTS)
    r = agent_client.get(path('shop', 'prod', 'cfg', 'flag=ui'), headers)
    assert r.status == 200
    assert r.json() == expected
    whole = agent_client.get(path('shop', 'prod', 'cfg'), headers)
    assert whole.json() == {'ui': expected}
