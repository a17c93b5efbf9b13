"""`make bench`: every benchmark the README quotes, one after the other."""
import importlib
import importlib.util

for name in ('compare', 'poll', 'tick', 'rules', 'console'):
    module = f'bench.{name}'
    if importlib.util.find_spec(module) is None:
        continue
    print(f'== {name} ==', flush=True)
    importlib.import_module(module).run()
