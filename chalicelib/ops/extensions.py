"""CreateExtension, GetExtension, UpdateExtension, DeleteExtension, ListExtensions,
CreateExtensionAssociation, GetExtensionAssociation, UpdateExtensionAssociation,
DeleteExtensionAssociation, ListExtensionAssociations.

Extensions are versioned: CreateExtension makes version 1 of a new name, or, with the
``Latest-Version-Number`` header equal to the current highest version, the next version of an
existing name. Get/Update/Delete work on one version (default: the highest that exists).
An extension is named by its name, its id or its ARN
(``arn:aws:appconfig:<region>:<account>:extension/<id>/<version>``).

The AWS-authored extensions are constants (engine/extensions/catalog.py), never stored: they
are listed by ListExtensions after the account's own, readable and associable, and cannot be
changed or deleted.

Associations tie one extension version to an application, environment or configuration
profile (by ARN; the resource must exist); an association on an application or environment
covers everything inside it. Parameters are checked against the extension version: every
Required one present, no undeclared ones. One extension is associated at most once with one
resource. Creating and deleting an association moves the version's association count in the
same transaction, so a version with associations can never be deleted.
"""

import json
import re

from chalicelib import arns, clock
from chalicelib.engine.extensions import bindings, catalog, targets
from chalicelib.engine.extensions.catalog import (
    AUTHORED_ORDER,
    NOT_ASSOCIABLE,
    TARGET_PARAMETERS,
    association_arn,
    authored,
    authored_arn,
    authored_by_name,
    custom_arn,
    definition,
    identify,
    load_definition,
    resolve,
    version_item,
)
from chalicelib.errors import (
    BadRequestException,
    ConflictException,
    InternalServerException,
    not_found,
)
from chalicelib.ops import applications, environments, profiles, tagging
from chalicelib.store import paging, tx
from chalicelib.store.extensions import (
    Association,
    AssociationClaim,
    Extension,
    ExtensionVersion,
    extension_key,
    version_key,
)
from chalicelib.store.ids import new_id

ID_ATTEMPTS = 5
_PREFIX = 'AWS.'


# --- checks ----------------------------------------------------------------------------------

_ROLE_ARN = re.compile(r'arn:aws[a-zA-Z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}')
_SYNC_POINTS = (
    'PRE_CREATE_HOSTED_CONFIGURATION_VERSION',
    'PRE_START_DEPLOYMENT',
    'AT_DEPLOYMENT_TICK',
)


def _check_name(name):
    if name.startswith(_PREFIX) or name in authored_by_name():
        raise BadRequestException(
            f'The extension name {name} is reserved for AWS authored extensions.'
        )


def _check_actions(actions):
    out = {}
    for point, listed in actions.items():
        action = listed[0]
        name, uri, role = action.get('Name'), action.get('Uri'), action.get('RoleArn')
        if not name:
            raise BadRequestException(f'The action for {point} must have a Name.')
        if not uri:
            raise BadRequestException(f'The action {name} ({point}) must have a Uri.')
        kind = targets.kind(uri)
        if kind is None:
            raise BadRequestException(
                f'The Uri of action {name} ({point}) must be the ARN of a Lambda function, '
                f'an Amazon SQS queue, an Amazon SNS topic or the default EventBridge event '
                f'bus: {uri}'
            )
        if point in _SYNC_POINTS and kind != targets.LAMBDA:
            raise BadRequestException(
                f'The action {name} ({point}) runs synchronously and must call a Lambda '
                f'function; {uri} is not one.'
            )
        if role is not None and not _ROLE_ARN.fullmatch(role):
            raise BadRequestException(
                f'The RoleArn of action {name} ({point}) must be the ARN of an IAM role: {role}'
            )
        out[point] = [
            {
                k: v
                for k, v in (
                    ('Name', name),
                    ('Description', action.get('Description')),
                    ('Uri', uri),
                    ('RoleArn', role),
                )
                if v is not None
            }
        ]
    return out


def _check_parameters(parameters):
    out = {}
    for name, spec in (parameters or {}).items():
        required, dynamic = bool(spec.get('Required')), bool(spec.get('Dynamic'))
        if required and dynamic:
            raise BadRequestException(
                f'Parameter {name} cannot be both Required and Dynamic: dynamic parameters '
                f'are supplied at deployment time.'
            )
        entry = {'Required': required, 'Dynamic': dynamic}
        if spec.get('Description') is not None:
            entry['Description'] = spec['Description']
        out[name] = entry
    return out


