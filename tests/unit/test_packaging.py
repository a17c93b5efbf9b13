"""What `chalice package --stage prod` produces is a complete, lint-clean deployment.

Together with infra/tables.yaml the packaged template must hold: every operation's route,
IAM (SigV4) authorisation on each, binary media type */*, the one-minute tick, functions on
python3.11 with the stage's table prefix, and the hand-written least-privilege policies.
cfn-lint checks both templates. No AWS account is involved: packaging is local.
"""

import fcntl
import fnmatch
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest
import yaml

from chalicelib.wire.model import routes

ROOT = Path(__file__).resolve().parents[2]
TABLES = ROOT / 'infra' / 'tables.yaml'
STAGE = 'prod'
# Actions that AWS authorises only on Resource "*". None of the policies needs one today
# (cloudwatch:DescribeAlarms accepts alarm ARNs); X-Ray tracing would add its two here.
STAR_RESOURCE_ACTIONS = {
    'cloudwatch:DescribeAlarms',
    'xray:PutTraceSegments',
    'xray:PutTelemetryRecords',
}


@pytest.fixture(scope='module')
def package(tmp_path_factory):
    return _packaged(tmp_path_factory, STAGE)


def _packaged(tmp_path_factory, stage, *extra):
    out = tmp_path_factory.mktemp('chalice-package') / 'out'
    # The stage's environment (APPCONFIG_AUTH, APPCONFIG_TABLE_PREFIX) must come from
    # .chalice/config.json alone, not from whatever this process has set.
    env = {k: v for k, v in os.environ.items() if not k.startswith('APPCONFIG_')}
    env['AWS_DEFAULT_REGION'] = 'us-east-1'
    # chalice caches the dependency bundle in .chalice/deployments/; pytest-xdist workers
    # take turns so none reads a bundle another is still writing.
    lock = Path(tempfile.gettempdir()) / (
        f'appconfig-package-{hashlib.sha256(str(ROOT).encode()).hexdigest()[:12]}.lock'
    )
    with open(lock, 'w') as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        done = _chalice_package(out, env, stage, *extra)
    assert done.returncode == 0, f'chalice package failed:\n{done.stdout}\n{done.stderr}'
    template = json.loads((out / 'sam.json').read_text())
    return out, template


def _chalice_package(out, env, stage=STAGE, *extra):
    return subprocess.run(
        [
            sys.executable,
            '-c',
            'import sys; from chalice.cli import main; sys.exit(main())',
            '--project-dir',
            str(ROOT),
            'package',
            '--stage',
            stage,
            '--pkg-format',
            'cloudformation',
            *extra,
            str(out),
        ],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope='module')
def template(package):
    return package[1]


def _resources(template, kind):
    return {name: r for name, r in template['Resources'].items() if r['Type'] == kind}


def _api(template):
    (api,) = _resources(template, 'AWS::Serverless::Api').values()
    return api['Properties']


def _functions(template):
    return _resources(template, 'AWS::Serverless::Function')


def _role_policy(template, function):
    role = template['Resources'][function['Properties']['Role']['Fn::GetAtt'][0]]
    (policy,) = role['Properties']['Policies']
    return policy['PolicyDocument']


def _as_list(value):
    return value if isinstance(value, list) else [value]


def test_every_operation_is_routed_with_iam_auth(template):
    body = _api(template)['DefinitionBody']
    assert body['securityDefinitions']['sigv4']['x-amazon-apigateway-authtype'] == 'awsSigv4'
    expected = {(r.path, r.method.lower()) for r in routes()}
    assert len(expected) == 58
    packaged = {
        (path, method)
        for path, item in body['paths'].items()
        for method in item
        if method != 'parameters'
    }
    assert packaged == expected  # so no local-only path (/_appconfig/clock) is routed
    for path, method in expected:
        operation = body['paths'][path][method]
        assert operation['security'] == [{'sigv4': []}], f'{method.upper()} {path} is open'
        integration = operation['x-amazon-apigateway-integration']
        assert integration['type'] == 'aws_proxy'
        assert 'APIHandler.Arn' in integration['uri']['Fn::Sub']


def test_binary_media_type_and_endpoint(template):
    api = _api(template)
    # Every body is binary to API Gateway, so hosted content of any type passes unaltered.
    assert api['DefinitionBody']['x-amazon-apigateway-binary-media-types'] == ['*/*']
    assert api['EndpointConfiguration'] == 'REGIONAL'


def test_functions_runtime_and_environment(template):
    functions = _functions(template)
    api = functions['APIHandler']['Properties']
    assert api['Handler'] == 'app.app'
    # API Gateway gives up on the integration after 29 s; a longer Lambda timeout is waste.
    assert api['Timeout'] <= 29
    for name, function in functions.items():
        props = function['Properties']
        assert props['Runtime'] == 'python3.11', name
        env = props['Environment']['Variables']
        assert env['APPCONFIG_TABLE_PREFIX'] == f'appconfig-{STAGE}-', name
        assert env['APPCONFIG_AUTH'] == 'iam', name


