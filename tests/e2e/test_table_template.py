"""A fresh data dir starts from the copy of the tables the first fresh start made
(local/dynamodb_template.py), and holds nothing another data dir wrote."""

import re
import uuid
from pathlib import Path

from tests.e2e.conftest import Runner, client


def _dynamodb(log: Path):
    endpoint = re.search(r'DynamoDB Local on (http://\S+),', log.read_text()).group(1)
    return client('dynamodb', endpoint)


def test_a_fresh_data_dir_starts_with_the_tables_of_the_first(tmp_path, monkeypatch):
    from local import dynamodb
    from local import dynamodb_template as template

    prefix = f'e2e-tpl-{uuid.uuid4().hex[:8]}-'  # a schema no other start has made a copy of
    monkeypatch.setenv('APPCONFIG_TABLE_PREFIX', prefix)
    copy = template.CACHE / f'tables-{template.key(dynamodb.ensure_installed())}.db'
    env = {'AWS_ENDPOINT_URL_DYNAMODB': '', 'APPCONFIG_TABLE_PREFIX': prefix, 'LOG_LEVEL': 'INFO'}
    try:
        first = Runner({**env, 'APPCONFIG_DATA_DIR': str(tmp_path / 'a')}, tmp_path / 'a.log')
        try:
            assert copy.is_file()  # made before the first answer
            client('appconfig', first.endpoint).create_application(Name='only-in-a')
            made = _dynamodb(tmp_path / 'a.log').describe_table(TableName=f'{prefix}applications')
        finally:
            first.stop()
        second = Runner({**env, 'APPCONFIG_DATA_DIR': str(tmp_path / 'b')}, tmp_path / 'b.log')
        try:
            appconfig = client('appconfig', second.endpoint)
            assert appconfig.list_applications()['Items'] == []
            seeded = _dynamodb(tmp_path / 'b.log').describe_table(TableName=f'{prefix}applications')
            # The table came with the copy: created when the first data dir's was.
            assert seeded['Table']['CreationDateTime'] == made['Table']['CreationDateTime']
            app_id = appconfig.create_application(Name='in-b')['Id']
            assert appconfig.get_application(ApplicationId=app_id)['Name'] == 'in-b'
        finally:
            second.stop()
        # The copy is still the bare tables: what either data dir wrote is not in it.
        third = Runner({**env, 'APPCONFIG_DATA_DIR': str(tmp_path / 'c')})
        try:
            assert client('appconfig', third.endpoint).list_applications()['Items'] == []
        finally:
            third.stop()
    finally:
        copy.unlink(missing_ok=True)
