"""The local HTTP server: Chalice's local gateway, tuned for keep-alive SDK clients.

Used by the local runner and by the API tests, which start it in-process on a free port.
Local-only endpoints outside the AWS API's paths (the clock control, the console) are
*mounts*: a path prefix and a plain function ``(method, path, query, headers, body) ->
(status, headers, body)``, answered before Chalice sees the request. They exist only on this
server, never on the deployed stage, because only this module serves them.
"""
import json
import socket
import sys
import threading
import uuid
from urllib.parse import parse_qs

from chalice.config import Config
from chalice.local import (ChaliceRequestHandler, CustomLocalChalice, ForbiddenError,
                           LocalChalice, LocalDevServer, ThreadedHTTPServer)


class Handler(ChaliceRequestHandler):
    def _generic_handle(self):
        path, _, query = self.path.partition('?')
        for prefix, mount in self.server.mounts:
            if path == prefix or path.startswith(prefix + '/'):
                headers, body = self._parse_payload()
                status, out, payload = mount(self.command, path, parse_qs(query),
                                             headers, body or b'')
                self._send_http_response(status, dict(out), payload)
                return
        super()._generic_handle()

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = do_OPTIONS = _generic_handle

    def setup(self):
        super().setup()
        # Without this, keep-alive clients (boto3) wait ~40 ms per request: the response
        # goes out in two writes and Nagle holds the second until the client's delayed ACK.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format, *args):
        pass

    def _send_error_response(self, error):
        if isinstance(error, ForbiddenError):
            # No route matched: answer as an unknown operation, in JSON.
            body = json.dumps({'Message': f'No operation matches {self.command} '
                               f'{self.path.split("?")[0]}'}).encode()
            self._send_http_response(404, {
                'Content-Type': 'application/json',
                'x-amzn-ErrorType': 'UnknownOperationException',
                'x-amzn-RequestId': str(uuid.uuid4())}, body)
            return
        super()._send_error_response(error)


class Server(ThreadedHTTPServer):
    mounts = ()

    def handle_error(self, request, client_address):
        # A client that drops its keep-alive connection is routine, not a server error.
        if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            return
        super().handle_error(request, client_address)


def make_server(app, host='127.0.0.1', port=0, mounts=()):
    """A LocalDevServer for the Chalice ``app``; port 0 picks a free one (see ``.port``).

    ``mounts``: ``(prefix, function)`` pairs answered before the app (see the docstring)."""
    if not isinstance(app, LocalChalice):
        # As `chalice local` does: per-thread current_request for the threaded server.
        CustomLocalChalice.__bases__ = (LocalChalice, app.__class__)
        app.__class__ = CustomLocalChalice
    config = Config.create(chalice_stage='local', app_name='appconfig', lambda_timeout=900,
                           lambda_memory_size=128)
    server = LocalDevServer(app, config, host, port, handler_cls=Handler, server_cls=Server)
    server.server.mounts = tuple(mounts)
    server.port = server.server.server_address[1]
    return server


def serve_in_thread(app, host='127.0.0.1', port=0, mounts=()):
    server = make_server(app, host, port, mounts)
    thread = threading.Thread(target=server.server.serve_forever, daemon=True)
    thread.start()
    return server
