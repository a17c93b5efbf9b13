"""Resource ids: 7 lowercase alphanumerics, unique by a conditional write."""
import secrets
import string

from pynamodb.exceptions import PutError

from chalicelib.errors import InternalServerException

_ALPHABET = string.ascii_lowercase + string.digits


def new_id():
    return ''.join(secrets.choice(_ALPHABET) for _ in range(7))


def conditional_failed(error):
    cause = getattr(error, 'cause_response_code', None)
    return cause in ('ConditionalCheckFailedException', 'TransactionCanceledException')


def save_new(make_item, attempts=5):
    """Save ``make_item(new_id())``, drawing another id if that one is taken."""
    for _ in range(attempts):
        item = make_item(new_id())
        range_key = item._range_key_attribute() or item._hash_key_attribute()
        try:
            item.save(condition=range_key.does_not_exist())
            return item
        except PutError as error:
            if not conditional_failed(error):
                raise
    raise InternalServerException('Could not allocate a unique id. Try again.')
