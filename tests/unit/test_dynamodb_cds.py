"""DynamoDB Local's class-data-sharing archive: the jar copy it needs, and how an archive
comes to be used (local/dynamodb_cds.py)."""

import zipfile
from pathlib import Path

import pytest

from local import dynamodb_cds

MANIFEST = (
    'Manifest-Version: 1.0\r\nMain-Class: a.b.Main\r\nClass-Path: . log4j2.xml Dyn'
    'amoDBLocal_lib/one.jar DynamoDBLocal_lib/tw\r\n o.jar\r\n\r\n'
)


def _jar(tmp_path):
    folder = tmp_path / 'dist'
    folder.mkdir()
    jar = folder / 'DynamoDBLocal.jar'
    with zipfile.ZipFile(jar, 'w') as z:
        z.writestr('META-INF/MANIFEST.MF', MANIFEST)
        z.writestr('a/b/Main.class', b'\xca\xfe\xba\xbe')
    return folder, jar


@pytest.fixture
def dist(tmp_path, monkeypatch):
    """(folder of the shipped jar, the shipped jar, a java binary), with a fresh cache."""
    monkeypatch.setattr(dynamodb_cds, 'CACHE', tmp_path / 'cds')
    folder, jar = _jar(tmp_path)
    java = tmp_path / 'java'
    # Stands in for `java -Xshare:dump`: writes the archive it is asked for, unless told to
    # fail; counts its runs.
    java.write_text(
        '#!/bin/sh\n'
        f'echo run >> "{java}.runs"\n'
        f'[ -e "{java}.fail" ] && exit 1\n'
        'for a; do case "$a" in -XX:SharedArchiveFile=*) echo archive > "${a#*=}";; esac; done\n'
    )
    java.chmod(0o755)
    return folder, jar, str(java)


def _runs(java):
    runs = Path(f'{java}.runs')
    return len(runs.read_text().splitlines()) if runs.exists() else 0


def _class_path(manifest):
    lines = []
    for line in manifest.split('\r\n'):
        if line.startswith(' '):
            lines[-1] += line[1:]
        else:
            lines.append(line)
    return next(line for line in lines if line.startswith('Class-Path:')).split()[1:]


def test_the_copy_names_the_libraries_by_path_and_leaves_the_directory_out(dist):
    folder, jar, java = dist
    launch = dynamodb_cds.prepare(java, folder)
    assert launch.jar != jar and launch.jar.is_file()
    with zipfile.ZipFile(launch.jar) as z:
        manifest = z.read('META-INF/MANIFEST.MF').decode()
        assert z.read('a/b/Main.class') == b'\xca\xfe\xba\xbe'
    assert all(len(line.encode()) <= 72 for line in manifest.split('\r\n'))
    assert 'Main-Class: a.b.Main' in manifest
    assert _class_path(manifest) == [
        (folder / 'DynamoDBLocal_lib' / name).as_uri() for name in ('one.jar', 'two.jar')
    ]


def _listing(launch):
    """The class list the JVM is told to write, written as that JVM would."""
    arg = next(a for a in launch.jvm_args if a.startswith('-XX:DumpLoadedClassList='))
    path = Path(arg.split('=', 1)[1])
    path.write_text('java/lang/Object id: 0\n')
    return path


def test_an_archive_is_made_only_from_a_jvm_that_exited_cleanly(dist):
    folder, _, java = dist
    first = dynamodb_cds.prepare(java, folder)
    listed = _listing(first)
    first.finish(-9)  # killed: its list is thrown away, nothing is dumped
    assert not listed.exists() and _runs(java) == 0
    again = dynamodb_cds.prepare(java, folder)
    assert not any(a.startswith('-XX:SharedArchiveFile=') for a in again.jvm_args)
    listed = _listing(again)
    again.finish(143)  # SIGTERM: the JVM exits normally; its classes are archived
    assert not listed.exists() and _runs(java) == 1
    used = dynamodb_cds.prepare(java, folder)
    archive = next(a for a in used.jvm_args if a.startswith('-XX:SharedArchiveFile='))
    assert Path(archive.split('=', 1)[1]).read_text() == 'archive\n'
    assert not any(a.startswith('-XX:DumpLoadedClassList=') for a in used.jvm_args)


def test_one_dump_for_many_jvms_and_a_failed_one_leaves_no_archive(dist):
    folder, _, java = dist
    Path(f'{java}.fail').write_text('')
    launches = [dynamodb_cds.prepare(java, folder) for _ in range(2)]
    for launch in launches:
        _listing(launch)
    launches[0].finish(0)  # the dump fails: no archive, the next start lists again
    assert _runs(java) == 1
    retry = dynamodb_cds.prepare(java, folder)
    assert any(a.startswith('-XX:DumpLoadedClassList=') for a in retry.jvm_args)
    Path(f'{java}.fail').unlink()
    launches[1].finish(0)
    _listing(retry)
    retry.finish(0)  # an archive exists by now: no second dump
    assert _runs(java) == 2
    assert not [p for p in launches[0].jar.parent.iterdir() if 'partial' in p.name]


def test_off_means_the_jar_as_shipped(tmp_path, monkeypatch):
    monkeypatch.setenv('APPCONFIG_DYNAMODB_CDS', 'off')
    folder, jar = _jar(tmp_path)
    launch = dynamodb_cds.prepare('java', folder)
    assert (launch.jar, launch.jvm_args) == (jar, [])


def test_sqlite_native_library_is_taken_out_of_the_jar_once(dist, monkeypatch):
    folder, jar, java = dist
    monkeypatch.setattr(dynamodb_cds.platform, 'system', lambda: 'Linux')
    monkeypatch.setattr(dynamodb_cds.platform, 'machine', lambda: 'x86_64')
    assert not any(
        a.startswith('-Dorg.sqlite') for a in dynamodb_cds.prepare(java, folder).jvm_args
    )
    with zipfile.ZipFile(jar, 'a') as z:
        z.writestr(f'{dynamodb_cds._NATIVE}/Linux/x86_64/libsqlite4java.so', b'\x7fELF-x86')
        z.writestr(f'{dynamodb_cds._NATIVE}/Linux/aarch64/libsqlite4java.so', b'\x7fELF-arm')
    args = dynamodb_cds.prepare(java, folder).jvm_args
    path = next(a.split('=', 1)[1] for a in args if a.startswith('-Dorg.sqlite.lib.path='))
    assert '-Dorg.sqlite.lib.name=libsqlite4java.so' in args
    library = Path(path) / 'libsqlite4java.so'
    assert library.read_bytes() == b'\x7fELF-x86'
    library.write_bytes(b'kept')  # extracted once: a later start does not rewrite it
    dynamodb_cds.prepare(java, folder)
    assert library.read_bytes() == b'kept'
