"""Extension actions at the action points, over HTTP with real boto3 clients.

SQS, SNS and EventBridge targets are moto's: the tests read what the service delivered from
real queues (an SNS subscription or an EventBridge rule forwards to a queue). moto's Lambda
needs docker, which is not available here, so Lambda targets are stubbed at the boundary:
``chalicelib.engine.extensions.targets.lambda_client`` is replaced by a fake that records each
Invoke
(function, invocation type, payload, role) and answers what the test scripts (a payload, a
function error, or a failed call).
"""

import base64
import io
import json

import boto3
import pytest

from chalicelib.engine.extensions import bindings, targets
from chalicelib.store.extensions import Association
from tests.api.deploying import World, later, tick_now

REGION = 'us-east-1'
ACCOUNT = '123456789012'
FUNCTION = f'arn:aws:lambda:{REGION}:{ACCOUNT}:function:hook'
ROLE = f'arn:aws:iam::{ACCOUNT}:role/appconfig-extensions'
SQS_EXTENSION = 'AWS.AppConfig.DeploymentNotificationsToSqs'
JSON = 'application/json'


class FunctionError(Exception):
    """Scripted answer: the function ran and failed (X-Amz-Function-Error)."""


class FakeLambda:
    """Stands in for boto3's Lambda client; ``answers`` maps a function ARN to a callable
    taking the event and returning the payload (dict or None), raising FunctionError for a
    function error, or raising anything else for a failed call."""

    def __init__(self):
        self.calls = []
        self.answers = {}

    def factory(self, region, role_arn=None):
        fake = self

        class Client:
            def invoke(self, FunctionName, InvocationType, Payload):
                event = json.loads(Payload)
                fake.calls.append(
                    {
                        'FunctionName': FunctionName,
                        'InvocationType': InvocationType,
                        'Event': event,
                        'Role': role_arn,
                        'Region': region,
                    }
                )
                answer = fake.answers.get(FunctionName, lambda e: None)
                try:
                    result = answer(event)
                except FunctionError as error:
                    body = {'errorMessage': str(error), 'errorType': 'ValueError'}
                    return {
                        'StatusCode': 200,
                        'FunctionError': 'Unhandled',
                        'Payload': io.BytesIO(json.dumps(body).encode()),
                    }
                raw = b'' if result is None else json.dumps(result).encode()
                status = 202 if InvocationType == 'Event' else 200
                return {'StatusCode': status, 'Payload': io.BytesIO(raw)}

        return Client()

    def events(self, type_=None):
        return [c['Event'] for c in self.calls if type_ is None or c['Event']['Type'] == type_]


@pytest.fixture
def fake_lambda(monkeypatch):
    fake = FakeLambda()
    monkeypatch.setattr(targets, 'lambda_client', fake.factory)
    return fake


@pytest.fixture
def sqs():
    return boto3.client('sqs', region_name=REGION)


def queue(sqs, name='deployments'):
    url = sqs.create_queue(QueueName=name)['QueueUrl']
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=['QueueArn'])['Attributes'][
        'QueueArn'
    ]
    return url, arn


def drain(sqs, url):
    out = []
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get('Messages', [])
        if not got:
            return out
        for m in got:
            out.append(json.loads(m['Body']))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m['ReceiptHandle'])


def arn_of(world, kind='application'):
    base = f'arn:aws:appconfig:{REGION}:{ACCOUNT}:application/{world.app}'
    return {
        'application': base,
        'environment': f'{base}/environment/{world.env}',
        'profile': f'{base}/configurationprofile/{world.profile}',
    }[kind]


def events_of(deployment, event_type):
    return [e for e in deployment['EventLog'] if e['EventType'] == event_type]


def lambda_extension(appconfig, point, name='hook', uri=FUNCTION, **extra):
    return appconfig.create_extension(
        Name=name, Actions={point: [{'Name': f'{name}-action', 'Uri': uri}]}, **extra
    )


