"""Extensions and extension associations over HTTP with real boto3 clients: versions, names,
the AWS-authored extensions, parameter rules, pagination and the errors botocore raises."""

import re

import pytest

ACCOUNT = '123456789012'
REGION = 'us-east-1'
QUEUE = f'arn:aws:sqs:{REGION}:{ACCOUNT}:events'
TOPIC = f'arn:aws:sns:{REGION}:{ACCOUNT}:events'
FUNCTION = f'arn:aws:lambda:{REGION}:{ACCOUNT}:function:backup'
ROLE = f'arn:aws:iam::{ACCOUNT}:role/appconfig-extension'
# In the order the service lists them (AWS CLI reference, list-extensions example).
AUTHORED = [
    'AWS.AppConfig.FeatureFlags',
    'AWS.AppConfig.JiraIntegration',
    'AWS.AppConfig.DeploymentNotificationsToEventBridge',
    'AWS.AppConfig.DeploymentNotificationsToSqs',
    'AWS.AppConfig.DeploymentNotificationsToSns',
]
JIRA = 'AWS.AppConfig.JiraIntegration'
JIRA_DESCRIPTION = (
    'Exports feature flag data from AWS AppConfig into Jira. The lifecycle of each feature '
    'flag in AppConfig is tracked in Jira as an individual issue. Customers can see in Jira '
    'when flags are updated, turned on or off. Works in conjunction with the AppConfig app in '
    'the Atlassian Marketplace and is automatically associated to configuration profiles '
    'configured within that app.'
)
EXTENSION_FIELDS = ('Id', 'Name', 'VersionNumber', 'Arn', 'Description', 'Actions', 'Parameters')


def actions(point='ON_DEPLOYMENT_COMPLETE', uri=QUEUE, **extra):
    return {point: [{'Name': 'notify', 'Uri': uri, **extra}]}


def create(client, name='backup', **params):
    params.setdefault('Actions', actions())
    return client.create_extension(Name=name, **params)


def fields(response):
    return {k: response[k] for k in EXTENSION_FIELDS if k in response}


def error_of(err):
    return (
        err.value.response['Error']['Code'],
        err.value.response['ResponseMetadata']['HTTPStatusCode'],
    )


@pytest.fixture
def world(appconfig):
    app = appconfig.create_application(Name='shop')['Id']
    env = appconfig.create_environment(ApplicationId=app, Name='prod')['Id']
    profile = appconfig.create_configuration_profile(
        ApplicationId=app, Name='settings', LocationUri='hosted'
    )['Id']
    base = f'arn:aws:appconfig:{REGION}:{ACCOUNT}:application/{app}'
    return {
        'app': app,
        'env': env,
        'profile': profile,
        'app_arn': base,
        'env_arn': f'{base}/environment/{env}',
        'profile_arn': f'{base}/configurationprofile/{profile}',
    }


# --- extensions ------------------------------------------------------------------------------


def test_create_and_get(appconfig):
    created = create(
        appconfig,
        Description='keeps a copy',
        Actions={
            'PRE_CREATE_HOSTED_CONFIGURATION_VERSION': [
                {'Name': 'copy', 'Description': 'copies', 'Uri': FUNCTION, 'RoleArn': ROLE}
            ],
            'ON_DEPLOYMENT_COMPLETE': [{'Name': 'tell', 'Uri': QUEUE}],
        },
        Parameters={
            'bucket': {'Description': 'where', 'Required': True},
            'suffix': {'Dynamic': True},
        },
        Tags={'team': 'config'},
    )
    assert created['ResponseMetadata']['HTTPStatusCode'] == 201
    ident = created['Id']
    assert re.fullmatch(r'[a-z0-9]{4,7}', ident)
    expected = {
        'Id': ident,
        'Name': 'backup',
        'VersionNumber': 1,
        'Arn': f'arn:aws:appconfig:{REGION}:{ACCOUNT}:extension/{ident}/1',
        'Description': 'keeps a copy',
        'Actions': {
            'PRE_CREATE_HOSTED_CONFIGURATION_VERSION': [
                {'Name': 'copy', 'Description': 'copies', 'Uri': FUNCTION, 'RoleArn': ROLE}
            ],
            'ON_DEPLOYMENT_COMPLETE': [{'Name': 'tell', 'Uri': QUEUE}],
        },
        'Parameters': {
            'bucket': {'Description': 'where', 'Required': True, 'Dynamic': False},
            'suffix': {'Required': False, 'Dynamic': True},
        },
    }
    assert fields(created) == expected
    for identifier in (ident, 'backup', expected['Arn']):
        assert fields(appconfig.get_extension(ExtensionIdentifier=identifier)) == expected


