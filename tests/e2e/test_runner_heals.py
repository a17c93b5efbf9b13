"""The local runner restarts a DynamoDB Local that died, on the same data and port, and gives
up loudly (exit 1, a clear message) when restarting keeps failing.

Waiting here is on real processes (a JVM starting, a runner exiting), so the loops are
bounded polls of the API or of the process, not sleeps standing in for the clock.
"""

import json
import os
import re
import signal
import time
import urllib.error
import urllib.request

from tests.e2e.conftest import Runner, client

DEADLINE = 60


def _answer(endpoint):
    """(status, x-amzn-ErrorType, JSON body) of GET /applications; never HTML, never reset."""
    try:
        with urllib.request.urlopen(endpoint + '/applications', timeout=20) as response:
            return response.status, None, json.loads(response.read())
    except urllib.error.HTTPError as error:
        assert error.headers['Content-Type'].startswith('application/json'), error.headers
        return error.code, error.headers['x-amzn-ErrorType'], json.loads(error.read())


def _kill(pid):
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + DEADLINE
    while os.path.exists(f'/proc/{pid}/stat') and 'Z' not in _state(pid):
        assert time.monotonic() < deadline
        time.sleep(0.01)


def _state(pid):
    try:
        with open(f'/proc/{pid}/stat') as handle:
            return handle.read().rsplit(')', 1)[1].split()[0]
    except OSError:
        return 'gone'


def _block_restarts(data):
    """Make every restart fail until _unblock: the data dir's path is taken by a file (the
    running JVM keeps its open database)."""
    (data / 'dynamodb').rename(data / 'dynamodb.moved')
    (data / 'dynamodb').write_text('not a directory')


def _unblock_restarts(data):
    (data / 'dynamodb').unlink()
    (data / 'dynamodb.moved').rename(data / 'dynamodb')


def test_a_killed_dynamodb_local_is_restarted_and_a_crash_loop_stops_the_runner(tmp_path):
    data = tmp_path / 'data'
    runner = Runner(
        {'APPCONFIG_DATA_DIR': str(data), 'AWS_ENDPOINT_URL_DYNAMODB': ''},
        output=tmp_path / 'runner.log',
    )
    try:
        appconfig = client('appconfig', runner.endpoint)
        app_id = appconfig.create_application(Name='kept')['Id']
        port = re.search(r'DynamoDB Local on http://127.0.0.1:(\d+)', runner.read_output()).group(1)
        pid = runner.dynamodb_pid()

        # Down, and kept down by failing restarts: the API answers the modeled error.
        _block_restarts(data)
        _kill(pid)
        status, error_type, body = _answer(runner.endpoint)
        assert (status, error_type) == (500, 'InternalServerException')
        assert body['Message']
        # Restarts keep being tried; once one can succeed the same API serves the same data.
        _unblock_restarts(data)
        answers = []
        deadline = time.monotonic() + DEADLINE
        while not answers or answers[-1][0] != 200:
            assert time.monotonic() < deadline, answers
            answers.append(_answer(runner.endpoint))
        assert all(a[:2] == (500, 'InternalServerException') for a in answers[:-1])
        assert appconfig.get_application(ApplicationId=app_id)['Name'] == 'kept'
        assert runner.dynamodb_pid() != pid
        log = runner.read_output()
        assert 'Restarting DynamoDB Local failed' in log
        assert f'DynamoDB Local restarted on http://127.0.0.1:{port}' in log
        assert runner.proc.poll() is None

        # Failing again within the minute: the runner gives up, loudly, with exit code 1.
        _block_restarts(data)
        _kill(runner.dynamodb_pid())
        assert runner.proc.wait(timeout=DEADLINE) == 1
        log = runner.read_output()
        assert re.search(
            r'error: DynamoDB Local failed \d+ times within 60 s .*not restarting '
            r'it again.* The local runner stops\.',
            log,
        ), log[-3000:]
    finally:
        runner.stop()
