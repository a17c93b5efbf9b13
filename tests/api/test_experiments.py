"""Experiments over HTTP with real boto3 clients: definitions, runs and run events."""

import json
from datetime import timedelta

import pytest

from chalicelib import clock

FLAGS = 'AWS.AppConfig.FeatureFlags'
DOC = {
    'version': '1',
    'flags': {
        'checkout': {
            'name': 'Checkout',
            'attributes': {
                'color': {'constraints': {'type': 'string'}},
                'limit': {'constraints': {'type': 'number'}},
            },
        },
        'banner': {'name': 'Banner'},
    },
    'values': {'checkout': {'enabled': False}, 'banner': {'enabled': True}},
}


def _status(err):
    return err.value.response['ResponseMetadata']['HTTPStatusCode']


def _message(err):
    return err.value.response['Error']['Message']


class World:
    """An application with two environments, a feature-flag profile holding a version that
    declares the flags, and a freeform profile."""

    def __init__(self, client, name='shop'):
        self.client = client
        self.app = client.create_application(Name=name)['Id']
        self.env = client.create_environment(ApplicationId=self.app, Name='prod')['Id']
        self.env2 = client.create_environment(ApplicationId=self.app, Name='beta')['Id']
        self.profile = client.create_configuration_profile(
            ApplicationId=self.app, Name='flags', LocationUri='hosted', Type=FLAGS
        )['Id']
        self.freeform = client.create_configuration_profile(
            ApplicationId=self.app, Name='settings', LocationUri='hosted'
        )['Id']
        version = self.version(DOC)
        # Runs serve a deployed flag: deploy it to both environments, all at once.
        self.instant = client.create_deployment_strategy(
            Name='instant',
            DeploymentDurationInMinutes=0,
            GrowthFactor=100,
            FinalBakeTimeInMinutes=0,
            ReplicateTo='NONE',
        )['Id']
        for env in (self.env, self.env2):
            self.deploy(version, env)

    def deploy(self, version, env=None):
        return self.client.start_deployment(
            ApplicationId=self.app,
            EnvironmentId=env or self.env,
            ConfigurationProfileId=self.profile,
            DeploymentStrategyId=self.instant,
            ConfigurationVersion=str(version),
        )

    def version(self, doc, profile=None):
        return self.client.create_hosted_configuration_version(
            ApplicationId=self.app,
            ConfigurationProfileId=profile or self.profile,
            Content=json.dumps(doc).encode(),
            ContentType='application/json',
        )['VersionNumber']

    def definition_args(self, **extra):
        args = {
            'ApplicationIdentifier': self.app,
            'Name': 'checkout-test',
            'ConfigurationProfileIdentifier': self.profile,
            'EnvironmentIdentifier': self.env,
            'FlagKey': 'checkout',
            'Control': {'Weight': 50, 'Description': 'today', 'FlagValue': {'Enabled': False}},
            'Treatments': [
                {
                    'Weight': 25,
                    'Description': 'red',
                    'FlagValue': {
                        'Enabled': True,
                        'AttributeValues': {'color': {'StringValue': 'red'}},
                    },
                },
                {
                    'Weight': 25,
                    'FlagValue': {
                        'Enabled': True,
                        'AttributeValues': {
                            'color': {'StringValue': 'blue'},
                            'limit': {'NumberValue': 3.5},
                        },
                    },
                },
            ],
            'AudienceRule': '(eq $country "US")',
        }
        args.update(extra)
        return args

    def define(self, **extra):
        return self.client.create_experiment_definition(**self.definition_args(**extra))

    def ids(self, definition):
        return {'ApplicationIdentifier': self.app, 'ExperimentDefinitionIdentifier': definition}

    def start(self, definition, **extra):
        return self.client.start_experiment_run(**self.ids(definition), **extra)

    def stop(self, definition, run, **extra):
        return self.client.stop_experiment_run(**self.ids(definition), Run=run, **extra)

    def update_run(self, definition, run, **extra):
        return self.client.update_experiment_run(**self.ids(definition), Run=run, **extra)

    def events(self, definition, run):
        return self.client.list_experiment_run_events(**self.ids(definition), Run=run)['Items']


@pytest.fixture
def world(appconfig):
    return World(appconfig)


# --- definitions ---------------------------------------------------------------------------


def test_create_and_get_by_id_or_name(appconfig, world):
    created = world.define(
        ApplicationIdentifier='shop',
        ConfigurationProfileIdentifier='flags',
        EnvironmentIdentifier='prod',
        Hypothesis='red sells more',
        AudienceDescription='US buyers',
        LaunchCriteria='+2% conversion',
        Tags={'team': 'growth'},
    )
    assert created['ResponseMetadata']['HTTPStatusCode'] == 201
    assert len(created['Id']) == 7 and created['Id'].isalnum() and created['Id'].islower()
    assert (
        created['ApplicationId'],
        created['ConfigurationProfileId'],
        created['EnvironmentId'],
    ) == (world.app, world.profile, world.env)
    assert created['Status'] == 'IDLE'
    assert created['Name'] == 'checkout-test' and created['FlagKey'] == 'checkout'
    assert created['AudienceRule'] == '(eq $country "US")'
    assert (created['Hypothesis'], created['AudienceDescription'], created['LaunchCriteria']) == (
        'red sells more',
        'US buyers',
        '+2% conversion',
    )
    assert created['Control'] == {
        'Key': 'c',
        'Weight': 50.0,
        'Description': 'today',
        'FlagValue': {'Enabled': False},
    }
    assert created['Treatments'] == [
        {
            'Key': 't1',
            'Weight': 25.0,
            'Description': 'red',
            'FlagValue': {'Enabled': True, 'AttributeValues': {'color': {'StringValue': 'red'}}},
        },
        {
            'Key': 't2',
            'Weight': 25.0,
            'FlagValue': {
                'Enabled': True,
                'AttributeValues': {
                    'color': {'StringValue': 'blue'},
                    'limit': {'NumberValue': 3.5},
                },
            },
        },
    ]
    assert created['CreatedAt'] == created['UpdatedAt'] == clock.now()
    assert 'KmsKeyIdentifier' not in created
    for app_ident in (world.app, 'shop'):
        for ident in (created['Id'], 'checkout-test'):
            got = appconfig.get_experiment_definition(
                ApplicationIdentifier=app_ident, ExperimentDefinitionIdentifier=ident
            )
            assert got['ResponseMetadata']['HTTPStatusCode'] == 200
            del got['ResponseMetadata'], created['ResponseMetadata']
            assert got == created
            created['ResponseMetadata'] = None


