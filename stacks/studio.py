"""``studio-account``: the Studio VPC, its security group, the execution role and the domain."""

from __future__ import annotations

from dataclasses import dataclass

from constructs import Construct

from modules import policies
from modules.iam import Role, RoleProps
from modules.network import (
    ExistingVpc,
    ExistingVpcProps,
    NewVpc,
    NewVpcProps,
    PrivateEndpoints,
    PrivateEndpointsProps,
    STUDIO_ENDPOINT_SERVICES,
    VpcHandle,
)
from modules.notebook import ClassicNotebook, ClassicNotebookProps
from modules.sagemaker import StudioDomain, StudioDomainProps
from modules.security_groups import SecurityGroupProps, SecurityGroupWithEgress

from . import naming
from .base import AccountStack, AccountStackProps

SAGEMAKER_FULL_ACCESS = "arn:aws:iam::aws:policy/AmazonSageMakerFullAccess"


@dataclass(frozen=True)
class StudioAccountProps:
    account: AccountStackProps
    security_group_name: str
    lifecycle_config_name: str
    network: NewVpcProps | ExistingVpcProps
    execution_role_name: str
    discovery_role_arns: dict[str, str]
    runtime_role_arns: tuple[str, ...]
    domain_name: str
    user_profiles: tuple[str, ...]
    classic: bool
    jupyterlab: bool
    home_efs_retention: str
    # SM-5: the EMR accounts in order, account id -> discovery role ARN (None: the Studio account
    # itself); None when the environment has no Classic notebook instance.
    notebook_role_arns: dict[str, str | None] | None = None
    notebook_name: str = ""


class StudioAccountStack(AccountStack):
    vpc: VpcHandle

    def __init__(self, scope: Construct, id: str, props: StudioAccountProps):
        super().__init__(scope, id, props.account)
        if isinstance(props.network, NewVpcProps):
            self.vpc = NewVpc(self, "network", props.network)
        else:
            self.vpc = ExistingVpc(self, "network", props.network)
        self.security_group = SecurityGroupWithEgress(
            self,
            "studio-security-group",
            SecurityGroupProps(
                name=props.security_group_name,
                description="SageMaker Studio domain: all outbound, all traffic between members",
                vpc_id=self.vpc.vpc_id,
                allow_from_self=True,
            ),
        )
        self.security_group_id = self.security_group.security_group_id
        if isinstance(props.network, NewVpcProps):
            PrivateEndpoints(
                self,
                "private-endpoints",
                PrivateEndpointsProps(
                    region=props.account.region,
                    vpc_id=self.vpc.vpc_id,
                    subnet_ids=self.vpc.private_subnet_ids,
                    route_table_ids=self.vpc.private_route_table_ids,
                    security_group_id=self.security_group_id,
                    interface_services=STUDIO_ENDPOINT_SERVICES,
                ),
            )
        inline = {"studio-emr-management": policies.studio_emr_management()}
        if props.discovery_role_arns:
            inline[naming.ASSUME_EMR_ROLES_POLICY] = policies.assume_roles(list(props.discovery_role_arns.values()))
        self.execution_role = Role(
            self,
            "execution-role",
            RoleProps(
                name=props.execution_role_name,
                description="SageMaker Studio execution role (IAM-1)",
                trust_policy=policies.service_trust("sagemaker.amazonaws.com"),
                inline_policies=inline,
                managed_policy_arns=(SAGEMAKER_FULL_ACCESS,),
                policy_suppressions={"studio-emr-management": {
                    "CKV_AWS_290": "Studio discovers and provisions through Service Catalog and EMR List/Describe calls, which take no resource",
                    "CKV_AWS_355": "ListClusters and SearchProducts only accept Resource \"*\" (seed 000 §3.5.2)",
                }},
            ),
        )
        self.execution_role_arn = self.execution_role.role_arn
        self.domain = StudioDomain(
            self,
            "studio-domain",
            StudioDomainProps(
                domain_name=props.domain_name,
                vpc_id=self.vpc.vpc_id,
                subnet_ids=self.vpc.private_subnet_ids,
                security_group_id=self.security_group_id,
                execution_role_arn=self.execution_role_arn,
                user_profiles=props.user_profiles,
                classic=props.classic,
                jupyterlab=props.jupyterlab,
                home_efs_retention=props.home_efs_retention,
                discovery_role_arns=props.discovery_role_arns,
                runtime_role_arns=props.runtime_role_arns,
                lifecycle_config_name=props.lifecycle_config_name,
            ),
        )
        self.notebook = None
        if props.notebook_role_arns is not None:
            self.notebook = ClassicNotebook(
                self,
                "classic-notebook",
                ClassicNotebookProps(
                    name=props.notebook_name,
                    region=props.account.region,
                    subnet_id=self.vpc.private_subnet_ids[0],
                    security_group_id=self.security_group_id,
                    execution_role_arn=self.execution_role_arn,
                    role_arns_by_account=props.notebook_role_arns,
                ),
            )