def test_name_is_unique_and_versions_need_the_latest_number(appconfig):
    first = create(appconfig, Description='v1')
    with pytest.raises(appconfig.exceptions.ConflictException):
        create(appconfig, Description='again')
    with pytest.raises(appconfig.exceptions.ConflictException):
        create(appconfig, Description='stale', LatestVersionNumber=7)
    second = create(
        appconfig, Description='v2', LatestVersionNumber=1, Actions=actions('ON_DEPLOYMENT_START')
    )
    assert (second['Id'], second['VersionNumber']) == (first['Id'], 2)
    assert second['Arn'].endswith(f'extension/{first["Id"]}/2')
    assert list(second['Actions']) == ['ON_DEPLOYMENT_START']
    with pytest.raises(appconfig.exceptions.ConflictException):
        create(appconfig, LatestVersionNumber=1)  # 2 is the latest now
    latest = appconfig.get_extension(ExtensionIdentifier='backup')
    assert (latest['VersionNumber'], latest['Description']) == (2, 'v2')
    one = appconfig.get_extension(ExtensionIdentifier='backup', VersionNumber=1)
    assert (one['VersionNumber'], one['Description']) == (1, 'v1')
    by_arn = appconfig.get_extension(ExtensionIdentifier=first['Arn'])
    assert by_arn['VersionNumber'] == 1  # the version in the ARN
    with pytest.raises(appconfig.exceptions.ResourceNotFoundException):
        appconfig.get_extension(ExtensionIdentifier='backup', VersionNumber=3)


def test_delete_takes_a_version_and_frees_the_name_with_the_last(appconfig):
    first = create(appconfig, Description='v1')
    create(appconfig, Description='v2', LatestVersionNumber=1)
    deleted = appconfig.delete_extension(ExtensionIdentifier='backup')  # the highest: 2
    assert deleted['ResponseMetadata']['HTTPStatusCode'] == 204
    assert appconfig.get_extension(ExtensionIdentifier='backup')['VersionNumber'] == 1
    # Numbers are never reused: the next version is 3.
    assert create(appconfig, LatestVersionNumber=2)['VersionNumber'] == 3
    appconfig.delete_extension(ExtensionIdentifier=first['Id'], VersionNumber=1)
    appconfig.delete_extension(ExtensionIdentifier='backup', VersionNumber=3)
    with pytest.raises(appconfig.exceptions.ResourceNotFoundException) as err:
        appconfig.get_extension(ExtensionIdentifier='backup')
    assert err.value.response['ResourceName'] == 'backup'
    again = create(appconfig)
    assert again['VersionNumber'] == 1 and again['Id'] != first['Id']
    with pytest.raises(appconfig.exceptions.ResourceNotFoundException):
        appconfig.delete_extension(ExtensionIdentifier='nope')
    with pytest.raises(appconfig.exceptions.ResourceNotFoundException):
        appconfig.delete_extension(ExtensionIdentifier='backup', VersionNumber=9)


