"""Helpers for the data-plane tests: resources and deployments through the real API, polls,
the in-process caches switched on under a hand-moved timer, DynamoDB requests counted."""

import time
from dataclasses import dataclass
from unittest import mock

import botocore.client
import pytest

from chalicelib import cache
from chalicelib.engine import delivery
from chalicelib.ops import data_plane

# LINEAR 10 % over 11 minutes: step k (10k %) lands at minute k; complete at minute 11.
LINEAR_10 = {
    'Name': 'linear10',
    'DeploymentDurationInMinutes': 11,
    'GrowthFactor': 10.0,
    'FinalBakeTimeInMinutes': 0,
    'GrowthType': 'LINEAR',
}
INSTANT = {
    'Name': 'instant',
    'DeploymentDurationInMinutes': 0,
    'GrowthFactor': 100.0,
    'FinalBakeTimeInMinutes': 0,
}


@dataclass
class World:
    appconfig: object
    app: str
    env: str
    profile: str

    @property
    def ids(self):
        return dict(
            ApplicationIdentifier=self.app,
            EnvironmentIdentifier=self.env,
            ConfigurationProfileIdentifier=self.profile,
        )

    def version(self, data, label=None, content_type='application/json'):
        extra = {'VersionLabel': label} if label else {}
        return self.appconfig.create_hosted_configuration_version(
            ApplicationId=self.app,
            ConfigurationProfileId=self.profile,
            Content=data,
            ContentType=content_type,
            **extra,
        )['VersionNumber']

    def deploy(self, data=None, strategy=INSTANT, version=None, **version_args):
        """Create a version of ``data`` (unless ``version`` is given) and start deploying it."""
        if version is None:
            version = self.version(data, **version_args)
        strategy_id = self.appconfig.create_deployment_strategy(**strategy)['Id']
        return self.appconfig.start_deployment(
            ApplicationId=self.app,
            EnvironmentId=self.env,
            ConfigurationProfileId=self.profile,
            DeploymentStrategyId=strategy_id,
            ConfigurationVersion=str(version),
        )

    def stop(self, deployment, **args):
        return self.appconfig.stop_deployment(
            ApplicationId=self.app,
            EnvironmentId=self.env,
            DeploymentNumber=deployment['DeploymentNumber'],
            **args,
        )


@pytest.fixture(autouse=True)
def fresh_caches():
    cache.reset()
    yield
    for each in (delivery.delivery_cache, data_plane.lookup_cache):
        each.with_frozen_clock = False
        each.timer = time.monotonic
    cache.reset()


def make_world(appconfig, profile_type='AWS.Freeform', app_name='shop'):
    app = appconfig.create_application(Name=app_name)['Id']
    env = appconfig.create_environment(ApplicationId=app, Name='prod')['Id']
    profile = appconfig.create_configuration_profile(
        ApplicationId=app, Name='cfg', LocationUri='hosted', Type=profile_type
    )['Id']
    return World(appconfig, app, env, profile)


def start(client, world, **params):
    return client.start_configuration_session(**world.ids, **params)['InitialConfigurationToken']


def poll(client, token):
    r = client.get_latest_configuration(ConfigurationToken=token)
    return r, r['Configuration'].read()


def problem(err):
    return err.value.response['Details']['InvalidParameters']['ConfigurationToken']['Problem']


@pytest.fixture
def dynamo_calls():
    """Every DynamoDB request the process makes, as (operation, table)."""
    calls = []
    real = botocore.client.BaseClient._make_api_call

    def counting(self, operation, params):
        if self.meta.service_model.service_name == 'dynamodb':
            calls.append((operation, params.get('TableName')))
        return real(self, operation, params)

    with mock.patch.object(botocore.client.BaseClient, '_make_api_call', counting):
        yield calls


class FakeTimer:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def cached():
    """The caches on, as in production, with a timer the test moves by hand."""
    timer = FakeTimer()
    for each in (delivery.delivery_cache, data_plane.lookup_cache):
        each.with_frozen_clock = True
        each.timer = timer
    return timer


# Powertools' own feature-flag schema (not AWS's), as its FeatureFlags reads a profile.
POWERTOOLS_RULES = {
    'premium_features': {
        'default': False,
        'rules': {
            'gold customers': {
                'when_match': True,
                'conditions': [{'action': 'EQUALS', 'key': 'tier', 'value': 'gold'}],
            },
        },
    },
    'ten_percent_off_campaign': {'default': True},
}
