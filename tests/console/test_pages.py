"""Every kind of console page, as a browser shows it: no error, every control labelled, ids
unique, and nothing wider than a phone's screen but the tables' own scroll areas."""

import pytest

from local.console import demo

CHECK = """() => {
  const controls = [...document.querySelectorAll('input, select, textarea')]
    .filter(el => el.type !== 'hidden');
  const unlabelled = controls.filter(el => !(el.labels && el.labels.length) &&
    !el.getAttribute('aria-label')).map(el => el.name || el.id);
  const ids = [...document.querySelectorAll('[id]')].map(el => el.id);
  const duplicates = ids.filter((id, i) => ids.indexOf(id) !== i);
  const nameless = [...document.querySelectorAll('button, a')]
    .filter(el => !el.textContent.trim() && !el.getAttribute('aria-label'))
    .map(el => el.outerHTML.slice(0, 60));
  return {unlabelled, duplicates, nameless, h1: document.querySelectorAll('h1').length,
          alerts: document.querySelectorAll('[role=alert]').length,
          wide: document.documentElement.scrollWidth > window.innerWidth};
}"""


@pytest.fixture(scope='module')
def pages(console_url):
    return demo.build()


def test_every_page_is_labelled_and_fits(page, console_url, pages):
    origin = console_url[: -len('/console')]
    for name, path in pages.items():
        if name.endswith('live'):
            continue
        page.set_viewport_size({'width': 1280, 'height': 800})
        page.goto(origin + path)
        for width in (1280, 390):
            page.set_viewport_size({'width': width, 'height': 800})
            found = page.evaluate(CHECK)
            assert found == {
                'unlabelled': [],
                'duplicates': [],
                'nameless': [],
                'h1': 1,
                'alerts': 0,
                'wide': False,
            }, (name, width)
