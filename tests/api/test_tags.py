import pytest

from chalicelib import arns, clock

ACCOUNT = arns.account()
PREFIX = f'arn:aws:appconfig:us-east-1:{ACCOUNT}:'


def _environment(application_id, tags=None):
    # Stored directly so these tests depend on nothing but the tagging code.
    from chalicelib.store.environments import Environment

    env = Environment(
        application_id, 'env1234', name='prod', tags=tags or {}, created_at=clock.now()
    )
    env.save()
    return env.id


def _profile(application_id, tags=None):
    from chalicelib.store.profiles import Profile

    profile = Profile(
        application_id,
        'prof123',
        name='main',
        location_uri='hosted',
        tags=tags or {},
        created_at=clock.now(),
    )
    profile.save()
    return profile.id


def _deployment(application_id, tags=None):
    from chalicelib.store.deployments import Deployment, env_key

    environment_id = _environment(application_id)
    item = Deployment(
        env_key(application_id, environment_id),
        1,
        application_id=application_id,
        environment_id=environment_id,
        profile_id='prof123',
        configuration_name='main',
        configuration_location_uri='hosted',
        configuration_version='1',
        strategy_id='AppConfig.AllAtOnce',
        strategy={},
        state='COMPLETE',
        started_at=clock.now(),
        tags=tags or {},
    )
    item.save()
    return f'{environment_id}/deployment/1'


def make(appconfig, kind, tags=None):
    """Create a resource of ``kind`` (with creation tags) and return its ARN."""
    if kind == 'deploymentstrategy':
        created = appconfig.create_deployment_strategy(
            Name='s',
            DeploymentDurationInMinutes=1,
            GrowthFactor=50,
            **({'Tags': tags} if tags else {}),
        )
        return f'{PREFIX}deploymentstrategy/{created["Id"]}'
    app = appconfig.create_application(Name='app', **({'Tags': tags} if tags else {}))['Id']
    if kind == 'application':
        return f'{PREFIX}application/{app}'
    if kind == 'environment':
        return f'{PREFIX}application/{app}/environment/{_environment(app, tags)}'
    if kind == 'deployment':
        return f'{PREFIX}application/{app}/environment/{_deployment(app, tags)}'
    return f'{PREFIX}application/{app}/configurationprofile/{_profile(app, tags)}'


KINDS = ['application', 'environment', 'configurationprofile', 'deployment', 'deploymentstrategy']


def tags_of(appconfig, arn):
    return appconfig.list_tags_for_resource(ResourceArn=arn)['Tags']


def test_tag_list_untag(appconfig, subtests):
    for kind in KINDS:
        with subtests.test(kind=kind):
            arn = make(appconfig, kind)
            assert tags_of(appconfig, arn) == {}
            tagged = appconfig.tag_resource(ResourceArn=arn, Tags={'team': 'a', 'tier': 'gold'})
            assert tagged['ResponseMetadata']['HTTPStatusCode'] == 204
            listed = appconfig.list_tags_for_resource(ResourceArn=arn)
            assert listed['ResponseMetadata']['HTTPStatusCode'] == 200
            assert listed['Tags'] == {'team': 'a', 'tier': 'gold'}
            # New keys merge in, existing keys take the new value.
            appconfig.tag_resource(ResourceArn=arn, Tags={'team': 'b', 'cost': ''})
            assert tags_of(appconfig, arn) == {'team': 'b', 'tier': 'gold', 'cost': ''}
            untagged = appconfig.untag_resource(ResourceArn=arn, TagKeys=['tier', 'not-there'])
            assert untagged['ResponseMetadata']['HTTPStatusCode'] == 204
            assert tags_of(appconfig, arn) == {'team': 'b', 'cost': ''}
            appconfig.untag_resource(ResourceArn=arn, TagKeys=['team', 'cost'])
            assert tags_of(appconfig, arn) == {}


def test_creation_tags_are_listed(appconfig, subtests):
    for kind in KINDS:
        with subtests.test(kind=kind):
            arn = make(appconfig, kind, tags={'owner': 'ops', 'env': 'dev'})
            assert tags_of(appconfig, arn) == {'owner': 'ops', 'env': 'dev'}


