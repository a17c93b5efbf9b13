"""The two botocore service models, and the routes derived from them.

API Gateway allows one variable name per path position under a given parent, while the model
names the same position differently across operations (``{ApplicationId}``,
``{Application}``, ``{ApplicationIdentifier}``). Each position gets the first name the model
uses for it; every operation keeps a map from route variable back to its own label.
"""

from dataclasses import dataclass, field
from functools import cache

from botocore.loaders import create_loader
from botocore.model import ServiceModel

SERVICES = (('appconfig', '2019-10-09'), ('appconfigdata', '2021-11-11'))


@cache
def service(name):
    version = dict(SERVICES)[name]
    return ServiceModel(create_loader().load_service_model(name, 'service-2', version), name)


@dataclass
class Route:
    path: str  # Chalice route, e.g. /applications/{ApplicationId}
    method: str
    operation: object  # botocore OperationModel
    labels: dict = field(default_factory=dict)  # route variable -> the operation's label


@cache
def routes():
    names = {}  # path prefix pattern -> route variable name at that position
    table = {}
    for svc, _ in SERVICES:
        model = service(svc)
        for op_name in model.operation_names:
            op = model.operation_model(op_name)
            uri = op.http['requestUri'].split('?', 1)[0]
            parts, labels, prefix = [], {}, ''
            for segment in uri.strip('/').split('/'):
                if segment.startswith('{'):
                    label = segment[1:-1].rstrip('+')
                    prefix += '/*'
                    var = names.setdefault(prefix, label)
                    labels[var] = label
                    parts.append(f'{{{var}}}')
                else:
                    prefix += '/' + segment
                    parts.append(segment)
            route = Route('/' + '/'.join(parts), op.http['method'], op, labels)
            key = (route.path, route.method)
            assert key not in table, f'two operations on {key}'
            table[key] = route
    return list(table.values())


@cache
def error_status(code):
    """HTTP status of a modeled error code, or None when no model declares it."""
    for svc, _ in SERVICES:
        for shape in service(svc).error_shapes:
            if shape.name == code:
                return shape.metadata['error']['httpStatusCode']
    return None
