"""The scheduled advance of every in-progress deployment, and the engine's state changes.

``run()`` Queries the sparse ``active`` index (never a Scan), and for each in-progress
deployment:

- checks its monitors while it is DEPLOYING or BAKING; a firing alarm rolls it back;
- otherwise writes the growth steps that are due (PERCENTAGE_UPDATED, BAKE_TIME_STARTED),
  and on DEPLOYMENT_COMPLETED clears the environment's active deployment (state
  ReadyForDeployment) and takes the deployment out of the index;
- publishes every event it wrote (engine/events.py).

Every write is conditioned on the deployment still being active with the ``steps_written``
the writer read, so overlapping ticks, a tick racing StopDeployment, or a replay of the same
instant never write an event or a state change twice: the loser's condition fails and it
moves on. A deployment with nothing due costs no write at all.
"""
import logging
import time

from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from chalicelib import clock
from chalicelib.engine import events as bus
from chalicelib.engine import actions, growth, monitors, progress
from chalicelib.engine.progress import (CLOUDWATCH_ALARM, ROLLBACK_COMPLETED,
                                        ROLLBACK_STARTED, event)
from chalicelib.store.delivery import Delivery
from chalicelib.store.delivery import key as delivery_key
from chalicelib.store.deployments import (ACTIVE, COMPLETE, IN_PROGRESS, ROLLED_BACK,
                                          Deployment, Event)
from chalicelib.store.ids import conditional_failed

log = logging.getLogger(__name__)

# The state a deployment is in right after each kind of event (for published details).
STATE_AFTER = {
    'DEPLOYMENT_STARTED': growth.DEPLOYING, 'PERCENTAGE_UPDATED': growth.DEPLOYING,
    'BAKE_TIME_STARTED': growth.BAKING, 'DEPLOYMENT_COMPLETED': growth.COMPLETE,
    'ROLLBACK_STARTED': 'ROLLING_BACK', 'ROLLBACK_COMPLETED': ROLLED_BACK,
    'REVERT_COMPLETED': 'REVERTED',
}


def run(now=None):
    """Advance every active deployment to ``now`` (default: the clock). Returns a summary:
    {"active", "events", "completed", "rolled_back", "lost_races", "errors", "seconds"}."""
    began = time.perf_counter()
    now = now or clock.now()
    summary = {'active': 0, 'events': 0, 'completed': 0, 'rolled_back': 0, 'lost_races': 0,
               'errors': 0}
    clients = monitors.Clients()
    for item in Deployment.active_index.query(ACTIVE):
        summary['active'] += 1
        try:
            outcome, written = advance(item, now, clients)
        except Exception:  # noqa: BLE001 - one broken deployment must not stop the others
            log.exception('advancing deployment %s #%s failed', item.env_key, item.number)
            summary['errors'] += 1
            continue
        summary['events'] += written
        if outcome in ('completed', 'rolled_back', 'lost_races'):
            summary[outcome] += 1
    summary['seconds'] = round(time.perf_counter() - began, 4)
    return summary


def advance(item, now, clients=None, check_alarms=True):
    """Bring one in-progress deployment to ``now``. ``item`` needs the index's attributes.
    Returns (outcome, events written): outcome is idle | progressed | completed |
    rolled_back | lost_races."""
    due = progress.due(item, now)
    if check_alarms and due.state in IN_PROGRESS and item.monitors:
        alarm = monitors.firing(item.monitors, clients)
        if alarm:
            written = roll_back(item, now, due, CLOUDWATCH_ALARM,
                                f'Rollback started by CloudWatch alarm {alarm}',
                                f'Rollback completed (alarm {alarm})')
            return ('rolled_back', written) if written else ('lost_races', 0)
    if check_alarms and due.state in IN_PROGRESS:
        # AT_DEPLOYMENT_TICK extension actions: a ROLL_BACK directive rolls back.
        written = actions.at_deployment_tick(item, now, due, roll_back)
        if written is not None:
            return ('rolled_back', written) if written else ('lost_races', 0)
    if due.state == growth.COMPLETE:
        written = complete(item, due)
        return ('completed', written) if written is not None else ('lost_races', 0)
    if not due.pending:
        return 'idle', 0
    try:
        item.update(actions=[append_events(due.pending),
                             Deployment.steps_written.set(due.steps_due),
                             Deployment.state.set(due.state)],
                    condition=_unchanged(item))
    except UpdateError as error:
        if conditional_failed(error):
            return 'lost_races', 0
        raise
    _publish(item, due.pending, _step_percentages(item, due))
    return 'progressed', len(due.pending)


