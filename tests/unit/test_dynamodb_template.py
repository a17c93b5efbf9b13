"""The tables copy a fresh data dir starts with (local/dynamodb_template.py): which schema a
copy belongs to, and that seeding never touches a data dir that has a database."""

import os
import sqlite3

import pytest

from local import dynamodb_template as template


@pytest.fixture
def checkout(tmp_path, monkeypatch):
    """A checkout with two store modules, requirements.txt, a jar and an empty cache."""
    root = tmp_path / 'repo'
    (root / 'chalicelib' / 'store').mkdir(parents=True)
    (root / 'chalicelib' / 'store' / 'a.py').write_text('class A: pass\n')
    (root / 'chalicelib' / 'store' / 'b.py').write_text('class B: pass\n')
    (root / 'requirements.txt').write_text('pynamodb==6.1.0\n')
    jar_dir = tmp_path / 'jar'
    jar_dir.mkdir()
    (jar_dir / 'DynamoDBLocal.jar').write_bytes(b'PK')
    monkeypatch.setattr(template, 'ROOT', root)
    monkeypatch.setattr(template, 'CACHE', tmp_path / 'cache')
    monkeypatch.delenv('APPCONFIG_TABLE_PREFIX', raising=False)
    return root, jar_dir


def _database(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as db:
        db.execute('create table t (k text)')
        db.executemany('insert into t values (?)', [(r,) for r in rows])
    return path


def _rows(path):
    with sqlite3.connect(path) as db:
        return [r for (r,) in db.execute('select k from t order by k')]


def test_the_key_follows_the_store_the_pins_the_prefix_and_the_jar(checkout, monkeypatch):
    root, jar_dir = checkout
    first = template.key(jar_dir)
    assert template.key(jar_dir) == first
    (root / 'chalicelib' / 'store' / 'b.py').write_text('class B: x = 1\n')
    second = template.key(jar_dir)
    (root / 'requirements.txt').write_text('pynamodb==6.2.0\n')
    third = template.key(jar_dir)
    monkeypatch.setenv('APPCONFIG_TABLE_PREFIX', 'stage-')
    fourth = template.key(jar_dir)
    (jar_dir / 'DynamoDBLocal.jar').write_bytes(b'PK-newer')
    fifth = template.key(jar_dir)
    (root / 'requirements.txt').unlink()  # a checkout without it still gets a key
    sixth = template.key(jar_dir)
    assert len({first, second, third, fourth, fifth, sixth}) == 6


def test_a_saved_copy_seeds_fresh_data_dirs_only(checkout, tmp_path):
    _, jar_dir = checkout
    key = template.key(jar_dir)
    made = tmp_path / 'first'
    _database(made / template.DATABASE, ['tables only'])
    assert not template.seed(tmp_path / 'fresh', key)  # no copy yet
    template.save(made, key)
    fresh = tmp_path / 'fresh'
    assert template.seed(fresh, key) and _rows(fresh / template.DATABASE) == ['tables only']
    used = _database(tmp_path / 'used' / template.DATABASE, ['written by a user'])
    assert not template.seed(used.parent, key)
    assert _rows(used) == ['written by a user']
    assert not template.seed(tmp_path / 'other', 'another-schema')
    assert not template.has_database(tmp_path / 'other')
    assert not [p for p in fresh.iterdir() if p.name.endswith('.partial')]


def test_a_copy_is_made_once_and_stale_ones_are_pruned(checkout, tmp_path):
    _, jar_dir = checkout
    key = template.key(jar_dir)
    template.CACHE.mkdir()
    stale = template.CACHE / 'tables-0000000000000000.db'
    recent = template.CACHE / 'tables-1111111111111111.db'
    stale.write_bytes(b'old')
    recent.write_bytes(b'another checkout state')
    os.utime(stale, (0, 0))
    made = _database(tmp_path / 'made' / template.DATABASE, ['v1']).parent
    template.save(made, key)
    with sqlite3.connect(made / template.DATABASE) as db:
        db.execute("insert into t values ('v2')")
    template.save(made, key)  # kept as first made
    assert _rows(template.CACHE / f'tables-{key}.db') == ['v1']
    assert not stale.exists() and recent.exists()


def test_a_missing_database_is_not_saved(checkout, tmp_path):
    _, jar_dir = checkout
    key = template.key(jar_dir)
    template.save(tmp_path / 'nothing-here', key)
    assert not (template.CACHE / f'tables-{key}.db').exists()
