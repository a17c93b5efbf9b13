"""`make screenshots`: PNGs of the console for the README, in local/console/screenshots/.

    python -m local.console.screenshots

Builds the demo data set (demo.py: DynamoDB Local in memory, the clock frozen mid-rollout),
serves the console on a free port and photographs the pages in Debian's headless Chromium
(APPCONFIG_CHROMIUM to use another binary).
"""

import os
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent / 'screenshots'
SHOTS = (
    ('deployment', 'deployment.png', 1280),
    ('flag editor', 'flag-editor.png', 1280),
    ('application', 'application.png', 1280),
    ('deployment', 'deployment-phone.png', 390),
)


def main():
    from local.console import demo

    with demo.store():
        from playwright.sync_api import sync_playwright

        from app import app
        from local import console
        from local.server import serve_in_thread

        pages = demo.build()
        server = serve_in_thread(app, mounts=[(console.PREFIX, console.mount)])
        base = f'http://127.0.0.1:{server.port}'
        OUT.mkdir(exist_ok=True)
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=os.environ.get('APPCONFIG_CHROMIUM', '/usr/bin/chromium')
                )
                for page_name, file_name, width in SHOTS:
                    page = browser.new_page(
                        viewport={'width': width, 'height': 900}, device_scale_factor=1
                    )
                    page.goto(base + pages[page_name])
                    page.screenshot(path=str(OUT / file_name), full_page=True)
                    page.close()
                    print(OUT / file_name)
                browser.close()
        finally:
            server.shutdown()
    return 0


if __name__ == '__main__':
    sys.exit(main())
