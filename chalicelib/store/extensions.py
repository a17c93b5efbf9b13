"""Extensions, their versions, extension associations, and what extensions did in deployments.

- ``Extension`` (hash = account, range = name): one item per custom extension name. Being
  keyed by name it is the name's uniqueness claim; it also holds the version counter
  (``latest_version``, never reused), the number of versions that exist and the tags.
- ``ExtensionVersion`` (hash = account, range = ``<id>#<version, 10 digits>``): the
  definition of one version (actions, parameters). The versions of an extension are one
  range of the account's partition, newest last; ``association_count`` moves in the same
  transaction as every association that names the version, so a version with associations
  can never be deleted.
- ``Association`` (hash = account, range = id), with two indexes: ``by-application``
  (every association on an application, its environments and its profiles: what the action
  points need, one Query) and ``by-extension`` (ListExtensionAssociations by extension and
  version).
- ``AssociationClaim`` (hash = account, range = ``<extension id>|<resource>``): one extension
  is associated at most once with one resource.
- ``Invocation`` (hash = ``<application>#<environment>#<deployment number>``): per deployment,
  the extensions applied at StartDeployment (range ``applied``) and every action invocation,
  each filed under the EventLog event it belongs to (range ``r#<occurred at>#<type>#<id>``).

AWS-authored extensions are constants in chalicelib/engine/extensions/catalog.py and are never
stored.
"""

from __future__ import annotations

from pynamodb.attributes import (
    JSONAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from chalicelib.store.base import BaseMeta, BaseModel, table_name


def version_key(extension_id: str, version: int) -> str:
    return f'{extension_id}#{int(version):010d}'


def extension_key(version: int, association_id: str) -> str:
    return f'{int(version):010d}#{association_id}'


def deployment_key(application_id: str, environment_id: str, number: int) -> str:
    return f'{application_id}#{environment_id}#{int(number)}'


class Extension(BaseModel):
    class Meta(BaseMeta):
        table_name = table_name('extensions')

    account = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute(range_key=True)
    id = UnicodeAttribute()
    latest_version = NumberAttribute()  # the highest number ever given out
    versions = NumberAttribute()  # how many versions exist now
    tags = JSONAttribute(default=dict)
    created_at = UTCDateTimeAttribute()


class ExtensionVersion(BaseModel):
    class Meta(BaseMeta):
        table_name = table_name('extension-versions')

    account = UnicodeAttribute(hash_key=True)
    sort = UnicodeAttribute(range_key=True)  # version_key(id, version)
    id = UnicodeAttribute()
    version = NumberAttribute()
    name = UnicodeAttribute()
    description = UnicodeAttribute(null=True)
    # {ActionPoint: [{Name, Description, Uri, RoleArn}]} and {name: {Description, Required,
    # Dynamic}}, as the API shapes them.
    actions = JSONAttribute(default=dict)
    parameters = JSONAttribute(default=dict)
    association_count = NumberAttribute(default=0)
    created_at = UTCDateTimeAttribute()


class ByApplication(GlobalSecondaryIndex):
    class Meta:
        index_name = 'by-application'
        projection = AllProjection()

    application_id = UnicodeAttribute(hash_key=True)
    id = UnicodeAttribute(range_key=True)


class ByExtension(GlobalSecondaryIndex):
    class Meta:
        index_name = 'by-extension'
        projection = AllProjection()

    extension_id = UnicodeAttribute(hash_key=True)
    extension_key = UnicodeAttribute(range_key=True)  # extension_key(version, id)


class Association(BaseModel):
    class Meta(BaseMeta):
        table_name = table_name('extension-associations')

    account = UnicodeAttribute(hash_key=True)
    id = UnicodeAttribute(range_key=True)
    extension_id = UnicodeAttribute()
    extension_version = NumberAttribute()
    extension_key = UnicodeAttribute()
    # The ARN's resource part: application/<a>, application/<a>/environment/<e> or
    # application/<a>/configurationprofile/<p>.
    resource = UnicodeAttribute()
    application_id = UnicodeAttribute()
    parameters = JSONAttribute(default=dict)
    tags = JSONAttribute(default=dict)
    created_at = UTCDateTimeAttribute()

    by_application = ByApplication()
    by_extension = ByExtension()


class AssociationClaim(BaseModel):
    class Meta(BaseMeta):
        table_name = table_name('extension-association-claims')

    account = UnicodeAttribute(hash_key=True)
    claim = UnicodeAttribute(range_key=True)  # <extension id>|<resource>
    association_id = UnicodeAttribute()


class Invocation(BaseModel):
    class Meta(BaseMeta):
        table_name = table_name('extension-invocations')

    deployment = UnicodeAttribute(hash_key=True)  # deployment_key(app, env, number)
    sort = UnicodeAttribute(range_key=True)  # 'applied' or 'r#<at>#<type>#<id>'
    event_type = UnicodeAttribute(null=True)
    occurred_at = UnicodeAttribute(null=True)  # ISO-8601, as the event's own instant
    record = JSONAttribute(null=True)  # one ActionInvocation
    applied = JSONAttribute(null=True)  # [AppliedExtension]
