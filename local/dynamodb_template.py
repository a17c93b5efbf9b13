"""A fresh data dir starts with the service's tables in it: a copy of the empty database that
DynamoDB Local made for this schema the first time.

Creating the twenty tables is most of what a first start asks of DynamoDB Local once its JVM
is up: a CreateTable each, SQLite DDL and a commit, one after another on its one database
thread (about 0.4 s on 2 cores). The runner creates them once; right after, before anything
is written, :func:`save` copies the database (SQLite's online backup, consistent while
DynamoDB Local has it open) to ``local/.cds/tables-<key>.db`` (git-ignored), and from then on
:func:`seed` puts a copy into any data dir that has no database yet, before DynamoDB Local
starts on it.

The key names what the copy depends on: DynamoDB Local's jar (its file format), every source
file of chalicelib/store and requirements.txt (the tables' definitions, and the PynamoDB that
turns them into CreateTable), and the table name prefix. A change to any of them is another
key, so a copy is never used for a schema it was not made for.

Invariant: only a data dir without a database file is seeded, so nothing written is ever
replaced, and a copy holds tables and no item. ``create_all`` still runs after a seeded start
and creates anything the copy lacks.

Failure mode: an error making or using the copy is logged and the start goes on as it would
without one (tables created by CreateTable).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shutil
import time
import uuid
from pathlib import Path

from local.dynamodb_cds import CACHE

ROOT = Path(__file__).resolve().parent.parent
# The file DynamoDB Local keeps its tables in, with -sharedDb.
DATABASE = 'shared-local-instance.db'

log = logging.getLogger('local.dynamodb')


def key(jar_dir: Path) -> str:
    digest = hashlib.sha256()
    jar = jar_dir / 'DynamoDBLocal.jar'
    stat = jar.stat()
    prefix = os.environ.get('APPCONFIG_TABLE_PREFIX', '')
    for part in (jar.resolve(), stat.st_size, stat.st_mtime_ns, prefix):
        digest.update(f'{part}\0'.encode())
    sources = sorted((ROOT / 'chalicelib' / 'store').glob('*.py')) + [ROOT / 'requirements.txt']
    for path in sources:
        content = path.read_bytes() if path.is_file() else b'(none)'
        digest.update(path.name.encode() + b'\0' + content + b'\0')
    return digest.hexdigest()[:16]


def _copy(key_: str) -> Path:
    return CACHE / f'tables-{key_}.db'


def has_database(db_dir: Path) -> bool:
    return (db_dir / DATABASE).exists()


def seed(db_dir: Path, key_: str) -> bool:
    """Put the tables of ``key_`` into ``db_dir`` when it has no database yet. True when it
    did (DynamoDB Local then starts with every table there)."""
    source, target = _copy(key_), db_dir / DATABASE
    if target.exists() or not source.is_file():
        return False
    partial = target.with_name(f'{DATABASE}.{uuid.uuid4().hex}.partial')
    try:
        db_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, partial)
        # A link, not a rename: it fails rather than replace a database that appeared since.
        os.link(partial, target)
        return True
    except FileExistsError:
        return False
    except OSError as error:
        log.warning('data dir %s starts without the tables copy: %s', db_dir, error)
        return False
    finally:
        partial.unlink(missing_ok=True)


def save(db_dir: Path, key_: str) -> None:
    """Keep a copy of the database in ``db_dir``, which must hold the tables and nothing
    else (call it right after creating them on a fresh data dir). Copies of other keys made
    over a week ago are removed: schemas change, and old copies would pile up."""
    import sqlite3

    target = _copy(key_)
    if target.exists():
        return
    partial = target.with_name(f'{target.name}.{uuid.uuid4().hex}.partial')
    try:
        CACHE.mkdir(parents=True, exist_ok=True)
        source = (db_dir / DATABASE).resolve().as_uri() + '?mode=ro'
        with contextlib.closing(sqlite3.connect(source, uri=True)) as src:
            with contextlib.closing(sqlite3.connect(partial)) as dst:
                src.backup(dst)
        os.replace(partial, target)
    except (OSError, sqlite3.Error) as error:
        log.warning('no copy of the tables kept for later fresh data dirs: %s', error)
        return
    finally:
        partial.unlink(missing_ok=True)
    week_ago = time.time() - 7 * 24 * 3600
    for old in CACHE.glob('tables-*.db'):
        with contextlib.suppress(OSError):
            if old != target and old.stat().st_mtime < week_ago:
                old.unlink()
