import json
import re
import urllib.error
import urllib.request

import pytest

from chalicelib.errors import ResourceNotFoundException

PREDEFINED = [
    ('AppConfig.AllAtOnce', 'LINEAR', 100.0, 0, 10, 'Quick'),
    ('AppConfig.Linear50PercentEvery30Seconds', 'LINEAR', 50.0, 1, 1, 'Test/Demo'),
    ('AppConfig.Canary10Percent20Minutes', 'EXPONENTIAL', 10.0, 20, 10, 'AWS Recommended'),
    ('AppConfig.Linear20PercentEvery6Minutes', 'LINEAR', 20.0, 30, 30, 'AWS Recommended'),
]
PREDEFINED_IDS = [p[0] for p in PREDEFINED]
FIELDS = (
    'Id',
    'Name',
    'Description',
    'DeploymentDurationInMinutes',
    'GrowthType',
    'GrowthFactor',
    'FinalBakeTimeInMinutes',
    'ReplicateTo',
)


def shape(response):
    return {k: response[k] for k in FIELDS if k in response}


def create(client, **params):
    params = {
        'Name': 'Example-Deployment',
        'DeploymentDurationInMinutes': 15,
        'GrowthFactor': 25,
        **params,
    }
    return client.create_deployment_strategy(**params)


def test_predefined_readable_by_id(appconfig, subtests):
    for ident, growth_type, factor, duration, bake, description in PREDEFINED:
        with subtests.test(ident=ident):
            got = appconfig.get_deployment_strategy(DeploymentStrategyId=ident)
            assert shape(got) == {
                'Id': ident,
                'Name': ident,
                'Description': description,
                'DeploymentDurationInMinutes': duration,
                'GrowthType': growth_type,
                'GrowthFactor': factor,
                'FinalBakeTimeInMinutes': bake,
                'ReplicateTo': 'NONE',
            }


def test_create_applies_defaults(appconfig):
    created = create(appconfig)
    assert created['ResponseMetadata']['HTTPStatusCode'] == 201
    assert re.fullmatch(r'[a-z0-9]{7}', created['Id'])
    assert shape(created) == {
        'Id': created['Id'],
        'Name': 'Example-Deployment',
        'DeploymentDurationInMinutes': 15,
        'GrowthType': 'LINEAR',
        'GrowthFactor': 25.0,
        'FinalBakeTimeInMinutes': 0,
        'ReplicateTo': 'NONE',
    }
    assert 'Tags' not in created and 'Description' not in created
    assert shape(appconfig.get_deployment_strategy(DeploymentStrategyId=created['Id'])) == shape(
        created
    )


def test_create_with_every_field(appconfig):
    created = create(
        appconfig,
        Name='canary',
        Description='slow and careful',
        DeploymentDurationInMinutes=1440,
        GrowthFactor=12.5,
        GrowthType='EXPONENTIAL',
        FinalBakeTimeInMinutes=1440,
        ReplicateTo='SSM_DOCUMENT',
        Tags={'team': 'payments'},
    )
    expected = {
        'Id': created['Id'],
        'Name': 'canary',
        'Description': 'slow and careful',
        'DeploymentDurationInMinutes': 1440,
        'GrowthType': 'EXPONENTIAL',
        'GrowthFactor': 12.5,
        'FinalBakeTimeInMinutes': 1440,
        'ReplicateTo': 'SSM_DOCUMENT',
    }
    assert shape(created) == expected
    assert shape(appconfig.get_deployment_strategy(DeploymentStrategyId=created['Id'])) == expected


def test_update_reproduces_the_reference_sample(appconfig):
    created = create(appconfig, ReplicateTo='SSM_DOCUMENT')
    updated = appconfig.update_deployment_strategy(
        DeploymentStrategyId=created['Id'], FinalBakeTimeInMinutes=20
    )
    assert updated['ResponseMetadata']['HTTPStatusCode'] == 200
    expected = {
        'Id': created['Id'],
        'Name': 'Example-Deployment',
        'DeploymentDurationInMinutes': 15,
        'GrowthType': 'LINEAR',
        'GrowthFactor': 25.0,
        'FinalBakeTimeInMinutes': 20,
        'ReplicateTo': 'SSM_DOCUMENT',
    }
    assert shape(updated) == expected
    assert shape(appconfig.get_deployment_strategy(DeploymentStrategyId=created['Id'])) == expected


