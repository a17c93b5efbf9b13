"""e2e tier: the local runner as users start it, backed by a real DynamoDB Local."""

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

ROOT = Path(__file__).resolve().parents[2]


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class Runner:
    """`python -m local.run` as a child process on a free port."""

    def __init__(self, env, output=None, port=None):
        """``output``: a file path for the runner's output (else a pipe); the runner gets a
        process group of its own, so a test can kill it whole with os.killpg."""
        self.port = port or free_port()
        self.endpoint = f'http://127.0.0.1:{self.port}'
        self.agent_port = free_port()  # never the fixed 2772: runners run side by side
        self.agent_endpoint = f'http://127.0.0.1:{self.agent_port}'
        self.output = output
        sink = open(output, 'ab') if output else subprocess.PIPE  # noqa: SIM115
        try:
            self.proc = subprocess.Popen(
                [sys.executable, '-m', 'local.run'],
                cwd=ROOT,
                env={
                    **os.environ,
                    'APPCONFIG_AGENT_PORT': str(self.agent_port),
                    **env,
                    'PORT': str(self.port),
                },
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            if output:
                sink.close()
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError('local runner exited:\n' + self.read_output())
            try:
                urllib.request.urlopen(self.endpoint + '/applications', timeout=2)
                return
            except urllib.error.HTTPError:
                return  # any answer from the app means it is serving
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError('local runner did not answer within 60 s')
                time.sleep(0.1)

    def read_output(self):
        if self.output:
            return Path(self.output).read_text(errors='replace')
        return self.proc.stdout.read().decode(errors='replace')

    def dynamodb_pid(self):
        """Pid of the DynamoDB Local JVM the runner started (its only child process)."""
        children = []
        for task in Path(f'/proc/{self.proc.pid}/task').iterdir():
            try:
                children += (task / 'children').read_text().split()
            except OSError:
                continue  # a thread that ended meanwhile
        assert len(children) == 1, children
        return int(children[0])

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture(scope='session')
def dynamodb_local(tmp_path_factory):
    from local import dynamodb

    server = dynamodb.start(in_memory=True)
    yield server.endpoint
    server.stop()


@pytest.fixture(scope='session')
def e2e_runner(dynamodb_local):
    """The local runner, backed by DynamoDB Local."""
    runner = Runner({'AWS_ENDPOINT_URL_DYNAMODB': dynamodb_local, 'APPCONFIG_TABLE_PREFIX': 'e2e-'})
    yield runner
    runner.stop()


@pytest.fixture(scope='session')
def e2e_endpoint(e2e_runner):
    """Base URL of the local runner's API."""
    return e2e_runner.endpoint


def client(service, endpoint):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name='us-east-1',
        aws_access_key_id='x',
        aws_secret_access_key='x',
        config=Config(retries={'max_attempts': 1}),
    )
