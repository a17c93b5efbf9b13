"""GetAccountSettings, UpdateAccountSettings; ``deletion_protection`` for the delete checks.

One item per account. Anything never set takes the service default: deletion protection off
with a 60-minute period, vended metrics off. An update changes only the members it names.
"""

from chalicelib import arns
from chalicelib.store.settings import AccountSettings

DEFAULT_PERIOD = 60


def _read():
    try:
        return AccountSettings.get(arns.account(), consistent_read=True)
    except AccountSettings.DoesNotExist:
        return AccountSettings(arns.account())


def render(item):
    return {
        'DeletionProtection': {
            'Enabled': bool(item.deletion_protection),
            'ProtectionPeriodInMinutes': int(item.protection_period or DEFAULT_PERIOD),
        },
        'VendedMetrics': {'Enabled': bool(item.vended_metrics)},
    }


def deletion_protection():
    """(enabled, protection period in minutes) for this account."""
    settings = render(_read())['DeletionProtection']
    return settings['Enabled'], settings['ProtectionPeriodInMinutes']


def get_account_settings(p):
    return render(_read())


def update_account_settings(p):
    protection = p.get('DeletionProtection') or {}
    metrics = p.get('VendedMetrics') or {}
    actions = [
        attr.set(value)
        for attr, value in (
            (AccountSettings.deletion_protection, protection.get('Enabled')),
            (AccountSettings.protection_period, protection.get('ProtectionPeriodInMinutes')),
            (AccountSettings.vended_metrics, metrics.get('Enabled')),
        )
        if value is not None
    ]
    if not actions:
        return render(_read())
    # One UpdateItem (creating the item if need be) touching only the named members.
    item = AccountSettings(arns.account())
    item.update(actions=actions)
    return render(item)
