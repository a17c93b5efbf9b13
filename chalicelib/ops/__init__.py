"""Operations: one module per resource, one plain function per API operation.

``CreateApplication`` is ``applications.create_application(params) -> dict``. Modules are
imported on first use so a Lambda cold start loads only what its first request needs.
"""

import importlib
import importlib.util
import re
from functools import cache

MODULES = (
    'applications',
    'environments',
    'profiles',
    'hosted_versions',
    'strategies',
    'deployments',
    'validation',
    'tags',
    'settings',
    'data_plane',
    'extensions',
    'experiments',
)


def snake(name):
    return re.sub(r'(?<!^)(?=[A-Z])', '_', name).lower()


@cache
def resolve(operation_name):
    """The function serving ``operation_name``, or None while no module provides it."""
    wanted = snake(operation_name)
    for module in MODULES:
        qualified = f'{__name__}.{module}'
        if importlib.util.find_spec(qualified) is None:
            continue
        function = getattr(importlib.import_module(qualified), wanted, None)
        if function is not None:
            return function
    return None
