from datetime import timedelta

import pytest

from chalicelib.engine.growth import Progress, Step, percentages, progress, schedule

US = timedelta(microseconds=1)


def m(minutes=0, seconds=0):
    return timedelta(minutes=minutes, seconds=seconds)


def strategy(growth, duration, bake=0, growth_type='LINEAR'):
    return {
        'GrowthFactor': growth,
        'DeploymentDurationInMinutes': duration,
        'FinalBakeTimeInMinutes': bake,
        'GrowthType': growth_type,
    }


def pct(offset, text):
    return (offset, 'PERCENTAGE_UPDATED', f'Configuration available to {text}% of clients')


def bake(offset):
    return (offset, 'BAKE_TIME_STARTED', 'Deployment bake time started')


def done(offset):
    return (offset, 'DEPLOYMENT_COMPLETED', 'Deployment completed')


def timeline(s):
    return [(step.offset, step.event_type, step.description) for step in schedule(s)]


def state_at(s, elapsed):
    p = progress(s, elapsed)
    return p.state, p.percentage, len(p.due)


ALL_AT_ONCE = strategy(100, 0, 10)
LINEAR_50_30S = strategy(50, 1, 1)
CANARY_10_20M = strategy(10, 20, 10, 'EXPONENTIAL')
LINEAR_20_6M = strategy(20, 30, 30)


def test_examples_1_get_deployment_timeline():
    # botocore examples-1.json GetDeployment: LINEAR 25 %, 15 min, no bake.
    s = strategy(25, 15)
    assert timeline(s) == [
        pct(m(3), '25.00'),
        pct(m(6), '50.00'),
        pct(m(9), '75.00'),
        pct(m(12), '100.00'),
        bake(m(15)),
        done(m(15)),
    ]
    assert [step.percentage for step in schedule(s)] == [25.0, 50.0, 75.0, 100.0, 100.0, 100.0]
    assert percentages(s) == [25.0, 50.0, 75.0, 100.0]
    final = progress(s, m(15))
    assert final == Progress('COMPLETE', 100.0, schedule(s), m(15))


def test_all_at_once():
    assert timeline(ALL_AT_ONCE) == [pct(m(0), '100.00'), bake(m(0)), done(m(10))]
    assert percentages(ALL_AT_ONCE) == [100.0]
    assert state_at(ALL_AT_ONCE, -US) == ('DEPLOYING', 0.0, 0)
    assert state_at(ALL_AT_ONCE, m(0)) == ('BAKING', 100.0, 2)
    assert state_at(ALL_AT_ONCE, m(5)) == ('BAKING', 100.0, 2)
    assert state_at(ALL_AT_ONCE, m(10) - US) == ('BAKING', 100.0, 2)
    assert state_at(ALL_AT_ONCE, m(10)) == ('COMPLETE', 100.0, 3)
    assert progress(ALL_AT_ONCE, m(10) - US).completed_offset is None
    assert progress(ALL_AT_ONCE, m(60)).completed_offset == m(10)


def test_linear_50_percent_every_30_seconds():
    # N = 2, interval = 1 min / 3 = 20 s.
    assert timeline(LINEAR_50_30S) == [
        pct(m(0, 20), '50.00'),
        pct(m(0, 40), '100.00'),
        bake(m(1)),
        done(m(2)),
    ]
    assert state_at(LINEAR_50_30S, m(0)) == ('DEPLOYING', 0.0, 0)
    assert state_at(LINEAR_50_30S, m(0, 20) - US) == ('DEPLOYING', 0.0, 0)
    assert state_at(LINEAR_50_30S, m(0, 20)) == ('DEPLOYING', 50.0, 1)
    assert state_at(LINEAR_50_30S, m(0, 40) - US) == ('DEPLOYING', 50.0, 1)
    assert state_at(LINEAR_50_30S, m(0, 40)) == ('DEPLOYING', 100.0, 2)
    assert state_at(LINEAR_50_30S, m(1) - US) == ('DEPLOYING', 100.0, 2)
    assert state_at(LINEAR_50_30S, m(1)) == ('BAKING', 100.0, 3)
    assert state_at(LINEAR_50_30S, m(1, 30)) == ('BAKING', 100.0, 3)
    assert state_at(LINEAR_50_30S, m(2) - US) == ('BAKING', 100.0, 3)
    assert state_at(LINEAR_50_30S, m(2)) == ('COMPLETE', 100.0, 4)


