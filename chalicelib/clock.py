"""The one place that reads the time: ``now()``.

The clock is a line: at the wall-clock instant ``real`` (``time.time()``) it read ``at``, and
from there it runs at ``speed`` virtual seconds per real second; speed 0 is a paused clock
("manual" mode), which moves only when someone moves it (local/clockctl.py). Three sources
set the line:

- by default (and always on the deployed Lambda): wall time, scaled by
  ``APPCONFIG_TIME_SCALE`` from the moment the process started, as before;
- the local runner attaches a store (``use_store``, store/clock.py keeps the line in the
  settings table), so a restart keeps the time and every process on one DynamoDB reads the
  same line; a process re-reads it at most every ``APPCONFIG_CLOCK_REFRESH_SECONDS`` (1) and
  computes ``now()`` from memory in between, so another process's move is seen within that
  bound (at once by the process that made it, and by any process asked for ``describe``);
- tests hold it still with ``freeze`` / ``advance`` / ``thaw``.

While the clock is moved, the engine is run at every instant that passes (engine/catchup.py);
``hold`` keeps this whole process at each such instant meanwhile, so whatever the tick writes
or publishes carries the virtual instant it happened at.

Cost: ``now()`` is arithmetic on an immutable snapshot; with a store, one caller per refresh
interval pays one consistent GetItem (the others keep the old snapshot meanwhile, never
waiting). Failure: a store that cannot be read leaves the last snapshot in use (logged), so a
request never fails for the clock's sake.
"""

import logging
import os
import threading
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

log = logging.getLogger(__name__)

MANUAL, REAL = 'manual', 'real'


@dataclass(frozen=True)
class Line:
    at: datetime  # the virtual instant ...
    real: float  # ... at this wall-clock time (time.time())
    speed: float  # virtual seconds per real second; 0 while paused
    resume_speed: float  # the speed a resume without one continues at
    version: int = 0  # of the stored line (0: never stored); bumped by every change

    def __post_init__(self):
        # now() runs on every request: one float multiply-add and one fromtimestamp.
        object.__setattr__(self, '_at_seconds', self.at.timestamp())

    def now(self, real=None):
        if self.speed == 0:
            return self.at
        real = time.time() if real is None else real
        return datetime.fromtimestamp(self._at_seconds + (real - self.real) * self.speed, UTC)

    @property
    def mode(self):
        return MANUAL if self.speed == 0 else REAL

    def moved(self, at=None, speed=None):
        """The next line: from instant ``at`` (default: now) at ``speed`` (default: same)."""
        real = time.time()
        at = self.now(real) if at is None else at
        speed = self.speed if speed is None else speed
        return Line(at, real, speed, speed or self.resume_speed, self.version + 1)


def _env_speed():
    speed = float(os.environ.get('APPCONFIG_TIME_SCALE') or 1)
    if not speed > 0:
        raise ValueError(f'APPCONFIG_TIME_SCALE must be a positive number, not {speed}')
    return speed


def _wall(real=None):
    return datetime.fromtimestamp(time.time() if real is None else real, UTC)


def _default_line():
    return Line(_wall(_origin_real), _origin_real, _scale, _scale)


_scale = _env_speed()
_origin_real = time.time()
_refresh_seconds = float(os.environ.get('APPCONFIG_CLOCK_REFRESH_SECONDS') or 1)

_line = _default_line()
_store = None  # module with load() -> Line | None and save(line, expected) -> bool
_loaded_at = 0.0  # time.monotonic() of the last read of the store
_held = None  # the instant a clock move holds this process at, or None
_frozen = False  # a test holds the clock (freeze/advance/thaw)
_refresh_lock = threading.Lock()
_lock = threading.Lock()
# Held while the clock is moved or the ticker runs in this process: one at a time.
moving = threading.RLock()


def now():
    """The current instant as an aware UTC datetime."""
    held = _held
    if held is not None:
        return held
    if _store is not None and not _frozen and time.monotonic() - _loaded_at >= _refresh_seconds:
        _refresh(blocking=False)
    return _line.now()


def line():
    """The line ``now()`` follows (a snapshot)."""
    return _line


def running():
    """True while time passes by itself (not paused, not held by a clock move)."""
    return _held is None and _line.speed > 0


def describe(current=None):
    """The clock as the control API shows it: {"now", "mode", "speed"}."""
    current = current or _line
    at = _held if _held is not None else current.now()
    speed = current.speed
    return {
        'now': iso(at),
        'mode': current.mode,
        'speed': int(speed) if float(speed).is_integer() else speed,
    }


