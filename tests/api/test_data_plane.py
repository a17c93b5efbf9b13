"""appconfigdata over HTTP: sessions, polls, tokens, gradual rollout, the in-process caches."""

import json
import math
from datetime import timedelta
from unittest import mock

import pytest

from chalicelib import cache, clock, tokens
from chalicelib.store import content
from chalicelib.store.delivery import Delivery
from chalicelib.store.environments import Environment
from chalicelib.store.profiles import Profile
from tests.api.polling import (
    LINEAR_10,
    cached,
    dynamo_calls,
    fresh_caches,  # noqa: F401
    make_world,
    poll,
    problem,
    start,
)

# --- sessions ---------------------------------------------------------------------------------


def test_session_then_first_poll_then_unchanged(appconfig, appconfigdata):
    w = make_world(appconfig)
    w.deploy(b'{"color": "red"}', label='v1')
    started = appconfigdata.start_configuration_session(**w.ids)
    assert started['ResponseMetadata']['HTTPStatusCode'] == 201
    first, body = poll(appconfigdata, started['InitialConfigurationToken'])
    assert body == b'{"color": "red"}'
    assert first['ContentType'] == 'application/json'
    assert first['VersionLabel'] == 'v1'
    assert first['NextPollIntervalInSeconds'] == 60
    assert first['NextPollConfigurationToken'] != started['InitialConfigurationToken']
    second, body = poll(appconfigdata, first['NextPollConfigurationToken'])
    assert body == b''
    assert second['VersionLabel'] == ''
    assert second['NextPollIntervalInSeconds'] == 60
    assert second['NextPollConfigurationToken'] not in (
        first['NextPollConfigurationToken'],
        started['InitialConfigurationToken'],
    )
    third, body = poll(appconfigdata, second['NextPollConfigurationToken'])
    assert body == b'' and third['NextPollConfigurationToken']


def test_names_work_like_ids(appconfig, appconfigdata):
    w = make_world(appconfig)
    w.deploy(b'by name')
    token = appconfigdata.start_configuration_session(
        ApplicationIdentifier='shop',
        EnvironmentIdentifier='prod',
        ConfigurationProfileIdentifier='cfg',
    )['InitialConfigurationToken']
    response, body = poll(appconfigdata, token)
    assert body == b'by name'
    assert 'VersionLabel' not in response  # a version without a label sends none


@pytest.mark.parametrize(
    'member, resource_type',
    [
        ('ApplicationIdentifier', 'Application'),
        ('EnvironmentIdentifier', 'Environment'),
        ('ConfigurationProfileIdentifier', 'ConfigurationProfile'),
    ],
)
def test_unknown_resources(appconfig, appconfigdata, member, resource_type):
    w = make_world(appconfig)
    with pytest.raises(appconfigdata.exceptions.ResourceNotFoundException) as err:
        appconfigdata.start_configuration_session(**{**w.ids, member: 'nope'})
    response = err.value.response
    assert response['ResponseMetadata']['HTTPStatusCode'] == 404
    assert response['ResourceType'] == resource_type
    assert response['ReferencedBy'] == {member: 'nope'}
    assert 'nope' in response['Error']['Message']


def test_resource_in_another_application_is_unknown(appconfig, appconfigdata):
    w = make_world(appconfig)
    other = make_world(appconfig)
    with pytest.raises(appconfigdata.exceptions.ResourceNotFoundException) as err:
        appconfigdata.start_configuration_session(**{**w.ids, 'EnvironmentIdentifier': other.env})
    assert err.value.response['ResourceType'] == 'Environment'


@pytest.mark.parametrize('seconds', [14, 0, 86401])
def test_minimum_poll_interval_bounds(appconfig, appconfigdata, endpoint, seconds):
    import boto3
    from botocore.config import Config

    raw = boto3.client(
        'appconfigdata',
        endpoint_url=endpoint,
        region_name='us-east-1',
        config=Config(parameter_validation=False, retries={'max_attempts': 1}),
    )
    w = make_world(appconfig)
    with pytest.raises(raw.exceptions.BadRequestException) as err:
        raw.start_configuration_session(**w.ids, RequiredMinimumPollIntervalInSeconds=seconds)
    assert 'requiredminimumpollintervalinseconds' in err.value.response['Error']['Message'].lower()


@pytest.mark.parametrize('seconds', [15, 86400])
def test_minimum_poll_interval_is_the_next_interval(appconfig, appconfigdata, seconds):
    w = make_world(appconfig)
    w.deploy(b'x')
    token = start(appconfigdata, w, RequiredMinimumPollIntervalInSeconds=seconds)
    response, _ = poll(appconfigdata, token)
    assert response['NextPollIntervalInSeconds'] == seconds


