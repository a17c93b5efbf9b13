"""List pagination, declared once: MaxResults and an opaque NextToken.

- :func:`page` runs one page of a Query on a table or on a global secondary index. One more
  item than asked for is read, so a token is issued only when another page exists. The token
  is the last returned item's key (for an index: the index's keys and the table's); it is
  checked against the query's partition, so a token from another list is refused
  (BadRequestException) rather than silently misread.
- :func:`with_fixed` pages across a list of fixed items (the predefined deployment
  strategies, the AWS-authored extensions) and a stored list, fixed ones first or last. While
  the fixed part is being listed the token is ``{"<name>": <next index>}``; the stored part
  uses :func:`page`'s tokens.

Cost: one Query per page (plus, for fixed-first lists, one Query of one item when a page ends
exactly at the end of the fixed part). A list whose items show a few attributes names them
(``attributes``): a page answered from the read cache is then mostly decoding those.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable

from pynamodb.indexes import Index
from pynamodb.models import Model

from chalicelib.errors import BadRequestException

DEFAULT_PAGE = 50


def page(
    source: type[Model] | Index,
    hash_key: str,
    params: dict,
    items_key: str = 'Items',
    render: Callable | None = None,
    model: type[Model] | None = None,
    attributes: list[str] | None = None,
    **query,
) -> dict:
    """One page of ``source.query(hash_key, **query)`` as a list response; ``source`` is a
    model, or one of its indexes with ``model`` the model it belongs to. ``attributes``: the
    only ones ``render`` reads (the keys are added), so nothing else is read and decoded; a
    model's other attributes then hold their defaults."""
    limit = params.get('MaxResults') or DEFAULT_PAGE
    names, hash_attribute = _keys(source, model)
    start = _decode(params.get('NextToken'), names, hash_attribute, hash_key)
    if attributes is not None:
        query['attributes_to_get'] = sorted(set(attributes) | set(names))
    items = list(source.query(hash_key, limit=limit + 1, last_evaluated_key=start, **query))
    out = {items_key: [render(i) if render else i for i in items[:limit]]}
    if len(items) > limit:
        serialized = items[limit - 1].serialize(null_check=False)
        out['NextToken'] = _encode({name: serialized[name] for name in names})
    return out


def _keys(source, model):
    """(key attribute names a token carries, the hash key attribute) of a model or index."""
    if isinstance(source, Index):
        attributes = source.Meta.attributes.values()
        names = [a.attr_name for a in attributes if a.is_hash_key]
        names += [a.attr_name for a in attributes if a.is_range_key]
        hash_attribute = next(a for a in attributes if a.is_hash_key)
        return names + [n for n in model.key_names() if n not in names], hash_attribute
    return source.key_names(), source._hash_key_attribute()


def _encode(doc: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(doc, separators=(',', ':')).encode()).decode()


def _decode(token, names, hash_attribute, hash_key):
    if not token:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(token.encode()))
        if not isinstance(key, dict) or sorted(key) != sorted(names):
            raise ValueError
        if list(key[names[0]].values())[0] != hash_attribute.serialize(hash_key) or not well_formed(
            key
        ):
            raise ValueError
        return key
    except (
        ValueError,
        TypeError,
        AttributeError,
        binascii.Error,
        UnicodeDecodeError,
        RecursionError,
    ):
        raise BadRequestException('The NextToken is not valid') from None


_NUMBER = re.compile(r'-?[0-9]{1,20}')


def well_formed(key: dict) -> bool:
    """Whether every attribute of a decoded key is a string or a number of at most 20 digits
    (the store refuses a number of more than 38, and keys here are counters and ids), so a
    forged token is refused here, never by DynamoDB as a server error."""
    for value in key.values():
        if not isinstance(value, dict) or len(value) != 1:
            return False
        ((kind, text),) = value.items()
        if (
            not isinstance(text, str)
            or kind not in ('S', 'N')
            or (kind == 'N' and not _NUMBER.fullmatch(text))
        ):
            return False
    return True


# --- fixed items and stored ones ------------------------------------------------------------


def with_fixed(
    fixed: list,
    stored: Callable[[dict], dict],
    params: dict,
    *,
    name: str,
    first: bool,
    any_stored: Callable[[], bool] | None = None,
) -> dict:
    """``fixed`` (rendered items) and the stored list, paged across both. ``stored(params)``
    returns one page of the stored list (a :func:`page` call) for {MaxResults, NextToken};
    ``any_stored()`` tells whether the stored list is non-empty (needed when ``first``)."""
    limit = params.get('MaxResults') or DEFAULT_PAGE
    token = params.get('NextToken')
    start = _fixed_start(token, name, len(fixed))
    if first:
        if token and start is None:
            return stored({'MaxResults': limit, 'NextToken': token})
        start = start or 0
        items = fixed[start : start + limit]
        following = start + len(items)
        if len(items) == limit:
            out = {'Items': items}
            if following < len(fixed) or any_stored():
                out['NextToken'] = _encode({name: following})
            return out
        rest = stored({'MaxResults': limit - len(items)})
        rest['Items'] = items + rest['Items']
        return rest
    if start is not None:
        return _fixed_page(fixed, start, limit, name)
    out = stored({'MaxResults': limit, 'NextToken': token})
    if 'NextToken' in out:
        return out
    room = limit - len(out['Items'])
    if room == 0:
        if fixed:
            out['NextToken'] = _encode({name: 0})
        return out
    tail = _fixed_page(fixed, 0, room, name)
    out['Items'] += tail['Items']
    if 'NextToken' in tail:
        out['NextToken'] = tail['NextToken']
    return out


def _fixed_page(fixed, start, limit, name):
    chosen = fixed[start : start + limit]
    out = {'Items': list(chosen)}
    if start + len(chosen) < len(fixed):
        out['NextToken'] = _encode({name: start + len(chosen)})
    return out


def _fixed_start(token, name, count):
    """Index of the first fixed item to list, or None if ``token`` is not a fixed-part token
    (no token, or the store's own)."""
    if not token:
        return None
    try:
        doc = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, binascii.Error, UnicodeDecodeError, RecursionError):
        return None  # not ours: the store's paging judges it
    if not isinstance(doc, dict) or name not in doc:
        return None
    index = doc[name]
    if (
        list(doc) != [name]
        or isinstance(index, bool)
        or not isinstance(index, int)
        or not 0 <= index <= count
    ):
        raise BadRequestException('The NextToken is not valid')
    return index
