"""The console over HTTP (no browser): what it refuses, what it escapes, the errors it shows
and the rules it follows, each the API's own."""

import http.client
import json
import re
from urllib.parse import urlencode

import pytest

from chalicelib import clock
from local import console
from local.console import api


@pytest.fixture(scope='module')
def port():
    from app import app
    from local.server import serve_in_thread

    server = serve_in_thread(app, mounts=[(console.PREFIX, console.mount)])
    yield server.port
    server.shutdown()


class Page:
    def __init__(self, response):
        self.status = response.status
        self.headers = response
        self.location = response.getheader('Location')
        self.text = response.read().decode()


@pytest.fixture
def web(port):
    def send(method, path, form=None, token=True, headers=None):
        conn = http.client.HTTPConnection('127.0.0.1', port, timeout=10)
        sent = {'Host': f'127.0.0.1:{port}', **(headers or {})}
        body = None
        if form is not None:
            body = urlencode({**form, **({'_token': console.web.TOKEN} if token else {})})
            sent['Content-Type'] = 'application/x-www-form-urlencoded'
        conn.request(method, path, body=body, headers=sent)
        try:
            return Page(conn.getresponse())
        finally:
            conn.close()

    return send


def _app(name='shop'):
    return api.call('CreateApplication', Name=name)['Id']


def test_a_post_needs_the_token_and_this_origin(web, port):
    assert web('POST', '/console/applications', {'name': 'a'}, token=False).status == 403
    refused = web(
        'POST', '/console/applications', {'name': 'b'}, headers={'Origin': 'http://evil.example'}
    )
    assert refused.status == 403 and 'Cross-site' in refused.text
    refused = web(
        'POST', '/console/applications', {'name': 'c'}, headers={'Sec-Fetch-Site': 'cross-site'}
    )
    assert refused.status == 403
    assert api.call('ListApplications')['Items'] == []
    made = web(
        'POST',
        '/console/applications',
        {'name': 'd'},
        headers={'Origin': f'http://127.0.0.1:{port}', 'Sec-Fetch-Site': 'same-origin'},
    )
    assert made.status == 303
    assert [a['Name'] for a in api.call('ListApplications')['Items']] == ['d']


def test_only_a_loopback_host_is_served(web):
    # A DNS name rebound to 127.0.0.1 must not read a page (and with it the token).
    page = web('GET', '/console/', headers={'Host': 'attacker.example:8000'})
    assert page.status == 403 and console.web.TOKEN not in page.text
    assert web('GET', '/console/', headers={'Host': 'localhost:8000'}).status == 200


def test_everything_shown_is_escaped(web):
    app_id = _app('<img src=x onerror=alert(1)>')
    api.call('CreateEnvironment', ApplicationId=app_id, Name='"><script>alert(2)</script>')
    for path in ('/console/', f'/console/applications/{app_id}'):
        page = web('GET', path)
        assert page.status == 200
        assert '<img src=x' not in page.text and '<script>alert' not in page.text
        assert '&lt;img src=x onerror=alert(1)&gt;' in page.text
    csp = web('GET', '/console/').headers.getheader('Content-Security-Policy')
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp


def test_operation_errors_are_shown_as_messages(web):
    page = web('POST', '/console/applications', {'name': 'x' * 65})
    assert page.status == 400
    assert re.search(r'BadRequestException: 1 validation error detected: .*name', page.text)
    assert 'value="' + 'x' * 65 + '"' in page.text  # what was typed is kept
    missing = web('GET', '/console/applications/nope123')
    assert missing.status == 404 and 'ResourceNotFoundException' in missing.text
    assert web('GET', '/console/no/such/page').status == 404
    assert web('DELETE', '/console/').status == 405


def test_versions_are_checked_by_content_type_then_stored_as_typed(web):
    app_id = _app()
    profile = api.call(
        'CreateConfigurationProfile', ApplicationId=app_id, Name='p', LocationUri='hosted'
    )['Id']
    base = f'/console/applications/{app_id}/profiles/{profile}'
    bad_yaml = web(
        'POST', base + '/versions', {'content': 'a: [1, 2', 'content_type': 'application/x-yaml'}
    )
    assert bad_yaml.status == 400 and 'Not valid YAML' in bad_yaml.text
    assert 'line 1' in bad_yaml.text
    bad_json = web(
        'POST', base + '/versions', {'content': '{"a": 1,}', 'content_type': 'application/json'}
    )
    assert bad_json.status == 400 and 'Not valid JSON' in bad_json.text
    for content, kind in (
        ('a: 1\nb: [x, y]\n', 'application/x-yaml'),
        ('{not json at all', 'text/plain'),
        ('a: 2\nb: [x, z]\n', 'application/x-yaml'),
    ):
        assert (
            web('POST', base + '/versions', {'content': content, 'content_type': kind}).status
            == 303
        )
    versions = api.call(
        'ListHostedConfigurationVersions', ApplicationId=app_id, ConfigurationProfileId=profile
    )['Items']
    assert [v['ContentType'] for v in versions] == [
        'application/x-yaml',
        'text/plain',
        'application/x-yaml',
    ]
    shown = web('GET', base + '/versions/2')
    assert '{not json at all' in shown.text
    diff = web('GET', base + '/diff?from=1&to=3')
    assert re.search(r'class="ddel">.*-a: 1', diff.text)
    assert re.search(r'class="dadd">.*\+a: 2', diff.text)
    copied = web('POST', base + '/versions/1/copy', {})
    assert copied.status == 303 and copied.location.endswith('/versions/4')
    check = web('POST', '/console/check', {'kind': 'content:application/json', 'text': '[1,'})
    assert '"ok": false' in check.text and 'Not valid JSON' in check.text


