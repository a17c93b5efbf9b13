"""The extension feature, below the operations that manage it (ops/extensions.py):

- ``catalog``: extension definitions, custom (stored) and AWS-authored (constants);
- ``bindings``: which associations cover an application, environment or profile (cached);
- ``targets``: where an action delivers, one deliverer per target kind from a table;
- ``points``: the action points, what each sends, and the record of every invocation.

Import order within the package follows that list (targets and catalog first); nothing here
imports chalicelib.ops.
"""