def associate(appconfig, world, extension, kind='application', **params):
    return appconfig.create_extension_association(
        ExtensionIdentifier=extension, ResourceIdentifier=arn_of(world, kind), **params
    )


# --- the AWS-authored notification extensions ---------------------------------------------


def test_sqs_notifications_on_start_and_complete(appconfig, sqs):
    w = World(appconfig)
    url, queue_arn = queue(sqs)
    assoc = associate(appconfig, w, SQS_EXTENSION, Parameters={'queueArn': queue_arn})
    version = w.version({'v': 1})
    started = w.start('AppConfig.AllAtOnce', version=version, Description='first rollout')
    [start] = drain(sqs, url)
    assert start['Type'] == 'OnDeploymentStart'
    later(minutes=10)
    tick_now()
    [complete] = drain(sqs, url)
    assert list(complete) == [
        'InvocationId',
        'Parameters',
        'Application',
        'Environment',
        'ConfigurationProfile',
        'Description',
        'DeploymentNumber',
        'ConfigurationVersion',
        'Type',
    ]
    assert complete['Type'] == 'OnDeploymentComplete'
    assert complete['Parameters'] == {'queueArn': queue_arn}
    assert complete['Application'] == {'Id': w.app, 'Name': 'shop'}
    assert complete['Environment'] == {'Id': w.env, 'Name': 'prod'}
    assert complete['ConfigurationProfile'] == {'Id': w.profile, 'Name': 'settings'}
    assert complete['Description'] == 'first rollout'
    assert complete['DeploymentNumber'] == '1'  # a string in the documented format
    assert complete['ConfigurationVersion'] == str(version)
    assert len(complete['InvocationId']) == 7 and complete['InvocationId'] != start['InvocationId']

    d = w.get(started['DeploymentNumber'])
    assert d['State'] == 'COMPLETE'
    expected_invocation = {
        'ExtensionIdentifier': f'arn:aws:appconfig:{REGION}::extension/{SQS_EXTENSION}/1',
        'ActionName': 'SendMessageToSqs',
        'Uri': queue_arn,
        'InvocationId': complete['InvocationId'],
    }
    [completed] = events_of(d, 'DEPLOYMENT_COMPLETED')
    assert completed['ActionInvocations'] == [expected_invocation]
    [first] = events_of(d, 'DEPLOYMENT_STARTED')
    assert [i['InvocationId'] for i in first['ActionInvocations']] == [start['InvocationId']]
    for quiet in ('PERCENTAGE_UPDATED', 'BAKE_TIME_STARTED'):
        assert all('ActionInvocations' not in e for e in events_of(d, quiet))
    assert d['AppliedExtensions'] == [
        {
            'ExtensionId': SQS_EXTENSION,
            'ExtensionAssociationId': assoc['Id'],
            'VersionNumber': 1,
            'Parameters': {'queueArn': queue_arn},
        }
    ]
    assert started['AppliedExtensions'] == d['AppliedExtensions']


def test_sns_notifications_on_start_and_rollback(appconfig, sqs):
    w = World(appconfig)
    sns = boto3.client('sns', region_name=REGION)
    topic = sns.create_topic(Name='deployments')['TopicArn']
    url, queue_arn = queue(sqs)
    sns.subscribe(TopicArn=topic, Protocol='sqs', Endpoint=queue_arn)
    associate(
        appconfig,
        w,
        'AWS.AppConfig.DeploymentNotificationsToSns',
        'environment',
        Parameters={'topicArn': topic},
    )
    strategy = w.strategy(50, 10)
    w.start(strategy)
    later(minutes=4)
    tick_now()  # a step: not one of the three points
    w.stop(1)
    envelopes = drain(sqs, url)
    assert [json.loads(e['Message'])['Type'] for e in envelopes] == [
        'OnDeploymentStart',
        'OnDeploymentRolledBack',
    ]
    rolled_back = envelopes[1]
    assert rolled_back['TopicArn'] == topic
    assert rolled_back['MessageAttributes']['MessageType'] == {
        'Type': 'String',
        'Value': 'OnDeploymentRolledBack',
    }
    message = json.loads(rolled_back['Message'])
    assert message['Parameters'] == {'topicArn': topic}
    assert message['DeploymentNumber'] == '1'
    d = w.get(1)
    assert d['State'] == 'ROLLED_BACK'
    [done] = events_of(d, 'ROLLBACK_COMPLETED')
    assert done['ActionInvocations'][0]['Uri'] == topic
    assert done['ActionInvocations'][0]['InvocationId'] == message['InvocationId']


