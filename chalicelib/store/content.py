"""Configuration bytes, stored byte-exact and content-addressed, split across items.

A DynamoDB item holds at most 400 KB while hosted content may reach several MB, so content
is cut into chunks keyed by (sha256 of the whole, chunk index). Writers store the chunks
before the item that refers to the digest, so nothing ever points at incomplete content;
identical content is stored once.
"""

from __future__ import annotations

import hashlib

from pynamodb.attributes import BinaryAttribute, NumberAttribute, UnicodeAttribute

from chalicelib.store.base import BaseMeta, BaseModel, table_name

CHUNK = 350_000


class Chunk(BaseModel):
    class Meta(BaseMeta):
        table_name = table_name('content')

    digest = UnicodeAttribute(hash_key=True)
    index = NumberAttribute(range_key=True)
    data = BinaryAttribute(legacy_encoding=False)
    count = NumberAttribute()


def digest_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def put(data: bytes, namespace: str = '') -> str:
    """Store ``data`` (idempotent); returns its digest, ``namespace`` + the sha256 (a
    namespace keeps content that must not be shared apart, e.g. crypto.py's envelopes)."""
    data = bytes(data)
    digest = namespace + digest_of(data)
    pieces = [data[i : i + CHUNK] for i in range(0, len(data), CHUNK)] or [b'']
    with Chunk.batch_write() as batch:
        for index, piece in enumerate(pieces):
            batch.save(Chunk(digest, index, data=piece, count=len(pieces)))
    return digest


def get(digest: str) -> bytes:
    chunks = list(Chunk.query(digest, consistent_read=True))
    if not chunks or len(chunks) != chunks[0].count:
        raise LookupError(f'content {digest} is missing or incomplete')
    return b''.join(c.data for c in chunks)