def test_update_changes_one_version(appconfig):
    create(appconfig, Description='v1', Parameters={'bucket': {'Required': True}})
    create(appconfig, Description='v2', LatestVersionNumber=1)
    updated = appconfig.update_extension(
        ExtensionIdentifier='backup',
        VersionNumber=1,
        Description='first, edited',
        Actions=actions('ON_DEPLOYMENT_BAKING', uri=TOPIC),
        Parameters={'region': {'Description': 'where', 'Required': False}},
    )
    assert updated['VersionNumber'] == 1
    assert updated['Description'] == 'first, edited'
    assert updated['Actions'] == {'ON_DEPLOYMENT_BAKING': [{'Name': 'notify', 'Uri': TOPIC}]}
    assert updated['Parameters'] == {
        'region': {'Description': 'where', 'Required': False, 'Dynamic': False}
    }
    assert fields(appconfig.get_extension(ExtensionIdentifier='backup', VersionNumber=1)) == fields(
        updated
    )
    assert appconfig.get_extension(ExtensionIdentifier='backup')['Description'] == 'v2'
    # Only what is sent changes.
    kept = appconfig.update_extension(ExtensionIdentifier='backup', Description='v2!')
    assert (kept['VersionNumber'], kept['Description']) == (2, 'v2!')
    assert kept['Actions'] == actions()
    with pytest.raises(appconfig.exceptions.ResourceNotFoundException):
        appconfig.update_extension(ExtensionIdentifier='nope', Description='x')
    with pytest.raises(appconfig.exceptions.BadRequestException):
        appconfig.update_extension(
            ExtensionIdentifier='backup', Parameters={'p': {'Required': True, 'Dynamic': True}}
        )


@pytest.mark.parametrize(
    'params, fragment',
    [
        (
            {
                'Actions': {
                    p: [{'Name': 'a', 'Uri': QUEUE}]
                    for p in (
                        'ON_DEPLOYMENT_START',
                        'ON_DEPLOYMENT_STEP',
                        'ON_DEPLOYMENT_BAKING',
                        'ON_DEPLOYMENT_COMPLETE',
                        'ON_DEPLOYMENT_ROLLED_BACK',
                        'AT_DEPLOYMENT_TICK',
                    )
                }
            },
            'less than or equal to 5',
        ),
        (
            {
                'Actions': {
                    'ON_DEPLOYMENT_START': [
                        {'Name': 'a', 'Uri': QUEUE},
                        {'Name': 'b', 'Uri': TOPIC},
                    ]
                }
            },
            'less than or equal to 1',
        ),
        ({'Actions': {}}, 'greater than or equal to 1'),
        ({'Actions': {'ON_DEPLOYMENT_DONE': [{'Name': 'a', 'Uri': QUEUE}]}}, 'enum value set'),
        ({'Actions': {'ON_DEPLOYMENT_START': [{'Uri': QUEUE}]}}, 'must have a Name'),
        ({'Actions': {'ON_DEPLOYMENT_START': [{'Name': 'a'}]}}, 'must have a Uri'),
        ({'Actions': actions(uri='https://example.com/hook')}, 'must be the ARN'),
        (
            {'Actions': actions(uri=f'arn:aws:events:{REGION}:{ACCOUNT}:event-bus/custom')},
            'must be the ARN',
        ),
        ({'Actions': actions('PRE_START_DEPLOYMENT', uri=QUEUE)}, 'must call a Lambda function'),
        ({'Actions': actions('AT_DEPLOYMENT_TICK', uri=TOPIC)}, 'must call a Lambda function'),
        ({'Actions': actions(RoleArn=f'arn:aws:iam::{ACCOUNT}:user/someone')}, 'IAM role'),
        ({'Parameters': {'p': {'Required': True, 'Dynamic': True}}}, 'both Required and Dynamic'),
        ({'Parameters': {f'p{i}': {} for i in range(11)}}, 'less than or equal to 10'),
        ({'Parameters': {}}, 'greater than or equal to 1'),
        ({'Parameters': {'a#b': {}}}, 'regular expression'),
        ({'Name': 'has/slash'}, 'regular expression'),
        ({'Name': 'AWS.Mine'}, 'reserved'),
        ({'Name': 'AppConfig deployment events to Amazon SQS'}, 'reserved'),
    ],
)
def test_create_refuses(raw_appconfig, params, fragment):
    params = {'Name': 'backup', 'Actions': actions(), **params}
    with pytest.raises(raw_appconfig.exceptions.BadRequestException) as err:
        raw_appconfig.create_extension(**params)
    assert fragment in err.value.response['Error']['Message']