def append_events(new):
    """The update action appending ``new`` (event dicts) to a deployment's EventLog."""
    return Deployment.events.set(Deployment.events.append([Event(**e) for e in new]))


def _unchanged(item):
    """The condition of every engine write: still active, nothing written since read."""
    return Deployment.active.exists() & (Deployment.steps_written == int(item.steps_written or 0))


def _step_percentages(item, due):
    written = int(item.steps_written or 0)
    return [s.percentage for s in due.progress.due[written:]]


def _transaction():
    return TransactWrite(connection=Deployment._get_connection().connection)


def _reasons(error):
    return [r.code if r is not None else None for r in (error.cancellation_reasons or [])]


def complete(item, due):
    """Write the remaining steps and COMPLETE; free the environment. Returns the number of
    events written, or None when another writer got there first."""
    from chalicelib.store.environments import Environment
    deployment_actions = [
        append_events(due.pending),
        Deployment.steps_written.set(due.steps_due),
        Deployment.state.set(COMPLETE),
        Deployment.completed_at.set(due.completed_at),
        Deployment.percentage.set(100),
        Deployment.active.remove(),
        Deployment.active_key.remove(),
    ]
    environment = Environment(item.application_id, item.environment_id)
    try:
        with _transaction() as t:
            t.update(item, actions=deployment_actions, condition=_unchanged(item))
            t.update(environment,
                     actions=[Environment.state.set(progress.ENV_READY),
                              Environment.active_deployment.remove()],
                     condition=Environment.active_deployment == int(item.number))
    except TransactWriteError as error:
        reasons = _reasons(error)
        if reasons[:1] == ['ConditionalCheckFailed'] or 'TransactionConflict' in reasons:
            return None
        if reasons[1:2] != ['ConditionalCheckFailed']:
            raise
        # The environment no longer points at this deployment (deleted, or repaired by
        # hand): finish the deployment alone.
        try:
            item.update(actions=deployment_actions, condition=_unchanged(item))
        except UpdateError as update_error:
            if conditional_failed(update_error):
                return None
            raise
    _publish(item, due.pending, _step_percentages(item, due))
    return len(due.pending)


def roll_back(item, now, due, triggered_by, started_text, completed_text):
    """Stop an in-progress deployment: write the steps due so far, ROLLBACK_STARTED and
    ROLLBACK_COMPLETED; environment RolledBack; clients back on the previous release.
    Returns the number of events written, or 0 when another writer changed the deployment
    first (the caller re-reads and decides again)."""
    from chalicelib.store.environments import Environment
    new = list(due.pending) + [event(ROLLBACK_STARTED, triggered_by, started_text, now),
                               event(ROLLBACK_COMPLETED, triggered_by, completed_text, now)]
    number = int(item.number)
    try:
        with _transaction() as t:
            t.update(item, condition=_unchanged(item) & Deployment.state.is_in(*IN_PROGRESS),
                     actions=[append_events(new),
                              Deployment.steps_written.set(due.steps_due),
                              Deployment.state.set(ROLLED_BACK),
                              Deployment.completed_at.set(now),
                              Deployment.percentage.set(due.percentage),
                              Deployment.active.remove(),
                              Deployment.active_key.remove()])
            t.update(Environment(item.application_id, item.environment_id),
                     actions=[Environment.state.set(progress.ENV_ROLLED_BACK),
                              Environment.active_deployment.remove()],
                     condition=Environment.active_deployment == number)
            t.update(Delivery(delivery_key(item.application_id, item.environment_id,
                                           item.profile_id)),
                     actions=[Delivery.state.set(ROLLED_BACK)],
                     condition=Delivery.deployment_number == number)
    except TransactWriteError as error:
        if _reasons(error):
            return 0
        raise
    percentages = _step_percentages(item, due) + [due.percentage, due.percentage]
    _publish(item, new, percentages)
    return len(new)


def _publish(item, written, percentages):
    actions.after_events(item, written)   # ON_DEPLOYMENT_* extension actions
    if not bus.bus() or not written:
        return
    bus.publish([bus.detail(item, e, pct, STATE_AFTER.get(e['event_type'], ''))
                 for e, pct in zip(written, percentages)])
