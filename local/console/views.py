"""What every console page shares: the page frame's context, display filters, error texts.

Pure formatting over the dicts the operations return; no I/O but the clock panel's
``clockctl.describe()`` (one read of the stored clock per page).
"""

from datetime import UTC, datetime

from chalicelib import clock
from chalicelib.errors import ServiceError
from local import clockctl
from local.console import api
from local.console.web import render, template_filter, template_global

TRIGGERS = {
    'USER': 'User',
    'APPCONFIG': 'AppConfig',
    'CLOUDWATCH_ALARM': 'CloudWatch alarm',
    'INTERNAL_USER': 'Internal user',
}
STATE_TONES = {
    'DEPLOYING': 'busy',
    'BAKING': 'busy',
    'VALIDATING': 'busy',
    'ROLLING_BACK': 'bad',
    'COMPLETE': 'good',
    'ROLLED_BACK': 'bad',
    'REVERTED': 'warn',
    'ReadyForDeployment': 'good',
    'Deploying': 'busy',
    'RolledBack': 'bad',
    'Reverted': 'warn',
}


def page(template, request, status=200, **context):
    """Render a full page: ``template`` with the frame's context (the path it answers, the
    manual clock's panel)."""
    return render(template, status, path=request.path, clock_panel=clock_panel(), **context)


def clock_panel():
    """The manual clock's state for the page header, or None when time is not manual."""
    state = clockctl.describe()
    return state if state.get('mode') == clock.MANUAL else None


def failure(error: ServiceError):
    """(status, message) for an operation's error, as the page shows it."""
    return api.status(error), f'{error.code}: {error.message}'


@template_filter
def when(value):
    if not value:
        return '—'
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.astimezone(UTC).strftime('%Y-%m-%d %H:%M:%S UTC')


@template_filter
def iso(value):
    if not value:
        return ''
    if isinstance(value, str):  # e.g. clockctl.describe()["now"]
        value = datetime.fromisoformat(value)
    return value.astimezone(UTC).isoformat()


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
