"""Hostile input, generated from the service models: every operation and member each class
can reach, answered with the modeled 400 BadRequestException naming the member, never a 500.

The cases come from walking the input shapes (tests/model_requests.py), so an operation or
member the models gain is covered without a new test. The classes: JSON nested a thousand
levels deep, integers of 39 digits (beyond the model's 32-bit integer, and beyond the 38
digits a store number holds) in a label, query string, header or body, NaN and Infinity as
numbers, and null as an element of a list or a value of a map.
"""

import base64
import json

import pytest

from tests.model_requests import (
    RAW,
    build,
    forged_token,
    members,
    operation,
    operations,
    profile_with_versions,
    send,
)

DEEP = 1000
HUGE = 10**39 - 1  # 39 digits


def _cases(select):
    cases = []
    for op in operations():
        for member in members(op):
            for case in select(op, member):
                cases.append(
                    pytest.param(op.name, member, *case, id=f'{op.name}-{member.where}-{case[-1]}')
                )
    return cases


def _deep(op, member):
    if member.location == 'body' and not member.steps:
        yield '[' * DEEP + ']' * DEEP, 'list'
        yield '{"a":' * DEEP + '1' + '}' * DEEP, 'object'


def _huge(op, member):
    if member.shape.type_name in ('integer', 'long'):
        yield HUGE, 'positive'
        yield -HUGE, 'negative'


def _non_finite(op, member):
    if member.shape.type_name in ('float', 'double') and member.location == 'body':
        for text in ('NaN', 'Infinity', '-Infinity'):
            yield text, text


def _null_element(op, member):
    if member.steps and member.steps[-1][0] in ('list', 'map'):
        yield (None, 'null')


def _request(op_name, member, leaf, raw=False):
    op = operation(op_name)
    if member.location == 'uri':
        return build(op, labels={member.top: leaf})
    value = RAW + leaf if raw else leaf
    return build(op, {member.top: member.value(value)})


def _refused(endpoint, request, where):
    status, headers, body = send(endpoint, *request)
    assert status == 400, (status, body)
    assert headers['x-amzn-errortype'] == 'BadRequestException'
    assert headers['content-type'] == 'application/json'
    assert headers['x-amzn-requestid']
    message = json.loads(body)['Message']
    assert f"'{where}'" in message, message
    return message


@pytest.mark.parametrize('op_name, member, text, kind', _cases(_deep))
def test_deeply_nested_json_names_the_member(endpoint, op_name, member, text, kind):
    message = _refused(endpoint, _request(op_name, member, text, raw=True), member.where)
    assert 'nested' in message


@pytest.mark.parametrize('op_name, member, number, sign', _cases(_huge))
def test_39_digit_integer_is_out_of_range(endpoint, op_name, member, number, sign):
    message = _refused(endpoint, _request(op_name, member, number), member.where)
    assert str(number) in message
    assert ('less than or equal to' if number > 0 else 'greater than or equal to') in message


@pytest.mark.parametrize('op_name, member, text, name', _cases(_non_finite))
def test_non_finite_number_is_refused(endpoint, op_name, member, text, name):
    message = _refused(endpoint, _request(op_name, member, text, raw=True), member.where)
    assert f"Value '{text}' at '{member.where}'" in message
    assert 'finite' in message


@pytest.mark.parametrize('op_name, member, leaf, name', _cases(_null_element))
def test_null_element_is_refused(endpoint, op_name, member, leaf, name):
    message = _refused(endpoint, _request(op_name, member, leaf), member.where)
    assert (
        f"Value null at '{member.where}' failed to satisfy constraint: Member must not "
        'be null' in message
    )


def test_every_class_reaches_the_members_the_issue_names():
    # The generated cases include the ones seen answering 500 before.
    names = {(c.values[0], c.values[1].where) for c in _cases(_huge)}
    assert {
        ('GetDeployment', 'deploymentNumber'),
        ('StopDeployment', 'deploymentNumber'),
        ('GetHostedConfigurationVersion', 'versionNumber'),
        ('CreateHostedConfigurationVersion', 'latestVersionNumber'),
        ('CreateExtension', 'latestVersionNumber'),
        ('GetExperimentRun', 'run'),
        ('StartDeployment', 'latestDeploymentNumber'),
        ('CreateExtensionAssociation', 'extensionVersionNumber'),
    } <= names
    nulls = {(c.values[0], c.values[1].where) for c in _cases(_null_element)}
    assert {
        ('CreateEnvironment', 'monitors.1.member'),
        ('CreateConfigurationProfile', 'validators.1.member'),
        ('CreateExtension', 'actions.k.value.1.member'),
        ('CreateExperimentDefinition', 'treatments.1.member'),
        ('CreateApplication', 'tags.k.value'),
    } <= nulls
    floats = {(c.values[0], c.values[1].where) for c in _cases(_non_finite)}
    assert ('CreateDeploymentStrategy', 'growthFactor') in floats
    deep = {c.values[0] for c in _cases(_deep)}
    assert {
        o.name
        for o in operations()
        if o.input_shape is not None
        and any(
            'location' not in m.serialization and n != o.input_shape.serialization.get('payload')
            for n, m in o.input_shape.members.items()
        )
    } == deep


