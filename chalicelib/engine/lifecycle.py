"""The only writer of Deployment, Environment and Delivery state.

:func:`start`, :func:`advance` (and the :func:`complete` it may lead to), :func:`roll_back`
and :func:`revert` each make one DynamoDB write (a transaction where more than one item
moves), then hand exactly the events that write put in the EventLog to :func:`_publish`, the
one after-commit path: ON_* extension actions, then EventBridge. What each event does to the
three items is the transition table in chalicelib/constants.py; every text comes from
engine/eventlog.py.

Every write after the start is conditioned on the deployment still being active with the
``steps_written`` the writer read, so overlapping ticks, a tick racing StopDeployment, or a
replay of the same instant never write an event or a state change twice: the loser's
condition fails, it publishes nothing and says so (None / 0 / False / 'lost_races'), and the
caller reads again. Publishing happens only after a successful write; its failures are
logged and never undo the write.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from pynamodb.exceptions import TransactWriteError, UpdateError

from chalicelib.constants import COMPLETE, IN_PROGRESS, TRANSITIONS, EventType
from chalicelib.engine import delivery, eventlog, events, monitors, progress
from chalicelib.engine.extensions import points
from chalicelib.errors import BadRequestException, ConflictException, not_found
from chalicelib.store import tx
from chalicelib.store.delivery import Delivery
from chalicelib.store.delivery import changed as delivery_changed
from chalicelib.store.delivery import key as delivery_key
from chalicelib.store.deployments import ACTIVE, Deployment, Event, active_key, active_of, env_key
from chalicelib.store.environments import Environment
from chalicelib.store.profiles import Profile
from chalicelib.store.tx import conditional_failed, reasons

log = logging.getLogger(__name__)


# --- shared pieces ----------------------------------------------------------------------------


def _append(new):
    """The update action appending ``new`` (event dicts) to a deployment's EventLog."""
    return Deployment.events.set(Deployment.events.append([Event(**e) for e in new]))


def _unchanged(item):
    """The condition of every engine write: still active, nothing written since read."""
    return Deployment.active.exists() & (Deployment.steps_written == int(item.steps_written or 0))


def _step_percentages(item, due):
    written = int(item.steps_written or 0)
    return [s.percentage for s in due.progress.due[written:]]


def _environment_state(event_type):
    return TRANSITIONS[event_type].environment


def _publish(item, written, percentages):
    """The after-commit path: ON_* extension actions, then EventBridge, for exactly the
    events one write put in the EventLog (``percentages`` the PercentageComplete of each)."""
    points.after_events(item, written)
    if not events.bus() or not written:
        return
    events.publish(
        [
            events.detail(item, e, pct, TRANSITIONS[e['event_type']].deployment)
            for e, pct in zip(written, percentages)
        ]
    )


# --- start ------------------------------------------------------------------------------------


def busy_message(application_id: str, environment_id: str) -> str:
    """ConflictException's text when a deployment cannot start on the environment."""
    try:
        environment = Environment.get(application_id, environment_id, consistent_read=True)
    except Exception:  # noqa: BLE001 - only the message depends on it
        environment = None
    number = getattr(environment, 'active_deployment', None)
    if number is not None:
        return (
            f'Deployment number {int(number)} is in progress on environment '
            f'{environment_id}. Wait for it to finish or stop it.'
        )
    return (
        f'Another deployment to environment {environment_id} started at the same time. '
        f'Get the environment and try again.'
    )


def _settle_active(environment, now):
    """If the environment's active deployment has run its course by the clock, write its
    completion now (as the tick would) so a new deployment can start."""
    item = active_of(environment)
    if item is None or item.state not in IN_PROGRESS:
        return False
    if progress.due(item, now).state != COMPLETE:
        return False
    advance(item, now, check_alarms=False)
    return True


