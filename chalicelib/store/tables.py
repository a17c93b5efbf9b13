"""Every table the service uses, and the idempotent creation used by local runs and tests."""
import importlib
import pkgutil

from pynamodb.exceptions import TableError

import chalicelib.store
from chalicelib.store.base import BaseModel


def models():
    """All models, found by importing every module of the store package."""
    for info in pkgutil.iter_modules(chalicelib.store.__path__):
        importlib.import_module(f'chalicelib.store.{info.name}')
    found, todo = [], list(BaseModel.__subclasses__())
    while todo:
        model = todo.pop()
        todo.extend(model.__subclasses__())
        if getattr(model.Meta, 'table_name', None):
            found.append(model)
    return sorted(found, key=lambda m: m.Meta.table_name)


def create_all():
    for model in models():
        if model.exists():
            continue
        try:
            model.create_table(wait=True)
        except TableError as error:
            # Another process created it between the check and the call.
            if 'ResourceInUseException' not in str(error):
                raise
