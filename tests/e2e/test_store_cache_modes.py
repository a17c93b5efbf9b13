"""Which runner keeps the store's read cache on: only one that owns its DynamoDB Local. With
AWS_ENDPOINT_URL_DYNAMODB given, another writer may change the tables at any moment, and the
API must show what that writer wrote on the very next read."""

import boto3

from tests.e2e.conftest import client


def test_with_another_writer_configured_every_read_goes_to_dynamodb(e2e_endpoint, dynamodb_local):
    appconfig = client('appconfig', e2e_endpoint)
    app = appconfig.create_application(Name='before')['Id']
    assert appconfig.get_application(ApplicationId=app)['Name'] == 'before'
    assert [a['Name'] for a in appconfig.list_applications()['Items'] if a['Id'] == app] == [
        'before'
    ]

    # Another writer on the same DynamoDB: straight to the table, not through the API.
    dynamodb = boto3.client(
        'dynamodb',
        endpoint_url=dynamodb_local,
        region_name='us-east-1',
        aws_access_key_id='x',
        aws_secret_access_key='x',
    )
    table = 'e2e-applications'
    key = next(item for item in dynamodb.scan(TableName=table)['Items'] if item['id']['S'] == app)
    dynamodb.update_item(
        TableName=table,
        Key={'account': key['account'], 'id': key['id']},
        UpdateExpression='SET #n = :n',
        ExpressionAttributeNames={'#n': 'name'},
        ExpressionAttributeValues={':n': {'S': 'changed elsewhere'}},
    )

    assert appconfig.get_application(ApplicationId=app)['Name'] == 'changed elsewhere'
    assert [a['Name'] for a in appconfig.list_applications()['Items'] if a['Id'] == app] == [
        'changed elsewhere'
    ]
