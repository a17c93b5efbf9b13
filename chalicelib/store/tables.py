"""Every table the service uses, and the idempotent creation used by local runs and tests.

Creation costs one ListTables when every table exists (a restart); missing tables are created
all at once, one CreateTable each, and only those not ACTIVE in CreateTable's answer (on AWS;
DynamoDB Local answers ACTIVE) are then awaited, so a first start does not pay one round trip
after another for twenty tables.
"""

import importlib
import pkgutil
import time
from concurrent.futures import ThreadPoolExecutor

from pynamodb.exceptions import TableError

import chalicelib.store
from chalicelib.store.base import BaseModel
from chalicelib.store.connection import connection

ACTIVE_TIMEOUT = 300


def models() -> list[type[BaseModel]]:
    """All tables' models, found by importing every module of the store package. A model
    whose Meta says ``shares_table`` lives in another model's table and is not listed."""
    for info in pkgutil.iter_modules(chalicelib.store.__path__):
        importlib.import_module(f'chalicelib.store.{info.name}')
    found, todo = [], list(BaseModel.__subclasses__())
    while todo:
        model = todo.pop()
        todo.extend(model.__subclasses__())
        if getattr(model.Meta, 'table_name', None) and not getattr(
            model.Meta, 'shares_table', False
        ):
            found.append(model)
    return sorted(found, key=lambda m: m.Meta.table_name)


def _existing():
    names, start = set(), None
    while True:
        page = connection().list_tables(exclusive_start_table_name=start)
        names.update(page.get('TableNames', ()))
        start = page.get('LastEvaluatedTableName')
        if not start:
            return names


def _create(model) -> bool:
    """CreateTable for ``model`` straight away (pynamodb's create_table asks DescribeTable
    first, one more round trip per table). True when the table is ACTIVE already, as
    DynamoDB Local answers; False when it is still being created, or another process
    created it between the ListTables and this call."""
    schema = model._get_schema()
    try:
        answer = model._get_connection().create_table(
            attribute_definitions=schema['attribute_definitions'],
            key_schema=schema['key_schema'],
            global_secondary_indexes=schema['global_secondary_indexes'],
            local_secondary_indexes=schema['local_secondary_indexes'],
            billing_mode=model.Meta.billing_mode,
        )
    except TableError as error:
        if 'ResourceInUseException' not in str(error):
            raise
        return False
    model.update_ttl(ignore_update_ttl_errors=False)  # as create_table does; no-op without one
    return (answer or {}).get('TableDescription', {}).get('TableStatus') == 'ACTIVE'


def _await_active(model):
    deadline, pause = time.monotonic() + ACTIVE_TIMEOUT, 0.02
    while model.describe_table().get('TableStatus') != 'ACTIVE':
        if time.monotonic() > deadline:
            raise TimeoutError(f'table {model.Meta.table_name} did not become ACTIVE')
        time.sleep(pause)
        pause = min(pause * 2, 2.0)


def create_all() -> None:
    all_models = models()
    existing = _existing()
    missing = [m for m in all_models if m.Meta.table_name not in existing]
    if not missing:
        return
    with ThreadPoolExecutor(max_workers=len(missing)) as pool:
        active = list(pool.map(_create, missing))
        list(pool.map(_await_active, [m for m, ready in zip(missing, active) if not ready]))


def clients() -> list:
    """The botocore DynamoDB client every request of the store goes through (one Connection
    for every table and transaction, store/connection.py), for instrumentation: tests and
    bench count requests on it."""
    return [connection().client]
