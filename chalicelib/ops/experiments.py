"""Experiments: CreateExperimentDefinition, GetExperimentDefinition, UpdateExperimentDefinition,
DeleteExperimentDefinition, ListExperimentDefinitions, StartExperimentRun, GetExperimentRun,
UpdateExperimentRun, StopExperimentRun, ListExperimentRuns, ListExperimentRunEvents.

The wire layer has checked every constraint the model declares; this module adds the rules
the model states in prose and the project's choices where it is silent:

- Applications, definitions, and a definition's profile and environment are given by id or
  name. Definition names are unique within an application (CreateExperimentDefinition answers
  ConflictException for a taken name); an ARCHIVED definition keeps its name until DESTROY.
- The profile must be of type AWS.AppConfig.FeatureFlags. When it has a hosted version, the
  newest one must declare FlagKey, and every attribute a treatment sets must be declared on
  that flag (checked at create, update and StartExperimentRun). A profile without versions
  is accepted: the flag may be created before the first run.
- AudienceRule must parse as a rule (chalicelib/rules.py), else BadRequestException.
- Treatment keys are ``c`` for the control and ``t1``..``t5`` for the treatments in the order
  given (the variants the agent serves are ``__c__``, ``__t1__``, ...). TreatmentOverrides
  must name one of those keys. Weights are relative; they must not all be 0.
- Status is IDLE, ACTIVE while a run is RUNNING, ARCHIVED after an ARCHIVE delete. State
  refusals are ConflictException: updating, deleting or starting a run of a definition whose
  run is RUNNING, changing or starting an ARCHIVED one, updating or stopping a DONE run.
  Lowering ExposurePercentage is BadRequestException (the request itself is wrong).
- StartExperimentRun without ExposurePercentage exposes 0 percent: exposure can only grow, so
  a larger default could never be taken back.
- DeleteExperimentDefinition without delete_type archives (the reversible-looking choice,
  nothing is lost). ARCHIVE of an archived definition succeeds. DESTROY removes the
  definition, its name, its runs and their events. ListExperimentDefinitions hides ARCHIVED
  definitions unless the Status filter asks for them.
- Without an application filter ListExperimentDefinitions matches the profile and environment
  filters against ids (names are only unique, and resolvable, within an application).
- Runs list newest first; a run's events list oldest first (a timeline). Events carry the
  exposure and overrides after the change, TriggeredBy USER. DeploymentParameters and run
  tags are stored.
- Serving (the Agent endpoint, and the Ion answer for the AppConfig Agent): each change of a
  run that changes what clients get (start, exposure, overrides, stop) is a MANAGED
  deployment of the flag's deployed version on the definition's environment (ListDeployments
  shows Type MANAGED; strategy AppConfig.AllAtOnce without its bake time, so it completes
  at once), written in the same transaction as
  the run and its event, whose AssociatedDeployment is that deployment's ARN. The
  deployment's Delivery carries the running experiments (treatments.py turns them into
  variants); a later user deployment keeps them. A run starts only on a flag deployed to the
  environment (BadRequestException otherwise: AWS runs experiments on deployed flags), and a
  change is refused with ConflictException while a deployment is in progress there, as any
  deployment would be. The run's DeploymentParameters (extension parameters, tags) go to its
  managed deployments. Changing only the description or parameters makes no deployment.
"""

import base64
import json
import math

from chalicelib import arns, clock, rules, treatments
from chalicelib.constants import FEATURE_FLAGS
from chalicelib.engine import delivery, lifecycle
from chalicelib.errors import (
    BadRequestException,
    ConflictException,
    InternalServerException,
    not_found,
)
from chalicelib.ops import hosted_versions, tagging
from chalicelib.store import paging, tx
from chalicelib.store.applications import Application
from chalicelib.store.environments import Environment
from chalicelib.store.experiments import (
    ExperimentDefinition,
    ExperimentDefinitionName,
    ExperimentRun,
    ExperimentRunEvent,
    definition_key,
    run_key,
)
from chalicelib.store.hosted_versions import HostedVersion, profile_key
from chalicelib.store.ids import new_id
from chalicelib.store.profiles import Profile