def test_tags_leave_the_resource_alone(appconfig):
    created = appconfig.create_deployment_strategy(
        Name='s',
        Description='d',
        DeploymentDurationInMinutes=3,
        GrowthFactor=20,
        FinalBakeTimeInMinutes=4,
    )
    arn = f'{PREFIX}deploymentstrategy/{created["Id"]}'
    appconfig.tag_resource(ResourceArn=arn, Tags={'a': '1'})
    appconfig.untag_resource(ResourceArn=arn, TagKeys=['a'])
    got = appconfig.get_deployment_strategy(DeploymentStrategyId=created['Id'])
    assert {
        k: got[k]
        for k in (
            'Name',
            'Description',
            'DeploymentDurationInMinutes',
            'GrowthFactor',
            'FinalBakeTimeInMinutes',
        )
    } == {
        'Name': 's',
        'Description': 'd',
        'DeploymentDurationInMinutes': 3,
        'GrowthFactor': 20.0,
        'FinalBakeTimeInMinutes': 4,
    }


def test_keys_that_look_like_dynamodb_types(appconfig):
    arn = make(appconfig, 'application')
    appconfig.tag_resource(ResourceArn=arn, Tags={'S': 'x'})
    assert tags_of(appconfig, arn) == {'S': 'x'}
    appconfig.tag_resource(ResourceArn=arn, Tags={'M': 'y'})
    appconfig.untag_resource(ResourceArn=arn, TagKeys=['S'])
    assert tags_of(appconfig, arn) == {'M': 'y'}


def test_unicode_and_punctuation(appconfig):
    arn = make(appconfig, 'application')
    tags = {'naïve key': 'välue ✓', 'a.b/c=d+e-f@g': ' spaced ', '"quoted"': '{json}'}
    appconfig.tag_resource(ResourceArn=arn, Tags=tags)
    assert tags_of(appconfig, arn) == tags
    appconfig.tag_resource(ResourceArn=arn, Tags={'more': '1'})
    assert tags_of(appconfig, arn) == {**tags, 'more': '1'}


def test_at_most_fifty_tags(appconfig):
    arn = make(appconfig, 'application', tags={f'k{i}': 'v' for i in range(49)})
    appconfig.tag_resource(ResourceArn=arn, Tags={'k49': 'v'})
    assert len(tags_of(appconfig, arn)) == 50
    # Changing the value of an existing key keeps the count at 50.
    appconfig.tag_resource(ResourceArn=arn, Tags={'k0': 'changed'})
    with pytest.raises(appconfig.exceptions.BadRequestException) as err:
        appconfig.tag_resource(ResourceArn=arn, Tags={'k1': 'changed', 'k50': 'v'})
    assert err.value.response['ResponseMetadata']['HTTPStatusCode'] == 400
    assert '50' in err.value.response['Error']['Message']
    after = tags_of(appconfig, arn)
    assert len(after) == 50 and after['k0'] == 'changed' and after['k1'] == 'v'


AWS_PREFIX_REFUSED_CASES = ['aws:owner', 'AWS:owner', 'Aws:x']


def test_aws_prefix_refused(appconfig, subtests):
    for key in AWS_PREFIX_REFUSED_CASES:
        with subtests.test(key=key):
            arn = make(appconfig, 'application', tags={'keep': '1'})
            with pytest.raises(appconfig.exceptions.BadRequestException) as err:
                appconfig.tag_resource(ResourceArn=arn, Tags={'fine': '1', key: 'v'})
            assert 'aws:' in err.value.response['Error']['Message']
            with pytest.raises(appconfig.exceptions.BadRequestException):
                appconfig.untag_resource(ResourceArn=arn, TagKeys=['keep', key])
            assert tags_of(appconfig, arn) == {'keep': '1'}


UNKNOWN_RESOURCE_CASES = [
    ('application/zzzzzzz', 'zzzzzzz'),
    ('application/zzzzzzz/environment/yyyyyyy', 'yyyyyyy'),
    ('application/zzzzzzz/configurationprofile/yyyyyyy', 'yyyyyyy'),
    ('application/zzzzzzz/environment/yyyyyyy/deployment/3', '3'),
    ('deploymentstrategy/zzzzzzz', 'zzzzzzz'),
]


def test_unknown_resource(appconfig, subtests):
    for resource, name in UNKNOWN_RESOURCE_CASES:
        with subtests.test(resource=resource, name=name):
            arn = PREFIX + resource
            calls = [
                lambda: appconfig.list_tags_for_resource(ResourceArn=arn),
                lambda: appconfig.tag_resource(ResourceArn=arn, Tags={'a': 'b'}),
                lambda: appconfig.untag_resource(ResourceArn=arn, TagKeys=['a']),
            ]
            for call in calls:
                with pytest.raises(appconfig.exceptions.ResourceNotFoundException) as err:
                    call()
                assert err.value.response['ResponseMetadata']['HTTPStatusCode'] == 404
                assert name in err.value.response['Error']['Message']
                assert err.value.response['ResourceName'] == name