def test_all_attribute_value_kinds_round_trip(appconfig, world):
    world.version(
        {
            'version': '1',
            'flags': {
                'checkout': {
                    'name': 'c',
                    'attributes': {k: {} for k in ('s', 'n', 'b', 'sa', 'na')},
                }
            },
            'values': {'checkout': {'enabled': False}},
        }
    )
    values = {
        's': {'StringValue': ''},
        'n': {'NumberValue': -1.25},
        'b': {'BooleanValue': False},
        'sa': {'StringArray': ['x', 'y']},
        'na': {'NumberArray': [1.0, 2.5]},
    }
    created = world.define(
        Treatments=[{'Weight': 0, 'FlagValue': {'Enabled': True, 'AttributeValues': values}}]
    )
    assert created['Treatments'][0]['FlagValue']['AttributeValues'] == values
    assert created['Treatments'][0]['Weight'] == 0.0


def test_create_names_missing_parents(appconfig, world):
    cases = [
        ({'ApplicationIdentifier': 'nope'}, 'Application', 'nope'),
        ({'ConfigurationProfileIdentifier': 'nope'}, 'ConfigurationProfile', 'nope'),
        ({'EnvironmentIdentifier': 'nope'}, 'Environment', 'nope'),
    ]
    for extra, kind, ident in cases:
        with pytest.raises(appconfig.exceptions.ResourceNotFoundException) as err:
            world.define(**extra)
        assert _status(err) == 404
        assert _message(err) == f'{kind} {ident} not found'
        assert err.value.response['ResourceName'] == ident


def test_create_needs_a_feature_flag_profile(appconfig, world):
    with pytest.raises(appconfig.exceptions.BadRequestException) as err:
        world.define(ConfigurationProfileIdentifier='settings')
    assert _status(err) == 400
    assert _message(err) == (
        f'Configuration profile {world.freeform} is of type AWS.Freeform; '
        f'experiments need a feature flag profile ({FLAGS}).'
    )


def test_flag_key_must_exist_in_the_latest_version(appconfig, world):
    with pytest.raises(appconfig.exceptions.BadRequestException) as err:
        world.define(FlagKey='missing')
    assert _status(err) == 400
    assert (
        _message(err)
        == f'Flag missing does not exist in version 1 of configuration profile {world.profile}.'
    )
    # The newest version decides: banner exists in version 2, checkout no longer does.
    world.version(
        {
            'version': '1',
            'flags': {'banner': {'name': 'Banner'}},
            'values': {'banner': {'enabled': True}},
        }
    )
    with pytest.raises(appconfig.exceptions.BadRequestException) as err:
        world.define()
    assert 'Flag checkout does not exist in version 2' in _message(err)
    assert (
        world.define(FlagKey='banner', Treatments=[{'Weight': 1, 'FlagValue': {'Enabled': True}}])[
            'FlagKey'
        ]
        == 'banner'
    )


def test_treatment_attributes_must_be_declared_on_the_flag(appconfig, world):
    args = world.definition_args()
    args['Treatments'][1]['FlagValue']['AttributeValues']['size'] = {'NumberValue': 1}
    with pytest.raises(appconfig.exceptions.BadRequestException) as err:
        appconfig.create_experiment_definition(**args)
    assert _message(err) == (
        "Treatments.2.FlagValue.AttributeValues.size: attribute 'size' is not declared for "
        f'flag checkout in version 1 of configuration profile {world.profile}.'
    )


def test_profile_without_versions_accepts_any_flag_key(appconfig, world):
    empty = appconfig.create_configuration_profile(
        ApplicationId=world.app, Name='empty', LocationUri='hosted', Type=FLAGS
    )['Id']
    created = world.define(ConfigurationProfileIdentifier=empty, FlagKey='later')
    assert (created['ConfigurationProfileId'], created['FlagKey']) == (empty, 'later')


def test_names_are_unique_per_application(appconfig, world):
    world.define()
    with pytest.raises(appconfig.exceptions.ConflictException) as err:
        world.define()
    assert _status(err) == 409
    assert (
        _message(err)
        == 'An experiment definition named checkout-test already exists in application '
        f'{world.app}.'
    )
    other = World(appconfig, name='other')
    assert other.define()['Name'] == 'checkout-test'


def test_attribute_value_is_a_union(raw_appconfig, world):
    for value in ({'StringValue': 'red', 'BooleanValue': True}, {}):
        args = world.definition_args()
        args['Treatments'][0]['FlagValue']['AttributeValues']['color'] = value
        with pytest.raises(raw_appconfig.exceptions.BadRequestException) as err:
            raw_appconfig.create_experiment_definition(**args)
        assert _message(err) == (
            'Treatments.1.FlagValue.AttributeValues.color must set exactly one of '
            'StringValue, NumberValue, BooleanValue, StringArray, NumberArray.'
        )


def test_weights_must_not_all_be_zero(appconfig, world):
    with pytest.raises(appconfig.exceptions.BadRequestException) as err:
        world.define(
            Control={'Weight': 0, 'FlagValue': {'Enabled': False}},
            Treatments=[{'Weight': 0, 'FlagValue': {'Enabled': True}}],
        )
    assert _status(err) == 400
    assert _message(err) == 'The weights of the control and the treatments must not all be 0.'


def _treatment(weight=1):
    return {'Weight': weight, 'FlagValue': {'Enabled': True}}


