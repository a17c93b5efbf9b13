"""A faster start for DynamoDB Local's JVM: a class-data-sharing archive, made once, reused.

Most of DynamoDB Local's start is the JVM loading and verifying some five thousand classes
(Jetty, the AWS SDK, Jackson, SQLite's wrapper). A static CDS archive keeps them parsed,
verified and linked in one file: the first start runs with ``-XX:DumpLoadedClassList`` and,
once that JVM has exited after SIGTERM (stop()), ``java -Xshare:dump`` archives every class
it listed (a few seconds, once); every later start maps it with ``-XX:SharedArchiveFile``.
(Java 17's dynamic archive, ``-XX:ArchiveClassesAtExit``, needs no second JVM but leaves out
every class that was loaded and not linked, some 800 of them; the static one starts about
50 ms sooner.) The JVM checks the archive against its own build and the class path and
ignores it when they differ, so a stale archive costs nothing but its benefit. The JIT keeps
its default tiers: C1 alone would start the JVM about 0.25 s sooner, but leaves DynamoDB
Local's steady state at about half the speed (a hundred conditional updates in one
transaction: ~100 ms against ~55 ms once warm), and the server runs for hours.

Java refuses to archive a class path with a non-empty directory on it, and the jar's manifest
lists ``.``: the archive is built for a copy of DynamoDBLocal.jar whose manifest names the
bundled libraries by absolute path and leaves ``.`` out (nothing is loaded from there). The
copy and the archive live under local/.cds/<key>/ (git-ignored), the key naming the java
binary and the jar, so another Java or another DynamoDB Local gets its own. The same folder
keeps sqlite4java's native library, taken out of the jar once, which DynamoDB Local is told
to load from there instead of copying it out of its jar and comparing it at every start.

Failure mode: anything going wrong here (no space, an odd jar, a dump that fails) falls back
to the jar as shipped, or to no archive. A class list is used only when the JVM that wrote it
exited by SIGTERM or normally, and an archive is moved into place only once the dump that
wrote it succeeded, so nothing half-written is ever used. ``APPCONFIG_DYNAMODB_CDS=off``
turns all of it off.
"""

from __future__ import annotations

import hashlib
import logging
import os
import platform
import subprocess
import time
import uuid
import zipfile
from collections.abc import Sequence
from pathlib import Path

CACHE = Path(__file__).resolve().parent / '.cds'
ARCHIVE = 'DynamoDBLocal.jsa'
_QUIET = ('-Xshare:auto', '-Xlog:cds=off')
_MANIFEST = 'META-INF/MANIFEST.MF'

log = logging.getLogger('local.dynamodb')


class Launch:
    """What to start the JVM with; ``finish(returncode)`` once it has exited."""

    def __init__(
        self,
        jar: Path,
        jvm_args: Sequence[str] = (),
        classes: Path | None = None,
        archive: Path | None = None,
        java: str | None = None,
    ) -> None:
        self.jar = jar
        self.jvm_args = list(jvm_args)
        self._classes, self._archive, self._java = classes, archive, java

    def finish(self, returncode: int | None) -> None:
        """After a JVM that listed its classes: the archive of them, when it exited cleanly
        (143 / -15: SIGTERM, which the JVM handles by exiting normally, list written)."""
        classes, self._classes = self._classes, None
        if classes is None:
            return
        try:
            if returncode in (0, 143, -15) and classes.is_file() and classes.stat().st_size:
                _dump(self._java, self.jar, classes, self._archive)
        except (OSError, subprocess.SubprocessError) as error:
            log.warning("could not make DynamoDB Local's class archive: %s", error)
        finally:
            classes.unlink(missing_ok=True)


def _dump(java: str, jar: Path, classes: Path, archive: Path) -> None:
    """A static archive of every class in ``classes`` (a few seconds, once per key): only by
    the first JVM to exit while there is none, and one dump at a time."""
    lock = archive.with_name(f'{archive.name}.dumping')
    if archive.exists() or not _claim(lock):
        return
    partial = archive.with_name(f'{archive.name}.{uuid.uuid4().hex[:8]}.partial')
    try:
        subprocess.run(
            [
                java,
                '-Xshare:dump',
                f'-XX:SharedClassListFile={classes}',
                f'-XX:SharedArchiveFile={partial}',
                '-Xlog:cds=off',
                '-cp',
                str(jar),
            ],
            check=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=300,
        )
        if partial.is_file() and partial.stat().st_size:
            os.replace(partial, archive)
    finally:
        partial.unlink(missing_ok=True)
        lock.unlink(missing_ok=True)


