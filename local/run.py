"""The local runner: DynamoDB Local, the tables, the API on 127.0.0.1 and the ticker.

    python -m local.run        (what `make run` starts)

Environment: PORT (8000), APPCONFIG_AGENT_PORT (2772, the AppConfig Agent's HTTP API; 0 turns
it off), APPCONFIG_AGENT_ACCESS_TOKEN (unset: no token needed), APPCONFIG_DATA_DIR (.data),
APPCONFIG_TIME_SCALE (1), APPCONFIG_TICK_SECONDS (1), APPCONFIG_CLOCK (manual | real; unset:
as stored, else real), APPCONFIG_CLOCK_START (ISO-8601: where a clock not stored yet starts).
With AWS_ENDPOINT_URL_DYNAMODB set, that DynamoDB is used and none is started. Ctrl-C stops
everything this process started.

The DynamoDB Local it starts is supervised (local.dynamodb.Supervisor): when it dies it is
restarted on the same data dir and port, and the API answers InternalServerException until it
is back; after repeated failures within a minute the runner gives up and exits 1.

Start-up (README, "Performance"): the JVM is launched first; the app, the console and the
store's client are made in a thread while it starts; a data dir without a database gets the
copy of the bare tables (local/dynamodb_template.py), or has its tables created and then
copied for the next one; the clock is read beside the one ListTables.

The clock is kept in the store (store/clock.py) and controlled at /_appconfig/clock
(local/clockctl.py). The ticker runs only while time passes by itself; a paused clock moves
only through the control, which ticks every instant it passes over.
"""

