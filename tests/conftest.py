"""Shared fixtures: fake AWS settings, the fake clock, and the app on a real HTTP port."""

import os

# Before anything imports boto3 or the app: no real account is ever reached.
os.environ.update(
    {
        'AWS_ACCESS_KEY_ID': 'testing',
        'AWS_SECRET_ACCESS_KEY': 'testing',
        'AWS_SESSION_TOKEN': 'testing',
        'AWS_DEFAULT_REGION': 'us-east-1',
        'AWS_REGION': 'us-east-1',
        'APPCONFIG_TABLE_PREFIX': 'test-',
    }
)
for _var in ('AWS_PROFILE', 'AWS_ENDPOINT_URL', 'AWS_ENDPOINT_URL_DYNAMODB'):
    os.environ.pop(_var, None)

import pytest  # noqa: E402

from chalicelib import clock  # noqa: E402


@pytest.fixture
def frozen_clock():
    clock.freeze()
    yield clock
    clock.thaw()
