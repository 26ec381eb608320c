"""NET-1, NET-2 and NET-7: the VPCs.

:class:`NewVpc` builds a VPC with private subnets sharing one route table and, optionally, a
public subnet with a NAT gateway. :class:`ExistingVpc` adopts a VPC by id and creates nothing in
it. Both expose a :class:`VpcHandle`. :class:`PrivateEndpoints` adds the S3 gateway endpoint and
the interface endpoints for the AWS APIs that what runs in the private subnets calls: a VPC-only
domain (NET-2), or the nodes of an EMR cluster (NET-7).
"""

from __future__ import annotations

from dataclasses import dataclass

from constructs import Construct

from imports.aws.default_security_group import DefaultSecurityGroup
from imports.aws.eip import Eip
from imports.aws.internet_gateway import InternetGateway
from imports.aws.nat_gateway import NatGateway
from imports.aws.route import Route
from imports.aws.route_table import RouteTable
from imports.aws.route_table_association import RouteTableAssociation
from imports.aws.subnet import Subnet
from imports.aws.vpc import Vpc
from imports.aws.vpc_endpoint import VpcEndpoint

from .suppressions import suppress

# NET-2: what a VPC-only domain needs to reach without the internet (seed 002).
STUDIO_ENDPOINT_SERVICES = ("sagemaker.api", "sagemaker.runtime", "servicecatalog", "sts", "logs")
# NET-7: what the nodes of a cluster in a private subnet call when there is no NAT: EMR's
# control plane, STS for the instance role's credentials, CloudWatch Logs. S3 goes through the
# gateway endpoint every private VPC of this project has.
EMR_ENDPOINT_SERVICES = ("elasticmapreduce", "sts", "logs")


@dataclass(frozen=True)
class SubnetSpec:
    cidr: str
    availability_zone: str


@dataclass(frozen=True)
class NewVpcProps:
    name: str
    region: str
    cidr: str
    private_subnets: tuple[SubnetSpec, ...]
    # With a public subnet the VPC gets an internet gateway and a NAT gateway (Studio account).
    public_subnet: SubnetSpec | None = None


@dataclass(frozen=True)
class ExistingVpcProps:
    cidr: str
    vpc_id: str
    private_subnet_ids: tuple[str, ...]
    route_table_ids: tuple[str, ...]


class VpcHandle:
    """What other constructs need of a VPC, whoever created it."""

    vpc_id: str
    vpc_cidr: str
    private_subnet_ids: list[str]
    # {stable key: route table id}: constructs made per table are named by the key, never by a
    # position, so that a table added to the list replaces nothing.
    private_route_tables: dict[str, str]

    @property
    def private_route_table_ids(self) -> list[str]:
        return list(self.private_route_tables.values())


def cidr_key(cidr: str) -> str:
    """A construct id part for a CIDR block: 10.0.20.0/24 -> 10-0-20-0-24."""
    return cidr.replace(".", "-").replace("/", "-")


class ExistingVpc(Construct, VpcHandle):
    """An existing VPC, adopted by id: nothing is created in it."""

    def __init__(self, scope: Construct, id: str, props: ExistingVpcProps):
        super().__init__(scope, id)
        self.vpc_id = props.vpc_id
        self.vpc_cidr = props.cidr
        self.private_subnet_ids = list(props.private_subnet_ids)
        self.private_route_tables = {table_id: table_id for table_id in props.route_table_ids}


