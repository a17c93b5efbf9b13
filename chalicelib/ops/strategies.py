"""CreateDeploymentStrategy, GetDeploymentStrategy, UpdateDeploymentStrategy,
DeleteDeploymentStrategy, ListDeploymentStrategies; ``load`` for the deployment engine.

The four predefined ``AppConfig.*`` strategies are constants here, never stored: they are
readable by id, listed before the account's own strategies, and cannot be changed.
"""

from chalicelib import arns, clock
from chalicelib.errors import (
    BadRequestException,
    InternalServerException,
    ServiceQuotaExceededException,
    not_found,
)
from chalicelib.ops import tagging
from chalicelib.store import paging, tx
from chalicelib.store.ids import new_id
from chalicelib.store.settings import AccountSettings
from chalicelib.store.strategies import Strategy

MAX_STRATEGIES = 20
PREFIX = 'AppConfig.'


def _predefined(name, growth_type, factor, duration, bake, description):
    return {
        'Id': name,
        'Name': name,
        'Description': description,
        'DeploymentDurationInMinutes': duration,
        'GrowthType': growth_type,
        'GrowthFactor': float(factor),
        'FinalBakeTimeInMinutes': bake,
        'ReplicateTo': 'NONE',
    }


PREDEFINED = {
    s['Id']: s
    for s in (
        _predefined('AppConfig.AllAtOnce', 'LINEAR', 100, 0, 10, 'Quick'),
        _predefined('AppConfig.Linear50PercentEvery30Seconds', 'LINEAR', 50, 1, 1, 'Test/Demo'),
        _predefined(
            'AppConfig.Canary10Percent20Minutes', 'EXPONENTIAL', 10, 20, 10, 'AWS Recommended'
        ),
        _predefined(
            'AppConfig.Linear20PercentEvery6Minutes', 'LINEAR', 20, 30, 30, 'AWS Recommended'
        ),
    )
}
_PREDEFINED_ORDER = list(PREDEFINED)


def render(item):
    return {
        'Id': item.id,
        'Name': item.name,
        'Description': item.description,
        'DeploymentDurationInMinutes': int(item.duration),
        'GrowthType': item.growth_type,
        'GrowthFactor': float(item.growth_factor),
        'FinalBakeTimeInMinutes': int(item.final_bake),
        'ReplicateTo': item.replicate_to,
    }


def load(strategy_id):
    """The strategy ``strategy_id`` in API shape (Id, Name, Description,
    DeploymentDurationInMinutes, GrowthType, GrowthFactor, FinalBakeTimeInMinutes,
    ReplicateTo); ResourceNotFoundException when there is none."""
    if strategy_id in PREDEFINED:
        return dict(PREDEFINED[strategy_id])
    return render(_item(strategy_id))


def _item(strategy_id):
    if strategy_id.startswith(PREFIX):
        raise _not_found(strategy_id)
    try:
        return Strategy.get(arns.account(), strategy_id, consistent_read=True)
    except Strategy.DoesNotExist:
        raise _not_found(strategy_id) from None


def _not_found(strategy_id):
    return not_found('Deployment strategy', strategy_id)


def _refuse_predefined(strategy_id, verb):
    if strategy_id in PREDEFINED:
        raise BadRequestException(f'Cannot {verb} predefined Deployment Strategy {strategy_id}.')


def create_deployment_strategy(p):
    tags = tagging.check(p.get('Tags'))
    account = arns.account()
    count = AccountSettings.strategy_count
    for _ in range(5):
        item = Strategy(
            account,
            new_id(),
            name=p['Name'],
            description=p.get('Description'),
            duration=int(p['DeploymentDurationInMinutes']),
            growth_factor=float(p['GrowthFactor']),
            growth_type=p.get('GrowthType') or 'LINEAR',
            final_bake=int(p.get('FinalBakeTimeInMinutes') or 0),
            replicate_to=p.get('ReplicateTo') or 'NONE',
            tags=tags,
            created_at=clock.now(),
        )

        def write():
            # The strategy and the account's count move together, so concurrent creates can
            # never exceed the quota and a failed create never uses up a slot.
            with tx.transaction() as t:
                t.save(item, condition=Strategy.id.does_not_exist())
                t.update(
                    AccountSettings(account),
                    actions=[count.add(1)],
                    condition=count.does_not_exist() | (count < MAX_STRATEGIES),
                )

        refused = tx.attempt(write)
        if refused is None:
            return render(item)
        if refused.failed(1):
            raise ServiceQuotaExceededException(
                f'The number of deployment strategies in this account cannot exceed '
                f'{MAX_STRATEGIES}.'
            )
        if not (refused.failed(0) or 'TransactionConflict' in refused.reasons):
            raise refused.error
        # The id is taken, or a concurrent write on the count: try again.
    raise InternalServerException('Could not create the deployment strategy. Try again.')


def get_deployment_strategy(p):
    return load(p['DeploymentStrategyId'])


_UPDATABLE = (
    ('Description', 'description', str),
    ('DeploymentDurationInMinutes', 'duration', int),
    ('FinalBakeTimeInMinutes', 'final_bake', int),
    ('GrowthFactor', 'growth_factor', float),
    ('GrowthType', 'growth_type', str),
)


def update_deployment_strategy(p):
    strategy_id = p['DeploymentStrategyId']
    _refuse_predefined(strategy_id, 'update')
    actions = [
        getattr(Strategy, attr).set(convert(p[member]))
        for member, attr, convert in _UPDATABLE
        if member in p
    ]
    if not actions:
        return render(_item(strategy_id))
    if strategy_id.startswith(PREFIX):
        raise _not_found(strategy_id)
    # One conditional UpdateItem: every change applies, or (unknown id) none does.
    item = Strategy(arns.account(), strategy_id)
    if tx.attempt(lambda: item.update(actions=actions, condition=Strategy.id.exists())):
        raise _not_found(strategy_id)
    return render(item)


def delete_deployment_strategy(p):
    strategy_id = p['DeploymentStrategyId']
    _refuse_predefined(strategy_id, 'delete')
    if strategy_id.startswith(PREFIX):
        raise _not_found(strategy_id)
    account = arns.account()

    def write():
        with tx.transaction() as t:
            t.delete(Strategy(account, strategy_id), condition=Strategy.id.exists())
            t.update(AccountSettings(account), actions=[AccountSettings.strategy_count.add(-1)])

    for _ in range(5):
        refused = tx.attempt(write)
        if refused is None:
            return {}
        if refused.failed(0):
            raise _not_found(strategy_id)
        if 'TransactionConflict' not in refused.reasons:
            raise refused.error
    raise InternalServerException('Could not delete the deployment strategy. Try again.')


def list_deployment_strategies(p):
    """The predefined strategies first, then the account's own, paged across both."""
    account = arns.account()
    return paging.with_fixed(
        [dict(PREDEFINED[i]) for i in _PREDEFINED_ORDER],
        lambda params: paging.page(Strategy, account, params, render=render),
        p,
        name='predefined',
        first=True,
        any_stored=lambda: next(iter(Strategy.query(account, limit=1)), None) is not None,
    )