def test_float_beyond_its_type_is_refused(endpoint):
    # Weight is a 32-bit float with no declared maximum: a 39-digit number cannot be one.
    member = [
        m
        for m in members(operation('CreateExperimentDefinition'))
        if m.where == 'treatments.1.member.weight'
    ][0]
    message = _refused(
        endpoint,
        build(
            operation('CreateExperimentDefinition'), {'Name': 'e', 'Treatments': member.value(HUGE)}
        ),
        'treatments.1.member.weight',
    )
    assert 'less than or equal to' in message


def test_through_boto3_the_exception_class_is_the_modeled_one(raw_appconfig):
    with pytest.raises(raw_appconfig.exceptions.BadRequestException, match='growthFactor'):
        raw_appconfig.create_deployment_strategy(
            Name='s', DeploymentDurationInMinutes=10, GrowthFactor=float('nan'), ReplicateTo='NONE'
        )
    with pytest.raises(raw_appconfig.exceptions.BadRequestException, match='deploymentNumber'):
        raw_appconfig.get_deployment(
            ApplicationId='abc1234', EnvironmentId='abc1234', DeploymentNumber=HUGE
        )
    with pytest.raises(raw_appconfig.exceptions.BadRequestException, match='latestVersionNumber'):
        raw_appconfig.create_hosted_configuration_version(
            ApplicationId='abc1234',
            ConfigurationProfileId='abc1234',
            Content=b'{}',
            ContentType='application/json',
            LatestVersionNumber=HUGE,
        )
    with pytest.raises(
        raw_appconfig.exceptions.BadRequestException, match=r'tagKeys\.1\.member|tags\.k\.value'
    ):
        raw_appconfig.create_application(Name='a', Tags={'k': None})


def test_39_digit_version_strings_name_no_version(appconfig, raw_appconfig):
    # ConfigurationVersion is a string in the model, a number in the store: one that no
    # version can have is not found (it never reaches the store as a number).
    app = appconfig.create_application(Name='a')['Id']
    env = appconfig.create_environment(ApplicationId=app, Name='e')['Id']
    profile = appconfig.create_configuration_profile(
        ApplicationId=app, Name='p', LocationUri='hosted'
    )['Id']
    appconfig.create_hosted_configuration_version(
        ApplicationId=app,
        ConfigurationProfileId=profile,
        Content=b'{}',
        ContentType='application/json',
    )
    with pytest.raises(raw_appconfig.exceptions.ResourceNotFoundException):
        raw_appconfig.start_deployment(
            ApplicationId=app,
            EnvironmentId=env,
            ConfigurationProfileId=profile,
            DeploymentStrategyId='AppConfig.AllAtOnce',
            ConfigurationVersion=str(HUGE),
        )
    with pytest.raises(raw_appconfig.exceptions.ResourceNotFoundException):
        raw_appconfig.validate_configuration(
            ApplicationId=app, ConfigurationProfileId=profile, ConfigurationVersion=str(HUGE)
        )


def _token_ops():
    return [
        op.name
        for op in operations()
        if op.input_shape is not None and 'NextToken' in op.input_shape.members
    ]


@pytest.mark.parametrize('op_name', _token_ops())
def test_a_next_token_nested_too_deep_is_not_valid(endpoint, op_name):
    # NextToken is at most 2,048 characters: enough for 1,530 levels of JSON nesting.
    token = base64.urlsafe_b64encode(b'[' * 1530).decode()
    status, headers, body = send(endpoint, *build(operation(op_name), {'NextToken': token}))
    assert status in (400, 404), (status, body)
    assert headers['x-amzn-errortype'] in ('BadRequestException', 'ResourceNotFoundException')


def test_a_forged_next_token_with_a_39_digit_number_is_not_valid(appconfig, raw_appconfig):
    app, profile = profile_with_versions(appconfig, 'a')
    token = appconfig.list_hosted_configuration_versions(
        ApplicationId=app, ConfigurationProfileId=profile, MaxResults=1
    )['NextToken']
    with pytest.raises(raw_appconfig.exceptions.BadRequestException, match='NextToken'):
        raw_appconfig.list_hosted_configuration_versions(
            ApplicationId=app, ConfigurationProfileId=profile, NextToken=forged_token(token, HUGE)
        )


def test_json_in_a_validator_nested_too_deep(appconfig):
    app = appconfig.create_application(Name='a')['Id']
    with pytest.raises(appconfig.exceptions.BadRequestException, match='nested too deeply'):
        appconfig.create_configuration_profile(
            ApplicationId=app,
            Name='p',
            LocationUri='hosted',
            Validators=[{'Type': 'JSON_SCHEMA', 'Content': '[' * 1000 + ']' * 1000}],
        )
