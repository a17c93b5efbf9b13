import json
import os
import random

import boto3
import pytest

from chalicelib.ops import hosted_versions

ROLE = 'arn:aws:iam::123456789012:role/appconfig-reader'
MB = 1024 * 1024


@pytest.fixture
def app_id(appconfig):
    return appconfig.create_application(Name='shop')['Id']


@pytest.fixture
def profile_id(appconfig, app_id):
    return appconfig.create_configuration_profile(
        ApplicationId=app_id, Name='settings', LocationUri='hosted'
    )['Id']


@pytest.fixture
def ids(app_id, profile_id):
    return {'ApplicationId': app_id, 'ConfigurationProfileId': profile_id}


def _status(err):
    return err.value.response['ResponseMetadata']['HTTPStatusCode']


def _message(err):
    return err.value.response['Error']['Message']


def _create(client, ids, content=b'{}', content_type='application/json', **extra):
    return client.create_hosted_configuration_version(
        **ids, Content=content, ContentType=content_type, **extra
    )


def _numbers(client, ids, **extra):
    pages = client.get_paginator('list_hosted_configuration_versions').paginate(**ids, **extra)
    return [i['VersionNumber'] for p in pages for i in p['Items']]


def test_create_get_list_delete(appconfig, ids):
    created = _create(appconfig, ids, b'{"a": 1}', Description='first', VersionLabel='v1.0.0')
    assert created['ResponseMetadata']['HTTPStatusCode'] == 201
    expected = {
        **ids,
        'VersionNumber': 1,
        'ContentType': 'application/json',
        'Description': 'first',
        'VersionLabel': 'v1.0.0',
    }
    assert {k: created.get(k) for k in expected} == expected
    assert created['Content'].read() == b'{"a": 1}'
    assert 'KmsKeyArn' not in created

    got = appconfig.get_hosted_configuration_version(**ids, VersionNumber=1)
    assert got['ResponseMetadata']['HTTPStatusCode'] == 200
    assert {k: got.get(k) for k in expected} == expected
    assert got['Content'].read() == b'{"a": 1}'

    listed = appconfig.list_hosted_configuration_versions(**ids)
    assert listed['Items'] == [expected] and 'NextToken' not in listed

    deleted = appconfig.delete_hosted_configuration_version(**ids, VersionNumber=1)
    assert deleted['ResponseMetadata']['HTTPStatusCode'] == 204
    with pytest.raises(appconfig.exceptions.ResourceNotFoundException) as err:
        appconfig.get_hosted_configuration_version(**ids, VersionNumber=1)
    assert _status(err) == 404 and 'HostedConfigurationVersion 1' in _message(err)
    assert appconfig.list_hosted_configuration_versions(**ids)['Items'] == []


@pytest.mark.parametrize(
    'content, content_type',
    [
        (bytes(range(256)) * 4 + os.urandom(60_000), 'application/octet-stream'),
        ('naïve café — 日本語テキスト 🚀 ✓\n'.encode() * 50, 'text/plain; charset=utf-8'),
        (os.urandom(1536 * 1024), 'application/x-protobuf'),
        (b'', 'application/json'),
        (b'key = "value"\r\n\x00trailing', 'application/toml'),
        (json.dumps({'limit': 5}).encode(), 'application/json'),
        (b'<config enabled="true"/>', 'application/xml'),
    ],
)
def test_content_round_trips_byte_exact(appconfig, ids, content, content_type):
    created = _create(appconfig, ids, content, content_type)
    assert created['Content'].read() == content
    assert created['ContentType'] == content_type
    got = appconfig.get_hosted_configuration_version(**ids, VersionNumber=created['VersionNumber'])
    assert got['Content'].read() == content
    assert got['ContentType'] == content_type
    assert got['ResponseMetadata']['HTTPHeaders']['content-type'] == content_type


def test_kms_key_of_the_profile_is_reported(appconfig, app_id):
    # A real (moto) key: the version's bytes are encrypted with it (more in test_kms.py).
    key_arn = boto3.client('kms', region_name='us-east-1').create_key()['KeyMetadata']['Arn']
    profile_id = appconfig.create_configuration_profile(
        ApplicationId=app_id, Name='secret', LocationUri='hosted', KmsKeyIdentifier=key_arn
    )['Id']
    ids = {'ApplicationId': app_id, 'ConfigurationProfileId': profile_id}
    assert _create(appconfig, ids)['KmsKeyArn'] == key_arn
    assert appconfig.list_hosted_configuration_versions(**ids)['Items'][0]['KmsKeyArn'] == key_arn


