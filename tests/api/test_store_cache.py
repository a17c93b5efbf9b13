"""The store's write-through read cache (chalicelib/store/connection.py), on, through boto3
over HTTP: a reader of the same process never sees an answer older than a write that has
returned, whichever writer made it (an operation, the ticker, a batch, a transaction), and
unchanged reads cost no DynamoDB request."""

import threading

import pytest
from botocore.exceptions import ClientError

from chalicelib import arns
from chalicelib.store import connection
from chalicelib.store.applications import Application
from tests.api.deploying import World, later, tick_now


class Requests:
    """DynamoDB requests as they go on the wire from the store's one connection."""

    def __init__(self):
        self.operations = []
        self.client = connection.connection().client
        self.client.meta.events.register(
            'request-created.dynamodb', self._record, unique_id='store-cache-requests'
        )

    def _record(self, operation_name, **_):
        self.operations.append(operation_name)

    def take(self):
        out, self.operations = self.operations, []
        return out

    def close(self):
        self.client.meta.events.unregister(
            'request-created.dynamodb', unique_id='store-cache-requests'
        )


@pytest.fixture
def cached():
    connection.configure('on')
    requests = Requests()
    yield requests
    requests.close()
    connection.configure()


def test_unchanged_reads_cost_no_request_and_every_write_shows_at_once(appconfig, cached):
    app = appconfig.create_application(Name='one', Description='first')['Id']
    assert appconfig.get_application(ApplicationId=app)['Name'] == 'one'
    appconfig.list_applications()
    cached.take()
    for _ in range(3):
        assert appconfig.get_application(ApplicationId=app)['Name'] == 'one'
        assert [a['Id'] for a in appconfig.list_applications()['Items']] == [app]
    assert cached.take() == []

    appconfig.update_application(ApplicationId=app, Name='renamed')
    assert appconfig.get_application(ApplicationId=app)['Name'] == 'renamed'
    assert [a['Name'] for a in appconfig.list_applications()['Items']] == ['renamed']

    other = appconfig.create_application(Name='two')['Id']
    assert {a['Id'] for a in appconfig.list_applications()['Items']} == {app, other}

    arn = f'arn:aws:appconfig:us-east-1:{arns.account()}:application/{app}'
    assert appconfig.list_tags_for_resource(ResourceArn=arn)['Tags'] == {}
    appconfig.tag_resource(ResourceArn=arn, Tags={'team': 'a'})
    assert appconfig.list_tags_for_resource(ResourceArn=arn)['Tags'] == {'team': 'a'}
    appconfig.untag_resource(ResourceArn=arn, TagKeys=['team'])
    assert appconfig.list_tags_for_resource(ResourceArn=arn)['Tags'] == {}

    appconfig.delete_application(ApplicationId=app)
    with pytest.raises(appconfig.exceptions.ResourceNotFoundException):
        appconfig.get_application(ApplicationId=app)
    assert [a['Id'] for a in appconfig.list_applications()['Items']] == [other]


def test_children_versions_and_their_counters(appconfig, cached):
    w = World(appconfig)
    assert appconfig.get_environment(ApplicationId=w.app, EnvironmentId=w.env)['Name'] == 'prod'
    appconfig.update_environment(ApplicationId=w.app, EnvironmentId=w.env, Name='production')
    assert (
        appconfig.get_environment(ApplicationId=w.app, EnvironmentId=w.env)['Name'] == 'production'
    )
    # The application's child counter moved in a transaction: deleting it must still refuse.
    with pytest.raises(appconfig.exceptions.BadRequestException):
        appconfig.delete_application(ApplicationId=w.app)

    first = w.version({'v': 1})
    assert (
        appconfig.get_hosted_configuration_version(
            ApplicationId=w.app, ConfigurationProfileId=w.profile, VersionNumber=first
        )['Content'].read()
        == b'{"v": 1}'
    )
    second = w.version({'v': 2})
    assert second == first + 1
    listed = appconfig.list_hosted_configuration_versions(
        ApplicationId=w.app, ConfigurationProfileId=w.profile
    )['Items']
    assert [v['VersionNumber'] for v in listed] == [second, first]
    appconfig.delete_hosted_configuration_version(
        ApplicationId=w.app, ConfigurationProfileId=w.profile, VersionNumber=first
    )
    with pytest.raises(appconfig.exceptions.ResourceNotFoundException):
        appconfig.get_hosted_configuration_version(
            ApplicationId=w.app, ConfigurationProfileId=w.profile, VersionNumber=first
        )

    appconfig.delete_environment(ApplicationId=w.app, EnvironmentId=w.env)
    with pytest.raises(appconfig.exceptions.ResourceNotFoundException):
        appconfig.get_environment(ApplicationId=w.app, EnvironmentId=w.env)
    assert appconfig.list_environments(ApplicationId=w.app)['Items'] == []


