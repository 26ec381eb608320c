"""``emr-account[-<name>]``: an EMR account's VPC (or the Studio VPC in the single-account
layout), the EMR primary-node security group, the EMR roles and the Service Catalog product."""

from __future__ import annotations

from dataclasses import dataclass

from constructs import Construct

from modules import policies
from modules.iam import Role, RoleProps
from modules.network import (
    EMR_ENDPOINT_SERVICES,
    ExistingVpc,
    ExistingVpcProps,
    NewVpc,
    NewVpcProps,
    PrivateEndpoints,
    PrivateEndpointsProps,
    VpcHandle,
)
from modules.security_groups import (
    HttpsIngress,
    HttpsIngressProps,
    SecurityGroupProps,
    SecurityGroupWithEgress,
    StudioIngress,
    StudioIngressProps,
)
from modules.service_catalog import EmrServiceCatalog, EmrServiceCatalogProps, PortfolioAccess, PortfolioAccessProps

from .base import AccountStack, AccountStackProps, Export, VpcExports
from .naming import EmrNames, role_arn

EMR_SERVICE_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonElasticMapReduceRole"
EMR_EC2_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonElasticMapReduceforEC2Role"
EMR_DEFAULT_ROLE = "EMR_DefaultRole"
EMR_EC2_DEFAULT_ROLE = "EMR_EC2_DefaultRole"
# The security groups EMR manages for a cluster in a private subnet (NET-7).
EMR_MANAGED_GROUPS = {
    "managed-primary": "EMR-managed group of the primary node; EMR adds its rules at launch",
    "managed-core": "EMR-managed group of the core and task nodes; EMR adds its rules at launch",
    "service-access": "EMR service access from the EMR control plane to nodes in a private subnet",
}


@dataclass(frozen=True)
class SingleAccountLink:
    """In the single-account layout, EMR shares the Studio stack's VPC, SG and role."""

    vpc: VpcExports
    studio_security_group_id: Export
    studio_execution_role_arn: Export
    ports: tuple[int, ...]


@dataclass(frozen=True)
class EmrAccountProps:
    account: AccountStackProps
    names: EmrNames  # every name the stack gives (stacks/naming.py)
    network: NewVpcProps | ExistingVpcProps | None
    create_default_roles: bool
    base_template: str
    bootstrap_script: str
    bootstrap_script_name: str
    bootstrap_script_version: str
    instance_types: tuple[str, ...]
    core_node_counts: tuple[int, ...]
    release_label: str
    # NET-7, for a VPC this stack creates: interface endpoints ("endpoints") or a NAT ("nat").
    egress: str | None = None
    # The EMR runtime role's name, when the environment asks for one.
    runtime_role_name: str | None = None
    single_account: SingleAccountLink | None = None


