"""Can a Studio app reach the EMR primary node, and can the reply come back? Worked out from the
live EC2 data of both accounts, hop by hop, the way AWS Reachability Analyzer explains a path:
the first hop that blocks it is named, with the resource at fault.

Outbound, from an app's network interface in a domain subnet to the primary node's private IP:
the Studio SG's egress, the Studio subnet's network ACL (outbound), the Studio subnet's route
to the EMR address, the peering connection (active, joining these two VPCs), the EMR subnet's
network ACL (inbound), the primary node's security groups (inbound). Back: the EMR subnet's
route to the Studio subnet, its network ACL (outbound, ephemeral ports), the Studio subnet's
network ACL (inbound). Security groups are stateful, so replies need no rule of their own; network
ACLs are not, so both directions are checked. In the single-account layout both ends are in one
VPC and the route is the VPC's local route.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from orchestration.aws.accounts import all_pages

# The client side of a TCP connection uses an ephemeral port; AWS's guidance for network ACLs
# is to allow 1024-65535 for replies.
EPHEMERAL_PORTS = (1024, 65535)
TCP = "6"


@dataclass(frozen=True)
class Endpoint:
    """One end of the path: a network interface's address, its subnet and its security groups,
    with the data of the account that owns it."""

    account_id: str
    ip: str
    subnet: dict
    security_group_ids: tuple[str, ...]
    route_table: dict
    network_acl: dict
    security_groups: dict[str, dict]  # group id -> DescribeSecurityGroups item, this account's


@dataclass(frozen=True)
class Hop:
    name: str
    ok: bool
    detail: str


@dataclass
class PathResult:
    source: str
    destination: str
    port: int
    hops: list[Hop] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(h.ok for h in self.hops)

    @property
    def blocked_at(self) -> Hop | None:
        return next((h for h in self.hops if not h.ok), None)

    def explain(self) -> str:
        hop = self.blocked_at
        path = f"{self.source} -> {self.destination}:{self.port}"
        if hop is None:
            return f"{path}: reachable, and replies return ({len(self.hops)} hops)"
        return f"{path}: blocked at {hop.name}: {hop.detail}"


def analyze(source: Endpoint, destination: Endpoint, port: int, peerings: dict[str, dict]) -> PathResult:
    """Every hop of one TCP connection and its replies; each hop is checked even after a broken
    one, so the result lists everything that is wrong, and ``blocked_at`` names the first.
    ``peerings`` holds the peering connections the routes may point at, by id: the route's
    target is followed, as Reachability Analyzer follows it."""
    result = PathResult(f"{source.ip} ({source.subnet['SubnetId']})", destination.ip, port)
    add = result.hops.append
    same_vpc = source.subnet["VpcId"] == destination.subnet["VpcId"]

    add(_egress_allows(source, destination, port))
    add(_acl_hop("Studio subnet network ACL (outbound)", source.network_acl, egress=True,
                 peer_ip=destination.ip, ports=(port, port)))
    route_hop, target = _route_hop("Studio subnet route table", source.route_table, destination.ip)
    add(route_hop)
    if not same_vpc:
        add(_peering_hop(peerings, target, source, destination))
    add(_acl_hop("EMR subnet network ACL (inbound)", destination.network_acl, egress=False,
                 peer_ip=source.ip, ports=(port, port)))
    add(_ingress_allows(destination, source, port))
    back_hop, back_target = _route_hop("EMR subnet route table (reply)", destination.route_table, source.ip)
    if back_hop.ok and not same_vpc and back_target != target:
        back_hop = Hop(back_hop.name, False, f"{destination.route_table['RouteTableId']} sends {source.ip} to "
                                             f"{back_target}, but the request came through {target}")
    add(back_hop)
    add(_acl_hop("EMR subnet network ACL (reply, outbound)", destination.network_acl, egress=True,
                 peer_ip=source.ip, ports=EPHEMERAL_PORTS))
    add(_acl_hop("Studio subnet network ACL (reply, inbound)", source.network_acl, egress=False,
                 peer_ip=destination.ip, ports=EPHEMERAL_PORTS))
    return result


# --- security groups -----------------------------------------------------------------------


def _egress_allows(source: Endpoint, destination: Endpoint, port: int) -> Hop:
    name = "Studio security group (egress)"
    for group_id in source.security_group_ids:
        for permission in source.security_groups[group_id].get("IpPermissionsEgress", []):
            if _permits(permission, port) and (
                _cidrs_contain(permission, destination.ip)
                or _references_any(permission, destination.security_group_ids, destination.account_id, source.account_id)
            ):
                return Hop(name, True, f"{group_id} allows TCP {port} to {destination.ip}")
    return Hop(name, False, f"no egress rule of {', '.join(source.security_group_ids)} allows TCP {port} to {destination.ip}")


def _ingress_allows(destination: Endpoint, source: Endpoint, port: int) -> Hop:
    name = "EMR primary node security groups (ingress)"
    for group_id in destination.security_group_ids:
        for permission in destination.security_groups[group_id].get("IpPermissions", []):
            if _permits(permission, port) and (
                _cidrs_contain(permission, source.ip)
                or _references_any(permission, source.security_group_ids, source.account_id, destination.account_id)
            ):
                return Hop(name, True, f"{group_id} admits TCP {port} from {_source_of(permission)}")
    return Hop(name, False, f"none of {', '.join(destination.security_group_ids)} admits TCP {port} from "
                            f"{', '.join(source.security_group_ids)} ({source.ip})")


def _permits(permission: dict, port: int) -> bool:
    protocol = str(permission.get("IpProtocol"))
    if protocol == "-1":
        return True
    if protocol not in ("tcp", TCP):
        return False
    return permission.get("FromPort", 0) <= port <= permission.get("ToPort", 65535)


def _cidrs_contain(permission: dict, ip: str) -> bool:
    return any(ipaddress.ip_address(ip) in ipaddress.ip_network(r["CidrIp"]) for r in permission.get("IpRanges", []))


def _references_any(permission: dict, group_ids: tuple[str, ...], group_owner: str, rule_owner: str) -> bool:
    for pair in permission.get("UserIdGroupPairs", []):
        owner = pair.get("UserId") or rule_owner
        if pair.get("GroupId") in group_ids and owner == group_owner:
            return True
    return False


def _source_of(permission: dict) -> str:
    pairs = [f"{p.get('UserId', '')}/{p['GroupId']}".lstrip("/") for p in permission.get("UserIdGroupPairs", [])]
    return ", ".join(pairs + [r["CidrIp"] for r in permission.get("IpRanges", [])])


# --- network ACLs --------------------------------------------------------------------------


def _acl_hop(name: str, acl: dict, egress: bool, peer_ip: str, ports: tuple[int, int]) -> Hop:
    """Rules in order of their number; the first that matches decides (AWS's evaluation)."""
    acl_id = acl.get("NetworkAclId", "?")
    for entry in sorted((e for e in acl.get("Entries", []) if e["Egress"] == egress), key=lambda e: e["RuleNumber"]):
        if not _acl_entry_matches(entry, peer_ip, ports):
            continue
        allowed = entry["RuleAction"] == "allow"
        rule = "*" if entry["RuleNumber"] >= 32767 else entry["RuleNumber"]
        verdict = "allows" if allowed else "denies"
        return Hop(name, allowed, f"{acl_id} rule {rule} {verdict} TCP {_ports(ports)} {'to' if egress else 'from'} {peer_ip}")
    return Hop(name, False, f"{acl_id}: no rule matches TCP {_ports(ports)} {'to' if egress else 'from'} {peer_ip} "
                            "(the default rule denies)")


def _acl_entry_matches(entry: dict, ip: str, ports: tuple[int, int]) -> bool:
    cidr = entry.get("CidrBlock")
    if cidr is None or ipaddress.ip_address(ip) not in ipaddress.ip_network(cidr):
        return False
    protocol = str(entry.get("Protocol"))
    if protocol == "-1":
        return True
    if protocol != TCP:
        return False
    port_range = entry.get("PortRange") or {}
    return port_range.get("From", 0) <= ports[0] and ports[1] <= port_range.get("To", 65535)


def _ports(ports: tuple[int, int]) -> str:
    return str(ports[0]) if ports[0] == ports[1] else f"{ports[0]}-{ports[1]}"


# --- routes and peering --------------------------------------------------------------------


def _route_hop(name: str, table: dict, ip: str) -> tuple[Hop, str | None]:
    """The most specific active route for ``ip`` decides (longest prefix match)."""
    address = ipaddress.ip_address(ip)
    best, best_len = None, -1
    for route in table.get("Routes", []):
        cidr = route.get("DestinationCidrBlock")
        if cidr and address in ipaddress.ip_network(cidr) and ipaddress.ip_network(cidr).prefixlen > best_len:
            best, best_len = route, ipaddress.ip_network(cidr).prefixlen
    table_id = table.get("RouteTableId", "?")
    if best is None:
        return Hop(name, False, f"{table_id} has no route to {ip}"), None
    target = best.get("VpcPeeringConnectionId") or best.get("GatewayId") or best.get("NatGatewayId") \
        or best.get("TransitGatewayId") or best.get("NetworkInterfaceId") or "?"
    if best.get("State", "active") != "active":
        return Hop(name, False, f"{table_id}: the route {best['DestinationCidrBlock']} -> {target} is blackholed"), target
    if target == "local":
        return Hop(name, True, f"{table_id}: {ip} is in the VPC (local route)"), target
    if not target.startswith("pcx-"):
        return Hop(name, False, f"{table_id} sends {ip} to {target} ({best['DestinationCidrBlock']}), not to a peering"), target
    return Hop(name, True, f"{table_id}: {best['DestinationCidrBlock']} -> {target}"), target


def _peering_hop(peerings: dict[str, dict], route_target: str | None, source: Endpoint, destination: Endpoint) -> Hop:
    name = "VPC peering connection"
    if route_target is None or not route_target.startswith("pcx-"):
        return Hop(name, False, "the Studio route does not lead to a peering connection")
    peering = peerings.get(route_target)
    if peering is None:
        return Hop(name, False, f"{route_target}, the Studio route's target, no longer exists")
    status = peering["Status"]
    if status["Code"] != "active":
        reason = f" ({status['Message']})" if status.get("Message") else ""
        return Hop(name, False, f"{route_target} is {status['Code']}{reason}")
    ends = {peering["RequesterVpcInfo"]["VpcId"], peering["AccepterVpcInfo"]["VpcId"]}
    if ends != {source.subnet["VpcId"], destination.subnet["VpcId"]}:
        return Hop(name, False, f"{route_target} joins {sorted(ends)}, not {source.subnet['VpcId']} and {destination.subnet['VpcId']}")
    return Hop(name, True, f"{route_target} is active between {source.subnet['VpcId']} and {destination.subnet['VpcId']}")


# --- collecting the data -------------------------------------------------------------------


def endpoint(ec2, account_id: str, ip: str, subnet_id: str, security_group_ids: list[str]) -> Endpoint:
    """What the analysis needs of one end, read from its own account's EC2 API."""
    subnet = ec2.describe_subnets(SubnetIds=[subnet_id])["Subnets"][0]
    return Endpoint(
        account_id=account_id,
        ip=ip,
        subnet=subnet,
        security_group_ids=tuple(security_group_ids),
        route_table=_route_table_of(ec2, subnet),
        network_acl=_network_acl_of(ec2, subnet),
        security_groups={g["GroupId"]: g for g in ec2.describe_security_groups(GroupIds=list(security_group_ids))["SecurityGroups"]},
    )


def _route_table_of(ec2, subnet: dict) -> dict:
    """The table associated with the subnet, else the VPC's main table (AWS's rule)."""
    tables = all_pages(ec2, "describe_route_tables", "RouteTables",
                       Filters=[{"Name": "association.subnet-id", "Values": [subnet["SubnetId"]]}])
    if tables:
        return tables[0]
    main = all_pages(ec2, "describe_route_tables", "RouteTables", Filters=[{"Name": "vpc-id", "Values": [subnet["VpcId"]]},
                                                                          {"Name": "association.main", "Values": ["true"]}])
    return main[0] if main else {"RouteTableId": f"(no route table for {subnet['SubnetId']})", "Routes": []}


def _network_acl_of(ec2, subnet: dict) -> dict:
    acls = all_pages(ec2, "describe_network_acls", "NetworkAcls",
                     Filters=[{"Name": "association.subnet-id", "Values": [subnet["SubnetId"]]}])
    if acls:
        return acls[0]
    default = all_pages(ec2, "describe_network_acls", "NetworkAcls", Filters=[{"Name": "vpc-id", "Values": [subnet["VpcId"]]},
                                                                             {"Name": "default", "Values": ["true"]}])
    return default[0] if default else {"NetworkAclId": f"(no network ACL for {subnet['SubnetId']})", "Entries": []}


def app_address(subnet: dict) -> str:
    """A Studio app's interface gets an address in its subnet; the analysis uses the first
    address AWS does not reserve (the first four and the last are reserved in every subnet)."""
    return str(ipaddress.ip_network(subnet["CidrBlock"])[4])