IDLE, ACTIVE, ARCHIVED = 'IDLE', 'ACTIVE', 'ARCHIVED'
RUNNING, DONE = 'RUNNING', 'DONE'
ARCHIVE, DESTROY = 'ARCHIVE', 'DESTROY'
RUN_STARTED, EXPOSURE_UPDATED = 'RUN_STARTED', 'EXPOSURE_UPDATED'
OVERRIDES_UPDATED, RUN_STOPPED = 'OVERRIDES_UPDATED', 'RUN_STOPPED'
USER = 'USER'
CONTROL_KEY = 'c'
ATTEMPTS = 10
_ATTRIBUTE_MEMBERS = ('StringValue', 'NumberValue', 'BooleanValue', 'StringArray', 'NumberArray')


# --- rendering ---------------------------------------------------------------------------


def _definition_body(item):
    return {
        'ApplicationId': item.application_id,
        'Id': item.id,
        'Name': item.name,
        'Hypothesis': item.hypothesis,
        'ConfigurationProfileId': item.profile_id,
        'EnvironmentId': item.environment_id,
        'FlagKey': item.flag_key,
        'AudienceRule': item.audience_rule,
        'AudienceDescription': item.audience_description,
        'LaunchCriteria': item.launch_criteria,
        'Treatments': list(item.treatments),
        'Control': item.control,
    }


def render(item):
    return {
        **_definition_body(item),
        'Status': item.status,
        'CreatedAt': item.created_at,
        'UpdatedAt': item.updated_at,
    }


def summary(item):
    return {
        'ApplicationId': item.application_id,
        'Id': item.id,
        'Name': item.name,
        'Hypothesis': item.hypothesis,
        'Status': item.status,
        'ConfigurationProfileId': item.profile_id,
        'EnvironmentId': item.environment_id,
        'FlagKey': item.flag_key,
        'CreatedAt': item.created_at,
        'UpdatedAt': item.updated_at,
    }


def render_run(run):
    return {
        'ApplicationId': run.application_id,
        'ExperimentDefinitionId': run.definition_id,
        'Run': int(run.run),
        'Description': run.description,
        'Status': run.status,
        'ExposurePercentage': float(run.exposure),
        'TreatmentOverrides': run.overrides,
        'Result': run.result,
        'StartedAt': run.started_at,
        'UpdatedAt': run.updated_at,
        'EndedAt': run.ended_at,
        'ExperimentDefinitionSnapshot': run.snapshot,
    }


def run_summary(run):
    return {
        'ExperimentDefinitionId': run.definition_id,
        'Run': int(run.run),
        'Description': run.description,
        'Status': run.status,
        'StartedAt': run.started_at,
        'UpdatedAt': run.updated_at,
        'EndedAt': run.ended_at,
    }


def render_event(event):
    return {
        'Description': event.description,
        'EventType': event.type,
        'OccurredAt': event.occurred_at,
        'TriggeredBy': event.triggered_by,
        'ExposurePercentage': None if event.exposure is None else float(event.exposure),
        'TreatmentOverrides': event.overrides,
        'AssociatedDeployment': event.deployment,
    }


# --- loading -----------------------------------------------------------------------------


def _find(model, parent, identifier, label):
    """By id, else by name (the oldest of that name), as ops.lookup resolves them but with
    consistent reads: a resource created by the previous request must be found."""
    try:
        return model.get(parent, identifier, consistent_read=True)
    except model.DoesNotExist:
        pass
    matches = model.query(parent, filter_condition=model.name == identifier, consistent_read=True)
    found = min(matches, key=lambda item: (item.created_at, item.id), default=None)
    if found is None:
        raise not_found(label, identifier)
    return found


def _application(identifier):
    return _find(Application, arns.account(), identifier, 'Application')


def _profile(application_id, identifier):
    return _find(Profile, application_id, identifier, 'ConfigurationProfile')


def _environment(application_id, identifier):
    return _find(Environment, application_id, identifier, 'Environment')


def _get_definition(application_id, definition_id):
    try:
        return ExperimentDefinition.get(
            arns.account(), definition_key(application_id, definition_id), consistent_read=True
        )
    except ExperimentDefinition.DoesNotExist:
        return None


def _definition(application_id, identifier):
    """The definition by id, else by name; ResourceNotFoundException when neither."""
    item = _get_definition(application_id, identifier)
    if item is None:
        try:
            claim = ExperimentDefinitionName.get(application_id, identifier, consistent_read=True)
            item = _get_definition(application_id, claim.definition_id)
        except ExperimentDefinitionName.DoesNotExist:
            pass
    if item is None:
        raise not_found('ExperimentDefinition', identifier)
    return item