def test_tick_runs_every_minute(template):
    tick = _functions(template).get('Tick')
    assert tick is not None, "no scheduled function named 'tick' in app.py"
    props = tick['Properties']
    assert props['Handler'] == 'app.tick'
    assert 60 <= props['Timeout'] <= 300
    schedules = [
        e['Properties']['Schedule'] for e in props['Events'].values() if e['Type'] == 'Schedule'
    ]
    assert schedules == ['rate(1 minute)']


def test_policies_are_the_hand_written_ones(template):
    functions = _functions(template)
    files = {'APIHandler': 'policy-prod-api.json', 'Tick': 'policy-prod-tick.json'}
    for name, function in functions.items():
        assert name in files, f'{name} has no hand-written policy'
        written = json.loads((ROOT / '.chalice' / files[name]).read_text())
        assert _role_policy(template, function) == written, name


def test_policies_are_least_privilege(template):
    roles = _resources(template, 'AWS::IAM::Role')
    assert roles
    for name, role in roles.items():
        for policy in role['Properties']['Policies']:
            for statement in policy['PolicyDocument']['Statement']:
                assert statement['Effect'] == 'Allow'
                actions = _as_list(statement['Action'])
                resources = _as_list(statement['Resource'])
                assert 'NotAction' not in statement and 'NotResource' not in statement
                for action in actions:
                    assert '*' not in action, f'{name}: wildcard action {action}'
                if '*' in resources:
                    assert set(actions) <= STAR_RESOURCE_ACTIONS, (
                        f'{name}: Resource "*" for {actions}'
                    )
                for resource in resources:
                    assert resource == '*' or not resource.startswith('arn:aws:*'), resource


def test_policies_reach_exactly_the_stage_tables(template):
    tables = yaml.safe_load(TABLES.read_text())
    names = [
        r['Properties']['TableName']['Fn::Sub'].replace('${Stage}', STAGE)
        for r in tables['Resources'].values()
        if r['Type'] == 'AWS::DynamoDB::Table'
    ]
    assert names
    for name, function in _functions(template).items():
        prefix = function['Properties']['Environment']['Variables']['APPCONFIG_TABLE_PREFIX']
        document = _role_policy(template, function)
        granted = [
            r
            for s in document['Statement']
            if any(a.startswith('dynamodb:') for a in _as_list(s['Action']))
            for r in _as_list(s['Resource'])
        ]
        assert sorted(granted) == sorted(
            [
                f'arn:aws:dynamodb:*:*:table/{prefix}*',
                f'arn:aws:dynamodb:*:*:table/{prefix}*/index/*',
            ]
        )
        for table in names:
            assert table.startswith(prefix)
            assert fnmatch.fnmatchcase(
                f'arn:aws:dynamodb:us-east-1:123456789012:table/{table}',
                granted[0].replace(':*:*:', ':us-east-1:123456789012:'),
            )
        actions = {a for s in document['Statement'] for a in _as_list(s['Action'])}
        # The design forbids Scan on any path, and tables come from infra/, not the code.
        assert not actions & {'dynamodb:Scan', 'dynamodb:CreateTable', 'dynamodb:DeleteTable'}


def test_deployment_package_holds_the_app(package):
    out, _ = package
    with zipfile.ZipFile(out / 'deployment.zip') as archive:
        names = set(archive.namelist())
    assert {'app.py', 'chalicelib/wire/model.py', 'chalicelib/store/tables.py'} <= names
    # The local runner and its local-only endpoints (the clock control) are not deployed.
    assert not [n for n in names if n.startswith('local/')]
    # The routes are derived from botocore's models at import time on Lambda too.
    for service, version in (('appconfig', '2019-10-09'), ('appconfigdata', '2021-11-11')):
        assert any(
            n.startswith(f'botocore/data/{service}/{version}/service-2.json') for n in names
        ), service


def test_the_console_is_not_packaged(package):
    # The console is the local runner's (local/console/): no route, no module, no Jinja2.
    out, template = package
    with zipfile.ZipFile(out / 'deployment.zip') as archive:
        names = archive.namelist()
    assert not [n for n in names if n.startswith(('local/', 'jinja2/', 'playwright/'))]
    assert not [p for p in _api(template)['DefinitionBody']['paths'] if 'console' in p]


def test_tables_template_is_generated_from_models():
    sys.path.insert(0, str(ROOT / 'infra'))
    try:
        import generate
    finally:
        sys.path.remove(str(ROOT / 'infra'))
    assert TABLES.read_text() == generate.render(), (
        'infra/tables.yaml is stale: run .venv/bin/python infra/generate.py and commit it'
    )


def test_tables_are_on_demand_encrypted_and_recoverable():
    tables = yaml.safe_load(TABLES.read_text())
    assert tables['Parameters']['Stage']['Default'] == STAGE
    for name, resource in tables['Resources'].items():
        props = resource['Properties']
        assert props['BillingMode'] == 'PAY_PER_REQUEST', name
        assert props['PointInTimeRecoverySpecification'] == {'PointInTimeRecoveryEnabled': True}
        assert props['SSESpecification']['SSEEnabled'] is True, name
        assert resource['DeletionPolicy'] == 'Retain', name
        assert f'{name}Arn' in tables['Outputs']


