"""``studio-account-kubernetes`` / ``emr-account[-<name>]-kubernetes``: IAM-6's IRSA resources,
in their own stack of the account the environment's ``kubernetes:`` section names.

Their own stack because they depend on nothing the other stacks make and on something none of
them needs: an EKS cluster (read at plan time), and the orchestrator's look-up of an existing OIDC
provider. A cluster that is missing, or a provider that appears, must not stop or replan the
Studio domain or the EMR product (docs/decisions.md)."""

from __future__ import annotations

from dataclasses import dataclass

from cdktn import TerraformOutput
from constructs import Construct

from modules.kubernetes import ServiceAccountRoles, ServiceAccountRolesProps

from .base import AccountStack, AccountStackProps


@dataclass(frozen=True)
class KubernetesProps:
    account: AccountStackProps
    roles: ServiceAccountRolesProps


class KubernetesStack(AccountStack):
    def __init__(self, scope: Construct, id: str, props: KubernetesProps):
        super().__init__(scope, id, props.account)
        self.roles = ServiceAccountRoles(self, "service-account-roles", props.roles)
        # Named outputs: what a user applies to the cluster (python main.py kube-values).
        TerraformOutput(self, "kubernetes_controller_role_arn", value=self.roles.controller_role_arn,
                        description="annotate the controller's service account with eks.amazonaws.com/role-arn: this")
        TerraformOutput(self, "kubernetes_job_role_arn", value=self.roles.job_role_arn,
                        description="spec.roleArn of the TrainingJob / HostingDeployment resources")
        TerraformOutput(self, "kubernetes_oidc_provider_arn", value=self.roles.oidc_provider_arn)
