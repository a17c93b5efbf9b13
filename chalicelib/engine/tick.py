"""The scheduled advance of every in-progress deployment: the loop, nothing else.

``run()`` Queries the sparse ``active`` index (never a Scan) and hands each in-progress
deployment to engine/lifecycle.advance, which checks its monitors and AT_DEPLOYMENT_TICK
actions, writes the growth steps that are due and publishes what it wrote. A deployment with
nothing due costs no write at all; overlapping ticks are safe (lifecycle.py's conditions).
One broken deployment is logged and counted, and never stops the others.

Deployments are advanced by a bounded pool of threads (``WORKERS``), since a busy tick is a
string of independent conditional writes, each waiting on DynamoDB: a thousand of them one
after another take seconds. Running them side by side changes nothing about idempotence:
every write still carries its own condition, so two ticks (or two workers) can never write
the same event twice.
"""
from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from chalicelib import clock
from chalicelib.engine import monitors
from chalicelib.engine.lifecycle import advance
from chalicelib.store.deployments import ACTIVE, Deployment

log = logging.getLogger(__name__)

WORKERS = 16


def run(now: datetime | None = None) -> dict:
    """Advance every active deployment to ``now`` (default: the clock). Returns a summary:
    {"active", "events", "completed", "rolled_back", "lost_races", "errors", "seconds"}."""
    began = time.perf_counter()
    now = now or clock.now()
    summary = {'active': 0, 'events': 0, 'completed': 0, 'rolled_back': 0, 'lost_races': 0,
               'errors': 0}
    clients = monitors.Clients()

    def one(item):
        try:
            return advance(item, now, clients)
        except Exception:  # noqa: BLE001 - one broken deployment must not stop the others
            log.exception('advancing deployment %s #%s failed', item.env_key, item.number)
            return 'errors', 0

    items = list(Deployment.active_index.query(ACTIVE))
    if len(items) > 1:
        with ThreadPoolExecutor(max_workers=min(WORKERS, len(items)),
                                thread_name_prefix='tick') as pool:
            outcomes = list(pool.map(one, items))
    else:
        outcomes = [one(item) for item in items]
    summary['active'] = len(items)
    for outcome, written in outcomes:
        summary['events'] += written
        if outcome in ('completed', 'rolled_back', 'lost_races', 'errors'):
            summary[outcome] += 1
    summary['seconds'] = round(time.perf_counter() - began, 4)
    return summary
