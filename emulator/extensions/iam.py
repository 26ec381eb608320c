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
"""

from __future__ import annotations

from moto.iam.exceptions import NoSuchEntity
from moto.iam.models import IAMBackend

_original_add = IAMBackend.add_role_to_instance_profile
_original_remove = IAMBackend.remove_role_from_instance_profile


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


def install() -> None:
    IAMBackend.add_role_to_instance_profile = add_role_to_instance_profile
    IAMBackend.remove_role_from_instance_profile = remove_role_from_instance_profile