def _target(p):
    """(application, definition) named by a request's URI."""
    app = _application(p['ApplicationIdentifier'])
    return app, _definition(app.id, p['ExperimentDefinitionIdentifier'])


def _run(definition, number):
    try:
        return ExperimentRun.get(
            definition_key(definition.application_id, definition.id),
            int(number),
            consistent_read=True,
        )
    except ExperimentRun.DoesNotExist:
        raise not_found('ExperimentRun', str(number)) from None


# --- checks ------------------------------------------------------------------------------


def _finite(value, where):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise BadRequestException(f'{where} must be a finite number.')
    return float(value)


def _flag_value(value, where):
    out = {'Enabled': value['Enabled']}
    attributes = {}
    for key, attribute in (value.get('AttributeValues') or {}).items():
        set_members = [m for m in _ATTRIBUTE_MEMBERS if attribute.get(m) is not None]
        if len(set_members) != 1:
            raise BadRequestException(
                f'{where}.AttributeValues.{key} must set exactly one of '
                f'{", ".join(_ATTRIBUTE_MEMBERS)}.'
            )
        member = set_members[0]
        one = attribute[member]
        if member == 'NumberValue':
            one = _finite(one, f'{where}.AttributeValues.{key}.NumberValue')
        elif member == 'NumberArray':
            one = [_finite(n, f'{where}.AttributeValues.{key}.NumberArray') for n in one]
        attributes[key] = {member: one}
    if 'AttributeValues' in value:
        out['AttributeValues'] = attributes
    return out


def _treatment(value, key, where):
    out = {
        'Key': key,
        'Weight': _finite(value['Weight'], f'{where}.Weight'),
        'FlagValue': _flag_value(value['FlagValue'], f'{where}.FlagValue'),
    }
    if value.get('Description') is not None:
        out['Description'] = value['Description']
    return out


def _treatments(control, treatments):
    """(control, treatments) as stored, with their keys; checks weights and unions."""
    control = _treatment(control, CONTROL_KEY, 'Control')
    treatments = [_treatment(t, f't{i}', f'Treatments.{i}') for i, t in enumerate(treatments, 1)]
    if not any(t['Weight'] > 0 for t in [control, *treatments]):
        raise BadRequestException(
            'The weights of the control and the treatments must not all be 0.'
        )
    return control, treatments


def _treatment_keys(control, treatments):
    return [control.get('Key', CONTROL_KEY)] + [t['Key'] for t in treatments]


def _latest_flags(application_id, profile_id):
    """(version number, the ``flags`` object) of the profile's newest hosted version, or
    (None, None) when it has none or its content is not a flag document."""
    latest = next(
        iter(
            HostedVersion.query(
                profile_key(application_id, profile_id),
                scan_index_forward=False,
                limit=1,
                consistent_read=True,
            )
        ),
        None,
    )
    if latest is None:
        return None, None
    try:
        doc = json.loads(hosted_versions.read_content(latest))
    except (ValueError, UnicodeDecodeError, RecursionError):
        return int(latest.version), None
    flags = doc.get('flags') if isinstance(doc, dict) else None
    return int(latest.version), flags if isinstance(flags, dict) else None


def _check_flag(application_id, profile_id, flag_key, control, treatments):
    version, flags = _latest_flags(application_id, profile_id)
    if flags is None:
        return
    if flag_key not in flags:
        raise BadRequestException(
            f'Flag {flag_key} does not exist in version {version} of configuration profile '
            f'{profile_id}.'
        )
    declared = flags[flag_key].get('attributes') if isinstance(flags[flag_key], dict) else None
    declared = declared if isinstance(declared, dict) else {}
    for where, treatment in [('Control', control)] + [
        (f'Treatments.{i}', t) for i, t in enumerate(treatments, 1)
    ]:
        for key in treatment['FlagValue'].get('AttributeValues') or {}:
            if key not in declared:
                raise BadRequestException(
                    f"{where}.FlagValue.AttributeValues.{key}: attribute '{key}' is not "
                    f'declared for flag {flag_key} in version {version} of configuration '
                    f'profile {profile_id}.'
                )


