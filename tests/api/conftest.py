"""API tier: the app served over HTTP in-process, DynamoDB (and other AWS services) from moto,
real boto3 clients pointed at the server."""

import boto3
import pytest
from botocore.config import Config
from moto import mock_aws

from chalicelib import clock
from tests.moto_tables import create_tables


@pytest.fixture(scope='session')
def endpoint():
    from app import app
    from local import clockctl
    from local.server import serve_in_thread

    # With the local runner's mounts: the clock control drives the fake clock over HTTP.
    server = serve_in_thread(app, mounts=[clockctl.MOUNT])
    yield f'http://127.0.0.1:{server.port}'
    server.shutdown()


@pytest.fixture(autouse=True)
def moto_account():
    """A fresh moto account with the service's tables for every test."""
    from chalicelib.store import connection

    with mock_aws():
        create_tables()
        connection.configure()  # tables made afresh behind the store's back: nothing cached
        clock.freeze()
        yield
        clock.thaw()


def _client(service, endpoint, **config):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name='us-east-1',
        config=Config(retries={'max_attempts': 1}, **config),
    )


# Clients are stateless and cost tens of milliseconds to build, so each is built once.
@pytest.fixture(scope='session')
def appconfig(endpoint):
    return _client('appconfig', endpoint)


@pytest.fixture(scope='session')
def raw_appconfig(endpoint):
    """A client that sends whatever it is given: the server alone must validate."""
    return _client('appconfig', endpoint, parameter_validation=False)


@pytest.fixture(scope='session')
def appconfigdata(endpoint):
    return _client('appconfigdata', endpoint)
