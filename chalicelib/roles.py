"""Credentials of the IAM roles the service assumes: alarm roles (monitors), retrieval roles
(configuration sources) and extension action roles. Each role is assumed once and its
credentials kept until five minutes before they expire, so a tick or a burst of requests
costs one AssumeRole per role."""

import time
from datetime import datetime

import boto3
from botocore.config import Config

from chalicelib import arns, cache

_STS = Config(connect_timeout=2, read_timeout=5, retries={'max_attempts': 2})
# role ARN -> (expiry as epoch seconds, boto3 client keyword arguments); an entry is trusted
# until five minutes before its credentials expire, whatever the service clock says.
_cache = cache.TTLCache(float('inf'), with_frozen_clock=True)


def credentials(role_arn, session_name):
    """boto3 client keyword arguments for ``role_arn``; botocore's ClientError when the role
    cannot be assumed."""
    # Wall time on purpose: STS credentials expire in real time, not on the service's clock.
    return _cache.get(
        role_arn,
        lambda: _assume(role_arn, session_name),
        lambda cached: cached[0] > time.time() + 300,
    )[1]


def _assume(role_arn, session_name):
    sts = boto3.client('sts', region_name=arns.region(), config=_STS)
    creds = sts.assume_role(RoleArn=role_arn, RoleSessionName=session_name)['Credentials']
    expiry = creds['Expiration']
    if isinstance(expiry, datetime):
        expiry = expiry.timestamp()
    keys = {
        'aws_access_key_id': creds['AccessKeyId'],
        'aws_secret_access_key': creds['SecretAccessKey'],
        'aws_session_token': creds['SessionToken'],
    }
    return expiry, keys
