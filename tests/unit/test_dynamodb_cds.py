"""DynamoDB Local's class-data-sharing archive: the jar copy it needs, and how an archive
comes to be used (local/dynamodb_cds.py)."""

import zipfile

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
    java.write_text('')
    return folder, jar, str(java)


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


def test_an_archive_is_used_only_once_a_jvm_wrote_it_and_exited_cleanly(dist):
    folder, _, java = dist
    first = dynamodb_cds.prepare(java, folder)
    dump = next(a for a in first.jvm_args if a.startswith('-XX:ArchiveClassesAtExit='))
    dump = dump.split('=', 1)[1]
    open(dump, 'wb').write(b'half')
    first.finish(-9)  # killed while writing: thrown away
    again = dynamodb_cds.prepare(java, folder)
    assert not any(a.startswith('-XX:SharedArchiveFile=') for a in again.jvm_args)
    dump = next(a for a in again.jvm_args if a.startswith('-XX:ArchiveClassesAtExit='))
    open(dump.split('=', 1)[1], 'wb').write(b'archive')
    again.finish(143)  # SIGTERM: the JVM exits normally and writes it
    used = dynamodb_cds.prepare(java, folder)
    assert any(a.startswith('-XX:SharedArchiveFile=') for a in used.jvm_args)
    assert not any(a.startswith('-XX:ArchiveClassesAtExit=') for a in used.jvm_args)


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
    library = dynamodb_cds.Path(path) / 'libsqlite4java.so'
    assert library.read_bytes() == b'\x7fELF-x86'
    library.write_bytes(b'kept')  # extracted once: a later start does not rewrite it
    dynamodb_cds.prepare(java, folder)
    assert library.read_bytes() == b'kept'
