"""A small, realistic data set for looking at the console: the screenshots and the bench.

``store()`` starts an in-memory DynamoDB Local and points this process at it with the store's
read cache on, as ``make run`` does (call it before anything imports chalicelib.store);
``build()`` creates, through the console's own
``api.call``: an application with two environments, a freeform profile with two versions, a
feature-flag profile with a multi-variant flag, finished deployments of both to beta and a LINEAR
one to prod held at 60 % by the frozen clock. It returns the console paths of every kind of
page. Costs a few seconds (the JVM); everything is gone when the process ends.
"""

import contextlib
import json
import os
from datetime import UTC, datetime

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

FLAGS = {
    'version': '1',
    'flags': {
        'banner': {
            'name': 'Banner',
            'description': 'The home page banner, by country',
            'attributes': {
                'text': {'constraints': {'type': 'string', 'required': True}},
                'colour': {'constraints': {'type': 'string', 'enum': ['blue', 'green', 'orange']}},
            },
        },
        'checkout': {
            'name': 'One-page checkout',
            'attributes': {
                'steps': {'constraints': {'type': 'number', 'minimum': 1, 'maximum': 5}}
            },
        },
    },
    'values': {
        'banner': {
            '_variants': [
                {
                    'name': 'Germany',
                    'enabled': True,
                    'rule': '(eq $country "DE")',
                    'attributeValues': {'text': 'Willkommen', 'colour': 'green'},
                },
                {
                    'name': 'Beta testers',
                    'enabled': True,
                    'rule': '(ends_with $email "@beta.example.com")',
                    'attributeValues': {'text': 'Welcome, tester', 'colour': 'orange'},
                },
                {
                    'name': 'Default Variant',
                    'enabled': True,
                    'attributeValues': {'text': 'Welcome', 'colour': 'blue'},
                },
            ]
        },
        'checkout': {'enabled': True, 'steps': 2},
    },
}


@contextlib.contextmanager
def store():
    """DynamoDB Local in memory, with the service's tables, for the rest of the process."""
    from local import dynamodb

    for name, value in (
        ('AWS_ACCESS_KEY_ID', 'local'),
        ('AWS_SECRET_ACCESS_KEY', 'local'),
        ('AWS_DEFAULT_REGION', 'us-east-1'),
        ('AWS_REGION', 'us-east-1'),
    ):
        os.environ.setdefault(name, value)
    os.environ['APPCONFIG_TABLE_PREFIX'] = 'demo-'
    # As in the local runner, which turns the read cache on when it owns its DynamoDB Local.
    os.environ.setdefault('APPCONFIG_STORE_CACHE', 'on')
    server = dynamodb.start(in_memory=True)
    os.environ['AWS_ENDPOINT_URL_DYNAMODB'] = server.endpoint
    try:
        from chalicelib.store.tables import create_all

        create_all()
        yield
    finally:
        server.stop()


def build():
    from chalicelib import clock
    from chalicelib.constants import FEATURE_FLAGS
    from local.console.api import call
    from local.console.web import url

    clock.freeze(START)
    app = call('CreateApplication', Name='shop', Description='The web shop')['Id']
    beta = call('CreateEnvironment', ApplicationId=app, Name='beta')['Id']
    prod = call('CreateEnvironment', ApplicationId=app, Name='prod', Description='Customers')['Id']
    settings = call(
        'CreateConfigurationProfile', ApplicationId=app, Name='settings', LocationUri='hosted'
    )['Id']
    for limits in ({'cart': 20, 'timeout': 30}, {'cart': 50, 'timeout': 30, 'retries': 3}):
        call(
            'CreateHostedConfigurationVersion',
            ApplicationId=app,
            ConfigurationProfileId=settings,
            ContentType='application/json',
            Content=json.dumps(limits, indent=2).encode(),
        )
    flags = call(
        'CreateConfigurationProfile',
        ApplicationId=app,
        Name='flags',
        LocationUri='hosted',
        Type=FEATURE_FLAGS,
    )['Id']
    call(
        'CreateHostedConfigurationVersion',
        ApplicationId=app,
        ConfigurationProfileId=flags,
        ContentType='application/json',
        Content=json.dumps(FLAGS, indent=2).encode(),
        Description='Banner by country',
    )
    for profile, version in ((settings, '2'), (flags, '1')):
        call(
            'StartDeployment',
            ApplicationId=app,
            EnvironmentId=beta,
            ConfigurationProfileId=profile,
            ConfigurationVersion=version,
            DeploymentStrategyId='AppConfig.AllAtOnce',
        )
        clock.advance(minutes=12)
    call(
        'StartDeployment',
        ApplicationId=app,
        EnvironmentId=prod,
        ConfigurationProfileId=settings,
        ConfigurationVersion='2',
        DeploymentStrategyId='AppConfig.Linear20PercentEvery6Minutes',
        Description='Bigger carts',
    )
    clock.advance(minutes=16)
    return {
        'applications': url(),
        'application': url('applications', app),
        'environment': url('applications', app, 'environments', prod),
        'deployment': url('applications', app, 'environments', prod, 'deployments', 1),
        'deployment live': url('applications', app, 'environments', prod, 'deployments', 1, 'live'),
        'profile': url('applications', app, 'profiles', settings),
        'version': url('applications', app, 'profiles', settings, 'versions', 2),
        'diff': url('applications', app, 'profiles', settings, 'diff', **{'from': 1, 'to': 2}),
        'flag editor': url('applications', app, 'profiles', flags, 'flags'),
        'start deployment': url('applications', app, 'deploy', environment=prod),
        'evaluate': url(
            'applications',
            app,
            'evaluate',
            environment=beta,
            profile=flags,
            ck0='country',
            cv0='DE',
            run=1,
        ),
    }
