"""The Agent listener: chalicelib.agent.answer served on its own port (default 2772).

One small HTTP/1.1 server with keep-alive and TCP_NODELAY (as local/server.py for the API),
in the same process as the API, so it reads the same state and in-process caches. Repeated
request headers reach ``answer`` as lists (the Agent's ``Context`` may be repeated).
"""

import socket
import threading
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs

from local.server import Server

DEFAULT_PORT = 2772


class Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'  # keep-alive

    def setup(self):
        super().setup()
        # The status line and headers, then the body: two writes, which Nagle would delay.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _handle(self):
        path, _, query = self.path.partition('?')
        headers = {}
        for name, value in self.headers.items():
            headers.setdefault(name, []).append(value)
        length = int(self.headers.get('Content-Length') or 0)
        body = self.rfile.read(length) if length > 0 else b''
        status, out, payload = self.server.answer(
            self.command, path, parse_qs(query), headers, body
        )
        self.send_response(status)
        for name, value in out.items():
            self.send_header(name, value)
        self.send_header('Content-Length', str(len(payload)))
        self.end_headers()
        if self.command != 'HEAD':
            self.wfile.write(payload)

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = do_OPTIONS = _handle

    def log_message(self, format, *args):
        pass


def make_server(host='127.0.0.1', port=DEFAULT_PORT, answer=None):
    """A server for ``answer`` (default chalicelib.agent.answer); port 0 picks a free one."""
    if answer is None:
        from chalicelib.agent import answer
    server = Server((host, port), Handler)
    server.answer = answer
    server.port = server.server_address[1]
    return server


def serve_in_thread(host='127.0.0.1', port=0, answer=None):
    server = make_server(host, port, answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
