"""The console's HTTP plumbing: requests, responses, routing, templates, the CSRF guard.

Every POST must carry the page's token (a hidden field, or the X-Console-Token header for
fetch) and, when the browser sends Origin or Sec-Fetch-Site, come from this origin; every
request must name a loopback Host, so a page on another site (or a DNS name rebound to
127.0.0.1) can neither drive the console nor read a page to learn the token. Templates are
compiled once per process with autoescape on. Cost: a regex match per route until one fits.
"""

import hmac
import json
import logging
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlsplit

import jinja2

from chalicelib.errors import ServiceError
from local.console import api

PREFIX = '/console'
HERE = Path(__file__).resolve().parent
TOKEN = secrets.token_urlsafe(32)
_LOOPBACK = ('127.0.0.1', 'localhost', '[::1]')
# Inline style attributes carry the progress bars' widths; nothing else inline is allowed.
_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; style-src-attr 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'"
)
log = logging.getLogger('appconfig.console')


class Refused(Exception):
    """A request the console will not serve (status, message)."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status, self.message = status, message


@dataclass
class Request:
    method: str
    path: str  # below PREFIX, e.g. /applications/abc1234
    query: dict
    headers: dict  # lower-case names
    body: bytes
    params: dict = field(default_factory=dict)
    _form: dict | None = None

    def arg(self, name, default=None):
        values = self.query.get(name)
        return values[-1] if values else default

    @property
    def form(self):
        if self._form is None:
            kind = self.headers.get('content-type', '')
            if kind.startswith('application/json'):
                doc = json.loads(self.body or b'{}')
                self._form = {k: [v] for k, v in doc.items()} if isinstance(doc, dict) else {}
            else:
                self._form = parse_qs(self.body.decode('utf-8', 'replace'), keep_blank_values=True)
        return self._form

    def field(self, name, default=''):
        values = self.form.get(name)
        return values[-1] if values else default

    def fields(self):
        """The form as one value per name (the last one sent)."""
        return {k: v[-1] for k, v in self.form.items()}


@dataclass
class Response:
    status: int
    headers: dict
    body: bytes


def html(text, status=200):
    return Response(status, {'Content-Type': 'text/html; charset=utf-8'}, text.encode())


def json_response(doc, status=200):
    return Response(
        status, {'Content-Type': 'application/json'}, json.dumps(doc, default=str).encode()
    )


def redirect(location):
    return Response(303, {'Location': location}, b'')


def url(*parts, **query):
    """An absolute console path: url('applications', app_id) -> /console/applications/abc."""
    path = PREFIX + '/' + '/'.join(quote(str(p), safe='') for p in parts)
    pairs = [(k, v) for k, v in query.items() if v not in (None, '')]
    if pairs:
        path += '?' + '&'.join(f'{quote(k)}={quote(str(v), safe="")}' for k, v in pairs)
    return path


# --- templates ---------------------------------------------------------------------------

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(HERE / 'templates'),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    auto_reload=False,
)
_env.globals.update(url=url, token=TOKEN)


def template_filter(function):
    _env.filters[function.__name__] = function
    return function


def template_global(function):
    _env.globals[function.__name__] = function
    return function


def render(name, status=200, **context):
    return html(_env.get_template(name).render(**context), status)


# --- routing ------------------------------------------------------------------------------

_routes = []


def route(method, pattern):
    """Register ``handler(request)`` for ``method`` and a path regex below PREFIX; named
    groups become ``request.params`` (percent-decoded)."""
    compiled = re.compile(pattern + r'\Z')

    def register(handler):
        _routes.append((method, compiled, handler))
        return handler

    return register


def _host_allowed(headers):
    host = headers.get('host', '')
    name = host.rsplit(':', 1)[0] if not host.endswith(']') else host
    return name in _LOOPBACK


def _same_origin(headers):
    site = headers.get('sec-fetch-site')
    if site is not None and site not in ('same-origin', 'none'):
        return False
    origin = headers.get('origin')
    if origin is not None:
        return urlsplit(origin).netloc == headers.get('host') and origin != 'null'
    return True


def _check_post(request):
    if not _same_origin(request.headers):
        raise Refused(
            403, 'Cross-site request refused: the console accepts changes only from its own pages.'
        )
    sent = request.headers.get('x-console-token') or request.field('_token')
    if not hmac.compare_digest(sent.encode(), TOKEN.encode()):
        raise Refused(
            403,
            'The form has expired or did not come from this console: reload '
            'the page and try again.',
        )


def _static(path):
    name = path[len('/static/') :]
    if name not in ('console.css', 'console.js'):
        return None
    kind = 'text/css' if name.endswith('.css') else 'text/javascript'
    return Response(
        200,
        {'Content-Type': f'{kind}; charset=utf-8', 'Cache-Control': 'no-cache'},
        (HERE / 'static' / name).read_bytes(),
    )


def dispatch(method, path, query, headers, body):
    """The mount: ``(status, headers, body)`` for one request under PREFIX."""
    headers = {k.lower(): v for k, v in headers.items()}
    path = path[len(PREFIX) :] or '/'
    try:
        if not _host_allowed(headers):
            raise Refused(403, 'The console answers only on a loopback address.')
        if path.startswith('/static/') and method in ('GET', 'HEAD'):
            response = _static(path)
            if response is None:
                raise Refused(404, 'No such file.')
        else:
            response = _route(Request(method, path, query, headers, body))
    except Refused as refused:
        # A page without the token: the request may come from someone who must not have it.
        response = render(
            'refused.html', refused.status, message=refused.message, code=refused.status
        )
    except ServiceError as error:  # a page's subject does not exist, or the like
        response = render('error.html', api.status(error), message=f'{error.code}: {error.message}')
    except Exception:  # noqa: BLE001 - a bug shows as a page, never kills the server
        log.exception('console %s %s failed', method, path)
        response = render(
            'error.html',
            500,
            message='The console hit an internal error; the server log has the details.',
        )
    out = {
        'Content-Security-Policy': _CSP,
        'X-Content-Type-Options': 'nosniff',
        'Referrer-Policy': 'same-origin',
        'Cache-Control': 'no-store',
        **response.headers,
    }
    if method == 'HEAD':
        return response.status, out, b''
    return response.status, out, response.body


def _route(request):
    allowed = False
    for method, pattern, handler in _routes:
        match = pattern.match(request.path)
        if match is None:
            continue
        if method != request.method and not (method == 'GET' and request.method == 'HEAD'):
            allowed = True
            continue
        request.params = {k: unquote(v) for k, v in match.groupdict().items()}
        if request.method == 'POST':
            _check_post(request)
        return handler(request)
    if allowed:
        raise Refused(405, f'{request.method} is not allowed here.')
    raise Refused(404, 'There is no console page at this address.')