def _exposure(value):
    if value is None:
        return None
    if not (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and 0 <= value <= 100
    ):
        raise BadRequestException('ExposurePercentage must be between 0 and 100.')
    return float(value)


def _overrides(value, snapshot):
    if value is None:
        return None
    inline = value.get('Inline')
    if inline is None:
        raise BadRequestException('TreatmentOverrides must set Inline.')
    keys = _treatment_keys(snapshot['Control'], snapshot['Treatments'])
    for entity, key in inline.items():
        if key not in keys:
            raise BadRequestException(
                f"TreatmentOverrides.Inline.{entity}: treatment key '{key}' does not exist. "
                f'Use one of {", ".join(keys)}.'
            )
    return {'Inline': dict(inline)}


def _deployment_parameters(value):
    if value is None:
        return None
    out = {}
    if value.get('DynamicExtensionParameters') is not None:
        out['DynamicExtensionParameters'] = dict(value['DynamicExtensionParameters'])
    if value.get('Tags') is not None:
        out['Tags'] = tagging.check(value['Tags'])
    return out


def _result(value):
    if value is None:
        return None
    out = {
        k: value[k]
        for k in ('ExecutiveSummary', 'ReasonsToLaunch', 'ReasonsNotToLaunch')
        if value.get(k) is not None
    }
    return out or None


def _audience(rule):
    """AudienceRule must be a rule of the Agent's language (it becomes part of each
    treatment's rule when a run is served)."""
    try:
        rules.parse(rule)
    except rules.RuleError as error:
        raise BadRequestException(f'AudienceRule is not a valid rule: {error}') from None
    return rule


def _busy(item):
    return ConflictException(
        f'Experiment definition {item.id} has experiment run {int(item.active_run)} running. '
        f'Stop the run first.'
    )


def _archived(item):
    return ConflictException(f'Experiment definition {item.id} is archived.')


def _check_changeable(item):
    if item.active_run is not None:
        raise _busy(item)
    if item.status == ARCHIVED:
        raise _archived(item)


def _pct(value):
    return f'{float(value):.2f}%'


# --- definitions -------------------------------------------------------------------------


def create_experiment_definition(p):
    app = _application(p['ApplicationIdentifier'])
    name = p['Name']
    if name.startswith('AWS.'):
        raise BadRequestException("Name must not start with 'AWS.'.")
    profile = _profile(app.id, p['ConfigurationProfileIdentifier'])
    if profile.type != FEATURE_FLAGS:
        raise BadRequestException(
            f'Configuration profile {profile.id} is of type {profile.type}; experiments need '
            f'a feature flag profile ({FEATURE_FLAGS}).'
        )
    env = _environment(app.id, p['EnvironmentIdentifier'])
    control, treatments = _treatments(p['Control'], p['Treatments'])
    _audience(p['AudienceRule'])
    _check_flag(app.id, profile.id, p['FlagKey'], control, treatments)
    tags = tagging.check(p.get('Tags'))
    for _ in range(ATTEMPTS):
        now = clock.now()
        definition_id = new_id()
        item = ExperimentDefinition(
            arns.account(),
            definition_key(app.id, definition_id),
            application_id=app.id,
            id=definition_id,
            name=name,
            profile_id=profile.id,
            environment_id=env.id,
            flag_key=p['FlagKey'],
            treatments=treatments,
            control=control,
            audience_rule=p['AudienceRule'],
            hypothesis=p.get('Hypothesis'),
            audience_description=p.get('AudienceDescription'),
            launch_criteria=p.get('LaunchCriteria'),
            status=IDLE,
            tags=tags,
            created_at=now,
            updated_at=now,
            latest_run=0,
        )
        claim = ExperimentDefinitionName(app.id, name, definition_id=definition_id)

        def write():
            with tx.transaction() as t:
                t.save(item, condition=ExperimentDefinition.key.does_not_exist())
                t.save(claim, condition=ExperimentDefinitionName.name.does_not_exist())

        if tx.attempt(write):
            try:
                ExperimentDefinitionName.get(app.id, name, consistent_read=True)
            except ExperimentDefinitionName.DoesNotExist:
                continue  # the drawn id was taken: draw another
            raise ConflictException(
                f'An experiment definition named {name} already exists in application {app.id}.'
            ) from None
        return render(item)
    raise InternalServerException('Could not allocate a unique id. Try again.')


def get_experiment_definition(p):
    return render(_target(p)[1])


