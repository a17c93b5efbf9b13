"""Data-plane session tokens: self-contained, signed, never stored.

A token carries everything a poll needs besides the delivery item: the session id, the three
resolved ids, the poll interval (and whether the session asked for it as a minimum), what the
client last received, the delivery generation it last saw, the earliest instant it may poll
again and its expiry. GetLatestConfiguration reads one and issues the next, so a poll costs
no write.

Format: ``base64url(JSON array) "." base64url(HMAC-SHA256(key, first part))``. The key is
32 random bytes kept in the store (store/secrets.py), created on first use and cached in
memory for the life of the process. Tokens are not encrypted: they hold the caller's own ids.
Nothing makes a token single-use (that would need a write per poll); a replayed token yields
the same answer it would have given the first time, with a fresh next token.
"""

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
import threading
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from chalicelib import cache, clock
from chalicelib.errors import BadRequestException
from chalicelib.store import secrets as stored

LIFETIME = timedelta(hours=24)
KEY_NAME = 'data-plane-token-key'
_FORMAT = 1
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_key = None
_key_lock = threading.Lock()


@dataclass(frozen=True)
class Session:
    session_id: str
    application_id: str
    environment_id: str
    profile_id: str
    interval: int  # Next-Poll-Interval-In-Seconds
    enforce_interval: bool  # the session set RequiredMinimumPollIntervalInSeconds
    received: tuple = None  # (VersionNumber, digest prefix) last delivered, or None
    generation: tuple = None  # (deployment number, stopped) of the delivery item last seen
    not_before: datetime = None  # earliest next poll (only when enforce_interval)
    expires_at: datetime = None
    polls: int = 0  # polls so far: every token of a session differs

    def next(self, now, **changes):
        """The session as the next token carries it, issued at ``now``."""
        return replace(
            self,
            **changes,
            polls=self.polls + 1,
            expires_at=now + LIFETIME,
            not_before=now + timedelta(seconds=self.interval) if self.enforce_interval else None,
        )


def new_session_id():
    return secrets.token_urlsafe(16)


def invalid(problem, message):
    """The data plane's BadRequestException about the ConfigurationToken parameter."""
    return BadRequestException(
        message,
        Reason='InvalidParameters',
        Details={'InvalidParameters': {'ConfigurationToken': {'Problem': problem}}},
    )


def encode(session, key=None):
    fields = [
        _FORMAT,
        session.session_id,
        session.application_id,
        session.environment_id,
        session.profile_id,
        session.interval,
        int(session.enforce_interval),
        list(session.received) if session.received else None,
        list(session.generation) if session.generation else None,
        _millis(session.not_before),
        _millis(session.expires_at),
        session.polls,
    ]
    body = _b64(json.dumps(fields, separators=(',', ':')).encode())
    return f'{body}.{_b64(_sign(body, key))}'


def decode(token, now=None, key=None):
    """The Session in ``token``; BadRequestException (Corrupted, Expired) when not usable."""
    try:
        body, signature = token.split('.')
        if not hmac.compare_digest(_unb64(signature), _sign(body, key)):
            raise ValueError('bad signature')
        fields = json.loads(_unb64(body))
        (
            fmt,
            session_id,
            app_id,
            env_id,
            profile_id,
            interval,
            enforce,
            received,
            generation,
            not_before,
            expires_at,
            polls,
        ) = fields
        if fmt != _FORMAT:
            raise ValueError('unknown format')
        session = Session(
            str(session_id),
            str(app_id),
            str(env_id),
            str(profile_id),
            int(interval),
            bool(enforce),
            tuple(received) if received else None,
            tuple(generation) if generation else None,
            _from_millis(not_before),
            _from_millis(expires_at),
            int(polls),
        )
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError, AttributeError):
        raise invalid('Corrupted', 'The configuration token is corrupted') from None
    if session.expires_at is None or (now or clock.now()) >= session.expires_at:
        raise invalid('Expired', 'The configuration token has expired')
    return session


def signing_key():
    """The process-wide signing key, read from (or first stored in) the store once."""
    global _key
    if _key is None:
        with _key_lock:
            if _key is None:
                _key = stored.get_or_create(KEY_NAME, lambda: os.urandom(32))
    return _key


@cache.on_reset
def _forget_key():
    global _key
    with _key_lock:
        _key = None


def _sign(body, key):
    return hmac.new(key or signing_key(), body.encode(), hashlib.sha256).digest()


def _b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b'=').decode()


def _unb64(text):
    if not text or not text.isascii():
        raise ValueError('empty or non-ASCII')
    data = base64.urlsafe_b64decode(text + '=' * (-len(text) % 4))
    if _b64(data) != text:
        # Only the canonical spelling counts: no stray characters, no altered padding bits.
        raise ValueError('not canonical base64url')
    return data


def _millis(instant):
    return None if instant is None else round((instant - _EPOCH) / timedelta(milliseconds=1))


def _from_millis(value):
    return None if value is None else _EPOCH + timedelta(milliseconds=int(value))
