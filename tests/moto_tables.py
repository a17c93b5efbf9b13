"""The service's tables created straight in moto's DynamoDB backend.

Twenty CreateTable round trips through botocore cost ~0.4 s per test; building the same
tables from the models' schemas in moto's backend costs a few milliseconds. Falls back to
the real API if moto's internals ever change shape.
"""

from chalicelib.store.tables import create_all, models


def _indexes(specs):
    return [
        {'IndexName': i['index_name'], 'KeySchema': i['key_schema'], 'Projection': i['projection']}
        for i in specs or ()
    ] or None


def create_tables():
    try:
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.dynamodb.models import dynamodb_backends

        backend = dynamodb_backends[DEFAULT_ACCOUNT_ID]['us-east-1']
        for model in models():
            schema = model._get_schema()
            backend.create_table(
                model.Meta.table_name,
                schema=schema['key_schema'],
                throughput=None,
                attr=schema['attribute_definitions'],
                global_indexes=_indexes(schema.get('global_secondary_indexes')),
                indexes=_indexes(schema.get('local_secondary_indexes')),
                streams=None,
                billing_mode='PAY_PER_REQUEST',
                sse_specification=None,
                tags=[],
                deletion_protection_enabled=False,
                warm_throughput=None,
            )
    except (ImportError, TypeError, AttributeError):
        create_all()