def test_deploy_tick_and_stop(appconfig, appconfigdata, cached, frozen_clock):
    w = World(appconfig)
    strategy = w.strategy(50, 10)
    w.start(strategy, w.version({'v': 1}))
    assert w.get(1)['State'] == 'DEPLOYING'
    assert w.environment_state() == 'Deploying'
    later(minutes=20)
    # The ticker thread's writes (a transaction on the deployment and the environment).
    summary = {}
    ticker = threading.Thread(target=lambda: summary.update(tick_now()))
    ticker.start()
    ticker.join()
    assert summary['completed'] == 1
    assert w.get(1)['State'] == 'COMPLETE'
    listed = appconfig.list_deployments(ApplicationId=w.app, EnvironmentId=w.env)['Items']
    assert [(d['DeploymentNumber'], d['State']) for d in listed] == [(1, 'COMPLETE')]

    w.start(strategy, w.version({'v': 2}))
    assert w.environment_state() == 'Deploying'
    # A second deployment is refused while this one runs: the guard is DynamoDB's condition.
    with pytest.raises(ClientError) as refused:
        w.start(strategy, w.version({'v': 3}))
    assert refused.value.response['Error']['Code'] == 'ConflictException'
    w.stop(2)
    assert w.get(2)['State'] == 'ROLLED_BACK'
    assert w.environment_state() == 'RolledBack'

    token = appconfigdata.start_configuration_session(
        ApplicationIdentifier=w.app,
        EnvironmentIdentifier=w.env,
        ConfigurationProfileIdentifier=w.profile,
    )['InitialConfigurationToken']
    polled = appconfigdata.get_latest_configuration(ConfigurationToken=token)
    assert polled['Configuration'].read() == b'{"v": 1}'


def test_writes_from_other_threads_and_batches(appconfig, cached):
    app = appconfig.create_application(Name='before')['Id']
    assert appconfig.get_application(ApplicationId=app)['Name'] == 'before'

    def rename():
        item = Application.get(arns.account(), app)
        item.update(actions=[Application.name.set('from a thread')])

    writer = threading.Thread(target=rename)
    writer.start()
    writer.join()
    assert appconfig.get_application(ApplicationId=app)['Name'] == 'from a thread'

    item = Application.get(arns.account(), app)
    item.name = 'from a batch'
    with Application.batch_write() as batch:
        batch.save(item)
    assert appconfig.get_application(ApplicationId=app)['Name'] == 'from a batch'
    with Application.batch_write() as batch:
        batch.delete(item)
    with pytest.raises(appconfig.exceptions.ResourceNotFoundException):
        appconfig.get_application(ApplicationId=app)


def test_a_failed_conditional_write_leaves_nothing_stale(appconfig, cached):
    w = World(appconfig)
    w.version({'v': 1})
    with pytest.raises(appconfig.exceptions.ConflictException):
        appconfig.create_hosted_configuration_version(
            ApplicationId=w.app,
            ConfigurationProfileId=w.profile,
            Content=b'{}',
            ContentType='application/json',
            LatestVersionNumber=7,
        )
    listed = appconfig.list_hosted_configuration_versions(
        ApplicationId=w.app, ConfigurationProfileId=w.profile
    )['Items']
    assert [v['VersionNumber'] for v in listed] == [1]
    assert w.version({'v': 2}) == 2


def test_the_cache_is_off_unless_configured(monkeypatch):
    monkeypatch.delenv(connection.ENV, raising=False)
    assert connection.configure() is None
    monkeypatch.setenv(connection.ENV, 'on')
    assert connection.configure().ttl is None
    monkeypatch.setenv(connection.ENV, '2.5')
    assert connection.configure().ttl == 2.5
    monkeypatch.setenv(connection.ENV, 'off')
    assert connection.configure() is None
    monkeypatch.setenv(connection.ENV, 'sometimes')
    with pytest.raises(ValueError):
        connection.configure()
    monkeypatch.delenv(connection.ENV)
    connection.configure()