def test_nothing_deployed(appconfig, appconfigdata):
    w = make_world(appconfig)
    token = start(appconfigdata, w)
    with pytest.raises(appconfigdata.exceptions.ResourceNotFoundException) as err:
        poll(appconfigdata, token)
    assert err.value.response['ResourceType'] == 'Deployment'
    # The same token works once something is deployed.
    w.deploy(b'now')
    assert poll(appconfigdata, token)[1] == b'now'


def test_content_of_any_type_round_trips(appconfig, appconfigdata):
    w = make_world(appconfig)
    data = bytes(range(256)) * 5000  # 1.28 MB of binary: several content chunks
    w.deploy(data, content_type='application/octet-stream')
    response, body = poll(appconfigdata, start(appconfigdata, w))
    assert body == data and response['ContentType'] == 'application/octet-stream'


# --- tokens -----------------------------------------------------------------------------------


def test_early_poll_refused_when_the_session_set_a_minimum(appconfig, appconfigdata):
    w = make_world(appconfig)
    w.deploy(b'x')
    first, _ = poll(appconfigdata, start(appconfigdata, w, RequiredMinimumPollIntervalInSeconds=30))
    token = first['NextPollConfigurationToken']
    clock.advance(seconds=20)
    with pytest.raises(appconfigdata.exceptions.BadRequestException) as err:
        poll(appconfigdata, token)
    response = err.value.response
    assert response['Error']['Message'] == 'Request too early'
    assert response['Reason'] == 'InvalidParameters'
    assert problem(err) == 'PollIntervalNotSatisfied'
    clock.advance(seconds=10)
    second, body = poll(appconfigdata, token)  # the refused token is still good later
    assert body == b''
    with pytest.raises(appconfigdata.exceptions.BadRequestException):
        poll(appconfigdata, second['NextPollConfigurationToken'])


def test_no_minimum_means_no_early_refusal(appconfig, appconfigdata):
    w = make_world(appconfig)
    w.deploy(b'x')
    token = start(appconfigdata, w)
    for _ in range(5):
        token = poll(appconfigdata, token)[0]['NextPollConfigurationToken']


def test_token_expires_after_24_hours(appconfig, appconfigdata):
    w = make_world(appconfig)
    w.deploy(b'x')
    token = start(appconfigdata, w)
    clock.advance(hours=23, minutes=59)
    token = poll(appconfigdata, token)[0]['NextPollConfigurationToken']
    clock.advance(hours=24)
    with pytest.raises(appconfigdata.exceptions.BadRequestException) as err:
        poll(appconfigdata, token)
    assert problem(err) == 'Expired'
    assert err.value.response['Reason'] == 'InvalidParameters'
    assert err.value.response['ResponseMetadata']['HTTPStatusCode'] == 400


@pytest.mark.parametrize(
    'mangle',
    [
        lambda t: t[:10] + ('A' if t[10] != 'A' else 'B') + t[11:],
        lambda t: t[:-1] + ('A' if t[-1] != 'A' else 'B'),
        lambda t: t.replace('.', ''),
        lambda t: 'not-a-token',
    ],
)
def test_tampered_token_is_corrupted(appconfig, appconfigdata, mangle):
    w = make_world(appconfig)
    w.deploy(b'x')
    token = start(appconfigdata, w)
    with pytest.raises(appconfigdata.exceptions.BadRequestException) as err:
        poll(appconfigdata, mangle(token))
    assert problem(err) == 'Corrupted'


def test_token_for_another_configuration_cannot_be_forged(appconfig, appconfigdata):
    w = make_world(appconfig)
    other = make_world(appconfig)
    other.deploy(b'secret')
    token = start(appconfigdata, w)
    body, sig = token.split('.')
    fields = json.loads(tokens._unb64(body))
    fields[2:5] = [other.app, other.env, other.profile]
    forged = tokens._b64(json.dumps(fields, separators=(',', ':')).encode())
    with pytest.raises(appconfigdata.exceptions.BadRequestException) as err:
        poll(appconfigdata, f'{forged}.{sig}')
    assert problem(err) == 'Corrupted'


