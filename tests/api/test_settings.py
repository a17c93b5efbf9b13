import json
import urllib.error
import urllib.request

import pytest

DEFAULTS = {
    'DeletionProtection': {'Enabled': False, 'ProtectionPeriodInMinutes': 60},
    'VendedMetrics': {'Enabled': False},
}


def settings(response):
    return {k: response[k] for k in ('DeletionProtection', 'VendedMetrics') if k in response}


def test_defaults_before_any_update(appconfig):
    got = appconfig.get_account_settings()
    assert got['ResponseMetadata']['HTTPStatusCode'] == 200
    assert settings(got) == DEFAULTS


def test_update_merges(appconfig):
    first = appconfig.update_account_settings(DeletionProtection={'Enabled': True})
    assert first['ResponseMetadata']['HTTPStatusCode'] == 200
    assert settings(first) == {
        **DEFAULTS,
        'DeletionProtection': {'Enabled': True, 'ProtectionPeriodInMinutes': 60},
    }
    second = appconfig.update_account_settings(DeletionProtection={'ProtectionPeriodInMinutes': 30})
    expected = {
        'DeletionProtection': {'Enabled': True, 'ProtectionPeriodInMinutes': 30},
        'VendedMetrics': {'Enabled': False},
    }
    assert settings(second) == expected
    third = appconfig.update_account_settings(VendedMetrics={'Enabled': True})
    expected['VendedMetrics'] = {'Enabled': True}
    assert settings(third) == expected
    fourth = appconfig.update_account_settings(DeletionProtection={'Enabled': False})
    expected['DeletionProtection']['Enabled'] = False
    assert settings(fourth) == expected
    assert settings(appconfig.get_account_settings()) == expected


def test_update_with_nothing_returns_current(appconfig):
    appconfig.update_account_settings(DeletionProtection={'ProtectionPeriodInMinutes': 1440})
    expected = {
        **DEFAULTS,
        'DeletionProtection': {'Enabled': False, 'ProtectionPeriodInMinutes': 1440},
    }
    assert settings(appconfig.update_account_settings()) == expected
    assert settings(appconfig.update_account_settings(DeletionProtection={})) == expected


def test_period_bounds_accepted(appconfig):
    for period in (15, 1440):
        updated = appconfig.update_account_settings(
            DeletionProtection={'Enabled': True, 'ProtectionPeriodInMinutes': period}
        )
        assert updated['DeletionProtection'] == {
            'Enabled': True,
            'ProtectionPeriodInMinutes': period,
        }


REJECTED_UPDATE_CHANGES_NOTHING_CASES = [
    (
        {'DeletionProtection': {'Enabled': True, 'ProtectionPeriodInMinutes': 14}},
        'protectionPeriodInMinutes',
    ),
    (
        {'DeletionProtection': {'Enabled': True, 'ProtectionPeriodInMinutes': 1441}},
        'protectionPeriodInMinutes',
    ),
    (
        {'DeletionProtection': {'Enabled': True, 'ProtectionPeriodInMinutes': 'an hour'}},
        'protectionPeriodInMinutes',
    ),
    ({'DeletionProtection': {'Enabled': 'yes'}}, 'enabled'),
    ({'VendedMetrics': {'Enabled': 'yes'}, 'DeletionProtection': {'Enabled': True}}, 'enabled'),
]


def test_rejected_update_changes_nothing(appconfig, raw_appconfig, subtests):
    for params, field in REJECTED_UPDATE_CHANGES_NOTHING_CASES:
        with subtests.test(params=params, field=field):
            before = settings(
                appconfig.update_account_settings(
                    DeletionProtection={'ProtectionPeriodInMinutes': 45}
                )
            )
            with pytest.raises(raw_appconfig.exceptions.BadRequestException) as err:
                raw_appconfig.update_account_settings(**params)
            assert err.value.response['ResponseMetadata']['HTTPStatusCode'] == 400
            assert field in err.value.response['Error']['Message']
            assert settings(appconfig.get_account_settings()) == before


def patch_settings(endpoint, doc):
    """PATCH /settings by hand, as a client botocore cannot imitate would."""
    request = urllib.request.Request(
        f'{endpoint}/settings',
        method='PATCH',
        headers={'Content-Type': 'application/json'},
        data=json.dumps(doc).encode(),
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, err.headers, json.loads(err.read())


def test_null_members_are_ignored(appconfig, endpoint):
    # Explicit nulls mean "not given".
    appconfig.update_account_settings(DeletionProtection={'Enabled': True})
    status, _, body = patch_settings(
        endpoint,
        {
            'DeletionProtection': {'Enabled': None, 'ProtectionPeriodInMinutes': 20},
            'VendedMetrics': None,
        },
    )
    assert status == 200
    assert body == {
        'DeletionProtection': {'Enabled': True, 'ProtectionPeriodInMinutes': 20},
        'VendedMetrics': {'Enabled': False},
    }


WRONG_JSON_TYPES_CASES = [
    ({'DeletionProtection': 'on'}, 'deletionProtection'),
    ({'DeletionProtection': {'Enabled': 1}}, 'enabled'),
    (
        {'DeletionProtection': {'Enabled': True, 'ProtectionPeriodInMinutes': 30.5}},
        'protectionPeriodInMinutes',
    ),
    ({'DeletionProtection': {'Enabled': True}, 'VendedMetrics': ['on']}, 'vendedMetrics'),
]


def test_wrong_json_types(appconfig, endpoint, subtests):
    for doc, field in WRONG_JSON_TYPES_CASES:
        with subtests.test(doc=doc, field=field):
            before = settings(appconfig.get_account_settings())
            status, headers, body = patch_settings(endpoint, doc)
            assert status == 400 and headers['x-amzn-ErrorType'] == 'BadRequestException'
            assert field in body['Message']
            assert settings(appconfig.get_account_settings()) == before


def test_deletion_protection_helper(appconfig):
    from chalicelib.ops.settings import deletion_protection

    assert deletion_protection() == (False, 60)
    appconfig.update_account_settings(DeletionProtection={'Enabled': True})
    assert deletion_protection() == (True, 60)
    appconfig.update_account_settings(DeletionProtection={'ProtectionPeriodInMinutes': 15})
    assert deletion_protection() == (True, 15)


def test_strategies_and_settings_share_the_account_item(appconfig):
    appconfig.update_account_settings(DeletionProtection={'Enabled': True})
    ident = appconfig.create_deployment_strategy(
        Name='s', DeploymentDurationInMinutes=1, GrowthFactor=50
    )['Id']
    expected = {
        **DEFAULTS,
        'DeletionProtection': {'Enabled': True, 'ProtectionPeriodInMinutes': 60},
    }
    assert settings(appconfig.get_account_settings()) == expected
    appconfig.update_account_settings(VendedMetrics={'Enabled': True})
    appconfig.delete_deployment_strategy(DeploymentStrategyId=ident)
    assert settings(appconfig.get_account_settings()) == {
        **expected,
        'VendedMetrics': {'Enabled': True},
    }