def test_rules_are_checked_by_the_services_parser(web):
    bad = json.loads(web('POST', '/console/check', {'kind': 'rule', 'text': '(eq $a)'}).text)
    assert bad['ok'] is False and 'eq takes exactly 2 operands, got 1' in bad['message']
    good = json.loads(
        web('POST', '/console/check', {'kind': 'rule', 'text': '(begins_with $a "x")'}).text
    )
    assert good == {'ok': True, 'message': 'Valid rule.'}
    assert web('POST', '/console/check', {'kind': 'nope', 'text': ''}).status == 400


def _deployed(strategy='AppConfig.AllAtOnce'):
    app_id = _app()
    env = api.call('CreateEnvironment', ApplicationId=app_id, Name='prod')['Id']
    profile = api.call(
        'CreateConfigurationProfile', ApplicationId=app_id, Name='p', LocationUri='hosted'
    )['Id']
    api.call(
        'CreateHostedConfigurationVersion',
        ApplicationId=app_id,
        ConfigurationProfileId=profile,
        Content=b'{}',
        ContentType='application/json',
    )
    api.call(
        'StartDeployment',
        ApplicationId=app_id,
        EnvironmentId=env,
        ConfigurationProfileId=profile,
        ConfigurationVersion='1',
        DeploymentStrategyId=strategy,
    )
    return f'/console/applications/{app_id}/environments/{env}/deployments/1'


def _buttons(text):
    """Which of the two buttons can be pressed."""
    tags = {
        name: re.search(f'<button[^>]*id="{name}"[^>]*>', text).group(0)
        for name in ('stop', 'revert')
    }
    return {name: ' disabled' not in tag for name, tag in tags.items()}


def test_stop_and_revert_follow_the_services_rules(web):
    path = _deployed()
    assert _buttons(web('GET', path).text) == {'stop': True, 'revert': False}  # baking
    clock.advance(minutes=10)
    page = web('GET', path)
    assert 'COMPLETE' in page.text
    assert _buttons(page.text) == {'stop': False, 'revert': True}
    refused = web('POST', path + '/stop', {})
    assert refused.status == 400 and 'cannot be stopped' in refused.text
    clock.advance(hours=72, seconds=1)
    page = web('GET', path)
    assert _buttons(page.text) == {'stop': False, 'revert': False}
    late = web('POST', path + '/revert', {})
    assert late.status == 400 and 'can no longer be reverted' in late.text


def test_revert_within_the_window(web):
    path = _deployed()
    clock.advance(hours=24)
    assert web('POST', path + '/revert', {}).status == 303
    page = web('GET', path)
    assert 'REVERTED' in page.text and 'REVERT_COMPLETED' in page.text
    assert _buttons(page.text) == {'stop': False, 'revert': False}
    fragment = web('GET', path + '/live')
    assert fragment.headers.getheader('X-Console-Refresh') == '5000'
    assert '<html' not in fragment.text and 'REVERT_COMPLETED' in fragment.text


def test_static_files_and_nothing_else(web):
    assert web('GET', '/console/static/console.js').status == 200
    assert web('GET', '/console/static/../web.py').status == 404


def _flags_profile():
    app_id = _app()
    profile = api.call(
        'CreateConfigurationProfile',
        ApplicationId=app_id,
        Name='flags',
        LocationUri='hosted',
        Type='AWS.AppConfig.FeatureFlags',
    )['Id']
    return app_id, profile, f'/console/applications/{app_id}/profiles/{profile}/flags'


