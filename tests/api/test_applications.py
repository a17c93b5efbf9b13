import pytest


def test_create_get_update_delete(appconfig):
    created = appconfig.create_application(Name='shop', Description='web shop', Tags={'team': 'a'})
    assert created['ResponseMetadata']['HTTPStatusCode'] == 201
    assert len(created['Id']) == 7 and created['Id'].isalnum() and created['Id'].islower()
    got = appconfig.get_application(ApplicationId=created['Id'])
    assert (got['Id'], got['Name'], got['Description']) == (created['Id'], 'shop', 'web shop')
    assert got['ResponseMetadata']['HTTPHeaders']['x-amzn-requestid']
    updated = appconfig.update_application(ApplicationId=created['Id'], Name='store')
    assert (updated['Name'], updated['Description']) == ('store', 'web shop')
    deleted = appconfig.delete_application(ApplicationId=created['Id'])
    assert deleted['ResponseMetadata']['HTTPStatusCode'] == 204
    with pytest.raises(appconfig.exceptions.ResourceNotFoundException) as err:
        appconfig.get_application(ApplicationId=created['Id'])
    assert err.value.response['ResponseMetadata']['HTTPStatusCode'] == 404
    assert created['Id'] in err.value.response['Error']['Message']


def test_list_paginates(appconfig):
    ids = {appconfig.create_application(Name=f'app{i}')['Id'] for i in range(7)}
    first = appconfig.list_applications(MaxResults=3)
    assert len(first['Items']) == 3 and first['NextToken']
    seen = [i['Id'] for i in first['Items']]
    token = first['NextToken']
    while token:
        page = appconfig.list_applications(MaxResults=3, NextToken=token)
        seen += [i['Id'] for i in page['Items']]
        token = page.get('NextToken')
    assert sorted(seen) == sorted(ids)
    paginated = appconfig.get_paginator('list_applications').paginate(
        PaginationConfig={'PageSize': 2}
    )
    assert sorted(i['Id'] for p in paginated for i in p['Items']) == sorted(ids)


def test_list_items_show_id_name_and_description_as_they_are_now(appconfig):
    described = appconfig.create_application(Name='one', Description='first')['Id']
    bare = appconfig.create_application(Name='two')['Id']
    appconfig.list_applications()  # a cached page must not outlive the update below
    appconfig.update_application(ApplicationId=described, Name='uno', Description='primero')
    items = {i['Id']: i for i in appconfig.list_applications()['Items']}
    assert items[described] == {'Id': described, 'Name': 'uno', 'Description': 'primero'}
    assert items[bare] == {'Id': bare, 'Name': 'two'}


def test_bad_next_token(appconfig):
    with pytest.raises(appconfig.exceptions.BadRequestException):
        appconfig.list_applications(NextToken='not-a-token')


@pytest.mark.parametrize(
    'params, field',
    [
        ({}, 'name'),
        ({'Name': ''}, 'name'),
        ({'Name': 'x' * 65}, 'name'),
        ({'Name': 'ok', 'Description': 'd' * 1025}, 'description'),
        ({'Name': 5}, 'name'),
    ],
)
def test_create_validation(raw_appconfig, params, field):
    with pytest.raises(raw_appconfig.exceptions.BadRequestException) as err:
        raw_appconfig.create_application(**params)
    assert field in err.value.response['Error']['Message']


def test_max_results_bounds(raw_appconfig):
    for bad in (0, 51):
        with pytest.raises(raw_appconfig.exceptions.BadRequestException):
            raw_appconfig.list_applications(MaxResults=bad)


def test_delete_refused_while_children_exist(appconfig):
    app_id = appconfig.create_application(Name='parent')['Id']
    env_id = appconfig.create_environment(ApplicationId=app_id, Name='prod')['Id']
    with pytest.raises(appconfig.exceptions.BadRequestException) as err:
        appconfig.delete_application(ApplicationId=app_id)
    assert 'environments' in err.value.response['Error']['Message']
    appconfig.delete_environment(ApplicationId=app_id, EnvironmentId=env_id)
    profile = appconfig.create_configuration_profile(
        ApplicationId=app_id, Name='p', LocationUri='hosted'
    )['Id']
    with pytest.raises(appconfig.exceptions.BadRequestException) as err:
        appconfig.delete_application(ApplicationId=app_id)
    assert 'configuration profiles' in err.value.response['Error']['Message']
    appconfig.delete_configuration_profile(ApplicationId=app_id, ConfigurationProfileId=profile)
    appconfig.delete_application(ApplicationId=app_id)
    with pytest.raises(appconfig.exceptions.ResourceNotFoundException):
        appconfig.get_application(ApplicationId=app_id)
