"""Evaluate: context pairs, an Entity-Id and flag keys in; what the Agent endpoint answers out.

The page calls ``chalicelib.agent.answer`` (the function the Agent listener on port 2772
serves) with the request a caller would send: ``GET /applications/{app}/environments/{env}/
configurations/{profile}``, ``?flag=`` per key, one ``Context`` header per pair, an
``Entity-Id`` header, and the Bearer token when the Agent requires one. A GET form, so an
evaluation can be bookmarked and repeated. Cost: one Agent request, plus the form's lists.
"""

import json
import os
from urllib.parse import quote

from chalicelib import agent
from local.console import api
from local.console.pages import APP
from local.console.views import page
from local.console.web import route

DEFAULT_PAIRS = 3
MAX_PAIRS = 20
SHOWN_HEADERS = ('Configuration-Version', 'Content-Type', 'Version-Label')


def _pairs(request):
    try:
        count = int(request.arg('pairs') or 0)
    except ValueError:
        count = 0
    pairs = [(request.arg(f'ck{n}', ''), request.arg(f'cv{n}', '')) for n in range(MAX_PAIRS)]
    used = max([n + 1 for n, (k, v) in enumerate(pairs) if k or v] or [0])
    return pairs[: min(MAX_PAIRS, max(count, used, DEFAULT_PAIRS))]


def ask(application_id, environment_id, profile_id, context, entity_id='', keys=()):
    """The Agent's answer for one request: (request line, status, headers, body text)."""
    path = (
        f'/applications/{quote(application_id, safe="")}/environments/'
        f'{quote(environment_id, safe="")}/configurations/{quote(profile_id, safe="")}'
    )
    query = {'flag': list(keys)} if keys else {}
    headers = {}
    if context:
        headers['Context'] = [f'{k}={v}' for k, v in context]
    if entity_id:
        headers['Entity-Id'] = entity_id
    token = os.environ.get(agent.TOKEN_VARIABLE)
    if token:
        headers['Authorization'] = f'Bearer {token}'
    status, out, body = agent.answer('GET', path, query, headers, b'')
    try:
        text = json.dumps(json.loads(body), indent=2, ensure_ascii=False)
    except ValueError:
        text = body.decode('utf-8', 'replace')
    shown = {k: v for k, v in out.items() if k in SHOWN_HEADERS}
    line = path + ('?' + '&'.join(f'flag={quote(k)}' for k in keys) if keys else '')
    return line, status, shown, text


@route('GET', APP + r'/evaluate')
def evaluate_page(request):
    app_id = request.params['app']
    app = api.call('GetApplication', ApplicationId=app_id)
    environments = api.pages('ListEnvironments', ApplicationId=app_id)
    profiles = api.pages('ListConfigurationProfiles', ApplicationId=app_id)
    values = {k: v[-1] for k, v in request.query.items()}
    pairs = _pairs(request)
    if 'add' in request.query:
        pairs.append(('', ''))
    result = None
    if request.arg('run') and values.get('environment') and values.get('profile'):
        keys = [k.strip() for k in values.get('flags', '').split(',') if k.strip()]
        context = [(k.strip(), v) for k, v in pairs if k.strip()]
        result = ask(
            app_id,
            values['environment'],
            values['profile'],
            context,
            values.get('entity', ''),
            keys,
        )
    return page(
        'evaluate.html',
        request,
        app=app,
        environments=environments,
        profiles=profiles,
        values=values,
        pairs=pairs,
        result=result,
    )