def test_required_members(raw_appconfig):
    with pytest.raises(raw_appconfig.exceptions.BadRequestException):
        raw_appconfig.create_extension(Name='x')
    with pytest.raises(raw_appconfig.exceptions.BadRequestException):
        raw_appconfig.create_extension(Actions=actions())


def test_event_bridge_default_bus_and_sns_targets_accepted(appconfig):
    bus = f'arn:aws:events:{REGION}:{ACCOUNT}:event-bus/default'
    created = appconfig.create_extension(
        Name='bus',
        Actions={
            'ON_DEPLOYMENT_START': [{'Name': 'a', 'Uri': bus}],
            'ON_DEPLOYMENT_ROLLED_BACK': [{'Name': 'b', 'Uri': TOPIC, 'RoleArn': ROLE}],
            'AT_DEPLOYMENT_TICK': [{'Name': 'c', 'Uri': FUNCTION + ':live'}],
        },
    )
    assert set(created['Actions']) == {
        'ON_DEPLOYMENT_START',
        'ON_DEPLOYMENT_ROLLED_BACK',
        'AT_DEPLOYMENT_TICK',
    }


# --- AWS-authored ----------------------------------------------------------------------------


def test_aws_authored_extensions_are_readable(appconfig):
    sqs = appconfig.get_extension(ExtensionIdentifier='AWS.AppConfig.DeploymentNotificationsToSqs')
    assert sqs['Id'] == 'AWS.AppConfig.DeploymentNotificationsToSqs'
    assert sqs['Name'] == 'AppConfig deployment events to Amazon SQS'
    assert sqs['VersionNumber'] == 1
    assert sqs['Arn'] == (
        f'arn:aws:appconfig:{REGION}::extension/AWS.AppConfig.DeploymentNotificationsToSqs/1'
    )
    assert set(sqs['Actions']) == {
        'ON_DEPLOYMENT_START',
        'ON_DEPLOYMENT_COMPLETE',
        'ON_DEPLOYMENT_ROLLED_BACK',
    }
    assert sqs['Parameters']['queueArn']['Required'] is True
    sns = appconfig.get_extension(ExtensionIdentifier='AppConfig deployment events to Amazon SNS')
    assert sns['Parameters']['topicArn']['Required'] is True
    flags = appconfig.get_extension(
        ExtensionIdentifier=f'arn:aws:appconfig:{REGION}::extension/AWS.AppConfig.FeatureFlags/1'
    )
    assert flags['Name'] == 'AppConfig Feature Flags Helper'
    bridge = appconfig.get_extension(
        ExtensionIdentifier='AWS.AppConfig.DeploymentNotificationsToEventBridge'
    )
    assert (
        bridge['Actions']['ON_DEPLOYMENT_START'][0]['Uri']
        == f'arn:aws:events:{REGION}:{ACCOUNT}:event-bus/default'
    )
    with pytest.raises(appconfig.exceptions.ResourceNotFoundException):
        appconfig.get_extension(ExtensionIdentifier='AWS.AppConfig.FeatureFlags', VersionNumber=2)
    with pytest.raises(appconfig.exceptions.ResourceNotFoundException):
        appconfig.get_extension(ExtensionIdentifier='AWS.AppConfig.Nothing')


def test_jira_integration_is_listed_and_described(appconfig):
    listed = {i['Id']: i for i in appconfig.list_extensions()['Items']}
    arn = f'arn:aws:appconfig:{REGION}::extension/{JIRA}/1'
    assert listed[JIRA] == {
        'Id': JIRA,
        'Name': 'AppConfig integration with Atlassian Jira',
        'VersionNumber': 1,
        'Arn': arn,
        'Description': JIRA_DESCRIPTION,
    }
    for ident in (JIRA, arn, 'AppConfig integration with Atlassian Jira'):
        got = appconfig.get_extension(ExtensionIdentifier=ident)
        assert (got['Id'], got['VersionNumber'], got['Arn'], got['Description']) == (
            JIRA,
            1,
            arn,
            JIRA_DESCRIPTION,
        )
    assert appconfig.list_extensions(Name=JIRA)['Items'] == [listed[JIRA]]