@pytest.mark.parametrize(
    'change, field',
    [
        ({'Name': 'AWS.mine'}, 'name'),
        ({'Name': ''}, 'name'),
        ({'Name': 'x' * 65}, 'name'),
        ({'FlagKey': 'Checkout'}, 'flagKey'),
        ({'FlagKey': 'c'}, 'flagKey'),
        ({'Treatments': []}, 'treatments'),
        ({'Treatments': [_treatment() for _ in range(6)]}, 'treatments'),
        ({'Treatments': [_treatment(-1)]}, 'treatments.1.member.weight'),
        ({'Treatments': [{'Weight': 1}]}, 'treatments.1.member.flagValue'),
        ({'Treatments': [{'Weight': 1, 'FlagValue': {}}]}, 'treatments.1.member.flagValue.enabled'),
        (
            {
                'Treatments': [
                    {'Weight': 1, 'Description': 'd' * 1025, 'FlagValue': {'Enabled': True}}
                ]
            },
            'treatments.1.member.description',
        ),
        (
            {
                'Treatments': [
                    {
                        'Weight': 1,
                        'FlagValue': {
                            'Enabled': True,
                            'AttributeValues': {'enabled': {'BooleanValue': True}},
                        },
                    }
                ]
            },
            'attributeValues.enabled.key',
        ),
        (
            {
                'Treatments': [
                    {
                        'Weight': 1,
                        'FlagValue': {
                            'Enabled': True,
                            'AttributeValues': {f'a{i}': {'BooleanValue': True} for i in range(26)},
                        },
                    }
                ]
            },
            'flagValue.attributeValues',
        ),
        (
            {
                'Treatments': [
                    {
                        'Weight': 1,
                        'FlagValue': {
                            'Enabled': True,
                            'AttributeValues': {'color': {'StringArray': ['x'] * 26}},
                        },
                    }
                ]
            },
            'stringArray',
        ),
        (
            {
                'Treatments': [
                    {
                        'Weight': 1,
                        'FlagValue': {
                            'Enabled': True,
                            'AttributeValues': {'color': {'StringValue': 'x' * 1025}},
                        },
                    }
                ]
            },
            'stringValue',
        ),
        ({'Control': None}, 'control'),
        ({'AudienceRule': ''}, 'audienceRule'),
        ({'AudienceRule': 'x' * 16385}, 'audienceRule'),
        ({'Hypothesis': 'h' * 1025}, 'hypothesis'),
        ({'LaunchCriteria': 'h' * 1025}, 'launchCriteria'),
        ({'AudienceDescription': 'h' * 1025}, 'audienceDescription'),
        ({'Tags': {f'k{i}': 'v' for i in range(51)}}, 'tags'),
        ({'Tags': {'k': 'v' * 257}}, 'tags.k.value'),
    ],
)
def test_create_validation(raw_appconfig, world, change, field):
    args = world.definition_args()
    args.update(change)
    args = {k: v for k, v in args.items() if v is not None}
    with pytest.raises(raw_appconfig.exceptions.BadRequestException) as err:
        raw_appconfig.create_experiment_definition(**args)
    assert _status(err) == 400
    assert field in _message(err)


def test_create_refuses_aws_tag_keys(appconfig, world):
    with pytest.raises(appconfig.exceptions.BadRequestException) as err:
        world.define(Tags={'aws:owner': 'me'})
    assert _message(err) == "Tag keys must not start with 'aws:': aws:owner"


def test_get_missing(appconfig, world):
    with pytest.raises(appconfig.exceptions.ResourceNotFoundException) as err:
        appconfig.get_experiment_definition(**world.ids('nothing'))
    assert _status(err) == 404 and _message(err) == 'ExperimentDefinition nothing not found'
    with pytest.raises(appconfig.exceptions.ResourceNotFoundException) as err:
        appconfig.get_experiment_definition(
            ApplicationIdentifier='gone', ExperimentDefinitionIdentifier='x'
        )
    assert _message(err) == 'Application gone not found'


def test_update_definition(appconfig, world):
    created = world.define(Hypothesis='old')
    clock.advance(minutes=5)
    updated = appconfig.update_experiment_definition(
        **world.ids('checkout-test'),
        Hypothesis='new',
        AudienceRule='(eq $tier "gold")',
        AudienceDescription='gold',
        LaunchCriteria='ship it',
        Treatments=[
            {
                'Weight': 10,
                'FlagValue': {
                    'Enabled': True,
                    'AttributeValues': {'color': {'StringValue': 'green'}},
                },
            }
        ],
    )
    assert updated['ResponseMetadata']['HTTPStatusCode'] == 200
    assert (
        updated['Hypothesis'],
        updated['AudienceRule'],
        updated['AudienceDescription'],
        updated['LaunchCriteria'],
    ) == ('new', '(eq $tier "gold")', 'gold', 'ship it')
    assert updated['Treatments'] == [
        {
            'Key': 't1',
            'Weight': 10.0,
            'FlagValue': {'Enabled': True, 'AttributeValues': {'color': {'StringValue': 'green'}}},
        }
    ]
    assert updated['Control'] == created['Control']
    assert updated['CreatedAt'] == created['CreatedAt']
    assert updated['UpdatedAt'] == created['CreatedAt'] + timedelta(minutes=5)
    control_only = appconfig.update_experiment_definition(
        **world.ids(created['Id']), Control={'Weight': 90, 'FlagValue': {'Enabled': False}}
    )
    assert control_only['Control'] == {'Key': 'c', 'Weight': 90.0, 'FlagValue': {'Enabled': False}}
    assert control_only['Treatments'] == updated['Treatments']
    got = appconfig.get_experiment_definition(**world.ids(created['Id']))
    assert got['Control'] == control_only['Control'] and got['Hypothesis'] == 'new'
    nothing = appconfig.update_experiment_definition(**world.ids(created['Id']))
    assert nothing['UpdatedAt'] == got['UpdatedAt']


