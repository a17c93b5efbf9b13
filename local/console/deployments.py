"""A deployment as it happens, Stop and Revert, and the Start deployment form.

The page shows GetDeployment exactly (state, PercentageComplete, EventLog newest first with
its TriggeredBy) beside the strategy's planned steps from ``engine.growth.schedule`` (the
schedule the engine runs). Stop is offered while the deployment is DEPLOYING or BAKING,
Revert while it is COMPLETE and within the revert window; StopDeployment itself decides and
its error is shown when the world moved meanwhile. The live part is re-fetched by the page's
script as an HTML fragment (``.../live``): four reads per refresh.
"""

from functools import partial

from chalicelib import clock
from chalicelib.constants import COMPLETE, IN_PROGRESS, EventType
from chalicelib.engine import growth
from chalicelib.engine.progress import REVERT_WINDOW
from chalicelib.errors import ServiceError
from local.console import api
from local.console.pages import APP, ENV
from local.console.views import failure, page
from local.console.web import redirect, render, route, url

DEPLOYMENT = ENV + r'/deployments/(?P<number>[0-9]{1,9})'
STRATEGY_KEYS = (
    'DeploymentDurationInMinutes',
    'GrowthType',
    'GrowthFactor',
    'FinalBakeTimeInMinutes',
)
# How often the page asks for fresh progress, by whether anything can still change by itself.
REFRESH_MS = {True: 1000, False: 5000}


def plan(strategy, started_at=None, now=None, stopped_at=None):
    """The strategy's steps as rows: offset, time (when started), percentage, event, status."""
    rows = []
    for step in growth.schedule({k: strategy.get(k) for k in STRATEGY_KEYS}):
        at = started_at + step.offset if started_at else None
        if at is None:
            status = 'planned'
        elif stopped_at is not None and at > stopped_at:
            status = 'not reached'
        elif at <= now:
            status = 'done'
        else:
            status = 'pending'
        rows.append(
            {
                'offset': step.offset,
                'at': at,
                'percentage': step.percentage,
                'event': step.event_type,
                'description': step.description,
                'status': status,
            }
        )
    for row in rows:  # the first pending step is the next one
        if row['status'] == 'pending':
            row['status'] = 'next'
            break
    return rows


def _rollback(deployment):
    """The ROLLBACK_STARTED event (why and by whom it was stopped), or None."""
    for event in reversed(deployment['EventLog']):  # oldest first
        if event['EventType'] == EventType.ROLLBACK_STARTED:
            return event
    return None


def _strategy_name(strategy_id):
    try:
        return api.call('GetDeploymentStrategy', DeploymentStrategyId=strategy_id)['Name']
    except ServiceError:
        return strategy_id  # deleted since: the deployment keeps its own figures