def test_jira_integration_cannot_be_associated(appconfig):
    app = appconfig.create_application(Name='flags')['Id']
    profile = appconfig.create_configuration_profile(
        ApplicationId=app, Name='flags', LocationUri='hosted', Type='AWS.AppConfig.FeatureFlags'
    )['Id']
    for ident in (JIRA, f'arn:aws:appconfig:{REGION}::extension/{JIRA}/1'):
        with pytest.raises(
            appconfig.exceptions.BadRequestException,
            match='cannot be associated on this server: it exports feature flags to Atlassian Jira',
        ):
            appconfig.create_extension_association(
                ExtensionIdentifier=ident,
                ResourceIdentifier=(
                    f'arn:aws:appconfig:{REGION}:{ACCOUNT}:application/{app}'
                    f'/configurationprofile/{profile}'
                ),
            )
    assert appconfig.list_extension_associations()['Items'] == []


def test_aws_authored_extensions_cannot_change(appconfig):
    for ident in AUTHORED:
        with pytest.raises(appconfig.exceptions.BadRequestException):
            appconfig.update_extension(ExtensionIdentifier=ident, Description='mine')
        with pytest.raises(appconfig.exceptions.BadRequestException):
            appconfig.delete_extension(ExtensionIdentifier=ident)


def test_list_custom_then_authored_paged(appconfig):
    a = create(appconfig, 'alpha')
    create(appconfig, 'alpha', LatestVersionNumber=1)
    b = create(appconfig, 'beta')
    everything = appconfig.list_extensions()['Items']
    custom = [i for i in everything if not i['Id'].startswith('AWS.')]
    assert sorted((i['Name'], i['VersionNumber']) for i in custom) == [
        ('alpha', 1),
        ('alpha', 2),
        ('beta', 1),
    ]
    assert [i['Id'] for i in everything[len(custom) :]] == AUTHORED
    assert {i['Id'] for i in custom} == {a['Id'], b['Id']}
    for item in everything:
        assert set(item) <= {'Id', 'Name', 'VersionNumber', 'Arn', 'Description'}
    for size in (1, 2, 3, 4, 7):
        pages, token = [], None
        while True:
            kwargs = {'MaxResults': size}
            if token:
                kwargs['NextToken'] = token
            page = appconfig.list_extensions(**kwargs)
            assert len(page['Items']) <= size
            pages += page['Items']
            token = page.get('NextToken')
            if not token:
                break
        assert pages == everything, size
    paginated = [
        i
        for p in appconfig.get_paginator('list_extensions').paginate(
            PaginationConfig={'PageSize': 2}
        )
        for i in p['Items']
    ]
    assert paginated == everything


def test_list_by_name(appconfig):
    create(appconfig, 'alpha')
    create(appconfig, 'alpha', LatestVersionNumber=1)
    create(appconfig, 'beta')
    named = appconfig.list_extensions(Name='alpha')['Items']
    assert [(i['Name'], i['VersionNumber']) for i in named] == [('alpha', 1), ('alpha', 2)]
    sqs = appconfig.list_extensions(Name='AppConfig deployment events to Amazon SQS')['Items']
    assert [i['Id'] for i in sqs] == ['AWS.AppConfig.DeploymentNotificationsToSqs']
    assert appconfig.list_extensions(Name='gamma')['Items'] == []


def test_list_refuses_a_foreign_token(appconfig):
    with pytest.raises(appconfig.exceptions.BadRequestException):
        appconfig.list_extensions(NextToken='bm90LWEtdG9rZW4=')


# --- associations ----------------------------------------------------------------------------


def associate(client, world, resource='app_arn', extension='backup', **params):
    return client.create_extension_association(
        ExtensionIdentifier=extension, ResourceIdentifier=world[resource], **params
    )


