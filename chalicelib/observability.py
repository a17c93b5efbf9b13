"""Structured logs and CloudWatch metrics on AWS, through Powertools.

One Chalice middleware sees every invocation, so neither the wire layer nor the operations
need to know about it:

- an HTTP request logs one JSON line (operation, status, error code, request ids, the
  resource ids in its path, milliseconds) and counts, as EMF metrics in the namespace
  ``AppConfig``: ``DeploymentsStarted``, ``DeploymentsStopped``, ``PollsServed``,
  ``ConfigurationsDelivered`` and ``Errors`` by ``ErrorCode``;
- the scheduled tick logs its summary and counts ``DeploymentsCompleted``,
  ``DeploymentsRolledBack``, ``TickErrors`` and ``ActiveDeployments``.

Every log record of the functions (the service's own ``logging.getLogger(__name__)``
included) is JSON and carries the current operation and request id.

It is on where Lambda runs the code (``AWS_LAMBDA_FUNCTION_NAME``) or when
``APPCONFIG_OBSERVABILITY=on``; elsewhere ``install`` adds nothing, so local runs and tests
print no EMF. Wire it with one line after the app is created::

    observability.install(app)
"""

import logging
import os
import time
from functools import lru_cache

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric

SERVICE = os.environ.get('POWERTOOLS_SERVICE_NAME') or 'appconfig'
NAMESPACE = os.environ.get('POWERTOOLS_METRICS_NAMESPACE') or 'AppConfig'

logger = Logger(service=SERVICE)
metrics = Metrics(service=SERVICE, namespace=NAMESPACE)

# Path labels worth a log key: the resource a request is about.
RESOURCE_LABELS = (
    'ApplicationId',
    'EnvironmentId',
    'ConfigurationProfileId',
    'DeploymentNumber',
    'VersionNumber',
    'DeploymentStrategyId',
    'ExtensionIdentifier',
    'ExtensionAssociationId',
    'ResourceArn',
    'ExperimentDefinitionIdentifier',
)
# Data-plane reads: every answered poll counts; one with content counts as a delivery.
POLLS = ('GetLatestConfiguration', 'GetConfiguration')
TICK_COUNTS = {
    'completed': 'DeploymentsCompleted',
    'rolled_back': 'DeploymentsRolledBack',
    'errors': 'TickErrors',
}

_installed = set()
_replaced = {}
_propagated = {}


def enabled():
    flag = (os.environ.get('APPCONFIG_OBSERVABILITY') or '').lower()
    if flag in ('off', '0', 'false'):
        return False
    return flag in ('on', '1', 'true') or bool(os.environ.get('AWS_LAMBDA_FUNCTION_NAME'))


def install(app, force=False):
    """Register the middleware on the Chalice ``app`` (once). Returns whether it did."""
    if id(app) in _installed or not (force or enabled()):
        return False
    _installed.add(id(app))
    _json_root_logging()
    # Chalice logs through logging.getLogger(app_name), the same logger as Powertools' (both
    # named 'appconfig'), with a plain-text handler of its own: keep only the JSON one.
    _replaced[id(app)] = [
        h
        for h in app.log.handlers
        if h is not logger.registered_handler and app.log.name == logger.service
    ]
    for handler in _replaced[id(app)]:
        app.log.removeHandler(handler)
    # ...and print each record once: not again through the root logger's handler.
    _propagated[id(app)] = logging.getLogger(logger.service).propagate
    logging.getLogger(logger.service).propagate = False
    app.register_middleware(middleware, 'all')
    return True


def uninstall(app):
    """Undo ``install`` (for tests that install on the shared app object)."""
    _installed.discard(id(app))
    for handler in _replaced.pop(id(app), []):
        app.log.addHandler(handler)
    logging.getLogger(logger.service).propagate = _propagated.pop(id(app), True)
    app.middleware_handlers[:] = [
        (f, kind) for f, kind in app.middleware_handlers if f is not middleware
    ]


