from pynamodb.attributes import BooleanAttribute, NumberAttribute, UnicodeAttribute

from chalicelib.store.base import BaseMeta, BaseModel, table_name


class AccountSettings(BaseModel):
    """One item per account: the account settings (GetAccountSettings) and the account's
    quota counters. Attributes missing from the item take the service defaults, so no item
    has to exist before the first write; every write is an UpdateItem of its own attributes."""

    class Meta(BaseMeta):
        table_name = table_name('settings')

    account = UnicodeAttribute(hash_key=True)
    deletion_protection = BooleanAttribute(null=True)
    protection_period = NumberAttribute(null=True)
    vended_metrics = BooleanAttribute(null=True)
    # Custom deployment strategies in the account; moved in the same transaction that
    # creates or deletes one, so the quota holds under concurrent creates.
    strategy_count = NumberAttribute(null=True)
