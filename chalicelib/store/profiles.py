"""Configuration profiles (hash = application id, range = profile id)."""

from __future__ import annotations

from pynamodb.attributes import (
    JSONAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)

from chalicelib.store.base import BaseMeta, BaseModel, table_name
from chalicelib.store.tx import retry_conflicts


class Profile(BaseModel):
    class Meta(BaseMeta):
        table_name = table_name('profiles')

    application_id = UnicodeAttribute(hash_key=True)
    id = UnicodeAttribute(range_key=True)
    name = UnicodeAttribute()
    description = UnicodeAttribute(null=True)
    location_uri = UnicodeAttribute()
    retrieval_role_arn = UnicodeAttribute(null=True)
    # [{'Type': 'JSON_SCHEMA'|'LAMBDA', 'Content': ...}] as the API shapes them.
    validators = JSONAttribute(default=list)
    type = UnicodeAttribute(default='AWS.Freeform')
    kms_key_identifier = UnicodeAttribute(null=True)
    tags = JSONAttribute(default=dict)
    created_at = UTCDateTimeAttribute()
    # Hosted version numbers come from this counter, so they are never reused. Every number
    # handed out moves it, which is also what DeleteConfigurationProfile's condition watches.
    latest_version = NumberAttribute(default=0)
    last_polled_at = UTCDateTimeAttribute(null=True)


def next_version(application_id: str, profile_id: str, expected: int | None = None) -> int:
    """Atomically take the profile's next hosted version number (UpdateItem ADD).

    With ``expected`` the increment happens only while ``latest_version`` equals it (the
    ``Latest-Version-Number`` lock). Raises pynamodb's UpdateError with a failed condition
    when the profile is gone or the lock does not hold; the caller tells which apart.
    """
    condition = Profile.id.exists()
    if expected is not None:
        condition &= Profile.latest_version == expected
    item = Profile(application_id, profile_id)

    def bump():
        item.update(actions=[Profile.latest_version.add(1)], condition=condition)
        return int(item.latest_version)

    return retry_conflicts(bump)
