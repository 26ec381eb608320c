"""``emr-account[-<name>]``: an EMR account's VPC (or the Studio VPC in the single-account
layout), the EMR primary-node security group, the EMR roles and the Service Catalog product."""

from __future__ import annotations

from dataclasses import dataclass

from constructs import Construct

from modules import policies
from modules.iam import Role, RoleProps
from modules.network import ExistingVpc, ExistingVpcProps, NewVpc, NewVpcProps, VpcHandle
from modules.security_groups import SecurityGroupProps, SecurityGroupWithEgress, StudioIngress, StudioIngressProps
from modules.service_catalog import EmrServiceCatalog, EmrServiceCatalogProps, PortfolioAccess, PortfolioAccessProps

from .base import AccountStack, AccountStackProps
from .naming import role_arn

EMR_SERVICE_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonElasticMapReduceRole"
EMR_EC2_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonElasticMapReduceforEC2Role"
EMR_DEFAULT_ROLE = "EMR_DefaultRole"
EMR_EC2_DEFAULT_ROLE = "EMR_EC2_DefaultRole"


@dataclass(frozen=True)
class SingleAccountLink:
    """In the single-account layout, EMR shares the Studio stack's VPC, SG and role."""

    vpc: VpcHandle
    studio_security_group_id: str
    studio_execution_role_arn: str
    ports: tuple[int, ...]


@dataclass(frozen=True)
class EmrAccountProps:
    account: AccountStackProps
    name: str
    network: NewVpcProps | ExistingVpcProps | None
    create_default_roles: bool
    base_template: str
    bootstrap_script: str
    bootstrap_script_name: str
    bootstrap_script_version: str
    instance_types: tuple[str, ...]
    core_node_counts: tuple[int, ...]
    release_label: str
    single_account: SingleAccountLink | None = None


class EmrAccountStack(AccountStack):
    vpc: VpcHandle

    def __init__(self, scope: Construct, id: str, props: EmrAccountProps):
        super().__init__(scope, id, props.account)
        account_id = props.account.account_id
        if props.single_account is not None:
            self.vpc = props.single_account.vpc
        elif isinstance(props.network, NewVpcProps):
            self.vpc = NewVpc(self, "network", props.network)
        else:
            self.vpc = ExistingVpc(self, "network", props.network)
        self.primary_security_group = SecurityGroupWithEgress(
            self,
            "emr-primary-security-group",
            SecurityGroupProps(
                name=f"{props.name}-emr-primary",
                description="EMR primary node: admits Livy and the configured ports from SageMaker Studio",
                vpc_id=self.vpc.vpc_id,
            ),
        )
        self.primary_security_group_id = self.primary_security_group.security_group_id
        if props.create_default_roles:
            Role(
                self,
                "emr-default-role",
                RoleProps(
                    name=EMR_DEFAULT_ROLE,
                    description="EMR service role (IAM-4), as `aws emr create-default-roles` makes it",
                    trust_policy=policies.service_trust("elasticmapreduce.amazonaws.com"),
                    managed_policy_arns=(EMR_SERVICE_POLICY,),
                ),
            )
            Role(
                self,
                "emr-ec2-default-role",
                RoleProps(
                    name=EMR_EC2_DEFAULT_ROLE,
                    description="EMR instance role (IAM-4), as `aws emr create-default-roles` makes it",
                    trust_policy=policies.service_trust("ec2.amazonaws.com"),
                    managed_policy_arns=(EMR_EC2_POLICY,),
                    with_instance_profile=True,
                ),
            )
        bucket_arn = f"arn:aws:s3:::{props.name}-emr-{account_id}"
        launch_role = Role(
            self,
            "launch-constraint-role",
            RoleProps(
                name=f"{props.name}-sc-launch",
                description="Service Catalog launch constraint for the EMR product (IAM-5)",
                trust_policy=policies.service_trust("servicecatalog.amazonaws.com"),
                inline_policies={
                    "launch-emr": policies.launch_constraint_permissions(
                        bucket_arn,
                        [role_arn(account_id, EMR_DEFAULT_ROLE), role_arn(account_id, EMR_EC2_DEFAULT_ROLE)],
                    )
                },
                policy_suppressions={"launch-emr": {
                    "CKV_AWS_290": "Service Catalog creates the cluster's stack and cluster, whose ids are not known in advance",
                    "CKV_AWS_289": "iam:PassRole is limited to the two EMR default roles",
                    "CKV_AWS_355": "RunJobFlow and CreateStack take no resource-level constraint before the resource exists",
                }},
            ),
        )
        self.service_catalog = EmrServiceCatalog(
            self,
            "service-catalog",
            EmrServiceCatalogProps(
                name=props.name,
                account_id=account_id,
                base_template=props.base_template,
                subnet_ids=self.vpc.private_subnet_ids,
                primary_security_group_id=self.primary_security_group_id,
                instance_types=props.instance_types,
                core_node_counts=props.core_node_counts,
                release_label=props.release_label,
                bootstrap_script=props.bootstrap_script,
                bootstrap_script_name=props.bootstrap_script_name,
                bootstrap_script_version=props.bootstrap_script_version,
                launch_role_arn=launch_role.role_arn,
            ),
        )
        self.portfolio_id = self.service_catalog.portfolio_id
        if props.single_account is not None:
            link = props.single_account
            StudioIngress(
                self,
                "studio-ingress",
                StudioIngressProps(
                    emr_security_group_id=self.primary_security_group_id,
                    studio_security_group_id=link.studio_security_group_id,
                    ports=link.ports,
                ),
            )
            PortfolioAccess(
                self,
                "portfolio-access",
                PortfolioAccessProps(portfolio_id=self.portfolio_id, principal_arn=link.studio_execution_role_arn),
            )
