"""Checks as you type: ``POST /console/check`` with ``{"kind", "text"}`` answers
``{"ok": bool, "message": str}``. ``content:<type>`` runs the check the version form runs
before saving (versions.check_content); ``rule`` runs the service's rule parser
(chalicelib.rules.parse), the one flag validation and evaluation use. Cost: one parse.
"""

from chalicelib import rules
from local.console.versions import ContentError, check_content, syntax
from local.console.web import Refused, json_response, route


@route('POST', r'/check')
def check(request):
    kind, text = request.field('kind'), request.field('text')
    if not isinstance(kind, str) or not isinstance(text, str):
        raise Refused(400, 'kind and text must be strings')
    if kind.startswith('content:'):
        content_type = kind[len('content:') :]
        try:
            check_content(text, content_type)
        except ContentError as error:
            return json_response({'ok': False, 'message': str(error)})
        what = syntax(content_type)
        return json_response({'ok': True, 'message': f'Valid {what.upper()}.' if what else ''})
    if kind == 'rule':
        try:
            rules.parse(text)
        except rules.RuleError as error:
            return json_response({'ok': False, 'message': str(error)})
        return json_response({'ok': True, 'message': 'Valid rule.'})
    raise Refused(400, f'Unknown check {kind!r}.')
