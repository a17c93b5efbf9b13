"""Experiments that run: while a run is RUNNING, the Agent endpoint serves treatments by
Entity-Id and Context; stopping returns everyone to the deployed value. Property tests over
10,000 entities: shares follow ExposurePercentage and the weights, growing exposure only adds
entities and nobody's treatment changes."""

import json

import pytest
from botocore.exceptions import ClientError

from chalicelib import treatments
from chalicelib.engine import delivery
from tests.api.agent import agent_cached, agent_client, agent_port, call, fresh_agent  # noqa: F401
from tests.api.polling import cached, fresh_caches  # noqa: F401
from tests.api.test_experiments import DOC, World
from tests.api.test_variant_flags import ION_TYPE, agent_data, agent_tree  # noqa: F401

ENTITIES = [f'user-{i}' for i in range(10_000)]


@pytest.fixture
def world(appconfig):
    return World(appconfig)


def flag(world, entity=None, context='country=US', key='checkout'):
    headers = {'Context': context} if context else {}
    if entity is not None:
        headers['Entity-Id'] = entity
    r = call(world.app, world.env, world.profile, {'flag': [key]}, headers)
    assert r.status == 200, r.body
    return r.json()


def variants(world, entities=ENTITIES, **kwargs):
    delivery.delivery_cache.clear()  # a run's change is a new deployment: read the Delivery again
    return {e: flag(world, e, **kwargs).get('_variant') for e in entities}


def share(assigned, name):
    return 100 * sum(1 for v in assigned.values() if v == name) / len(assigned)


def test_exposure_and_weights_over_10000_entities(world, agent_cached):
    definition = world.define()['Id']  # control 50, t1 25, t2 25; audience country US
    world.start(definition, ExposurePercentage=40)
    assigned = variants(world)
    exposed = {e: v for e, v in assigned.items() if v is not None}
    assert abs(100 * len(exposed) / len(ENTITIES) - 40) <= 2
    for name, weight in (('__c__', 50), ('__t1__', 25), ('__t2__', 25)):
        assert abs(share(exposed, name) - weight) <= 2, name
    # The answers are the treatments' flag values.
    first_t1 = next(e for e, v in exposed.items() if v == '__t1__')
    first_t2 = next(e for e, v in exposed.items() if v == '__t2__')
    first_c = next(e for e, v in exposed.items() if v == '__c__')
    assert flag(world, first_t1) == {'_variant': '__t1__', 'enabled': True, 'color': 'red'}
    assert flag(world, first_t2) == {
        '_variant': '__t2__',
        'enabled': True,
        'color': 'blue',
        'limit': 3.5,
    }
    assert flag(world, first_c) == {'_variant': '__c__', 'enabled': False}
    # Outside the experiment: the deployed basic value, without _variant.
    unexposed = next(e for e, v in assigned.items() if v is None)
    assert flag(world, unexposed) == {'enabled': False}


def test_growing_exposure_only_adds_entities(world, agent_cached):
    definition = world.define()['Id']
    world.start(definition, ExposurePercentage=10)
    before = variants(world)
    for exposure in (30, 60, 100):
        world.update_run(definition, 1, ExposurePercentage=exposure)
        now = variants(world)
        assert abs(100 * sum(v is not None for v in now.values()) / len(ENTITIES) - exposure) <= 2
        # Nobody exposed before is dropped, and nobody's treatment changes.
        assert all(now[e] == v for e, v in before.items() if v is not None)
        before = now


def test_the_audience_rule_and_entity_id_decide_who_takes_part(world, agent_cached):
    definition = world.define()['Id']
    world.start(definition, ExposurePercentage=100)
    delivery.delivery_cache.clear()
    sample = ENTITIES[:300]
    assert set(variants(world, sample).values()) == {'__c__', '__t1__', '__t2__'}
    # Outside the audience, or without Entity-Id: the deployed value.
    assert set(variants(world, sample, context='country=DE').values()) == {None}
    assert set(variants(world, sample, context=None).values()) == {None}
    assert flag(world) == {'enabled': False}
    # The same entity gets the same treatment on every request.
    again = variants(world, sample)
    assert again == variants(world, sample)


