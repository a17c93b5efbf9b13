"""Pure step math of a deployment strategy: no I/O, no clock.

The timeline follows the project's decisions table (spec section "Decisions"), which follows
the only real event log (botocore examples-1.json, GetDeployment): with N percentage steps
and duration D, step k lands at k * D/(N+1); bake starts at D; the deployment completes at
D + bake. With D = 0 everything reaches 100 percent at once and only the bake remains.

All arithmetic is exact (Fraction): GrowthFactor is a float on the wire, and 12.5 * 8 must
be exactly 100 so that N is 8, not 9. Offsets are rounded to the microsecond only at the end.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from fractions import Fraction
from math import ceil

from chalicelib.constants import BAKING, COMPLETE, DEPLOYING, EventType
from chalicelib.engine import eventlog

PERCENTAGE_UPDATED = EventType.PERCENTAGE_UPDATED
BAKE_TIME_STARTED = EventType.BAKE_TIME_STARTED
DEPLOYMENT_COMPLETED = EventType.DEPLOYMENT_COMPLETED

_HUNDRED = Fraction(100)
_MICROS_PER_MINUTE = 60_000_000


@dataclass(frozen=True)
class Step:
    offset: timedelta  # from the deployment start
    event_type: str  # PERCENTAGE_UPDATED | BAKE_TIME_STARTED | DEPLOYMENT_COMPLETED
    percentage: float  # PercentageComplete once this step has happened
    description: str  # EventLog Description text


@dataclass(frozen=True)
class Progress:
    state: str  # DEPLOYING | BAKING | COMPLETE
    percentage: float  # PercentageComplete at that instant
    due: tuple[Step, ...]  # steps whose offset <= elapsed, in order
    completed_offset: timedelta | None  # offset of DEPLOYMENT_COMPLETED if reached


def _exact(value) -> Fraction:
    # str() first: Fraction(33.3) would be the binary float 33.29999..., Fraction('33.3') is
    # the decimal the user typed. Works for int, float, Decimal, str and Fraction alike.
    return Fraction(str(value))


def _params(strategy: Mapping) -> tuple[int, Fraction, int, str]:
    duration = int(strategy['DeploymentDurationInMinutes'])
    growth = _exact(strategy['GrowthFactor'])
    bake = int(strategy.get('FinalBakeTimeInMinutes') or 0)  # model default: 0
    growth_type = strategy.get('GrowthType') or 'LINEAR'  # model default: LINEAR
    # The wire layer validates these; checked again because a bad value here would loop
    # forever (growth 0 in EXPONENTIAL) or build a timeline running backwards.
    if not 0 <= duration <= 1440 or not 0 <= bake <= 1440:
        raise ValueError('duration and bake time must be 0-1440 minutes')
    if not 1 <= growth <= 100:
        raise ValueError('GrowthFactor must be 1.0-100.0')
    if growth_type not in ('LINEAR', 'EXPONENTIAL'):
        raise ValueError(f'unknown GrowthType {growth_type!r}')
    return duration, growth, bake, growth_type


def _growth_steps(growth: Fraction, growth_type: str) -> list[Fraction]:
    if growth_type == 'LINEAR':
        n = ceil(_HUNDRED / growth)
        return [min(_HUNDRED, k * growth) for k in range(1, n + 1)]
    steps = []
    p = growth
    while p < _HUNDRED:
        steps.append(p)
        p *= 2
    steps.append(_HUNDRED)
    return steps


def _minutes(m: Fraction | int) -> timedelta:
    return timedelta(microseconds=round(Fraction(m) * _MICROS_PER_MINUTE))


def schedule(strategy: Mapping) -> tuple[Step, ...]:
    """Every engine event of a deployment, in order, with its offset from the start."""
    duration, growth, bake, growth_type = _params(strategy)
    if duration == 0:
        points = [(Fraction(0), _HUNDRED)]
    else:
        pcts = _growth_steps(growth, growth_type)
        interval = Fraction(duration, len(pcts) + 1)
        points = [(k * interval, p) for k, p in enumerate(pcts, start=1)]
    steps = [
        Step(_minutes(at), PERCENTAGE_UPDATED, float(p), eventlog.percentage_text(p))
        for at, p in points
    ]
    # All percentage steps fall strictly before D (k <= N < N+1), so the list stays ordered;
    # with bake 0 the two final events share the offset D in this order, as in examples-1.
    steps.append(
        Step(_minutes(duration), BAKE_TIME_STARTED, 100.0, eventlog.BAKE_TIME_STARTED_TEXT)
    )
    steps.append(
        Step(
            _minutes(duration + bake),
            DEPLOYMENT_COMPLETED,
            100.0,
            eventlog.DEPLOYMENT_COMPLETED_TEXT,
        )
    )
    return tuple(steps)


def progress(strategy: Mapping, elapsed: timedelta) -> Progress:
    """State of a deployment `elapsed` after its start (negative: nothing has happened).
    Readers use engine/progress.py, which caches the schedule; this is the same function."""
    steps = schedule(strategy)
    return at(steps, [s.offset for s in steps], elapsed)


def at(steps: Sequence[Step], offsets: Sequence[timedelta], elapsed: timedelta) -> Progress:
    """Progress `elapsed` into ``steps`` (a schedule; ``offsets`` its offsets, ascending)."""
    due = tuple(steps[: bisect.bisect_right(offsets, elapsed)])
    kinds = {s.event_type for s in due}
    if DEPLOYMENT_COMPLETED in kinds:
        state = COMPLETE
    elif BAKE_TIME_STARTED in kinds:
        state = BAKING
    else:
        state = DEPLOYING
    completed = due[-1].offset if state == COMPLETE else None
    return Progress(state, due[-1].percentage if due else 0.0, due, completed)


def percentages(strategy: Mapping) -> list[float]:
    """The PERCENTAGE_UPDATED values of the schedule ([100.0] when the duration is 0)."""
    return [s.percentage for s in schedule(strategy) if s.event_type == PERCENTAGE_UPDATED]
