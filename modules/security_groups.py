"""NET-5: the Studio security group and the EMR primary-node group that admits it."""

from __future__ import annotations

from dataclasses import dataclass

from cdktn import TerraformResource
from constructs import Construct

from .suppressions import suppress

from imports.aws.security_group import SecurityGroup
from imports.aws.vpc_security_group_egress_rule import VpcSecurityGroupEgressRule
from imports.aws.vpc_security_group_ingress_rule import VpcSecurityGroupIngressRule


@dataclass(frozen=True)
class SecurityGroupProps:
    name: str
    description: str
    vpc_id: str
    # The Studio SG admits all traffic from itself (seed 000 §3.2.1); the EMR primary SG does not.
    allow_from_self: bool = False
    # EMR adds rules to the groups it manages that reference each other, which blocks their
    # deletion; the provider revokes every rule first when this is set (`cdktn destroy` included).
    revoke_rules_on_delete: bool = False


class SecurityGroupWithEgress(Construct):
    """A security group with all outbound allowed and no inbound beyond, optionally, itself."""

    def __init__(self, scope: Construct, id: str, props: SecurityGroupProps):
        super().__init__(scope, id)
        self.group = SecurityGroup(
            self,
            "group",
            name=props.name,
            description=props.description,
            vpc_id=props.vpc_id,
            tags={"Name": props.name},
            revoke_rules_on_delete=props.revoke_rules_on_delete or None,
        )
        self.security_group_id = self.group.id
        suppress(self.group, "CKV2_AWS_5", "attached by what runs in it: Studio apps, or EMR clusters launched from Service Catalog")
        suppress(self.group, "CKV_AWS_382", "NET-5: all outbound, as Studio and EMR nodes call AWS APIs through the NAT and endpoints")
        VpcSecurityGroupEgressRule(
            self,
            "all-outbound",
            security_group_id=self.group.id,
            ip_protocol="-1",
            cidr_ipv4="0.0.0.0/0",
            description="All outbound traffic",
        )
        if props.allow_from_self:
            VpcSecurityGroupIngressRule(
                self,
                "all-from-self",
                security_group_id=self.group.id,
                ip_protocol="-1",
                referenced_security_group_id=self.group.id,
                description="All traffic between members of this group",
            )


@dataclass(frozen=True)
class StudioIngressProps:
    emr_security_group_id: str
    studio_security_group_id: str
    ports: tuple[int, ...]
    # Set when the Studio SG lives in another account: the rule then references
    # "<account>/<sg-id>", the form AWS echoes back (the bare id gives perpetual diffs).
    studio_account_id: str | None = None
    # Resources the rules must wait for (the peering accept, when the SG is across a peering).
    after: tuple[TerraformResource, ...] = ()


class StudioIngress(Construct):
    """The EMR primary-node SG admits TCP on each configured port from the Studio SG only."""

    def __init__(self, scope: Construct, id: str, props: StudioIngressProps):
        super().__init__(scope, id)
        source = props.studio_security_group_id
        if props.studio_account_id is not None:
            source = f"{props.studio_account_id}/{source}"
        self.rules = [
            VpcSecurityGroupIngressRule(
                self,
                f"tcp-{port}",
                security_group_id=props.emr_security_group_id,
                ip_protocol="tcp",
                from_port=port,
                to_port=port,
                referenced_security_group_id=source,
                description=f"SageMaker Studio to EMR on TCP {port}",
                depends_on=list(props.after) or None,
            )
            for port in props.ports
        ]


@dataclass(frozen=True)
class HttpsIngressProps:
    security_group_id: str
    # {what the source is: its security group id}; the key names the rule.
    source_security_group_ids: dict[str, str]


class HttpsIngress(Construct):
    """A group admits HTTPS (443) from named security groups only: interface endpoints."""

    def __init__(self, scope: Construct, id: str, props: HttpsIngressProps):
        super().__init__(scope, id)
        for source, group_id in props.source_security_group_ids.items():
            VpcSecurityGroupIngressRule(
                self,
                f"https-from-{source}",
                security_group_id=props.security_group_id,
                ip_protocol="tcp",
                from_port=443,
                to_port=443,
                referenced_security_group_id=group_id,
                description=f"HTTPS from the EMR {source} group",
            )
