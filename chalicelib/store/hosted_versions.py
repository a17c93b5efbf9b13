"""Hosted configuration versions, and the version labels that must stay unique per profile.

A version item points at its content by digest (chalicelib.store.content); the content is
written first, so a version never refers to missing bytes. Numbers come from the profile's
``latest_version`` counter (store.profiles.next_version) and are never reused.

A label is claimed by its own item (hash = profile key, range = label) written in the same
transaction as the version, so two versions of one profile can never share a label, and a
label resolves to its version with one GetItem.
"""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute

from chalicelib.store.base import BaseMeta, BaseModel, table_name


def profile_key(application_id: str, profile_id: str) -> str:
    return f'{application_id}#{profile_id}'


class HostedVersion(BaseModel):
    class Meta(BaseMeta):
        table_name = table_name('hosted-versions')

    key = UnicodeAttribute(hash_key=True)  # profile_key(application, profile)
    version = NumberAttribute(range_key=True)
    application_id = UnicodeAttribute()
    profile_id = UnicodeAttribute()
    digest = UnicodeAttribute()  # sha256 of the content, see store.content
    size = NumberAttribute()
    content_type = UnicodeAttribute()
    description = UnicodeAttribute(null=True)
    version_label = UnicodeAttribute(null=True)
    kms_key_arn = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()


class HostedLabel(BaseModel):
    class Meta(BaseMeta):
        table_name = table_name('hosted-version-labels')

    key = UnicodeAttribute(hash_key=True)  # profile_key(application, profile)
    label = UnicodeAttribute(range_key=True)
    version = NumberAttribute()
