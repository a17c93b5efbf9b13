"""Helpers for the Agent endpoint tests: the listener on a free port, raw keep-alive requests."""

import http.client
import json
import time
from dataclasses import dataclass

import pytest

from chalicelib import agent, cache
from tests.api.polling import cached  # noqa: F401


@pytest.fixture(scope='session')
def agent_port():
    from local import agent_server

    server = agent_server.serve_in_thread()
    yield server.port
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def fresh_agent():
    cache.reset()
    yield
    agent.resolve_cache.with_frozen_clock = False
    agent.resolve_cache.timer = time.monotonic
    cache.reset()


@pytest.fixture
def agent_cached(cached):
    """As polling.cached, with the Agent's own cache on the same hand-moved timer."""
    agent.resolve_cache.with_frozen_clock = True
    agent.resolve_cache.timer = cached
    return cached


@dataclass
class Answer:
    status: int
    headers: dict
    body: bytes

    def json(self):
        return json.loads(self.body)


class AgentClient:
    """One keep-alive connection; header values given as lists are sent repeated."""

    def __init__(self, port):
        self.conn = http.client.HTTPConnection('127.0.0.1', port, timeout=10)

    def get(self, path, headers=None, method='GET'):
        self.conn.putrequest(method, path)
        for name, value in (headers or {}).items():
            for one in value if isinstance(value, list) else [value]:
                self.conn.putheader(name, one)
        self.conn.endheaders()
        response = self.conn.getresponse()
        body = response.read()
        return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, body)

    def close(self):
        self.conn.close()


@pytest.fixture
def agent_client(agent_port):
    client = AgentClient(agent_port)
    yield client
    client.close()


def path(app, env, profile, query=''):
    from urllib.parse import quote

    out = (
        f'/applications/{quote(app, safe="")}/environments/{quote(env, safe="")}'
        f'/configurations/{quote(profile, safe="")}'
    )
    return out + (f'?{query}' if query else '')


def call(app, env, profile, query=None, headers=None):
    """agent.answer in-process (no HTTP), for the many-entity property tests."""
    status, out, body = agent.answer(
        'GET', path(app, env, profile), query or {}, headers or {}, b''
    )
    return Answer(status, {k.lower(): v for k, v in out.items()}, body)
