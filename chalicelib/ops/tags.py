"""TagResource, UntagResource, ListTagsForResource.

Taggable resources are found from their ARN: applications, environments, configuration
profiles, deployments, custom deployment strategies, custom extensions and extension
associations. Tags live in each item's ``tags``
attribute (a JSON string), so a change is a read followed by one UpdateItem conditioned on the
item still existing and its tags still being exactly what was read; a concurrent change makes
the condition fail and the change is recomputed on the new tags, so no tag is ever lost.
"""

import json
import re

from chalicelib import arns
from chalicelib.engine.extensions import catalog
from chalicelib.errors import BadRequestException, InternalServerException, not_found
from chalicelib.ops import tagging
from chalicelib.ops.strategies import PREDEFINED
from chalicelib.store import tx
from chalicelib.store.applications import Application
from chalicelib.store.deployments import Deployment, env_key
from chalicelib.store.environments import Environment
from chalicelib.store.extensions import Association, Extension
from chalicelib.store.profiles import Profile
from chalicelib.store.strategies import Strategy

ATTEMPTS = 10


def _application(ids):
    return Application, (arns.account(), ids[0])


def _environment(ids):
    return Environment, ids


def _profile(ids):
    return Profile, ids


def _deployment(ids):
    if not re.fullmatch(r'[0-9]{1,10}', ids[2]):
        raise BadRequestException(f'Invalid deployment number: {ids[2]}')
    return Deployment, (env_key(ids[0], ids[1]), int(ids[2]))


def _strategy(ids):
    if ids[0] in PREDEFINED:
        return None, ids
    return Strategy, (arns.account(), ids[0])


def _association(ids):
    return Association, (arns.account(), ids[0])


# ARN resource kind -> (what the error messages call it, how to find its item).
_KINDS = {
    'extensionassociation': ('ExtensionAssociation', _association),
    'application': ('Application', _application),
    'application/environment': ('Environment', _environment),
    'application/configurationprofile': ('ConfigurationProfile', _profile),
    'application/environment/deployment': ('Deployment', _deployment),
    'deploymentstrategy': ('DeploymentStrategy', _strategy),
}


def _extension(arn):
    # Extension ARNs end in a version (extension/<id>/<n>); tags belong to the extension.
    found = catalog.resolve(arn)
    if found.id in catalog.AUTHORED_ORDER:
        return None, (), 'Extension', found.name
    return Extension, (arns.account(), found.name), 'Extension', found.name


def _resource(arn):
    """(model or None for a predefined resource, key tuple, resource label) for ``arn``."""
    if ':extension/' in arn:
        return _extension(arn)
    kind, ids = arns.parse(arn)
    if kind not in _KINDS or len(ids) != kind.count('/') + 1 or not all(ids):
        raise BadRequestException(f'Invalid resource ARN: {arn}')
    label, find = _KINDS[kind]
    model, key = find(ids)
    return model, key, label, ids[-1]


def _read(model, key, label, ident):
    try:
        return model.get(*key, consistent_read=True)
    except model.DoesNotExist:
        raise not_found(label, ident) from None


def list_tags_for_resource(p):
    model, key, label, ident = _resource(p['ResourceArn'])
    if model is None:
        return {'Tags': {}}
    return {'Tags': dict(_read(model, key, label, ident).tags or {})}


def tag_resource(p):
    new = tagging.check(p['Tags'])

    def change(tags):
        merged = {**tags, **new}
        if len(merged) > tagging.MAX_TAGS:
            raise BadRequestException(
                f'A resource can have at most {tagging.MAX_TAGS} tags; this request would '
                f'leave {len(merged)}'
            )
        return merged

    _change(p['ResourceArn'], change)
    return {}


def untag_resource(p):
    keys = set(p['TagKeys'])
    for key in keys:
        if key.lower().startswith('aws:'):
            raise BadRequestException(f"Tag keys must not start with 'aws:': {key}")
    _change(p['ResourceArn'], lambda tags: {k: v for k, v in tags.items() if k not in keys})
    return {}


def _change(arn, change):
    model, key, label, ident = _resource(arn)
    if model is None:
        raise BadRequestException(f'Cannot tag predefined {label} {ident}.')
    hash_attr = model._hash_key_attribute()
    for _ in range(ATTEMPTS):
        item = _read(model, key, label, ident)
        before = item.tags
        after = change(dict(before or {}))
        if after == before:
            return
        # Values are passed already serialised: PynamoDB would otherwise take a one-key dict
        # whose key is a DynamoDB type name ({"S": ...}) as a serialised value.
        previous = (
            model.tags == {'S': json.dumps(before)}
            if before is not None
            else model.tags.does_not_exist()
        )
        if not tx.attempt(
            lambda: item.update(
                actions=[model.tags.set({'S': json.dumps(after)})],
                condition=hash_attr.exists() & previous,
            )
        ):
            return
        # Deleted, or tagged by someone else since the read: read again and redo.
    raise InternalServerException('The resource is being changed concurrently. Try again.')
