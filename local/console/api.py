"""The console's one way into the service: an AppConfig operation by name, in-process.

``call('StartDeployment', ApplicationId=..., ...)`` checks the parameters against the
operation's input shape, as the wire layer checks a parsed request, then runs the function
the wire dispatch runs (``ops.resolve``) with the same dict. So the console applies every rule
the API applies and no other; a ServiceError (chalicelib/errors.py) propagates for the page to
show as a message. Cost: the operation's own, plus a walk over the parameters.

A page that needs several independent reads runs them with ``together``, on a few threads:
each read waits on DynamoDB, so a page costs about its slowest read, not their sum.
"""

from concurrent.futures import ThreadPoolExecutor

from chalicelib import ops
from chalicelib.errors import NotImplementedException, ServiceError
from chalicelib.wire import validate
from chalicelib.wire.model import error_status, service


def call(operation, **params):
    params = {k: v for k, v in params.items() if v is not None}
    shape = service('appconfig').operation_model(operation).input_shape
    if shape is not None:
        validate.check(shape, params)
    function = ops.resolve(operation)
    if function is None:
        raise NotImplementedException(f'{operation} is not implemented by this server')
    return function(params)


def pages(operation, limit=None, **params):
    """Every item of a list operation (or the first ``limit``), following NextToken."""
    items, token = [], None
    while True:
        out = call(operation, MaxResults=50, NextToken=token, **params)
        items += out.get('Items') or []
        token = out.get('NextToken')
        if not token or (limit is not None and len(items) >= limit):
            return items[:limit] if limit is not None else items


_pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix='console-read')


def together(*thunks):
    """The results of the zero-argument functions ``thunks``, run concurrently, in order;
    the first one's error (in order) is raised once all have finished."""
    futures = [_pool.submit(thunk) for thunk in thunks]
    return [future.result() for future in futures]


def status(error: ServiceError):
    """The HTTP status the API answers for ``error``."""
    return error_status(error.code) or error.status
