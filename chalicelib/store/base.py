"""What every table shares: its settings (store/meta.py: where DynamoDB is, how tables are
named) and one Connection (store/connection.py) through which every table's requests go."""

from __future__ import annotations

from pynamodb.models import Model

from chalicelib.store.connection import connection as store_connection
from chalicelib.store.meta import BaseMeta, table_name

__all__ = ['BaseMeta', 'BaseModel', 'table_name']


class BaseModel(Model):
    """Models list their key names once so paging can build and check tokens."""

    @classmethod
    def _get_connection(cls):
        # PynamoDB gives each model its own Connection; the store routes every table through
        # the one StoreConnection instead, the single path where the read cache is kept
        # coherent with every write (saves, updates, deletes, batches, transactions).
        table = super()._get_connection()
        shared = store_connection()
        if table.connection is not shared:
            try:
                shared.add_meta_table(table.connection.get_meta_table(cls.Meta.table_name))
            except ValueError:
                pass  # another model of the same table added it (store/clock.py: settings)
            table.connection = shared
        return table

    @classmethod
    def key_names(cls) -> list[str]:
        names = [cls._hash_keyname]
        if cls._range_keyname:
            names.append(cls._range_keyname)
        return names
