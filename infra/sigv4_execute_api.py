"""Sign AppConfig SDK calls for API Gateway: SigV4 scoped to ``execute-api``.

The deployed API is IAM-authorised by API Gateway, which accepts only signatures whose
credential scope names the service ``execute-api``. boto3 and AWS CLI clients for
``appconfig`` and ``appconfigdata`` sign for ``appconfig``, so, unmodified, they get 403
``Credential should be scoped to correct service: 'execute-api'``. This module re-scopes
their signature through a botocore ``before-sign`` hook; nothing else about the request
changes. It needs botocore only (no part of the app).

boto3::

    import boto3
    from infra.sigv4_execute_api import sign_for_execute_api

    url = 'https://abc123defg.execute-api.eu-west-1.amazonaws.com/api'
    appconfig = sign_for_execute_api(boto3.client('appconfig', endpoint_url=url))
    data = sign_for_execute_api(boto3.client('appconfigdata', endpoint_url=url))

The signing region is ``region`` if given, else the one in the ``execute-api`` host name,
else the client's own region (a custom domain name: pass ``region``).

AWS CLI (version 1) plugin, in the CLI's config file (``~/.aws/config``), with the folder
that holds ``infra/`` on the CLI's ``PYTHONPATH``::

    [plugins]
    appconfig_execute_api = infra.sigv4_execute_api

AWS CLI version 2 loads such plugins only with a ``cli_legacy_plugin_path = <dir>`` line in
the same section (version 1 must not have that line: it would try to import it). The plugin
re-scopes ``appconfig`` and ``appconfigdata`` calls whose endpoint is an ``execute-api``
host; set ``APPCONFIG_SIGN_FOR_EXECUTE_API=1`` to re-scope them whatever the endpoint
(custom domain names), and ``APPCONFIG_EXECUTE_API_REGION`` to force the region. Calls to the
real AWS AppConfig keep their ``appconfig`` scope.
"""

import os
import re
from urllib.parse import urlsplit

SIGNING_NAME = 'execute-api'
# What the plugin re-scopes: the service ids of both AppConfig models, hyphenised.
SERVICES = ('appconfig', 'appconfigdata')
# abc123defg.execute-api.eu-west-1.amazonaws.com, and the private-API (VPC endpoint) and
# China partition forms of it.
_HOST = re.compile(r'^[^.]+\.execute-api\.([a-z0-9-]+)\.(?:vpce\.)?amazonaws\.com(?:\.cn)?$')


def region_from_url(url):
    """The region of an ``execute-api`` endpoint URL, or None for any other host."""
    match = _HOST.match((urlsplit(url).hostname or '').lower()) if url else None
    return match.group(1) if match else None


def sign_for_execute_api(client, region=None):
    """Make every call of this boto3/botocore ``client`` sign for ``execute-api``.

    Returns the client. Calling it twice on a client is harmless.
    """
    region = region or region_from_url(client.meta.endpoint_url) or client.meta.region_name
    service = client.meta.service_model.service_id.hyphenize()

    def rescope(request, **_):
        _set_scope(request, region)

    client.meta.events.register(
        f'before-sign.{service}', rescope, unique_id='appconfig-sign-for-execute-api'
    )
    return client


def _set_scope(request, region):
    signing = request.context.setdefault('signing', {})
    signing['signing_name'] = SIGNING_NAME
    if region:
        signing['region'] = region


def _cli_rescope(request, **_):
    forced = os.environ.get('APPCONFIG_SIGN_FOR_EXECUTE_API', '').lower() in ('1', 'true', 'on')
    region = region_from_url(request.url)
    if region is None and not forced:
        return
    _set_scope(request, os.environ.get('APPCONFIG_EXECUTE_API_REGION') or region)


def awscli_initialize(cli):
    """AWS CLI plugin entry point: ``cli`` is the CLI session's event emitter."""
    for service in SERVICES:
        cli.register(
            f'before-sign.{service}',
            _cli_rescope,
            unique_id=f'appconfig-sign-for-execute-api-{service}',
        )