def test_update_every_field_returns_the_full_strategy(appconfig):
    created = create(appconfig, Description='before')
    updated = appconfig.update_deployment_strategy(
        DeploymentStrategyId=created['Id'],
        Description='after',
        DeploymentDurationInMinutes=0,
        FinalBakeTimeInMinutes=1440,
        GrowthFactor=100.0,
        GrowthType='EXPONENTIAL',
    )
    expected = {
        'Id': created['Id'],
        'Name': 'Example-Deployment',
        'Description': 'after',
        'DeploymentDurationInMinutes': 0,
        'GrowthType': 'EXPONENTIAL',
        'GrowthFactor': 100.0,
        'FinalBakeTimeInMinutes': 1440,
        'ReplicateTo': 'NONE',
    }
    assert shape(updated) == expected
    assert shape(appconfig.get_deployment_strategy(DeploymentStrategyId=created['Id'])) == expected


def test_update_boundaries_and_empty_description(appconfig):
    ident = create(appconfig, Description='x')['Id']
    updated = appconfig.update_deployment_strategy(
        DeploymentStrategyId=ident,
        Description='',
        DeploymentDurationInMinutes=1440,
        FinalBakeTimeInMinutes=0,
        GrowthFactor=1.0,
    )
    assert (
        updated['Description'],
        updated['DeploymentDurationInMinutes'],
        updated['FinalBakeTimeInMinutes'],
        updated['GrowthFactor'],
    ) == ('', 1440, 0, 1.0)
    long = appconfig.update_deployment_strategy(DeploymentStrategyId=ident, Description='d' * 1024)
    assert long['Description'] == 'd' * 1024


def test_update_with_nothing_to_change(appconfig):
    created = create(appconfig)
    assert shape(appconfig.update_deployment_strategy(DeploymentStrategyId=created['Id'])) == shape(
        created
    )


REJECTED_UPDATE_CHANGES_NOTHING_CASES = [
    ({'DeploymentDurationInMinutes': -1}, 'deploymentDurationInMinutes'),
    ({'DeploymentDurationInMinutes': 1441}, 'deploymentDurationInMinutes'),
    ({'DeploymentDurationInMinutes': 'ten'}, 'deploymentDurationInMinutes'),
    ({'FinalBakeTimeInMinutes': -1}, 'finalBakeTimeInMinutes'),
    ({'FinalBakeTimeInMinutes': 1441}, 'finalBakeTimeInMinutes'),
    ({'GrowthFactor': 0.99}, 'growthFactor'),
    ({'GrowthFactor': 100.01}, 'growthFactor'),
    ({'GrowthType': 'STEP'}, 'growthType'),
    ({'GrowthType': 'linear'}, 'growthType'),
    ({'Description': 'd' * 1025}, 'description'),
]


def test_rejected_update_changes_nothing(appconfig, raw_appconfig, subtests):
    for params, field in REJECTED_UPDATE_CHANGES_NOTHING_CASES:
        with subtests.test(params=params, field=field):
            created = create(appconfig, Description='kept')
            # A valid change next to the invalid one must not be applied either.
            with pytest.raises(raw_appconfig.exceptions.BadRequestException) as err:
                raw_appconfig.update_deployment_strategy(
                    DeploymentStrategyId=created['Id'],
                    **{'Description': 'changed', 'FinalBakeTimeInMinutes': 5, **params},
                )
            assert err.value.response['ResponseMetadata']['HTTPStatusCode'] == 400
            assert field in err.value.response['Error']['Message']
            got = appconfig.get_deployment_strategy(DeploymentStrategyId=created['Id'])
            assert shape(got) == {**shape(created), 'Description': 'kept'}