def test_the_flag_editor_edits_without_script_and_saves_a_version(web):
    app_id, profile, path = _flags_profile()
    assert 'no versions yet' in web('GET', path).text
    form = {'flags': '0', 'base': '', 'action': 'add-flag'}
    page = web('POST', path, form)
    assert page.status == 200 and 'data-focus="f0.key"' in page.text
    form = {
        'flags': '1',
        'base': '',
        'f0.key': 'dark',
        'f0.name': 'Dark mode',
        'f0.attrs': '1',
        'f0.a0.key': 'level',
        'f0.a0.type': 'number',
        'f0.a0.maximum': '3',
        'f0.variants': '1',
        'f0.v0.name': 'Staff',
        'f0.v0.enabled': 'on',
        'f0.v0.rule': '(eq $team "staff")',
        'f0.v0.val0': '2',
        'f0.enabled': 'on',
        'f0.val0': '1',
        'f0.meta': '{}',
        'f0.vmeta': '{}',
        'action': 'save',
        'description': 'staff first',
    }
    saved = web('POST', path, form)
    assert saved.status == 303 and saved.location.endswith('/versions/1')
    version = api.call(
        'GetHostedConfigurationVersion',
        ApplicationId=app_id,
        ConfigurationProfileId=profile,
        VersionNumber=1,
    )
    assert version['Description'] == 'staff first'
    assert json.loads(version['Content'])['values']['dark'] == {
        '_variants': [
            {
                'name': 'Staff',
                'enabled': True,
                'rule': '(eq $team "staff")',
                'attributeValues': {'level': 2},
            },
            {'name': 'Default Variant', 'enabled': True, 'attributeValues': {'level': 1}},
        ]
    }
    again = web('GET', path)
    assert 'Editing a copy of version 1' in again.text and 'value="Staff"' in again.text

    # The API's own feature-flag validation decides, and its details are listed.
    refused = web('POST', path, {**form, 'f0.val0': '7'})
    assert refused.status == 400 and 'BadRequestException' in refused.text
    assert 'values.dark._variants[1].attributeValues.level must be &lt;= 3' in refused.text
    bad_rule = web('POST', path, {**form, 'f0.v0.rule': '(eq $team)'})
    assert bad_rule.status == 400 and 'eq takes exactly 2 operands' in bad_rule.text
    untypable = web('POST', path, {**form, 'f0.val0': 'seven'})
    assert untypable.status == 400 and '&#39;seven&#39; is not a number' in untypable.text


def test_the_flag_editor_is_for_feature_flag_profiles(web):
    app_id = _app()
    profile = api.call(
        'CreateConfigurationProfile', ApplicationId=app_id, Name='plain', LocationUri='hosted'
    )['Id']
    page = web('GET', f'/console/applications/{app_id}/profiles/{profile}/flags')
    assert page.status == 400 and 'freeform' in page.text


def test_a_diff_is_bounded():
    from local.console import versions

    big = '\n'.join(str(n) for n in range(versions.MAX_DIFF_LINES + 1))
    assert versions.diff_lines(big, big + '\nmore') is None
    assert versions.diff_lines('a\nb', 'a\nc') == [
        ('@', '@@ -1,2 +1,2 @@'),
        (' ', ' a'),
        ('-', '-b'),
        ('+', '+c'),
    ]


def test_evaluate_shows_what_the_agent_answers(web, monkeypatch):
    app_id, profile, _ = _flags_profile()
    env = api.call('CreateEnvironment', ApplicationId=app_id, Name='prod')['Id']
    base = f'/console/applications/{app_id}/evaluate?environment={env}&profile={profile}'
    nothing = web('GET', base + '&run=1')
    assert nothing.status == 200
    assert re.search(r'id="answer-status">404<', nothing.text)
    document = {
        'version': '1',
        'flags': {'dark': {'name': 'Dark'}},
        'values': {
            'dark': {
                '_variants': [
                    {'name': 'Staff', 'enabled': True, 'rule': '(eq $team "staff")'},
                    {'name': 'Everyone', 'enabled': False},
                ]
            }
        },
    }
    api.call(
        'CreateHostedConfigurationVersion',
        ApplicationId=app_id,
        ConfigurationProfileId=profile,
        Content=json.dumps(document).encode(),
        ContentType='application/json',
    )
    api.call(
        'StartDeployment',
        ApplicationId=app_id,
        EnvironmentId=env,
        ConfigurationProfileId=profile,
        ConfigurationVersion='1',
        DeploymentStrategyId='AppConfig.AllAtOnce',
    )
    # The console asks with the Agent's token when the Agent requires one.
    monkeypatch.setenv('APPCONFIG_AGENT_ACCESS_TOKEN', 'secret')
    staff = web('GET', base + '&run=1&flags=dark&ck0=team&cv0=staff&entity=user-1')
    assert re.search(r'id="answer-status">200<', staff.text)
    assert '&#34;_variant&#34;: &#34;Staff&#34;' in staff.text
    assert 'flag=dark' in staff.text and 'Configuration-Version' in staff.text
    other = web('GET', base + '&run=1&flags=dark&ck0=team&cv0=sales')
    assert '&#34;_variant&#34;: &#34;Everyone&#34;' in other.text
    unknown = web('GET', base + '&run=1&flags=nope')
    assert re.search(r'id="answer-status">404<', unknown.text)
    more = web('GET', base + '&add=1&pairs=3')
    assert 'id="ck3"' in more.text and 'answer-status' not in more.text
