"""What the data plane serves for one (application, environment, profile): one small item.

The deployment engine writes it when a deployment starts, stops, rolls back or is reverted;
a poll reads only this item and works out the share of clients that get ``target`` at the
current instant from the strategy snapshot (see engine/growth.py), so no tick is needed for
readers to see exact progress.

``target`` and ``previous`` are releases: {"VersionNumber": "3", "VersionLabel": "v3" | None,
"ContentType": "application/json", "Digest": "<sha256 of the delivered bytes>"}.
Delivered bytes are what clients receive (flattened for feature flags), stored in content.py.
A feature-flag release also has "DocumentDigest": the stored document with its variants (what
the Ion answer and Agent-style evaluation read); releases written before it existed lack it.

Every writer calls ``changed(key)`` once its write is over (committed or not), and readers
that keep copies (the data plane's short cache) take ``writes(key)`` before they read: a copy
taken before this process's latest write is not used again, so the next poll this process
answers reflects a deployment it just started, stopped, rolled back or reverted. Other
processes keep their copies up to their cache's age bound.
"""

from __future__ import annotations

import threading

from pynamodb.attributes import (
    JSONAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)

from chalicelib.store.base import BaseMeta, BaseModel, table_name


def key(application_id: str, environment_id: str, profile_id: str) -> str:
    return f'{application_id}#{environment_id}#{profile_id}'


class Delivery(BaseModel):
    class Meta(BaseMeta):
        table_name = table_name('deliveries')

    key = UnicodeAttribute(hash_key=True)
    deployment_number = NumberAttribute()
    # DEPLOYING while the strategy runs (BAKING/COMPLETE follow from the clock),
    # ROLLED_BACK or REVERTED when everyone is back on ``previous``.
    state = UnicodeAttribute()
    started_at = UTCDateTimeAttribute()
    strategy = JSONAttribute()
    target = JSONAttribute()
    previous = JSONAttribute(null=True)
    # The RUNNING experiment runs on this profile and environment, as treatments.spec builds
    # them; written by the MANAGED deployment each change of a run makes.
    experiments = JSONAttribute(null=True)


_writes = {}  # key -> how many writes of that Delivery this process has finished
_writes_lock = threading.Lock()


def changed(key):
    """Note that this process has just written (or tried to write) the Delivery ``key``."""
    with _writes_lock:
        _writes[key] = _writes.get(key, 0) + 1


def writes(key):
    """How many writes of ``key`` this process has finished (see ``changed``)."""
    return _writes.get(key, 0)