def test_update_definition_checks_like_create(appconfig, raw_appconfig, world):
    world.define()
    with pytest.raises(appconfig.exceptions.BadRequestException) as err:
        appconfig.update_experiment_definition(
            **world.ids('checkout-test'),
            Treatments=[
                {
                    'Weight': 1,
                    'FlagValue': {
                        'Enabled': True,
                        'AttributeValues': {'shape': {'StringValue': 'round'}},
                    },
                }
            ],
        )
    assert "attribute 'shape' is not declared for flag checkout" in _message(err)
    with pytest.raises(appconfig.exceptions.BadRequestException) as err:
        appconfig.update_experiment_definition(
            **world.ids('checkout-test'),
            Control={'Weight': 0, 'FlagValue': {'Enabled': False}},
            Treatments=[_treatment(0)],
        )
    assert 'must not all be 0' in _message(err)
    for change, field in (
        ({'Treatments': [_treatment()] * 6}, 'treatments'),
        ({'AudienceRule': ''}, 'audienceRule'),
        ({'Hypothesis': 'h' * 1025}, 'hypothesis'),
    ):
        with pytest.raises(raw_appconfig.exceptions.BadRequestException) as err:
            raw_appconfig.update_experiment_definition(**world.ids('checkout-test'), **change)
        assert field in _message(err)
    with pytest.raises(appconfig.exceptions.ResourceNotFoundException):
        appconfig.update_experiment_definition(**world.ids('nothing'), Hypothesis='x')


def test_definition_cannot_change_while_a_run_is_active(appconfig, world):
    definition = world.define()['Id']
    world.start(definition)
    with pytest.raises(appconfig.exceptions.ConflictException) as err:
        appconfig.update_experiment_definition(**world.ids(definition), Hypothesis='x')
    assert _status(err) == 409
    assert _message(err) == (
        f'Experiment definition {definition} has experiment run 1 running. Stop the run first.'
    )
    assert appconfig.get_experiment_definition(**world.ids(definition))['Status'] == 'ACTIVE'
    world.stop(definition, 1)
    got = appconfig.get_experiment_definition(**world.ids(definition))
    assert got['Status'] == 'IDLE'
    assert (
        appconfig.update_experiment_definition(**world.ids(definition), Hypothesis='x')[
            'Hypothesis'
        ]
        == 'x'
    )


# --- runs --------------------------------------------------------------------------------


def test_start_run(appconfig, world):
    created = world.define(Hypothesis='h')
    run = world.start(
        'checkout-test',
        Description='first',
        Tags={'cost': 'a'},
        TreatmentOverrides={'Inline': {'user-1': 't2', 'user-2': 'c'}},
        DeploymentParameters={'Tags': {'x': 'y'}},
    )
    assert run['ResponseMetadata']['HTTPStatusCode'] == 201
    assert (run['ApplicationId'], run['ExperimentDefinitionId'], run['Run']) == (
        world.app,
        created['Id'],
        1,
    )
    assert (run['Status'], run['Description'], run['ExposurePercentage']) == (
        'RUNNING',
        'first',
        0.0,
    )
    assert run['TreatmentOverrides'] == {'Inline': {'user-1': 't2', 'user-2': 'c'}}
    assert run['StartedAt'] == run['UpdatedAt'] == clock.now()
    assert 'EndedAt' not in run and 'Result' not in run
    snapshot = run['ExperimentDefinitionSnapshot']
    expected = {
        k: created[k]
        for k in (
            'ApplicationId',
            'Id',
            'Name',
            'Hypothesis',
            'ConfigurationProfileId',
            'EnvironmentId',
            'FlagKey',
            'AudienceRule',
            'Treatments',
            'Control',
        )
    }
    assert snapshot == expected
    got = appconfig.get_experiment_run(**world.ids(created['Id']), Run=1)
    assert got['ResponseMetadata']['HTTPStatusCode'] == 200
    del got['ResponseMetadata'], run['ResponseMetadata']
    assert got == run
    assert appconfig.get_experiment_definition(**world.ids(created['Id']))['Status'] == 'ACTIVE'


def test_one_running_run_per_definition(appconfig, world):
    definition = world.define()['Id']
    assert world.start(definition, ExposurePercentage=10)['Run'] == 1
    with pytest.raises(appconfig.exceptions.ConflictException) as err:
        world.start(definition)
    assert _status(err) == 409
    assert _message(err) == (
        f'Experiment definition {definition} has experiment run 1 running. Stop the run first.'
    )
    world.stop(definition, 1)
    second = world.start(definition, ExposurePercentage=5)
    assert (second['Run'], second['ExposurePercentage']) == (2, 5.0)
    assert appconfig.get_experiment_run(**world.ids(definition), Run=1)['Status'] == 'DONE'


def test_snapshot_keeps_the_definition_of_its_time(appconfig, world):
    definition = world.define(Hypothesis='first')['Id']
    world.start(definition)
    world.stop(definition, 1)
    appconfig.update_experiment_definition(**world.ids(definition), Hypothesis='second')
    world.start(definition)
    snapshots = [
        appconfig.get_experiment_run(**world.ids(definition), Run=n)[
            'ExperimentDefinitionSnapshot'
        ]['Hypothesis']
        for n in (1, 2)
    ]
    assert snapshots == ['first', 'second']


def test_start_checks_overrides_and_parents(appconfig, world):
    definition = world.define()['Id']
    with pytest.raises(appconfig.exceptions.BadRequestException) as err:
        world.start(definition, TreatmentOverrides={'Inline': {'user-1': 't3'}})
    assert _status(err) == 400
    assert _message(err) == (
        "TreatmentOverrides.Inline.user-1: treatment key 't3' does not exist. Use one of c, t1, t2."
    )
    with pytest.raises(appconfig.exceptions.BadRequestException) as err:
        world.start(definition, Tags={'aws:x': 'y'})
    assert 'aws:' in _message(err)
    with pytest.raises(appconfig.exceptions.ResourceNotFoundException) as err:
        world.start('nothing')
    assert _message(err) == 'ExperimentDefinition nothing not found'
    # The flag must still be there when the run starts.
    world.version(
        {
            'version': '1',
            'flags': {'banner': {'name': 'Banner'}},
            'values': {'banner': {'enabled': True}},
        }
    )
    with pytest.raises(appconfig.exceptions.BadRequestException) as err:
        world.start(definition)
    assert 'Flag checkout does not exist in version 2' in _message(err)
    world.version(DOC)
    appconfig.delete_environment(ApplicationId=world.app, EnvironmentId=world.env)
    with pytest.raises(appconfig.exceptions.ResourceNotFoundException) as err:
        world.start(definition)
    assert _message(err) == f'Environment {world.env} not found'
    assert appconfig.list_experiment_runs(**world.ids(definition))['Items'] == []


