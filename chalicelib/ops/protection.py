"""Deletion protection: remembering when environments and profiles were last polled, and the
check DeleteEnvironment / DeleteConfigurationProfile run before deleting.

Polls (GetLatestConfiguration, GetConfiguration) record ``last_polled_at`` on the Environment
and Profile items, at most once a minute per item: a conditional update that only succeeds
when the stored value is older than a minute (or absent), skipped altogether while this
process wrote or tried to write that item within the last minute. So a fleet polling many
times a second costs at most one successful write per item per minute, and one attempt per
item per process per minute (plus a GetItem when the condition fails, to tell a fresh mark
from a deleted item); the stored value lags real use by at most about a minute (the real
service also asks callers to wait 60 seconds before an environment counts as active).
"""

import logging
import threading
from datetime import timedelta

from pynamodb.exceptions import PynamoDBException, UpdateError

from chalicelib import cache, clock
from chalicelib.errors import BadRequestException
from chalicelib.ops import settings
from chalicelib.store.environments import Environment
from chalicelib.store.profiles import Profile
from chalicelib.store.tx import conditional_failed

log = logging.getLogger(__name__)

WRITE_EVERY = timedelta(minutes=1)
# Resources younger than this are skipped unless the caller sends APPLY.
GRACE_AFTER_CREATE = timedelta(hours=1)
_MEMORY_LIMIT = 100_000

_attempted = {}  # (table, hash key, range key) -> when this process last wrote or tried
_gone = set()  # keys found deleted: polls of them are refused from then on
_lock = threading.Lock()


def record_poll(application_id, environment_id, profile_id, now=None):
    """Note that the environment and the profile were just polled (cheap when repeated).

    Returns the model (Environment or Profile) found deleted, else None. A deletion is
    noticed by the once-a-minute mark, so sessions of a deleted environment or profile are
    refused within about a minute without any extra read on ordinary polls.
    """
    now = now or clock.now()
    for model, item_id in ((Environment, environment_id), (Profile, profile_id)):
        key = (model.Meta.table_name, application_id, item_id)
        with _lock:
            if key in _gone:
                return model
            last = _attempted.get(key)
            if last is not None and timedelta(0) <= now - last < WRITE_EVERY:
                continue
            if len(_attempted) >= _MEMORY_LIMIT:
                _attempted.clear()
            _attempted[key] = now
        if not _write(model, application_id, item_id, now):
            with _lock:
                _gone.add(key)
            return model
    return None


def _write(model, application_id, item_id, now):
    """Set the mark unless it is fresh; False only when the item no longer exists."""
    try:
        model(application_id, item_id).update(
            actions=[model.last_polled_at.set(now)],
            condition=model.id.exists()
            & (model.last_polled_at.does_not_exist() | (model.last_polled_at < now - WRITE_EVERY)),
        )
        return True
    except UpdateError as error:
        if not conditional_failed(error):
            log.warning('could not record a poll of %s %s: %s', model.__name__, item_id, error)
            return True
    except PynamoDBException as error:
        # The poll itself succeeded; losing one activity mark only weakens protection a little.
        log.warning('could not record a poll of %s %s: %s', model.__name__, item_id, error)
        return True
    # The condition failed: usually another process marked it within the minute; or gone.
    try:
        model.get(application_id, item_id, consistent_read=True, attributes_to_get=['id'])
        return True
    except model.DoesNotExist:
        return False
    except PynamoDBException:
        return True


@cache.on_reset
def _forget():
    with _lock:
        _attempted.clear()
        _gone.clear()


def check(kind, item, header=None):
    """Raise BadRequestException if deleting ``item`` (an Environment or Profile) is blocked.

    ``kind`` names the resource in the message ("environment", "configuration profile");
    ``header`` is the request's DeletionProtectionCheck (ACCOUNT_DEFAULT when absent).
    """
    mode = header or 'ACCOUNT_DEFAULT'
    if mode == 'BYPASS':
        return
    enabled, period_minutes = settings.deletion_protection()
    if mode != 'APPLY' and not enabled:
        return
    now = clock.now()
    if mode != 'APPLY' and item.created_at and now - item.created_at < GRACE_AFTER_CREATE:
        return
    last = item.last_polled_at
    period = timedelta(minutes=int(period_minutes))
    # The stored mark is refreshed once a minute, so it may trail the latest poll by that much.
    if last is None or now - last >= period + WRITE_EVERY:
        return
    stamp = last.isoformat(timespec='seconds').replace('+00:00', 'Z')
    raise BadRequestException(
        f'Deletion protection: {kind} {item.id} was last polled at {stamp}, within the '
        f'deletion protection period of {int(period_minutes)} minutes. Send the deletion '
        f'protection check BYPASS to delete it anyway.'
    )
