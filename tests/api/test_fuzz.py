"""Model-shaped garbage, property-based: whatever is sent, no answer is a 5xx and every error
is JSON with x-amzn-ErrorType and x-amzn-RequestId.

Hypothesis draws an operation of either model and fills its input shape with values that are
sometimes right and often not (wrong types, nulls, huge and non-finite numbers, deep
nesting, odd strings and labels), sometimes with a wrong method or a body that is not JSON.
The run is bounded and repeatable: a fixed number of examples, derandomized, no example
database, so CI time stays flat and a failure reproduces.
"""

import base64
import json
import math
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.model_requests import LABEL, RAW, build, operations, send

# APPCONFIG_FUZZ_EXAMPLES=5000 for a longer hunt on a workstation; CI runs the default.
EXAMPLES = int(os.environ.get('APPCONFIG_FUZZ_EXAMPLES', '300'))
OPERATIONS = operations()

_odd_strings = st.sampled_from(
    [
        '',
        ' ',
        'a' * 3000,
        '\ud800',
        '\x00',
        'AppConfig.AllAtOnce',
        'AWS.AppConfig.FeatureFlags',
        'arn:aws:appconfig:us-east-1:123456789012:application/abc1234',
        'hosted',
        '../..',
        '%2F',
        '9' * 39,
        '-1',
        '1e400',
        'NaN',
        'null',
        '{}',
        '[]',
        'true',
        'LINEAR',
        'ON_DEPLOYMENT_START',
        # JSON inside strings (validator content, rules) and tokens, nested too deep to parse.
        '[' * 1000 + ']' * 1000,
        base64.urlsafe_b64encode(b'[' * 1530).decode(),
        base64.urlsafe_b64encode(b'{"id":{"N":"%s"}}' % (b'9' * 39)).decode(),
    ]
)
_odd_numbers = st.sampled_from([10**39 - 1, -(10**39), 2**31, 2**63, -1, 0])
_raw_json = st.sampled_from(
    [
        RAW + 'NaN',
        RAW + 'Infinity',
        RAW + '-Infinity',
        RAW + '1e400',
        RAW + '[' * 1000 + ']' * 1000,
        RAW + '{"a":' * 1000 + '1' + '}' * 1000,
        RAW + '9' * 39,
        RAW + '-0.0',
    ]
)


def _wrong(ids):
    return st.one_of(
        ids,
        st.none(),
        st.booleans(),
        st.integers(),
        _odd_numbers,
        _odd_strings,
        st.just({}),
        st.just([]),
        st.just([None]),
        _raw_json,
    )


def _value(shape, ids, dirty, depth=0):
    kind = shape.type_name
    if depth > 4:
        return st.none()
    if kind == 'string':
        enum = getattr(shape, 'enum', None)
        right = (
            st.sampled_from(enum)
            if enum
            else st.one_of(ids, ids, st.text(max_size=20), _odd_strings, st.just(LABEL))
        )
    elif kind in ('integer', 'long'):
        right = st.one_of(st.integers(-5, 100), _odd_numbers)
    elif kind in ('float', 'double'):
        right = st.one_of(st.floats(allow_nan=False, allow_infinity=False), _odd_numbers)
    elif kind == 'boolean':
        right = st.booleans()
    elif kind == 'timestamp':
        right = st.one_of(st.integers(0, 2**33), st.text(max_size=20))
    elif kind == 'blob':
        right = st.binary(max_size=64).map(lambda b: base64.b64encode(b).decode())
    elif kind == 'structure':
        required = set(shape.required_members) if not dirty else set()
        right = st.fixed_dictionaries(
            {
                n: _value(m, ids, dirty, depth + 1)
                for n, m in shape.members.items()
                if n in required
            },
            optional={
                n: _value(m, ids, dirty, depth + 1)
                for n, m in shape.members.items()
                if n not in required
            },
        )
    elif kind == 'list':
        right = st.lists(_value(shape.member, ids, dirty, depth + 1), max_size=3)
    elif kind == 'map':
        right = st.dictionaries(
            st.one_of(st.text(max_size=8), _odd_strings),
            _value(shape.value, ids, dirty, depth + 1),
            max_size=3,
        )
    else:
        right = st.none()
    return st.one_of(right, right, right, _wrong(ids)) if dirty else right