UPDATE_WRONG_JSON_TYPES_CASES = [
    ({'GrowthFactor': 'half'}, 'growthFactor'),
    ({'GrowthFactor': True}, 'growthFactor'),
    ({'DeploymentDurationInMinutes': 1.5}, 'deploymentDurationInMinutes'),
    ({'FinalBakeTimeInMinutes': '5'}, 'finalBakeTimeInMinutes'),
    ({'Description': 7}, 'description'),
    ({'GrowthType': ['LINEAR']}, 'growthType'),
]


def test_update_wrong_json_types(appconfig, endpoint, subtests):
    for body, field in UPDATE_WRONG_JSON_TYPES_CASES:
        with subtests.test(body=body, field=field):
            # Types botocore cannot send: a hand-written request, as another client might send.
            created = create(appconfig, Description='kept')
            request = urllib.request.Request(
                f'{endpoint}/deploymentstrategies/{created["Id"]}',
                method='PATCH',
                data=json.dumps({'Description': 'changed', **body}).encode(),
                headers={'Content-Type': 'application/json'},
            )
            with pytest.raises(urllib.error.HTTPError) as err:
                urllib.request.urlopen(request, timeout=10)
            assert err.value.code == 400
            assert err.value.headers['x-amzn-ErrorType'] == 'BadRequestException'
            assert field in json.loads(err.value.read())['Message']
            got = appconfig.get_deployment_strategy(DeploymentStrategyId=created['Id'])
            assert shape(got) == {**shape(created), 'Description': 'kept'}


STRATEGY_ID_PATTERN_CASES = [
    'abc',
    'abcdefgh',
    'ABCDEFG',
    'abc-def',
    'AppConfig.Short',
    'AppConfig.' + 'x' * 41,
    'AppConfig.All-At-Once',
]


def test_strategy_id_pattern(raw_appconfig, subtests):
    for ident in STRATEGY_ID_PATTERN_CASES:
        with subtests.test(ident=ident):
            calls = [
                lambda: raw_appconfig.get_deployment_strategy(DeploymentStrategyId=ident),
                lambda: raw_appconfig.update_deployment_strategy(
                    DeploymentStrategyId=ident, FinalBakeTimeInMinutes=1
                ),
                lambda: raw_appconfig.delete_deployment_strategy(DeploymentStrategyId=ident),
            ]
            for call in calls:
                with pytest.raises(raw_appconfig.exceptions.BadRequestException) as err:
                    call()
                assert 'deploymentStrategyId' in err.value.response['Error']['Message']


UNKNOWN_STRATEGY_CASES = ['zzzz', 'zzzzzzz', 'AppConfig.NotAStrategy']


def test_unknown_strategy(appconfig, subtests):
    for ident in UNKNOWN_STRATEGY_CASES:
        with subtests.test(ident=ident):
            calls = [
                lambda: appconfig.get_deployment_strategy(DeploymentStrategyId=ident),
                lambda: appconfig.update_deployment_strategy(
                    DeploymentStrategyId=ident, FinalBakeTimeInMinutes=1
                ),
                lambda: appconfig.delete_deployment_strategy(DeploymentStrategyId=ident),
            ]
            for call in calls:
                with pytest.raises(appconfig.exceptions.ResourceNotFoundException) as err:
                    call()
                assert err.value.response['ResponseMetadata']['HTTPStatusCode'] == 404
                assert ident in err.value.response['Error']['Message']
                assert err.value.response['ResourceName'] == ident


def test_predefined_cannot_change(appconfig, subtests):
    for ident in PREDEFINED_IDS:
        with subtests.test(ident=ident):
            with pytest.raises(appconfig.exceptions.BadRequestException) as err:
                appconfig.delete_deployment_strategy(DeploymentStrategyId=ident)
            assert err.value.response['ResponseMetadata']['HTTPStatusCode'] == 400
            assert (
                err.value.response['Error']['Message']
                == f'Cannot delete predefined Deployment Strategy {ident}.'
            )
            with pytest.raises(appconfig.exceptions.BadRequestException) as err:
                appconfig.update_deployment_strategy(
                    DeploymentStrategyId=ident, FinalBakeTimeInMinutes=0
                )
            assert (
                err.value.response['Error']['Message']
                == f'Cannot update predefined Deployment Strategy {ident}.'
            )
            assert appconfig.get_deployment_strategy(DeploymentStrategyId=ident)['Id'] == ident


