"""Data written through the API survives a restart of the local runner."""

from tests.e2e.conftest import Runner, client


def test_data_survives_restart(tmp_path):
    env = {'APPCONFIG_DATA_DIR': str(tmp_path), 'AWS_ENDPOINT_URL_DYNAMODB': ''}
    first = Runner(env)
    try:
        appconfig = client('appconfig', first.endpoint)
        app_id = appconfig.create_application(Name='persisted', Description='kept')['Id']
    finally:
        first.stop()
    assert (tmp_path / 'dynamodb').is_dir()
    second = Runner(env)
    try:
        got = client('appconfig', second.endpoint).get_application(ApplicationId=app_id)
        assert (got['Name'], got['Description']) == ('persisted', 'kept')
    finally:
        second.stop()