def _claim(lock: Path) -> bool:
    """True when this process may dump: nobody holds ``lock``, or its holder left it over ten
    minutes ago (killed mid-dump)."""
    try:
        os.close(os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        return True
    except FileExistsError:
        try:
            if time.time() - lock.stat().st_mtime > 600:
                lock.touch()
                return True
        except OSError:
            pass
        return False


def _key(java: str, jar: Path) -> str:
    real = Path(os.path.realpath(java))
    parts = [
        str(real),
        str(real.stat().st_mtime_ns),
        str(jar.resolve()),
        str(jar.stat().st_size),
        str(jar.stat().st_mtime_ns),
    ]
    return hashlib.sha256('\0'.join(parts).encode()).hexdigest()[:16]


def _manifest_without_dot(text: str, lib_root: Path) -> str:
    lines: list = []
    for line in text.replace('\r\n', '\n').split('\n'):
        if line.startswith(' ') and lines:
            lines[-1] += line[1:]  # a continuation line
        elif line:
            lines.append(line)
    out = []
    for line in lines:
        if line.startswith('Class-Path:'):
            entries = [
                e for e in line[len('Class-Path:') :].split() if e not in ('.', 'log4j2.xml')
            ]
            line = 'Class-Path: ' + ' '.join((lib_root / e).as_uri() for e in entries)
        while len(line.encode()) > 70:  # manifest lines are at most 72 bytes
            out.append(line[:70])
            line = ' ' + line[70:]
        out.append(line)
    return '\r\n'.join(out) + '\r\n\r\n'


def _copy_jar(jar: Path, target: Path) -> None:
    partial = target.with_name(f'{target.name}.{uuid.uuid4().hex}.partial')
    with zipfile.ZipFile(jar) as src, zipfile.ZipFile(partial, 'w', zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == _MANIFEST:
                data = _manifest_without_dot(data.decode('utf-8'), jar.parent).encode('utf-8')
            info.compress_type = zipfile.ZIP_STORED
            dst.writestr(info, data)
    os.replace(partial, target)


# Where DynamoDB Local keeps sqlite4java's native library for each system, in its jar.
_NATIVE = 'software/amazon/dynamodb/services/local/shared/access/sqlite/native'
_SYSTEMS = {'Linux': ('Linux', 'libsqlite4java.so'), 'Darwin': ('Mac', 'libsqlite4java.dylib')}
_MACHINES = {'x86_64': 'x86_64', 'amd64': 'x86_64', 'aarch64': 'aarch64', 'arm64': 'aarch64'}


def _native_library(jar: Path, folder: Path) -> list:
    """The JVM options that load sqlite4java's native library from ``folder``, extracted
    there once. Without them DynamoDB Local copies the library out of its jar into a new
    temporary file and compares the two byte by byte, at every start (~50 ms of its first
    request). [] when the jar has none for this system (DynamoDB Local then finds its own)."""
    system, name = _SYSTEMS.get(platform.system(), (None, None))
    machine = _MACHINES.get(platform.machine().lower())
    if system is None or machine is None:
        return []
    library = folder / 'native' / name
    if not library.is_file():
        with zipfile.ZipFile(jar) as src:
            try:
                data = src.read(f'{_NATIVE}/{system}/{machine}/{name}')
            except KeyError:
                return []
        library.parent.mkdir(exist_ok=True)
        partial = library.with_name(f'{name}.{uuid.uuid4().hex}.partial')
        partial.write_bytes(data)
        os.replace(partial, library)
    return [f'-Dorg.sqlite.lib.path={library.parent}', f'-Dorg.sqlite.lib.name={name}']


def prepare(java: str, jar_dir: Path) -> Launch:
    shipped = jar_dir / 'DynamoDBLocal.jar'
    if (os.environ.get('APPCONFIG_DYNAMODB_CDS') or '').lower() in ('off', '0', 'false', 'no'):
        return Launch(shipped)
    try:
        folder = CACHE / _key(java, shipped)
        folder.mkdir(parents=True, exist_ok=True)
        jar = folder / 'DynamoDBLocal.jar'
        if not jar.is_file():
            _copy_jar(shipped, jar)
        native = _native_library(shipped, folder)
        archive = folder / ARCHIVE
        if archive.is_file():
            return Launch(jar, [f'-XX:SharedArchiveFile={archive}', *_QUIET, *native])
        classes = folder / f'classes.{os.getpid()}.{uuid.uuid4().hex[:8]}.partial'
        return Launch(
            jar,
            [f'-XX:DumpLoadedClassList={classes}', *_QUIET, *native],
            classes=classes,
            archive=archive,
            java=java,
        )
    except (OSError, ValueError, zipfile.BadZipFile) as error:
        log.warning('DynamoDB Local starts without a class archive: %s', error)
        return Launch(shipped)
