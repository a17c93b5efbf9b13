"""Credentials of the IAM roles the service assumes: alarm roles (monitors), retrieval roles
(configuration sources) and extension action roles. Each role is assumed once and its
credentials kept until five minutes before they expire, so a tick or a burst of requests
costs one AssumeRole per role."""
import threading
import time
from datetime import datetime

import boto3
from botocore.config import Config

from chalicelib import arns

_STS = Config(connect_timeout=2, read_timeout=5, retries={'max_attempts': 2})
_cache = {}   # role ARN -> (expiry as epoch seconds, boto3 client keyword arguments)
_lock = threading.Lock()


def credentials(role_arn, session_name):
    """boto3 client keyword arguments for ``role_arn``; botocore's ClientError when the role
    cannot be assumed."""
    with _lock:
        cached = _cache.get(role_arn)
    if cached and cached[0] > time.time() + 300:
        return cached[1]
    sts = boto3.client('sts', region_name=arns.region(), config=_STS)
    creds = sts.assume_role(RoleArn=role_arn, RoleSessionName=session_name)['Credentials']
    expiry = creds['Expiration']
    if isinstance(expiry, datetime):
        expiry = expiry.timestamp()
    keys = {'aws_access_key_id': creds['AccessKeyId'],
            'aws_secret_access_key': creds['SecretAccessKey'],
            'aws_session_token': creds['SessionToken']}
    with _lock:
        _cache[role_arn] = (expiry, keys)
    return keys


def forget():
    """Drop every cached credential (tests)."""
    with _lock:
        _cache.clear()
