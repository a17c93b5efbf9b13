"""Deletion protection over HTTP: polls mark environments and profiles as active, and
DeleteEnvironment / DeleteConfigurationProfile honour the account setting and the
x-amzn-deletion-protection-check header."""

import pytest

from chalicelib import clock
from tests.api.polling import fresh_caches, make_world, poll, start  # noqa: F401


def old_world(appconfig, appconfigdata=None, poll_it=True):
    """A world created two hours ago (past the one-hour grace), deployed and polled now."""
    w = make_world(appconfig)
    clock.advance(hours=2)
    w.deploy(b'x')
    if poll_it:
        poll(appconfigdata, start(appconfigdata, w))
    return w


def protect(appconfig, minutes=None):
    setting = {'Enabled': True}
    if minutes:
        setting['ProtectionPeriodInMinutes'] = minutes
    appconfig.update_account_settings(DeletionProtection=setting)


def delete_env(appconfig, w, check=None):
    extra = {'DeletionProtectionCheck': check} if check else {}
    return appconfig.delete_environment(ApplicationId=w.app, EnvironmentId=w.env, **extra)


def delete_profile(appconfig, w, check=None):
    extra = {'DeletionProtectionCheck': check} if check else {}
    return appconfig.delete_configuration_profile(
        ApplicationId=w.app, ConfigurationProfileId=w.profile, **extra
    )


def remove_versions(appconfig, w):
    for item in appconfig.list_hosted_configuration_versions(
        ApplicationId=w.app, ConfigurationProfileId=w.profile
    )['Items']:
        appconfig.delete_hosted_configuration_version(
            ApplicationId=w.app,
            ConfigurationProfileId=w.profile,
            VersionNumber=item['VersionNumber'],
        )


def test_polled_environment_is_protected(appconfig, appconfigdata):
    w = old_world(appconfig, appconfigdata)
    polled_at = clock.now()
    protect(appconfig)
    clock.advance(minutes=30)
    with pytest.raises(appconfig.exceptions.BadRequestException) as err:
        delete_env(appconfig, w)
    message = err.value.response['Error']['Message']
    assert w.env in message
    assert polled_at.isoformat(timespec='seconds').replace('+00:00', 'Z') in message
    with pytest.raises(appconfig.exceptions.BadRequestException):
        delete_env(appconfig, w, 'ACCOUNT_DEFAULT')
    assert delete_env(appconfig, w, 'BYPASS')['ResponseMetadata']['HTTPStatusCode'] == 204


def test_polled_profile_is_protected(appconfig, appconfigdata):
    w = old_world(appconfig, appconfigdata)
    remove_versions(appconfig, w)
    protect(appconfig)
    with pytest.raises(appconfig.exceptions.BadRequestException) as err:
        delete_profile(appconfig, w)
    assert w.profile in err.value.response['Error']['Message']
    assert 'last polled at' in err.value.response['Error']['Message']
    delete_profile(appconfig, w, 'BYPASS')
    with pytest.raises(appconfig.exceptions.ResourceNotFoundException):
        appconfig.get_configuration_profile(ApplicationId=w.app, ConfigurationProfileId=w.profile)


def test_protection_off_by_default_but_apply_checks(appconfig, appconfigdata):
    w = old_world(appconfig, appconfigdata)
    with pytest.raises(appconfig.exceptions.BadRequestException):
        delete_env(appconfig, w, 'APPLY')
    delete_env(appconfig, w)  # ACCOUNT_DEFAULT with protection off


def test_period_passed_means_inactive(appconfig, appconfigdata):
    w = old_world(appconfig, appconfigdata)
    protect(appconfig, minutes=15)
    clock.advance(minutes=10)
    with pytest.raises(appconfig.exceptions.BadRequestException):
        delete_env(appconfig, w)
    # The stored mark may trail the last poll by up to its one-minute refresh, so the
    # period is counted from the mark plus that minute.
    clock.advance(minutes=7)
    delete_env(appconfig, w)


def test_young_resources_skipped_unless_apply(appconfig, appconfigdata):
    w = make_world(appconfig)  # created just now
    w.deploy(b'x')
    poll(appconfigdata, start(appconfigdata, w))
    protect(appconfig)
    remove_versions(appconfig, w)
    with pytest.raises(appconfig.exceptions.BadRequestException):
        delete_profile(appconfig, w, 'APPLY')
    delete_profile(appconfig, w)  # under an hour old: ACCOUNT_DEFAULT skips the check
    with pytest.raises(appconfig.exceptions.BadRequestException):
        delete_env(appconfig, w, 'APPLY')
    delete_env(appconfig, w)


def test_never_polled_can_be_deleted_even_with_apply(appconfig):
    w = old_world(appconfig, poll_it=False)
    protect(appconfig)
    delete_env(appconfig, w, 'APPLY')


def test_get_configuration_counts_as_a_poll(appconfig):
    w = old_world(appconfig, poll_it=False)
    appconfig.get_configuration(
        Application=w.app, Environment=w.env, Configuration=w.profile, ClientId='c1'
    )
    protect(appconfig)
    with pytest.raises(appconfig.exceptions.BadRequestException):
        delete_env(appconfig, w)


def test_many_polls_keep_the_mark_fresh_with_one_write_a_minute(appconfig, appconfigdata):
    w = old_world(appconfig, appconfigdata)
    protect(appconfig, minutes=15)
    token = start(appconfigdata, w)
    for _ in range(30):  # polling every minute for half an hour
        clock.advance(minutes=1)
        token = poll(appconfigdata, token)[0]['NextPollConfigurationToken']
    clock.advance(minutes=14)
    with pytest.raises(appconfig.exceptions.BadRequestException):
        delete_env(appconfig, w)
    clock.advance(minutes=3)
    delete_env(appconfig, w)