import logging
import os
import signal
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Not under 'appconfig': Chalice sets that logger (the app's) to ERROR when the app is imported.
log = logging.getLogger('local.run')


def _aws_defaults():
    # DynamoDB Local accepts any credentials; a user's real profile must never be needed.
    for name, value in (
        ('AWS_ACCESS_KEY_ID', 'local'),
        ('AWS_SECRET_ACCESS_KEY', 'local'),
        ('AWS_DEFAULT_REGION', 'us-east-1'),
    ):
        os.environ.setdefault(name, value)
    os.environ.setdefault('AWS_REGION', os.environ['AWS_DEFAULT_REGION'])


def _ticker(stop, seconds):
    from chalicelib import clock
    from chalicelib.engine import tick

    failing = None
    while not stop.wait(seconds):
        try:
            clock.current()  # another process may have moved or paused it
            with clock.moving:  # never while a clock move catches up
                if clock.running():
                    tick.run()
        except Exception as error:  # noqa: BLE001 - one bad tick must not stop the next
            # The traceback once; while the same failure repeats (DynamoDB Local being
            # restarted, say) one line per tick.
            if repr(error) == failing:
                log.error('tick failed again: %r', error)
            else:
                log.exception('tick failed')
            failing = repr(error)
        else:
            if failing is not None:
                log.info('ticks succeed again')
            failing = None


def _import_app(done, launched):
    # Everything the runner serves with, imported while DynamoDB Local's JVM starts, then the
    # store's client (botocore loading DynamoDB's service model is ~70 ms). Only once the JVM
    # is launched: before that, this thread's imports would hold up the main thread's way to
    # the launch (the GIL), and the JVM's start is the longer of the two.
    try:
        if launched.wait(timeout=60):
            import local.server  # noqa: F401
            from app import app  # noqa: F401
            from chalicelib.store import connection, tables  # noqa: F401
            from local import agent_server, clockctl, console  # noqa: F401

            connection.connection().client  # noqa: B018 - made now, used later
    except Exception:  # noqa: BLE001 - the main thread imports and connects again, and says why
        log.debug('preparing in the background failed', exc_info=True)
    finally:
        done.set()


def _start_clock(empty=False):
    """Attach the stored clock, reconciled with APPCONFIG_CLOCK / _CLOCK_START / _TIME_SCALE
    (``empty``: the data dir was made by this start, so none is stored yet)."""
    from datetime import datetime

    from chalicelib import clock
    from chalicelib.store import clock as stored_clock

    mode = (os.environ.get('APPCONFIG_CLOCK') or '').strip().lower() or None
    start = os.environ.get('APPCONFIG_CLOCK_START') or None
    if start:
        start = datetime.fromisoformat(start.strip())
        if start.tzinfo is None:
            start = start.replace(tzinfo=UTC)
    speed = (
        float(os.environ['APPCONFIG_TIME_SCALE'])
        if os.environ.get('APPCONFIG_TIME_SCALE')
        else None
    )
    line = clock.use_store(stored_clock, mode=mode, start=start, speed=speed, empty=empty)
    state = clock.describe(line)
    print(
        f'Clock: {state["mode"]} at {state["now"]} (speed {state["speed"]}); '
        f'control at /_appconfig/clock',
        flush=True,
    )
    return line


def _interrupt(*_):
    # SIGTERM (kill, process managers) stops as cleanly as Ctrl-C.
    raise KeyboardInterrupt


def _give_up(why, gave_up):
    # From the supervisor's thread: the main thread stops as on SIGTERM, then exits 1.
    gave_up.append(why)
    os.kill(os.getpid(), signal.SIGTERM)


def main():
    logging.basicConfig(
        level=os.environ.get('LOG_LEVEL', 'INFO'),
        format='%(asctime)s %(levelname)s %(name)s: %(message)s',
    )
    _aws_defaults()
    signal.signal(signal.SIGTERM, _interrupt)
    port = int(os.environ.get('PORT', '8000'))
    data_dir = Path(os.environ.get('APPCONFIG_DATA_DIR', ROOT / '.data'))
    dynamodb = server = agent = None
    gave_up = []
    stop = threading.Event()
    imported, launched = threading.Event(), threading.Event()
    if os.environ.get('AWS_ENDPOINT_URL_DYNAMODB'):
        launched.set()
    # The store reads its endpoint and cache mode when first used, not at import.
    threading.Thread(target=_import_app, args=(imported, launched), daemon=True).start()

    def on_launch(endpoint):
        os.environ['AWS_ENDPOINT_URL_DYNAMODB'] = endpoint
        launched.set()

    keep_tables = None  # (db dir, key) when this start creates the tables of a fresh data dir
    fresh = False  # the data dir had no database before this start
    try:
        if not os.environ.get('AWS_ENDPOINT_URL_DYNAMODB'):
            from local import dynamodb as ddb
            from local import dynamodb_template as template

            db_dir = data_dir / 'dynamodb'
            tables_key = template.key(ddb.ensure_installed())
            fresh = not template.has_database(db_dir)
            if fresh and not template.seed(db_dir, tables_key):
                keep_tables = (db_dir, tables_key)
            # Supervised: a child that dies is restarted on the same data dir and port; a
            # crash loop stops the runner (exit 1) instead of answering 500s forever.
            os.environ.setdefault('APPCONFIG_STORE_CACHE', 'on')
            dynamodb = ddb.supervise(
                db_dir, on_give_up=lambda why: _give_up(why, gave_up), on_launch=on_launch
            )
            os.environ['AWS_ENDPOINT_URL_DYNAMODB'] = dynamodb.endpoint
            log.info('DynamoDB Local on %s, data in %s', dynamodb.endpoint, data_dir / 'dynamodb')

        imported.wait()
        from app import app
        from chalicelib.store import connection
        from chalicelib.store.tables import create_all
        from local import agent_server, clockctl, console
        from local.server import make_server

        if connection.connection().host != os.environ['AWS_ENDPOINT_URL_DYNAMODB']:
            connection.reset()  # made for a first launch whose port was taken
        connection.configure()
        with ThreadPoolExecutor(max_workers=1) as background:
            # The tables are there unless this start makes them: the clock is read meanwhile.
            early_clock = background.submit(_start_clock, fresh) if keep_tables is None else None
            create_all()
            if keep_tables is not None:  # before anything is written: a copy of bare tables
                template.save(*keep_tables)
            try:
                clock_ready = early_clock is not None and early_clock.result()
            except Exception:  # noqa: BLE001 - a table it needs was missing: read it again now
                clock_ready = False
        if not clock_ready:
            _start_clock(fresh and early_clock is None)
        server = make_server(
            app, '127.0.0.1', port, mounts=[clockctl.MOUNT, (console.PREFIX, console.mount)]
        )
        agent_port = int(os.environ.get('APPCONFIG_AGENT_PORT', agent_server.DEFAULT_PORT))
        if agent_port:
            agent = agent_server.make_server('127.0.0.1', agent_port)
            threading.Thread(target=agent.serve_forever, daemon=True).start()
        seconds = float(os.environ.get('APPCONFIG_TICK_SECONDS', '1'))
        threading.Thread(target=_ticker, args=(stop, seconds), daemon=True).start()
        print(f'AppConfig API on http://127.0.0.1:{server.port}', flush=True)
        print(f'Console on http://127.0.0.1:{server.port}{console.PREFIX}/', flush=True)
        if agent is not None:
            print(f'AppConfig Agent API on http://127.0.0.1:{agent.port}', flush=True)
        server.server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        # Stopping in order: a second signal (make passes SIGTERM on, a second Ctrl-C) must
        # not cut it short and leave DynamoDB Local to the parent-death signal.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        stop.set()
        if server is not None:
            server.server.server_close()
        if agent is not None:
            agent.shutdown()
            agent.server_close()
        if dynamodb is not None:
            dynamodb.stop()
    if gave_up:
        print(f'error: {gave_up[0]} The local runner stops.', file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
