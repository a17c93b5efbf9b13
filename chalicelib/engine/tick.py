"""The scheduled advance of every in-progress deployment: the loop, nothing else.

``run()`` Queries the sparse ``active`` index (never a Scan) and hands each in-progress
deployment to engine/lifecycle (settle, then write_steps: together lifecycle.advance), which
checks its monitors and AT_DEPLOYMENT_TICK actions, writes the growth steps that are due and
publishes what it wrote. A deployment with nothing due costs no write at all; overlapping
ticks are safe (lifecycle.py's conditions). One broken deployment is logged and counted, and
never stops the others.

Deployments are settled by a bounded pool of threads (``WORKERS``) when alarm reads or
extension calls may wait on the network, and one after another otherwise. The plain step
writes that remain go up to a hundred per transaction, two transactions in flight, with one
commit barrier for them all (lifecycle.write_steps), since a busy tick is otherwise a thousand
conditional UpdateItems one after another. None of it changes idempotence: every update
still carries its own condition, a transaction is all or nothing, a cancelled one is retried
item by item, and nothing is published before the barrier, so two ticks (or two workers)
can never write the same event twice.

Cost: one Query of the index (a page per ~1,000 in-progress deployments), then one
TransactWriteItems per hundred deployments with a step due; nothing else when no step is.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from chalicelib import clock
from chalicelib.engine import monitors
from chalicelib.engine.extensions import bindings
from chalicelib.engine.lifecycle import advance, settle, write_steps  # noqa: F401 - advance: one at a time
from chalicelib.store.deployments import ACTIVE, Deployment

log = logging.getLogger(__name__)

WORKERS = 16


def run(now: datetime | None = None, clients: monitors.Clients | None = None) -> dict:
    """Advance every active deployment to ``now`` (default: the clock). Returns a summary:
    {"active", "events", "completed", "rolled_back", "lost_races", "errors", "seconds"}."""
    began = time.perf_counter()
    now = now or clock.now()
    summary = {
        'active': 0,
        'events': 0,
        'completed': 0,
        'rolled_back': 0,
        'lost_races': 0,
        'errors': 0,
    }
    clients = clients or monitors.Clients()  # one set for a whole clock move (catchup)

    def one(item):
        try:
            return settle(item, now, clients)
        except Exception:  # noqa: BLE001 - one broken deployment must not stop the others
            log.exception('advancing deployment %s #%s failed', item.env_key, item.number)
            return 'errors', 0

    items = list(Deployment.active_index.query(ACTIVE))
    # Only alarm reads and extension calls wait on the network; without either, settling is
    # arithmetic on the item, which threads only slow down.
    waits = any(item.monitors for item in items) or (
        bool(items) and bindings.account_has_associations()
    )
    if waits and len(items) > 1:
        with ThreadPoolExecutor(
            max_workers=min(WORKERS, len(items)), thread_name_prefix='tick'
        ) as pool:
            outcomes = list(pool.map(one, items))
    else:
        outcomes = [one(item) for item in items]
    # The plain step writes, up to a hundred per transaction.
    due = [
        (i, item, outcome[1])
        for i, (item, outcome) in enumerate(zip(items, outcomes))
        if outcome[0] == 'due'
    ]
    if due:
        try:
            written = write_steps([(item, d) for _, item, d in due])
        except Exception:  # noqa: BLE001 - counted, and the next tick tries again
            log.exception('writing the due steps of %d deployments failed', len(due))
            written = [('errors', 0)] * len(due)
        for (i, _, _), result in zip(due, written):
            outcomes[i] = result
    summary['active'] = len(items)
    for outcome, count in outcomes:
        summary['events'] += count
        if outcome in ('completed', 'rolled_back', 'lost_races', 'errors'):
            summary[outcome] += 1
    summary['seconds'] = round(time.perf_counter() - began, 4)
    return summary
