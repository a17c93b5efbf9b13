"""CreateApplication, GetApplication, UpdateApplication, DeleteApplication, ListApplications."""
from chalicelib import arns, clock
from chalicelib.errors import BadRequestException, not_found
from chalicelib.ops import tagging
from chalicelib.store import paging
from chalicelib.store.applications import Application
from chalicelib.store.ids import save_new


def render(app):
    return {'Id': app.id, 'Name': app.name, 'Description': app.description}


def load(application_id):
    try:
        return Application.get(arns.account(), application_id)
    except Application.DoesNotExist:
        raise not_found('Application', application_id) from None


def create_application(p):
    tags = tagging.check(p.get('Tags'))
    app = save_new(lambda new_id: Application(
        arns.account(), new_id, name=p['Name'], description=p.get('Description'), tags=tags,
        created_at=clock.now()))
    return render(app)


def get_application(p):
    return render(load(p['ApplicationId']))


def update_application(p):
    app = load(p['ApplicationId'])
    actions = [getattr(Application, attr).set(p[member])
               for member, attr in (('Name', 'name'), ('Description', 'description'))
               if member in p]
    if actions:
        app.update(actions=actions, condition=Application.id.exists())
    return render(app)


def delete_application(p):
    app = load(p['ApplicationId'])
    # Children would be orphaned and unreachable; the caller deletes them first.
    from chalicelib.store.environments import Environment
    from chalicelib.store.profiles import Profile
    for model, kind in ((Environment, 'environments'), (Profile, 'configuration profiles')):
        if next(iter(model.query(app.id, limit=1)), None) is not None:
            raise BadRequestException(
                f'Cannot delete application {app.id} because it still has {kind}.')
    from chalicelib.store.experiments import application_has_definitions
    if application_has_definitions(arns.account(), app.id):
        raise BadRequestException(
            f'Cannot delete application {app.id} because it still has experiment definitions.')
    app.delete()
    return {}


def list_applications(p):
    return paging.page(Application, arns.account(), p, render=render)
