"""local.dynamodb.Supervisor's restart policy, with short-lived processes standing in for
DynamoDB Local (the e2e tier kills the real one)."""

import subprocess
import sys
import threading

import pytest

from local.dynamodb import DynamoDBLocalError, Supervisor


class Child:
    """The part of DynamoDBLocal the supervisor uses, around a real process."""

    def __init__(self, code='import time; time.sleep(60)'):
        self.process = subprocess.Popen([sys.executable, '-c', code])
        self.pid = self.process.pid
        self.endpoint = 'http://127.0.0.1:1'
        self.data_dir = '/data'

    def log_tail(self, limit=0):
        return 'last words'

    def stop(self):
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


@pytest.fixture
def supervised():
    made = []

    def make(restart, **options):
        gave_up = threading.Event()
        supervisor = Supervisor(
            Child(), restart, retry_pause=0.01, on_give_up=lambda why: gave_up.set(), **options
        )
        made.append(supervisor)
        return supervisor, gave_up

    yield make
    for supervisor in made:
        supervisor.stop()


def test_a_dead_child_is_replaced_and_the_replacement_is_watched_too(supervised):
    started = []

    def restart():
        started.append(Child())
        return started[-1]

    supervisor, gave_up = supervised(restart)
    for n in (1, 2):
        supervisor.server.process.kill()
        assert _wait_for(lambda n=n: supervisor.restarts == n)
        assert supervisor.server is started[-1]
    assert supervisor.server.process.poll() is None
    assert not gave_up.is_set()


def test_a_crash_loop_gives_up_once_and_stops_restarting(supervised):
    attempts = []

    def restart():
        attempts.append(1)
        raise DynamoDBLocalError('port 8001 is already in use')

    supervisor, gave_up = supervised(restart, max_failures=3, window=60)
    supervisor.server.process.kill()
    assert gave_up.wait(10)
    # The death and two failed starts were tolerated; the third failed start ended it.
    assert len(attempts) == 3
    assert 'failed 4 times within 60 s (port 8001 is already in use)' in supervisor.gave_up
    assert supervisor.restarts == 0


def test_failures_spread_beyond_the_window_never_give_up(supervised):
    now = [0.0]
    supervisor, gave_up = supervised(Child, max_failures=1, window=10, clock=lambda: now[0])
    for n in (1, 2, 3):
        now[0] += 11  # each death more than a window after the previous one
        supervisor.server.process.kill()
        assert _wait_for(lambda n=n: supervisor.restarts == n)
    assert not gave_up.is_set()


def test_stop_ends_supervision_without_a_restart(supervised):
    supervisor, gave_up = supervised(Child)
    child = supervisor.server
    assert not gave_up.is_set()
    supervisor.stop()
    assert child.process.poll() is not None
    supervisor._thread.join(5)
    assert not supervisor._thread.is_alive()
    assert supervisor.restarts == 0


def _wait_for(condition, seconds=10):
    """Bounded wait on another thread reacting to a process exit (not on time)."""
    done = threading.Event()
    for _ in range(int(seconds / 0.01)):
        if condition():
            return True
        done.wait(0.01)
    return condition()