def start(
    environment: Environment,
    profile: Profile,
    strategy: dict,
    target: dict,
    now: datetime,
    *,
    strategy_id: str,
    description: str | None,
    tags: dict,
    latest_expected: int | None,
    kms_identifier: str | None,
    kms_arn: str | None,
    dynamic_parameters: dict | None,
    kind: str = 'USER',
    experiments: list | None = None,
    also=None,
) -> Deployment:
    """Start deployment number latest + 1 of ``target`` (a release) on ``environment``:
    one transaction writing the Deployment (DEPLOYMENT_STARTED plus whatever the strategy owes
    at once), the Delivery the data plane reads and the Environment. ``strategy`` is the
    snapshot to keep. ConflictException when another deployment is in progress or
    ``latest_expected`` does not hold; pynamodb's TransactWriteError when a concurrent
    writer got in between (the caller reads the environment again and retries).

    ``kind`` is the DeploymentSummary Type: USER, or MANAGED for the deployments experiment
    runs make. ``experiments``: the running experiments the Delivery carries (treatments.py);
    None keeps the ones already there, so a user deployment does not end a run. ``also(t)``
    adds the caller's own items to the same transaction (the experiment run it records),
    given the new Deployment item."""
    application_id, environment_id = environment.application_id, environment.id
    if environment.active_deployment is not None and _settle_active(environment, now):
        environment = Environment.get(application_id, environment_id, consistent_read=True)
    latest = int(environment.latest_deployment or 0)
    if latest_expected is not None and int(latest_expected) != latest:
        raise ConflictException(
            f'LatestDeploymentNumber {latest_expected} does not match the latest deployment '
            f'number {latest} of environment {environment_id}.'
        )
    if environment.active_deployment is not None:
        raise ConflictException(busy_message(application_id, environment_id))
    number = latest + 1

    item = Deployment(
        env_key(application_id, environment_id),
        number,
        application_id=application_id,
        environment_id=environment_id,
        profile_id=profile.id,
        configuration_name=profile.name,
        configuration_location_uri=profile.location_uri,
        configuration_version=target['VersionNumber'],
        version_label=target['VersionLabel'],
        description=description,
        strategy_id=strategy_id,
        strategy=strategy,
        monitors=list(environment.monitors or []),
        started_at=now,
        tags=tags,
        kms_key_identifier=kms_identifier,
        kms_key_arn=kms_arn,
        dynamic_extension_parameters=dynamic_parameters,
        type=kind,
    )
    due = progress.due(item, now)
    written = [eventlog.started(now)] + list(due.pending)
    item.events = [Event(**e) for e in written]
    item.steps_written = due.steps_due
    if due.state == COMPLETE:  # duration 0 and bake 0
        item.state, item.completed_at, item.percentage = COMPLETE, due.completed_at, 100
        env_actions = [
            Environment.state.set(_environment_state(EventType.DEPLOYMENT_COMPLETED)),
            Environment.latest_deployment.set(number),
        ]
    else:
        item.state = due.state
        item.active, item.active_key = ACTIVE, active_key(application_id, environment_id, number)
        env_actions = [
            Environment.state.set(_environment_state(EventType.DEPLOYMENT_STARTED)),
            Environment.latest_deployment.set(number),
            Environment.active_deployment.set(number),
        ]

    old = delivery.read(application_id, environment_id, profile.id)
    new_delivery = Delivery(
        delivery_key(application_id, environment_id, profile.id),
        deployment_number=number,
        state=TRANSITIONS[EventType.DEPLOYMENT_STARTED].delivery,
        started_at=now,
        strategy=item.strategy,
        target=target,
        previous=delivery.settled(old),
        experiments=(old.experiments if old is not None else None)
        if experiments is None
        else experiments or None,
    )
    delivery_condition = (
        Delivery.key.does_not_exist()
        if old is None
        else Delivery.deployment_number == int(old.deployment_number)
    )
    latest_condition = Environment.latest_deployment == latest
    if latest == 0:
        latest_condition |= Environment.latest_deployment.does_not_exist()
    try:
        with tx.transaction() as t:
            t.save(item, condition=Deployment.number.does_not_exist())
            t.save(new_delivery, condition=delivery_condition)
            t.update(
                Environment(application_id, environment_id),
                actions=env_actions,
                condition=Environment.id.exists()
                & Environment.active_deployment.does_not_exist()
                & latest_condition,
            )
            if also is not None:
                also(t, item)
    finally:
        delivery_changed(new_delivery.key)  # this process's next poll reads it again
    _publish(item, written, [0.0] + _step_percentages(item, due))
    return item