def test_canary_10_percent_20_minutes():
    # EXPONENTIAL 10: 10, 20, 40, 80, 100; N = 5, interval = 20 min / 6 = 3 min 20 s.
    assert timeline(CANARY_10_20M) == [
        pct(m(3, 20), '10.00'),
        pct(m(6, 40), '20.00'),
        pct(m(10), '40.00'),
        pct(m(13, 20), '80.00'),
        pct(m(16, 40), '100.00'),
        bake(m(20)),
        done(m(30)),
    ]
    assert state_at(CANARY_10_20M, m(3, 20) - US) == ('DEPLOYING', 0.0, 0)
    assert state_at(CANARY_10_20M, m(3, 20)) == ('DEPLOYING', 10.0, 1)
    assert state_at(CANARY_10_20M, m(10) - US) == ('DEPLOYING', 20.0, 2)
    assert state_at(CANARY_10_20M, m(10)) == ('DEPLOYING', 40.0, 3)
    assert state_at(CANARY_10_20M, m(16, 40) - US) == ('DEPLOYING', 80.0, 4)
    assert state_at(CANARY_10_20M, m(16, 40)) == ('DEPLOYING', 100.0, 5)
    assert state_at(CANARY_10_20M, m(20) - US) == ('DEPLOYING', 100.0, 5)
    assert state_at(CANARY_10_20M, m(20)) == ('BAKING', 100.0, 6)
    assert state_at(CANARY_10_20M, m(25)) == ('BAKING', 100.0, 6)
    assert state_at(CANARY_10_20M, m(30) - US) == ('BAKING', 100.0, 6)
    assert state_at(CANARY_10_20M, m(30)) == ('COMPLETE', 100.0, 7)


def test_linear_20_percent_every_6_minutes():
    # N = 5, interval = 30 min / 6 = 5 min.
    assert timeline(LINEAR_20_6M) == [
        pct(m(5), '20.00'),
        pct(m(10), '40.00'),
        pct(m(15), '60.00'),
        pct(m(20), '80.00'),
        pct(m(25), '100.00'),
        bake(m(30)),
        done(m(60)),
    ]
    assert state_at(LINEAR_20_6M, m(5) - US) == ('DEPLOYING', 0.0, 0)
    assert state_at(LINEAR_20_6M, m(5)) == ('DEPLOYING', 20.0, 1)
    assert state_at(LINEAR_20_6M, m(15) - US) == ('DEPLOYING', 40.0, 2)
    assert state_at(LINEAR_20_6M, m(15)) == ('DEPLOYING', 60.0, 3)
    assert state_at(LINEAR_20_6M, m(25)) == ('DEPLOYING', 100.0, 5)
    assert state_at(LINEAR_20_6M, m(30) - US) == ('DEPLOYING', 100.0, 5)
    assert state_at(LINEAR_20_6M, m(30)) == ('BAKING', 100.0, 6)
    assert state_at(LINEAR_20_6M, m(45)) == ('BAKING', 100.0, 6)
    assert state_at(LINEAR_20_6M, m(60) - US) == ('BAKING', 100.0, 6)
    assert state_at(LINEAR_20_6M, m(60)) == ('COMPLETE', 100.0, 7)
    assert state_at(LINEAR_20_6M, m(600)) == ('COMPLETE', 100.0, 7)


@pytest.mark.parametrize(
    's',
    [
        ALL_AT_ONCE,
        LINEAR_50_30S,
        CANARY_10_20M,
        LINEAR_20_6M,
        strategy(33.3, 7, 3),
        strategy(1, 1440, 1440, 'EXPONENTIAL'),
    ],
)
def test_each_step_becomes_due_exactly_at_its_offset(s):
    steps = schedule(s)
    assert [step.offset for step in steps] == sorted(step.offset for step in steps)
    for i, step in enumerate(steps):
        # Ties (D = 0, bake 0) make several steps due at once: count up to the last one.
        at_offset = sum(1 for other in steps if other.offset <= step.offset)
        assert progress(s, step.offset).due == steps[:at_offset]
        assert i < at_offset
        assert step not in progress(s, step.offset - US).due


def test_exponential_growth_factor_10():
    s = strategy(10, 12, growth_type='EXPONENTIAL')
    assert percentages(s) == [10.0, 20.0, 40.0, 80.0, 100.0]
    assert [step.offset for step in schedule(s)] == [m(2), m(4), m(6), m(8), m(10), m(12), m(12)]


def test_exponential_growth_factor_1():
    s = strategy(1, 9, growth_type='EXPONENTIAL')
    assert percentages(s) == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 100.0]
    assert [step.offset for step in schedule(s)][:8] == [m(k) for k in range(1, 9)]
    assert schedule(s)[0].description == 'Configuration available to 1.00% of clients'


