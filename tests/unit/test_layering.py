"""The layering rule, held by reading the source (ast), not by importing it:

    wire -> ops -> engine -> store -> support

A module may import its own layer and the layers below, never one above; no module uses
another module's ``_private`` names; the import graph of chalicelib/ has no cycle
(function-local imports count); a function-local import says why in a comment on its line or
above its block of imports (they exist only to keep start-up cheap); and every operation of the
two botocore
models resolves to exactly one function in chalicelib/ops.

A new module must be given a layer in LAYERS; the README's "Layout" section explains them.
"""

import ast
import re
from pathlib import Path

import pytest
from botocore.loaders import create_loader

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / 'chalicelib'

# Layer of each module, by longest matching dotted prefix (without "chalicelib.").
#   wire:    the protocol and the thin adapters beside it (observability, the
#            Agent-compatible endpoint);
#   ops:     one function per API operation;
#   engine:  deployments, delivery, extensions;
#   store:   PynamoDB models and writes, and what keeps its secrets in the store (the
#            envelope encryption of content, the signed session tokens);
#   support: no I/O of the service's own state: the clock, errors, ARNs, roles, constants,
#            the cache, feature-flag documents and rules, external configuration sources,
#            request authentication (auth.py imports nothing of the project; app.py and
#            sources.py use it).
WIRE, OPS, ENGINE, STORE, SUPPORT = 5, 4, 3, 2, 1
NAMES = {WIRE: 'wire', OPS: 'ops', ENGINE: 'engine', STORE: 'store', SUPPORT: 'support'}
LAYERS = {
    'wire': WIRE,
    'observability': WIRE,
    'agent': WIRE,
    'ops': OPS,
    'engine': ENGINE,
    'store': STORE,
    'crypto': STORE,
    'tokens': STORE,
    'clock': SUPPORT,
    'errors': SUPPORT,
    'arns': SUPPORT,
    'roles': SUPPORT,
    'constants': SUPPORT,
    'cache': SUPPORT,
    'flags': SUPPORT,
    'flags_ion': SUPPORT,
    'rules': SUPPORT,
    'treatments': SUPPORT,
    'sources': SUPPORT,
    'auth': SUPPORT,
}


def _modules():
    found = {}
    for path in sorted(PACKAGE.rglob('*.py')):
        parts = list(path.relative_to(ROOT).with_suffix('').parts)
        if parts[-1] == '__init__':
            parts = parts[:-1]
        found['.'.join(parts)] = path
    return found


MODULES = _modules()
TREES = {name: ast.parse(path.read_text(), str(path)) for name, path in MODULES.items()}


def layer(module):
    parts = module.split('.')[1:]
    for n in range(len(parts), 0, -1):
        found = LAYERS.get('.'.join(parts[:n]))
        if found:
            return found
    return None


def _is_package(module):
    return MODULES.get(module, Path()).name == '__init__.py'


def _imports(module, tree):
    """(line, imported chalicelib module, names imported from it, function-local?) for
    every import statement of ``module``."""
    local = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            local.update(
                id(n) for n in ast.walk(node) if isinstance(n, (ast.Import, ast.ImportFrom))
            )
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split('.')[0] == 'chalicelib':
                    yield node.lineno, alias.name, [], id(node) in local
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ''
            if node.level:
                package = module if _is_package(module) else module.rsplit('.', 1)[0]
                package = '.'.join(package.split('.')[: len(package.split('.')) - node.level + 1])
                base = f'{package}.{base}' if base else package
            if base.split('.')[0] != 'chalicelib':
                continue
            submodules = [a.name for a in node.names if f'{base}.{a.name}' in MODULES]
            names = [a.name for a in node.names if f'{base}.{a.name}' not in MODULES]
            for sub in submodules:
                yield node.lineno, f'{base}.{sub}', [], id(node) in local
            if names or not submodules:
                yield node.lineno, base, names, id(node) in local


IMPORTS = {m: list(_imports(m, t)) for m, t in TREES.items()}


def test_every_module_has_a_layer():
    assert [m for m in MODULES if m != 'chalicelib' and layer(m) is None] == []