@pytest.mark.parametrize(
    'change, field',
    [
        ({'ExposurePercentage': 101}, 'exposurePercentage'),
        ({'ExposurePercentage': -1}, 'exposurePercentage'),
        ({'Description': 'd' * 1025}, 'description'),
        (
            {'TreatmentOverrides': {'Inline': {f'u{i}': 'c' for i in range(33)}}},
            'treatmentOverrides.inline',
        ),
        (
            {'TreatmentOverrides': {'Inline': {'u': 'not-a-key'}}},
            'treatmentOverrides.inline.u.value',
        ),
        ({'TreatmentOverrides': {'Inline': {'': 'c'}}}, 'treatmentOverrides.inline..key'),
        ({'Tags': {f'k{i}': 'v' for i in range(51)}}, 'tags'),
        (
            {'DeploymentParameters': {'DynamicExtensionParameters': {}}},
            'deploymentParameters.dynamicExtensionParameters',
        ),
        (
            {'DeploymentParameters': {'DynamicExtensionParameters': {'no-hash': 'v'}}},
            'deploymentParameters.dynamicExtensionParameters.no-hash.key',
        ),
    ],
)
def test_start_validation(raw_appconfig, world, change, field):
    definition = world.define()['Id']
    with pytest.raises(raw_appconfig.exceptions.BadRequestException) as err:
        raw_appconfig.start_experiment_run(**world.ids(definition), **change)
    assert _status(err) == 400
    assert field in _message(err)


def test_run_number_validation(raw_appconfig, world):
    definition = world.define()['Id']
    for call in (
        raw_appconfig.get_experiment_run,
        raw_appconfig.stop_experiment_run,
        raw_appconfig.update_experiment_run,
        raw_appconfig.list_experiment_run_events,
    ):
        with pytest.raises(raw_appconfig.exceptions.BadRequestException) as err:
            call(**world.ids(definition), Run=0)
        assert 'run' in _message(err)


def test_missing_run(appconfig, world):
    definition = world.define()['Id']
    for call in (
        appconfig.get_experiment_run,
        appconfig.stop_experiment_run,
        appconfig.update_experiment_run,
        appconfig.list_experiment_run_events,
    ):
        with pytest.raises(appconfig.exceptions.ResourceNotFoundException) as err:
            call(**world.ids(definition), Run=7)
        assert _status(err) == 404 and _message(err) == 'ExperimentRun 7 not found'
        assert err.value.response['ResourceName'] == '7'


def test_exposure_only_grows(appconfig, raw_appconfig, world):
    definition = world.define()['Id']
    world.start(definition, ExposurePercentage=10)
    clock.advance(minutes=1)
    grown = world.update_run(definition, 1, ExposurePercentage=50.5)
    assert grown['ResponseMetadata']['HTTPStatusCode'] == 200
    assert grown['ExposurePercentage'] == 50.5
    assert grown['UpdatedAt'] == grown['StartedAt'] + timedelta(minutes=1)
    with pytest.raises(appconfig.exceptions.BadRequestException) as err:
        world.update_run(definition, 1, ExposurePercentage=40)
    assert _status(err) == 400
    assert _message(err) == (
        'ExposurePercentage can only increase: experiment run 1 exposes '
        '50.50%, the request asks for 40.00%.'
    )
    same = world.update_run(definition, 1, ExposurePercentage=50.5)
    assert same['ExposurePercentage'] == 50.5
    for bad in (100.5, -0.5):
        with pytest.raises(raw_appconfig.exceptions.BadRequestException) as err:
            raw_appconfig.update_experiment_run(
                **world.ids(definition), Run=1, ExposurePercentage=bad
            )
        assert 'exposurePercentage' in _message(err)
    assert world.update_run(definition, 1, ExposurePercentage=100)['ExposurePercentage'] == 100
    events = world.events(definition, 1)
    assert [(e['EventType'], e['ExposurePercentage']) for e in events] == [
        ('RUN_STARTED', 10.0),
        ('EXPOSURE_UPDATED', 50.5),
        ('EXPOSURE_UPDATED', 100.0),
    ]
    assert events[1]['Description'] == 'Exposure increased from 10.00% to 50.50%'


def test_update_run_overrides_description_and_parameters(appconfig, world):
    definition = world.define()['Id']
    world.start(definition, ExposurePercentage=20, Description='d1')
    updated = world.update_run(
        definition,
        1,
        Description='d2',
        TreatmentOverrides={'Inline': {'qa-1': 't1'}},
        DeploymentParameters={'DynamicExtensionParameters': {'ext#param': 'value'}},
    )
    assert updated['Description'] == 'd2'
    assert updated['TreatmentOverrides'] == {'Inline': {'qa-1': 't1'}}
    assert updated['ExposurePercentage'] == 20.0
    with pytest.raises(appconfig.exceptions.BadRequestException) as err:
        world.update_run(definition, 1, TreatmentOverrides={'Inline': {'qa-1': 'x'}})
    assert "treatment key 'x' does not exist" in _message(err)
    # Both changes in one request: one event each, in that order.
    world.update_run(
        definition,
        1,
        ExposurePercentage=30,
        TreatmentOverrides={'Inline': {'qa-1': 't2', 'qa-2': 'c'}},
    )
    cleared = world.update_run(definition, 1, TreatmentOverrides={'Inline': {}})
    assert cleared['TreatmentOverrides'] == {'Inline': {}}
    events = world.events(definition, 1)
    assert [
        (e['EventType'], e['ExposurePercentage'], e.get('TreatmentOverrides')) for e in events
    ] == [
        ('RUN_STARTED', 20.0, None),
        ('OVERRIDES_UPDATED', 20.0, {'Inline': {'qa-1': 't1'}}),
        ('EXPOSURE_UPDATED', 30.0, {'Inline': {'qa-1': 't2', 'qa-2': 'c'}}),
        ('OVERRIDES_UPDATED', 30.0, {'Inline': {'qa-1': 't2', 'qa-2': 'c'}}),
        ('OVERRIDES_UPDATED', 30.0, {'Inline': {}}),
    ]
    assert events[1]['Description'] == 'Treatment overrides set for 1 entity'
    # Unchanged overrides and a description alone record no event.
    world.update_run(definition, 1, TreatmentOverrides={'Inline': {}}, Description='d3')
    assert len(world.events(definition, 1)) == 5