def test_environment_of_another_application(appconfig):
    arn = make(appconfig, 'environment')
    other = appconfig.create_application(Name='other')['Id']
    wrong = f'{PREFIX}application/{other}/environment/{arn.rsplit("/", 1)[1]}'
    with pytest.raises(appconfig.exceptions.ResourceNotFoundException):
        appconfig.tag_resource(ResourceArn=wrong, Tags={'a': 'b'})


MALFORMED_ARN_CASES = [
    f'{PREFIX}widget/abc1234',
    f'{PREFIX}application/abc1234/environment',
    f'{PREFIX}application/abc1234/environment/',
    f'{PREFIX}application//environment/abc1234',
    f'{PREFIX}application/abc1234/deployment/1',
    f'{PREFIX}application/abc1234/environment/abc1234/deployment/one',
    f'{PREFIX}application/abc1234/environment/abc1234/deployment/' + '9' * 40,
    f'{PREFIX}deploymentstrategy/abc1234/extra/x',
    'arn:aws:appconfig:us-east-1:210987654321:application/abc1234',
    'arn:aws:s3:us-east-1:123456789012:application/abc1234',
    'arn:aws:s3:::my-bucket/application',
]


def test_malformed_arn(appconfig, subtests):
    for arn in MALFORMED_ARN_CASES:
        with subtests.test(arn=arn):
            calls = [
                lambda: appconfig.list_tags_for_resource(ResourceArn=arn),
                lambda: appconfig.tag_resource(ResourceArn=arn, Tags={'a': 'b'}),
                lambda: appconfig.untag_resource(ResourceArn=arn, TagKeys=['a']),
            ]
            for call in calls:
                with pytest.raises(appconfig.exceptions.BadRequestException) as err:
                    call()
                assert err.value.response['ResponseMetadata']['HTTPStatusCode'] == 400


def test_predefined_strategy(appconfig):
    arn = f'{PREFIX}deploymentstrategy/AppConfig.AllAtOnce'
    assert tags_of(appconfig, arn) == {}
    with pytest.raises(appconfig.exceptions.BadRequestException) as err:
        appconfig.tag_resource(ResourceArn=arn, Tags={'a': 'b'})
    assert 'AppConfig.AllAtOnce' in err.value.response['Error']['Message']


VALIDATION_CASES = [
    (lambda c, arn: c.tag_resource(ResourceArn=arn), 'tags'),
    (lambda c, arn: c.tag_resource(ResourceArn=arn, Tags={'': 'v'}), 'tags'),
    (lambda c, arn: c.tag_resource(ResourceArn=arn, Tags={'k' * 129: 'v'}), 'tags'),
    (lambda c, arn: c.tag_resource(ResourceArn=arn, Tags={'k': 'v' * 257}), 'tags'),
    (
        lambda c, arn: c.tag_resource(ResourceArn=arn, Tags={f'k{i}': 'v' for i in range(51)}),
        'tags',
    ),
    (lambda c, arn: c.tag_resource(ResourceArn=arn, Tags={'k': 5}), 'tags'),
    (lambda c, arn: c.untag_resource(ResourceArn=arn), 'tagKeys'),
    (lambda c, arn: c.untag_resource(ResourceArn=arn, TagKeys=['']), 'tagKeys'),
    (lambda c, arn: c.untag_resource(ResourceArn=arn, TagKeys=['k' * 129]), 'tagKeys'),
    (
        lambda c, arn: c.untag_resource(ResourceArn=arn, TagKeys=[f'k{i}' for i in range(51)]),
        'tagKeys',
    ),
    (lambda c, arn: c.list_tags_for_resource(ResourceArn='arn:aws:appconfig'), 'resourceArn'),
    (
        lambda c, arn: c.list_tags_for_resource(ResourceArn='not an arn at all, clearly'),
        'resourceArn',
    ),
    (
        lambda c, arn: c.tag_resource(ResourceArn=arn + '/' + 'x' * 2048, Tags={'a': 'b'}),
        'resourceArn',
    ),
]


