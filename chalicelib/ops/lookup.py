"""Applications, environments and profiles by id or by name, as the data plane accepts them.

An identifier is tried as an id first (one GetItem), then as a name: a Query on the parent's
partition filtered on the name (no Scan). Names are not unique; when several resources share
one, the oldest wins, so a resource created later never takes over existing callers.
Each function returns the item or None.
"""

from chalicelib import arns
from chalicelib.store.applications import Application
from chalicelib.store.environments import Environment
from chalicelib.store.profiles import Profile


def application(identifier):
    return _find(Application, arns.account(), identifier)


def environment(application_id, identifier):
    return _find(Environment, application_id, identifier)


def profile(application_id, identifier):
    return _find(Profile, application_id, identifier)


def _find(model, parent, identifier):
    try:
        return model.get(parent, identifier)
    except model.DoesNotExist:
        pass
    matches = model.query(parent, filter_condition=model.name == identifier)
    return min(matches, key=lambda item: (item.created_at, item.id), default=None)
