"""Applications, environments and configuration profiles: lists, detail pages, create forms.

Each handler reads through ``api.call`` (the operations the API runs) and renders one
template; a failed create re-renders its page with the operation's error and the values the
user typed. Cost per page: the application list is one Query; an application page is one
GetItem, two Queries and one ListDeployments (limit 1) per environment (at most 20), run
concurrently (api.together).
"""

from functools import partial

from chalicelib.constants import FEATURE_FLAGS, FREEFORM
from chalicelib.errors import ServiceError
from local.console import api
from local.console.views import failure, page
from local.console.web import redirect, render, route, url

APP = r'/applications/(?P<app>[^/]+)'
ENV = APP + r'/environments/(?P<env>[^/]+)'
PROFILE_TYPES = ((FREEFORM, 'Freeform configuration'), (FEATURE_FLAGS, 'Feature flags'))


def _optional(value):
    return value.strip() or None if isinstance(value, str) else value


# --- applications ---------------------------------------------------------------------------


@route('GET', r'/')
def applications(request, error=None, values=None):
    out = api.call('ListApplications', MaxResults=50, NextToken=request.arg('next'))
    status, message = failure(error) if error else (200, None)
    return page(
        'applications.html',
        request,
        status,
        applications=out['Items'],
        next_token=out.get('NextToken'),
        error=message,
        values=values or {},
    )


@route('POST', r'/applications')
def create_application(request):
    values = request.fields()
    try:
        out = api.call(
            'CreateApplication',
            Name=values.get('name', ''),
            Description=_optional(values.get('description', '')),
        )
    except ServiceError as error:
        return applications(request, error, values)
    return redirect(url('applications', out['Id']))


def latest_deployment(application_id, environment_id):
    """The environment's newest deployment summary, or None."""
    out = api.call(
        'ListDeployments', ApplicationId=application_id, EnvironmentId=environment_id, MaxResults=1
    )
    return out['Items'][0] if out['Items'] else None


def _environment_rows(application_id):
    environments = api.pages('ListEnvironments', ApplicationId=application_id)
    latest = api.together(
        *(partial(latest_deployment, application_id, e['Id']) for e in environments)
    )
    return [{'environment': e, 'deployment': d} for e, d in zip(environments, latest)]


@route('GET', APP)
def application(request, error=None, values=None, form=None):
    app_id = request.params['app']
    app, profiles, environments = api.together(
        partial(api.call, 'GetApplication', ApplicationId=app_id),
        partial(api.pages, 'ListConfigurationProfiles', ApplicationId=app_id),
        partial(_environment_rows, app_id),
    )
    status, message = failure(error) if error else (200, None)
    return page(
        'application.html',
        request,
        status,
        app=app,
        environments=environments,
        profiles=profiles,
        profile_types=PROFILE_TYPES,
        error=message,
        form=form,
        values=values or {},
    )


@route('GET', APP + r'/environments/live')
def environments_live(request):
    app_id = request.params['app']
    return render('_environments.html', app={'Id': app_id}, environments=_environment_rows(app_id))


@route('POST', APP + r'/environments')
def create_environment(request):
    app_id, values = request.params['app'], request.fields()
    try:
        out = api.call(
            'CreateEnvironment',
            ApplicationId=app_id,
            Name=values.get('name', ''),
            Description=_optional(values.get('description', '')),
        )
    except ServiceError as error:
        return application(request, error, values, form='environment')
    return redirect(url('applications', app_id, 'environments', out['Id']))


@route('POST', APP + r'/profiles')
def create_profile(request):
    app_id, values = request.params['app'], request.fields()
    try:
        out = api.call(
            'CreateConfigurationProfile',
            ApplicationId=app_id,
            Name=values.get('name', ''),
            LocationUri=_optional(values.get('location', '')) or 'hosted',
            Type=values.get('type') or None,
            Description=_optional(values.get('description', '')),
        )
    except ServiceError as error:
        return application(request, error, values, form='profile')
    return redirect(url('applications', app_id, 'profiles', out['Id']))


# --- environments ---------------------------------------------------------------------------


def _deployments(app_id, env_id, token=None):
    out = api.call(
        'ListDeployments',
        ApplicationId=app_id,
        EnvironmentId=env_id,
        MaxResults=50,
        NextToken=token,
    )
    return out['Items'], out.get('NextToken')


@route('GET', ENV)
def environment(request):
    app_id, env_id = request.params['app'], request.params['env']
    app, env, (deployments, next_token) = api.together(
        partial(api.call, 'GetApplication', ApplicationId=app_id),
        partial(api.call, 'GetEnvironment', ApplicationId=app_id, EnvironmentId=env_id),
        partial(_deployments, app_id, env_id, request.arg('next')),
    )
    return page(
        'environment.html',
        request,
        app=app,
        env=env,
        deployments=deployments,
        next_token=next_token,
    )


@route('GET', ENV + r'/live')
def environment_live(request):
    app_id, env_id = request.params['app'], request.params['env']
    env, (deployments, _) = api.together(
        partial(api.call, 'GetEnvironment', ApplicationId=app_id, EnvironmentId=env_id),
        partial(_deployments, app_id, env_id),
    )
    return render('_deployments.html', app={'Id': app_id}, env=env, deployments=deployments)