def test_eventbridge_notifications_to_the_default_bus(appconfig, sqs):
    w = World(appconfig)
    events = boto3.client('events', region_name=REGION)
    url, queue_arn = queue(sqs)
    events.put_rule(Name='appconfig', EventPattern=json.dumps({'source': ['appconfig.local']}))
    events.put_targets(Rule='appconfig', Targets=[{'Id': 'queue', 'Arn': queue_arn}])
    assoc = associate(appconfig, w, 'AWS.AppConfig.DeploymentNotificationsToEventBridge', 'profile')
    w.start('AppConfig.AllAtOnce')
    [event] = drain(sqs, url)
    assert event['detail-type'] == 'On Deployment Start'
    assert event['source'] == 'appconfig.local'
    assert event['resources'] == [assoc['Arn']]
    detail = event['detail']
    assert detail['Type'] == 'OnDeploymentStart'
    assert detail['DeploymentNumber'] == 1  # a number on EventBridge
    assert detail['Application'] == {'Id': w.app, 'Name': 'shop'}
    assert detail['ConfigurationProfile'] == {'Id': w.profile, 'Name': 'settings'}
    assert detail['Parameters'] == {}
    [first] = events_of(w.get(1), 'DEPLOYMENT_STARTED')
    assert (
        first['ActionInvocations'][0]['Uri']
        == f'arn:aws:events:{REGION}:{ACCOUNT}:event-bus/default'
    )


def test_custom_extension_on_every_deployment_point(appconfig, sqs):
    w = World(appconfig)
    url, queue_arn = queue(sqs)
    points = (
        'ON_DEPLOYMENT_START',
        'ON_DEPLOYMENT_STEP',
        'ON_DEPLOYMENT_BAKING',
        'ON_DEPLOYMENT_COMPLETE',
    )
    appconfig.create_extension(
        Name='all', Actions={p: [{'Name': p.lower(), 'Uri': queue_arn}] for p in points}
    )
    associate(appconfig, w, 'all', 'environment')
    w.start(w.strategy(50, 10, bake=5))
    later(minutes=20)
    tick_now()
    messages = drain(sqs, url)
    assert [m['Type'] for m in messages] == [
        'OnDeploymentStart',
        'OnDeploymentStep',
        'OnDeploymentStep',
        'OnDeploymentBaking',
        'OnDeploymentComplete',
    ]
    d = w.get(1)
    steps = events_of(d, 'PERCENTAGE_UPDATED')
    assert [e['ActionInvocations'][0]['ActionName'] for e in steps] == ['on_deployment_step'] * 2


def test_delivery_errors_are_recorded_and_never_block(appconfig, sqs):
    w = World(appconfig)
    missing = f'arn:aws:sqs:{REGION}:{ACCOUNT}:no-such-queue'
    appconfig.create_extension(
        Name='broken', Actions={'ON_DEPLOYMENT_START': [{'Name': 'tell', 'Uri': missing}]}
    )
    associate(appconfig, w, 'broken')
    started = w.start('AppConfig.AllAtOnce')
    assert started['State'] == 'BAKING'
    [first] = events_of(started, 'DEPLOYMENT_STARTED')
    [invocation] = first['ActionInvocations']
    assert invocation['Uri'] == missing
    assert invocation['ErrorCode'] and invocation['ErrorMessage']
    assert events_of(w.get(1), 'DEPLOYMENT_STARTED')[0]['ActionInvocations'] == [invocation]


