"""What every table shares: where DynamoDB is, and how tables are named."""
import os

from pynamodb.models import Model


def table_name(name):
    """Tables are named ``<prefix><name>``; the prefix separates stages sharing an account."""
    return os.environ.get('APPCONFIG_TABLE_PREFIX', 'appconfig-') + name


class BaseMeta:
    region = os.environ.get('AWS_REGION') or os.environ.get('AWS_DEFAULT_REGION') or 'us-east-1'
    # Set locally (DynamoDB Local) and in tests; on AWS the regional endpoint is used.
    host = os.environ.get('AWS_ENDPOINT_URL_DYNAMODB') or None
    billing_mode = 'PAY_PER_REQUEST'
    # A poll must not hang on a slow store; botocore's defaults (60 s) are far too long.
    connect_timeout_seconds = 2
    read_timeout_seconds = 5
    max_retry_attempts = 3


class BaseModel(Model):
    """Models list their key names once so paging can build and check tokens."""

    @classmethod
    def key_names(cls):
        names = [cls._hash_keyname]
        if cls._range_keyname:
            names.append(cls._range_keyname)
        return names