def _json_root_logging():
    # The Lambda runtime's root handler writes plain text; give it the Powertools formatter
    # so records from every module are JSON with the keys appended per request.
    if not os.environ.get('AWS_LAMBDA_FUNCTION_NAME'):
        return
    formatter = logger.registered_formatter
    for handler in logging.getLogger().handlers:
        handler.setFormatter(formatter)


@lru_cache(maxsize=1)
def _operations():
    from chalicelib.wire.model import routes  # reason: the models load on first use

    return {(r.path, r.method): (r.operation.name, r.labels) for r in routes()}


def middleware(event, get_response):
    """Chalice middleware for every event type."""
    from chalice.app import CloudWatchEvent, Request  # reason: loaded once, when called

    if isinstance(event, Request):
        return _http(event, get_response)
    if isinstance(event, CloudWatchEvent):
        return _scheduled(event, get_response)
    return get_response(event)


def _http(request, get_response):
    began = time.perf_counter()
    context = request.context or {}
    operation, labels = _operations().get((context.get('resourcePath'), request.method), (None, {}))
    keys = {
        'operation': operation or f'{request.method} {context.get("resourcePath")}',
        'api_request_id': context.get('requestId'),
        'lambda_request_id': getattr(request.lambda_context, 'aws_request_id', None),
    }
    for var, value in (request.uri_params or {}).items():
        name = var if var in RESOURCE_LABELS else labels.get(var, var)
        if name in RESOURCE_LABELS:
            keys[_snake(name)] = value
    logger.append_keys(**keys)
    response = None
    try:
        response = get_response(request)
        return response
    finally:
        try:
            _record_http(operation, response, keys, began)
        finally:
            logger.remove_keys(list(keys))
            _flush()


def _record_http(operation, response, keys, began):
    status = getattr(response, 'status_code', 500)
    headers = {k.lower(): v for k, v in (getattr(response, 'headers', None) or {}).items()}
    error = headers.get('x-amzn-errortype') or (None if status < 500 else 'InternalFailure')
    logger.info(
        'request',
        extra={
            'status': status,
            'error_code': error,
            'request_id': headers.get('x-amzn-requestid'),
            'duration_ms': round((time.perf_counter() - began) * 1000, 1),
        },
    )
    if error:
        count_by('Errors', 'ErrorCode', error)
        return
    if operation == 'StartDeployment':
        count('DeploymentsStarted')
    elif operation == 'StopDeployment':
        count('DeploymentsStopped')
    elif operation in POLLS:
        count('PollsServed')
        if getattr(response, 'body', None):
            count('ConfigurationsDelivered')


def _scheduled(event, get_response):
    began = time.perf_counter()
    logger.append_keys(operation='Tick')
    try:
        summary = get_response(event)
        if isinstance(summary, dict):
            for key, name in TICK_COUNTS.items():
                if summary.get(key):
                    count(name, summary[key])
            if 'active' in summary:
                count('ActiveDeployments', summary['active'])
        logger.info(
            'tick',
            extra={
                'summary': summary,
                'duration_ms': round((time.perf_counter() - began) * 1000, 1),
            },
        )
        return summary
    finally:
        logger.remove_keys(['operation'])
        _flush()


def count(name, value=1):
    """Add ``value`` to the metric ``name`` for this invocation (flushed at its end)."""
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


def count_by(name, dimension, value):
    """One count of ``name`` under its own dimension, e.g. Errors by ErrorCode."""
    with single_metric(
        name=name,
        unit=MetricUnit.Count,
        value=1,
        namespace=NAMESPACE,
        default_dimensions={'service': SERVICE},
    ) as metric:
        metric.add_dimension(name=dimension, value=value)


def _flush():
    if metrics.metric_set:
        metrics.flush_metrics()


def _snake(name):
    return ''.join('_' + c.lower() if c.isupper() else c for c in name).lstrip('_')
