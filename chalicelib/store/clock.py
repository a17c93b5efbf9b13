"""The clock's line (chalicelib/clock.py), kept with the data: one item in the settings table.

The item's key is ``#clock``, which no account id can be, so it lives beside the per-account
settings items without a table of its own; this model only names the attributes of that one
item (``shares_table``: the settings table is created and declared for AccountSettings).

Every change is a put conditioned on the version read (0: no item yet), so two processes
moving the clock at once cannot both win: the loser reads again and decides again. A read is
one consistent GetItem of a small item.
"""

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.exceptions import PutError

from chalicelib import clock
from chalicelib.store.base import BaseMeta, BaseModel, table_name
from chalicelib.store.tx import conditional_failed

KEY = '#clock'


class StoredClock(BaseModel):
    class Meta(BaseMeta):
        table_name = table_name('settings')
        shares_table = True

    account = UnicodeAttribute(hash_key=True)  # the settings table's key; always KEY
    at = UTCDateTimeAttribute()
    real = NumberAttribute()
    speed = NumberAttribute()
    resume_speed = NumberAttribute()
    version = NumberAttribute()


def load():
    """The stored line, or None when none has been stored yet."""
    try:
        item = StoredClock.get(KEY, consistent_read=True)
    except StoredClock.DoesNotExist:
        return None
    return clock.Line(
        item.at, float(item.real), float(item.speed), float(item.resume_speed), int(item.version)
    )


def save(line, expected):
    """Store ``line`` if the stored version is still ``expected``; False otherwise."""
    item = StoredClock(
        KEY,
        at=line.at,
        real=line.real,
        speed=line.speed,
        resume_speed=line.resume_speed,
        version=line.version,
    )
    condition = (
        StoredClock.account.does_not_exist() if not expected else StoredClock.version == expected
    )
    try:
        item.save(condition=condition)
    except PutError as error:
        if conditional_failed(error):
            return False
        raise
    return True