def test_validation(appconfig, raw_appconfig, subtests):
    arn = make(appconfig, 'application', tags={'keep': '1'})
    for case, (call, field) in enumerate(VALIDATION_CASES):
        with subtests.test(case=case, field=field):
            with pytest.raises(raw_appconfig.exceptions.BadRequestException) as err:
                call(raw_appconfig, arn)
            assert err.value.response['ResponseMetadata']['HTTPStatusCode'] == 400
            assert field in err.value.response['Error']['Message']
            assert tags_of(appconfig, arn) == {'keep': '1'}


def test_concurrent_tagger_loses_nothing(appconfig, monkeypatch):
    """Another writer changes the tags between this request's read and its write: the
    conditional write fails, the change is redone on the new tags, and both survive."""
    from chalicelib.ops import tags as tags_op
    from chalicelib.store.applications import Application

    arn = make(appconfig, 'application', tags={'first': '1'})
    app_id = arn.rsplit('/', 1)[1]
    real_read, reads, interference = tags_op._read, [], {}

    def read_then_interfere(*args):
        item = real_read(*args)
        reads.append(dict(item.tags))
        if len(reads) == 1:
            other = Application.get(ACCOUNT, app_id)
            other.tags = {**other.tags, **interference}
            other.save()
        return item

    monkeypatch.setattr(tags_op, '_read', read_then_interfere)
    interference.update(concurrent='yes')
    appconfig.tag_resource(ResourceArn=arn, Tags={'mine': '2'})
    assert reads == [{'first': '1'}, {'first': '1', 'concurrent': 'yes'}]
    assert tags_of(appconfig, arn) == {'first': '1', 'concurrent': 'yes', 'mine': '2'}
    reads.clear()
    interference.update(again='yes')
    appconfig.untag_resource(ResourceArn=arn, TagKeys=['first'])
    assert len(reads) == 2
    assert tags_of(appconfig, arn) == {'concurrent': 'yes', 'mine': '2', 'again': 'yes'}


def test_deleted_while_tagging(appconfig, monkeypatch):
    from chalicelib.ops import tags as tags_op
    from chalicelib.store.strategies import Strategy

    arn = make(appconfig, 'deploymentstrategy')
    ident = arn.rsplit('/', 1)[1]
    real_read = tags_op._read

    def read_then_delete(*args):
        item = real_read(*args)
        Strategy(ACCOUNT, ident).delete()
        return item

    monkeypatch.setattr(tags_op, '_read', read_then_delete)
    with pytest.raises(appconfig.exceptions.ResourceNotFoundException):
        appconfig.tag_resource(ResourceArn=arn, Tags={'a': 'b'})


def test_extensions_and_associations(appconfig):
    app = appconfig.create_application(Name='tagged')['Id']
    queue = 'arn:aws:sqs:us-east-1:123456789012:events'
    ext = appconfig.create_extension(
        Name='notify',
        Tags={'team': 'a'},
        Actions={'ON_DEPLOYMENT_COMPLETE': [{'Name': 'n', 'Uri': queue}]},
    )
    assert tags_of(appconfig, ext['Arn']) == {'team': 'a'}
    appconfig.tag_resource(ResourceArn=ext['Arn'], Tags={'env': 'prod'})
    appconfig.untag_resource(ResourceArn=ext['Arn'], TagKeys=['team'])
    assert tags_of(appconfig, ext['Arn']) == {'env': 'prod'}
    association = appconfig.create_extension_association(
        ExtensionIdentifier=ext['Id'],
        ResourceIdentifier=f'{PREFIX}application/{app}',
        Tags={'k': 'v'},
    )
    assert tags_of(appconfig, association['Arn']) == {'k': 'v'}
    appconfig.tag_resource(ResourceArn=association['Arn'], Tags={'k2': 'v2'})
    assert tags_of(appconfig, association['Arn']) == {'k': 'v', 'k2': 'v2'}
    authored = appconfig.get_extension(ExtensionIdentifier='AWS.AppConfig.FeatureFlags')['Arn']
    assert tags_of(appconfig, authored) == {}
    with pytest.raises(appconfig.exceptions.BadRequestException):
        appconfig.tag_resource(ResourceArn=authored, Tags={'a': 'b'})
    with pytest.raises(appconfig.exceptions.ResourceNotFoundException):
        appconfig.list_tags_for_resource(ResourceArn=f'{PREFIX}extensionassociation/zzzzzzz')
