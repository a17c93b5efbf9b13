"""Which extension associations apply to a configuration.

An association ties one extension version to an application, environment or configuration
profile; one on an application or environment covers everything inside it. :func:`covering`
lists them application first, then environment, then profile.

Cost: whether the account has any association is one Query; the associations of an
application are one Query on the ``by-application`` index; both are kept for
APPCONFIG_EXTENSION_CACHE_SECONDS (default 5) and dropped at once when this process changes an
extension or association (:func:`invalidate`). So an account without associations pays one
Query per 5 seconds, whatever the number of deployments and requests. Names of applications,
environments and profiles shown in action payloads are cached the same way.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

from chalicelib import arns, cache
from chalicelib.constants import FEATURE_FLAGS
from chalicelib.engine.extensions import catalog
from chalicelib.store.applications import Application
from chalicelib.store.environments import Environment
from chalicelib.store.extensions import Association
from chalicelib.store.profiles import Profile

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Bound:
    """One association with the extension version it names."""

    association_id: str
    resource: str
    parameters: dict
    extension: catalog.Definition

    @property
    def level(self) -> int:
        # Application, then environment, then configuration profile associations.
        if '/environment/' in self.resource:
            return 1
        return 2 if '/configurationprofile/' in self.resource else 0

    @property
    def association_arn(self) -> str:
        return arns.arn(f'extensionassociation/{self.association_id}')

    def action(self, point: str) -> dict | None:
        listed = self.extension.actions.get(point) or []
        return listed[0] if listed else None

    @property
    def builtin(self) -> bool:
        """True for the feature-flags extension: its work is done by the service itself."""
        return self.extension.authored and self.extension.id == FEATURE_FLAGS


def _ttl():
    try:
        return float(os.environ.get('APPCONFIG_EXTENSION_CACHE_SECONDS') or 5)
    except ValueError:
        return 5.0


# Application id -> [Bound], and ('account', id) -> bool. Kept under a frozen clock too:
# invalidate() runs after every change this process makes.
_bindings = cache.TTLCache(_ttl, with_frozen_clock=True)
# ('application'|'environment'|'profile', ids) -> name
_names = cache.TTLCache(_ttl, with_frozen_clock=True)


def invalidate() -> None:
    """Forget cached associations and names (called after every extension or association
    change in this process)."""
    _bindings.clear()
    _names.clear()


def account_has_associations():
    """Whether the account has any association at all (one Query, cached like the rest):
    while it has none, no action point costs a request."""
    account = arns.account()
    return _bindings.get(
        ('account', account),
        lambda: next(iter(Association.query(account, limit=1)), None) is not None,
    )


def _load_bindings(application_id):
    if not account_has_associations():
        return []
    found = []
    for item in Association.by_application.query(application_id):
        ext = catalog.load_definition(item.extension_id, int(item.extension_version))
        if ext is None:
            log.warning(
                'extension association %s names a missing extension %s version %s',
                item.id,
                item.extension_id,
                item.extension_version,
            )
            continue
        found.append(Bound(item.id, item.resource, dict(item.parameters or {}), ext))
    return found


def covering(
    application_id: str, environment_id: str | None = None, profile_id: str | None = None
) -> list[Bound]:
    """The associations on the application, on the environment and on the profile (each
    when given), application ones first."""
    wanted = {f'application/{application_id}'}
    if environment_id:
        wanted.add(f'application/{application_id}/environment/{environment_id}')
    if profile_id:
        wanted.add(f'application/{application_id}/configurationprofile/{profile_id}')
    bound = [
        b
        for b in _bindings.get(application_id, lambda: _load_bindings(application_id))
        if b.resource in wanted
    ]
    return sorted(bound, key=lambda b: (b.level, b.association_id))


def name(kind: str, *ids: str) -> str | None:
    """The name of an application, environment or profile (cached like the associations)."""

    def read():
        model, keys = {
            'application': (Application, (arns.account(), ids[0])),
            'environment': (Environment, ids),
            'profile': (Profile, ids),
        }[kind]
        try:
            return model.get(*keys).name
        except model.DoesNotExist:
            return None

    return _names.get((kind, ids), read)


def ref(ident: str, name: str | None) -> dict:
    return {'Id': ident, 'Name': name} if name is not None else {'Id': ident}
