"""IAM: adding to an instance profile the role it already holds succeeds.

The provider retries a request whose answer it did not get in time; moto 5.2.5 then answers
the retried AddRoleToInstanceProfile with LimitExceeded, and the apply fails although the
profile is exactly as asked. Seen under load in a full test run. A different second role is
still refused, as AWS does."""

from __future__ import annotations

from moto.iam.models import IAMBackend

_original = IAMBackend.add_role_to_instance_profile


def add_role_to_instance_profile(self, profile_name: str, role_name: str) -> None:
    profile = self.get_instance_profile(profile_name)
    if any(role.name == role_name for role in profile.roles):
        return
    _original(self, profile_name, role_name)


def install() -> None:
    IAMBackend.add_role_to_instance_profile = add_role_to_instance_profile