def test_overrides_force_a_treatment(world, agent_cached):
    definition = world.define()['Id']
    world.start(
        definition, ExposurePercentage=0, TreatmentOverrides={'Inline': {'qa-1': 't2', 'qa-2': 'c'}}
    )
    delivery.delivery_cache.clear()
    # Forced whatever the audience and the exposure (0 %).
    assert flag(world, 'qa-1', context='country=DE')['_variant'] == '__t2__'
    assert flag(world, 'qa-2')['_variant'] == '__c__'
    assert set(variants(world, ENTITIES[:300]).values()) == {None}
    world.update_run(
        definition, 1, ExposurePercentage=100, TreatmentOverrides={'Inline': {'qa-1': 't1'}}
    )
    delivery.delivery_cache.clear()
    assert flag(world, 'qa-1', context='country=DE')['_variant'] == '__t1__'
    assert flag(world, 'qa-2', context='country=DE') == {'enabled': False}


def test_stopping_returns_everyone_to_the_deployed_value(world, agent_cached):
    definition = world.define()['Id']
    world.start(definition, ExposurePercentage=100)
    assert None not in set(variants(world, ENTITIES[:200]).values())
    world.stop(definition, 1)
    assert set(variants(world, ENTITIES[:200]).values()) == {None}
    assert flag(world, 'user-1') == {'enabled': False}


def test_a_user_deployment_during_a_run_keeps_serving_it(world, agent_cached, appconfig):
    definition = world.define()['Id']
    world.start(definition, ExposurePercentage=100)
    doc = json.loads(json.dumps(DOC))
    doc['values']['banner'] = {'enabled': False}
    world.deploy(world.version(doc))
    delivery.delivery_cache.clear()
    assert flag(world, 'user-1', key='banner') == {'enabled': False}  # the new version
    assert flag(world, 'user-1')['_variant'] in ('__c__', '__t1__', '__t2__')
    deployments = appconfig.list_deployments(ApplicationId=world.app, EnvironmentId=world.env)[
        'Items'
    ]
    assert [d['Type'] for d in deployments] == ['USER', 'MANAGED', 'USER']


def test_a_run_needs_the_flag_deployed(appconfig):
    w = World(appconfig, name='fresh')
    other = appconfig.create_environment(ApplicationId=w.app, Name='empty')['Id']
    definition = w.define(EnvironmentIdentifier=other)['Id']
    with pytest.raises(ClientError) as err:
        w.start(definition)
    assert err.value.response['Error']['Code'] == 'BadRequestException'
    assert 'deploy' in err.value.response['Error']['Message']


def test_a_run_cannot_change_while_a_deployment_is_in_progress(world, appconfig):
    definition = world.define()['Id']
    slow = appconfig.create_deployment_strategy(
        Name='slow',
        DeploymentDurationInMinutes=10,
        GrowthFactor=50,
        FinalBakeTimeInMinutes=0,
        ReplicateTo='NONE',
    )['Id']
    appconfig.start_deployment(
        ApplicationId=world.app,
        EnvironmentId=world.env,
        ConfigurationProfileId=world.profile,
        DeploymentStrategyId=slow,
        ConfigurationVersion='1',
    )
    with pytest.raises(ClientError) as err:
        world.start(definition, ExposurePercentage=10)
    assert err.value.response['Error']['Code'] == 'ConflictException'
    assert appconfig.get_experiment_definition(**world.ids(definition))['Status'] == 'IDLE'


