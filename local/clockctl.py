"""The clock control of the local server: ``GET`` / ``POST /_appconfig/clock``.

A mount of local/server.py (so it exists only on the local server, never on the deployed
stage, which routes the AWS API's paths alone):

    GET  /_appconfig/clock                       -> {"now": ISO-8601, "mode": "manual"|"real",
                                                     "speed": virtual seconds per real second}
    POST /_appconfig/clock {"advance": "90s"}    (s, m, h, d, combined as "1h30m"; or a number
                                                  of seconds)
                           {"set": "2027-01-01T00:00:00Z"}   (never backwards: 409)
                           {"pause": true}
                           {"resume": true, "speed": 60}     (speed optional)
                         -> the same shape as GET, once the engine has caught up

A bad body is a 400, a move backwards a 409, another method a 405, each with a JSON
``{"message": ...}``. ``describe()`` and ``apply(body)`` are the same operations for callers in
the process (the console); ``apply`` raises ``ClockError(status, message)``.

Moving the clock forward runs the engine at every instant that passes, in order
(engine/catchup.py), while this process is held at each of them; the move is then committed
to the stored clock, conditioned on nobody having moved it meanwhile (else it is worked out
again from the new line). The POST answers when all of that is done. Cost: see catchup.py;
a GET is one consistent read of the stored clock.
"""

import json
import logging
import math
import re
from datetime import UTC, datetime, timedelta

from chalicelib import clock
from chalicelib.engine import catchup

log = logging.getLogger(__name__)

PATH = '/_appconfig/clock'
ATTEMPTS = 10
MAX_ADVANCE = timedelta(days=3660)
MAX_SPEED = 1_000_000
_UNITS = {'d': 86400, 'h': 3600, 'm': 60, 's': 1}
_DURATION = re.compile(r'(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?')


class ClockError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


def describe():
    """The clock now: {"now", "mode", "speed"} (a fresh read of the stored clock)."""
    return clock.describe(clock.current())


def apply(body):
    """Move, pause or resume the clock as ``body`` (the POST's JSON object) asks; returns
    :func:`describe`'s shape once the engine has caught up. Raises ClockError."""
    change = _parse(body)
    with clock.moving:
        for _ in range(ATTEMPTS):
            line = clock.current()
            before = line.now()
            target, speed = change(line, before)
            if target < before:
                raise ClockError(
                    409,
                    f'The clock is at {clock.iso(before)} and never moves '
                    f'backwards; {clock.iso(target)} is earlier.',
                )
            if target > before:
                try:
                    catchup.run(before, target, clock.hold)
                finally:
                    clock.release()
            new = line.moved(at=target, speed=speed)
            if clock.commit(line, new):
                return clock.describe(new)
            log.info('the clock moved while it was being moved here; working it out again')
    raise ClockError(409, 'The clock kept changing while it was being moved; try again.')


# --- the body -------------------------------------------------------------------------------


def _parse(body):
    if not isinstance(body, dict):
        raise ClockError(400, 'The body must be a JSON object such as {"advance": "15m"}.')
    verbs = [k for k in ('advance', 'set', 'pause', 'resume') if k in body]
    unknown = sorted(set(body) - {'advance', 'set', 'pause', 'resume', 'speed'})
    if unknown:
        raise ClockError(
            400,
            f'Unknown field {unknown[0]!r}: use one of advance, set, pause, '
            f'resume (with an optional speed).',
        )
    if len(verbs) != 1:
        raise ClockError(400, 'Give exactly one of advance, set, pause, resume.')
    verb = verbs[0]
    if 'speed' in body and verb != 'resume':
        raise ClockError(400, 'speed goes with resume: {"resume": true, "speed": 60}.')
    value = body[verb]
    if verb == 'advance':
        delta = _duration(value)
        return lambda line, now: (now + delta, None)
    if verb == 'set':
        at = _instant(value)
        return lambda line, now: (at, None)
    if value is not True:
        raise ClockError(400, f'{verb} must be true.')
    if verb == 'pause':
        return lambda line, now: (now, 0)
    speed = _speed(body.get('speed'))
    return lambda line, now: (now, speed or line.resume_speed)


def _duration(value):
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ClockError(
            400,
            'advance must be a duration such as "90s", "15m", "2h", "1d" '
            '(or "1h30m"), or a number of seconds.',
        )
    if isinstance(value, str):
        match = _DURATION.fullmatch(value.strip())
        if not value.strip() or match is None:
            raise ClockError(
                400,
                f'advance {value!r} is not a duration such as "90s", "15m", "2h", "1d" or "1h30m".',
            )
        seconds = sum(int(n) * unit for n, unit in zip(match.groups(), _UNITS.values()) if n)
    else:
        if not math.isfinite(value) or value < 0:
            raise ClockError(400, 'advance must be a non-negative number of seconds.')
        seconds = value
    if seconds > MAX_ADVANCE.total_seconds():
        raise ClockError(400, f'advance is limited to {MAX_ADVANCE.days} days at a time.')
    return timedelta(seconds=seconds)


def _instant(value):
    if not isinstance(value, str):
        raise ClockError(400, 'set must be an ISO-8601 instant such as "2027-01-01T00:00:00Z".')
    try:
        at = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ClockError(
            400, f'set {value!r} is not an ISO-8601 instant such as "2027-01-01T00:00:00Z".'
        ) from None
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)  # an instant without an offset is UTC
    return at.astimezone(UTC)


def _speed(value):
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or not 0 < value <= MAX_SPEED
    ):
        raise ClockError(400, f'speed must be a number above 0 and at most {MAX_SPEED}.')
    return float(value)


# --- the mount ------------------------------------------------------------------------------


def _answer(status, document, extra=None):
    headers = {'Content-Type': 'application/json', 'Cache-Control': 'no-store', **(extra or {})}
    return status, headers, json.dumps(document).encode()


def mount(method, path, query, headers, body):
    """The local server's mount for PATH (see local/server.py)."""
    if path.rstrip('/') != PATH:
        return _answer(404, {'message': f'No clock resource at {path}; use {PATH}.'})
    try:
        if method == 'GET':
            return _answer(200, describe())
        if method == 'POST':
            try:
                document = json.loads(body or b'null')
            except (ValueError, UnicodeDecodeError, RecursionError):
                raise ClockError(
                    400, 'The body is not JSON; send e.g. {"advance": "15m"}.'
                ) from None
            return _answer(200, apply(document))
        return _answer(
            405,
            {'message': f'{method} is not allowed on {PATH}; use GET or POST.'},
            {'Allow': 'GET, POST'},
        )
    except ClockError as error:
        return _answer(error.status, {'message': error.message})
    except Exception:  # noqa: BLE001 - answer in JSON like every other error
        log.exception('clock control %s failed', method)
        return _answer(
            500, {'message': 'The clock could not be read or moved; see the server log.'}
        )


MOUNT = (PATH, mount)
