from pynamodb.attributes import (
    JSONAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)

from chalicelib.store.base import BaseMeta, BaseModel, table_name


class Application(BaseModel):
    class Meta(BaseMeta):
        table_name = table_name('applications')

    account = UnicodeAttribute(hash_key=True)
    id = UnicodeAttribute(range_key=True)
    name = UnicodeAttribute()
    description = UnicodeAttribute(null=True)
    tags = JSONAttribute(default=dict)
    created_at = UTCDateTimeAttribute()
    # Children counted for the per-application quotas; each moves in the same transaction that
    # creates or deletes the child (ops/environments.py, ops/profiles.py).
    environment_count = NumberAttribute(null=True)
    profile_count = NumberAttribute(null=True)