def update_experiment_definition(p):
    app, item = _target(p)
    _check_changeable(item)
    actions = []
    if 'Treatments' in p or 'Control' in p:
        control, treatments = _treatments(
            p['Control'] if 'Control' in p else item.control,
            p['Treatments'] if 'Treatments' in p else item.treatments,
        )
        _check_flag(app.id, item.profile_id, item.flag_key, control, treatments)
        actions += [
            ExperimentDefinition.control.set(control),
            ExperimentDefinition.treatments.set(treatments),
        ]
    if 'AudienceRule' in p:
        _audience(p['AudienceRule'])
    for member, attr in (
        ('Hypothesis', ExperimentDefinition.hypothesis),
        ('AudienceRule', ExperimentDefinition.audience_rule),
        ('AudienceDescription', ExperimentDefinition.audience_description),
        ('LaunchCriteria', ExperimentDefinition.launch_criteria),
    ):
        if member in p:
            actions.append(attr.set(p[member]))
    if not actions:
        return render(item)
    actions.append(ExperimentDefinition.updated_at.set(clock.now()))
    if tx.attempt(
        lambda: item.update(
            actions=actions,
            condition=ExperimentDefinition.key.exists()
            & ExperimentDefinition.active_run.does_not_exist()
            & (ExperimentDefinition.status != ARCHIVED),
        )
    ):
        current = _get_definition(app.id, item.id)
        if current is None:
            raise not_found('ExperimentDefinition', item.id) from None
        _check_changeable(current)
        raise InternalServerException('The experiment definition changed. Try again.') from None
    return render(item)


def delete_experiment_definition(p):
    app, item = _target(p)
    if item.active_run is not None:
        raise _busy(item)
    if (p.get('DeleteType') or ARCHIVE) == ARCHIVE:
        if item.status != ARCHIVED:
            _archive(app, item)
        return {}
    claim = ExperimentDefinitionName(app.id, item.name)

    def write():
        with tx.transaction() as t:
            t.delete(
                item,
                condition=ExperimentDefinition.key.exists()
                & ExperimentDefinition.active_run.does_not_exist(),
            )
            t.delete(claim)

    if tx.attempt(write):
        _refused(app, item)
    # The definition is gone, so no run can start under it any more; its history follows.
    _destroy_runs(item)
    return {}


def _archive(app, item):
    if tx.attempt(
        lambda: item.update(
            actions=[
                ExperimentDefinition.status.set(ARCHIVED),
                ExperimentDefinition.updated_at.set(clock.now()),
            ],
            condition=ExperimentDefinition.key.exists()
            & ExperimentDefinition.active_run.does_not_exist(),
        )
    ):
        _refused(app, item)


def _refused(app, item):
    """Raise why a conditional write on a definition failed."""
    current = _get_definition(app.id, item.id)
    if current is None:
        raise not_found('ExperimentDefinition', item.id) from None
    if current.active_run is not None:
        raise _busy(current) from None
    raise InternalServerException('The experiment definition changed. Try again.') from None


def _destroy_runs(item):
    runs = list(
        ExperimentRun.query(definition_key(item.application_id, item.id), consistent_read=True)
    )
    for run in runs:
        events = ExperimentRunEvent.query(
            run_key(item.application_id, item.id, run.run), consistent_read=True
        )
        with ExperimentRunEvent.batch_write() as batch:
            for event in events:
                batch.delete(event)
    with ExperimentRun.batch_write() as batch:
        for run in runs:
            batch.delete(run)


def _token_within(token, prefix):
    """Refuse a NextToken whose position lies outside the application being listed (a token
    from another list would otherwise be out of the query's range)."""
    if not token:
        return
    try:
        key = json.loads(base64.urlsafe_b64decode(token.encode()))
        position = key['key']['S']
    except (ValueError, TypeError, KeyError, AttributeError, UnicodeDecodeError, RecursionError):
        return  # paging refuses what it cannot read
    if not isinstance(position, str) or not position.startswith(prefix):
        raise BadRequestException('The NextToken is not valid')


