"""CreateApplication, GetApplication, UpdateApplication, DeleteApplication, ListApplications."""

from chalicelib import arns, clock
from chalicelib.errors import (
    BadRequestException,
    InternalServerException,
    ServiceQuotaExceededException,
    not_found,
)
from chalicelib.ops import tagging
from chalicelib.store import paging, tx
from chalicelib.store.applications import Application
from chalicelib.store.experiments import application_has_definitions
from chalicelib.store.ids import new_id, save_new

ID_ATTEMPTS = 5


def render(app):
    return {'Id': app.id, 'Name': app.name, 'Description': app.description}


def load(application_id):
    try:
        return Application.get(arns.account(), application_id)
    except Application.DoesNotExist:
        raise not_found('Application', application_id) from None


def create_application(p):
    tags = tagging.check(p.get('Tags'))
    app = save_new(
        lambda new_id: Application(
            arns.account(),
            new_id,
            name=p['Name'],
            description=p.get('Description'),
            tags=tags,
            created_at=clock.now(),
        )
    )
    return render(app)


def get_application(p):
    return render(load(p['ApplicationId']))


def update_application(p):
    app = load(p['ApplicationId'])
    actions = [
        getattr(Application, attr).set(p[member])
        for member, attr in (('Name', 'name'), ('Description', 'description'))
        if member in p
    ]
    if actions:
        app.update(actions=actions, condition=Application.id.exists())
    return render(app)


def delete_application(p):
    app = load(p['ApplicationId'])
    # Children would be orphaned and unreachable, so the caller deletes them first. The child
    # counters move in the same transactions that create children, so conditioning the delete
    # on them closes the race with a concurrent create.
    for count, kind in (
        (app.environment_count, 'environments'),
        (app.profile_count, 'configuration profiles'),
    ):
        if count:
            raise BadRequestException(
                f'Cannot delete application {app.id} because it still has {kind}.'
            )
    if application_has_definitions(arns.account(), app.id):
        raise BadRequestException(
            f'Cannot delete application {app.id} because it still has experiment definitions.'
        )
    empty = (
        Application.environment_count.does_not_exist() | (Application.environment_count == 0)
    ) & (Application.profile_count.does_not_exist() | (Application.profile_count == 0))
    if tx.attempt(lambda: app.delete(condition=empty)):
        raise BadRequestException(
            f'Cannot delete application {app.id} because it still has environments or '
            f'configuration profiles.'
        )
    return {}


def create_child(application_id, make, count, limit, noun):
    """Save ``make(new_id)`` under the application, moving the application's ``count`` in the
    same transaction so the quota of ``limit`` holds under concurrent creates."""
    for _ in range(ID_ATTEMPTS):
        child = make(new_id())
        range_key = child._range_key_attribute()

        def write():
            with tx.transaction() as t:
                t.save(child, condition=range_key.does_not_exist())
                t.update(
                    Application(arns.account(), application_id),
                    actions=[count.add(1)],
                    condition=Application.id.exists() & (count.does_not_exist() | (count < limit)),
                )

        if tx.attempt(write):
            # The application is gone, its quota is used up, or the drawn id is taken.
            app = load(application_id)
            if (getattr(app, count.attr_name) or 0) >= limit:
                raise ServiceQuotaExceededException(
                    f'The number of {noun} in application {application_id} cannot exceed {limit}.'
                )
            continue
        return child
    raise InternalServerException('Could not allocate a unique id. Try again.')


def list_applications(p):
    return paging.page(
        Application, arns.account(), p, render=render, attributes=['id', 'name', 'description']
    )
