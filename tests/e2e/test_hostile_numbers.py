"""39-digit numbers on the real engine: DynamoDB holds at most 38 significant digits and
answers more with a ValidationException, which once leaked as a 500. Through the local
runner on DynamoDB Local every such number is refused before it reaches the store."""

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.e2e.conftest import client
from tests.model_requests import forged_token, profile_with_versions

HUGE = 10**39 - 1


def test_dynamodb_local_refuses_39_digits(dynamodb_local):
    ddb = boto3.client(
        'dynamodb',
        endpoint_url=dynamodb_local,
        region_name='us-east-1',
        aws_access_key_id='x',
        aws_secret_access_key='x',
    )
    ddb.create_table(
        TableName='e2e-hostile-numbers',
        BillingMode='PAY_PER_REQUEST',
        KeySchema=[{'AttributeName': 'pk', 'KeyType': 'HASH'}],
        AttributeDefinitions=[{'AttributeName': 'pk', 'AttributeType': 'N'}],
    )
    with pytest.raises(ClientError) as caught:
        ddb.get_item(TableName='e2e-hostile-numbers', Key={'pk': {'N': str(HUGE)}})
    assert caught.value.response['Error']['Code'] == 'ValidationException'


def _modeled(call, *codes):
    with pytest.raises(ClientError) as caught:
        call()
    error = caught.value.response
    assert error['ResponseMetadata']['HTTPStatusCode'] < 500, error
    assert error['Error']['Code'] in codes, error


def test_no_39_digit_number_reaches_the_store(e2e_endpoint):
    appconfig = client('appconfig', e2e_endpoint)
    raw = boto3.client(
        'appconfig',
        endpoint_url=e2e_endpoint,
        region_name='us-east-1',
        aws_access_key_id='x',
        aws_secret_access_key='x',
        config=Config(retries={'max_attempts': 1}, parameter_validation=False),
    )
    app, profile = profile_with_versions(appconfig, 'hostile-numbers')
    env = appconfig.create_environment(ApplicationId=app, Name='e')['Id']
    _modeled(
        lambda: raw.get_deployment(ApplicationId=app, EnvironmentId=env, DeploymentNumber=HUGE),
        'BadRequestException',
    )
    _modeled(
        lambda: raw.get_hosted_configuration_version(
            ApplicationId=app, ConfigurationProfileId=profile, VersionNumber=HUGE
        ),
        'BadRequestException',
    )
    _modeled(
        lambda: raw.create_hosted_configuration_version(
            ApplicationId=app,
            ConfigurationProfileId=profile,
            Content=b'y',
            ContentType='text/plain',
            LatestVersionNumber=HUGE,
        ),
        'BadRequestException',
    )
    _modeled(
        lambda: raw.start_deployment(
            ApplicationId=app,
            EnvironmentId=env,
            ConfigurationProfileId=profile,
            DeploymentStrategyId='AppConfig.AllAtOnce',
            ConfigurationVersion=str(HUGE),
        ),
        'ResourceNotFoundException',
    )
    token = appconfig.list_hosted_configuration_versions(
        ApplicationId=app, ConfigurationProfileId=profile, MaxResults=1
    )['NextToken']
    _modeled(
        lambda: raw.list_hosted_configuration_versions(
            ApplicationId=app, ConfigurationProfileId=profile, NextToken=forged_token(token, HUGE)
        ),
        'BadRequestException',
    )
    # And what is refused was never half-written: the versions are still 1 and 2.
    listed = appconfig.list_hosted_configuration_versions(
        ApplicationId=app, ConfigurationProfileId=profile
    )['Items']
    assert [v['VersionNumber'] for v in listed] == [2, 1]