def test_numbers_are_never_reused(appconfig, ids):
    assert [_create(appconfig, ids)['VersionNumber'] for _ in range(3)] == [1, 2, 3]
    appconfig.delete_hosted_configuration_version(**ids, VersionNumber=3)
    assert _create(appconfig, ids)['VersionNumber'] == 4
    for number in (1, 2, 4):
        appconfig.delete_hosted_configuration_version(**ids, VersionNumber=number)
    assert _create(appconfig, ids)['VersionNumber'] == 5
    assert _numbers(appconfig, ids) == [5]


def test_list_is_newest_first_across_pages(appconfig, ids):
    for i in range(7):
        _create(appconfig, ids, f'{i}'.encode(), VersionLabel=f'v{i}')
    first = appconfig.list_hosted_configuration_versions(**ids, MaxResults=3)
    assert [i['VersionNumber'] for i in first['Items']] == [7, 6, 5] and first['NextToken']
    second = appconfig.list_hosted_configuration_versions(
        **ids, MaxResults=3, NextToken=first['NextToken']
    )
    assert [i['VersionNumber'] for i in second['Items']] == [4, 3, 2]
    third = appconfig.list_hosted_configuration_versions(
        **ids, MaxResults=3, NextToken=second['NextToken']
    )
    assert [i['VersionNumber'] for i in third['Items']] == [1] and 'NextToken' not in third
    assert _numbers(appconfig, ids, PaginationConfig={'PageSize': 2}) == [7, 6, 5, 4, 3, 2, 1]
    exact = appconfig.list_hosted_configuration_versions(**ids, MaxResults=7)
    assert len(exact['Items']) == 7 and 'NextToken' not in exact


def test_label_filter_exact_and_prefix(appconfig, ids):
    labels = ['v1.0', 'v1.1', 'v2.0', None, 'v2.1', 'beta', 'v2.10', 'v2', 'x*y']
    for label in labels:
        _create(appconfig, ids, **({'VersionLabel': label} if label else {}))
    assert _numbers(appconfig, ids, VersionLabel='v2') == [8]
    assert _numbers(appconfig, ids, VersionLabel='v2.1') == [5]
    assert _numbers(appconfig, ids, VersionLabel='v2*') == [8, 7, 5, 3]
    assert _numbers(appconfig, ids, VersionLabel='v2.1*') == [7, 5]
    assert _numbers(appconfig, ids, VersionLabel='v*') == [8, 7, 5, 3, 2, 1]
    assert _numbers(appconfig, ids, VersionLabel='*') == [9, 8, 7, 6, 5, 3, 2, 1]
    assert _numbers(appconfig, ids, VersionLabel='x*y') == [9]
    assert _numbers(appconfig, ids, VersionLabel='v3*') == []
    assert _numbers(appconfig, ids, VersionLabel='V2') == []


def test_label_filter_pages_hold_only_matches(appconfig, ids):
    for i in range(12):
        _create(appconfig, ids, VersionLabel=f'{"rel" if i % 3 == 0 else "dev"}-{i}')
    seen, token, pages = [], None, 0
    while True:
        page = appconfig.list_hosted_configuration_versions(
            **ids, VersionLabel='rel-*', MaxResults=2, **({'NextToken': token} if token else {})
        )
        pages += 1
        assert page['Items']
        seen += [(i['VersionNumber'], i['VersionLabel']) for i in page['Items']]
        token = page.get('NextToken')
        if not token:
            break
    assert seen == [(10, 'rel-9'), (7, 'rel-6'), (4, 'rel-3'), (1, 'rel-0')] and pages == 2


def test_labels_are_unique_within_a_profile(appconfig, app_id, ids):
    _create(appconfig, ids, VersionLabel='release')
    with pytest.raises(appconfig.exceptions.ConflictException) as err:
        _create(appconfig, ids, VersionLabel='release')
    assert _status(err) == 409 and 'release' in _message(err)
    # A refused duplicate does not use up a number.
    assert _create(appconfig, ids)['VersionNumber'] == 2
    other = appconfig.create_configuration_profile(
        ApplicationId=app_id, Name='other', LocationUri='hosted'
    )['Id']
    _create(
        appconfig,
        {'ApplicationId': app_id, 'ConfigurationProfileId': other},
        VersionLabel='release',
    )
    appconfig.delete_hosted_configuration_version(**ids, VersionNumber=1)
    assert _create(appconfig, ids, VersionLabel='release')['VersionNumber'] == 3


