"""Path labels are percent-decoded exactly once, whether they arrive decoded (API Gateway) or
still encoded (`chalice local`)."""

import pytest

from chalicelib.wire.parse import parse
from tests.apigw import route_of

ROUTE = route_of('GetConfiguration')
QUERY = {'client_id': ['c1']}


def labels(application):
    params = parse(
        ROUTE,
        {'ApplicationId': application, 'EnvironmentId': 'prod', 'Configuration': 'cfg'},
        QUERY,
        {},
        b'',
        raw_path='/api/applications/shop%2541%20eu/environments/prod/configurations/cfg',
    )
    return params['Application']


@pytest.mark.parametrize(
    'as_delivered',
    [
        'shop%41 eu',  # API Gateway: already decoded
        'shop%2541%20eu',  # chalice local: as sent
    ],
)
def test_decoded_once(as_delivered):
    assert labels(as_delivered) == 'shop%41 eu'


def test_without_the_raw_path_labels_are_decoded():
    params = parse(
        ROUTE,
        {'ApplicationId': 'a%20b', 'EnvironmentId': 'e', 'Configuration': 'c'},
        QUERY,
        {},
        b'',
    )
    assert params['Application'] == 'a b'
