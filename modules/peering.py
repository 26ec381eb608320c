"""NET-3 and NET-4: cross-account VPC peering, its DNS options, and the routes through it.

The Studio account requests, the EMR account accepts; DNS resolution of private addresses
across the connection is set on each side by that side's account once the connection is
active; each side routes the other's CIDR to the connection.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from constructs import Construct

from imports.aws.route import Route
from imports.aws.vpc_peering_connection import VpcPeeringConnection
from imports.aws.vpc_peering_connection_accepter import VpcPeeringConnectionAccepterA
from imports.aws.vpc_peering_connection_options import VpcPeeringConnectionOptions


@dataclass(frozen=True)
class PeeringRequestProps:
    vpc_id: str
    peer_vpc_id: str
    peer_account_id: str
    peer_region: str
    # Both sides carry the same tags: some implementations keep one tag set per connection.
    tags: dict[str, str] = field(default_factory=dict)


class PeeringRequest(Construct):
    """The requester side, applied with the Studio account's credentials."""

    def __init__(self, scope: Construct, id: str, props: PeeringRequestProps):
        super().__init__(scope, id)
        self.connection = VpcPeeringConnection(
            self,
            "connection",
            vpc_id=props.vpc_id,
            peer_vpc_id=props.peer_vpc_id,
            peer_owner_id=props.peer_account_id,
            peer_region=props.peer_region,
            auto_accept=False,
            tags=props.tags,
        )
        self.peering_connection_id = self.connection.id


@dataclass(frozen=True)
class PeeringAcceptProps:
    peering_connection_id: str
    tags: dict[str, str] = field(default_factory=dict)


class PeeringAccept(Construct):
    """The accepter side, applied with the EMR account's credentials; waits for active."""

    def __init__(self, scope: Construct, id: str, props: PeeringAcceptProps):
        super().__init__(scope, id)
        self.accepter = VpcPeeringConnectionAccepterA(
            self,
            "accepter",
            vpc_peering_connection_id=props.peering_connection_id,
            auto_accept=True,
            tags=props.tags,
        )
        self.peering_connection_id = self.accepter.id


@dataclass(frozen=True)
class PeeringDnsProps:
    peering_connection_id: str
    side: Literal["requester", "accepter"]


class PeeringDns(Construct):
    """Resolve the peer's private DNS names to private addresses, from one side's account.

    Only valid once the connection is active."""

    def __init__(self, scope: Construct, id: str, props: PeeringDnsProps):
        super().__init__(scope, id)
        self.options = VpcPeeringConnectionOptions(
            self,
            "options",
            vpc_peering_connection_id=props.peering_connection_id,
            **{props.side: {"allow_remote_vpc_dns_resolution": True}},
        )


@dataclass(frozen=True)
class PeerRoutesProps:
    # {stable key: route table id}, as VpcHandle.private_route_tables gives them.
    route_tables: dict[str, str]
    destination_cidr: str
    peering_connection_id: str


class PeerRoutes(Construct):
    """NET-4: each route table sends the peer VPC's CIDR through the peering connection."""

    def __init__(self, scope: Construct, id: str, props: PeerRoutesProps):
        super().__init__(scope, id)
        self.routes = [
            Route(
                self,
                f"route-{key}",
                route_table_id=table_id,
                destination_cidr_block=props.destination_cidr,
                vpc_peering_connection_id=props.peering_connection_id,
            )
            for key, table_id in props.route_tables.items()
        ]
