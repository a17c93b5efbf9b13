"""Browser tier: the console in Debian's headless Chromium, driven by Playwright.

One browser per test session; the app with its console mount served in-process on a free
port, DynamoDB from moto, time from the project's clock (frozen, moved by the tests). The
tests of this tier share one xdist group, so one worker runs them all and one browser
starts.
"""

import os
from pathlib import Path

import pytest
from moto import mock_aws

from chalicelib import clock
from tests.moto_tables import create_tables

CHROMIUM = os.environ.get('APPCONFIG_CHROMIUM', '/usr/bin/chromium')


def pytest_collection_modifyitems(items):
    for item in items:
        if Path(str(item.fspath)).parent == Path(__file__).parent:
            item.add_marker(pytest.mark.xdist_group('browser'))


@pytest.fixture(scope='module')
def console_url():
    """The console's base URL, over a fresh moto account and a frozen clock."""
    from app import app
    from local import console
    from local.server import serve_in_thread

    with mock_aws():
        create_tables()
        clock.freeze()
        server = serve_in_thread(app, mounts=[(console.PREFIX, console.mount)])
        try:
            yield f'http://127.0.0.1:{server.port}{console.PREFIX}'
        finally:
            server.shutdown()
            server.server.server_close()
            clock.thaw()


@pytest.fixture(scope='session')
def browser():
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"{CHROMIUM} is missing: `make test` installs Debian's chromium package "
            f'(or set APPCONFIG_CHROMIUM to a Chromium binary).'
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, console_url):
    context = browser.new_context(viewport={'width': 1280, 'height': 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto(console_url + '/')
    yield page
    context.close()
