"""The state of one deployment at a given instant: what is written, plus what is due.

A deployment item holds the events written so far and ``steps_written``, the number of
growth-schedule steps among them. Everything else the strategy owes by ``now`` follows from
the strategy (:func:`strategy_progress`, the one growth evaluator every reader and the tick
use: the schedule is built once per strategy and cached, each question is then a bisect), so
a reader sees exact progress whether or not a tick has run, and the tick writes exactly
``pending`` (and nothing when it is empty). Events are engine/eventlog.py's plain dicts.
"""

from __future__ import annotations

import bisect
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from chalicelib.constants import COMPLETE, IN_PROGRESS, EnvironmentState, Trigger
from chalicelib.engine import growth
from chalicelib.engine.eventlog import event
from chalicelib.store.deployments import Deployment

# How long after completing a deployment can still be reverted (user guide, "Reverting").
REVERT_WINDOW = timedelta(hours=72)


def step_event(started_at: datetime, step: growth.Step) -> dict:
    return event(step.event_type, Trigger.APPCONFIG, step.description, started_at + step.offset)


@dataclass(frozen=True)
class Due:
    """Where the strategy of an in-progress deployment stands at an instant."""

    progress: growth.Progress
    pending: tuple  # step events due but not written yet, oldest first
    steps_due: int  # len(progress.due): the value ``steps_written`` gets once written
    completed_at: datetime | None

    @property
    def state(self) -> str:
        return self.progress.state

    @property
    def percentage(self) -> float:
        return self.progress.percentage


_STRATEGY_KEYS = (
    'DeploymentDurationInMinutes',
    'GrowthFactor',
    'FinalBakeTimeInMinutes',
    'GrowthType',
)


def _strategy_key(strategy):
    return tuple(
        str(strategy.get(k)) if k == 'GrowthFactor' else strategy.get(k) for k in _STRATEGY_KEYS
    )


@functools.lru_cache(maxsize=4096)
def _schedule(key):
    steps = growth.schedule(dict(zip(_STRATEGY_KEYS, key)))
    return steps, [s.offset for s in steps]


def strategy_progress(strategy: Mapping, elapsed: timedelta) -> growth.Progress:
    """growth.progress(strategy, elapsed) with the schedule computed once per strategy: a
    tick evaluates thousands of deployments that share a handful of strategies, and every
    poll during a deployment asks the same question. The one evaluator every reader uses."""
    steps, offsets = _schedule(_strategy_key(strategy))
    return growth.at(steps, offsets, elapsed)


def next_step_at(item: Deployment, after: datetime) -> datetime | None:
    """The instant of the first growth step of ``item`` (strategy, started_at) later than
    ``after``, or None when its schedule is over by then."""
    _, offsets = _schedule(_strategy_key(item.strategy))
    i = bisect.bisect_right(offsets, after - item.started_at)
    return item.started_at + offsets[i] if i < len(offsets) else None


def due(item: Deployment, now: datetime) -> Due:
    """``item`` needs strategy, started_at and steps_written."""
    p = strategy_progress(item.strategy, now - item.started_at)
    written = int(item.steps_written or 0)
    pending = tuple(step_event(item.started_at, s) for s in p.due[written:])
    completed = item.started_at + p.completed_offset if p.completed_offset is not None else None
    return Due(p, pending, len(p.due), completed)


@dataclass(frozen=True)
class View:
    state: str
    percentage: float
    events: tuple  # every event, oldest first
    completed_at: datetime | None


def _stored_events(item):
    out = []
    for e in item.events or ():
        if isinstance(e, dict):
            out.append(e)
        else:
            out.append(event(e.event_type, e.triggered_by, e.description, e.occurred_at))
    return out


def view(item: Deployment, now: datetime) -> View:
    """The deployment as a reader sees it at ``now``."""
    events = _stored_events(item)
    if item.state not in IN_PROGRESS:
        # Final: COMPLETE, ROLLED_BACK, REVERTED are written with everything they owe.
        if item.percentage is not None:
            percentage = float(item.percentage)
        else:
            percentage = strategy_progress(item.strategy, now - item.started_at).percentage
        return View(item.state, percentage, tuple(events), item.completed_at)
    d = due(item, now)
    return View(d.state, d.percentage, tuple(events) + d.pending, d.completed_at)


def environment_state(
    stored_state: str, active_deployment_item: Deployment | None, now: datetime
) -> str:
    """An environment's State at ``now``: its stored state, except that an active deployment
    which the clock says is COMPLETE already reads ReadyForDeployment (before the tick has
    written it)."""
    item = active_deployment_item
    if item is not None and item.state in IN_PROGRESS:
        if due(item, now).state == COMPLETE:
            return EnvironmentState.READY
    return stored_state