def _live(app_id, env_id, number):
    deployment = api.call(
        'GetDeployment', ApplicationId=app_id, EnvironmentId=env_id, DeploymentNumber=number
    )
    now = clock.now()
    state, completed = deployment['State'], deployment.get('CompletedAt')
    in_progress = state in IN_PROGRESS
    revert_until = completed + REVERT_WINDOW if completed else None
    rollback = _rollback(deployment)
    return {
        'deployment': deployment,
        'now': now,
        'rollback': rollback,
        'steps': plan(
            deployment, deployment['StartedAt'], now, rollback['OccurredAt'] if rollback else None
        ),
        'can_stop': in_progress,
        'can_revert': state == COMPLETE and revert_until is not None and now <= revert_until,
        'revert_until': revert_until,
        'in_progress': in_progress,
        'window_hours': int(REVERT_WINDOW.total_seconds() // 3600),
    }


@route('GET', DEPLOYMENT)
def deployment_page(request, error=None):
    app_id, env_id = request.params['app'], request.params['env']
    number = int(request.params['number'])
    app, env, live = api.together(
        partial(api.call, 'GetApplication', ApplicationId=app_id),
        partial(api.call, 'GetEnvironment', ApplicationId=app_id, EnvironmentId=env_id),
        partial(_live, app_id, env_id, number),
    )
    status, message = failure(error) if error else (200, None)
    return page(
        'deployment.html',
        request,
        status,
        app=app,
        env=env,
        error=message,
        strategy_name=_strategy_name(live['deployment']['DeploymentStrategyId']),
        refresh=REFRESH_MS[live['in_progress']],
        **live,
    )


@route('GET', DEPLOYMENT + r'/live')
def deployment_live(request):
    app_id, env_id = request.params['app'], request.params['env']
    live = _live(app_id, env_id, int(request.params['number']))
    response = render('_deployment_live.html', app={'Id': app_id}, env={'Id': env_id}, **live)
    response.headers['X-Console-Refresh'] = str(REFRESH_MS[live['in_progress']])
    return response


def _stop(request, allow_revert):
    app_id, env_id = request.params['app'], request.params['env']
    number = int(request.params['number'])
    try:
        api.call(
            'StopDeployment',
            ApplicationId=app_id,
            EnvironmentId=env_id,
            DeploymentNumber=number,
            AllowRevert=True if allow_revert else None,
        )
    except ServiceError as error:
        return deployment_page(request, error)
    return redirect(url('applications', app_id, 'environments', env_id, 'deployments', number))


@route('POST', DEPLOYMENT + r'/stop')
def stop(request):
    return _stop(request, allow_revert=False)


@route('POST', DEPLOYMENT + r'/revert')
def revert(request):
    return _stop(request, allow_revert=True)


# --- Start deployment -----------------------------------------------------------------------


def strategies():
    """Every strategy, predefined first (the order ListDeploymentStrategies gives)."""
    return api.pages('ListDeploymentStrategies')


def versions(app_id, profile):
    """Choices for a profile's version: hosted versions newest first, else none (typed)."""
    if profile is None or profile['LocationUri'] != 'hosted':
        return []
    return api.pages(
        'ListHostedConfigurationVersions',
        limit=200,
        ApplicationId=app_id,
        ConfigurationProfileId=profile['Id'],
    )


@route('GET', APP + r'/deploy')
def start_form(request, error=None, values=None):
    app_id = request.params['app']
    values = values or {k: v[-1] for k, v in request.query.items()}
    app, environments, profiles, all_strategies = api.together(
        partial(api.call, 'GetApplication', ApplicationId=app_id),
        partial(api.pages, 'ListEnvironments', ApplicationId=app_id),
        partial(api.pages, 'ListConfigurationProfiles', ApplicationId=app_id),
        strategies,
    )
    chosen = next(
        (p for p in profiles if p['Id'] == values.get('profile')), profiles[0] if profiles else None
    )
    strategy = next(
        (s for s in all_strategies if s['Id'] == values.get('strategy')), all_strategies[0]
    )
    status, message = failure(error) if error else (200, None)
    return page(
        'deploy.html',
        request,
        status,
        app=app,
        environments=environments,
        profiles=profiles,
        profile=chosen,
        versions=versions(app_id, chosen),
        strategies=all_strategies,
        strategy=strategy,
        steps=plan(strategy),
        values=values,
        error=message,
    )


@route('GET', APP + r'/profiles/(?P<profile>[^/]+)/version-options')
def version_options(request):
    app_id = request.params['app']
    profile = api.call(
        'GetConfigurationProfile',
        ApplicationId=app_id,
        ConfigurationProfileId=request.params['profile'],
    )
    return render(
        '_version_options.html', profile=profile, versions=versions(app_id, profile), values={}
    )


@route('GET', r'/strategies/(?P<strategy>[^/]+)/steps')
def strategy_steps(request):
    strategy = api.call('GetDeploymentStrategy', DeploymentStrategyId=request.params['strategy'])
    return render('_steps.html', steps=plan(strategy), strategy=strategy)


@route('POST', APP + r'/deploy')
def start(request):
    app_id, values = request.params['app'], request.fields()
    env_id = values.get('environment', '')
    try:
        out = api.call(
            'StartDeployment',
            ApplicationId=app_id,
            EnvironmentId=env_id,
            ConfigurationProfileId=values.get('profile', ''),
            ConfigurationVersion=values.get('version', '').strip(),
            DeploymentStrategyId=values.get('strategy', ''),
            Description=values.get('description', '').strip() or None,
        )
    except ServiceError as error:
        return start_form(request, error, values)
    return redirect(
        url('applications', app_id, 'environments', env_id, 'deployments', out['DeploymentNumber'])
    )
