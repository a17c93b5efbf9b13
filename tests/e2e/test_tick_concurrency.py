"""Whole ticks running at once over many deployments, on DynamoDB Local (moto's transactions
are not atomic across threads, DynamoDB's are): every due event is written exactly once,
whichever tick's transaction wins. The ticks run in a child process so the store's endpoint
is this DynamoDB Local."""

import json
import os
import subprocess
import sys

from tests.e2e.conftest import ROOT

CHILD = r"""
import json, threading
from datetime import timedelta
from bench import tick as seed
from chalicelib.engine import tick
from chalicelib.store.deployments import Deployment
from chalicelib.store.tables import create_all
create_all()
count = 150                                   # two transactions of 100 and 50 per tick
seed._write([seed._active_item(i, seed.T0) for i in range(count)])
rounds = []
for k in (1, 2):
    at = seed.T0 + k * seed.STEP
    summaries = []
    ticks = [threading.Thread(target=lambda: summaries.append(tick.run(now=at)))
             for _ in range(3)]
    for t in ticks:
        t.start()
    for t in ticks:
        t.join()
    rounds.append(summaries)
logs = [[e.event_type for e in d.events] for d in Deployment.scan()]
print(json.dumps({'count': count, 'rounds': rounds, 'logs': logs}))
"""


def test_three_ticks_at_once_write_each_event_once(dynamodb_local):
    env = {
        **os.environ,
        'AWS_ENDPOINT_URL_DYNAMODB': dynamodb_local,
        'APPCONFIG_TABLE_PREFIX': 'e2e-tickrace-',
        'AWS_ACCESS_KEY_ID': 'x',
        'AWS_SECRET_ACCESS_KEY': 'x',
        'AWS_DEFAULT_REGION': 'us-east-1',
        'AWS_REGION': 'us-east-1',
    }
    env.pop('APPCONFIG_EVENT_BUS', None)
    done = subprocess.run(
        [sys.executable, '-c', CHILD],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    count = result['count']
    for summaries in result['rounds']:
        assert sum(s['events'] for s in summaries) == count
        assert sum(s['errors'] for s in summaries) == 0
        assert all(s['active'] == count for s in summaries)
    assert len(result['logs']) == count
    assert all(
        log == ['DEPLOYMENT_STARTED', 'PERCENTAGE_UPDATED', 'PERCENTAGE_UPDATED']
        for log in result['logs']
    )
