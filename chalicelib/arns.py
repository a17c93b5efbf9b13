"""Account, region and the ARNs of AppConfig resources."""

import os
import re

from chalicelib.errors import BadRequestException

_account = os.environ.get('APPCONFIG_ACCOUNT_ID', '123456789012')


def region():
    return os.environ.get('AWS_REGION') or os.environ.get('AWS_DEFAULT_REGION') or 'us-east-1'


def account():
    return _account


def use_lambda_context(context):
    """On AWS the account is the one the function runs in (unless configured)."""
    global _account
    arn = getattr(context, 'invoked_function_arn', '') or ''
    parts = arn.split(':')
    if 'APPCONFIG_ACCOUNT_ID' not in os.environ and len(parts) > 4 and parts[4].isdigit():
        _account = parts[4]


def arn(resource):
    """``arn('application/abc')`` -> arn:aws:appconfig:<region>:<account>:application/abc"""
    return f'arn:aws:appconfig:{region()}:{account()}:{resource}'


_ARN = re.compile(r'arn:aws[a-zA-Z-]*:appconfig:[^:]*:(\d{12}):(.+)')


def parse(value):
    """Split an AppConfig ARN into (kind, ids), e.g. ('environment', ('app', 'env'))."""
    match = _ARN.fullmatch(value)
    if not match or match.group(1) != account():
        raise BadRequestException(f'Invalid resource ARN: {value}')
    parts = match.group(2).split('/')
    kinds = parts[0::2]
    return '/'.join(kinds), tuple(parts[1::2])