def test_stop_run(appconfig, world):
    definition = world.define()['Id']
    started = world.start(
        definition, ExposurePercentage=25, TreatmentOverrides={'Inline': {'qa': 't1'}}
    )
    clock.advance(hours=2)
    result = {
        'ExecutiveSummary': 'red wins',
        'ReasonsToLaunch': '+3%',
        'ReasonsNotToLaunch': 'none',
    }
    stopped = world.stop(definition, 1, Result=result)
    assert stopped['ResponseMetadata']['HTTPStatusCode'] == 200
    assert stopped['Status'] == 'DONE'
    assert stopped['EndedAt'] == stopped['UpdatedAt'] == started['StartedAt'] + timedelta(hours=2)
    assert stopped['Result'] == result
    assert stopped['ExposurePercentage'] == 25.0
    assert appconfig.get_experiment_run(**world.ids(definition), Run=1)['Result'] == result
    events = world.events(definition, 1)
    assert [e['EventType'] for e in events] == ['RUN_STARTED', 'RUN_STOPPED']
    last = events[-1]
    assert (
        last['TriggeredBy'],
        last['OccurredAt'],
        last['ExposurePercentage'],
        last['TreatmentOverrides'],
        last['Description'],
    ) == ('USER', stopped['EndedAt'], 25.0, {'Inline': {'qa': 't1'}}, 'Experiment run 1 stopped')
    # Each change is a MANAGED deployment of the deployed version (numbers 2 and 3: the
    # world deployed the flag first), named by ARN in its event.
    arn = (
        f'arn:aws:appconfig:us-east-1:123456789012:application/{world.app}/environment/'
        f'{world.env}/deployment/'
    )
    assert [e['AssociatedDeployment'] for e in events] == [arn + '2', arn + '3']
    summaries = appconfig.list_deployments(ApplicationId=world.app, EnvironmentId=world.env)[
        'Items'
    ]
    assert [
        (d['DeploymentNumber'], d['Type'], d['State'], d['ConfigurationVersion']) for d in summaries
    ] == [
        (3, 'MANAGED', 'COMPLETE', '1'),
        (2, 'MANAGED', 'COMPLETE', '1'),
        (1, 'USER', 'COMPLETE', '1'),
    ]
    assert events[0]['OccurredAt'] == started['StartedAt']
    assert events[0]['Description'] == 'Experiment run 1 started with 25.00% exposure'
    # A stopped run is finished.
    with pytest.raises(appconfig.exceptions.ConflictException) as err:
        world.stop(definition, 1)
    assert _status(err) == 409
    assert _message(err) == f'Experiment run 1 of experiment definition {definition} is DONE.'
    with pytest.raises(appconfig.exceptions.ConflictException):
        world.update_run(definition, 1, ExposurePercentage=50)
    assert appconfig.get_experiment_definition(**world.ids(definition))['Status'] == 'IDLE'


def test_stop_without_result(appconfig, world):
    definition = world.define()['Id']
    world.start(definition)
    stopped = world.stop(definition, 1)
    assert stopped['Status'] == 'DONE' and 'Result' not in stopped


def test_list_runs_paginates_newest_first_and_filters(appconfig, raw_appconfig, world):
    definition = world.define()['Id']
    for n in range(1, 6):
        world.start(definition, Description=f'run {n}')
        if n < 5:
            world.stop(definition, n)
    first = appconfig.list_experiment_runs(**world.ids(definition), MaxResults=2)
    assert [i['Run'] for i in first['Items']] == [5, 4] and first['NextToken']
    item = first['Items'][0]
    assert (item['ExperimentDefinitionId'], item['Status'], item['Description']) == (
        definition,
        'RUNNING',
        'run 5',
    )
    assert 'EndedAt' not in item and first['Items'][1]['EndedAt']
    paginator = appconfig.get_paginator('list_experiment_runs')
    pages = list(paginator.paginate(**world.ids(definition), PaginationConfig={'PageSize': 2}))
    assert len(pages) == 3
    assert [i['Run'] for p in pages for i in p['Items']] == [5, 4, 3, 2, 1]
    running = appconfig.list_experiment_runs(**world.ids('checkout-test'), Status='RUNNING')
    assert [i['Run'] for i in running['Items']] == [5]
    done = list(
        paginator.paginate(**world.ids(definition), Status='DONE', PaginationConfig={'PageSize': 3})
    )
    assert [i['Run'] for p in done for i in p['Items']] == [4, 3, 2, 1]
    with pytest.raises(appconfig.exceptions.BadRequestException):
        appconfig.list_experiment_runs(**world.ids(definition), NextToken='garbage')
    for bad in ({'MaxResults': 0}, {'MaxResults': 51}, {'Status': 'STOPPED'}):
        with pytest.raises(raw_appconfig.exceptions.BadRequestException) as err:
            raw_appconfig.list_experiment_runs(**world.ids(definition), **bad)
        assert _status(err) == 400
    with pytest.raises(appconfig.exceptions.ResourceNotFoundException):
        appconfig.list_experiment_runs(**world.ids('nothing'))


