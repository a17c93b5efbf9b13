from pynamodb.attributes import (
    JSONAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)

from chalicelib.store.base import BaseMeta, BaseModel, table_name


class Strategy(BaseModel):
    """A custom deployment strategy. The predefined ``AppConfig.*`` ones are constants in
    ``chalicelib.ops.strategies`` and are never stored."""

    class Meta(BaseMeta):
        table_name = table_name('strategies')

    account = UnicodeAttribute(hash_key=True)
    id = UnicodeAttribute(range_key=True)
    name = UnicodeAttribute()
    description = UnicodeAttribute(null=True)
    duration = NumberAttribute()
    growth_factor = NumberAttribute()
    growth_type = UnicodeAttribute(default='LINEAR')
    final_bake = NumberAttribute(default=0)
    replicate_to = UnicodeAttribute(default='NONE')
    tags = JSONAttribute(default=dict)
    created_at = UTCDateTimeAttribute()
