"""Validators on StartDeployment and ValidateConfiguration.

JSON_SCHEMA runs for real. LAMBDA validators would need moto's Lambda, which needs docker, so
those tests give the engine a real boto3 Lambda client wrapped in botocore's Stubber (the
service's answer is stubbed at the boto3 level, the request the engine sends is checked).
"""

import base64
import io
import json
from unittest import mock

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber

from chalicelib.ops import validation
from chalicelib.store.deployments import Deployment
from chalicelib.store.environments import Environment
from tests.api.deploying import World

SCHEMA = {
    'type': 'object',
    'properties': {
        'price': {'type': 'number', 'minimum': 0},
        'name': {'type': 'string'},
        'tags': {'type': 'array', 'items': {'type': 'string'}},
    },
    'required': ['price'],
    'additionalProperties': False,
}
FUNCTION = 'arn:aws:lambda:us-east-1:123456789012:function:check-config'


def schema_world(appconfig):
    return World(appconfig, validators=[{'Type': 'JSON_SCHEMA', 'Content': json.dumps(SCHEMA)}])


def details_of(err):
    response = err.value.response
    assert response['ResponseMetadata']['HTTPStatusCode'] == 400
    assert response['Reason'] == 'InvalidConfiguration'
    return response['Details']['InvalidConfiguration']


def nothing_deployed(world):
    assert list(Deployment.query(f'{world.app}#{world.env}')) == []
    env = Environment.get(world.app, world.env)
    assert (env.latest_deployment, env.active_deployment, env.state) == (
        0,
        None,
        'ReadyForDeployment',
    )


def test_valid_content_deploys(appconfig):
    w = schema_world(appconfig)
    version = w.version({'price': 3, 'name': 'tea'})
    validated = appconfig.validate_configuration(
        ApplicationId=w.app, ConfigurationProfileId=w.profile, ConfigurationVersion=str(version)
    )
    assert validated['ResponseMetadata']['HTTPStatusCode'] == 204
    assert w.start('AppConfig.AllAtOnce', version=version)['State'] == 'BAKING'


def test_schema_violations_block_the_deployment_with_details(appconfig):
    w = schema_world(appconfig)
    version = w.version({'price': -1, 'tags': ['a', 2], 'colour': 'red'})
    with pytest.raises(appconfig.exceptions.BadRequestException) as err:
        w.start('AppConfig.AllAtOnce', version=version)
    details = details_of(err)
    assert all(d['Type'] == 'JSON_SCHEMA' for d in details)
    by_location = {d['Location']: d for d in details}
    assert by_location['$.price']['Constraint'] == 'minimum: 0'
    assert by_location['$.price']['Value'] == '-1'
    assert 'must be bigger than or equal to 0' in by_location['$.price']['Reason']
    assert by_location['$.tags[1]']['Constraint'] == 'type: "string"'
    assert any(d['Constraint'].startswith('additionalProperties') for d in details)
    assert 'is not valid' in err.value.response['Error']['Message']
    nothing_deployed(w)


def test_missing_required_member(appconfig):
    w = schema_world(appconfig)
    version = w.version({'name': 'tea'})
    with pytest.raises(appconfig.exceptions.BadRequestException) as err:
        appconfig.validate_configuration(
            ApplicationId=w.app, ConfigurationProfileId=w.profile, ConfigurationVersion=str(version)
        )
    [detail] = details_of(err)
    assert detail['Constraint'] == 'required: ["price"]' and detail['Location'] == '$'
    assert 'price' in detail['Reason']


def test_content_that_is_not_json(appconfig):
    w = schema_world(appconfig)
    version = w.version(raw=b'price = 3')
    with pytest.raises(appconfig.exceptions.BadRequestException) as err:
        w.start('AppConfig.AllAtOnce', version=version)
    [detail] = details_of(err)
    assert detail['Constraint'] == 'json' and 'not valid JSON' in detail['Reason']
    nothing_deployed(w)


def test_schemas_default_to_draft_04(appconfig):
    # Draft-04's exclusiveMaximum is a boolean modifier of maximum (draft-06+: a number).
    schema = {
        'type': 'object',
        'properties': {'n': {'type': 'number', 'maximum': 10, 'exclusiveMaximum': True}},
    }
    w = World(appconfig, validators=[{'Type': 'JSON_SCHEMA', 'Content': json.dumps(schema)}])
    with pytest.raises(appconfig.exceptions.BadRequestException) as err:
        w.start('AppConfig.AllAtOnce', version=w.version({'n': 10}))
    assert details_of(err)[0]['Location'] == '$.n'
    assert w.start('AppConfig.AllAtOnce', version=w.version({'n': 9}))['DeploymentNumber'] == 1


