"""The AWS CLI, unmodified, against the server: `aws appconfig ... --endpoint-url`.

The CLI runs as a subprocess and only speaks HTTP to the in-process server (whose DynamoDB is
moto, inside this test process); it gets dummy credentials and empty config files so nothing
on the machine running the tests leaks in.
"""

import pytest

from chalicelib import arns
from tests.cli import aws_cli


@pytest.fixture
def cli(endpoint, tmp_path):
    return aws_cli('appconfig', endpoint, tmp_path)


def test_create_and_list_applications(cli):
    created = cli(
        'create-application',
        '--name',
        'example-application',
        '--description',
        'An application used for creating an example.',
        '--tags',
        'team=web',
    )
    assert set(created) == {'Id', 'Name', 'Description'}
    assert created['Name'] == 'example-application'
    assert created['Description'] == 'An application used for creating an example.'
    second = cli('create-application', '--name', 'second')
    listed = cli('list-applications')
    assert sorted(i['Id'] for i in listed['Items']) == sorted([created['Id'], second['Id']])
    assert {i['Id']: i['Name'] for i in listed['Items']}[created['Id']] == 'example-application'
    arn = arns.arn(f'application/{created["Id"]}')
    assert cli('list-tags-for-resource', '--resource-arn', arn) == {'Tags': {'team': 'web'}}


def test_update_deployment_strategy_reference_sample(cli):
    created = cli(
        'create-deployment-strategy',
        '--name',
        'Example-Deployment',
        '--deployment-duration-in-minutes',
        '15',
        '--growth-factor',
        '25',
        '--replicate-to',
        'SSM_DOCUMENT',
    )
    assert created == {
        'Id': created['Id'],
        'Name': 'Example-Deployment',
        'DeploymentDurationInMinutes': 15,
        'GrowthType': 'LINEAR',
        'GrowthFactor': 25.0,
        'FinalBakeTimeInMinutes': 0,
        'ReplicateTo': 'SSM_DOCUMENT',
    }
    updated = cli(
        'update-deployment-strategy',
        '--deployment-strategy-id',
        created['Id'],
        '--final-bake-time-in-minutes',
        '20',
    )
    assert updated == {
        'Id': created['Id'],
        'Name': 'Example-Deployment',
        'DeploymentDurationInMinutes': 15,
        'GrowthType': 'LINEAR',
        'GrowthFactor': 25.0,
        'FinalBakeTimeInMinutes': 20,
        'ReplicateTo': 'SSM_DOCUMENT',
    }
    assert cli('get-deployment-strategy', '--deployment-strategy-id', created['Id']) == updated
    listed = cli('list-deployment-strategies')['Items']
    assert [s['Id'] for s in listed][:4] == [
        'AppConfig.AllAtOnce',
        'AppConfig.Linear50PercentEvery30Seconds',
        'AppConfig.Canary10Percent20Minutes',
        'AppConfig.Linear20PercentEvery6Minutes',
    ]
    assert listed[4] == updated
    assert cli('delete-deployment-strategy', '--deployment-strategy-id', created['Id']) is None
    gone = cli('get-deployment-strategy', '--deployment-strategy-id', created['Id'], check=False)
    assert gone.returncode != 0 and 'ResourceNotFoundException' in gone.stderr


def test_errors_reach_the_cli_by_name(cli):
    refused = cli(
        'update-deployment-strategy',
        '--deployment-strategy-id',
        'AppConfig.AllAtOnce',
        '--final-bake-time-in-minutes',
        '20',
        check=False,
    )
    assert refused.returncode != 0
    assert 'BadRequestException' in refused.stderr
    assert 'Cannot update predefined Deployment Strategy AppConfig.AllAtOnce.' in refused.stderr


def test_account_settings(cli):
    assert cli('get-account-settings') == {
        'DeletionProtection': {'Enabled': False, 'ProtectionPeriodInMinutes': 60},
        'VendedMetrics': {'Enabled': False},
    }
    updated = cli(
        'update-account-settings',
        '--deletion-protection',
        'Enabled=true,ProtectionPeriodInMinutes=30',
    )
    assert updated['DeletionProtection'] == {'Enabled': True, 'ProtectionPeriodInMinutes': 30}
