"""The local runner: DynamoDB Local, the tables, the API on 127.0.0.1 and the ticker.

    python -m local.run        (what `make run` starts)

Environment: PORT (8000), APPCONFIG_DATA_DIR (.data), APPCONFIG_TIME_SCALE (1),
APPCONFIG_TICK_SECONDS (1). With AWS_ENDPOINT_URL_DYNAMODB set, that DynamoDB is used and
none is started. Ctrl-C stops everything this process started.
"""
import logging
import os
import signal
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
log = logging.getLogger('appconfig.local')


def _aws_defaults():
    # DynamoDB Local accepts any credentials; a user's real profile must never be needed.
    for name, value in (('AWS_ACCESS_KEY_ID', 'local'), ('AWS_SECRET_ACCESS_KEY', 'local'),
                        ('AWS_DEFAULT_REGION', 'us-east-1')):
        os.environ.setdefault(name, value)
    os.environ.setdefault('AWS_REGION', os.environ['AWS_DEFAULT_REGION'])


def _ticker(stop, seconds):
    from chalicelib.engine import tick
    while not stop.wait(seconds):
        try:
            tick.run()
        except Exception:  # noqa: BLE001 - one bad tick must not stop the next
            log.exception('tick failed')


def _interrupt(*_):
    # SIGTERM (kill, process managers) stops as cleanly as Ctrl-C.
    raise KeyboardInterrupt


def main():
    logging.basicConfig(level=os.environ.get('LOG_LEVEL', 'INFO'),
                        format='%(asctime)s %(levelname)s %(name)s: %(message)s')
    _aws_defaults()
    port = int(os.environ.get('PORT', '8000'))
    data_dir = Path(os.environ.get('APPCONFIG_DATA_DIR', ROOT / '.data'))
    dynamodb = None
    if not os.environ.get('AWS_ENDPOINT_URL_DYNAMODB'):
        from local import dynamodb as ddb
        dynamodb = ddb.start(data_dir=data_dir / 'dynamodb')
        os.environ['AWS_ENDPOINT_URL_DYNAMODB'] = dynamodb.endpoint
        log.info('DynamoDB Local on %s, data in %s', dynamodb.endpoint, data_dir / 'dynamodb')

    # The store reads its endpoint at import, so the app is imported only now.
    from app import app
    from chalicelib.store.tables import create_all
    from local import console
    from local.server import make_server
    create_all()
    server = make_server(app, '127.0.0.1', port, mounts=[(console.PREFIX, console.mount)])
    stop = threading.Event()
    seconds = float(os.environ.get('APPCONFIG_TICK_SECONDS', '1'))
    threading.Thread(target=_ticker, args=(stop, seconds), daemon=True).start()
    signal.signal(signal.SIGTERM, _interrupt)
    print(f'AppConfig API on http://127.0.0.1:{server.port}', flush=True)
    print(f'Console on http://127.0.0.1:{server.port}{console.PREFIX}/', flush=True)
    try:
        server.server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        server.server.server_close()
        if dynamodb is not None:
            dynamodb.stop()
    return 0


if __name__ == '__main__':
    sys.exit(main())
