"""The scheduled advance of every in-progress deployment: the loop, nothing else.

``run()`` Queries the sparse ``active`` index (never a Scan) and hands each in-progress
deployment to engine/lifecycle.advance, which checks its monitors and AT_DEPLOYMENT_TICK
actions, writes the growth steps that are due and publishes what it wrote. A deployment with
nothing due costs no write at all; overlapping ticks are safe (lifecycle.py's conditions).
One broken deployment is logged and counted, and never stops the others.
"""
import logging
import time

from chalicelib import clock
from chalicelib.engine import monitors
from chalicelib.engine.lifecycle import advance
from chalicelib.store.deployments import ACTIVE, Deployment

log = logging.getLogger(__name__)


def run(now=None) -> dict:
    """Advance every active deployment to ``now`` (default: the clock). Returns a summary:
    {"active", "events", "completed", "rolled_back", "lost_races", "errors", "seconds"}."""
    began = time.perf_counter()
    now = now or clock.now()
    summary = {'active': 0, 'events': 0, 'completed': 0, 'rolled_back': 0, 'lost_races': 0,
               'errors': 0}
    clients = monitors.Clients()
    for item in Deployment.active_index.query(ACTIVE):
        summary['active'] += 1
        try:
            outcome, written = advance(item, now, clients)
        except Exception:  # noqa: BLE001 - one broken deployment must not stop the others
            log.exception('advancing deployment %s #%s failed', item.env_key, item.number)
            summary['errors'] += 1
            continue
        summary['events'] += written
        if outcome in ('completed', 'rolled_back', 'lost_races'):
            summary[outcome] += 1
    summary['seconds'] = round(time.perf_counter() - began, 4)
    return summary