def test_actions_follow_what_the_association_covers(appconfig, sqs):
    w = World(appconfig)
    url, queue_arn = queue(sqs)
    other_env = appconfig.create_environment(ApplicationId=w.app, Name='staging')['Id']
    other_profile = appconfig.create_configuration_profile(
        ApplicationId=w.app, Name='other', LocationUri='hosted'
    )['Id']
    base = arn_of(w)
    for resource in (
        f'{base}/environment/{other_env}',
        f'{base}/configurationprofile/{other_profile}',
    ):
        appconfig.create_extension_association(
            ExtensionIdentifier=SQS_EXTENSION,
            ResourceIdentifier=resource,
            Parameters={'queueArn': queue_arn},
        )
    started = w.start('AppConfig.AllAtOnce')
    assert drain(sqs, url) == []
    assert started['AppliedExtensions'] == []
    # An association on the profile covers its deployments to every environment, from now on.
    associate(appconfig, w, SQS_EXTENSION, 'profile', Parameters={'queueArn': queue_arn})
    later(minutes=10)
    tick_now()
    appconfig.start_deployment(
        ApplicationId=w.app,
        EnvironmentId=other_env,
        DeploymentStrategyId='AppConfig.AllAtOnce',
        ConfigurationProfileId=w.profile,
        ConfigurationVersion='1',
    )
    # The first deployment completes under the new association; the one to the other
    # environment is covered twice: by that environment's association and by the profile's.
    assert [(m['Environment']['Id'], m['Type']) for m in drain(sqs, url)] == [
        (w.env, 'OnDeploymentComplete'),
        (other_env, 'OnDeploymentStart'),
        (other_env, 'OnDeploymentStart'),
    ]


def test_role_arn_is_assumed_for_the_target(appconfig, sqs):
    w = World(appconfig)
    url, queue_arn = queue(sqs)
    appconfig.create_extension(
        Name='as-role',
        Actions={'ON_DEPLOYMENT_START': [{'Name': 'tell', 'Uri': queue_arn, 'RoleArn': ROLE}]},
    )
    associate(appconfig, w, 'as-role')
    started = w.start('AppConfig.AllAtOnce')
    assert [m['Type'] for m in drain(sqs, url)] == ['OnDeploymentStart']
    invocation = events_of(started, 'DEPLOYMENT_STARTED')[0]['ActionInvocations'][0]
    assert invocation['RoleArn'] == ROLE and 'ErrorCode' not in invocation


def test_without_associations_nothing_is_added(appconfig, monkeypatch):
    w = World(appconfig)
    queries = []
    original = Association.query.__func__

    def counting(cls, *args, **kwargs):
        queries.append(args)
        return original(cls, *args, **kwargs)

    monkeypatch.setattr(Association, 'query', classmethod(counting))
    bindings.invalidate()
    started = w.start('AppConfig.AllAtOnce')
    later(minutes=10)
    tick_now()
    w.start('AppConfig.AllAtOnce')
    assert started['AppliedExtensions'] == []
    assert all('ActionInvocations' not in e for e in w.get(1)['EventLog'])
    # One Query said the account has no associations; the answer was reused since.
    assert len(queries) == 1


# --- Lambda actions (stubbed Lambda) --------------------------------------------------------