def test_a_poll_writes_nothing_but_the_minute_mark(appconfig, appconfigdata, dynamo_calls):
    w = make_world(appconfig)
    w.deploy(b'x')
    token = start(appconfigdata, w)
    token = poll(appconfigdata, token)[0]['NextPollConfigurationToken']
    del dynamo_calls[:]
    for _ in range(20):
        token = poll(appconfigdata, token)[0]['NextPollConfigurationToken']
    writes = [c for c in dynamo_calls if c[0] not in ('GetItem', 'Query', 'BatchGetItem')]
    assert writes == []
    # Without the cache (frozen clock): one GetItem of the delivery item per unchanged poll.
    assert dynamo_calls == [('GetItem', Delivery.Meta.table_name)] * 20


# --- gradual rollout ----------------------------------------------------------------------------


def _sessions(client, world, n):
    tokens_ = [start(client, world) for _ in range(n)]
    got = []
    for i, token in enumerate(tokens_):
        response, body = poll(client, token)
        tokens_[i] = response['NextPollConfigurationToken']
        got.append(body)
    return tokens_, got


def _repoll(client, tokens_, holding):
    """Poll every session once; returns what each holds now (unchanged keeps the old one)."""
    for i, token in enumerate(tokens_):
        response, body = poll(client, token)
        tokens_[i] = response['NextPollConfigurationToken']
        if body:
            holding[i] = body
    return holding


def _near(share, p, n):
    """Session ids are random, so the share is binomial: five standard deviations either side
    (about 7 points at n=1,000) fails once in millions of runs, yet catches a wrong bucket."""
    return abs(share - p) <= 5 * math.sqrt(p * (1 - p) / n)


def test_rollout_splits_sessions_at_the_percentage_and_never_flips_back(
    appconfig, appconfigdata, cached
):
    w = make_world(appconfig)
    w.deploy(b'old', label='v1')
    w.deploy(b'new', label='v2', strategy=LINEAR_10)
    clock.advance(minutes=3, seconds=30)  # 30 %
    n = 1000
    tokens_, holding = _sessions(appconfigdata, w, n)
    share = holding.count(b'new') / n
    assert _near(share, 0.30, n), share
    assert set(holding) == {b'old', b'new'}
    had_new = {i for i, b in enumerate(holding) if b == b'new'}

    clock.advance(minutes=3)  # 60 %
    holding = _repoll(appconfigdata, tokens_, holding)
    now_new = {i for i, b in enumerate(holding) if b == b'new'}
    assert had_new <= now_new
    assert _near(len(now_new) / n, 0.60, n), len(now_new)

    clock.advance(minutes=5)  # COMPLETE
    holding = _repoll(appconfigdata, tokens_, holding)
    assert set(holding) == {b'new'}
    # And new sessions all start on the new version.
    assert set(_sessions(appconfigdata, w, 50)[1]) == {b'new'}


def test_rollback_returns_everyone_to_the_previous_version(appconfig, appconfigdata, cached):
    w = make_world(appconfig)
    w.deploy(b'old')
    deployment = w.deploy(b'new', strategy=LINEAR_10)
    clock.advance(minutes=5, seconds=30)  # 50 %
    tokens_, holding = _sessions(appconfigdata, w, 200)
    assert 60 <= holding.count(b'new') <= 140
    assert w.stop(deployment)['State'] == 'ROLLED_BACK'
    cached.now += 1
    holding = _repoll(appconfigdata, tokens_, holding)
    assert set(holding) == {b'old'}
    clock.advance(hours=1)
    assert set(_repoll(appconfigdata, tokens_, holding)) == {b'old'}


def test_first_deployment_outside_the_share_has_nothing_yet(appconfig, appconfigdata):
    w = make_world(appconfig)
    w.deploy(b'first', strategy=LINEAR_10)
    clock.advance(minutes=1, seconds=30)  # 10 %
    outcomes = []
    for _ in range(100):
        try:
            outcomes.append(poll(appconfigdata, start(appconfigdata, w))[1])
        except appconfigdata.exceptions.ResourceNotFoundException as err:
            assert err.response['ResourceType'] == 'Deployment'
            outcomes.append(None)
    assert 2 <= outcomes.count(b'first') <= 25
    assert outcomes.count(None) == 100 - outcomes.count(b'first')


def test_new_version_with_same_bytes_is_still_a_change(appconfig, appconfigdata):
    w = make_world(appconfig)
    w.deploy(b'same', label='v1')
    first, _ = poll(appconfigdata, start(appconfigdata, w))
    w.deploy(b'same', label='v2')
    second, body = poll(appconfigdata, first['NextPollConfigurationToken'])
    assert (body, second['VersionLabel']) == (b'same', 'v2')


# --- the in-process caches ------------------------------------------------------------------------