def _check_values(ext, values):
    """The association parameter values for ``ext`` (a Definition), checked."""
    values = dict(values or {})
    declared = ext.parameters or {}
    unknown = sorted(set(values) - set(declared))
    if unknown:
        raise BadRequestException(
            f'Extension {ext.name} version {ext.version} does not define the parameter(s) '
            f'{", ".join(unknown)}.'
        )
    missing = sorted(n for n, spec in declared.items() if spec.get('Required') and n not in values)
    if missing:
        raise BadRequestException(
            f'Extension {ext.name} version {ext.version} requires the parameter(s) '
            f'{", ".join(missing)}.'
        )
    if ext.authored and ext.id in TARGET_PARAMETERS:
        name, kind = TARGET_PARAMETERS[ext.id]
        if targets.kind(values[name]) != kind:
            raise BadRequestException(
                f'Parameter {name} of {ext.name} must be an ARN of the right kind: {values[name]}'
            )
    return values


# --- extensions ------------------------------------------------------------------------------


def _refuse_authored(ext, verb):
    if ext.authored:
        raise BadRequestException(f'Cannot {verb} AWS authored extension {ext.id}.')


def create_extension(p):
    name = p['Name']
    _check_name(name)
    actions = _check_actions(p['Actions'])
    parameters = _check_parameters(p.get('Parameters'))
    tags = tagging.check(p.get('Tags'))
    expected = p.get('LatestVersionNumber')
    for _ in range(ID_ATTEMPTS):
        head = catalog.head(name)
        if head is None:
            created = _create_first(name, p.get('Description'), actions, parameters, tags)
        elif expected is None:
            raise ConflictException(
                f'An extension named {name} already exists (version '
                f'{int(head.latest_version)}). To create a new version, send '
                f'Latest-Version-Number with the current latest version number.'
            )
        else:
            created = _create_next(
                head, int(expected), p.get('Description'), actions, parameters, tags
            )
        if created is not None:
            bindings.invalidate()
            return definition(created).render()
    raise InternalServerException('Could not create the extension. Try again.')


def _create_first(name, description, actions, parameters, tags):
    """Version 1 of a new name; None when the name or the drawn id was taken meanwhile."""
    account, now = arns.account(), clock.now()
    extension_id = new_id()
    head = Extension(
        account, name, id=extension_id, latest_version=1, versions=1, tags=tags, created_at=now
    )
    item = ExtensionVersion(
        account,
        version_key(extension_id, 1),
        id=extension_id,
        version=1,
        name=name,
        description=description,
        actions=actions,
        parameters=parameters,
        association_count=0,
        created_at=now,
    )

    def write():
        with tx.transaction() as t:
            t.save(head, condition=Extension.name.does_not_exist())
            t.save(item, condition=ExtensionVersion.sort.does_not_exist())

    if tx.attempt(write):
        return None  # read again: the name now exists, or draw another id
    return item


def _create_next(head, expected, description, actions, parameters, tags):
    latest = int(head.latest_version)
    if expected != latest:
        raise ConflictException(
            f'Latest-Version-Number {expected} does not match the latest version number '
            f'{latest} of extension {head.name}.'
        )
    number = latest + 1
    item = ExtensionVersion(
        arns.account(),
        version_key(head.id, number),
        id=head.id,
        version=number,
        name=head.name,
        description=description,
        actions=actions,
        parameters=parameters,
        association_count=0,
        created_at=clock.now(),
    )
    head_actions = [Extension.latest_version.set(number), Extension.versions.add(1)]
    if tags:
        # Passed serialised: PynamoDB would take a one-key dict such as {"S": ...} for an
        # already serialised value.
        merged = {**(head.tags or {}), **tags}
        head_actions.append(Extension.tags.set({'S': json.dumps(merged)}))

    def write():
        with tx.transaction() as t:
            t.update(
                head,
                actions=head_actions,
                condition=(Extension.id == head.id) & (Extension.latest_version == latest),
            )
            t.save(item, condition=ExtensionVersion.sort.does_not_exist())

    if tx.attempt(write):
        return None
    return item


def get_extension(p):
    return resolve(p['ExtensionIdentifier'], p.get('VersionNumber')).render()


def update_extension(p):
    ext = resolve(p['ExtensionIdentifier'], p.get('VersionNumber'))
    _refuse_authored(ext, 'update')
    changes = []
    if 'Description' in p:
        changes.append(ExtensionVersion.description.set(p['Description']))
    if 'Actions' in p:
        changes.append(ExtensionVersion.actions.set(_check_actions(p['Actions'])))
    if 'Parameters' in p:
        changes.append(ExtensionVersion.parameters.set(_check_parameters(p['Parameters'])))
    item = ext.item
    if changes:
        if tx.attempt(
            lambda: item.update(actions=changes, condition=ExtensionVersion.sort.exists())
        ):
            raise not_found('Extension', p['ExtensionIdentifier'])
        bindings.invalidate()
    return definition(item).render()