def test_delete_uses_the_models_path(appconfig):
    ident = create(appconfig)['Id']
    urls = []
    appconfig.meta.events.register(
        'before-send.appconfig.DeleteDeploymentStrategy',
        lambda request, **_: urls.append(request.url),
    )
    deleted = appconfig.delete_deployment_strategy(DeploymentStrategyId=ident)
    assert deleted['ResponseMetadata']['HTTPStatusCode'] == 204
    assert urls[0].endswith(f'/deployementstrategies/{ident}')
    with pytest.raises(appconfig.exceptions.ResourceNotFoundException):
        appconfig.get_deployment_strategy(DeploymentStrategyId=ident)
    with pytest.raises(appconfig.exceptions.ResourceNotFoundException):
        appconfig.delete_deployment_strategy(DeploymentStrategyId=ident)


CREATE_VALIDATION_CASES = [
    ({'Name': None}, 'name'),
    ({'DeploymentDurationInMinutes': None}, 'deploymentDurationInMinutes'),
    ({'GrowthFactor': None}, 'growthFactor'),
    ({'Name': ''}, 'name'),
    ({'Name': 'n' * 65}, 'name'),
    ({'Description': 'd' * 1025}, 'description'),
    ({'DeploymentDurationInMinutes': -1}, 'deploymentDurationInMinutes'),
    ({'DeploymentDurationInMinutes': 1441}, 'deploymentDurationInMinutes'),
    ({'FinalBakeTimeInMinutes': -1}, 'finalBakeTimeInMinutes'),
    ({'FinalBakeTimeInMinutes': 1441}, 'finalBakeTimeInMinutes'),
    ({'GrowthFactor': 0.5}, 'growthFactor'),
    ({'GrowthFactor': 101}, 'growthFactor'),
    ({'GrowthType': 'QUADRATIC'}, 'growthType'),
    ({'ReplicateTo': 'S3'}, 'replicateTo'),
    ({'Tags': {'': 'v'}}, 'tags'),
    ({'Tags': {'k' * 129: 'v'}}, 'tags'),
    ({'Tags': {'k': 'v' * 257}}, 'tags'),
    ({'Tags': {f'k{i}': 'v' for i in range(51)}}, 'tags'),
    ({'Tags': {'aws:owner': 'me'}}, 'aws:'),
]


def test_create_validation(appconfig, raw_appconfig, subtests):
    for params, field in CREATE_VALIDATION_CASES:
        with subtests.test(params=params, field=field):
            request = {'Name': 'n', 'DeploymentDurationInMinutes': 1, 'GrowthFactor': 10, **params}
            request = {k: v for k, v in request.items() if v is not None}
            with pytest.raises(raw_appconfig.exceptions.BadRequestException) as err:
                raw_appconfig.create_deployment_strategy(**request)
            assert err.value.response['ResponseMetadata']['HTTPStatusCode'] == 400
            assert field in err.value.response['Error']['Message']
            listed = appconfig.list_deployment_strategies()['Items']
            assert [s['Id'] for s in listed] == PREDEFINED_IDS


def test_quota_of_twenty_custom_strategies(appconfig):
    ids = [create(appconfig, Name=f's{i}')['Id'] for i in range(20)]
    with pytest.raises(appconfig.exceptions.ServiceQuotaExceededException) as err:
        create(appconfig, Name='one too many')
    assert err.value.response['ResponseMetadata']['HTTPStatusCode'] == 402
    assert '20' in err.value.response['Error']['Message']
    listed = [
        s['Id']
        for p in appconfig.get_paginator('list_deployment_strategies').paginate()
        for s in p['Items']
    ]
    assert sorted(listed) == sorted(PREDEFINED_IDS + ids)
    appconfig.delete_deployment_strategy(DeploymentStrategyId=ids[0])
    assert create(appconfig, Name='fits again')['Name'] == 'fits again'


