"""Which release a caller gets: the one place that decides, for GetDeployment's rendering, the
data plane (GetLatestConfiguration, GetConfiguration) and the Agent endpoint alike.

The data plane reads one small item per (application, environment, profile), the Delivery
(store/delivery.py), and works out from the clock what the caller gets:

- after a rollback or revert: the previous release;
- once the strategy has run its course (COMPLETE): the target;
- while DEPLOYING or BAKING: the target when the caller's bucket, a stable hash of its id
  (session id, ClientId, Entity-Id) salted with the deployment, lies below the current
  percentage; the previous release otherwise. Percentages only grow during a deployment, so
  nobody flips back and forth.

The percentage comes from the cached growth evaluator (engine/progress.py), so a poll during
a deployment costs a bisect, not a schedule rebuild. Only :func:`load` (cached) and
:func:`read` touch the store: one GetItem of one small item.
"""

from __future__ import annotations

import hashlib
import os
from datetime import datetime

from chalicelib import cache
from chalicelib.constants import COMPLETE, STOPPED, DeploymentState
from chalicelib.engine import progress
from chalicelib.store.delivery import Delivery, key, writes

_NOT_STARTED = (DeploymentState.VALIDATING,)
delivery_cache = cache.TTLCache(float(os.environ.get('APPCONFIG_DELIVERY_CACHE_SECONDS', '1')))


def bucket(delivery: Delivery, caller: str) -> float:
    """The caller's place in [0, 100) for this deployment: the first 8 bytes of a SHA-256."""
    seed = f'{delivery.key}#{int(delivery.deployment_number)}#{caller}'.encode()
    return int.from_bytes(hashlib.sha256(seed).digest()[:8], 'big') * 100 / 2**64


def release_for(delivery: Delivery | None, caller: str, now: datetime) -> dict | None:
    """The release dict ``caller`` receives at ``now``, or None when there is none for it.

    A release is {"VersionNumber", "VersionLabel", "ContentType", "Digest"}; the bytes are
    ``crypto.read(release["Digest"])``."""
    if delivery is None:
        return None
    if delivery.state in STOPPED or delivery.state in _NOT_STARTED:
        return delivery.previous
    if delivery.state == COMPLETE:
        return delivery.target
    state = progress.strategy_progress(delivery.strategy, now - delivery.started_at)
    if state.state == COMPLETE or bucket(delivery, caller) < state.percentage:
        return delivery.target
    return delivery.previous


def settled(delivery: Delivery | None) -> dict | None:
    """The release everyone gets from ``delivery`` once its deployment is over (what a new
    deployment starts from): the previous release if it was stopped, else its target."""
    if delivery is None:
        return None
    if delivery.state in STOPPED:
        return delivery.previous
    return delivery.target


def generation(delivery: Delivery | None) -> tuple[int, int]:
    """Orders the states of one Delivery item: a later deployment, or the same one stopped."""
    if delivery is None:
        return (0, 0)
    return (int(delivery.deployment_number), int(delivery.state in STOPPED))


def load(
    application_id: str, environment_id: str, profile_id: str, seen: tuple[int, int] | None = None
) -> Delivery | None:
    """The Delivery item (or None) as a poll reads it: from the in-process cache (trusted for
    APPCONFIG_DELIVERY_CACHE_SECONDS, default 1 s, so a deployment started, stopped, rolled
    back or reverted by another process is seen within about a second), unless this process
    wrote the item since the copy was read (store/delivery.changed: its own changes are seen
    at once), or the cached item is older than the generation ``seen`` (a session never steps
    back because another process answered it from a newer item)."""
    item_key = key(application_id, environment_id, profile_id)

    def load_it():
        stamp = writes(item_key)  # before the read: a write racing it voids the copy
        return stamp, read(application_id, environment_id, profile_id)

    def usable(entry):
        stamp, item = entry
        return stamp == writes(item_key) and (seen is None or generation(item) >= tuple(seen))

    return delivery_cache.get(item_key, load_it, usable)[1]


def read(application_id: str, environment_id: str, profile_id: str) -> Delivery | None:
    """The Delivery item (consistent read), or None before the first deployment."""
    try:
        return Delivery.get(key(application_id, environment_id, profile_id), consistent_read=True)
    except Delivery.DoesNotExist:
        return None
