from pynamodb.attributes import JSONAttribute, NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute

from chalicelib.store.base import BaseMeta, BaseModel, table_name


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
    # Hosted version numbers come from this counter, so they are never reused.
    latest_version = NumberAttribute(default=0)
    last_polled_at = UTCDateTimeAttribute(null=True)