def test_latest_version_number_lock(appconfig, ids):
    assert _create(appconfig, ids, LatestVersionNumber=0)['VersionNumber'] == 1
    assert _create(appconfig, ids, LatestVersionNumber=1)['VersionNumber'] == 2
    with pytest.raises(appconfig.exceptions.ConflictException) as err:
        _create(appconfig, ids, b'stale', LatestVersionNumber=1)
    assert _status(err) == 409
    assert _message(err) == (
        'LatestVersionNumber 1 does not match the latest version number 2 '
        f'of configuration profile {ids["ConfigurationProfileId"]}.'
    )
    assert _numbers(appconfig, ids) == [2, 1]
    assert _create(appconfig, ids, LatestVersionNumber=2)['VersionNumber'] == 3


def test_payload_too_large(appconfig, ids):
    at_limit = _create(appconfig, ids, b'x' * (2 * MB), 'text/plain')
    assert at_limit['VersionNumber'] == 1
    with pytest.raises(appconfig.exceptions.PayloadTooLargeException) as err:
        _create(appconfig, ids, b'x' * (2 * MB + 1), 'text/plain')
    response = err.value.response
    assert _status(err) == 413
    assert (response['Measure'], response['Limit']) == ('KILOBYTES', 2048.0)
    assert response['Size'] == pytest.approx((2 * MB + 1) / 1024)
    assert _numbers(appconfig, ids) == [1]


def test_size_limit_is_configurable_up_to_4_mb(appconfig, ids, monkeypatch):
    monkeypatch.setenv('APPCONFIG_MAX_CONTENT_BYTES', '1024')
    _create(appconfig, ids, b'x' * 1024)
    with pytest.raises(appconfig.exceptions.PayloadTooLargeException) as err:
        _create(appconfig, ids, b'x' * 1025)
    assert err.value.response['Limit'] == 1.0
    monkeypatch.setenv('APPCONFIG_MAX_CONTENT_BYTES', str(64 * MB))
    big = os.urandom(3 * MB)
    number = _create(appconfig, ids, big, 'application/octet-stream')['VersionNumber']
    assert (
        appconfig.get_hosted_configuration_version(**ids, VersionNumber=number)['Content'].read()
        == big
    )
    with pytest.raises(appconfig.exceptions.PayloadTooLargeException) as err:
        _create(appconfig, ids, b'x' * (4 * MB + 1))
    assert err.value.response['Limit'] == 4096.0


def test_only_hosted_profiles_take_versions(appconfig, app_id):
    profile_id = appconfig.create_configuration_profile(
        ApplicationId=app_id, Name='ssm', LocationUri='ssm-parameter://x', RetrievalRoleArn=ROLE
    )['Id']
    with pytest.raises(appconfig.exceptions.BadRequestException) as err:
        _create(appconfig, {'ApplicationId': app_id, 'ConfigurationProfileId': profile_id})
    assert _status(err) == 400 and 'hosted' in _message(err)


def test_feature_flag_documents_are_checked(appconfig, app_id):
    profile_id = appconfig.create_configuration_profile(
        ApplicationId=app_id, Name='flags', LocationUri='hosted', Type='AWS.AppConfig.FeatureFlags'
    )['Id']
    ids = {'ApplicationId': app_id, 'ConfigurationProfileId': profile_id}
    good = json.dumps(
        {
            'version': '1',
            'flags': {'checkout': {'name': 'Checkout'}},
            'values': {'checkout': {'enabled': True}},
        }
    ).encode()
    assert _create(appconfig, ids, good)['Content'].read() == good
    bad = json.dumps({'version': '2', 'flags': {'Bad Key': {}}}).encode()
    with pytest.raises(appconfig.exceptions.BadRequestException) as err:
        _create(appconfig, ids, bad)
    response = err.value.response
    assert _status(err) == 400
    assert _message(err) == (
        "Error invoking extension AppConfig Feature Flags Helper: Malformed 'Content' provided"
    )
    assert response['Reason'] == 'InvalidConfiguration'
    details = response['Details']['InvalidConfiguration']
    assert details and all('Location' in d and 'Reason' in d for d in details)
    assert _numbers(appconfig, ids) == [1]


def test_deployment_engine_interface(appconfig, ids, app_id, profile_id):
    data = os.urandom(500_000)
    _create(appconfig, ids, data, 'application/octet-stream', VersionLabel='v1.2.3')
    by_number = hosted_versions.load_version(app_id, profile_id, '1')
    by_label = hosted_versions.load_version(app_id, profile_id, 'v1.2.3')
    assert int(by_number.version) == int(by_label.version) == 1
    assert (
        by_label.version_label == 'v1.2.3' and by_label.content_type == 'application/octet-stream'
    )
    assert by_label.size == len(data)
    assert hosted_versions.read_content(by_number) == data
    from chalicelib.errors import ResourceNotFoundException

    for missing in ('2', 'v9', 'v1.2'):
        with pytest.raises(ResourceNotFoundException):
            hosted_versions.load_version(app_id, profile_id, missing)


