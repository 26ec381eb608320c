"""IAM-1 to IAM-5: roles as one construct; what each role may do is in :mod:`modules.policies`."""

from __future__ import annotations

from dataclasses import dataclass, field

from constructs import Construct

from imports.aws.iam_instance_profile import IamInstanceProfile
from imports.aws.iam_role import IamRole
from imports.aws.iam_role_policy import IamRolePolicy
from imports.aws.iam_role_policy_attachment import IamRolePolicyAttachment

from .policies import PolicyDocument, to_json
from .suppressions import suppress


@dataclass(frozen=True)
class RoleProps:
    name: str
    description: str
    trust_policy: PolicyDocument
    inline_policies: dict[str, PolicyDocument] = field(default_factory=dict)
    managed_policy_arns: tuple[str, ...] = ()
    with_instance_profile: bool = False
    # {policy name: {checkov check id: reason}} for the inline policies above.
    policy_suppressions: dict[str, dict[str, str]] = field(default_factory=dict)


class Role(Construct):
    def __init__(self, scope: Construct, id: str, props: RoleProps):
        super().__init__(scope, id)
        self.role = IamRole(
            self,
            "role",
            name=props.name,
            description=props.description,
            assume_role_policy=to_json(props.trust_policy),
        )
        self.role_arn = self.role.arn
        self.role_name = self.role.name
        for policy_name, document in props.inline_policies.items():
            policy = IamRolePolicy(self, f"policy-{policy_name}", role=self.role.name, name=policy_name, policy=to_json(document))
            for check_id, reason in props.policy_suppressions.get(policy_name, {}).items():
                suppress(policy, check_id, reason)
        for policy_arn in props.managed_policy_arns:
            policy_name = policy_arn.rsplit("/", 1)[-1]
            IamRolePolicyAttachment(self, f"managed-{policy_name}", role=self.role.name, policy_arn=policy_arn)
        if props.with_instance_profile:
            self.instance_profile = IamInstanceProfile(self, "instance-profile", name=props.name, role=self.role.name)
