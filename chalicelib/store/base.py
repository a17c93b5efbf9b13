"""What every table shares: its settings (store/meta.py: where DynamoDB is, how tables are
named), one Connection (store/connection.py) through which every table's requests go, and
a quicker way from DynamoDB's answer to a model.

Cost: building a model from an item is one pass over the model's attributes (PynamoDB's own
path makes three, and sets every value through its descriptor): it is most of the work of
a list answered from the read cache.
"""

from __future__ import annotations

from pynamodb.constants import NULL
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
    def _instantiate(cls, attribute_values):
        # What PynamoDB's does for a model without a discriminator (none here): the default
        # of every attribute, then the value of each one the item has; in one pass.
        if cls._discriminator:
            return super()._instantiate(attribute_values)
        values = {}
        for name, attr in cls.get_attributes().items():
            raw = attribute_values.get(attr.attr_name)
            if raw and NULL not in raw:
                values[name] = attr.deserialize(attr.get_value(raw))
                continue
            default = attr.default() if callable(attr.default) else attr.default
            if default is not None:
                values[name] = default
        instance = cls.__new__(cls)
        instance.attribute_values = values
        return instance

    @classmethod
    def key_names(cls) -> list[str]:
        names = [cls._hash_keyname]
        if cls._range_keyname:
            names.append(cls._range_keyname)
        return names
