"""Tag rules shared by every taggable resource (creation-time tags and TagResource)."""

from chalicelib.errors import BadRequestException

MAX_TAGS = 50


def check(tags):
    if not tags:
        return {}
    for key in tags:
        if key.lower().startswith('aws:'):
            raise BadRequestException(f"Tag keys must not start with 'aws:': {key}")
    if len(tags) > MAX_TAGS:
        raise BadRequestException(f'A resource can have at most {MAX_TAGS} tags')
    return dict(tags)
