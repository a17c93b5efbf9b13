"""Helpers for the deployment tests: resources through the real API, the fake clock, ticks."""

import json
from datetime import timedelta

from chalicelib import clock
from chalicelib.engine import tick

JSON = 'application/json'


class World:
    """An application with one environment and one hosted freeform profile."""

    def __init__(self, appconfig, monitors=None, validators=None, profile_type=None):
        self.client = appconfig
        self.app = appconfig.create_application(Name='shop')['Id']
        env = {'ApplicationId': self.app, 'Name': 'prod'}
        if monitors:
            env['Monitors'] = monitors
        self.env = appconfig.create_environment(**env)['Id']
        profile = {'ApplicationId': self.app, 'Name': 'settings', 'LocationUri': 'hosted'}
        if validators:
            profile['Validators'] = validators
        if profile_type:
            profile['Type'] = profile_type
        self.profile = appconfig.create_configuration_profile(**profile)['Id']

    def version(self, doc=None, label=None, raw=None):
        body = raw if raw is not None else json.dumps(doc if doc is not None else {'v': 1}).encode()
        args = {
            'ApplicationId': self.app,
            'ConfigurationProfileId': self.profile,
            'Content': body,
            'ContentType': JSON,
        }
        if label:
            args['VersionLabel'] = label
        return self.client.create_hosted_configuration_version(**args)['VersionNumber']

    def strategy(self, growth, duration, bake=0, growth_type='LINEAR'):
        return self.client.create_deployment_strategy(
            Name=f's{growth}-{duration}-{bake}-{growth_type}',
            GrowthFactor=growth,
            DeploymentDurationInMinutes=duration,
            FinalBakeTimeInMinutes=bake,
            GrowthType=growth_type,
            ReplicateTo='NONE',
        )['Id']

    def start(self, strategy_id, version=None, client=None, **extra):
        if version is None:
            version = self.version()
        return (client or self.client).start_deployment(
            ApplicationId=self.app,
            EnvironmentId=self.env,
            DeploymentStrategyId=strategy_id,
            ConfigurationProfileId=self.profile,
            ConfigurationVersion=str(version),
            **extra,
        )

    def get(self, number):
        return self.client.get_deployment(
            ApplicationId=self.app, EnvironmentId=self.env, DeploymentNumber=number
        )

    def stop(self, number, allow_revert=None, client=None):
        args = {'ApplicationId': self.app, 'EnvironmentId': self.env, 'DeploymentNumber': number}
        if allow_revert is not None:
            args['AllowRevert'] = allow_revert
        return (client or self.client).stop_deployment(**args)

    def environment_state(self):
        return self.client.get_environment(ApplicationId=self.app, EnvironmentId=self.env)['State']


def later(**delta):
    """Move the fake clock forward."""
    return clock.advance(**delta)


def tick_now():
    return tick.run()


def log(deployment):
    """EventLog oldest first as (offset from StartedAt, type, triggered by, description)."""
    started = deployment['StartedAt']
    return [
        (e['OccurredAt'] - started, e['EventType'], e['TriggeredBy'], e['Description'])
        for e in reversed(deployment['EventLog'])
    ]


def minutes(m=0, seconds=0):
    return timedelta(minutes=m, seconds=seconds)
