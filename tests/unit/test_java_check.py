"""The Java check before DynamoDB Local starts (local/dynamodb.check_java): `java -version`
runs once per binary, not once per start, and a binary that changed is checked again."""

import os

import pytest

from local import dynamodb


def _java(path, version):
    """A stand-in java that prints ``version`` the way java does, and counts its runs."""
    path.write_text(
        '#!/bin/sh\n'
        f'echo run >> "{path}.runs"\n'
        f'echo \'openjdk version "{version}" 2024-01-16\' >&2\n'
    )
    path.chmod(0o755)
    return path


def _runs(path):
    runs = path.with_name(path.name + '.runs')
    return len(runs.read_text().splitlines()) if runs.exists() else 0


@pytest.fixture
def java_home(tmp_path, monkeypatch):
    (tmp_path / 'bin').mkdir()
    monkeypatch.setenv('JAVA_HOME', str(tmp_path))
    monkeypatch.setattr(dynamodb, 'JAVA_CHECKED', tmp_path / 'cache' / 'java-checked.json')
    monkeypatch.setattr(dynamodb, '_checked_java', {})
    return tmp_path / 'bin' / 'java'


def test_a_good_java_is_run_once_across_processes(java_home, monkeypatch):
    java = _java(java_home, '17.0.10')
    assert dynamodb.check_java() == str(java)
    monkeypatch.setattr(dynamodb, '_checked_java', {})  # as a new process finds it
    assert dynamodb.check_java() == str(java)
    assert _runs(java) == 1


def test_a_changed_binary_is_checked_again(java_home, monkeypatch):
    java = _java(java_home, '17.0.10')
    dynamodb.check_java()
    monkeypatch.setattr(dynamodb, '_checked_java', {})
    _java(java_home, '11.0.2')  # replaced by an older Java: other size
    os.utime(java, ns=(1, 1))
    with pytest.raises(dynamodb.DynamoDBLocalError, match='needs Java 17 or newer'):
        dynamodb.check_java()
    assert _runs(java) == 2


def test_an_old_java_is_never_remembered(java_home, monkeypatch):
    java = _java(java_home, '1.8.0_392')
    for _ in range(2):
        monkeypatch.setattr(dynamodb, '_checked_java', {})
        with pytest.raises(dynamodb.DynamoDBLocalError, match='is Java 8'):
            dynamodb.check_java()
    assert _runs(java) == 2


def test_an_unreadable_memo_only_costs_a_check(java_home):
    java = _java(java_home, '21.0.1')
    dynamodb.JAVA_CHECKED.parent.mkdir()
    dynamodb.JAVA_CHECKED.write_text('not json')
    assert dynamodb.check_java() == str(java)
    assert _runs(java) == 1
