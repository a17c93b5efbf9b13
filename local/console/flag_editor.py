"""The feature-flag editor: flags, attributes with constraints, multi-variant rules, saved as
a new hosted version of an AWS.AppConfig.FeatureFlags profile.

GET starts from the newest version (or ``?base=N``); each editing button posts the form back
and gets it re-rendered with the change (flagform.edit), so the editor works without script;
Save posts the document to CreateHostedConfigurationVersion, whose feature-flag validation
(the API's) decides, and its InvalidConfiguration details are listed on the page.
Cost: two reads (profile, base version) per GET; an edit is pure; a save is one create.
"""

import json

from chalicelib.constants import FEATURE_FLAGS
from chalicelib.errors import ServiceError
from local.console import api, flagform
from local.console.versions import PROFILE
from local.console.views import failure, page
from local.console.web import Refused, redirect, route, url


def _subjects(request):
    app_id, profile_id = request.params['app'], request.params['profile']
    app = api.call('GetApplication', ApplicationId=app_id)
    profile = api.call(
        'GetConfigurationProfile', ApplicationId=app_id, ConfigurationProfileId=profile_id
    )
    if profile['Type'] != FEATURE_FLAGS:
        raise Refused(
            400,
            f'Configuration profile {profile["Name"]} holds freeform '
            f'configuration, not feature flags; edit its versions instead.',
        )
    return app, profile


def _base(app_id, profile_id, number):
    """(version number or None, document) the editor starts from."""
    if not number:
        newest = api.call(
            'ListHostedConfigurationVersions',
            ApplicationId=app_id,
            ConfigurationProfileId=profile_id,
            MaxResults=1,
        )['Items']
        if not newest:
            return None, {}
        number = newest[0]['VersionNumber']
    version = api.call(
        'GetHostedConfigurationVersion',
        ApplicationId=app_id,
        ConfigurationProfileId=profile_id,
        VersionNumber=int(number),
    )
    try:
        document = json.loads(bytes(version['Content']))
    except ValueError:
        document = None
    if not isinstance(document, dict):
        raise Refused(
            400,
            f'Version {number} is not a feature-flag JSON document; create a '
            f'new version from the profile page instead.',
        )
    return int(number), document


def _render(
    request,
    app,
    profile,
    flags,
    base,
    status=200,
    error=None,
    details=(),
    focus=None,
    description='',
):
    return page(
        'flags.html',
        request,
        status,
        app=app,
        profile=profile,
        flags=flags,
        base=base,
        types=flagform.TYPES,
        error=error,
        details=details,
        focus=focus,
        description=description,
    )


@route('GET', PROFILE + r'/flags')
def editor(request):
    app, profile = _subjects(request)
    number = request.arg('base', '')
    if number and not number.isdigit():
        raise Refused(400, 'base must be a version number.')
    base, document = _base(app['Id'], profile['Id'], number)
    return _render(request, app, profile, flagform.to_form(document), base)


@route('POST', PROFILE + r'/flags')
def save(request):
    app, profile = _subjects(request)
    fields = request.fields()
    flags = flagform.read(fields)
    base = fields.get('base') or None
    action = fields.get('action', 'save')
    description = fields.get('description', '').strip()
    if action != 'save':
        focus = flagform.edit(flags, action)
        return _render(request, app, profile, flags, base, focus=focus, description=description)
    try:
        document = flagform.from_form(flags)
        out = api.call(
            'CreateHostedConfigurationVersion',
            ApplicationId=app['Id'],
            ConfigurationProfileId=profile['Id'],
            Content=json.dumps(document, indent=2, ensure_ascii=False).encode(),
            ContentType='application/json',
            Description=description or None,
        )
    except flagform.FormError as error:
        return _render(
            request,
            app,
            profile,
            flags,
            base,
            400,
            'The form has values that cannot be saved:',
            [m for _, m in error.problems],
            description=description,
        )
    except ServiceError as error:
        status, message = failure(error)
        details = [
            f'{d.get("Location")}: {d.get("Reason")}'
            for d in (error.fields.get('Details') or {}).get('InvalidConfiguration') or []
        ]
        return _render(
            request, app, profile, flags, base, status, message, details, description=description
        )
    return redirect(
        url('applications', app['Id'], 'profiles', profile['Id'], 'versions', out['VersionNumber'])
    )