class NewVpc(Construct, VpcHandle):
    """A VPC with private subnets sharing one route table, and optionally a NAT egress."""

    def __init__(self, scope: Construct, id: str, props: NewVpcProps):
        super().__init__(scope, id)
        self.vpc = Vpc(
            self,
            "vpc",
            cidr_block=props.cidr,
            enable_dns_support=True,
            enable_dns_hostnames=True,
            tags={"Name": props.name},
        )
        suppress(self.vpc, "CKV2_AWS_11", "VPC flow logs belong to the accounts' central logging, set up outside this project")
        # No rules: nothing may use the VPC's default security group by accident.
        DefaultSecurityGroup(self, "default-security-group", vpc_id=self.vpc.id, tags={"Name": f"{props.name}-default-closed"})
        self.vpc_id = self.vpc.id
        self.vpc_cidr = props.cidr
        self.private_route_table = RouteTable(
            self, "private-route-table", vpc_id=self.vpc.id, tags={"Name": f"{props.name}-private"}
        )
        self.private_route_tables = {"private": self.private_route_table.id}
        self.private_subnets = []
        # Keyed by CIDR: inserting a subnet in the list must not rename (replace) the others,
        # nor, through them, the domain and its users' home directories.
        for spec in props.private_subnets:
            key = cidr_key(spec.cidr)
            subnet = Subnet(
                self,
                f"private-subnet-{key}",
                vpc_id=self.vpc.id,
                cidr_block=spec.cidr,
                availability_zone=spec.availability_zone,
                tags={"Name": f"{props.name}-private-{spec.availability_zone}"},
            )
            RouteTableAssociation(
                self,
                f"private-subnet-{key}-routes",
                subnet_id=subnet.id,
                route_table_id=self.private_route_table.id,
            )
            self.private_subnets.append(subnet)
        self.private_subnet_ids = [s.id for s in self.private_subnets]

        if props.public_subnet is not None:
            self._nat_egress(props.name, props.public_subnet)

    def _nat_egress(self, name: str, spec: SubnetSpec) -> None:
        gateway = InternetGateway(self, "internet-gateway", vpc_id=self.vpc.id, tags={"Name": name})
        public = Subnet(
            self,
            "public-subnet",
            vpc_id=self.vpc.id,
            cidr_block=spec.cidr,
            availability_zone=spec.availability_zone,
            tags={"Name": f"{name}-public"},
        )
        public_routes = RouteTable(self, "public-route-table", vpc_id=self.vpc.id, tags={"Name": f"{name}-public"})
        Route(
            self,
            "public-default-route",
            route_table_id=public_routes.id,
            destination_cidr_block="0.0.0.0/0",
            gateway_id=gateway.id,
        )
        RouteTableAssociation(self, "public-subnet-routes", subnet_id=public.id, route_table_id=public_routes.id)
        address = Eip(self, "nat-address", domain="vpc", tags={"Name": f"{name}-nat"}, depends_on=[gateway])
        nat = NatGateway(
            self, "nat-gateway", allocation_id=address.id, subnet_id=public.id, tags={"Name": name}
        )
        Route(
            self,
            "private-default-route",
            route_table_id=self.private_route_table.id,
            destination_cidr_block="0.0.0.0/0",
            nat_gateway_id=nat.id,
        )


@dataclass(frozen=True)
class PrivateEndpointsProps:
    region: str
    vpc_id: str
    subnet_ids: list[str]
    route_table_ids: list[str]
    # Admits HTTPS from what calls the APIs (the Studio SG, or the EMR nodes' groups).
    security_group_id: str
    interface_services: tuple[str, ...]


class PrivateEndpoints(Construct):
    """The S3 gateway endpoint, and an interface endpoint with private DNS for each service."""

    def __init__(self, scope: Construct, id: str, props: PrivateEndpointsProps):
        super().__init__(scope, id)
        VpcEndpoint(
            self,
            "s3",
            vpc_id=props.vpc_id,
            service_name=f"com.amazonaws.{props.region}.s3",
            vpc_endpoint_type="Gateway",
            route_table_ids=props.route_table_ids,
        )
        for service in props.interface_services:
            VpcEndpoint(
                self,
                service.replace(".", "-"),
                vpc_id=props.vpc_id,
                service_name=f"com.amazonaws.{props.region}.{service}",
                vpc_endpoint_type="Interface",
                private_dns_enabled=True,
                subnet_ids=props.subnet_ids,
                security_group_ids=[props.security_group_id],
            )
