"""In-process caches: one TTL cache type, and one :func:`reset` that empties every cache of
the process (tests use it to act as a cold process).

:class:`TTLCache` trusts an entry for ``seconds`` of monotonic time (a number, or a function
read at each lookup so a setting can change at run time), at most ``limit`` entries (it
empties itself when full: a burst of distinct keys costs reloads, never unbounded memory).
Tests hold the service clock still and step it by hand; a cache on real time would hide
their steps, so a cache stands aside while the clock is frozen unless it was made with
``with_frozen_clock=True`` (or a test sets that attribute, and ``timer``, to drive it).

State that is not a TTL cache (the plaintext cache sized in bytes, the token signing key,
per-process write marks) registers its own clear with :func:`on_reset`, so there is still one
reset. Cost: a lookup is a dict get under a lock.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

from chalicelib import clock

_caches: weakref.WeakSet = weakref.WeakSet()
_resets: list[Callable[[], None]] = []


class TTLCache:
    """A small thread-safe map whose entries are trusted for ``seconds``."""

    def __init__(
        self,
        seconds: float | Callable[[], float],
        *,
        limit: int = 10_000,
        with_frozen_clock: bool = False,
        timer: Callable[[], float] = time.monotonic,
    ):
        self._seconds = seconds
        self.timer = timer
        self.with_frozen_clock = with_frozen_clock
        self._limit = limit
        self._entries: dict = {}
        self._lock = threading.Lock()
        _caches.add(self)

    @property
    def seconds(self) -> float:
        return self._seconds() if callable(self._seconds) else self._seconds

    def active(self) -> bool:
        return self.seconds > 0 and (self.with_frozen_clock or not clock.frozen())

    def get(self, key, load: Callable[[], Any], usable: Callable[[Any], bool] = lambda v: True):
        """The cached value of ``key`` while fresh and ``usable``, else ``load()`` (stored)."""
        if not self.active():
            return load()
        seconds = self.seconds
        now = self.timer()
        with self._lock:
            entry = self._entries.get(key)
        if entry is not None and now - entry[0] < seconds and usable(entry[1]):
            return entry[1]
        value = load()  # stamped with the time before the read: the age bound stays honest
        with self._lock:
            if len(self._entries) >= self._limit:
                self._entries.clear()
            self._entries[key] = (now, value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def on_reset(clear: Callable[[], None]) -> Callable[[], None]:
    """Register ``clear`` to run on :func:`reset` (for state that is not a TTLCache)."""
    _resets.append(clear)
    return clear


def reset() -> None:
    """Empty every cache of this process (tests)."""
    for cache in list(_caches):
        cache.clear()
    for clear in _resets:
        clear()
