"""Where DynamoDB is and how tables are named: the settings every table and the store's one
Connection (store/connection.py) share. Pure configuration, read from the environment."""

from __future__ import annotations

import os


def table_name(name: str) -> str:
    """Tables are named ``<prefix><name>``; the prefix separates stages sharing an account."""
    return os.environ.get('APPCONFIG_TABLE_PREFIX', 'appconfig-') + name


class _Settings(type):
    @property
    def host(cls):
        # Set locally (DynamoDB Local) and in tests; on AWS the regional endpoint is used.
        # Read when used, not at import: the local runner imports the app while its DynamoDB
        # Local is still starting on a port not known yet.
        return os.environ.get('AWS_ENDPOINT_URL_DYNAMODB') or None


class BaseMeta(metaclass=_Settings):
    region = os.environ.get('AWS_REGION') or os.environ.get('AWS_DEFAULT_REGION') or 'us-east-1'
    billing_mode = 'PAY_PER_REQUEST'
    # A poll must not hang on a slow store; botocore's defaults (60 s) are far too long.
    connect_timeout_seconds = 2
    read_timeout_seconds = 5
    max_retry_attempts = 3
    # Request threads and the ticker share one connection (one HTTP pool).
    max_pool_connections = 32
