"""Time passing in one go: the ticker run at every instant between two, in order.

When the clock is moved forward (local/clockctl.py), the engine must act at each instant a
ticker running through that stretch of time would have acted at, in order:

- every growth step of every deployment in progress (PERCENTAGE_UPDATED, BAKE_TIME_STARTED,
  DEPLOYMENT_COMPLETED), at the instant the strategy puts it;
- while a deployment in progress has CloudWatch monitors or an AT_DEPLOYMENT_TICK action,
  every tick instant (the whole multiples of ``APPCONFIG_CLOCK_TICK_SECONDS``, default 60:
  the deployed ticker's ``rate(1 minute)``), where alarms are checked and tick actions called.

The clock is held at each instant while the tick runs there (``hold``), so the events, the
EventBridge notifications and the extension invocations it makes carry that instant. Moving
90 s twice visits the same instants as moving 180 s once.

Cost: one Query of the active index per instant visited, plus what the tick does there;
instants where nothing is due are skipped, so a move with no deployment in progress costs one
Query. Failure: a deployment that fails to advance is logged by the tick and the others go on;
a failing Query propagates, and the caller does not commit the move.
"""

import os
from datetime import UTC, datetime, timedelta

from chalicelib.engine import monitors, progress, tick
from chalicelib.engine.extensions import points
from chalicelib.store.deployments import ACTIVE, Deployment

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def tick_interval():
    seconds = float(os.environ.get('APPCONFIG_CLOCK_TICK_SECONDS') or 60)
    if not seconds > 0:
        raise ValueError('APPCONFIG_CLOCK_TICK_SECONDS must be positive')
    return timedelta(seconds=seconds)


def next_tick(after, interval):
    """The first whole multiple of ``interval`` (since the epoch) later than ``after``."""
    elapsed = after - _EPOCH
    return _EPOCH + (elapsed // interval + 1) * interval


def _watched(item):
    return bool(item.monitors) or points.has_tick_action(item)


def run(start, end, hold, interval=None):
    """Tick every instant in (start, end] where something is due, in order, holding the clock
    at each with ``hold(instant)``. Returns {"instants", "events", "completed",
    "rolled_back"}."""
    interval = interval or tick_interval()
    totals = {'instants': 0, 'events': 0, 'completed': 0, 'rolled_back': 0}
    at = start
    clients = monitors.Clients()  # CloudWatch clients built once, not once per instant
    while at < end:
        items = list(Deployment.active_index.query(ACTIVE))
        instants = [s for s in (progress.next_step_at(i, at) for i in items) if s is not None]
        if any(_watched(i) for i in items):
            instants.append(next_tick(at, interval))
        if not instants or min(instants) > end:
            break
        at = min(instants)
        hold(at)
        summary = tick.run(now=at, clients=clients)
        totals['instants'] += 1
        for key in ('events', 'completed', 'rolled_back'):
            totals[key] += summary.get(key, 0)
    return totals
