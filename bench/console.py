"""Console pages rendered server-side: median and p90 milliseconds per page, beside the 50 ms
budget, on the demo data set (local/console/demo.py) in an in-memory DynamoDB Local: once
with the store's read cache on, as `make run` serves the console, and once with it off (every
read a DynamoDB Local request), side by side.

    python -m bench.console

Measured at the mount function (local/console: routing, the operations' reads, Jinja2), so
the figure is the server's share of a page view, without the browser. Besides the demo's
pages: the applications list holding a full page (50) and an application page with the most
environments an application can have (20), each with a deployment (one ListDeployments
each). Runs in a child process: the store reads its endpoint at import.
"""

import os
import statistics
import subprocess
import sys
import time
from urllib.parse import parse_qs

from bench.common import ROOT

BUDGET_MS = 50


def _crowd():
    """50 applications, one of them with 20 environments that each had a deployment."""
    from local.console.api import call
    from local.console.web import url

    for n in range(49):
        call('CreateApplication', Name=f'app-{n:02d}')
    app = call('CreateApplication', Name='crowded')['Id']
    profile = call('CreateConfigurationProfile', ApplicationId=app, Name='p', LocationUri='hosted')[
        'Id'
    ]
    call(
        'CreateHostedConfigurationVersion',
        ApplicationId=app,
        ConfigurationProfileId=profile,
        Content=b'{}',
        ContentType='application/json',
    )
    for n in range(20):
        env = call('CreateEnvironment', ApplicationId=app, Name=f'env-{n:02d}')['Id']
        call(
            'StartDeployment',
            ApplicationId=app,
            EnvironmentId=env,
            ConfigurationProfileId=profile,
            ConfigurationVersion='1',
            DeploymentStrategyId='AppConfig.Linear50PercentEvery30Seconds',
        )
    return {'applications (50)': url(), 'application (20 environments)': url('applications', app)}


def _measure(view, n, warmup=50):
    """Median and p90 wall milliseconds, and median CPU milliseconds of this process (the
    console's own work, whatever else the machine is running)."""
    for _ in range(warmup):
        view()
    walls, cpus = [], []
    for _ in range(n):
        wall, cpu = time.perf_counter(), time.process_time()
        view()
        cpus.append((time.process_time() - cpu) * 1000)
        walls.append((time.perf_counter() - wall) * 1000)
    walls.sort()
    return statistics.median(walls), walls[int(len(walls) * 0.9)], statistics.median(cpus)


def _child(n):
    from local.console import demo

    with demo.store():
        pages = demo.build()
        pages.update(_crowd())
        from local import console

        headers = {'Host': '127.0.0.1:8000'}
        print(
            f'  {"page":34} {"median ms":>9} {"p90 ms":>8} {"CPU ms":>7}  (budget {BUDGET_MS} ms)'
        )
        worst = 0.0
        for name, target in pages.items():
            path, _, query = target.partition('?')
            params = parse_qs(query)

            def view():
                status, _, _ = console.mount('GET', path, params, headers, b'')
                assert status == 200, (name, status)

            median, p90, cpu = _measure(view, n)
            worst = max(worst, median)
            print(
                f'  {name:34} {median:9.1f} {p90:8.1f} {cpu:7.1f}  '
                f'{"ok" if median < BUDGET_MS else "OVER"}',
                flush=True,
            )
        print(
            f'  slowest median {worst:.1f} ms: {"within" if worst < BUDGET_MS else "over"} '
            f'the {BUDGET_MS} ms budget (load average {os.getloadavg()[0]:.1f} on '
            f'{os.cpu_count()} cores)'
        )


def run(n=100):
    for label, cache in (
        ('read cache on, as make run has it', 'on'),
        ('read cache off: every read from DynamoDB Local', 'off'),
    ):
        print(f'  -- {label}', flush=True)
        env = {**os.environ, 'PYTHONPATH': str(ROOT), 'APPCONFIG_STORE_CACHE': cache}
        subprocess.run(
            [sys.executable, '-m', 'bench.console', 'child', str(n)], cwd=ROOT, env=env, check=True
        )


if __name__ == '__main__':
    if sys.argv[1:2] == ['child']:
        _child(int(sys.argv[2]))
    else:
        run()