def test_the_rewritten_document_is_the_rule_language():
    from chalicelib import rules

    spec = treatments.spec(
        'acct:app:def:1',
        'f',
        25,
        {'Inline': {'a"b': 't1'}},
        '(eq $country "US")',
        {'Key': 'c', 'Weight': 1, 'FlagValue': {'Enabled': False}},
        [
            {
                'Key': 't1',
                'Weight': 3,
                'FlagValue': {'Enabled': True, 'AttributeValues': {'n': {'NumberValue': 2.0}}},
            }
        ],
    )
    doc = {'version': '1', 'flags': {'f': {'name': 'F'}}, 'values': {'f': {'enabled': True}}}
    out = treatments.with_experiments(doc, [spec])
    assert doc['values']['f'] == {'enabled': True}  # the input is left alone
    names = [v['name'] for v in out['values']['f']['_variants']]
    assert names == ['__c__', '__t1__', treatments.DEPLOYED_VARIANT]
    for variant in out['values']['f']['_variants'][:2]:
        rules.parse(variant['rule'])  # every rule parses
    t1 = out['values']['f']['_variants'][1]
    assert t1['attributeValues'] == {'n': 2}
    assert t1['rule'].startswith('(or (in $entityId ["a\\"b"]) (and (exists key::"entityId")')
    assert 'split pct::25 by::$entityId seed::"acct:app:def:1:exposure"' in t1['rule']
    assert 'split pct::100 by::$entityId seed::"acct:app:def:1:treatment"' in t1['rule']
    c = out['values']['f']['_variants'][0]
    assert 'split pct::25 by::$entityId seed::"acct:app:def:1:treatment"' in c['rule']


# --- the official Agent's view: Ion on GetLatestConfiguration --------------------------------


def test_the_ion_answer_carries_running_experiments(world, agent_data):
    definition = world.define()['Id']
    token = agent_data.start_configuration_session(
        ApplicationIdentifier=world.app,
        EnvironmentIdentifier=world.env,
        ConfigurationProfileIdentifier=world.profile,
    )['InitialConfigurationToken']
    before = agent_data.get_latest_configuration(ConfigurationToken=token)
    assert before['ContentType'] == 'application/json'  # no variants: JSON, as AWS does
    before['Configuration'].read()
    world.start(definition, ExposurePercentage=30, TreatmentOverrides={'Inline': {'qa-1': 't2'}})
    delivery.delivery_cache.clear()
    during = agent_data.get_latest_configuration(
        ConfigurationToken=before['NextPollConfigurationToken']
    )
    assert during['ContentType'] == ION_TYPE
    tree = dict((notes[0], node) for notes, node in agent_tree(during['Configuration'].read()))
    assert tree['banner'] == ('string', {'enabled': True})
    kind, entries = tree['checkout']
    assert kind == 'list'
    assert [e[0][0] for e in entries[:-1]] == ['__c__', '__t1__', '__t2__']
    assert entries[1][1][1][1] == (
        'string',
        {'_variant': '__t1__', 'enabled': True, 'color': 'red'},
    )
    assert entries[-1] == ('string', {'_variant': treatments.DEPLOYED_VARIANT, 'enabled': False})
    run_arn = (
        f'arn:aws:appconfig:us-east-1:123456789012:application/{world.app}/'
        f'experimentdefinition/{definition}/experimentrun/1'
    )
    assert (
        during['ResponseMetadata']['HTTPHeaders']['experiment-flags']
        == f'checkout={run_arn}|c=__c__,t1=__t1__,t2=__t2__'
    )
    # Stopping is a new answer: the flag is basic again, so JSON again.
    world.stop(definition, 1)
    delivery.delivery_cache.clear()
    after = agent_data.get_latest_configuration(
        ConfigurationToken=during['NextPollConfigurationToken']
    )
    assert after['ContentType'] == 'application/json'
    assert json.loads(after['Configuration'].read()) == {
        'checkout': {'enabled': False},
        'banner': {'enabled': True},
    }
    assert 'experiment-flags' not in after['ResponseMetadata']['HTTPHeaders']


def test_the_audience_rule_must_be_a_rule(world, appconfig):
    for bad in ('(eq $country)', 'country is US', '(nope $a 1)'):
        with pytest.raises(ClientError) as err:
            world.define(Name='bad', AudienceRule=bad)
        assert err.value.response['Error']['Code'] == 'BadRequestException'
        assert 'AudienceRule' in err.value.response['Error']['Message']
    world.define()
    with pytest.raises(ClientError) as err:
        appconfig.update_experiment_definition(**world.ids('checkout-test'), AudienceRule='(eq')
    assert err.value.response['Error']['Code'] == 'BadRequestException'