def test_association_on_each_kind_of_resource(appconfig, world):
    ext = create(appconfig, Parameters={'bucket': {'Required': True}})
    ids = {}
    for resource in ('app_arn', 'env_arn', 'profile_arn'):
        made = associate(appconfig, world, resource, Parameters={'bucket': resource})
        assert made['ResponseMetadata']['HTTPStatusCode'] == 201
        assert re.fullmatch(r'[a-z0-9]{4,7}', made['Id'])
        expected = {
            'Id': made['Id'],
            'ExtensionArn': ext['Arn'],
            'ResourceArn': world[resource],
            'Arn': f'arn:aws:appconfig:{REGION}:{ACCOUNT}:extensionassociation/{made["Id"]}',
            'Parameters': {'bucket': resource},
            'ExtensionVersionNumber': 1,
        }
        assert {k: made[k] for k in expected} == expected
        got = appconfig.get_extension_association(ExtensionAssociationId=made['Id'])
        assert {k: got[k] for k in expected} == expected
        ids[resource] = made['Id']
    listed = appconfig.list_extension_associations()['Items']
    assert sorted(i['Id'] for i in listed) == sorted(ids.values())
    for item in listed:
        assert set(item) == {'Id', 'ExtensionArn', 'ResourceArn'}


def test_association_version_defaults_to_latest(appconfig, world):
    create(appconfig)
    create(appconfig, LatestVersionNumber=1)
    latest = associate(appconfig, world)
    assert latest['ExtensionVersionNumber'] == 2
    assert latest['ExtensionArn'].endswith('/2')
    pinned = associate(appconfig, world, 'env_arn', ExtensionVersionNumber=1)
    assert pinned['ExtensionVersionNumber'] == 1
    with pytest.raises(appconfig.exceptions.ResourceNotFoundException):
        associate(appconfig, world, 'profile_arn', ExtensionVersionNumber=5)


@pytest.mark.parametrize(
    'values, fragment',
    [
        ({}, 'requires the parameter(s) bucket'),
        ({'bucket': 'b', 'colour': 'red'}, 'does not define the parameter(s) colour'),
    ],
)
def test_association_parameters_checked(appconfig, world, values, fragment):
    create(appconfig, Parameters={'bucket': {'Required': True}, 'prefix': {}})
    with pytest.raises(appconfig.exceptions.BadRequestException) as err:
        associate(appconfig, world, Parameters=values)
    assert fragment in err.value.response['Error']['Message']


def test_association_parameter_values_are_1_to_2048(raw_appconfig, world):
    create(raw_appconfig, Parameters={'bucket': {}})
    for value in ('', 'x' * 2049):
        with pytest.raises(raw_appconfig.exceptions.BadRequestException):
            associate(raw_appconfig, world, Parameters={'bucket': value})
    assert associate(raw_appconfig, world, Parameters={'bucket': 'x' * 2048})['Parameters']


def test_association_needs_an_existing_resource(appconfig, world):
    create(appconfig)
    base = f'arn:aws:appconfig:{REGION}:{ACCOUNT}:application/{world["app"]}'
    for arn, name in (
        (f'arn:aws:appconfig:{REGION}:{ACCOUNT}:application/nope1', 'nope1'),
        (f'{base}/environment/nope2', 'nope2'),
        (f'{base}/configurationprofile/nope3', 'nope3'),
    ):
        with pytest.raises(appconfig.exceptions.ResourceNotFoundException) as err:
            appconfig.create_extension_association(
                ExtensionIdentifier='backup', ResourceIdentifier=arn
            )
        assert err.value.response['ResourceName'] == name
    for arn in (
        world['app'],
        f'{base}/deploymentstrategy/abc',
        f'arn:aws:appconfig:{REGION}:999999999999:application/{world["app"]}',
        f'{base}/environment/{world["env"]}/deployment/1',
    ):
        with pytest.raises(appconfig.exceptions.BadRequestException):
            appconfig.create_extension_association(
                ExtensionIdentifier='backup', ResourceIdentifier=arn
            )
    with pytest.raises(appconfig.exceptions.ResourceNotFoundException):
        associate(appconfig, world, extension='nope')


def test_one_association_per_extension_and_resource(appconfig, world):
    create(appconfig)
    first = associate(appconfig, world)
    with pytest.raises(appconfig.exceptions.BadRequestException):
        associate(appconfig, world)
    associate(appconfig, world, 'env_arn')  # another resource is fine
    appconfig.delete_extension_association(ExtensionAssociationId=first['Id'])
    assert associate(appconfig, world)['Id'] != first['Id']