def set_experiments(old: Delivery, experiments: list, also=None) -> None:
    """Replace the running experiments of a Delivery that has nothing to deploy (its only
    deployment was rolled back), so a later deployment does not carry a stopped run; one
    transaction with the caller's items (``also(t, None)``)."""
    try:
        with tx.transaction() as t:
            t.update(
                Delivery(old.key),
                actions=[
                    Delivery.experiments.set(experiments)
                    if experiments
                    else Delivery.experiments.remove()
                ],
                condition=Delivery.deployment_number == int(old.deployment_number),
            )
            if also is not None:
                also(t, None)
    finally:
        delivery_changed(old.key)


# --- advance / complete -----------------------------------------------------------------------


def advance(
    item: Deployment,
    now: datetime,
    clients: monitors.Clients | None = None,
    check_alarms: bool = True,
) -> tuple[str, int]:
    """Bring one in-progress deployment to ``now``. ``item`` needs the index's attributes.
    Returns (outcome, events written): outcome is idle | progressed | completed |
    rolled_back | lost_races."""
    settled = settle(item, now, clients, check_alarms)
    if settled[0] != 'due':
        return settled
    return _write_steps(item, settled[1])


def settle(
    item: Deployment,
    now: datetime,
    clients: monitors.Clients | None = None,
    check_alarms: bool = True,
) -> tuple:
    """advance() but for its plain step write: checks the monitors and AT_DEPLOYMENT_TICK
    actions (rolling back when they say so) and completes a deployment whose strategy has
    run its course. Returns (outcome, events written) when that settled it, or ('due', Due)
    when growth steps are due and nothing else: :func:`write_steps` writes those."""
    due = progress.due(item, now)
    if check_alarms and due.state in IN_PROGRESS and item.monitors:
        alarm = monitors.firing(item.monitors, clients)
        if alarm:
            written = roll_back(item, now, due, eventlog.by_alarm(alarm))
            return ('rolled_back', written) if written else ('lost_races', 0)
    if check_alarms and due.state in IN_PROGRESS:
        # AT_DEPLOYMENT_TICK extension actions: a ROLL_BACK directive rolls back.
        asked = points.at_deployment_tick(item, due)
        if asked is not None:
            written = roll_back(item, now, due, asked.cause)
            if written:
                points.rolled_back(asked, now)
            return ('rolled_back', written) if written else ('lost_races', 0)
    if due.state == COMPLETE:
        written = complete(item, due)
        return ('completed', written) if written is not None else ('lost_races', 0)
    if not due.pending:
        return 'idle', 0
    return 'due', due


def _step_actions(due):
    return [
        _append(due.pending),
        Deployment.steps_written.set(due.steps_due),
        Deployment.state.set(due.state),
    ]


def _write_steps(item, due):
    percentages = _step_percentages(item, due)  # before the write refreshes the item
    try:
        item.update(actions=_step_actions(due), condition=_unchanged(item))
    except UpdateError as error:
        if conditional_failed(error):
            return 'lost_races', 0
        raise
    _publish(item, due.pending, percentages)
    return 'progressed', len(due.pending)


# DynamoDB's limit of items in one transaction.
TRANSACTION_ITEMS = 100
# Transactions of one write_steps call in flight at once: DynamoDB Local parses and checks
# each on its own request thread, so two overlap on two cores; DynamoDB takes many more.
WRITERS = 2