def test_pre_create_hosted_version_may_replace_the_content(appconfig, fake_lambda):
    w = World(appconfig)
    lambda_extension(
        appconfig,
        'PRE_CREATE_HOSTED_CONFIGURATION_VERSION',
        Parameters={'suffix': {'Required': True}},
    )
    associate(appconfig, w, 'hook', 'profile', Parameters={'suffix': '!'})

    def shout(event):
        text = base64.b64decode(event['Content']).decode()
        return {
            'Content': base64.b64encode(
                (text.upper() + event['Parameters']['suffix']).encode()
            ).decode()
        }

    fake_lambda.answers[FUNCTION] = shout
    created = appconfig.create_hosted_configuration_version(
        ApplicationId=w.app,
        ConfigurationProfileId=w.profile,
        Content=b'hello',
        ContentType='text/plain',
        Description='greeting',
        VersionLabel='v1',
    )
    assert created['Content'].read() == b'HELLO!'
    stored = appconfig.get_hosted_configuration_version(
        ApplicationId=w.app, ConfigurationProfileId=w.profile, VersionNumber=1
    )
    assert stored['Content'].read() == b'HELLO!'
    [call] = fake_lambda.calls
    assert call['InvocationType'] == 'RequestResponse'
    event = call['Event']
    assert event['Type'] == 'PreCreateHostedConfigurationVersion'
    assert base64.b64decode(event['Content']) == b'hello'
    assert event['Application'] == {'Id': w.app, 'Name': 'shop'}
    assert event['ConfigurationProfile'] == {'Id': w.profile, 'Name': 'settings'}
    assert (event['ContentType'], event['Description'], event['VersionLabel']) == (
        'text/plain',
        'greeting',
        'v1',
    )
    assert event['Parameters'] == {'suffix': '!'}


def test_pre_create_failure_refuses_the_version(appconfig, fake_lambda):
    w = World(appconfig)
    lambda_extension(appconfig, 'PRE_CREATE_HOSTED_CONFIGURATION_VERSION', name='gate')
    associate(appconfig, w, 'gate')

    def refuse(event):
        raise FunctionError('secrets are not allowed in configuration')

    fake_lambda.answers[FUNCTION] = refuse
    with pytest.raises(appconfig.exceptions.BadRequestException) as err:
        w.version({'password': 'hunter2'})
    assert err.value.response['Error']['Message'] == (
        'Error invoking extension gate: secrets are not allowed in configuration'
    )
    assert (
        appconfig.list_hosted_configuration_versions(
            ApplicationId=w.app, ConfigurationProfileId=w.profile
        )['Items']
        == []
    )
    fake_lambda.answers[FUNCTION] = lambda event: {'Content': 'not base64!'}
    with pytest.raises(appconfig.exceptions.BadRequestException) as err:
        w.version({'v': 1})
    assert 'gate' in err.value.response['Error']['Message']


def test_pre_start_deployment_replaces_what_is_deployed(appconfig, appconfigdata, fake_lambda):
    w = World(appconfig)
    lambda_extension(
        appconfig,
        'PRE_START_DEPLOYMENT',
        Parameters={'env': {'Required': True}, 'ticket': {'Dynamic': True}},
    )
    assoc = associate(appconfig, w, 'hook', 'environment', Parameters={'env': 'prod'})
    fake_lambda.answers[FUNCTION] = lambda event: {
        'Content': base64.b64encode(json.dumps({'stamped': event['Parameters']}).encode()).decode()
    }
    version = w.version({'v': 1})
    started = w.start(
        'AppConfig.AllAtOnce',
        version=version,
        Description='with ticket',
        DynamicExtensionParameters={'hook#ticket': 'T-1'},
    )
    [call] = fake_lambda.calls
    event = call['Event']
    assert event['Type'] == 'PreStartDeployment'
    assert json.loads(base64.b64decode(event['Content'])) == {'v': 1}
    assert event['Parameters'] == {'env': 'prod', 'ticket': 'T-1'}
    assert event['Environment'] == {'Id': w.env, 'Name': 'prod'}
    assert (event['ConfigurationVersion'], event['Description']) == (str(version), 'with ticket')
    token = appconfigdata.start_configuration_session(
        ApplicationIdentifier=w.app,
        EnvironmentIdentifier=w.env,
        ConfigurationProfileIdentifier=w.profile,
    )['InitialConfigurationToken']
    delivered = appconfigdata.get_latest_configuration(ConfigurationToken=token)
    assert json.loads(delivered['Configuration'].read()) == {
        'stamped': {'env': 'prod', 'ticket': 'T-1'}
    }
    # The stored version is untouched.
    assert json.loads(
        appconfig.get_hosted_configuration_version(
            ApplicationId=w.app, ConfigurationProfileId=w.profile, VersionNumber=version
        )['Content'].read()
    ) == {'v': 1}
    ext_id = appconfig.get_extension(ExtensionIdentifier='hook')['Id']
    for d in (started, w.get(1)):
        assert d['AppliedExtensions'] == [
            {
                'ExtensionId': ext_id,
                'ExtensionAssociationId': assoc['Id'],
                'VersionNumber': 1,
                'Parameters': {'env': 'prod', 'ticket': 'T-1'},
            }
        ]
        [first] = events_of(d, 'DEPLOYMENT_STARTED')
        assert first['ActionInvocations'] == [
            {
                'ExtensionIdentifier': f'arn:aws:appconfig:{REGION}:{ACCOUNT}:extension/{ext_id}/1',
                'ActionName': 'hook-action',
                'Uri': FUNCTION,
                'InvocationId': event['InvocationId'],
            }
        ]