def test_list_run_events_paginates(appconfig, world):
    definition = world.define()['Id']
    world.start(definition)
    for pct in range(10, 80, 10):
        clock.advance(minutes=1)
        world.update_run(definition, 1, ExposurePercentage=pct)
    world.stop(definition, 1)
    paginator = appconfig.get_paginator('list_experiment_run_events')
    pages = list(
        paginator.paginate(**world.ids(definition), Run=1, PaginationConfig={'PageSize': 3})
    )
    events = [e for p in pages for e in p['Items']]
    assert len(pages) == 3
    assert [e['EventType'] for e in events] == ['RUN_STARTED'] + ['EXPOSURE_UPDATED'] * 7 + [
        'RUN_STOPPED'
    ]
    assert [e['ExposurePercentage'] for e in events] == [
        0.0,
        10.0,
        20.0,
        30.0,
        40.0,
        50.0,
        60.0,
        70.0,
        70.0,
    ]
    times = [e['OccurredAt'] for e in events]
    assert times == sorted(times) and times[1] - times[0] == timedelta(minutes=1)
    first = appconfig.list_experiment_run_events(**world.ids(definition), Run=1, MaxResults=4)
    assert len(first['Items']) == 4 and first['NextToken']
    rest = appconfig.list_experiment_run_events(
        **world.ids(definition), Run=1, NextToken=first['NextToken']
    )
    assert len(rest['Items']) == 5 and 'NextToken' not in rest
    # A token belongs to its own list.
    world.start(definition)
    with pytest.raises(appconfig.exceptions.BadRequestException) as err:
        appconfig.list_experiment_run_events(
            **world.ids(definition), Run=2, NextToken=first['NextToken']
        )
    assert _message(err) == 'The NextToken is not valid'


# --- delete ------------------------------------------------------------------------------


def test_archive(appconfig, raw_appconfig, world):
    definition = world.define()['Id']
    world.start(definition)
    with pytest.raises(appconfig.exceptions.ConflictException) as err:
        appconfig.delete_experiment_definition(**world.ids(definition), DeleteType='ARCHIVE')
    assert _status(err) == 409
    assert 'has experiment run 1 running' in _message(err)
    world.stop(definition, 1)
    clock.advance(minutes=1)
    deleted = appconfig.delete_experiment_definition(
        **world.ids('checkout-test'), DeleteType='ARCHIVE'
    )
    assert deleted['ResponseMetadata']['HTTPStatusCode'] == 204
    got = appconfig.get_experiment_definition(**world.ids(definition))
    assert got['Status'] == 'ARCHIVED' and got['UpdatedAt'] > got['CreatedAt']
    # Kept and readable, with its history, but closed to change.
    assert appconfig.get_experiment_run(**world.ids(definition), Run=1)['Status'] == 'DONE'
    assert len(world.events(definition, 1)) == 2
    for call in (
        lambda: world.start(definition),
        lambda: appconfig.update_experiment_definition(**world.ids(definition), Hypothesis='x'),
    ):
        with pytest.raises(appconfig.exceptions.ConflictException) as err:
            call()
        assert _message(err) == f'Experiment definition {definition} is archived.'
    # Archiving again is fine (the operation is idempotent); the default type is ARCHIVE.
    appconfig.delete_experiment_definition(**world.ids(definition), DeleteType='ARCHIVE')
    appconfig.delete_experiment_definition(**world.ids(definition))
    assert appconfig.get_experiment_definition(**world.ids(definition))['Status'] == 'ARCHIVED'
    # Its name stays taken until it is destroyed.
    with pytest.raises(appconfig.exceptions.ConflictException):
        world.define()
    with pytest.raises(raw_appconfig.exceptions.BadRequestException) as err:
        raw_appconfig.delete_experiment_definition(**world.ids(definition), DeleteType='PURGE')
    assert 'deleteType' in _message(err)


def test_default_delete_archives(appconfig, world):
    definition = world.define()['Id']
    appconfig.delete_experiment_definition(**world.ids(definition))
    assert appconfig.get_experiment_definition(**world.ids(definition))['Status'] == 'ARCHIVED'


def test_destroy(appconfig, world):
    definition = world.define()['Id']
    for n in (1, 2, 3):
        world.start(definition)
        world.update_run(definition, n, ExposurePercentage=50)
        if n < 3:
            world.stop(definition, n)
    with pytest.raises(appconfig.exceptions.ConflictException) as err:
        appconfig.delete_experiment_definition(**world.ids(definition), DeleteType='DESTROY')
    assert 'has experiment run 3 running' in _message(err)
    world.stop(definition, 3)
    deleted = appconfig.delete_experiment_definition(
        **world.ids('checkout-test'), DeleteType='DESTROY'
    )
    assert deleted['ResponseMetadata']['HTTPStatusCode'] == 204
    with pytest.raises(appconfig.exceptions.ResourceNotFoundException):
        appconfig.get_experiment_definition(**world.ids(definition))
    with pytest.raises(appconfig.exceptions.ResourceNotFoundException):
        appconfig.delete_experiment_definition(**world.ids(definition), DeleteType='DESTROY')
    # The runs and their events went with it, and the name is free again.
    from chalicelib.store.experiments import (
        ExperimentRun,
        ExperimentRunEvent,
        definition_key,
        run_key,
    )

    assert list(ExperimentRun.query(definition_key(world.app, definition))) == []
    for n in (1, 2, 3):
        assert list(ExperimentRunEvent.query(run_key(world.app, definition, n))) == []
    again = world.define()
    assert again['Id'] != definition
    assert appconfig.list_experiment_runs(**world.ids(again['Id']))['Items'] == []


def test_destroy_an_archived_definition(appconfig, world):
    definition = world.define()['Id']
    appconfig.delete_experiment_definition(**world.ids(definition), DeleteType='ARCHIVE')
    appconfig.delete_experiment_definition(**world.ids(definition), DeleteType='DESTROY')
    with pytest.raises(appconfig.exceptions.ResourceNotFoundException):
        appconfig.get_experiment_definition(**world.ids('checkout-test'))


