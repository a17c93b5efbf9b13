"""`make bench`: every benchmark the README quotes, one after the other (the kill experiment
bench/killed_writes.py takes minutes and runs on its own: see its docstring)."""

import importlib
import importlib.util

for name in ('compare', 'poll', 'tick', 'rules', 'console', 'durable', 'agent'):
    module = f'bench.{name}'
    if importlib.util.find_spec(module) is None:
        continue
    print(f'== {name} ==', flush=True)
    importlib.import_module(module).run()