class EmrAccountStack(AccountStack):
    vpc: VpcHandle

    def __init__(self, scope: Construct, id: str, props: EmrAccountProps):
        super().__init__(scope, id, props.account)
        account_id = props.account.account_id
        if props.single_account is not None:
            self.vpc = self.take_vpc(props.single_account.vpc)
        elif isinstance(props.network, NewVpcProps):
            self.vpc = NewVpc(self, "network", props.network)
        else:
            self.vpc = ExistingVpc(self, "network", props.network)
        self.primary_security_group = SecurityGroupWithEgress(
            self,
            "emr-primary-security-group",
            SecurityGroupProps(
                name=props.names.security_groups["primary"],
                description="EMR primary node: admits Livy and the configured ports from SageMaker Studio",
                vpc_id=self.vpc.vpc_id,
            ),
        )
        self.primary_security_group_id = self.primary_security_group.security_group_id
        # NET-7: the groups EMR manages for a cluster in a private subnet, named so that the
        # product's template can pin them; EMR adds its own rules to them at launch.
        self.managed_security_group_ids = {
            kind: SecurityGroupWithEgress(
                self,
                f"emr-{kind}-security-group",
                SecurityGroupProps(name=props.names.security_groups[kind], description=description, vpc_id=self.vpc.vpc_id,
                                   revoke_rules_on_delete=True),
            ).security_group_id
            for kind, description in EMR_MANAGED_GROUPS.items()
        }
        if isinstance(props.network, NewVpcProps) and props.single_account is None:
            self._private_endpoints(props)
        instance_role_arn = role_arn(account_id, EMR_EC2_DEFAULT_ROLE)
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
            instance_role_arn = Role(
                self,
                "emr-ec2-default-role",
                RoleProps(
                    name=EMR_EC2_DEFAULT_ROLE,
                    description="EMR instance role (IAM-4), as `aws emr create-default-roles` makes it",
                    trust_policy=policies.service_trust("ec2.amazonaws.com"),
                    managed_policy_arns=(EMR_EC2_POLICY,),
                    with_instance_profile=True,
                ),
            ).role_arn
        if props.runtime_role_name is not None:
            Role(
                self,
                "emr-runtime-role",
                RoleProps(
                    name=props.runtime_role_name,
                    description="EMR runtime role Studio users may run their jobs as (SM-3); attach data access to it",
                    trust_policy=policies.runtime_role_trust(instance_role_arn),
                ),
            )
        bucket_arn = f"arn:aws:s3:::{props.names.bucket}"
        launch_role = Role(
            self,
            "launch-constraint-role",
            RoleProps(
                name=props.names.launch_role,
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
                bucket_name=props.names.bucket,
                portfolio_name=props.names.portfolio,
                product_name=props.names.product,
                account_id=account_id,
                base_template=props.base_template,
                subnet_ids=self.vpc.private_subnet_ids,
                primary_security_group_id=self.primary_security_group_id,
                managed_primary_security_group_id=self.managed_security_group_ids["managed-primary"],
                managed_core_security_group_id=self.managed_security_group_ids["managed-core"],
                service_access_security_group_id=self.managed_security_group_ids["service-access"],
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
                    studio_security_group_id=self.take(link.studio_security_group_id),
                    ports=link.ports,
                ),
            )
            PortfolioAccess(
                self,
                "portfolio-access",
                PortfolioAccessProps(portfolio_id=self.portfolio_id, principal_arn=self.take(link.studio_execution_role_arn)),
            )

    def _private_endpoints(self, props: EmrAccountProps) -> None:
        """NET-7: S3 through a gateway endpoint always; the other APIs the nodes call through
        interface endpoints unless a NAT gateway gives them a way out."""
        interface_services: tuple[str, ...] = ()
        endpoint_group_id = self.managed_security_group_ids["managed-primary"]
        if props.egress == "endpoints":
            interface_services = EMR_ENDPOINT_SERVICES
            endpoint_group = SecurityGroupWithEgress(
                self,
                "endpoints-security-group",
                SecurityGroupProps(
                    name=props.names.security_groups["endpoints"],
                    description="Interface endpoints of the EMR VPC: HTTPS from the cluster nodes",
                    vpc_id=self.vpc.vpc_id,
                ),
            )
            endpoint_group_id = endpoint_group.security_group_id
            HttpsIngress(
                self,
                "endpoints-from-nodes",
                HttpsIngressProps(
                    security_group_id=endpoint_group_id,
                    source_security_group_ids={
                        kind: self.managed_security_group_ids[kind] for kind in ("managed-primary", "managed-core")
                    },
                ),
            )
        PrivateEndpoints(
            self,
            "private-endpoints",
            PrivateEndpointsProps(
                region=props.account.region,
                vpc_id=self.vpc.vpc_id,
                subnet_ids=self.vpc.private_subnet_ids,
                route_table_ids=self.vpc.private_route_table_ids,
                security_group_id=endpoint_group_id,
                interface_services=interface_services,
            ),
        )
