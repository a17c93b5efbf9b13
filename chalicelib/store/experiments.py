"""Experiment definitions, their runs and the runs' events.

Keys, chosen so every list is a Query:

- ``ExperimentDefinition``: hash = account, range = ``<application id>#<definition id>``.
  ListExperimentDefinitions lists an account without naming an application, so the account
  is the partition; an application filter is a ``begins_with`` on the range key.
- ``ExperimentDefinitionName``: hash = application id, range = name. A name is claimed by its
  own item, written in the same transaction as the definition, so two definitions of one
  application never share a name and a name resolves to its definition with one GetItem.
- ``ExperimentRun``: hash = ``<application id>#<definition id>``, range = run number.
- ``ExperimentRunEvent``: hash = ``<application id>#<definition id>#<run>``, range = sequence.

Invariants are conditions on the definition and run items: run numbers come from the
definition's ``latest_run`` counter, ``active_run`` (present only while a run is RUNNING) keeps
one run at a time and blocks updates and deletes, and a run's ``event_count`` numbers its
events so two concurrent updates can never write the same event twice.
"""

from __future__ import annotations

from pynamodb.attributes import (
    JSONAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)

from chalicelib.store.base import BaseMeta, BaseModel, table_name


def definition_key(application_id: str, definition_id: str) -> str:
    return f'{application_id}#{definition_id}'


def run_key(application_id: str, definition_id: str, run: int) -> str:
    return f'{application_id}#{definition_id}#{int(run)}'


class ExperimentDefinition(BaseModel):
    class Meta(BaseMeta):
        table_name = table_name('experiment-definitions')

    account = UnicodeAttribute(hash_key=True)
    key = UnicodeAttribute(range_key=True)  # definition_key(application, id)
    application_id = UnicodeAttribute()
    id = UnicodeAttribute()
    name = UnicodeAttribute()
    profile_id = UnicodeAttribute()
    environment_id = UnicodeAttribute()
    flag_key = UnicodeAttribute()
    # [{'Key', 'Weight', 'Description', 'FlagValue'}] as the API shapes Treatment.
    treatments = JSONAttribute()
    control = JSONAttribute()
    audience_rule = UnicodeAttribute()
    hypothesis = UnicodeAttribute(null=True)
    audience_description = UnicodeAttribute(null=True)
    launch_criteria = UnicodeAttribute(null=True)
    # IDLE, ACTIVE while a run is RUNNING, ARCHIVED after DeleteExperimentDefinition ARCHIVE.
    status = UnicodeAttribute(default='IDLE')
    tags = JSONAttribute(default=dict)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    latest_run = NumberAttribute(default=0)
    active_run = NumberAttribute(null=True)


class ExperimentDefinitionName(BaseModel):
    class Meta(BaseMeta):
        table_name = table_name('experiment-definition-names')

    application_id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute(range_key=True)
    definition_id = UnicodeAttribute()


class ExperimentRun(BaseModel):
    class Meta(BaseMeta):
        table_name = table_name('experiment-runs')

    definition = UnicodeAttribute(hash_key=True)  # definition_key(application, definition)
    run = NumberAttribute(range_key=True)
    application_id = UnicodeAttribute()
    definition_id = UnicodeAttribute()
    description = UnicodeAttribute(null=True)
    status = UnicodeAttribute()  # RUNNING or DONE
    exposure = NumberAttribute()
    overrides = JSONAttribute(null=True)  # {'Inline': {entity id: treatment key}}
    result = JSONAttribute(null=True)  # ExperimentRunResult as the API shapes it
    snapshot = JSONAttribute()  # ExperimentDefinitionSnapshot
    deployment_parameters = JSONAttribute(null=True)
    tags = JSONAttribute(default=dict)
    started_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    ended_at = UTCDateTimeAttribute(null=True)
    event_count = NumberAttribute(default=0)


class ExperimentRunEvent(BaseModel):
    class Meta(BaseMeta):
        table_name = table_name('experiment-run-events')

    run = UnicodeAttribute(hash_key=True)  # run_key(application, definition, run)
    sequence = NumberAttribute(range_key=True)
    type = UnicodeAttribute()
    description = UnicodeAttribute(null=True)
    occurred_at = UTCDateTimeAttribute()
    triggered_by = UnicodeAttribute()
    exposure = NumberAttribute(null=True)
    overrides = JSONAttribute(null=True)
    deployment = UnicodeAttribute(null=True)  # ARN of the MANAGED deployment it made


def application_has_definitions(account: str, application_id: str) -> bool:
    """True while any experiment definition (archived ones too) lives in the application."""
    found = ExperimentDefinition.query(
        account,
        ExperimentDefinition.key.startswith(definition_key(application_id, '')),
        limit=1,
        consistent_read=True,
    )
    return next(iter(found), None) is not None