def list_experiment_definitions(p):
    query = {}
    profile_id = p.get('ConfigurationProfileIdentifier')
    environment_id = p.get('EnvironmentIdentifier')
    if p.get('ApplicationIdentifier'):
        app = _application(p['ApplicationIdentifier'])
        prefix = definition_key(app.id, '')
        _token_within(p.get('NextToken'), prefix)
        query['range_key_condition'] = ExperimentDefinition.key.startswith(prefix)
        if profile_id:
            profile_id = _profile(app.id, profile_id).id
        if environment_id:
            environment_id = _environment(app.id, environment_id).id
    status = p.get('Status')
    condition = (
        ExperimentDefinition.status == status if status else ExperimentDefinition.status != ARCHIVED
    )
    if profile_id:
        condition &= ExperimentDefinition.profile_id == profile_id
    if environment_id:
        condition &= ExperimentDefinition.environment_id == environment_id
    return paging.page(
        ExperimentDefinition, arns.account(), p, render=summary, filter_condition=condition, **query
    )


# --- runs --------------------------------------------------------------------------------


def _event(item, number, sequence, kind, description, now, exposure, overrides):
    return ExperimentRunEvent(
        run_key(item.application_id, item.id, number),
        sequence,
        type=kind,
        description=description,
        occurred_at=now,
        triggered_by=USER,
        exposure=exposure,
        overrides=overrides,
    )


# --- serving: each change of a run is a MANAGED deployment -------------------------------

MANAGED = 'MANAGED'
# A run's change reaches every client at once: all at once, without AllAtOnce's bake time.
_STRATEGY_ID = 'AppConfig.AllAtOnce'
_INSTANT = {
    'DeploymentDurationInMinutes': 0,
    'GrowthFactor': 100.0,
    'FinalBakeTimeInMinutes': 0,
    'GrowthType': 'LINEAR',
}


def _run_id(item, number):
    return f'{arns.account()}:{item.application_id}:{item.id}:{int(number)}'


def _run_arn(item, number):
    # The model gives runs no ARN; this one names them in the Experiment-Flags header.
    return arns.arn(
        f'application/{item.application_id}/experimentdefinition/{item.id}/'
        f'experimentrun/{int(number)}'
    )


def _spec(item, number, snapshot, exposure, overrides):
    return treatments.spec(
        _run_id(item, number),
        snapshot['FlagKey'],
        exposure,
        overrides,
        snapshot['AudienceRule'],
        snapshot['Control'],
        snapshot['Treatments'],
        arn=_run_arn(item, number),
    )


def _deployment_arn(deployment):
    return arns.arn(
        f'application/{deployment.application_id}/environment/'
        f'{deployment.environment_id}/deployment/{int(deployment.number)}'
    )


def _serve(item, number, spec, description, parameters, items):
    """Make the run's change what clients get, as AWS shows it: a MANAGED deployment of the
    flag's deployed version whose Delivery carries the running experiments with run
    ``number`` replaced by ``spec`` (None: removed), in one transaction with the run's own
    items (``items(t, deployment ARN or None)``). BadRequestException when the flag has never
    been deployed to the environment; ConflictException while a deployment is in progress
    there; TransactWriteError when a concurrent writer got in between (read and retry)."""
    application_id, environment_id = item.application_id, item.environment_id
    run_id = _run_id(item, number)
    old = delivery.read(application_id, environment_id, item.profile_id)
    running = [
        e for e in ((old.experiments if old is not None else None) or []) if e.get('Run') != run_id
    ]
    if spec is not None:
        running.append(spec)
    current = delivery.settled(old)
    if current is None:
        if spec is not None:
            raise BadRequestException(
                f'Flag {item.flag_key} is not deployed: deploy configuration profile '
                f'{item.profile_id} to environment {environment_id} before running an '
                f'experiment on it.'
            )
        if old is None:  # nothing was ever served: only the run changes
            with tx.transaction() as t:
                items(t, None)
            return
        lifecycle.set_experiments(old, running, lambda t, _: items(t, None))
        return
    environment = _environment(application_id, environment_id)
    profile = _profile(application_id, item.profile_id)
    parameters = parameters or {}

    def also(t, deployment):
        items(t, _deployment_arn(deployment))

    lifecycle.start(
        environment,
        profile,
        _INSTANT,
        current,
        clock.now(),
        strategy_id=_STRATEGY_ID,
        description=description,
        tags=parameters.get('Tags') or {},
        latest_expected=None,
        kms_identifier=None,
        kms_arn=None,
        dynamic_parameters=parameters.get('DynamicExtensionParameters'),
        kind=MANAGED,
        experiments=running,
        also=also,
    )


