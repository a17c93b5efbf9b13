"""Every operation of both service models is served: called through boto3 with only its
required members (dummy values), none answers NotImplementedException or a 5xx."""

import pytest
from botocore.exceptions import ClientError

from chalicelib import ops
from chalicelib.wire.model import SERVICES, service

OPERATIONS = [(svc, name) for svc, _ in SERVICES for name in service(svc).operation_names]


def _dummy(shape):
    kind = shape.type_name
    if kind == 'structure':
        return {name: _dummy(shape.members[name]) for name in shape.required_members}
    if kind == 'list':
        return [_dummy(shape.member)]
    if kind == 'map':
        return {'key': _dummy(shape.value)}
    if kind in ('integer', 'long'):
        return max(1, shape.metadata.get('min', 1))
    if kind in ('float', 'double'):
        return 1.0
    if kind == 'boolean':
        return False
    if kind == 'blob':
        return b'{}'
    if shape.enum:
        return shape.enum[0]
    return 'abcdefg'


def test_model_has_58_operations():
    assert len(OPERATIONS) == 58


@pytest.mark.parametrize('svc, name', OPERATIONS)
def test_served(endpoint, svc, name, appconfig, raw_appconfig, appconfigdata):
    assert ops.resolve(name) is not None, f'{name} has no function in chalicelib/ops'
    client = raw_appconfig if svc == 'appconfig' else appconfigdata
    operation = service(svc).operation_model(name)
    params = _dummy(operation.input_shape) if operation.input_shape else {}
    method = getattr(client, ops.snake(name))
    try:
        response = method(**params)
        status = response['ResponseMetadata']['HTTPStatusCode']
    except ClientError as error:
        assert error.response['Error']['Code'] != 'NotImplementedException'
        status = error.response['ResponseMetadata']['HTTPStatusCode']
    assert status < 500, f'{name} answered {status}'
