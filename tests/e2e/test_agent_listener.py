"""The local runner serves the Agent's HTTP API on its own port, in the same process as the
API, over real DynamoDB Local; APPCONFIG_AGENT_PORT=0 turns it off."""

import json
import socket
import urllib.error
import urllib.request

import pytest

from tests.e2e.conftest import Runner, client


def _get(url, headers=None):
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_the_runner_serves_the_agent_api(e2e_runner):
    appconfig = client('appconfig', e2e_runner.endpoint)
    app = appconfig.create_application(Name='agent-e2e')['Id']
    env = appconfig.create_environment(ApplicationId=app, Name='prod')['Id']
    profile = appconfig.create_configuration_profile(
        ApplicationId=app, Name='flags', LocationUri='hosted', Type='AWS.AppConfig.FeatureFlags'
    )['Id']
    doc = {
        'version': '1',
        'flags': {'beta': {'name': 'Beta'}},
        'values': {'beta': {'enabled': True}},
    }
    version = appconfig.create_hosted_configuration_version(
        ApplicationId=app,
        ConfigurationProfileId=profile,
        Content=json.dumps(doc).encode(),
        ContentType='application/json',
    )['VersionNumber']
    appconfig.start_deployment(
        ApplicationId=app,
        EnvironmentId=env,
        ConfigurationProfileId=profile,
        ConfigurationVersion=str(version),
        DeploymentStrategyId='AppConfig.AllAtOnce',
    )
    base = f'{e2e_runner.agent_endpoint}/applications/agent-e2e/environments/prod/configurations'
    status, headers, body = _get(f'{base}/flags?flag=beta', {'Entity-Id': 'user-1'})
    assert (status, json.loads(body)) == (200, {'enabled': True})
    assert headers['Configuration-Version'] == str(version)
    status, _, body = _get(f'{base}/nope')
    assert status == 404 and 'Message' in json.loads(body)


def test_agent_port_0_turns_the_listener_off(dynamodb_local):
    runner = Runner(
        {
            'AWS_ENDPOINT_URL_DYNAMODB': dynamodb_local,
            'APPCONFIG_TABLE_PREFIX': 'e2e-agent-off-',
            'APPCONFIG_AGENT_PORT': '0',
        }
    )
    try:
        with pytest.raises(OSError):
            socket.create_connection(('127.0.0.1', runner.agent_port), timeout=1).close()
    finally:
        runner.stop()
    printed = runner.proc.stdout.read().decode()
    assert f'AppConfig API on {runner.endpoint}' in printed
    assert 'Agent' not in printed