def write_steps(pairs: list) -> list:
    """Write the due steps of many deployments (``(item, due)`` pairs from :func:`settle`),
    up to 100 in one transaction, ``WRITERS`` transactions at a time: one request and one
    commit per hundred. Each update keeps its own condition, so a transaction is all or
    nothing; one that is cancelled (a condition failed because another writer got there
    first, a conflict) is written again one deployment at a time, where each loser says
    lost_races. One commit barrier (store/durable.py) follows the last transaction, and only
    then is anything published. Returns [(outcome, events written)] in the order of
    ``pairs``."""
    # The percentages of the steps, read before any write can refresh an item.
    percentages = [_step_percentages(item, due) for item, due in pairs]
    chunks = [pairs[i : i + TRANSACTION_ITEMS] for i in range(0, len(pairs), TRANSACTION_ITEMS)]
    if len(chunks) > 1:
        with ThreadPoolExecutor(max_workers=WRITERS, thread_name_prefix='steps') as pool:
            committed = list(pool.map(_commit_steps, chunks))
    else:
        committed = [_commit_steps(chunk) for chunk in chunks]
    last = next((c for c in reversed(committed) if not isinstance(c, list)), None)
    if last is not None:
        last.barrier()
    out = []
    for start, result in zip(range(0, len(pairs), TRANSACTION_ITEMS), committed):
        if isinstance(result, list):  # written one at a time, and published by then
            out += result
            continue
        for (item, due), pcts in zip(pairs[start : start + TRANSACTION_ITEMS], percentages[start:]):
            _publish(item, due.pending, pcts)
            out.append(('progressed', len(due.pending)))
    return out


def _commit_steps(chunk):
    """One transaction for ``chunk``, its commit barrier left to the caller (returned: the
    TransactWrite); or, when ``chunk`` is one deployment or its transaction was cancelled,
    [(outcome, events written)] from writing each deployment alone."""
    if len(chunk) == 1:
        return [_write_steps(*chunk[0])]
    try:
        with tx.transaction(barrier=False) as t:
            for item, due in chunk:
                t.update(item, actions=_step_actions(due), condition=_unchanged(item))
    except TransactWriteError:
        return [_write_steps(item, due) for item, due in chunk]
    return t


def complete(item: Deployment, due: progress.Due) -> int | None:
    """Write the remaining steps and COMPLETE; free the environment. Returns the number of
    events written, or None when another writer got there first."""
    deployment_actions = [
        _append(due.pending),
        Deployment.steps_written.set(due.steps_due),
        Deployment.state.set(COMPLETE),
        Deployment.completed_at.set(due.completed_at),
        Deployment.percentage.set(100),
        Deployment.active.remove(),
        Deployment.active_key.remove(),
    ]
    environment = Environment(item.application_id, item.environment_id)
    try:
        with tx.transaction() as t:
            t.update(item, actions=deployment_actions, condition=_unchanged(item))
            t.update(
                environment,
                actions=[
                    Environment.state.set(_environment_state(EventType.DEPLOYMENT_COMPLETED)),
                    Environment.active_deployment.remove(),
                ],
                condition=Environment.active_deployment == int(item.number),
            )
    except TransactWriteError as error:
        codes = reasons(error)
        if codes[:1] == ['ConditionalCheckFailed'] or 'TransactionConflict' in codes:
            return None
        if codes[1:2] != ['ConditionalCheckFailed']:
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


# --- roll back / revert -----------------------------------------------------------------------