def delete_extension(p):
    ext = resolve(p['ExtensionIdentifier'], p.get('VersionNumber'))
    _refuse_authored(ext, 'delete')
    item, account = ext.item, arns.account()
    head = Extension(account, ext.name)
    count = ExtensionVersion.association_count

    def write():
        with tx.transaction() as t:
            t.delete(
                item,
                condition=ExtensionVersion.sort.exists() & (count.does_not_exist() | (count == 0)),
            )
            t.update(head, actions=[Extension.versions.add(-1)], condition=Extension.id == ext.id)

    refused = tx.attempt(write)
    if refused:
        current = version_item(ext.id, ext.version)
        if current is None:
            raise not_found('Extension', p['ExtensionIdentifier']) from None
        if int(current.association_count or 0):
            raise BadRequestException(
                f'Extension {ext.name} version {ext.version} has '
                f'{int(current.association_count)} extension association(s). Delete them '
                f'before deleting the extension.'
            ) from None
        raise refused.error
    # The last version gone: the name is free again (unless a version was added meanwhile).
    remaining = catalog.head(ext.name)
    if remaining is not None and int(remaining.versions or 0) <= 0:
        # Refused when a new version won the race: the name stays.
        tx.attempt(
            lambda: remaining.delete(condition=(Extension.versions <= 0) & (Extension.id == ext.id))
        )
    bindings.invalidate()
    return {}


def list_extensions(p):
    """The account's extensions (every version), then the AWS-authored ones, paged across
    both."""
    name = p.get('Name')
    fixed = [
        authored(i).summary()
        for i in AUTHORED_ORDER
        if name is None or name in (i, authored(i).name)
    ]
    query = {}
    if name is not None:
        found = catalog.head(name)
        if found is None:
            return paging.with_fixed(
                fixed, lambda params: {'Items': []}, p, name='authored', first=False
            )
        query['range_key_condition'] = ExtensionVersion.sort.startswith(f'{found.id}#')
    return paging.with_fixed(
        fixed,
        lambda params: paging.page(
            ExtensionVersion,
            arns.account(),
            params,
            render=lambda item: definition(item).summary(),
            **query,
        ),
        p,
        name='authored',
        first=False,
    )


# --- associations ----------------------------------------------------------------------------

_RESOURCE_KINDS = ('application', 'application/environment', 'application/configurationprofile')


def parse_resource(identifier):
    """(resource path, application id, environment id, profile id) of an application,
    environment or configuration profile ARN; BadRequestException for anything else."""
    kind, ids = arns.parse(identifier)
    if kind not in _RESOURCE_KINDS or len(ids) != kind.count('/') + 1 or not all(ids):
        raise BadRequestException(
            f'ResourceIdentifier must be the ARN of an application, environment or '
            f'configuration profile: {identifier}'
        )
    parts = kind.split('/')
    path = '/'.join(f'{k}/{i}' for k, i in zip(parts, ids))
    environment_id = ids[1] if parts[-1] == 'environment' else None
    profile_id = ids[1] if parts[-1] == 'configurationprofile' else None
    return path, ids[0], environment_id, profile_id


def _check_resource_exists(application_id, environment_id, profile_id):
    if environment_id is not None:
        environments.load(application_id, environment_id)
    elif profile_id is not None:
        profiles.load(application_id, profile_id)
    else:
        applications.load(application_id)


def render_association(item):
    return {
        'Id': item.id,
        'ExtensionArn': _extension_arn(item.extension_id, item.extension_version),
        'ResourceArn': arns.arn(item.resource),
        'Arn': association_arn(item.id),
        'Parameters': dict(item.parameters or {}),
        'ExtensionVersionNumber': int(item.extension_version),
    }


def _association_summary(item):
    return {
        'Id': item.id,
        'ExtensionArn': _extension_arn(item.extension_id, item.extension_version),
        'ResourceArn': arns.arn(item.resource),
    }


def _extension_arn(extension_id, version):
    if extension_id in AUTHORED_ORDER:
        return authored_arn(extension_id)
    return custom_arn(extension_id, version)


def _claim(extension_id, resource):
    return f'{extension_id}|{resource}'


def load_association(association_id):
    try:
        return Association.get(arns.account(), association_id, consistent_read=True)
    except Association.DoesNotExist:
        raise not_found('ExtensionAssociation', association_id) from None