def test_list_predefined_only(appconfig):
    listed = appconfig.list_deployment_strategies()
    assert [s['Id'] for s in listed['Items']] == PREDEFINED_IDS
    assert 'NextToken' not in listed
    exact = appconfig.list_deployment_strategies(MaxResults=len(PREDEFINED))
    assert [s['Id'] for s in exact['Items']] == PREDEFINED_IDS and 'NextToken' not in exact
    assert shape(listed['Items'][0]) == shape(
        appconfig.get_deployment_strategy(DeploymentStrategyId='AppConfig.AllAtOnce')
    )


def test_list_pages_across_predefined_and_custom(appconfig, subtests):
    custom = sorted(create(appconfig, Name=f's{i}')['Id'] for i in range(5))
    for page_size in [1, 2, 3, 4, 5, 7, 50]:
        with subtests.test(page_size=page_size):
            seen, token, pages = [], None, 0
            while True:
                params = {'MaxResults': page_size, **({'NextToken': token} if token else {})}
                page = appconfig.list_deployment_strategies(**params)
                assert 0 < len(page['Items']) <= page_size
                seen += [s['Id'] for s in page['Items']]
                pages += 1
                token = page.get('NextToken')
                if not token:
                    break
            # Predefined first, then the account's own; nothing twice, no empty last page.
            assert seen == PREDEFINED_IDS + custom
            assert pages == -(-len(seen) // page_size)
            paginated = appconfig.get_paginator('list_deployment_strategies').paginate(
                PaginationConfig={'PageSize': page_size}
            )
            assert [s['Id'] for p in paginated for s in p['Items']] == seen


def test_list_shows_custom_fields(appconfig):
    created = create(appconfig, Description='d', ReplicateTo='SSM_DOCUMENT')
    items = appconfig.list_deployment_strategies()['Items']
    assert shape(items[-1]) == shape(created)


# eyJwcmVkZWZpbmVkIjo5fQ== is {"predefined":9}; then {"predefined":"1"} and {"foo":1}.
BAD_NEXT_TOKEN_CASES = [
    'not-a-token',
    'eyJwcmVkZWZpbmVkIjo5fQ==',
    'eyJwcmVkZWZpbmVkIjoiMSJ9',
    'eyJmb28iOjF9',
]


def test_bad_next_token(appconfig, subtests):
    for token in BAD_NEXT_TOKEN_CASES:
        with subtests.test(token=token):
            with pytest.raises(appconfig.exceptions.BadRequestException) as err:
                appconfig.list_deployment_strategies(NextToken=token)
            assert 'NextToken' in err.value.response['Error']['Message']


def test_max_results_bounds(raw_appconfig):
    for bad in (0, 51):
        with pytest.raises(raw_appconfig.exceptions.BadRequestException) as err:
            raw_appconfig.list_deployment_strategies(MaxResults=bad)
        assert 'maxResults' in err.value.response['Error']['Message']


def test_load_for_the_deployment_engine(appconfig):
    from chalicelib.ops.strategies import load

    created = create(appconfig, GrowthType='EXPONENTIAL', FinalBakeTimeInMinutes=3)
    assert load(created['Id']) == {
        'Id': created['Id'],
        'Name': 'Example-Deployment',
        'Description': None,
        'DeploymentDurationInMinutes': 15,
        'GrowthType': 'EXPONENTIAL',
        'GrowthFactor': 25.0,
        'FinalBakeTimeInMinutes': 3,
        'ReplicateTo': 'NONE',
    }
    assert load('AppConfig.Canary10Percent20Minutes')['GrowthType'] == 'EXPONENTIAL'
    for unknown in ('zzzz', 'AppConfig.Nope12345'):
        with pytest.raises(ResourceNotFoundException):
            load(unknown)
    # The constants handed out cannot be changed by the caller.
    load('AppConfig.AllAtOnce')['GrowthFactor'] = 1.0
    assert load('AppConfig.AllAtOnce')['GrowthFactor'] == 100.0
