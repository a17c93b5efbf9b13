"""What every console page shares: the page frame's context, display filters, error texts.

Pure formatting over the dicts the operations return; no I/O except the clock panel's
``describe()`` (one read of the clock state when the manual clock is on).
"""
import importlib.util
from datetime import datetime, timezone

from chalicelib import clock
from chalicelib.errors import ServiceError
from local.console import api
from local.console.web import render, template_filter, template_global

TRIGGERS = {'USER': 'User', 'APPCONFIG': 'AppConfig', 'CLOUDWATCH_ALARM': 'CloudWatch alarm',
            'INTERNAL_USER': 'Internal user'}
STATE_TONES = {'DEPLOYING': 'busy', 'BAKING': 'busy', 'VALIDATING': 'busy',
               'ROLLING_BACK': 'bad', 'COMPLETE': 'good', 'ROLLED_BACK': 'bad',
               'REVERTED': 'warn', 'ReadyForDeployment': 'good', 'Deploying': 'busy',
               'RolledBack': 'bad', 'Reverted': 'warn'}


def page(template, request, status=200, **context):
    """Render a full page: ``template`` with the frame's context (clock panel, path)."""
    return render(template, status, path=request.path, query_string=request.query,
                  clock_panel=clock_panel(), **context)


def failure(error: ServiceError):
    """(status, message) for an operation's error, as the page shows it."""
    return api.status(error), f'{error.code}: {error.message}'


def clock_panel():
    """The manual clock's state for the page header, or None when time is real."""
    if importlib.util.find_spec('local.clockctl') is None:
        return None
    from local import clockctl
    state = clockctl.describe()
    return state if state.get('mode') == 'manual' else None


@template_filter
def when(value):
    if not value:
        return '—'
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.astimezone(timezone.utc).strftime('%Y-%m-%d %H:%M:%S UTC')


@template_filter
def iso(value):
    return value.astimezone(timezone.utc).isoformat() if value else ''


@template_filter
def pct(value):
    value = float(value or 0)
    return f'{value:.0f}%' if value == int(value) else f'{value:.2f}%'


@template_filter
def tone(state):
    return STATE_TONES.get(state, 'idle')


@template_filter
def trigger(value):
    return TRIGGERS.get(value, value or '—')


@template_filter
def minutes(value):
    value = int(value or 0)
    if value < 60:
        return f'{value} min'
    hours, rest = divmod(value, 60)
    return f'{hours} h {rest} min' if rest else f'{hours} h'


@template_filter
def offset(delta):
    seconds = int(delta.total_seconds())
    if seconds == 0:
        return 'at start'
    m, s = divmod(seconds, 60)
    h, m = divmod(m, 60)
    parts = ([f'{h} h'] if h else []) + ([f'{m} min'] if m else []) + ([f'{s} s'] if s else [])
    return '+' + ' '.join(parts)


@template_global
def now():
    return clock.now()
