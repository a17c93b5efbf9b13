"""Hosted configuration versions created in parallel, against DynamoDB Local.

The API tier's moto is not safe under concurrent threads, so races are tested here, with one
boto3 client per thread as separate processes would have.
"""

from concurrent.futures import ThreadPoolExecutor

import pytest
from botocore.exceptions import ClientError

from tests.e2e.conftest import client

PARALLEL = 24


@pytest.fixture
def ids(e2e_endpoint):
    appconfig = client('appconfig', e2e_endpoint)
    app_id = appconfig.create_application(Name='concurrency')['Id']
    profile_id = appconfig.create_configuration_profile(
        ApplicationId=app_id, Name='p', LocationUri='hosted'
    )['Id']
    return {'ApplicationId': app_id, 'ConfigurationProfileId': profile_id}


def _race(endpoint, ids, make_params, count=PARALLEL):
    """Run ``count`` CreateHostedConfigurationVersion calls at once; each result is the
    version number or the error code."""
    clients = [client('appconfig', endpoint) for _ in range(count)]

    def create(i):
        try:
            return clients[i].create_hosted_configuration_version(
                **ids, ContentType='application/json', **make_params(i)
            )['VersionNumber']
        except ClientError as error:
            return error.response['Error']['Code']

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(create, range(count)))


def test_parallel_creates_get_distinct_gap_free_numbers(e2e_endpoint, ids):
    numbers = _race(e2e_endpoint, ids, lambda i: {'Content': f'{{"n": {i}}}'.encode()})
    assert sorted(numbers) == list(range(1, PARALLEL + 1))
    appconfig = client('appconfig', e2e_endpoint)
    # Each number holds the content of the request that got it.
    by_content = {}
    for number in numbers:
        body = appconfig.get_hosted_configuration_version(**ids, VersionNumber=number)
        by_content[body['Content'].read()] = number
    assert len(by_content) == PARALLEL
    pages = appconfig.get_paginator('list_hosted_configuration_versions').paginate(**ids)
    assert [i['VersionNumber'] for p in pages for i in p['Items']] == list(range(PARALLEL, 0, -1))


def test_only_one_of_parallel_creates_gets_a_label(e2e_endpoint, ids):
    results = _race(
        e2e_endpoint, ids, lambda i: {'Content': b'{}', 'VersionLabel': 'release'}, count=8
    )
    winners = [r for r in results if isinstance(r, int)]
    assert len(winners) == 1
    assert sorted(r for r in results if not isinstance(r, int)) == ['ConflictException'] * 7
    appconfig = client('appconfig', e2e_endpoint)
    listed = appconfig.list_hosted_configuration_versions(**ids, VersionLabel='release')
    assert [i['VersionNumber'] for i in listed['Items']] == winners


def test_only_one_of_parallel_creates_passes_the_version_lock(e2e_endpoint, ids):
    appconfig = client('appconfig', e2e_endpoint)
    appconfig.create_hosted_configuration_version(
        **ids, Content=b'{}', ContentType='application/json'
    )
    results = _race(
        e2e_endpoint, ids, lambda i: {'Content': b'{}', 'LatestVersionNumber': 1}, count=8
    )
    assert sorted(results, key=str) == [2] + ['ConflictException'] * 7
