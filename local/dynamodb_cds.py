"""A faster start for DynamoDB Local's JVM: a class-data-sharing archive, made once, reused.

Most of DynamoDB Local's start is the JVM loading and verifying some ten thousand classes
(Jetty, the AWS SDK, SQLite's wrapper) and compiling them. Java 17's dynamic CDS archive
keeps them parsed and verified in one file: the first start runs with
``-XX:ArchiveClassesAtExit`` and leaves the archive when the JVM exits after SIGTERM (stop());
every later start maps it with ``-XX:SharedArchiveFile``. The JVM checks the archive against
its own build and the class path and ignores it when they differ, so a stale archive costs
nothing but its benefit. The JIT keeps its default tiers: C1 alone would start the JVM about
0.2 s sooner, but leaves DynamoDB Local's steady state at about half the speed (a hundred
conditional updates in one transaction: ~100 ms against ~55 ms once warm), and the server
runs for hours.

Java refuses to archive a class path with a non-empty directory on it, and the jar's manifest
lists ``.``: the archive is built for a copy of DynamoDBLocal.jar whose manifest names the
bundled libraries by absolute path and leaves ``.`` out (nothing is loaded from there). The
copy and the archive live under local/.cds/<key>/ (git-ignored), the key naming the java
binary and the jar, so another Java or another DynamoDB Local gets its own. The same folder
keeps sqlite4java's native library, taken out of the jar once, which DynamoDB Local is told
to load from there instead of copying it out of its jar and comparing it at every start.

Failure mode: anything going wrong here (no space, an odd jar) falls back to the jar as
shipped, with no archive. An archive is moved into place only after the JVM that wrote it
exited by SIGTERM or normally, so a JVM killed while writing it leaves nothing half-written
in use. ``APPCONFIG_DYNAMODB_CDS=off`` turns all of it off.
"""

from __future__ import annotations

import hashlib
import logging
import os
import platform
import uuid
import zipfile
from collections.abc import Sequence
from pathlib import Path

CACHE = Path(__file__).resolve().parent / '.cds'
ARCHIVE = 'DynamoDBLocal.jsa'
_QUIET = ('-Xshare:auto', '-Xlog:cds=off', '-Xlog:cds+dynamic=off')
_MANIFEST = 'META-INF/MANIFEST.MF'

log = logging.getLogger('local.dynamodb')


class Launch:
    """What to start the JVM with; ``finish(returncode)`` once it has exited."""

    def __init__(
        self,
        jar: Path,
        jvm_args: Sequence[str] = (),
        dump: Path | None = None,
        archive: Path | None = None,
    ) -> None:
        self.jar = jar
        self.jvm_args = list(jvm_args)
        self._dump, self._archive = dump, archive

    def finish(self, returncode: int | None) -> None:
        dump, self._dump = self._dump, None
        if dump is None:
            return
        try:
            # 143 / -15: SIGTERM, which the JVM handles by exiting normally (archive written).
            if returncode in (0, 143, -15) and dump.is_file() and dump.stat().st_size:
                os.replace(dump, self._archive)
            else:
                dump.unlink(missing_ok=True)
        except OSError as error:
            log.warning("could not keep DynamoDB Local's class archive: %s", error)


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
        dump = folder / f'{ARCHIVE}.{os.getpid()}.{uuid.uuid4().hex[:8]}.partial'
        return Launch(
            jar,
            [f'-XX:ArchiveClassesAtExit={dump}', *_QUIET, *native],
            dump=dump,
            archive=archive,
        )
    except (OSError, ValueError, zipfile.BadZipFile) as error:
        log.warning('DynamoDB Local starts without a class archive: %s', error)
        return Launch(shipped)
