import base64
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from moto import mock_aws

from chalicelib import cache, tokens
from chalicelib.errors import BadRequestException

KEY = b'k' * 32
NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def session(**changes):
    base = tokens.Session(
        'sid',
        'app1234',
        'env1234',
        'prf1234',
        interval=30,
        enforce_interval=True,
        expires_at=NOW + tokens.LIFETIME,
    )
    return tokens.Session(**{**base.__dict__, **changes})


def problem(err):
    return err.value.fields['Details']['InvalidParameters']['ConfigurationToken']['Problem']


def test_round_trip_keeps_every_field():
    s = session(
        received=('3', 'abcdef0123456789'),
        generation=(2, 1),
        not_before=NOW + timedelta(seconds=30),
    )
    token = tokens.encode(s, key=KEY)
    assert len(token) < 400 and ' ' not in token
    assert tokens.decode(token, NOW, key=KEY) == s


def test_next_moves_expiry_and_earliest_poll():
    s = session().next(NOW, received=('1', 'ff'))
    assert s.expires_at == NOW + timedelta(hours=24)
    assert s.not_before == NOW + timedelta(seconds=30)
    assert s.received == ('1', 'ff')
    assert session(enforce_interval=False).next(NOW).not_before is None


def test_expired():
    token = tokens.encode(session(), key=KEY)
    assert tokens.decode(token, NOW + timedelta(hours=23, minutes=59), key=KEY)
    with pytest.raises(BadRequestException) as err:
        tokens.decode(token, NOW + timedelta(hours=24), key=KEY)
    assert problem(err) == 'Expired'
    assert err.value.fields['Reason'] == 'InvalidParameters'


@pytest.mark.parametrize(
    'mangle',
    [
        lambda t: t[:-2] + ('A' if t[-2] != 'A' else 'B') + t[-1],  # signature changed
        lambda t: 'x' + t,  # body changed
        lambda t: t.split('.')[0],  # signature missing
        lambda t: t + '.more',
        lambda t: 'garbage',
        lambda t: '.',
        lambda t: 'é.é',
    ],
)
def test_tampered_or_garbage_is_corrupted(mangle):
    token = tokens.encode(session(), key=KEY)
    with pytest.raises(BadRequestException) as err:
        tokens.decode(mangle(token), NOW, key=KEY)
    assert problem(err) == 'Corrupted'


def test_forged_body_with_other_key_is_corrupted():
    body = tokens.encode(session(application_id='someone'), key=b'other' * 8)
    with pytest.raises(BadRequestException) as err:
        tokens.decode(body, NOW, key=KEY)
    assert problem(err) == 'Corrupted'


def test_edited_payload_is_corrupted():
    token = tokens.encode(session(), key=KEY)
    body, sig = token.split('.')
    fields = json.loads(base64.urlsafe_b64decode(body + '=' * (-len(body) % 4)))
    fields[10] += 10**9  # push the expiry out
    forged = base64.urlsafe_b64encode(json.dumps(fields).encode()).rstrip(b'=').decode()
    with pytest.raises(BadRequestException) as err:
        tokens.decode(f'{forged}.{sig}', NOW, key=KEY)
    assert problem(err) == 'Corrupted'


def test_signing_key_is_created_once_and_shared():
    with mock_aws():
        from chalicelib.store.secrets import Secret, get_or_create

        Secret.create_table(wait=True)
        cache.reset()
        try:
            first = tokens.signing_key()
            assert len(first) == 32
            cache.reset()  # another process starting cold reads the same key
            assert tokens.signing_key() == first
            # A process that lost the race to the first put adopts the winner's key.
            assert get_or_create(tokens.KEY_NAME, lambda: b'loser' * 7) == first
        finally:
            cache.reset()


def test_racing_first_use_agrees():
    with mock_aws():
        from chalicelib.store import secrets

        secrets.Secret.create_table(wait=True)
        real_get = secrets.Secret.get
        calls = []

        def get_missing_once(*args, **kwargs):
            # Both racers read "missing" before either has written.
            if not calls:
                calls.append(1)
                winner = secrets.Secret('race', value=b'winner', created_at=NOW)
                winner.save()
                raise secrets.Secret.DoesNotExist()
            return real_get(*args, **kwargs)

        secrets.Secret.get = get_missing_once
        try:
            assert secrets.get_or_create('race', lambda: b'loser') == b'winner'
        finally:
            secrets.Secret.get = real_get
