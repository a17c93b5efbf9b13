"""A configuration profile's page: its hosted versions, one version's content, the diff of
two versions, and creating a version (typed in, or an older one saved again).

Content whose type names JSON or YAML is parsed before it is sent, so a typo is shown with
its line and column instead of being stored; any other type is stored as typed. The
operation then applies its own checks (size, feature-flag documents, extensions).
Cost: a profile page is two reads and one Query; a diff reads both versions.
"""

import difflib
import json

import yaml

from chalicelib.constants import FEATURE_FLAGS
from chalicelib.errors import ServiceError
from local.console import api
from local.console.pages import APP
from local.console.views import failure, page
from local.console.web import redirect, route, url

PROFILE = APP + r'/profiles/(?P<profile>[^/]+)'
VERSION = PROFILE + r'/versions/(?P<number>[0-9]{1,9})'
CONTENT_TYPES = ('application/json', 'application/x-yaml', 'text/plain', 'application/octet-stream')


class ContentError(Exception):
    pass


def syntax(content_type):
    """'json', 'yaml' or None: what ``content_type`` promises the bytes are."""
    kind = (content_type or '').split(';', 1)[0].strip().lower()
    if kind == 'application/json' or kind.endswith('+json'):
        return 'json'
    if kind in (
        'application/x-yaml',
        'application/yaml',
        'text/yaml',
        'text/x-yaml',
    ) or kind.endswith('+yaml'):
        return 'yaml'
    return None


def check_content(text, content_type):
    """Raise ContentError naming the first syntax error of JSON or YAML content."""
    kind = syntax(content_type)
    if kind == 'json':
        try:
            json.loads(text)
        except json.JSONDecodeError as error:
            raise ContentError(
                f'Not valid JSON: {error.msg} at line {error.lineno} column {error.colno}.'
            ) from None
        except RecursionError:
            raise ContentError('Not valid JSON: nested too deeply.') from None
    elif kind == 'yaml':
        try:
            yaml.safe_load(text)
        except yaml.YAMLError as error:
            mark = getattr(error, 'problem_mark', None)
            where = f' at line {mark.line + 1} column {mark.column + 1}' if mark else ''
            problem = getattr(error, 'problem', None) or str(error)
            raise ContentError(f'Not valid YAML: {problem}{where}.') from None
        except RecursionError:
            raise ContentError('Not valid YAML: nested too deeply.') from None


def shown(content):
    """The content as text for the page, or None when it is not UTF-8 text."""
    try:
        return bytes(content).decode('utf-8')
    except UnicodeDecodeError:
        return None


def _profile(app_id, profile_id):
    return api.call(
        'GetConfigurationProfile', ApplicationId=app_id, ConfigurationProfileId=profile_id
    )


def _versions(app_id, profile):
    if profile['LocationUri'] != 'hosted':
        return []
    return api.pages(
        'ListHostedConfigurationVersions',
        limit=200,
        ApplicationId=app_id,
        ConfigurationProfileId=profile['Id'],
    )


@route('GET', PROFILE)
def profile_page(request, error=None, values=None):
    app_id, profile_id = request.params['app'], request.params['profile']
    app = api.call('GetApplication', ApplicationId=app_id)
    profile = _profile(app_id, profile_id)
    if isinstance(error, ServiceError):
        status, message = failure(error)
    else:
        status, message = (400, str(error)) if error else (200, None)
    flags = profile['Type'] == FEATURE_FLAGS
    values = values or {'content_type': 'application/json' if flags else ''}
    return page(
        'profile.html',
        request,
        status,
        app=app,
        profile=profile,
        versions=_versions(app_id, profile),
        content_types=CONTENT_TYPES,
        feature_flags=flags,
        error=message,
        values=values,
    )


def create(app_id, profile_id, content, content_type, description=None, label=None):
    return api.call(
        'CreateHostedConfigurationVersion',
        ApplicationId=app_id,
        ConfigurationProfileId=profile_id,
        Content=content,
        ContentType=content_type,
        Description=description,
        VersionLabel=label,
    )


@route('POST', PROFILE + r'/versions')
def create_version(request):
    app_id, profile_id, values = request.params['app'], request.params['profile'], request.fields()
    content, content_type = values.get('content', ''), values.get('content_type', '').strip()
    try:
        check_content(content, content_type)
        out = create(
            app_id,
            profile_id,
            content.encode('utf-8'),
            content_type,
            values.get('description', '').strip() or None,
            values.get('label', '').strip() or None,
        )
    except (ContentError, ServiceError) as error:
        return profile_page(request, error, values)
    return redirect(
        url('applications', app_id, 'profiles', profile_id, 'versions', out['VersionNumber'])
    )


def _version(app_id, profile_id, number):
    return api.call(
        'GetHostedConfigurationVersion',
        ApplicationId=app_id,
        ConfigurationProfileId=profile_id,
        VersionNumber=int(number),
    )


@route('GET', VERSION)
def version_page(request, error=None):
    app_id, profile_id = request.params['app'], request.params['profile']
    app = api.call('GetApplication', ApplicationId=app_id)
    profile = _profile(app_id, profile_id)
    version = _version(app_id, profile_id, request.params['number'])
    status, message = failure(error) if error else (200, None)
    return page(
        'version.html',
        request,
        status,
        app=app,
        profile=profile,
        version=version,
        text=shown(version['Content']),
        size=len(version['Content']),
        feature_flags=profile['Type'] == FEATURE_FLAGS,
        error=message,
    )


@route('POST', VERSION + r'/copy')
def copy_version(request):
    """Save an older version as the newest one (the AWS console's "Save as new version")."""
    app_id, profile_id = request.params['app'], request.params['profile']
    number = request.params['number']
    try:
        old = _version(app_id, profile_id, number)
        out = create(
            app_id, profile_id, old['Content'], old['ContentType'], f'Copy of version {number}'
        )
    except ServiceError as error:
        return version_page(request, error)
    return redirect(
        url('applications', app_id, 'profiles', profile_id, 'versions', out['VersionNumber'])
    )


MAX_DIFF_LINES = 20_000  # difflib is quadratic at worst: larger texts are not compared here


def diff_lines(old, new):
    """Unified-diff rows (kind, text) of two texts; kind is ' ', '+', '-' or '@'. None when
    either text has more than MAX_DIFF_LINES lines."""
    if max(old.count('\n'), new.count('\n')) >= MAX_DIFF_LINES:
        return None
    rows = []
    for line in difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm='', n=3):
        if line.startswith(('---', '+++')):
            continue
        rows.append((line[:1] if line[:1] in '+-@' else ' ', line))
    return rows


@route('GET', PROFILE + r'/diff')
def diff_page(request):
    app_id, profile_id = request.params['app'], request.params['profile']
    app = api.call('GetApplication', ApplicationId=app_id)
    profile = _profile(app_id, profile_id)
    numbers = (request.arg('from', ''), request.arg('to', ''))
    if not all(n.isdigit() for n in numbers):
        return page('error.html', request, 400, message='Choose two versions to compare.')
    old, new = (_version(app_id, profile_id, n) for n in numbers)
    texts = shown(old['Content']), shown(new['Content'])
    binary = None in texts
    rows = None if binary else diff_lines(*texts)
    return page(
        'diff.html',
        request,
        app=app,
        profile=profile,
        old=old,
        new=new,
        rows=rows,
        binary=binary,
        same=old['Content'] == new['Content'],
    )