def test_exponential_growth_factor_100():
    s = strategy(100, 2, 5, 'EXPONENTIAL')
    assert timeline(s) == [pct(m(1), '100.00'), bake(m(2)), done(m(7))]


def test_exponential_exact_power_of_two_has_no_duplicate_100():
    assert percentages(strategy(25, 6, growth_type='EXPONENTIAL')) == [25.0, 50.0, 100.0]


def test_linear_growth_factor_100():
    s = strategy(100, 2)
    assert timeline(s) == [pct(m(1), '100.00'), bake(m(2)), done(m(2))]


def test_zero_duration_without_bake_completes_at_once():
    s = strategy(20, 0, 0)
    assert timeline(s) == [pct(m(0), '100.00'), bake(m(0)), done(m(0))]
    assert percentages(s) == [100.0]
    assert progress(s, m(0)) == Progress('COMPLETE', 100.0, schedule(s), m(0))
    assert progress(s, -US) == Progress('DEPLOYING', 0.0, (), None)


def test_zero_duration_with_bake():
    s = strategy(20, 0, 3, 'EXPONENTIAL')
    assert timeline(s) == [pct(m(0), '100.00'), bake(m(0)), done(m(3))]
    assert state_at(s, m(0)) == ('BAKING', 100.0, 2)
    assert state_at(s, m(3)) == ('COMPLETE', 100.0, 3)


def test_growth_factor_12_5_is_exact():
    # 8 * 12.5 == 100 exactly: 8 steps, not 9.
    s = strategy(12.5, 9)
    assert percentages(s) == [12.5, 25.0, 37.5, 50.0, 62.5, 75.0, 87.5, 100.0]
    assert [step.offset for step in schedule(s)][:8] == [m(k) for k in range(1, 9)]
    assert [step.description[27:33] for step in schedule(s)[:3]] == ['12.50%', '25.00%', '37.50%']


def test_growth_factor_33_3():
    s = strategy(33.3, 10)
    assert timeline(s) == [
        pct(m(2), '33.30'),
        pct(m(4), '66.60'),
        pct(m(6), '99.90'),
        pct(m(8), '100.00'),
        bake(m(10)),
        done(m(10)),
    ]
    assert percentages(s) == [33.3, 66.6, 99.9, 100.0]
    assert state_at(s, m(7)) == ('DEPLOYING', 99.9, 3)


def test_percentage_text_rounds_down():
    # Only the real final step may read 100.00%.
    s = strategy(33.333, 5)
    assert [step.description[27:34] for step in schedule(s)[:4]] == [
        '33.33% ',
        '66.66% ',
        '99.99% ',
        '100.00%',
    ]


def test_fractional_interval_rounds_to_microseconds():
    # LINEAR 1 over 1 minute: 100 steps, interval 60 s / 101 = 594059.405... us.
    steps = schedule(strategy(1, 1))
    assert len(steps) == 102
    assert steps[0].offset == timedelta(microseconds=594059)
    assert steps[99].offset == timedelta(microseconds=59405941)
    assert steps[99].percentage == 100.0
    assert steps[100].offset == m(1)


def test_decimal_and_string_growth_factor_match_float():
    from decimal import Decimal

    assert schedule(strategy(Decimal('12.5'), 9)) == schedule(strategy(12.5, 9))
    assert schedule(strategy('33.3', 10)) == schedule(strategy(33.3, 10))


def test_start_and_before_start():
    s = strategy(25, 15)
    assert progress(s, m(0)) == Progress('DEPLOYING', 0.0, (), None)
    assert progress(s, -m(5)) == Progress('DEPLOYING', 0.0, (), None)
    assert progress(ALL_AT_ONCE, -m(5)) == Progress('DEPLOYING', 0.0, (), None)


def test_defaults_linear_and_no_bake():
    assert schedule({'GrowthFactor': 25, 'DeploymentDurationInMinutes': 15}) == schedule(
        strategy(25, 15)
    )


@pytest.mark.parametrize(
    'bad',
    [
        strategy(0, 10),
        strategy(0.5, 10, growth_type='EXPONENTIAL'),
        strategy(101, 10),
        strategy(10, -1),
        strategy(10, 1441),
        strategy(10, 10, -1),
        strategy(10, 10, 0, 'STEP'),
    ],
)
def test_invalid_strategy_rejected(bad):
    with pytest.raises(ValueError):
        schedule(bad)


def test_step_is_frozen():
    step = schedule(ALL_AT_ONCE)[0]
    assert isinstance(step, Step)
    with pytest.raises(AttributeError):
        step.percentage = 50.0