def test_pre_start_deployment_failure_deploys_nothing(appconfig, fake_lambda):
    w = World(appconfig)
    lambda_extension(
        appconfig,
        'PRE_START_DEPLOYMENT',
        name='approval',
        Parameters={'ticket': {'Dynamic': True}, 'team': {}},
    )
    associate(appconfig, w, 'approval')

    def deny(event):
        raise FunctionError('change ticket missing')

    fake_lambda.answers[FUNCTION] = deny
    with pytest.raises(appconfig.exceptions.BadRequestException) as err:
        w.start('AppConfig.AllAtOnce')
    assert err.value.response['Error']['Message'] == (
        'Error invoking extension approval: change ticket missing'
    )
    assert appconfig.list_deployments(ApplicationId=w.app, EnvironmentId=w.env)['Items'] == []
    assert w.environment_state() == 'ReadyForDeployment'
    # A deploy-time value for a parameter that is not Dynamic is refused.
    fake_lambda.answers[FUNCTION] = lambda event: None
    with pytest.raises(appconfig.exceptions.BadRequestException) as err:
        w.start('AppConfig.AllAtOnce', DynamicExtensionParameters={'approval#team': 'web'})
    assert 'no dynamic parameter team' in err.value.response['Error']['Message']
    assert (
        w.start('AppConfig.AllAtOnce', DynamicExtensionParameters={'approval#ticket': 'T-9'})[
            'State'
        ]
        == 'BAKING'
    )


def test_at_deployment_tick_continue_then_roll_back(appconfig, sqs, fake_lambda):
    w = World(appconfig)
    url, queue_arn = queue(sqs)
    appconfig.create_extension(
        Name='watchdog',
        Actions={
            'AT_DEPLOYMENT_TICK': [{'Name': 'check', 'Uri': FUNCTION}],
            'ON_DEPLOYMENT_ROLLED_BACK': [{'Name': 'tell', 'Uri': queue_arn}],
        },
        Parameters={'MONITOR_IDS': {'Required': True}},
    )
    associate(appconfig, w, 'watchdog', Parameters={'MONITOR_IDS': '42'})
    verdict = {'Directive': 'CONTINUE'}
    fake_lambda.answers[FUNCTION] = lambda event: verdict
    w.start(w.strategy(20, 10))
    later(minutes=2)
    tick_now()
    assert w.get(1)['State'] == 'DEPLOYING'
    [event] = fake_lambda.events('AtDeploymentTick')
    assert event['Parameters'] == {'MONITOR_IDS': '42'}
    assert (event['DeploymentNumber'], event['DeploymentState']) == (1, 'DEPLOYING')
    assert event['ConfigurationProfile'] == {'Id': w.profile, 'Name': 'settings'}
    verdict = {'Directive': 'ROLL_BACK', 'Description': 'Monitor id 42 is not OK'}
    later(minutes=1)
    tick_now()
    d = w.get(1)
    assert d['State'] == 'ROLLED_BACK'
    assert w.environment_state() == 'RolledBack'
    [rollback] = events_of(d, 'ROLLBACK_STARTED')
    assert rollback['TriggeredBy'] == 'APPCONFIG'
    assert 'watchdog' in rollback['Description']
    assert 'Monitor id 42 is not OK' in rollback['Description']
    last = fake_lambda.events('AtDeploymentTick')[-1]
    assert rollback['ActionInvocations'] == [
        {
            'ExtensionIdentifier': appconfig.get_extension(ExtensionIdentifier='watchdog')['Arn'],
            'ActionName': 'check',
            'Uri': FUNCTION,
            'InvocationId': last['InvocationId'],
        }
    ]
    assert [m['Type'] for m in drain(sqs, url)] == ['OnDeploymentRolledBack']
    calls = len(fake_lambda.calls)
    later(minutes=5)
    tick_now()
    assert len(fake_lambda.calls) == calls  # no ticks once it is over


