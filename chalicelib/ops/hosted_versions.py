"""CreateHostedConfigurationVersion, GetHostedConfigurationVersion,
ListHostedConfigurationVersions, DeleteHostedConfigurationVersion.

For the deployment engine: ``load_version(application_id, profile_id, version)`` (a version
number or a VersionLabel) and ``read_content(item)``.

Creating a version: check the request, store the content (chunks first), take the next number
from the profile's counter (conditioned on ``Latest-Version-Number`` when sent), then write
the version item and its label claim in one transaction that also checks the profile still
exists. Numbers are never reused; a number is skipped only when that last step fails (the
profile was deleted meanwhile, or another request claimed the same label at the same moment).
"""

import os
import re

from pynamodb.exceptions import UpdateError

from chalicelib import clock, crypto
from chalicelib.constants import FEATURE_FLAGS
from chalicelib.engine.extensions import points
from chalicelib.errors import (
    BadRequestException,
    ConflictException,
    PayloadTooLargeException,
    not_found,
)
from chalicelib.flags import FlagDocumentError, validate
from chalicelib.ops import profiles
from chalicelib.store import paging, tx
from chalicelib.store.hosted_versions import HostedLabel, HostedVersion, profile_key
from chalicelib.store.profiles import Profile, next_version
from chalicelib.store.tx import conditional_failed

DEFAULT_MAX_BYTES = 2 * 1024 * 1024
CEILING_BYTES = 4 * 1024 * 1024
_NUMBER = re.compile(r'[0-9]+')
MAX_VERSION = 2**31 - 1  # VersionNumber is a model integer (32-bit)


def max_content_bytes():
    """The per-version size limit: APPCONFIG_MAX_CONTENT_BYTES, default 2 MB, at most 4 MB."""
    try:
        configured = int(os.environ.get('APPCONFIG_MAX_CONTENT_BYTES') or DEFAULT_MAX_BYTES)
    except ValueError:
        configured = DEFAULT_MAX_BYTES
    return max(1, min(configured, CEILING_BYTES))


def _headers(item):
    return {
        'ApplicationId': item.application_id,
        'ConfigurationProfileId': item.profile_id,
        'VersionNumber': int(item.version),
        'Description': item.description,
        'ContentType': item.content_type,
        'VersionLabel': item.version_label,
        'KmsKeyArn': item.kms_key_arn,
    }


def summary(item):
    return _headers(item)


def load_version(application_id, profile_id, version):
    """The HostedVersion item for ``version``: a version number (digits; int accepted too) or
    a VersionLabel (which always holds a non-digit). ResourceNotFoundException when absent.
    Does not check the application or profile; load those first for errors naming them."""
    key = profile_key(application_id, profile_id)
    version = str(version)
    if _NUMBER.fullmatch(version):
        number = int(version)
        if number > MAX_VERSION:
            # No such version can exist; the store's numbers hold at most 38 digits.
            raise not_found('HostedConfigurationVersion', version)
    else:
        try:
            number = int(HostedLabel.get(key, version, consistent_read=True).version)
        except HostedLabel.DoesNotExist:
            raise not_found('HostedConfigurationVersion', version) from None
    try:
        return HostedVersion.get(key, number, consistent_read=True)
    except HostedVersion.DoesNotExist:
        raise not_found('HostedConfigurationVersion', version) from None


def read_content(item):
    """The exact bytes of a HostedVersion item (decrypted when stored with a KMS key)."""
    return crypto.read(item.digest)


def _check_size(data):
    limit = max_content_bytes()
    if len(data) > limit:
        raise PayloadTooLargeException(
            f'The configuration size {len(data)} bytes exceeds the limit of {limit} bytes.',
            Measure='KILOBYTES',
            Limit=limit / 1024,
            Size=len(data) / 1024,
        )


def _check_document(profile, data):
    """Content checks that depend on the profile type."""
    if profile.type == FEATURE_FLAGS:
        try:
            validate(data)
        except FlagDocumentError as error:
            raise BadRequestException(
                str(error),
                Reason='InvalidConfiguration',
                Details={'InvalidConfiguration': error.details},
            ) from None


