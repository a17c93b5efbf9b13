"""The browser console of the local runner, served under /console/ as a mount.

A thin adapter over the operations the API runs (``api.call``): server-rendered Jinja2 pages,
a little plain JavaScript that refreshes the live parts as HTML fragments, no build step and
nothing fetched from elsewhere. It exists only in the local runner (local/ is never packaged
into the Lambda functions, and app.py routes no /console path).
"""

from local.console import (  # noqa: F401 - they register their routes
    checks,
    clockpanel,
    deployments,
    evaluate,
    flag_editor,
    pages,
    versions,
    web,
)

PREFIX = web.PREFIX


def mount(method, path, query, headers, body):
    """The mount function (local/server.py): ``(status, headers, body)``."""
    return web.dispatch(method, path, query, headers, body)