def test_aws_authored_associations(appconfig, world):
    sqs = 'AWS.AppConfig.DeploymentNotificationsToSqs'
    with pytest.raises(appconfig.exceptions.BadRequestException):
        associate(appconfig, world, extension=sqs)  # queueArn is required
    with pytest.raises(appconfig.exceptions.BadRequestException):
        associate(appconfig, world, extension=sqs, Parameters={'queueArn': TOPIC})
    made = associate(appconfig, world, extension=sqs, Parameters={'queueArn': QUEUE})
    assert made['ExtensionArn'] == f'arn:aws:appconfig:{REGION}::extension/{sqs}/1'
    assert made['ExtensionVersionNumber'] == 1
    bridge = associate(
        appconfig, world, 'env_arn', extension='AppConfig deployment events to Amazon EventBridge'
    )
    assert bridge['Parameters'] == {}
    flags = associate(
        appconfig,
        world,
        'profile_arn',
        extension=(f'arn:aws:appconfig:{REGION}::extension/AWS.AppConfig.FeatureFlags/1'),
    )
    assert flags['ExtensionArn'].endswith('AWS.AppConfig.FeatureFlags/1')
    # AWS-authored extensions stay even while associated.
    with pytest.raises(appconfig.exceptions.BadRequestException):
        appconfig.delete_extension(ExtensionIdentifier=sqs)


def test_update_association_parameters(appconfig, world):
    create(appconfig, Parameters={'bucket': {'Required': True}, 'prefix': {}})
    made = associate(appconfig, world, Parameters={'bucket': 'one'})
    updated = appconfig.update_extension_association(
        ExtensionAssociationId=made['Id'], Parameters={'bucket': 'two', 'prefix': 'p/'}
    )
    assert updated['Parameters'] == {'bucket': 'two', 'prefix': 'p/'}
    assert appconfig.get_extension_association(ExtensionAssociationId=made['Id'])['Parameters'] == {
        'bucket': 'two',
        'prefix': 'p/',
    }
    with pytest.raises(appconfig.exceptions.BadRequestException):
        appconfig.update_extension_association(
            ExtensionAssociationId=made['Id'], Parameters={'prefix': 'only'}
        )
    with pytest.raises(appconfig.exceptions.BadRequestException):
        appconfig.update_extension_association(
            ExtensionAssociationId=made['Id'], Parameters={'bucket': 'b', 'other': 'x'}
        )
    unchanged = appconfig.update_extension_association(ExtensionAssociationId=made['Id'])
    assert unchanged['Parameters'] == {'bucket': 'two', 'prefix': 'p/'}
    with pytest.raises(appconfig.exceptions.ResourceNotFoundException):
        appconfig.update_extension_association(
            ExtensionAssociationId='nope123', Parameters={'bucket': 'x'}
        )


def test_delete_association(appconfig, world):
    create(appconfig)
    made = associate(appconfig, world)
    deleted = appconfig.delete_extension_association(ExtensionAssociationId=made['Id'])
    assert deleted['ResponseMetadata']['HTTPStatusCode'] == 204
    with pytest.raises(appconfig.exceptions.ResourceNotFoundException):
        appconfig.get_extension_association(ExtensionAssociationId=made['Id'])
    with pytest.raises(appconfig.exceptions.ResourceNotFoundException):
        appconfig.delete_extension_association(ExtensionAssociationId=made['Id'])


def test_extension_with_associations_cannot_be_deleted(appconfig, world):
    create(appconfig)
    create(appconfig, LatestVersionNumber=1)
    on_one = associate(appconfig, world, ExtensionVersionNumber=1)
    with pytest.raises(appconfig.exceptions.BadRequestException) as err:
        appconfig.delete_extension(ExtensionIdentifier='backup', VersionNumber=1)
    assert 'association' in err.value.response['Error']['Message']
    appconfig.delete_extension(ExtensionIdentifier='backup', VersionNumber=2)  # none on 2
    appconfig.delete_extension_association(ExtensionAssociationId=on_one['Id'])
    appconfig.delete_extension(ExtensionIdentifier='backup', VersionNumber=1)
    assert appconfig.list_extensions(Name='backup')['Items'] == []