def create_hosted_configuration_version(p):
    application_id, profile_id = p['ApplicationId'], p['ConfigurationProfileId']
    profile = profiles.load(application_id, profile_id)
    if profile.location_uri != 'hosted':
        raise BadRequestException(
            f'Configuration profile {profile_id} does not use the hosted configuration store '
            f'(its LocationUri is {profile.location_uri}).'
        )
    data = bytes(p['Content'])
    # PRE_CREATE_HOSTED_CONFIGURATION_VERSION extension actions (may replace the content).
    data = points.pre_create_hosted_configuration_version(profile, data, p, max_content_bytes())
    _check_size(data)
    _check_document(profile, data)
    key = profile_key(application_id, profile_id)
    label = p.get('VersionLabel')
    if label is not None and _label_exists(key, label):
        # Checked early so a plain duplicate does not use up a number; the transaction
        # below is what guarantees uniqueness.
        raise _label_taken(label, profile_id)

    # The bytes first: nothing may point at missing content. Encrypted with the profile's
    # KMS key when it has one (one data key per version, crypto.py).
    digest, kms_key_arn = crypto.store(
        data, profile.kms_key_identifier, crypto.context(application_id, profile_id)
    )
    expected = p.get('LatestVersionNumber')
    try:
        number = next_version(application_id, profile_id, expected)
    except UpdateError as error:
        if not conditional_failed(error):
            raise
        current = profiles.load(application_id, profile_id)  # 404 when it is gone
        raise ConflictException(
            f'LatestVersionNumber {expected} does not match the latest version number '
            f'{int(current.latest_version)} of configuration profile {profile_id}.'
        ) from None

    item = HostedVersion(
        key,
        number,
        application_id=application_id,
        profile_id=profile_id,
        digest=digest,
        size=len(data),
        content_type=p['ContentType'],
        description=p.get('Description'),
        version_label=label,
        kms_key_arn=kms_key_arn,
        created_at=clock.now(),
    )

    def write():
        with tx.transaction() as t:
            t.condition_check(Profile, application_id, profile_id, condition=Profile.id.exists())
            t.save(item, condition=HostedVersion.version.does_not_exist())
            if label is not None:
                t.save(
                    HostedLabel(key, label, version=number),
                    condition=HostedLabel.label.does_not_exist(),
                )

    refused = tx.attempt(write)
    if refused:
        profiles.load(application_id, profile_id)  # 404 when it was deleted meanwhile
        if label is not None:
            raise _label_taken(label, profile_id) from None
        raise refused.error
    return {**_headers(item), 'Content': data}


def _label_exists(key, label):
    try:
        HostedLabel.get(key, label, consistent_read=True)
        return True
    except HostedLabel.DoesNotExist:
        return False


def _label_taken(label, profile_id):
    return ConflictException(
        f'Version label {label} is already used by another hosted configuration version of '
        f'configuration profile {profile_id}.'
    )


def get_hosted_configuration_version(p):
    item = _get(p['ApplicationId'], p['ConfigurationProfileId'], p['VersionNumber'])
    return {**_headers(item), 'Content': read_content(item)}


def _get(application_id, profile_id, number):
    """The version item. A version exists only under an existing profile (deleting a profile
    requires that it has none), so the parents are read only to name what is missing."""
    try:
        return HostedVersion.get(
            profile_key(application_id, profile_id), number, consistent_read=True
        )
    except HostedVersion.DoesNotExist:
        profiles.load(application_id, profile_id)
        raise not_found('HostedConfigurationVersion', str(number)) from None


def list_hosted_configuration_versions(p):
    application_id, profile_id = p['ApplicationId'], p['ConfigurationProfileId']
    query = {'scan_index_forward': False}  # newest first
    label = p.get('VersionLabel')
    if label is not None:
        if label == '*':
            query['filter_condition'] = HostedVersion.version_label.exists()
        elif label.endswith('*'):
            query['filter_condition'] = HostedVersion.version_label.startswith(label[:-1])
        else:
            query['filter_condition'] = HostedVersion.version_label == label
    out = paging.page(
        HostedVersion, profile_key(application_id, profile_id), p, render=summary, **query
    )
    if not out['Items']:
        profiles.load(application_id, profile_id)  # an empty list, or a missing parent
    return out


def delete_hosted_configuration_version(p):
    item = _get(p['ApplicationId'], p['ConfigurationProfileId'], p['VersionNumber'])

    def write():
        with tx.transaction() as t:
            t.delete(item, condition=HostedVersion.version.exists())
            if item.version_label is not None:
                t.delete(
                    HostedLabel(item.key, item.version_label),
                    condition=HostedLabel.version == item.version,
                )

    if tx.attempt(write):
        raise not_found('HostedConfigurationVersion', str(p['VersionNumber'])) from None
    # The content stays: it is content-addressed and may be shared with other versions or
    # with what the data plane is serving.
    return {}