def start_experiment_run(p):
    app, item = _target(p)
    exposure = _exposure(p.get('ExposurePercentage'))
    exposure = 0.0 if exposure is None else exposure
    tags = tagging.check(p.get('Tags'))
    parameters = _deployment_parameters(p.get('DeploymentParameters'))
    for _ in range(ATTEMPTS):
        _check_changeable(item)
        for model, ident, label in (
            (Environment, item.environment_id, 'Environment'),
            (Profile, item.profile_id, 'ConfigurationProfile'),
        ):
            try:
                model.get(app.id, ident, consistent_read=True)
            except model.DoesNotExist:
                raise not_found(label, ident) from None
        _check_flag(app.id, item.profile_id, item.flag_key, item.control, item.treatments)
        snapshot = _definition_body(item)
        overrides = _overrides(p.get('TreatmentOverrides'), snapshot)
        number = int(item.latest_run) + 1
        now = clock.now()
        run = ExperimentRun(
            definition_key(app.id, item.id),
            number,
            application_id=app.id,
            definition_id=item.id,
            description=p.get('Description'),
            status=RUNNING,
            exposure=exposure,
            overrides=overrides,
            snapshot=snapshot,
            deployment_parameters=parameters,
            tags=tags,
            started_at=now,
            updated_at=now,
            event_count=1,
        )
        started = _event(
            item,
            number,
            1,
            RUN_STARTED,
            f'Experiment run {number} started with {_pct(exposure)} exposure',
            now,
            exposure,
            overrides,
        )
        seen = item.latest_run

        def items(t, deployment, run=run, started=started, number=number, seen=seen):
            started.deployment = deployment
            t.update(
                item,
                actions=[
                    ExperimentDefinition.latest_run.set(number),
                    ExperimentDefinition.active_run.set(number),
                    ExperimentDefinition.status.set(ACTIVE),
                ],
                condition=ExperimentDefinition.key.exists()
                & ExperimentDefinition.active_run.does_not_exist()
                & (ExperimentDefinition.status != ARCHIVED)
                & (ExperimentDefinition.latest_run == seen),
            )
            t.save(run, condition=ExperimentRun.run.does_not_exist())
            t.save(started, condition=ExperimentRunEvent.sequence.does_not_exist())

        spec = _spec(item, number, snapshot, exposure, overrides)
        if tx.attempt(
            lambda: _serve(
                item,
                number,
                spec,
                f'Experiment run {number} of {item.name} started',
                parameters,
                items,
            )
        ):
            item = _get_definition(app.id, item.id)
            if item is None:
                raise not_found(
                    'ExperimentDefinition', p['ExperimentDefinitionIdentifier']
                ) from None
            continue  # archived or started meanwhile (refused above), or a stale counter
        return render_run(run)
    raise InternalServerException('The experiment definition kept changing. Try again.')


def get_experiment_run(p):
    _, item = _target(p)
    return render_run(_run(item, p['Run']))


def _done(run):
    return ConflictException(
        f'Experiment run {int(run.run)} of experiment definition {run.definition_id} is {DONE}.'
    )