@st.composite
def requests(draw, world):
    ids = st.sampled_from(sorted({i for values in world.values() for i in values}))
    op = draw(st.sampled_from(OPERATIONS))
    # Half the requests are garbage throughout; the other half keep to each member's type
    # (and enum), so that more of them pass validation and reach the operation.
    dirty = draw(st.booleans())
    shape = op.input_shape
    params, labels = {}, {}
    if shape is not None:
        payload = shape.serialization.get('payload')
        for name, member in shape.members.items():
            location = member.serialization.get('location')
            if name == payload:
                if draw(st.booleans()):
                    params[name] = draw(
                        st.one_of(
                            st.binary(max_size=64),
                            st.sampled_from(
                                [
                                    b'{}',
                                    b'{"flags":{},"values":{},"version":"1"}',
                                    b'[' * 1000,
                                    b'{"a":' * 1000,
                                ]
                            ),
                        )
                    )
            elif location == 'uri':
                fitting = st.sampled_from(world[_kind(name)]) if _kind(name) else ids
                labels[name] = draw(
                    st.one_of(
                        fitting,
                        fitting,
                        fitting,
                        ids,
                        _odd_strings,
                        st.text(min_size=1, max_size=12),
                    )
                )
            elif location in ('querystring', 'header'):
                if (name in shape.required_members and not dirty) or draw(st.booleans()):
                    text = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=12)
                    enum = getattr(member, 'enum', None) or [LABEL]
                    params[name] = draw(
                        st.one_of(text, ids, _odd_numbers.map(str), st.sampled_from(enum))
                    )
            elif (name in shape.required_members and not dirty) or draw(st.booleans()):
                fits = _kind(name) is not None and member.type_name == 'string'
                if fits and draw(st.booleans()):
                    params[name] = draw(st.sampled_from(world[_kind(name)]))
                else:
                    params[name] = draw(_value(member, ids, dirty))
    method, path, headers, body = build(op, params, labels)
    twist = draw(st.sampled_from(['none'] * 8 + ['method', 'body', 'content-type']))
    if twist == 'method':
        method = draw(
            st.sampled_from(
                ['GET', 'PUT', 'POST', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS', 'TRACE', 'FOO']
            )
        )
    elif twist == 'body':
        body = draw(
            st.one_of(
                st.binary(max_size=64),
                st.sampled_from([b'null', b'[]', b'"x"', b'{"Name":', b'\xff\xfe', b'{}' * 10]),
            )
        )
    elif twist == 'content-type':
        headers['Content-Type'] = draw(
            st.sampled_from(['', 'text/plain', 'nonsense', '*/*', 'application/x-amz-json-1.1'])
        )
    return op, method, path, headers, body


@pytest.fixture
def world(appconfig):
    """Real resources, so that drawn labels and ids often name something that exists and
    the garbage reaches the operations, not only the validator."""
    app = appconfig.create_application(Name='fuzz')['Id']
    env = appconfig.create_environment(ApplicationId=app, Name='env')['Id']
    flags = appconfig.create_configuration_profile(
        ApplicationId=app, Name='flags', LocationUri='hosted', Type='AWS.AppConfig.FeatureFlags'
    )['Id']
    free = appconfig.create_configuration_profile(
        ApplicationId=app, Name='free', LocationUri='hosted'
    )['Id']
    appconfig.create_hosted_configuration_version(
        ApplicationId=app,
        ConfigurationProfileId=flags,
        ContentType='application/json',
        Content=b'{"version":"1","flags":{"f":{"name":"f"}},"values":{"f":{"enabled":true}}}',
    )
    appconfig.create_hosted_configuration_version(
        ApplicationId=app, ConfigurationProfileId=free, ContentType='text/plain', Content=b'hello'
    )
    strategy = appconfig.create_deployment_strategy(
        Name='s', DeploymentDurationInMinutes=10, GrowthFactor=50, ReplicateTo='NONE'
    )['Id']
    appconfig.start_deployment(
        ApplicationId=app,
        EnvironmentId=env,
        ConfigurationProfileId=free,
        DeploymentStrategyId=strategy,
        ConfigurationVersion='1',
    )
    extension = appconfig.create_extension(
        Name='ext',
        Actions={
            'ON_DEPLOYMENT_START': [
                {
                    'Name': 'a',
                    'Uri': 'arn:aws:sqs:us-east-1:123456789012:q',
                    'RoleArn': 'arn:aws:iam::123456789012:role/r',
                }
            ]
        },
    )['Id']
    association = appconfig.create_extension_association(
        ExtensionIdentifier=extension,
        ResourceIdentifier=f'arn:aws:appconfig:us-east-1:123456789012:application/{app}',
    )['Id']
    arn = f'arn:aws:appconfig:us-east-1:123456789012:application/{app}'
    return {
        'Application': [app, 'fuzz'],
        'Environment': [env, 'env'],
        'Configuration': [flags, free, 'flags'],
        'DeploymentStrategy': [strategy, 'AppConfig.AllAtOnce'],
        'ExtensionAssociation': [association],
        'Extension': [extension, 'ext', 'AWS.AppConfig.DeploymentNotificationsToSqs'],
        'Resource': [arn, f'{arn}/environment/{env}'],
        'Number': ['1', '2'],
        'ExperimentDefinition': [LABEL],
    }


def _kind(name):
    """The world's list that a member named ``name`` most likely wants."""
    if name in ('DeploymentNumber', 'VersionNumber', 'Run', 'ConfigurationVersion'):
        return 'Number'
    for kind in (
        'ExtensionAssociation',
        'ExperimentDefinition',
        'Application',
        'Environment',
        'DeploymentStrategy',
        'Configuration',
        'Extension',
        'Resource',
    ):
        if kind in name:
            return kind
    return None


@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)
@given(data=st.data())
def test_no_garbage_gets_a_5xx_or_a_non_json_error(endpoint, world, data):
    op, method, path, headers, body = data.draw(requests(world), label='request')
    status, got, raw = send(endpoint, method, path, headers, body)
    where = f'{op.name}: {method} {path[:200]} {body[:200]!r} -> {status} {raw[:300]!r}'
    assert status < 500, where
    assert got.get('x-amzn-requestid'), where
    if status >= 300:
        assert got.get('x-amzn-errortype'), where
        assert got.get('content-type') == 'application/json', where
        if method != 'HEAD':
            message = json.loads(raw).get('Message') or json.loads(raw).get('message')
            assert message, where
    elif (
        op.output_shape is not None
        and not op.output_shape.serialization.get('payload')
        and method != 'HEAD'
    ):
        assert got.get('content-type') == 'application/json', where
        json.loads(raw, parse_constant=lambda c: math.nan)
