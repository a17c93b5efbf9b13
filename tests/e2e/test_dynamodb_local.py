"""DynamoDB Local as the runner starts it: a real JVM, real boto3, data on disk."""

import socket

import boto3
import pytest

from local import dynamodb

TABLE = 'e2e-dynamodb-local'


def _client(endpoint):
    # Explicit dummy credentials: -sharedDb makes them irrelevant to which
    # tables are seen, but botocore still insists on signing.
    return boto3.client(
        'dynamodb',
        endpoint_url=endpoint,
        region_name='us-east-1',
        aws_access_key_id='x',
        aws_secret_access_key='x',
    )


def test_data_survives_a_restart(tmp_path):
    data_dir = tmp_path / 'db'  # missing on purpose: start() creates it

    with dynamodb.start(data_dir) as server:
        assert server.endpoint == f'http://127.0.0.1:{server.port}'
        client = _client(server.endpoint)
        client.create_table(
            TableName=TABLE,
            KeySchema=[{'AttributeName': 'pk', 'KeyType': 'HASH'}],
            AttributeDefinitions=[{'AttributeName': 'pk', 'AttributeType': 'S'}],
            BillingMode='PAY_PER_REQUEST',
        )
        client.put_item(TableName=TABLE, Item={'pk': {'S': 'k1'}, 'v': {'S': 'hello'}})
        got = client.get_item(TableName=TABLE, Key={'pk': {'S': 'k1'}}, ConsistentRead=True)
        assert got['Item']['v'] == {'S': 'hello'}
        first_pid = server.pid

    assert not server.running()
    # A stopped server must not still hold its port.
    with pytest.raises(OSError):
        socket.create_connection(('127.0.0.1', server.port), timeout=1).close()

    with dynamodb.start(data_dir) as again:
        assert again.pid != first_pid
        client = _client(again.endpoint)
        assert TABLE in client.list_tables()['TableNames']
        got = client.get_item(TableName=TABLE, Key={'pk': {'S': 'k1'}}, ConsistentRead=True)
        assert got['Item']['v'] == {'S': 'hello'}


def test_a_taken_port_fails_fast_and_clearly():
    with socket.socket() as taken:
        taken.bind(('127.0.0.1', 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(dynamodb.DynamoDBLocalError, match='already in use'):
            dynamodb.start(in_memory=True, port=port)


def test_on_launch_is_told_the_endpoint_it_then_answers_on():
    seen = []
    server = dynamodb.start(in_memory=True, on_launch=seen.append)
    try:
        assert seen == [server.endpoint]
        client = boto3.client(
            'dynamodb',
            endpoint_url=seen[0],
            region_name='us-east-1',
            aws_access_key_id='x',
            aws_secret_access_key='x',
        )
        assert client.list_tables()['TableNames'] == []
    finally:
        server.stop()