@pytest.mark.parametrize(
    'call',
    [
        lambda c, i: _create(c, i),
        lambda c, i: c.get_hosted_configuration_version(**i, VersionNumber=1),
        lambda c, i: c.list_hosted_configuration_versions(**i),
        lambda c, i: c.delete_hosted_configuration_version(**i, VersionNumber=1),
    ],
)
def test_missing_parents_are_named(appconfig, app_id, call):
    with pytest.raises(appconfig.exceptions.ResourceNotFoundException) as err:
        call(appconfig, {'ApplicationId': 'nope123', 'ConfigurationProfileId': 'abc1234'})
    assert _status(err) == 404 and 'Application nope123' in _message(err)
    with pytest.raises(appconfig.exceptions.ResourceNotFoundException) as err:
        call(appconfig, {'ApplicationId': app_id, 'ConfigurationProfileId': 'abc1234'})
    assert _status(err) == 404 and 'ConfigurationProfile abc1234' in _message(err)


def test_missing_version(appconfig, ids):
    _create(appconfig, ids)
    for call in (
        appconfig.get_hosted_configuration_version,
        appconfig.delete_hosted_configuration_version,
    ):
        with pytest.raises(appconfig.exceptions.ResourceNotFoundException) as err:
            call(**ids, VersionNumber=9)
        assert _status(err) == 404 and 'HostedConfigurationVersion 9' in _message(err)
        assert err.value.response['ResourceName'] == '9'


@pytest.mark.parametrize(
    'extra, field',
    [
        ({'VersionLabel': '12345'}, 'versionLabel'),
        ({'VersionLabel': ''}, 'versionLabel'),
        ({'VersionLabel': 'v' * 65}, 'versionLabel'),
        ({'Description': 'd' * 1025}, 'description'),
        ({'ContentType': 't' * 256}, 'contentType'),
        ({'ContentType': ''}, 'contentType'),
        ({'ContentType': None}, 'contentType'),
    ],
)
def test_create_validation(raw_appconfig, ids, extra, field):
    params = {'Content': b'{}', 'ContentType': 'application/json', **extra}
    params = {k: v for k, v in params.items() if v is not None}
    with pytest.raises(raw_appconfig.exceptions.BadRequestException) as err:
        raw_appconfig.create_hosted_configuration_version(**ids, **params)
    assert _status(err) == 400 and field in _message(err)
    assert raw_appconfig.list_hosted_configuration_versions(**ids)['Items'] == []


def test_path_validation(raw_appconfig, ids, app_id):
    with pytest.raises(raw_appconfig.exceptions.BadRequestException) as err:
        raw_appconfig.get_hosted_configuration_version(
            ApplicationId=app_id, ConfigurationProfileId='p' * 129, VersionNumber=1
        )
    assert 'configurationProfileId' in _message(err)
    for params in (
        {'MaxResults': 0},
        {'MaxResults': 51},
        {'VersionLabel': 'v' * 65},
        {'VersionLabel': ''},
        {'NextToken': 'garbage'},
    ):
        with pytest.raises(raw_appconfig.exceptions.BadRequestException):
            raw_appconfig.list_hosted_configuration_versions(**ids, **params)


def test_next_token_of_another_profile_is_refused(appconfig, app_id, ids):
    other_id = appconfig.create_configuration_profile(
        ApplicationId=app_id, Name='other', LocationUri='hosted'
    )['Id']
    other = {'ApplicationId': app_id, 'ConfigurationProfileId': other_id}
    for _ in range(3):
        _create(appconfig, other)
    token = appconfig.list_hosted_configuration_versions(**other, MaxResults=1)['NextToken']
    with pytest.raises(appconfig.exceptions.BadRequestException):
        appconfig.list_hosted_configuration_versions(**ids, NextToken=token)


def test_random_binary_versions_stay_distinct(appconfig, ids):
    rng = random.Random(7)
    blobs = [bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 5000))) for _ in range(5)]
    blobs.append(blobs[0])  # identical content in two versions is stored once, read twice
    numbers = [
        _create(appconfig, ids, b, 'application/octet-stream')['VersionNumber'] for b in blobs
    ]
    appconfig.delete_hosted_configuration_version(**ids, VersionNumber=numbers[0])
    for number, blob in list(zip(numbers, blobs))[1:]:
        assert (
            appconfig.get_hosted_configuration_version(**ids, VersionNumber=number)[
                'Content'
            ].read()
            == blob
        )
