"""CreateEnvironment, GetEnvironment, UpdateEnvironment, DeleteEnvironment, ListEnvironments.

Also ``load(application_id, environment_id)`` for other operations.
"""

from chalicelib import arns, clock
from chalicelib.engine import lifecycle
from chalicelib.errors import ConflictException, not_found
from chalicelib.ops import applications, protection, tagging
from chalicelib.store import paging, tx
from chalicelib.store.applications import Application
from chalicelib.store.environments import Environment

MAX_ENVIRONMENTS = 20  # per application


def render(env):
    # State is exact for the current instant: a deployment the clock says is COMPLETE reads
    # ReadyForDeployment before the tick writes it (one GetItem, only while one is active).
    return {
        'ApplicationId': env.application_id,
        'Id': env.id,
        'Name': env.name,
        'Description': env.description,
        'State': lifecycle.environment_state(env, clock.now()),
        'Monitors': list(env.monitors or []),
    }


def load(application_id, environment_id):
    """The Environment item; ResourceNotFoundException naming the application when that is
    what is missing, else naming the environment."""
    try:
        return Environment.get(application_id, environment_id, consistent_read=True)
    except Environment.DoesNotExist:
        applications.load(application_id)
        raise not_found('Environment', environment_id) from None


def _monitors(monitors):
    # Stored exactly as the API shapes them, without empty optional members.
    return [
        {k: v for k, v in m.items() if k in ('AlarmArn', 'AlarmRoleArn') and v is not None}
        for m in monitors or []
    ]


def create_environment(p):
    application_id = p['ApplicationId']
    tags = tagging.check(p.get('Tags'))
    env = applications.create_child(
        application_id,
        lambda new: Environment(
            application_id,
            new,
            name=p['Name'],
            description=p.get('Description'),
            monitors=_monitors(p.get('Monitors')),
            tags=tags,
            created_at=clock.now(),
        ),
        Application.environment_count,
        MAX_ENVIRONMENTS,
        'environments',
    )
    return render(env)


def get_environment(p):
    return render(load(p['ApplicationId'], p['EnvironmentId']))


def update_environment(p):
    env = load(p['ApplicationId'], p['EnvironmentId'])
    actions = [
        attr.set(value)
        for attr, value in (
            (Environment.name, p.get('Name')),
            (Environment.description, p.get('Description')),
            (Environment.monitors, None if p.get('Monitors') is None else _monitors(p['Monitors'])),
        )
        if value is not None
    ]
    if actions:
        if tx.attempt(lambda: env.update(actions=actions, condition=Environment.id.exists())):
            raise not_found('Environment', env.id)
    return render(env)


def delete_environment(p):
    env = load(p['ApplicationId'], p['EnvironmentId'])
    protection.check('environment', env, p.get('DeletionProtectionCheck'))
    count = Application.environment_count

    def write():
        with tx.transaction() as t:
            # The deployment engine sets active_deployment while a deployment runs.
            t.delete(
                env,
                condition=Environment.id.exists() & Environment.active_deployment.does_not_exist(),
            )
            t.update(
                Application(arns.account(), env.application_id),
                actions=[count.add(-1)],
                condition=Application.id.exists(),
            )

    refused = tx.attempt(write)
    if refused:
        current = load(env.application_id, env.id)  # ResourceNotFoundException if gone
        if current.active_deployment is not None:
            raise ConflictException(
                f'Cannot delete environment {env.id} because deployment '
                f'{int(current.active_deployment)} is in progress.'
            ) from None
        raise refused.error
    return {}


def list_environments(p):
    out = paging.page(Environment, p['ApplicationId'], p, render=render)
    if not out['Items']:
        applications.load(p['ApplicationId'])  # an empty list, or a missing application
    return out