def iso(instant):
    instant = instant.astimezone(UTC)
    spec = 'microseconds' if instant.microsecond else 'seconds'
    return instant.isoformat(timespec=spec).replace('+00:00', 'Z')


# --- the stored line (local runner) ---------------------------------------------------------


def use_store(store, mode=None, start=None, speed=None, empty=False):
    """Keep the clock in ``store`` from now on, reconciled with the runner's settings:
    ``mode`` (manual | real | None = as stored), ``start`` (the first instant of a clock not
    stored yet) and ``speed`` (None = as stored, or APPCONFIG_TIME_SCALE). A stored clock
    never moves backwards: a ``start`` before the stored instant is ignored. ``empty``: the
    store is known to hold no clock yet (a data dir made by this start), so the first read is
    skipped; the save is conditional all the same, and a refused one reads and decides again.
    Returns the line in force."""
    global _store
    if mode not in (None, MANUAL, REAL):
        raise ValueError(f'APPCONFIG_CLOCK must be manual or real, not {mode!r}')
    _store = store
    for _ in range(10):
        stored = None if empty else store.load()
        empty = False
        if stored is None:
            real = time.time()
            initial = speed or _scale
            wanted = Line(start or _wall(real), real, 0 if mode == MANUAL else initial, initial, 1)
        else:
            wanted = stored
            if start is not None and start > stored.now():
                wanted = wanted.moved(at=start)
            if mode == MANUAL and stored.speed:
                wanted = wanted.moved(speed=0)
            elif mode == REAL and (not stored.speed or (speed and speed != stored.speed)):
                wanted = wanted.moved(speed=speed or stored.resume_speed)
            if wanted is stored:
                _adopt(stored, force=True)
                return stored
        if store.save(wanted, stored.version if stored else 0):
            _adopt(wanted, force=True)
            return wanted
    raise RuntimeError('the stored clock kept changing while the runner started')


def detach():
    """Stop using the store (tests); the clock goes back to the default line."""
    global _store
    _store = None
    thaw()


def _adopt(new, force=False):
    global _line, _loaded_at
    with _lock:
        # A read that raced a newer commit of this process must not take the clock back.
        if force or new.version >= _line.version:
            _line = new
        _loaded_at = time.monotonic()


def _refresh(blocking):
    if not _refresh_lock.acquire(blocking=blocking):
        return
    try:
        stored = _store.load()
    except Exception as error:  # noqa: BLE001 - keep the last snapshot, try again later
        global _loaded_at
        _loaded_at = time.monotonic()
        log.warning('cannot read the stored clock: %s', error)
        return
    finally:
        _refresh_lock.release()
    if stored is not None:
        _adopt(stored)


def current():
    """The line as stored right now (one consistent read with a store), adopted here."""
    if _store is not None and not _frozen:
        stored = _store.load()
        if stored is not None:
            _adopt(stored)
    return _line


def commit(old, new):
    """Replace the line ``old`` (as read by ``current``) with ``new``; False when another
    writer changed it first (read again and decide again)."""
    global _line
    if _store is not None and not _frozen:
        if not _store.save(new, old.version):
            return False
        _adopt(new)
        return True
    with _lock:
        if _line.version != old.version:
            return False
        _line = new
    return True


def hold(instant):
    """Keep this process at ``instant`` until ``release()`` (while the engine catches up)."""
    global _held
    _held = instant


def release():
    global _held
    _held = None


# --- tests ----------------------------------------------------------------------------------


def freeze(at=None):
    """Stop the clock at ``at`` (default: the current wall-clock second). For tests."""
    global _line, _frozen
    with _lock:
        at = at or _wall().replace(microsecond=0)
        _line = Line(at, time.time(), 0, _scale, _line.version + 1)
        _frozen = True
    return at


def advance(**delta):
    """Move a frozen clock forward, e.g. ``advance(minutes=3)`` (no ticks: tests tick)."""
    global _line
    with _lock:
        _line = replace(
            _line, at=_line.now() + timedelta(**delta), real=time.time(), version=_line.version + 1
        )
    return _line.now()


def frozen():
    """True while a test holds the clock still (see :func:`freeze`)."""
    return _frozen


def thaw():
    global _line, _frozen, _held
    with _lock:
        _line = replace(_default_line(), version=_line.version + 1)
        _frozen = False
        _held = None
