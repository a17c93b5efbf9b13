"""engine/progress.py: what a reader sees = what is written + what the clock says is due."""

from datetime import UTC, datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from chalicelib.engine import eventlog, growth, progress

T0 = datetime(2021, 9, 17, 21, 43, 54, 205000, tzinfo=UTC)
EXAMPLE = {
    'DeploymentDurationInMinutes': 15,
    'GrowthType': 'LINEAR',
    'GrowthFactor': 25.0,
    'FinalBakeTimeInMinutes': 0,
}


def item(strategy=EXAMPLE, state='DEPLOYING', written=0, events=None, **extra):
    started = eventlog.event('DEPLOYMENT_STARTED', 'USER', 'Deployment started', T0)
    return SimpleNamespace(
        strategy=strategy,
        started_at=T0,
        state=state,
        steps_written=written,
        events=events if events is not None else [started],
        percentage=extra.get('percentage'),
        completed_at=extra.get('completed_at'),
    )


def kinds(view):
    return [e['event_type'] for e in view.events]


def test_nothing_due_at_the_start():
    v = progress.view(item(), T0)
    assert (v.state, v.percentage, kinds(v), v.completed_at) == (
        'DEPLOYING',
        0.0,
        ['DEPLOYMENT_STARTED'],
        None,
    )
    assert progress.due(item(), T0).pending == ()


def test_reads_merge_the_due_steps_without_a_tick():
    v = progress.view(item(), T0 + timedelta(minutes=7))
    assert (v.state, v.percentage) == ('DEPLOYING', 50.0)
    assert kinds(v) == ['DEPLOYMENT_STARTED', 'PERCENTAGE_UPDATED', 'PERCENTAGE_UPDATED']
    assert [e['occurred_at'] - T0 for e in v.events[1:]] == [
        timedelta(minutes=3),
        timedelta(minutes=6),
    ]
    assert all(e['triggered_by'] == 'APPCONFIG' for e in v.events[1:])


def test_written_steps_are_not_repeated():
    d = progress.due(item(), T0 + timedelta(minutes=7))
    written = item(written=d.steps_due, events=[item().events[0], *d.pending])
    later = progress.due(written, T0 + timedelta(minutes=10))
    assert [e['description'] for e in later.pending] == [
        'Configuration available to 75.00% of clients'
    ]
    assert later.steps_due == 3
    v = progress.view(written, T0 + timedelta(minutes=10))
    assert len(v.events) == 4


def test_complete_by_the_clock():
    v = progress.view(item(), T0 + timedelta(hours=1))
    assert (v.state, v.percentage, v.completed_at) == (
        'COMPLETE',
        100.0,
        T0 + timedelta(minutes=15),
    )
    assert kinds(v)[-2:] == ['BAKE_TIME_STARTED', 'DEPLOYMENT_COMPLETED']


def test_final_states_are_what_was_written():
    rolled = item(
        state='ROLLED_BACK', written=1, percentage=25, completed_at=T0 + timedelta(minutes=4)
    )
    v = progress.view(rolled, T0 + timedelta(hours=5))
    assert (v.state, v.percentage, v.completed_at, len(v.events)) == (
        'ROLLED_BACK',
        25.0,
        T0 + timedelta(minutes=4),
        1,
    )


def test_environment_state_follows_the_clock():
    running = item()
    assert (
        progress.environment_state('Deploying', running, T0 + timedelta(minutes=14)) == 'Deploying'
    )
    assert progress.environment_state('Deploying', running, T0 + timedelta(minutes=15)) == (
        'ReadyForDeployment'
    )
    assert progress.environment_state('RolledBack', None, T0) == 'RolledBack'


def test_duration_zero_bakes_at_once():
    all_at_once = dict(
        EXAMPLE, DeploymentDurationInMinutes=0, GrowthFactor=100, FinalBakeTimeInMinutes=10
    )
    d = progress.due(item(all_at_once), T0)
    assert d.state == growth.BAKING and d.percentage == 100.0
    assert [e['event_type'] for e in d.pending] == ['PERCENTAGE_UPDATED', 'BAKE_TIME_STARTED']


@pytest.mark.parametrize(
    'strategy',
    [
        EXAMPLE,
        {'DeploymentDurationInMinutes': 0, 'GrowthFactor': 100, 'FinalBakeTimeInMinutes': 10},
        {
            'DeploymentDurationInMinutes': 20,
            'GrowthFactor': 10,
            'FinalBakeTimeInMinutes': 10,
            'GrowthType': 'EXPONENTIAL',
        },
        {'DeploymentDurationInMinutes': 7, 'GrowthFactor': 33.3, 'GrowthType': 'LINEAR'},
        {'DeploymentDurationInMinutes': 1440, 'GrowthFactor': 1.0, 'FinalBakeTimeInMinutes': 1440},
        {'DeploymentDurationInMinutes': 0, 'GrowthFactor': 12.5, 'FinalBakeTimeInMinutes': 0},
    ],
)
def test_cached_progress_matches_growth_progress(strategy):
    span = (
        int(strategy['DeploymentDurationInMinutes'])
        + int(strategy.get('FinalBakeTimeInMinutes') or 0)
        + 2
    ) * 60
    step = max(1, span // 500)
    for seconds in range(-5, span, step):
        for extra in (timedelta(0), timedelta(microseconds=-1)):
            elapsed = timedelta(seconds=seconds) + extra
            assert progress.strategy_progress(strategy, elapsed) == growth.progress(
                strategy, elapsed
            ), elapsed
    for s in growth.schedule(strategy):
        for elapsed in (s.offset, s.offset - timedelta(microseconds=1)):
            assert progress.strategy_progress(strategy, elapsed) == growth.progress(
                strategy, elapsed
            )