def update_experiment_run(p):
    _, item = _target(p)
    new_exposure = _exposure(p.get('ExposurePercentage'))
    parameters = _deployment_parameters(p.get('DeploymentParameters'))
    for _ in range(ATTEMPTS):
        run = _run(item, p['Run'])
        if run.status != RUNNING:
            raise _done(run)
        current = float(run.exposure)
        if new_exposure is not None and new_exposure < current:
            raise BadRequestException(
                f'ExposurePercentage can only increase: experiment run {int(run.run)} exposes '
                f'{_pct(current)}, the request asks for {_pct(new_exposure)}.'
            )
        overrides = _overrides(p.get('TreatmentOverrides'), run.snapshot)
        now = clock.now()
        actions, changes = [], []
        exposure = current
        if new_exposure is not None and new_exposure > current:
            exposure = new_exposure
            actions.append(ExperimentRun.exposure.set(exposure))
            changes.append(
                (EXPOSURE_UPDATED, f'Exposure increased from {_pct(current)} to {_pct(exposure)}')
            )
        if overrides is not None and overrides != run.overrides:
            actions.append(ExperimentRun.overrides.set(overrides))
            count = len(overrides['Inline'])
            changes.append(
                (
                    OVERRIDES_UPDATED,
                    f'Treatment overrides set for {count} entit{"y" if count == 1 else "ies"}',
                )
            )
        else:
            overrides = run.overrides
        if 'Description' in p:
            actions.append(ExperimentRun.description.set(p['Description']))
        if parameters is not None:
            actions.append(ExperimentRun.deployment_parameters.set(parameters))
        if not actions:
            return render_run(run)
        seen = int(run.event_count)
        actions += [
            ExperimentRun.updated_at.set(now),
            ExperimentRun.event_count.set(seen + len(changes)),
        ]
        events = [
            _event(item, run.run, seen + i, kind, text, now, exposure, overrides)
            for i, (kind, text) in enumerate(changes, 1)
        ]

        def items(t, deployment, run=run, actions=actions, events=events, seen=seen):
            t.update(
                run,
                actions=actions,
                condition=(ExperimentRun.status == RUNNING) & (ExperimentRun.event_count == seen),
            )
            for event in events:
                event.deployment = deployment
                t.save(event, condition=ExperimentRunEvent.sequence.does_not_exist())

        def write(run=run, items=items, exposure=exposure, overrides=overrides):
            if not events:  # only the description or the parameters: nothing to serve
                with tx.transaction() as t:
                    items(t, None)
                return
            spec = _spec(item, run.run, run.snapshot, exposure, overrides)
            _serve(
                item,
                run.run,
                spec,
                f'Experiment run {int(run.run)} of {item.name} updated',
                parameters or run.deployment_parameters,
                items,
            )

        if tx.attempt(write):
            continue  # stopped or updated meanwhile: read it again
        return render_run(_run(item, run.run))
    raise InternalServerException('The experiment run kept changing. Try again.')


def stop_experiment_run(p):
    app, item = _target(p)
    result = _result(p.get('Result'))
    parameters = _deployment_parameters(p.get('DeploymentParameters'))
    for _ in range(ATTEMPTS):
        run = _run(item, p['Run'])
        if run.status != RUNNING:
            raise _done(run)
        now = clock.now()
        seen = int(run.event_count)
        actions = [
            ExperimentRun.status.set(DONE),
            ExperimentRun.ended_at.set(now),
            ExperimentRun.updated_at.set(now),
            ExperimentRun.event_count.set(seen + 1),
        ]
        if result is not None:
            actions.append(ExperimentRun.result.set(result))
        if parameters is not None:
            actions.append(ExperimentRun.deployment_parameters.set(parameters))
        stopped = _event(
            item,
            run.run,
            seen + 1,
            RUN_STOPPED,
            f'Experiment run {int(run.run)} stopped',
            now,
            float(run.exposure),
            run.overrides,
        )
        definition = ExperimentDefinition(arns.account(), item.key)

        def items(
            t,
            deployment,
            run=run,
            actions=actions,
            seen=seen,
            stopped=stopped,
            definition=definition,
        ):
            t.update(
                run,
                actions=actions,
                condition=(ExperimentRun.status == RUNNING) & (ExperimentRun.event_count == seen),
            )
            t.update(
                definition,
                actions=[
                    ExperimentDefinition.active_run.remove(),
                    ExperimentDefinition.status.set(IDLE),
                ],
                condition=ExperimentDefinition.active_run == run.run,
            )
            stopped.deployment = deployment
            t.save(stopped, condition=ExperimentRunEvent.sequence.does_not_exist())

        if tx.attempt(
            lambda: _serve(
                item,
                run.run,
                None,
                f'Experiment run {int(run.run)} of {item.name} stopped',
                parameters or run.deployment_parameters,
                items,
            )
        ):
            continue
        return render_run(_run(item, run.run))
    raise InternalServerException('The experiment run kept changing. Try again.')


def list_experiment_runs(p):
    _, item = _target(p)
    query = {'scan_index_forward': False}  # newest first
    if p.get('Status'):
        query['filter_condition'] = ExperimentRun.status == p['Status']
    return paging.page(
        ExperimentRun, definition_key(item.application_id, item.id), p, render=run_summary, **query
    )


def list_experiment_run_events(p):
    _, item = _target(p)
    run = _run(item, p['Run'])
    return paging.page(
        ExperimentRunEvent, run_key(item.application_id, item.id, run.run), p, render=render_event
    )
