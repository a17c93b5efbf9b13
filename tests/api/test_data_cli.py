"""The AWS CLI, unmodified, polling the data plane: `aws appconfigdata start-configuration-session`
and `get-latest-configuration <outfile>` as subprocesses against the in-process server."""

import pytest

from chalicelib import clock
from tests.api.polling import fresh_caches, make_world  # noqa: F401
from tests.cli import aws_cli


@pytest.fixture
def data_cli(endpoint, tmp_path):
    return aws_cli('appconfigdata', endpoint, tmp_path)


def test_start_session_and_poll_with_the_cli(appconfig, data_cli, tmp_path):
    w = make_world(appconfig)
    w.deploy(b'{"feature": true}', label='release-1')
    session = data_cli(
        'start-configuration-session',
        '--application-identifier',
        'shop',
        '--environment-identifier',
        'prod',
        '--configuration-profile-identifier',
        'cfg',
        '--required-minimum-poll-interval-in-seconds',
        '15',
    )
    out = tmp_path / 'config.json'
    first = data_cli(
        'get-latest-configuration',
        '--configuration-token',
        session['InitialConfigurationToken'],
        str(out),
    )
    assert out.read_bytes() == b'{"feature": true}'
    assert first['ContentType'] == 'application/json'
    assert first['VersionLabel'] == 'release-1'
    assert first['NextPollIntervalInSeconds'] == 15
    token = first['NextPollConfigurationToken']

    # Too early: the session asked for at least 15 seconds between polls.
    early = data_cli(
        'get-latest-configuration', '--configuration-token', token, str(out), check=False
    )
    assert early.returncode != 0
    assert 'BadRequestException' in early.stderr and 'Request too early' in early.stderr

    clock.advance(seconds=15)
    second = data_cli('get-latest-configuration', '--configuration-token', token, str(out))
    assert out.read_bytes() == b''
    assert second['NextPollConfigurationToken'] != token


def test_cli_reports_an_unknown_application(appconfig, data_cli):
    make_world(appconfig)
    done = data_cli(
        'start-configuration-session',
        '--application-identifier',
        'nope',
        '--environment-identifier',
        'prod',
        '--configuration-profile-identifier',
        'cfg',
        check=False,
    )
    assert done.returncode != 0
    assert 'ResourceNotFoundException' in done.stderr
