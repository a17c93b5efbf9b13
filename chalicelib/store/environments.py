from pynamodb.attributes import JSONAttribute, NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute

from chalicelib.store.base import BaseMeta, BaseModel, table_name


class Environment(BaseModel):
    class Meta(BaseMeta):
        table_name = table_name('environments')

    application_id = UnicodeAttribute(hash_key=True)
    id = UnicodeAttribute(range_key=True)
    name = UnicodeAttribute()
    description = UnicodeAttribute(null=True)
    # [{'AlarmArn': ..., 'AlarmRoleArn': ...}] as the API shapes them.
    monitors = JSONAttribute(default=list)
    state = UnicodeAttribute(default='ReadyForDeployment')
    tags = JSONAttribute(default=dict)
    created_at = UTCDateTimeAttribute()
    # Deployment numbers come from this counter; the active one guards "one at a time".
    latest_deployment = NumberAttribute(default=0)
    active_deployment = NumberAttribute(null=True)
    last_polled_at = UTCDateTimeAttribute(null=True)
