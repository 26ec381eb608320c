"""IAM: instance profiles and their one role, as a retried request meets them.

Adding to an instance profile the role it already holds succeeds. The provider retries a request
whose answer it did not get in time; moto 5.2.5 then answers the retried AddRoleToInstanceProfile
with LimitExceeded, and the apply fails although the profile is exactly as asked. Seen under load
in a full test run. A different second role is still refused, as AWS does.

Removing from an instance profile a role it does not hold (a role removed by a killed destroy, or
by the first of two attempts) answers ``NoSuchEntity``: the error RemoveRoleFromInstanceProfile
lists for an entity that does not exist (botocore's service model: NoSuchEntityException, "The
request was rejected because it referenced a resource entity that does not exist"), which the AWS
provider takes as the role already removed. moto 5.2.5 fails with a ValueError there, an HTTP 500
that the provider retries and then reports (seen in the kill rounds of 2026-11-24: a destroy killed
between the removal and DeleteInstanceProfile). The message's wording is ours; AWS documents none.

Finding the account of a request's access key creates no IAM backend. moto 5.2.5's
``get_account_id_from``, asked on every request, reads ``account[partition]`` for each of its six
partitions in every account it knows, and each read creates that partition's IAM backend, with its
own copy of AWS's 1,582 managed policies (about 5 MB). Every account the emulator met thus held six
backends, five of them for partitions no request named: most of the emulator's memory at 4 EMR
accounts (docs/decisions.md). Here only backends that exist are searched.
A backend that does not exist holds no access key, so every answer is moto's: the account holding
the key, else moto's default account (tests/test_emulator_iam.py).
"""

from __future__ import annotations

from moto.core import DEFAULT_ACCOUNT_ID
from moto.iam import models as iam_models
from moto.iam.exceptions import NoSuchEntity
from moto.iam.models import IAMBackend, iam_backends
from moto.utilities.utils import PARTITION_NAMES

_original_add = IAMBackend.add_role_to_instance_profile
_original_remove = IAMBackend.remove_role_from_instance_profile
_original_get_account_id_from = iam_models.get_account_id_from


def add_role_to_instance_profile(self, profile_name: str, role_name: str) -> None:
    profile = self.get_instance_profile(profile_name)
    if any(role.name == role_name for role in profile.roles):
        return
    _original_add(self, profile_name, role_name)


def remove_role_from_instance_profile(self, profile_name: str, role_name: str) -> None:
    profile = self.get_instance_profile(profile_name)
    role = self.get_role(role_name)  # NoSuchEntity for a role that does not exist, as before
    if role not in profile.roles:
        raise NoSuchEntity(f"The role with name {role_name} is not in instance profile {profile_name}.")
    _original_remove(self, profile_name, role_name)


def key_owner(access_key: str, partitions=PARTITION_NAMES) -> str | None:
    """The account whose IAM holds ``access_key`` in one of ``partitions``, else None; searches only
    the backends that exist (``dict.get`` does not create one, ``account[partition]`` does)."""
    for account_id, account in list(iam_backends.items()):  # a copy: requests add accounts meanwhile
        for partition in partitions:
            backend = dict.get(account, partition)
            if backend is not None and access_key in backend.access_keys:
                return account_id
    return None


def get_account_id_from(access_key: str) -> str:
    """moto's answer: the account holding ``access_key`` in any partition, else its default account."""
    return key_owner(access_key) or DEFAULT_ACCOUNT_ID


def install() -> None:
    # moto's BaseResponse imports it by name at each call, from this module.
    iam_models.get_account_id_from = get_account_id_from
    IAMBackend.add_role_to_instance_profile = add_role_to_instance_profile
    IAMBackend.remove_role_from_instance_profile = remove_role_from_instance_profile
