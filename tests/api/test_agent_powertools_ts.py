"""Powertools TypeScript's `@aws-lambda-powertools/parameters/appconfig-agent` getConfig,
unmodified, under Node against the Agent listener (pinned in tests/node, installed by
`make test`). It calls the Agent only inside a Lambda runtime, which
AWS_LAMBDA_INITIALIZATION_TYPE marks, and finds it through AWS_APPCONFIG_EXTENSION_HTTP_PORT."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.api.agent import agent_port, fresh_agent  # noqa: F401
from tests.api.polling import fresh_caches, make_world  # noqa: F401

NODE_DIR = Path(__file__).resolve().parent.parent / 'node'
PACKAGE = NODE_DIR / 'node_modules' / '@aws-lambda-powertools' / 'parameters'

if not shutil.which('node') or not PACKAGE.is_dir():
    # `make test` installs both; running pytest directly on a bare clone must say why.
    pytest.fail(
        f'Node and {PACKAGE} are needed: run `make test` (it runs npm ci in {NODE_DIR})',
        pytrace=False,
    )


def get_config(port, *args):
    env = {k: v for k, v in os.environ.items() if k != 'POWERTOOLS_DEV'}
    env.update(
        AWS_LAMBDA_INITIALIZATION_TYPE='on-demand', AWS_APPCONFIG_EXTENSION_HTTP_PORT=str(port)
    )
    done = subprocess.run(
        ['node', str(NODE_DIR / 'get_config.mjs'), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_get_config_reads_the_deployed_bytes_and_json(appconfig, agent_port):
    w = make_world(appconfig)
    w.deploy(b'{"color": "red", "size": 3}')
    assert get_config(agent_port, 'cfg', 'shop', 'prod') == {
        'value': '{"color": "red", "size": 3}',
        'missing': False,
    }
    assert get_config(agent_port, w.profile, w.app, w.env, 'json')['value'] == {
        'color': 'red',
        'size': 3,
    }


def test_get_config_reads_feature_flags(appconfig, agent_port):
    w = make_world(appconfig, profile_type='AWS.AppConfig.FeatureFlags')
    w.deploy(
        json.dumps(
            {
                'version': '1',
                'flags': {'dark_mode': {'name': 'Dark mode'}},
                'values': {'dark_mode': {'enabled': True}},
            }
        ).encode()
    )
    assert get_config(agent_port, 'cfg', 'shop', 'prod', 'json')['value'] == {
        'dark_mode': {'enabled': True}
    }


def test_get_config_maps_not_found_to_missing(appconfig, agent_port):
    make_world(appconfig)
    assert get_config(agent_port, 'cfg', 'shop', 'prod') == {'value': None, 'missing': True}
    out = get_config(agent_port, 'cfg', 'shop', 'prod', '', 'true')
    assert out['error'] == 'ParameterNotFoundError'


def test_get_config_reports_other_errors_with_status_and_body(appconfig, agent_port, monkeypatch):
    make_world(appconfig).deploy(b'x')
    monkeypatch.setenv('APPCONFIG_AGENT_ACCESS_TOKEN', 'secret')  # getConfig sends none
    out = get_config(agent_port, 'cfg', 'shop', 'prod')
    assert out['error'] == 'GetParameterError'
    assert '401' in out['message'] and 'Bearer' in out['message']