# --- list definitions ----------------------------------------------------------------------


def test_list_definitions_filters_and_paginates(appconfig, raw_appconfig, world):
    other = World(appconfig, name='other')
    second_profile = appconfig.create_configuration_profile(
        ApplicationId=world.app, Name='flags2', LocationUri='hosted', Type=FLAGS
    )['Id']
    world.version(DOC, profile=second_profile)
    made = {}  # id -> (app, profile, env)
    for i in range(4):
        d = world.define(Name=f'a{i}', EnvironmentIdentifier='prod' if i % 2 else 'beta')
        made[d['Id']] = (world.app, world.profile, d['EnvironmentId'])
    for i in range(2):
        d = world.define(Name=f'b{i}', ConfigurationProfileIdentifier='flags2')
        made[d['Id']] = (world.app, second_profile, world.env)
    for i in range(3):
        d = other.define(Name=f'o{i}')
        made[d['Id']] = (other.app, other.profile, other.env)
    archived = world.define(Name='old')['Id']
    appconfig.delete_experiment_definition(**world.ids(archived))

    def ids(**filters):
        paginator = appconfig.get_paginator('list_experiment_definitions')
        pages = list(paginator.paginate(**filters, PaginationConfig={'PageSize': 2}))
        assert all(p['Items'] for p in pages) or len(pages) == 1
        return sorted(i['Id'] for p in pages for i in p['Items'])

    assert ids() == sorted(made)
    assert ids(ApplicationIdentifier='shop') == sorted(
        k for k, v in made.items() if v[0] == world.app
    )
    assert ids(ApplicationIdentifier=other.app) == sorted(
        k for k, v in made.items() if v[0] == other.app
    )
    assert ids(ApplicationIdentifier='shop', ConfigurationProfileIdentifier='flags2') == sorted(
        k for k, v in made.items() if v[1] == second_profile
    )
    assert ids(ApplicationIdentifier='shop', EnvironmentIdentifier='beta') == sorted(
        k for k, v in made.items() if v[2] == world.env2
    )
    # Without an application the profile and environment filters match ids.
    assert ids(EnvironmentIdentifier=other.env) == sorted(
        k for k, v in made.items() if v[0] == other.app
    )
    assert ids(ConfigurationProfileIdentifier=second_profile) == sorted(
        k for k, v in made.items() if v[1] == second_profile
    )
    assert ids(Status='ARCHIVED') == [archived]
    assert ids(Status='IDLE') == sorted(made)
    assert ids(Status='ACTIVE') == []
    # A run serves a deployed flag, and flags2 was never deployed: pick among the others.
    running = sorted(k for k, v in made.items() if v[1] != second_profile)[0]
    app_of_running = made[running][0]
    appconfig.start_experiment_run(
        ApplicationIdentifier=app_of_running, ExperimentDefinitionIdentifier=running
    )
    assert ids(Status='ACTIVE') == [running]

    page = appconfig.list_experiment_definitions(MaxResults=4)
    assert len(page['Items']) == 4 and page['NextToken']
    item = page['Items'][0]
    assert set(item) == {
        'ApplicationId',
        'Id',
        'Name',
        'Status',
        'ConfigurationProfileId',
        'EnvironmentId',
        'FlagKey',
        'CreatedAt',
        'UpdatedAt',
    }
    # A token of one list is refused by another.
    with pytest.raises(appconfig.exceptions.BadRequestException) as err:
        last = appconfig.list_experiment_definitions(ApplicationIdentifier='other', MaxResults=1)
        appconfig.list_experiment_definitions(
            ApplicationIdentifier='shop', NextToken=last['NextToken']
        )
    assert _message(err) == 'The NextToken is not valid'
    with pytest.raises(appconfig.exceptions.BadRequestException):
        appconfig.list_experiment_definitions(NextToken='garbage')
    for bad in ({'MaxResults': 0}, {'MaxResults': 51}, {'Status': 'RUNNING'}):
        with pytest.raises(raw_appconfig.exceptions.BadRequestException) as err:
            raw_appconfig.list_experiment_definitions(**bad)
        assert _status(err) == 400
    for filters, kind in (
        ({'ApplicationIdentifier': 'nope'}, 'Application'),
        (
            {'ApplicationIdentifier': 'shop', 'ConfigurationProfileIdentifier': 'nope'},
            'ConfigurationProfile',
        ),
        ({'ApplicationIdentifier': 'shop', 'EnvironmentIdentifier': 'nope'}, 'Environment'),
    ):
        with pytest.raises(appconfig.exceptions.ResourceNotFoundException) as err:
            appconfig.list_experiment_definitions(**filters)
        assert _message(err) == f'{kind} nope not found'


def test_list_definitions_empty(appconfig):
    assert appconfig.list_experiment_definitions()['Items'] == []


def test_application_with_definitions_cannot_be_deleted(appconfig, world):
    definition = world.define()['Id']
    appconfig.delete_experiment_definition(**world.ids(definition), DeleteType='ARCHIVE')
    for env in (world.env, world.env2):
        appconfig.delete_environment(ApplicationId=world.app, EnvironmentId=env)
    appconfig.delete_hosted_configuration_version(
        ApplicationId=world.app, ConfigurationProfileId=world.profile, VersionNumber=1
    )
    for profile in (world.profile, world.freeform):
        appconfig.delete_configuration_profile(
            ApplicationId=world.app, ConfigurationProfileId=profile
        )
    with pytest.raises(appconfig.exceptions.BadRequestException) as err:
        appconfig.delete_application(ApplicationId=world.app)
    assert _message(err) == (
        f'Cannot delete application {world.app} because it still has experiment definitions.'
    )
    # The definition outlives its profile and environment, so it can still be destroyed.
    appconfig.delete_experiment_definition(**world.ids(definition), DeleteType='DESTROY')
    appconfig.delete_application(ApplicationId=world.app)
    assert appconfig.list_experiment_definitions(Status='ARCHIVED')['Items'] == []