def test_nothing_imports_upward():
    upward = [
        f'{MODULES[m].relative_to(ROOT)}:{line}: {NAMES[layer(m)]} imports {target} '
        f'({NAMES[layer(target)]})'
        for m, found in IMPORTS.items()
        if layer(m)
        for line, target, _, _ in found
        if target != 'chalicelib' and layer(target) and layer(target) > layer(m)
    ]
    assert upward == []


def test_no_private_names_of_other_modules():
    used = []
    for m, tree in TREES.items():
        aliases = {}  # local name -> chalicelib module it is bound to
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                for line, target, names, _ in _imports(m, ast.Module([node], [])):
                    for name in names:
                        if name.startswith('_') and target != m:
                            used.append(f'{m}:{line}: from {target} import {name}')
                    if not names:
                        alias = next(a for a in node.names if target.endswith('.' + a.name))
                        aliases[alias.asname or alias.name] = target
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname and alias.name.startswith('chalicelib.'):
                        aliases[alias.asname] = alias.name
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in aliases
                and node.attr.startswith('_')
                and not node.attr.startswith('__')
            ):
                used.append(f'{m}:{node.lineno}: {aliases[node.value.id]}.{node.attr}')
    assert used == []


def _cycles(graph):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_import_graph_has_no_cycle():
    graph = {
        m: sorted({t for _, t, _, _ in found if t != m and t in MODULES})
        for m, found in IMPORTS.items()
    }
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_cycles():
    assert _cycles({'a': ['b'], 'b': ['c'], 'c': ['a'], 'd': ['a']}) == [['a', 'b', 'c']]
    assert _cycles({'a': ['b'], 'b': []}) == []


def test_function_local_imports_say_why():
    silent = []
    for m, tree in TREES.items():
        lines = MODULES[m].read_text().splitlines()
        for function in ast.walk(tree):
            if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(function):
                if isinstance(node, (ast.Import, ast.ImportFrom)):
                    here = lines[node.lineno - 1]
                    # The comment may stand above a block of imports, or on its first line.
                    above = node.lineno - 1
                    while above > 0 and lines[above - 1].strip().startswith(('from ', 'import ')):
                        above -= 1
                    block = lines[above : node.lineno]
                    if not any('#' in line for line in block) and not (
                        above > 0 and lines[above - 1].strip().startswith('#')
                    ):
                        silent.append(
                            f'{MODULES[m].relative_to(ROOT)}:{node.lineno}: {here.strip()}'
                        )
    assert silent == []


def _snake(name):
    return re.sub(r'(?<!^)(?=[A-Z])', '_', name).lower()


def _operation_names():
    loader = create_loader()
    for service, version in (('appconfig', '2019-10-09'), ('appconfigdata', '2021-11-11')):
        yield from loader.load_service_model(service, 'service-2', version)['operations']


def _ops_modules():
    """MODULES of chalicelib/ops/__init__.py, read from its source."""
    for node in TREES['chalicelib.ops'].body:
        if isinstance(node, ast.Assign) and any(
            getattr(t, 'id', None) == 'MODULES' for t in node.targets
        ):
            return ast.literal_eval(node.value)
    raise AssertionError('chalicelib/ops/__init__.py defines no MODULES')


def test_every_operation_resolves_to_exactly_one_function():
    defined = {}
    for module in _ops_modules():
        for node in TREES[f'chalicelib.ops.{module}'].body:
            if isinstance(node, ast.FunctionDef):
                defined.setdefault(node.name, []).append(module)
    wrong = {
        op: defined.get(_snake(op), [])
        for op in _operation_names()
        if len(defined.get(_snake(op), [])) != 1
    }
    assert wrong == {}


@pytest.mark.parametrize(
    'module, expected',
    [
        ('chalicelib.wire.handler', WIRE),
        ('chalicelib.ops.deployments', OPS),
        ('chalicelib.engine.extensions.points', ENGINE),
        ('chalicelib.store.tx', STORE),
        ('chalicelib.crypto', STORE),
        ('chalicelib.clock', SUPPORT),
    ],
)
def test_layers_are_found_by_prefix(module, expected):
    assert layer(module) == expected