def roll_back(item: Deployment, now: datetime, due: progress.Due, cause: eventlog.Cause) -> int:
    """Stop an in-progress deployment for ``cause`` (user, alarm or extension): write the
    steps due so far, ROLLBACK_STARTED and ROLLBACK_COMPLETED; environment RolledBack;
    clients back on the previous release. Returns the number of events written, or 0 when
    another writer changed the deployment first (the caller re-reads and decides again)."""
    new = list(due.pending) + cause.events(now)
    done = TRANSITIONS[EventType.ROLLBACK_COMPLETED]
    number = int(item.number)
    key = delivery_key(item.application_id, item.environment_id, item.profile_id)
    try:
        with tx.transaction() as t:
            t.update(
                item,
                condition=_unchanged(item) & Deployment.state.is_in(*IN_PROGRESS),
                actions=[
                    _append(new),
                    Deployment.steps_written.set(due.steps_due),
                    Deployment.state.set(done.deployment),
                    Deployment.completed_at.set(now),
                    Deployment.percentage.set(due.percentage),
                    Deployment.active.remove(),
                    Deployment.active_key.remove(),
                ],
            )
            t.update(
                Environment(item.application_id, item.environment_id),
                actions=[
                    Environment.state.set(done.environment),
                    Environment.active_deployment.remove(),
                ],
                condition=Environment.active_deployment == number,
            )
            t.update(
                Delivery(key),
                actions=[Delivery.state.set(done.delivery)],
                condition=Delivery.deployment_number == number,
            )
    except TransactWriteError as error:
        if reasons(error):
            return 0
        raise
    finally:
        delivery_changed(key)
    _publish(item, new, _step_percentages(item, due) + [due.percentage, due.percentage])
    return len(new)


def revert(
    item: Deployment, now: datetime, due: progress.Due | None, completed_at: datetime, account: str
) -> bool:
    """Revert a COMPLETE deployment (``due`` is None), or one the clock says is complete
    but the tick has not written (``due`` its progress), for ``account``: REVERTED +
    REVERT_COMPLETED; environment Reverted; clients back on the previous release.
    BadRequestException when a later deployment of the profile replaced it,
    ConflictException while another one is in progress. False when another writer changed
    something first (re-read and retry)."""
    number = int(item.number)
    current = delivery.read(item.application_id, item.environment_id, item.profile_id)
    if current is None or int(current.deployment_number) != number:
        raise BadRequestException(
            f'Deployment {number} can no longer be reverted: deployment '
            f'{int(current.deployment_number) if current else "?"} of the same configuration '
            f'profile replaced it.'
        )
    try:
        environment = Environment.get(
            item.application_id, item.environment_id, consistent_read=True
        )
    except Environment.DoesNotExist:
        raise not_found('Environment', item.environment_id) from None
    active = environment.active_deployment
    if active is not None and int(active) != number:
        raise ConflictException(
            f'Deployment {int(active)} is in progress on environment {item.environment_id}; '
            f'stop it or wait for it before reverting deployment {number}.'
        )
    done = TRANSITIONS[EventType.REVERT_COMPLETED]
    pending = list(due.pending) if due is not None else []
    new = pending + [eventlog.reverted(account, now)]
    updates = [
        _append(new),
        Deployment.state.set(done.deployment),
        Deployment.completed_at.set(completed_at),
        Deployment.percentage.set(100),
    ]
    if due is not None:
        updates += [
            Deployment.steps_written.set(due.steps_due),
            Deployment.active.remove(),
            Deployment.active_key.remove(),
        ]
        condition = _unchanged(item)
        env_condition = Environment.active_deployment == number
    else:
        condition = Deployment.state == COMPLETE
        env_condition = Environment.active_deployment.does_not_exist()
    try:
        with tx.transaction() as t:
            t.update(item, actions=updates, condition=condition)
            t.update(
                Environment(item.application_id, item.environment_id),
                actions=[
                    Environment.state.set(done.environment),
                    Environment.active_deployment.remove(),
                ],
                condition=env_condition,
            )
            t.update(
                Delivery(current.key),
                actions=[Delivery.state.set(done.delivery)],
                condition=Delivery.deployment_number == number,
            )
    except TransactWriteError as error:
        if reasons(error):
            return False
        raise
    finally:
        delivery_changed(current.key)
    written = _step_percentages(item, due) if due is not None else []
    _publish(item, new, written + [100.0])
    return True


def environment_state(environment: Environment, now: datetime) -> str:
    """An Environment item's State exact for ``now`` (GetEnvironment, ListEnvironments): a
    deployment the clock says is COMPLETE reads ReadyForDeployment before a tick wrote it.
    Costs one GetItem, and only while a deployment is in progress."""
    return progress.environment_state(environment.state, active_of(environment), now)