def test_this_process_sees_its_own_changes_at_once(appconfig, appconfigdata, cached):
    """Started, stopped, rolled back, reverted, completed by the clock: the next poll this
    process answers reflects it, however young its cached delivery item is."""
    w = make_world(appconfig)
    w.deploy(b'one')
    token = poll(appconfigdata, start(appconfigdata, w))[0]['NextPollConfigurationToken']

    def next_body():
        nonlocal token
        response, body = poll(appconfigdata, token)
        token = response['NextPollConfigurationToken']
        return body

    w.deploy(b'two')  # started (and complete: instant)
    assert next_body() == b'two'
    deployment = w.deploy(b'three', strategy=LINEAR_10)
    clock.advance(minutes=20)  # complete by the clock alone
    assert next_body() == b'three'
    w.stop(deployment, AllowRevert=True)  # reverted
    assert next_body() == b'two'
    deployment = w.deploy(b'four', strategy=LINEAR_10)
    clock.advance(minutes=10, seconds=30)  # 100 %, not complete yet
    assert next_body() == b'four'
    w.stop(deployment)  # rolled back
    assert next_body() == b'two'
    assert cached.now == 1000.0  # no cache entry aged meanwhile


def test_cache_keeps_unchanged_polls_off_dynamodb(appconfig, appconfigdata, cached, dynamo_calls):
    w = make_world(appconfig)
    w.deploy(b'x')
    token = poll(appconfigdata, start(appconfigdata, w))[0]['NextPollConfigurationToken']
    del dynamo_calls[:]
    polls = 200
    for i in range(polls):
        cached.now += 0.1  # ten polls a second
        token = poll(appconfigdata, token)[0]['NextPollConfigurationToken']
    # One read per second of polling, whatever the poll rate.
    assert len(dynamo_calls) <= polls * 0.1 / 1 + 1
    assert {c[0] for c in dynamo_calls} == {'GetItem'}


def test_cache_sees_another_processes_deployment_within_a_second(appconfig, appconfigdata, cached):
    w = make_world(appconfig)
    w.deploy(b'one')
    token = poll(appconfigdata, start(appconfigdata, w))[0]['NextPollConfigurationToken']
    # Deployed by another server process: this one is not told of the write.
    with mock.patch('chalicelib.engine.lifecycle.delivery_changed', lambda key: None):
        w.deploy(b'two')
    cached.now += 0.5
    response, body = poll(appconfigdata, token)
    assert body == b''  # still the cached item: at most a second old
    cached.now += 0.5
    response, body = poll(appconfigdata, response['NextPollConfigurationToken'])
    assert body == b'two'


def test_session_that_saw_a_newer_deployment_bypasses_an_older_cache(
    appconfig, appconfigdata, cached
):
    w = make_world(appconfig)
    w.deploy(b'one')
    poll(appconfigdata, start(appconfigdata, w))  # caches deployment 1
    w.deploy(b'two')
    # A session another server instance already answered from deployment 2.
    session = tokens.decode(start(appconfigdata, w))
    token = tokens.encode(
        session.next(clock.now(), received=('2', content.digest_of(b'two')[:16]), generation=(2, 0))
    )
    response, body = poll(appconfigdata, token)
    assert body == b''  # not stepped back to version 1


def test_content_is_read_only_when_the_client_needs_it(appconfig, appconfigdata, dynamo_calls):
    w = make_world(appconfig)
    w.deploy(b'x' * 1000)
    token = start(appconfigdata, w)
    cache.reset()  # a cold process: StartDeployment's own read left the bytes cached
    del dynamo_calls[:]
    token = poll(appconfigdata, token)[0]['NextPollConfigurationToken']
    assert ('Query', content.Chunk.Meta.table_name) in dynamo_calls
    del dynamo_calls[:]
    poll(appconfigdata, token)
    assert ('Query', content.Chunk.Meta.table_name) not in dynamo_calls


# --- last polled --------------------------------------------------------------------------------


def test_polls_mark_environment_and_profile_at_most_once_a_minute(
    appconfig, appconfigdata, dynamo_calls
):
    w = make_world(appconfig)
    w.deploy(b'x')
    t0 = clock.now()
    token = start(appconfigdata, w)
    del dynamo_calls[:]
    token = poll(appconfigdata, token)[0]['NextPollConfigurationToken']
    assert Environment.get(w.app, w.env).last_polled_at == t0
    assert Profile.get(w.app, w.profile).last_polled_at == t0
    updates = [c for c in dynamo_calls if c[0] == 'UpdateItem']
    assert sorted(t for _, t in updates) == sorted(
        [Environment.Meta.table_name, Profile.Meta.table_name]
    )
    del dynamo_calls[:]
    for _ in range(5):
        clock.advance(seconds=10)
        token = poll(appconfigdata, token)[0]['NextPollConfigurationToken']
    assert not [c for c in dynamo_calls if c[0] == 'UpdateItem']
    assert Environment.get(w.app, w.env).last_polled_at == t0
    clock.advance(seconds=15)
    poll(appconfigdata, token)
    assert Environment.get(w.app, w.env).last_polled_at == t0 + timedelta(seconds=65)


