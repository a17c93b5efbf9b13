"""Local-only mounts answer their prefix before Chalice; everything else reaches the app."""

import http.client
import json

from local.server import serve_in_thread


def _echo(method, path, query, headers, body):
    payload = json.dumps(
        {'method': method, 'path': path, 'query': query, 'body': body.decode()}
    ).encode()
    return 200, {'Content-Type': 'application/json'}, payload


def test_mount_answers_its_prefix_and_the_app_the_rest():
    from app import app

    server = serve_in_thread(app, mounts=[('/_probe', _echo)])
    try:
        conn = http.client.HTTPConnection('127.0.0.1', server.port, timeout=5)
        conn.request('POST', '/_probe/x?a=1&a=2', body=b'hi')
        response = conn.getresponse()
        assert response.status == 200
        assert json.loads(response.read()) == {
            'method': 'POST',
            'path': '/_probe/x',
            'query': {'a': ['1', '2']},
            'body': 'hi',
        }
        # Any method reaches the mount, which decides what it serves.
        conn.request('PROPFIND', '/_probe')
        response = conn.getresponse()
        assert response.status == 200
        assert json.loads(response.read())['method'] == 'PROPFIND'
        # A path that only shares the prefix's letters is not the mount's.
        conn.request('GET', '/_probex')
        response = conn.getresponse()
        assert response.status == 404
        assert response.getheader('x-amzn-ErrorType') == 'UnknownOperationException'
        response.read()
    finally:
        server.shutdown()


def test_every_answer_carries_the_date_of_its_second(monkeypatch):
    import email.utils
    import time

    from app import app

    clock = [1_800_000_000.2]
    monkeypatch.setattr(time, 'time', lambda: clock[0])
    server = serve_in_thread(app, mounts=[('/_probe', _echo)])
    try:
        conn = http.client.HTTPConnection('127.0.0.1', server.port, timeout=5)
        dates = []
        for now in (1_800_000_000.2, 1_800_000_000.9, 1_800_000_001.0, 1_800_003_600.5):
            clock[0] = now
            conn.request('GET', '/_probe')
            response = conn.getresponse()
            response.read()
            dates.append(email.utils.parsedate_to_datetime(response.getheader('Date')))
        assert [d.timestamp() for d in dates] == [
            1_800_000_000,
            1_800_000_000,
            1_800_000_001,
            1_800_003_600,
        ]
    finally:
        server.shutdown()


def test_the_indexed_route_matcher_answers_as_chalices_does():
    import re

    from chalice.local import RouteMatcher

    from app import app
    from local.server import Routes

    ours, theirs = Routes(list(app.routes)), RouteMatcher(list(app.routes))
    urls = ['/', '/applications/', '/applications?next_token=a%3Db&max_results=', '/nowhere/x']
    for route in app.routes:
        concrete = re.sub(r'\{(\w+)\}', lambda m: f'v-{m.group(1)}', route)
        urls += [concrete, concrete + '/', concrete + '?a=1&a=2&b=']
    assert len(urls) > 90  # every route, three ways
    for url in urls:
        try:
            expected = theirs.match_route(url)
        except ValueError:
            try:
                ours.match_route(url)
            except ValueError:
                continue
            raise AssertionError(f'{url} matched, but not by chalice') from None
        got = ours.match_route(url)
        assert (got.route, got.query_params) == (expected.route, expected.query_params), url
        names = re.findall(r'\{(\w+)\}', got.route)
        assert got.captured == {n: expected.captured[n] for n in names}, url
