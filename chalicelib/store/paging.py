"""List pagination: MaxResults and an opaque NextToken over a DynamoDB Query.

One more item than asked for is read so a token is issued only when another page exists.
The token is the last returned item's key; it is checked against the query's partition so a
token from another list is refused rather than silently misread.
"""
import base64
import binascii
import json
import re

from chalicelib.errors import BadRequestException

DEFAULT_PAGE = 50


def page(model, hash_key, params, items_key='Items', render=None, **query):
    """Run ``model.query(hash_key, **query)`` for one page; returns the list response dict."""
    limit = params.get('MaxResults') or DEFAULT_PAGE
    start = _decode(params.get('NextToken'), model, hash_key)
    results = model.query(hash_key, limit=limit + 1, last_evaluated_key=start, **query)
    items = list(results)
    out = {items_key: [render(i) if render else i for i in items[:limit]]}
    if len(items) > limit:
        out['NextToken'] = _encode(model, items[limit - 1])
    return out


def _encode(model, item):
    serialized = item.serialize()
    key = {name: serialized[name] for name in model.key_names()}
    return base64.urlsafe_b64encode(json.dumps(key, separators=(',', ':')).encode()).decode()


def _decode(token, model, hash_key):
    if not token:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(token.encode()))
        names = model.key_names()
        if not isinstance(key, dict) or sorted(key) != sorted(names):
            raise ValueError
        expected = model._hash_key_attribute().serialize(hash_key)
        if list(key[names[0]].values())[0] != expected or not well_formed(key):
            raise ValueError
        return key
    except (ValueError, TypeError, AttributeError, binascii.Error, UnicodeDecodeError,
            RecursionError):
        raise BadRequestException('The NextToken is not valid') from None


_NUMBER = re.compile(r'-?[0-9]{1,20}')


def well_formed(key):
    """Whether every attribute of a decoded key is a string or a number of at most 20 digits
    (the store refuses a number of more than 38, and keys here are counters and ids), so a
    forged token is refused here, never by DynamoDB as a server error."""
    for value in key.values():
        if not isinstance(value, dict) or len(value) != 1:
            return False
        (kind, text), = value.items()
        if not isinstance(text, str) or kind not in ('S', 'N') or (
                kind == 'N' and not _NUMBER.fullmatch(text)):
            return False
    return True
