"""The local HTTP server: Chalice's local gateway, tuned for keep-alive SDK clients.

Used by the local runner and by the API tests, which start it in-process on a free port.
Local-only endpoints outside the AWS API's paths (the clock control, the console) are
*mounts*: a path prefix and a plain function ``(method, path, query, headers, body) ->
(status, headers, body)``, answered before Chalice sees the request. They exist only on this
server, never on the deployed stage, because only this module serves them.

Every answer is JSON with ``x-amzn-ErrorType`` and ``x-amzn-RequestId``, whatever the
request: any method token reaches the app (which answers one no operation serves with
UnknownOperationException, OPTIONS included), and what the HTTP layer refuses before that
(a bad request line, more than 100 headers, a bad Content-Length) is answered as
BadRequestException with HTTP's own status. A HEAD answer carries no body.
"""

import json
import socket
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlparse

from chalice.config import Config
from chalice.local import (
    ChaliceRequestHandler,
    CustomLocalChalice,
    ForbiddenError,
    LocalChalice,
    LocalDevServer,
    LocalGateway,
    MatchResult,
    RouteMatcher,
    ThreadedHTTPServer,
)

from chalicelib.wire.handler import unknown_operation

_date = (0, '')  # (the second, its HTTP date): see Handler.date_time_string


class Routes(RouteMatcher):
    """Chalice's RouteMatcher with its routes indexed by their number of segments: a request
    is compared with the few routes of its length, in the same (sorted) order, rather than
    with every route, and with the captures of that route alone."""

    def __init__(self, route_urls):
        super().__init__(route_urls)
        self._by_length = {}
        for url in self.route_urls:
            parts = url.split('/')
            pattern = tuple(
                (part[1:-1] if part.startswith('{') and part.endswith('}') else None, part)
                for part in parts
            )
            self._by_length.setdefault(len(parts), []).append((url, pattern))

    def match_route(self, url):
        parsed = urlparse(url)
        path = parsed.path
        # As API Gateway: a trailing slash is dropped, except from the root.
        if path != '/' and path.endswith('/'):
            path = path[:-1]
        parts = path.split('/')
        for route_url, pattern in self._by_length.get(len(parts), ()):
            captured = {}
            for part, (name, literal) in zip(parts, pattern):
                if name is not None:
                    captured[name] = part
                elif part != literal:
                    break
            else:
                query = parse_qs(parsed.query, keep_blank_values=True)
                return MatchResult(route_url, captured, query)
        raise ValueError(f'No matching route found for: {url}')


_routes = {}  # id(app) -> (app, Routes): built once, not per connection


def _routes_of(app):
    known = _routes.get(id(app))
    if known is None or known[0] is not app:
        known = _routes[id(app)] = (app, Routes(list(app.routes)))
    return known[1]


class Gateway(LocalGateway):
    def __init__(self, app_object, config):
        super().__init__(app_object, config)
        self.event_converter._route_matcher = _routes_of(app_object)

    def _has_user_defined_options_method(self, lambda_event):
        # Chalice local answers OPTIONS itself (CORS preflight); the app has no CORS, so the
        # app answers it, as an unknown operation.
        return True


class Handler(ChaliceRequestHandler):
    def __init__(self, request, client_address, server, app_object, config):
        self.local_gateway = Gateway(app_object, config)
        BaseHTTPRequestHandler.__init__(self, request, client_address, server)

    def _generic_handle(self):
        path, _, query = self.path.partition('?')
        try:
            int(self.headers.get('content-length') or 0)
        except ValueError:
            self.send_error(400, 'The Content-Length header is not a number')
            return
        for prefix, mount in self.server.mounts:
            if path == prefix or path.startswith(prefix + '/'):
                headers, body = self._parse_payload()
                status, out, payload = mount(
                    self.command, path, parse_qs(query), headers, body or b''
                )
                self._send_http_response(status, dict(out), payload)
                return
        super()._generic_handle()

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = do_PATCH = do_OPTIONS = _generic_handle

    def __getattr__(self, name):
        # http.server looks up do_<METHOD> and answers an HTML 501 when there is none:
        # every method token goes to the app instead, which knows which ones it serves.
        if name.startswith('do_'):
            return self._generic_handle
        raise AttributeError(name)

    def send_error(self, code, message=None, explain=None):
        # What http.server refuses itself (request line, header count and size), in JSON.
        body = json.dumps({'Message': message or self.responses.get(code, ('',))[0]}).encode()
        # A request line too broken to name its version would get a bare body (HTTP/0.9).
        if self.request_version == 'HTTP/0.9':
            self.request_version = self.protocol_version
        self.log_error('code %d, message %s', code, message)
        self.send_response(code)
        self.send_header('Content-Type', 'application/json')
        self.send_header(
            'x-amzn-ErrorType', 'BadRequestException' if code < 500 else 'InternalServerException'
        )
        self.send_header('x-amzn-RequestId', str(uuid.uuid4()))
        self.send_header('Content-Length', str(len(body)))
        self.send_header('Connection', 'close')
        self.close_connection = True
        self.end_headers()
        if self.command != 'HEAD':
            self.wfile.write(body)

    def _send_http_response_with_body(self, code, headers, body):
        # HEAD: the headers a GET would get, no body (keep-alive clients read none).
        body = body if isinstance(body, bytes) else body.encode('utf-8')
        self.send_response(code)
        self.send_header('Content-Length', str(len(body)))
        self.send_header('Content-Type', headers.pop('Content-Type', 'application/json'))
        if self.command == 'HEAD':
            self._send_headers(headers)
            return
        for name, value in headers.items():
            for one in value if isinstance(value, list) else (value,):
                self.send_header(name, one)
        # Headers and body in one write (one syscall, one segment) rather than two.
        self._headers_buffer.extend((b'\r\n', body))
        self.flush_headers()

    def setup(self):
        super().setup()
        # Without this, keep-alive clients (boto3) wait ~40 ms per request: the response
        # goes out in two writes and Nagle holds the second until the client's delayed ACK.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format, *args):
        pass

    def date_time_string(self, timestamp=None):
        # The Date header has whole seconds, and formatting it took half of send_response:
        # each second's text is made once.
        global _date
        if timestamp is not None:
            return super().date_time_string(timestamp)
        second = int(time.time())
        date = _date
        if date[0] != second:
            date = _date = (second, super().date_time_string(second))
        return date[1]

    def _send_error_response(self, error):
        if isinstance(error, ForbiddenError):
            # No route matched: answer as an unknown operation, in JSON.
            status, headers, body = unknown_operation(self.command, self.path.split('?')[0])
            self._send_http_response(status, headers, body)
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
    config = Config.create(
        chalice_stage='local', app_name='appconfig', lambda_timeout=900, lambda_memory_size=128
    )
    server = LocalDevServer(app, config, host, port, handler_cls=Handler, server_cls=Server)
    server.server.mounts = tuple(mounts)
    server.port = server.server.server_address[1]
    return server


def serve_in_thread(app, host='127.0.0.1', port=0, mounts=()):
    server = make_server(app, host, port, mounts)
    thread = threading.Thread(target=server.server.serve_forever, daemon=True)
    thread.start()
    return server
