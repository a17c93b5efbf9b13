"""Client-side helpers for calling a deployed copy of this service. They need botocore only,
not the app: copy a module into your own project or put this folder on ``PYTHONPATH``."""
