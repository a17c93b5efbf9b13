"""What every table shares: where DynamoDB is, how tables are named, and one Connection
(chalicelib.store.connection) through which every table's requests go."""
import os

from pynamodb.models import Model

from chalicelib.store.connection import connection as store_connection


def table_name(name):
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


class BaseModel(Model):
    """Models list their key names once so paging can build and check tokens."""

    @classmethod
    def _get_connection(cls):
        # PynamoDB gives each model its own Connection; the store routes every table through
        # the one StoreConnection instead, the single path where the read cache is kept
        # coherent with every write (saves, updates, deletes, batches, transactions).
        table = super()._get_connection()
        shared = store_connection()
        if table.connection is not shared:
            shared.add_meta_table(table.connection.get_meta_table(cls.Meta.table_name))
            table.connection = shared
        return table

    @classmethod
    def key_names(cls):
        names = [cls._hash_keyname]
        if cls._range_keyname:
            names.append(cls._range_keyname)
        return names