def test_another_process_marked_recently_so_no_write_lands(appconfig, appconfigdata):
    w = make_world(appconfig)
    w.deploy(b'x')
    recent = clock.now() - timedelta(seconds=20)
    Environment(w.app, w.env).update(actions=[Environment.last_polled_at.set(recent)])
    poll(appconfigdata, start(appconfigdata, w))
    assert Environment.get(w.app, w.env).last_polled_at == recent  # the condition held it
    assert Profile.get(w.app, w.profile).last_polled_at == clock.now()


def test_poll_of_a_deleted_environment_does_not_recreate_it(appconfig, appconfigdata):
    w = make_world(appconfig)
    w.deploy(b'x')
    token = start(appconfigdata, w)
    Environment.get(w.app, w.env).delete()
    with pytest.raises(appconfigdata.exceptions.ResourceNotFoundException):
        poll(appconfigdata, token)
    with pytest.raises(Environment.DoesNotExist):
        Environment.get(w.app, w.env)


@pytest.mark.parametrize('deleted', ['Environment', 'ConfigurationProfile'])
def test_sessions_of_a_deleted_resource_are_refused_within_a_minute(
    appconfig, appconfigdata, deleted
):
    w = make_world(appconfig)
    w.deploy(b'x')
    token = poll(appconfigdata, start(appconfigdata, w))[0]['NextPollConfigurationToken']
    if deleted == 'Environment':
        appconfig.delete_environment(ApplicationId=w.app, EnvironmentId=w.env)
    else:
        Profile.get(w.app, w.profile).delete()  # the API would first want its versions gone
    clock.advance(seconds=61)
    with pytest.raises(appconfigdata.exceptions.ResourceNotFoundException) as err:
        poll(appconfigdata, token)
    assert err.value.response['ResourceType'] == deleted
    with pytest.raises(appconfigdata.exceptions.ResourceNotFoundException):
        poll(appconfigdata, token)  # remembered: no further writes or reads needed
    with pytest.raises(appconfigdata.exceptions.ResourceNotFoundException) as err:
        start(appconfigdata, w)
    assert err.value.response['ResourceType'] == deleted


# --- feature flags ------------------------------------------------------------------------------

FLAGS = {
    'version': '1',
    'flags': {
        'checkout': {
            'name': 'New checkout',
            '_createdAt': '2024-01-01T00:00:00Z',
            'attributes': {
                'limit': {'constraints': {'type': 'number', 'maximum': 10}},
                'mode': {'constraints': {'type': 'string', 'enum': ['a', 'b']}},
            },
        },
        'banner': {'name': 'Banner', 'attributes': {'text': {'constraints': {'type': 'string'}}}},
    },
    'values': {
        'checkout': {
            'enabled': True,
            'limit': 5,
            'mode': 'b',
            '_updatedAt': '2024-01-02T00:00:00Z',
        },
        'banner': {'enabled': False, 'text': 'hidden while off'},
    },
}


def test_feature_flags_are_delivered_flattened(appconfig, appconfigdata):
    w = make_world(appconfig, profile_type='AWS.AppConfig.FeatureFlags')
    w.deploy(json.dumps(FLAGS).encode(), label='flags-1')
    response, body = poll(appconfigdata, start(appconfigdata, w))
    assert json.loads(body) == {
        'checkout': {'enabled': True, 'limit': 5, 'mode': 'b'},
        'banner': {'enabled': False},
    }
    assert response['ContentType'] == 'application/json'
    assert response['VersionLabel'] == 'flags-1'


def test_invalid_feature_flag_document_is_refused(appconfig):
    w = make_world(appconfig, profile_type='AWS.AppConfig.FeatureFlags')
    bad = {**FLAGS, 'values': {**FLAGS['values'], 'checkout': {'enabled': True, 'limit': 50}}}
    with pytest.raises(appconfig.exceptions.BadRequestException) as err:
        w.version(json.dumps(bad).encode())
    response = err.value.response
    assert response['Reason'] == 'InvalidConfiguration'
    details = response['Details']['InvalidConfiguration']
    assert details and any('limit' in (d.get('Location') or '') for d in details)