def test_list_associations_filters(appconfig, world):
    create(appconfig, 'one')
    create(appconfig, 'one', LatestVersionNumber=1)
    create(appconfig, 'two')
    made = {
        ('one', 1, 'app_arn'): associate(
            appconfig, world, extension='one', ExtensionVersionNumber=1
        )['Id'],
        ('one', 2, 'env_arn'): associate(appconfig, world, 'env_arn', extension='one')['Id'],
        ('two', 1, 'app_arn'): associate(appconfig, world, extension='two')['Id'],
        ('two', 1, 'profile_arn'): associate(appconfig, world, 'profile_arn', extension='two')[
            'Id'
        ],
    }

    def listed(**filters):
        return sorted(i['Id'] for i in appconfig.list_extension_associations(**filters)['Items'])

    def expect(test):
        return sorted(v for k, v in made.items() if test(*k))

    assert listed() == expect(lambda *_: True)
    assert listed(ResourceIdentifier=world['app_arn']) == expect(lambda e, v, r: r == 'app_arn')
    assert listed(ResourceIdentifier=world['env_arn']) == expect(lambda e, v, r: r == 'env_arn')
    assert listed(ExtensionIdentifier='one') == expect(lambda e, v, r: e == 'one')
    one_id = appconfig.get_extension(ExtensionIdentifier='one')['Id']
    assert listed(ExtensionIdentifier=one_id, ExtensionVersionNumber=2) == expect(
        lambda e, v, r: (e, v) == ('one', 2)
    )
    assert listed(ExtensionIdentifier='two', ResourceIdentifier=world['profile_arn']) == expect(
        lambda e, v, r: (e, r) == ('two', 'profile_arn')
    )
    assert listed(ExtensionVersionNumber=2) == expect(lambda e, v, r: v == 2)
    assert listed(ExtensionIdentifier='nothing') == []
    other_app = appconfig.create_application(Name='other')['Id']
    assert (
        listed(ResourceIdentifier=(f'arn:aws:appconfig:{REGION}:{ACCOUNT}:application/{other_app}'))
        == []
    )


def test_list_associations_paged(appconfig, world):
    create(appconfig)
    create(appconfig, 'other')
    every = []
    for resource in ('app_arn', 'env_arn', 'profile_arn'):
        every.append(associate(appconfig, world, resource)['Id'])
        every.append(associate(appconfig, world, resource, extension='other')['Id'])
    for filters in (
        {},
        {'ResourceIdentifier': world['app_arn']},
        {'ExtensionIdentifier': 'backup'},
    ):
        expected = sorted(
            i['Id'] for i in appconfig.list_extension_associations(**filters)['Items']
        )
        pages = list(
            appconfig.get_paginator('list_extension_associations').paginate(
                PaginationConfig={'PageSize': 1}, **filters
            )
        )
        got = [i['Id'] for p in pages for i in p['Items']]
        assert sorted(got) == expected and len(got) == len(set(got))
        assert all(len(p['Items']) <= 1 for p in pages)
    assert len(expected) == 3
    with pytest.raises(appconfig.exceptions.BadRequestException):
        appconfig.list_extension_associations(NextToken='e30=')
    first = appconfig.list_extension_associations(MaxResults=1)
    with pytest.raises(appconfig.exceptions.BadRequestException):
        appconfig.list_extension_associations(
            ResourceIdentifier=world['app_arn'], NextToken=first['NextToken']
        )


def test_tags_are_kept_on_the_extension(appconfig):
    from chalicelib.store.extensions import Extension

    create(appconfig, Tags={'team': 'config', 'S': 'looks like a type'})
    create(appconfig, LatestVersionNumber=1, Tags={'cost': 'shared'})
    item = Extension.get(ACCOUNT, 'backup')
    assert item.tags == {'team': 'config', 'S': 'looks like a type', 'cost': 'shared'}
    assert (item.latest_version, item.versions) == (2, 2)


def test_latest_version_number_on_a_new_name_creates_version_1(appconfig):
    # CloudFormation templates often send it from the first create on.
    assert create(appconfig, LatestVersionNumber=1)['VersionNumber'] == 1