def test_at_deployment_tick_failure_rolls_back(appconfig, fake_lambda):
    w = World(appconfig)
    lambda_extension(appconfig, 'AT_DEPLOYMENT_TICK', name='flaky')
    associate(appconfig, w, 'flaky', 'profile')

    def crash(event):
        raise FunctionError('datadog unreachable')

    fake_lambda.answers[FUNCTION] = crash
    w.start('AppConfig.AllAtOnce')  # BAKING: ticks still ask
    later(minutes=1)
    tick_now()
    d = w.get(1)
    assert d['State'] == 'ROLLED_BACK'
    [rollback] = events_of(d, 'ROLLBACK_STARTED')
    [invocation] = rollback['ActionInvocations']
    assert invocation['ErrorCode'] == 'ValueError'
    assert invocation['ErrorMessage'] == 'datadog unreachable'


def test_on_actions_invoke_lambda_asynchronously(appconfig, fake_lambda):
    w = World(appconfig)
    appconfig.create_extension(
        Name='audit',
        Actions={
            'ON_DEPLOYMENT_START': [{'Name': 'log', 'Uri': FUNCTION, 'RoleArn': ROLE}],
            'ON_DEPLOYMENT_COMPLETE': [{'Name': 'done', 'Uri': FUNCTION + ':live'}],
        },
    )
    associate(appconfig, w, 'audit')

    def unavailable(event):
        raise RuntimeError('throttled')

    fake_lambda.answers[FUNCTION + ':live'] = unavailable
    w.start('AppConfig.AllAtOnce', Description='audited')
    later(minutes=10)
    tick_now()
    assert w.get(1)['State'] == 'COMPLETE'
    start, complete = fake_lambda.calls
    assert (start['InvocationType'], start['Role'], start['Region']) == ('Event', ROLE, REGION)
    assert start['Event']['Type'] == 'OnDeploymentStart'
    assert (start['Event']['DeploymentNumber'], start['Event']['Description']) == (1, 'audited')
    assert complete['FunctionName'] == FUNCTION + ':live'
    [done] = events_of(w.get(1), 'DEPLOYMENT_COMPLETED')
    assert done['ActionInvocations'][0]['ErrorCode'] == 'RuntimeError'
    assert done['ActionInvocations'][0]['ErrorMessage'] == 'throttled'


def test_revert_counts_as_rolled_back(appconfig, sqs):
    w = World(appconfig)
    url, queue_arn = queue(sqs)
    associate(appconfig, w, SQS_EXTENSION, 'environment', Parameters={'queueArn': queue_arn})
    w.start('AppConfig.AllAtOnce')
    later(minutes=10)
    tick_now()
    w.stop(1, allow_revert=True)
    assert [m['Type'] for m in drain(sqs, url)] == [
        'OnDeploymentStart',
        'OnDeploymentComplete',
        'OnDeploymentRolledBack',
    ]
    d = w.get(1)
    assert d['State'] == 'REVERTED'
    [reverted] = events_of(d, 'REVERT_COMPLETED')
    assert reverted['ActionInvocations'][0]['Uri'] == queue_arn