def _lint(path):
    from cfnlint.api import ManualArgs, lint_file  # pinned in requirements-dev.txt

    matches = lint_file(Path(path), config=ManualArgs(regions=['us-east-1']))
    return [
        f'{m.rule.id} {m.message} ({m.filename}:{m.linenumber})'
        for m in matches
        if m.rule.severity in ('error', 'warning')
    ]


def test_cfn_lint_packaged_template(package):
    out, _ = package
    assert _lint(out / 'sam.json') == []


def test_cfn_lint_tables_template():
    assert _lint(TABLES) == []


# --- the sigv4 stage: the app checks signatures against a Secrets Manager secret -------------

SIGV4_STAGE = 'sigv4'
MERGE = ROOT / 'infra' / 'sigv4-stage.json'


@pytest.fixture(scope='module')
def sigv4_package(tmp_path_factory):
    return _packaged(tmp_path_factory, SIGV4_STAGE, '--merge-template', str(MERGE))


@pytest.fixture(scope='module')
def sigv4_template(sigv4_package):
    return sigv4_package[1]


def _secret_resource(template):
    (name,) = _resources(template, 'AWS::SecretsManager::Secret')
    return name


def test_sigv4_stage_routes_have_no_iam_authorizer(sigv4_template):
    body = _api(sigv4_template)['DefinitionBody']
    assert 'securityDefinitions' not in body
    packaged = {
        (path, method)
        for path, item in body['paths'].items()
        for method in item
        if method != 'parameters'
    }
    assert packaged == {(r.path, r.method.lower()) for r in routes()}
    for path, method in packaged:
        assert 'security' not in body['paths'][path][method], f'{method.upper()} {path}'
    assert _api(sigv4_template)['DefinitionBody']['x-amazon-apigateway-binary-media-types'] == [
        '*/*'
    ]


def test_sigv4_stage_functions_check_signatures_against_the_secret(sigv4_template):
    secret = _secret_resource(sigv4_template)
    functions = _functions(sigv4_template)
    api = functions['APIHandler']['Properties']['Environment']['Variables']
    assert api['APPCONFIG_AUTH'] == 'sigv4'
    assert api['APPCONFIG_SIGV4_SERVICES'] == 'appconfig'
    assert api['APPCONFIG_CREDENTIALS_SECRET'] == {'Ref': secret}
    assert api['APPCONFIG_TABLE_PREFIX'] == f'appconfig-{SIGV4_STAGE}-'
    tick = functions['Tick']['Properties']['Environment']['Variables']
    assert 'APPCONFIG_CREDENTIALS_SECRET' not in tick
    assert sigv4_template['Outputs']['ServiceCredentialsSecret']['Value'] == {'Ref': secret}


def test_sigv4_stage_grants_that_one_secret_to_the_api_function_only(sigv4_template):
    secret = _secret_resource(sigv4_template)
    resource = sigv4_template['Resources'][secret]
    # Untagged, so the configuration-source statement (tag appconfig:access) cannot reach it.
    assert 'Tags' not in resource['Properties']
    grants = []
    documents = [
        (name, _role_policy(sigv4_template, f)) for name, f in _functions(sigv4_template).items()
    ]
    for name, policy in _resources(sigv4_template, 'AWS::IAM::Policy').items():
        documents.append(
            (
                tuple(r['Ref'] for r in policy['Properties']['Roles']),
                policy['Properties']['PolicyDocument'],
            )
        )
    for holder, document in documents:
        for statement in document['Statement']:
            for res in _as_list(statement['Resource']):
                if res == {'Ref': secret}:
                    grants.append((holder, statement))
                else:
                    assert isinstance(res, str), res
    # Exactly one statement names the secret: read, no wildcard, the API function's role.
    ((holder, statement),) = grants
    assert holder == ('ApiHandlerRole',)
    assert statement['Effect'] == 'Allow'
    assert _as_list(statement['Action']) == ['secretsmanager:GetSecretValue']
    assert 'Condition' not in statement
    role = _functions(sigv4_template)['APIHandler']['Properties']['Role']['Fn::GetAtt'][0]
    assert role == 'ApiHandlerRole'


def test_sigv4_stage_policies_are_the_hand_written_ones(sigv4_template):
    files = {'APIHandler': 'policy-sigv4-api.json', 'Tick': 'policy-sigv4-tick.json'}
    for name, function in _functions(sigv4_template).items():
        written = json.loads((ROOT / '.chalice' / files[name]).read_text())
        assert _role_policy(sigv4_template, function) == written, name
        prod = json.loads((ROOT / '.chalice' / files[name].replace('sigv4', 'prod')).read_text())
        # The same grants as prod, for this stage's tables, logs and tag.
        assert json.dumps(written) == json.dumps(prod).replace(
            'appconfig-prod', 'appconfig-sigv4'
        ).replace('appconfig:access": "prod"', 'appconfig:access": "sigv4"')


def test_cfn_lint_sigv4_template(sigv4_package):
    out, _ = sigv4_package
    assert _lint(out / 'sam.json') == []
