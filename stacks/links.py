"""The stacks that wire the Studio account to each EMR account, in handshake order:

1. ``studio-account-peering`` (Studio credentials): request a peering to each EMR VPC.
2. ``emr-account[-<name>]-link`` (that EMR account's credentials): accept, set the accepter's
   DNS option, route the Studio CIDR back, admit the Studio SG, create the role Studio assumes
   (IAM-2) and let it use the portfolio.
3. ``studio-account-link`` (Studio credentials): set the requester's DNS option and route each
   EMR CIDR to its peering, once every connection is active.
"""

from __future__ import annotations

from dataclasses import dataclass

from constructs import Construct

from modules import policies
from modules.iam import Role, RoleProps
from modules.peering import (
    PeerRoutes,
    PeerRoutesProps,
    PeeringAccept,
    PeeringAcceptProps,
    PeeringDns,
    PeeringDnsProps,
    PeeringRequest,
    PeeringRequestProps,
)
from modules.security_groups import StudioIngress, StudioIngressProps
from modules.service_catalog import PortfolioAccess, PortfolioAccessProps

from .base import AccountStack, AccountStackProps, Export, VpcExports
from . import naming
from .naming import PARTITION


@dataclass(frozen=True)
class PeerTarget:
    """One EMR account as the Studio side sees it."""

    key: str  # the EMR account's stack id; names the constructs for this peer
    account_id: str
    region: str
    vpc: VpcExports
    tags: dict[str, str]


@dataclass(frozen=True)
class StudioPeeringProps:
    account: AccountStackProps
    studio_vpc: VpcExports
    peers: tuple[PeerTarget, ...]


class StudioPeeringStack(AccountStack):
    def __init__(self, scope: Construct, id: str, props: StudioPeeringProps):
        super().__init__(scope, id, props.account)
        studio_vpc_id = self.take(props.studio_vpc.vpc_id)
        # What the links take: each peering's id, under a name that says which EMR account it reaches.
        self.peering_connection_ids = {
            peer.key: Export(self, f"{naming.PEERING_OUTPUT_PREFIX}{peer.key}", PeeringRequest(
                self,
                f"peering-{peer.key}",
                PeeringRequestProps(
                    vpc_id=studio_vpc_id,
                    peer_vpc_id=self.take(peer.vpc.vpc_id),
                    peer_account_id=peer.account_id,
                    peer_region=peer.region,
                    tags=peer.tags,
                ),
            ).peering_connection_id)
            for peer in props.peers
        }


@dataclass(frozen=True)
class EmrLinkProps:
    account: AccountStackProps
    peering_connection_id: Export
    peering_tags: dict[str, str]
    emr_vpc: VpcExports
    emr_primary_security_group_id: Export
    portfolio_id: Export
    studio_account_id: str
    studio_cidr: str
    studio_security_group_id: Export
    studio_execution_role_arn: Export
    ports: tuple[int, ...]
    discovery_role_name: str


class EmrLinkStack(AccountStack):
    def __init__(self, scope: Construct, id: str, props: EmrLinkProps):
        super().__init__(scope, id, props.account)
        studio_execution_role_arn = self.take(props.studio_execution_role_arn)
        accept = PeeringAccept(
            self,
            "peering-accept",
            PeeringAcceptProps(peering_connection_id=self.take(props.peering_connection_id), tags=props.peering_tags),
        )
        PeeringDns(
            self,
            "peering-dns",
            PeeringDnsProps(peering_connection_id=accept.peering_connection_id, side="accepter"),
        )
        PeerRoutes(
            self,
            "routes-to-studio",
            PeerRoutesProps(
                route_tables=self.take_vpc(props.emr_vpc).private_route_tables,
                destination_cidr=props.studio_cidr,
                peering_connection_id=accept.peering_connection_id,
            ),
        )
        # Referencing a peer's SG needs an active peering: the accept above comes first.
        StudioIngress(
            self,
            "studio-ingress",
            StudioIngressProps(
                emr_security_group_id=self.take(props.emr_primary_security_group_id),
                studio_security_group_id=self.take(props.studio_security_group_id),
                ports=props.ports,
                studio_account_id=props.studio_account_id,
                after=(accept.accepter,),
            ),
        )
        account = props.account
        self.discovery_role = Role(
            self,
            "emr-discovery-role",
            RoleProps(
                name=props.discovery_role_name,
                description="Assumed by the SageMaker Studio execution role to discover EMR clusters (IAM-2)",
                trust_policy=policies.role_trust([studio_execution_role_arn]),
                inline_policies={
                    naming.DISCOVERY_POLICY: policies.emr_discovery_permissions(
                        policies.emr_cluster_arn(PARTITION, account.region, account.account_id),
                        studio_execution_role_arn,
                    ),
                    # Launching a cluster from the product in this account (AWS's "Create
                    # Amazon EMR clusters" policy for the assumable role).
                    "emr-provisioning": policies.emr_provisioning_permissions(),
                },
                policy_suppressions={"emr-provisioning": {
                    "CKV_AWS_290": "Service Catalog end-user calls take no resource-level constraint; the launch constraint bounds what is created",
                    "CKV_AWS_355": "SearchProducts, ProvisionProduct and DescribeRecord only accept Resource \"*\" (seed 000 §3.5.2)",
                }},
            ),
        )
        PortfolioAccess(
            self,
            "portfolio-access",
            PortfolioAccessProps(portfolio_id=self.take(props.portfolio_id), principal_arn=self.discovery_role.role_arn),
        )


@dataclass(frozen=True)
class PeerRouteTarget:
    key: str
    peering_connection_id: Export
    destination_cidr: str


@dataclass(frozen=True)
class StudioLinkProps:
    account: AccountStackProps
    studio_vpc: VpcExports
    peers: tuple[PeerRouteTarget, ...]


class StudioLinkStack(AccountStack):
    def __init__(self, scope: Construct, id: str, props: StudioLinkProps):
        super().__init__(scope, id, props.account)
        studio_route_tables = self.take_vpc(props.studio_vpc).private_route_tables
        for peer in props.peers:
            peering_connection_id = self.take(peer.peering_connection_id)
            PeeringDns(
                self,
                f"peering-dns-{peer.key}",
                PeeringDnsProps(peering_connection_id=peering_connection_id, side="requester"),
            )
            PeerRoutes(
                self,
                f"routes-to-{peer.key}",
                PeerRoutesProps(
                    route_tables=studio_route_tables,
                    destination_cidr=peer.destination_cidr,
                    peering_connection_id=peering_connection_id,
                ),
            )