def test_remote_refs_are_not_fetched():
    schema = json.dumps({'$ref': 'http://169.254.169.254/latest/meta-data/'})
    with mock.patch('urllib.request.urlopen') as urlopen:
        details = validation.json_schema_details(schema, b'{}')
    urlopen.assert_not_called()
    assert details and details[0]['Type'] == 'JSON_SCHEMA'


def test_validate_configuration_unknown_version(appconfig):
    w = schema_world(appconfig)
    with pytest.raises(appconfig.exceptions.ResourceNotFoundException):
        appconfig.validate_configuration(
            ApplicationId=w.app, ConfigurationProfileId=w.profile, ConfigurationVersion='5'
        )


# --- LAMBDA ------------------------------------------------------------------------------


def stubbed_lambda(answers):
    """A real boto3 Lambda client whose answers are stubbed; returns (client, stubber)."""
    client = boto3.client('lambda', region_name='us-east-1')
    stubber = Stubber(client)
    for answer in answers:
        response = {
            'StatusCode': 200,
            'Payload': StreamingBody(io.BytesIO(answer['payload']), len(answer['payload'])),
        }
        if answer.get('error'):
            response['FunctionError'] = 'Unhandled'
        stubber.add_response(
            'invoke',
            response,
            {'FunctionName': FUNCTION, 'InvocationType': 'RequestResponse', 'Payload': ANY},
        )
    stubber.activate()
    return client, stubber


def lambda_world(appconfig):
    return World(appconfig, validators=[{'Type': 'LAMBDA', 'Content': FUNCTION}])


def test_lambda_validator_accepts(appconfig):
    w = lambda_world(appconfig)
    version = w.version({'price': 1})
    client, stubber = stubbed_lambda([{'payload': b'null'}, {'payload': b'null'}])
    sent = []
    client.meta.events.register(
        'provide-client-params.lambda.Invoke',
        lambda params, **_: sent.append(json.loads(params['Payload'])),
    )
    with mock.patch.object(validation, 'lambda_client', return_value=client) as factory:
        appconfig.validate_configuration(
            ApplicationId=w.app, ConfigurationProfileId=w.profile, ConfigurationVersion=str(version)
        )
        assert w.start('AppConfig.AllAtOnce', version=version)['DeploymentNumber'] == 1
    factory.assert_called_with('us-east-1')
    stubber.assert_no_pending_responses()
    assert sent[0] == {
        'applicationId': w.app,
        'configurationProfileId': w.profile,
        'configurationVersion': str(version),
        'content': base64.b64encode(json.dumps({'price': 1}).encode()).decode(),
        'uri': 'hosted',
    }


def test_lambda_function_error_blocks_the_deployment(appconfig):
    w = lambda_world(appconfig)
    version = w.version({'price': 1})
    error = json.dumps({'errorMessage': 'price must be at least 5', 'errorType': 'ValueError'})
    client, _ = stubbed_lambda([{'payload': error.encode(), 'error': True}])
    with mock.patch.object(validation, 'lambda_client', return_value=client):
        with pytest.raises(appconfig.exceptions.BadRequestException) as err:
            w.start('AppConfig.AllAtOnce', version=version)
    [detail] = details_of(err)
    assert (detail['Type'], detail['Constraint']) == ('LAMBDA', FUNCTION)
    assert 'price must be at least 5' in detail['Reason'] and 'ValueError' in detail['Reason']
    assert 'price must be at least 5' in err.value.response['Error']['Message']
    nothing_deployed(w)


def test_lambda_that_cannot_be_invoked_blocks_with_the_reason(appconfig):
    w = lambda_world(appconfig)
    version = w.version({'price': 1})
    client = boto3.client('lambda', region_name='us-east-1')
    stubber = Stubber(client)
    stubber.add_client_error('invoke', 'ResourceNotFoundException', 'Function not found')
    stubber.activate()
    with mock.patch.object(validation, 'lambda_client', return_value=client):
        with pytest.raises(appconfig.exceptions.BadRequestException) as err:
            w.start('AppConfig.AllAtOnce', version=version)
    [detail] = details_of(err)
    assert detail['Type'] == 'LAMBDA' and 'could not be invoked' in detail['Reason']
    assert 'Function not found' in detail['Reason']
    nothing_deployed(w)


def test_both_validators_report_together(appconfig):
    w = World(
        appconfig,
        validators=[
            {'Type': 'JSON_SCHEMA', 'Content': json.dumps(SCHEMA)},
            {'Type': 'LAMBDA', 'Content': FUNCTION},
        ],
    )
    version = w.version({'price': 'free'})
    client, _ = stubbed_lambda([{'payload': b'{"errorMessage": "no"}', 'error': True}])
    with mock.patch.object(validation, 'lambda_client', return_value=client):
        with pytest.raises(appconfig.exceptions.BadRequestException) as err:
            w.start('AppConfig.AllAtOnce', version=version)
    assert [d['Type'] for d in details_of(err)] == ['JSON_SCHEMA', 'LAMBDA']
