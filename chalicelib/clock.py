"""The one place that reads the time.

Locally ``APPCONFIG_TIME_SCALE`` (e.g. 60) makes each real second count as that many seconds
from the moment the process started, so a 30-minute rollout can be watched in 30 seconds.
Tests replace the source with :func:`freeze` / :func:`advance`.
"""
import os
import threading
import time
from datetime import datetime, timedelta, timezone

_lock = threading.Lock()
_fake = None
_scale = float(os.environ.get('APPCONFIG_TIME_SCALE') or 1)
_origin_real = time.time()


def now():
    """The current instant as an aware UTC datetime."""
    if _fake is not None:
        return _fake
    real = time.time()
    if _scale != 1:
        real = _origin_real + (real - _origin_real) * _scale
    return datetime.fromtimestamp(real, timezone.utc)


def freeze(at=None):
    """Stop the clock at ``at`` (default: the current instant). For tests."""
    global _fake
    with _lock:
        _fake = at or datetime.now(timezone.utc).replace(microsecond=0)
    return _fake


def advance(**delta):
    """Move a frozen clock forward, e.g. ``advance(minutes=3)``."""
    global _fake
    with _lock:
        _fake = _fake + timedelta(**delta)
    return _fake


def frozen():
    """True while a test holds the clock still (see :func:`freeze`)."""
    return _fake is not None


def thaw():
    global _fake
    with _lock:
        _fake = None
