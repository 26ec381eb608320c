"""IAM-6: SageMaker jobs from Kubernetes through IAM Roles for Service Accounts (seed 004 §2, §5.2).

The cluster's OIDC issuer becomes an IAM OIDC provider (or an existing one is reused); the
controller's service account assumes its role through it with ``sts:AssumeRoleWithWebIdentity``,
trusted for exactly ``<issuer>:aud = sts.amazonaws.com`` and
``<issuer>:sub = system:serviceaccount:<namespace>:<service-account>``; the jobs it submits run
as a SageMaker execution role scoped to the configured buckets, which the controller may pass.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktn import Fn, TerraformLocal
from constructs import Construct

from imports.aws.data_aws_eks_cluster import DataAwsEksCluster
from imports.aws.data_aws_iam_openid_connect_provider import DataAwsIamOpenidConnectProvider
from imports.aws.iam_openid_connect_provider import IamOpenidConnectProvider

from . import policies
from .iam import Role, RoleProps
from .policies import CONTROLLER_POLICY, JOB_POLICY, STS_AUDIENCE


@dataclass(frozen=True)
class ServiceAccountRolesProps:
    partition: str
    region: str
    account_id: str
    controller_role_name: str
    job_role_name: str
    # system:serviceaccount:<namespace>:<service-account>, the only subject the role trusts.
    subject: str
    job_buckets: tuple[str, ...]
    # Exactly one: the EKS cluster whose issuer is read at deploy time, or the issuer URL itself.
    cluster_name: str | None = None
    issuer_url: str | None = None
    # An OIDC provider for this issuer exists outside this stack (the orchestrator looked): reuse
    # it instead of creating a second one, which IAM refuses (EntityAlreadyExists).
    reuse_existing_provider: bool = False

    def __post_init__(self) -> None:
        if (self.cluster_name is None) == (self.issuer_url is None):
            raise ValueError("ServiceAccountRolesProps: give exactly one of cluster_name and issuer_url")
        if not self.job_buckets:
            raise ValueError("ServiceAccountRolesProps: job_buckets is empty; the jobs need a bucket")


class ServiceAccountRoles(Construct):
    """The OIDC provider (created or reused), the controller's IRSA role and the job execution role."""

    def __init__(self, scope: Construct, id: str, props: ServiceAccountRolesProps):
        super().__init__(scope, id)
        if props.cluster_name is not None:
            cluster = DataAwsEksCluster(self, "eks-cluster", name=props.cluster_name)
            self.issuer_url: str = cluster.identity.get(0).oidc.get(0).issuer
            # A local, so that the trust document stays plain JSON (the policy lint reads it): the
            # expression's own quotes would otherwise sit inside the document's strings.
            issuer = TerraformLocal(self, "issuer", Fn.replace(self.issuer_url, "https://", "")).as_string
        else:
            self.issuer_url = props.issuer_url
            issuer = props.issuer_url.removeprefix("https://")
        if props.reuse_existing_provider:
            provider = DataAwsIamOpenidConnectProvider(self, "existing-oidc-provider", url=self.issuer_url)
        else:
            provider = IamOpenidConnectProvider(self, "oidc-provider", url=self.issuer_url, client_id_list=[STS_AUDIENCE])
        self.oidc_provider_arn: str = provider.arn

        self.job_role = Role(
            self,
            "job-role",
            RoleProps(
                name=props.job_role_name,
                description="SageMaker execution role of the jobs submitted from Kubernetes (IAM-6)",
                trust_policy=policies.service_trust("sagemaker.amazonaws.com"),
                inline_policies={JOB_POLICY: policies.sagemaker_job_permissions(
                    props.partition, props.region, props.account_id, list(props.job_buckets))},
            ),
        )
        self.job_role_arn: str = self.job_role.role_arn
        self.controller_role = Role(
            self,
            "controller-role",
            RoleProps(
                name=props.controller_role_name,
                description=f"SageMaker controller on Kubernetes, assumed by {props.subject} through IRSA (IAM-6)",
                trust_policy=policies.web_identity_trust(self.oidc_provider_arn, issuer, props.subject, STS_AUDIENCE),
                inline_policies={CONTROLLER_POLICY: policies.sagemaker_controller_permissions(
                    props.partition, props.region, props.account_id, self.job_role_arn)},
            ),
        )
        self.controller_role_arn: str = self.controller_role.role_arn