def create_extension_association(p):
    ext = resolve(p['ExtensionIdentifier'], p.get('ExtensionVersionNumber'))
    if ext.authored and ext.id in NOT_ASSOCIABLE:
        raise BadRequestException(NOT_ASSOCIABLE[ext.id])
    resource, application_id, environment_id, profile_id = parse_resource(p['ResourceIdentifier'])
    _check_resource_exists(application_id, environment_id, profile_id)
    values = _check_values(ext, p.get('Parameters'))
    tags = tagging.check(p.get('Tags'))
    account = arns.account()
    claim = AssociationClaim(account, _claim(ext.id, resource))
    for _ in range(ID_ATTEMPTS):
        association_id = new_id()
        item = Association(
            account,
            association_id,
            extension_id=ext.id,
            extension_version=ext.version,
            extension_key=extension_key(ext.version, association_id),
            resource=resource,
            application_id=application_id,
            parameters=values,
            tags=tags,
            created_at=clock.now(),
        )
        claim.association_id = association_id

        def write():
            with tx.transaction() as t:
                t.save(item, condition=Association.id.does_not_exist())
                t.save(claim, condition=AssociationClaim.claim.does_not_exist())
                if not ext.authored:
                    t.update(
                        ext.item,
                        actions=[ExtensionVersion.association_count.add(1)],
                        condition=ExtensionVersion.sort.exists(),
                    )

        refused = tx.attempt(write)
        if refused:
            codes = refused.reasons
            if codes[1:2] == ['ConditionalCheckFailed']:
                raise BadRequestException(
                    f'Extension {ext.name} is already associated with {p["ResourceIdentifier"]}.'
                ) from None
            if codes[2:3] == ['ConditionalCheckFailed']:
                raise not_found('Extension', p['ExtensionIdentifier']) from None
            continue  # the drawn id is taken
        bindings.invalidate()
        return render_association(item)
    raise InternalServerException('Could not allocate a unique id. Try again.')


def get_extension_association(p):
    return render_association(load_association(p['ExtensionAssociationId']))


def update_extension_association(p):
    item = load_association(p['ExtensionAssociationId'])
    if 'Parameters' not in p:
        return render_association(item)
    ext = load_definition(item.extension_id, int(item.extension_version))
    if ext is None:
        raise not_found('Extension', _extension_arn(item.extension_id, item.extension_version))
    values = _check_values(ext, p['Parameters'])
    if tx.attempt(
        lambda: item.update(
            actions=[Association.parameters.set(values)], condition=Association.id.exists()
        )
    ):
        raise not_found('ExtensionAssociation', item.id)
    bindings.invalidate()
    return render_association(item)


def delete_extension_association(p):
    item = load_association(p['ExtensionAssociationId'])
    account = arns.account()
    claim = AssociationClaim(account, _claim(item.extension_id, item.resource))

    def write():
        with tx.transaction() as t:
            t.delete(item, condition=Association.id.exists())
            t.delete(claim, condition=AssociationClaim.association_id == item.id)
            if item.extension_id not in AUTHORED_ORDER:
                t.update(
                    ExtensionVersion(
                        account, version_key(item.extension_id, item.extension_version)
                    ),
                    actions=[ExtensionVersion.association_count.add(-1)],
                    condition=ExtensionVersion.sort.exists(),
                )

    if tx.attempt(write):
        raise not_found('ExtensionAssociation', item.id) from None
    bindings.invalidate()
    return {}


def list_extension_associations(p):
    resource_arn = p.get('ResourceIdentifier')
    identifier = p.get('ExtensionIdentifier')
    version = p.get('ExtensionVersionNumber')
    page = {'MaxResults': p.get('MaxResults'), 'NextToken': p.get('NextToken')}
    resource = application_id = None
    if resource_arn is not None:
        resource, application_id, _, _ = parse_resource(resource_arn)
    if identifier is not None:
        kind, extension_id, arn_version = identify(identifier)
        if extension_id is None:
            return {'Items': []}
        version = version if version is not None else arn_version
        query = {}
        if version is not None:
            query['range_key_condition'] = Association.extension_key.startswith(
                f'{int(version):010d}#'
            )
        if resource is not None:
            query['filter_condition'] = Association.resource == resource
        return paging.page(
            Association.by_extension,
            extension_id,
            page,
            render=_association_summary,
            model=Association,
            **query,
        )
    query = {}
    if version is not None:
        query['filter_condition'] = Association.extension_version == int(version)
    if resource is not None:
        condition = Association.resource == resource
        if 'filter_condition' in query:
            condition &= query['filter_condition']
        query['filter_condition'] = condition
        return paging.page(
            Association.by_application,
            application_id,
            page,
            render=_association_summary,
            model=Association,
            **query,
        )
    return paging.page(
        Association,
        arns.account(),
        page,
        render=_association_summary,
        consistent_read=True,
        **query,
    )
