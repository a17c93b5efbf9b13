"""The console exists only in the local runner: the Chalice app (what Lambda runs) routes no
/console path, and app.py does not import it."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_chalice_app_has_no_console_route():
    from app import app

    assert app.routes, 'the app should route the API'
    assert not [path for path in app.routes if path.split('/')[1:2] == ['console']]


def test_nothing_packaged_imports_the_console():
    for source in [ROOT / 'app.py', *(ROOT / 'chalicelib').rglob('*.py')]:
        for node in ast.walk(ast.parse(source.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or '']
                if isinstance(node, ast.ImportFrom)
                else []
            )
            assert not [n for n in names if n.startswith('local')], source
