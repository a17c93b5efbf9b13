"""The manual clock in every page's header: now, and +1 min / +15 min / +1 h.

Shown while the clock is manual (local/clockctl.describe() says so). A button posts to
``/console/clock``, which calls ``clockctl.apply({"advance": ...})``, the operation behind
POST /_appconfig/clock (the engine catches up on every instant passed before it answers),
then returns to the page it came from; asked by the page's script, it answers the clock's
new state as JSON and the page refreshes its live parts without a reload.
Cost: one read of the stored clock per page; a move costs what catching up costs.
"""

from local import clockctl
from local.console.views import when
from local.console.web import PREFIX, Refused, json_response, redirect, route

STEPS = {'1m': '+1 min', '15m': '+15 min', '1h': '+1 h'}


@route('POST', r'/clock')
def advance(request):
    step = request.field('advance')
    if step not in STEPS:
        raise Refused(400, f'The clock advances by {", ".join(STEPS)}, not {step!r}.')
    try:
        state = clockctl.apply({'advance': step})
    except clockctl.ClockError as error:
        raise Refused(error.status, error.message) from None
    if 'x-console-token' in request.headers:
        return json_response({**state, 'shown': when(state['now'])})
    back = request.field('back')
    if not back.startswith(PREFIX + '/') or '//' in back:
        back = PREFIX + '/'
    return redirect(back)
