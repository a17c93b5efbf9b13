"""Fixtures for the tests that invoke the Chalice app as Lambda does (no HTTP server)."""

import pytest
from moto import mock_aws

from tests.moto_tables import create_tables


@pytest.fixture(scope='module')
def app():
    from app import app

    return app


@pytest.fixture
def tables():
    """A fresh moto account with the service's tables."""
    with mock_aws():
        create_tables()
        yield
