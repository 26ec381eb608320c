"""EC2: security-group rules that reference a group in a peered account (``<account>/<sg-id>``),
the description of rules that reference a group, the filters of DescribeVpcPeeringConnections,
and the deletes AWS refuses with DependencyViolation.

moto 5.2.5 looks a referenced group up in the caller's own account only, and reads a rule's
description from its CIDR range only, so a group-referencing rule loses its description and
Terraform plans a change forever. It also tells a group-referencing rule from another by its
description, so it adds a duplicate AWS refuses (InvalidPermission.Duplicate) and cannot revoke a
described rule by protocol, ports and group as AWS does; here a rule's description does not
make it another rule.

moto 5.2.5 also ignores every filter of DescribeVpcPeeringConnections and returns all the
connections of the account, so a hub with two peerings finds the wrong one by its Name tag. AWS
applies the filters its API reference documents for the call (botocore's service model lists the
same): ``accepter-vpc-info.cidr-block``, ``accepter-vpc-info.owner-id``,
``accepter-vpc-info.vpc-id``, ``expiration-time``, ``requester-vpc-info.cidr-block``,
``requester-vpc-info.owner-id``, ``requester-vpc-info.vpc-id``, ``status-code``,
``status-message``, ``tag:<key>``, ``tag-key`` and ``vpc-peering-connection-id`` (and
``tag-value``, documented for the call until the tag filters were unified, still taken). Values of
one filter are alternatives, filters all apply, and ``*`` and ``?`` are wildcards in values. Any
other filter name is refused with ``InvalidParameterValue`` "The filter '<name>' is invalid", as
EC2's Describe calls refuse one. A request that is pending acceptance expires seven days after it
was made (ExpirationTime), the time the ``expiration-time`` filter reads.

Still kinder than AWS here: a connection has one tag set, seen by both accounts (AWS keeps each
account's tags apart); the CIDR filters match a connection that is not active yet (AWS returns CIDR
information for active connections only); a request never expires; an unknown connection id
describes nothing instead of answering InvalidVpcPeeringConnectionID.NotFound.

Deletes AWS refuses while something depends on the resource. moto 5.2.5 deletes a subnet and a
security group whatever still uses them, and refuses DeleteVpc only for remaining subnets, attached
virtual private gateways and route tables other than the main one. AWS answers
``DependencyViolation`` (EC2 API reference, "Error codes": "The specified object has dependent
resources. A number of resources in a VPC may have dependent resources, which prevent you from
deleting or detaching them. Remove the dependencies first, then retry your request"), with these
messages:

* DeleteSubnet while a network interface is in the subnet (an instance's, a NAT gateway's, an
  interface endpoint's, a notebook instance's...): "The subnet 'subnet-…' has dependencies and
  cannot be deleted." (DeleteSubnet: "You must terminate all running instances in the subnet
  before you can delete the subnet.")
* DeleteSecurityGroup while a network interface uses the group, or while a rule (ingress or
  egress) of another group of the same VPC references it: "resource sg-… has a dependent object"
  (DeleteSecurityGroup: "If you attempt to delete a security group that is associated with an
  instance or network interface, is referenced by another security group in the same VPC, or has
  a VPC association, the operation fails with DependencyViolation"). A group's rules that
  reference the group itself do not block; nor does a rule in a peered VPC, which becomes stale
  instead (DescribeStaleSecurityGroups: "Rules are stale when they reference a deleted security
  group in a peered VPC").
* DeleteVpc while subnets, security groups other than the default one, network interfaces, or
  internet gateways (egress-only ones too) remain: "The vpc 'vpc-…' has dependencies and cannot be
  deleted." (DeleteVpc: "You must detach or delete all gateways and resources that are associated
  with the VPC before you can delete it").

So that these refusals block only what blocks on AWS, the interfaces AWS deletes by itself are
deleted here too: a network interface RunInstances creates is deleted when its instance
terminates unless ``DeleteOnTermination`` is false (moto keeps it), and DeleteNatGateway
disassociates the gateway's Elastic IP address and deletes its network interface (moto keeps it
in the subnet forever). Terraform's AWS provider retries a delete that answers
DependencyViolation until its delete timeout (15 or 20 minutes), as on AWS, so a destroy that
waits that long names a real dependency.

Idempotent creates. CreateVpcEndpoint, CreateNatGateway and CreateRouteTable take a
``ClientToken`` (botocore's service model; EC2 API reference, "Ensuring idempotency": "If you
repeat a request with the same client token and the same parameters, the retry succeeds without
performing any further actions" and returns the result of the original request; the same token
with other parameters answers ``IdempotentParameterMismatch``). The AWS provider sends one, and
its SDK repeats the same token when it retries a request whose answer it never got. moto 5.2.5
ignores the token and creates a second resource on every retry; here a repeated token, in the
same account and region, answers the first request's resource.

One explicit route table per subnet or gateway. A subnet or gateway is associated with at most one
route table at a time; moving it to another is ReplaceRouteTableAssociation. AWS refuses
AssociateRouteTable for a subnet or gateway that already has an association, to another table or to
the same one, with ``Resource.AlreadyAssociated`` "the specified association for route table
rtb-… conflicts with an existing association", naming the table of the request (the AWS
provider's aws_route_table_association documentation: "Attempting to associate a route table
with a subnet or gateway, where either is already associated, will result in an error ... unless
you first import the original association"; the same answer in terraform-provider-aws issues #73
and #38960). AssociateRouteTable takes no client token, so a retry of a request AWS carried out is
refused the same way. moto 5.2.5 answers a subnet's existing association instead, whatever table
was asked for, and gives a gateway a second association.

Revoking rules by id. RevokeSecurityGroupIngress and RevokeSecurityGroupEgress take the rules to
revoke as ``SecurityGroupRuleIds`` (the form the AWS provider's aws_vpc_security_group_*_rule
resources delete with). An id the group does not hold in that direction revokes nothing and is
answered ``InvalidSecurityGroupRuleId.NotFound`` (EC2 API reference, "Error codes": "The specified
security group rule does not exist"); the provider, written against AWS, takes that answer (and
InvalidGroup.NotFound) as "already deleted" when it deletes a rule or revokes a group's rules
before deleting it. moto 5.2.5 answers ``InvalidPermission.NotFound``, the answer to rules named by
protocol, ports and source, which the provider reports as a failed delete: a revoke repeated after
its first answer was lost failed a destroy that AWS lets finish. Revoking by protocol, ports and
source in a VPC still answers InvalidPermission.NotFound when no rule matches, as AWS does in a
VPC that is not the default one (the API reference: only "for a default VPC ... no error is
returned").

Deleting an endpoint twice. DeleteVpcEndpoints answers, per endpoint it could not delete, an item
of ``Unsuccessful`` (botocore's service model: UnsuccessfulItem, an error code and message with
the ResourceId) instead of failing the call; an endpoint that does not exist is such an item
with the code ``InvalidVpcEndpoint.NotFound``, which the AWS provider takes as "already deleted"
(its aws_vpc_endpoint delete, and terraform-provider-aws PR #16656, written against the API
reference). No document says what AWS answers for an endpoint already in state ``deleted``; it is
answered here as a missing one, and in no case with an error about its routes. moto 5.2.5 keeps a
deleted endpoint (state ``deleted``) and deletes its routes again when asked again: the routes are
gone, so it fails the call with
``InvalidRoute.NotFound``, an answer about routes AWS does not give to this call. A delete repeated
after its first answer was lost failed the destroy of a Studio stack (CI, 2026-11-24); here the
second request gets AWS's unsuccessful item. An endpoint moto does not hold at all, which moto
reported as deleted, gets the same item.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from moto.core.responses import ActionResult
from moto.ec2.exceptions import DependencyViolationError, EC2ClientError, InvalidFilter, InvalidSecurityGroupNotFoundError
from moto.ec2.models import ec2_backends
from moto.ec2.models.elastic_network_interfaces import NetworkInterface
from moto.ec2.models.instances import Instance
from moto.ec2.models.nat_gateways import NatGatewayBackend
from moto.ec2.models.route_tables import RouteBackend
from moto.ec2.models.security_groups import SecurityGroupBackend, SecurityGroupRule
from moto.ec2.models.subnets import SubnetBackend
from moto.ec2.models.vpcs import VPCBackend
from moto.ec2.models.vpc_peering_connections import VPCPeeringConnection
from moto.ec2.responses.nat_gateways import NatGateways
from moto.ec2.responses.route_tables import RouteTables
from moto.ec2.responses.vpc_peering_connections import VPCPeeringConnections
from moto.ec2.responses.vpcs import VPCs
from moto.ec2.utils import simple_aws_filter_to_re

_original_add_source_group = SecurityGroupBackend._add_source_group
_original_peering_init = VPCPeeringConnection.__init__
# AWS: "a VPC peering connection request expires after 7 days" unless accepted.
PEERING_REQUEST_LIFETIME = timedelta(days=7)
PENDING = "pending-acceptance"


def _add_source_group(self, source_groups, vpc_id):
    own, foreign = [], []
    for item in source_groups or []:
        owner = item.get("UserId") or item.get("OwnerId")
        (foreign if owner and owner != self.account_id else own).append(item)
    for item in foreign:
        owner = item.get("UserId") or item.get("OwnerId")
        peer = ec2_backends[owner][self.region_name]
        group = peer.get_security_group_by_name_or_id(item.get("GroupId"), None)
        if group is None or not _peered(self, vpc_id, owner, group.vpc_id):
            # AWS answers the same when the group exists but no active peering joins the VPCs.
            raise InvalidSecurityGroupNotFoundError(item.get("GroupId"))
        item.setdefault("OwnerId", owner)
        item.setdefault("UserId", owner)
    return _original_add_source_group(self, own, vpc_id) + foreign


def _peered(backend, vpc_id, peer_account: str, peer_vpc_id: str) -> bool:
    for connection in backend.vpc_pcxs.values():
        ends = {(connection.vpc.owner_id, connection.vpc.id), (connection.peer_vpc.owner_id, connection.peer_vpc.id)}
        # moto passes no VPC id for rules added by group id: any VPC of the caller's account will do.
        ours = any(owner == backend.account_id and vpc_id in (None, v) for owner, v in ends)
        if connection._status.code == "active" and (peer_account, peer_vpc_id) in ends and ours:
            return True
    return False


def _description(self):
    return self.ip_range.get("Description") or self.source_group.get("Description")


def _referenced(rule) -> dict:
    return {k: v for k, v in (rule.source_group or {}).items() if k != "Description"}


def _same_rule(self, other) -> bool:
    """Rules are the same whatever their descriptions: AWS refuses such a duplicate, and revokes a
    described rule by its protocol, ports and source alone (moto compares the descriptions of rules
    that reference a group)."""
    if not isinstance(other, SecurityGroupRule):
        return NotImplemented
    if self.ip_protocol != other.ip_protocol or _referenced(self) != _referenced(other):
        return False
    for key in ("CidrIp", "CidrIpv6"):
        if key in self.ip_range and self.ip_range.get(key) != other.ip_range.get(key):
            return False
    if self.prefix_list_id != other.prefix_list_id:
        return False
    return self.ip_protocol == "-1" or (self.from_port, self.to_port) == (other.from_port, other.to_port)


# --- DescribeVpcPeeringConnections filters -----------------------------------------------------

def _peering_init(self, *args, **kwargs):
    _original_peering_init(self, *args, **kwargs)
    self.requested_at = datetime.now(timezone.utc)


def _expiration_time(self) -> datetime | None:
    """When an unaccepted request expires; AWS reports it only while the request is pending."""
    if self._status.code != PENDING or not hasattr(self, "requested_at"):
        return None
    return self.requested_at + PEERING_REQUEST_LIFETIME


def _timestamp(value: datetime | None) -> str | None:
    return None if value is None else value.strftime("%Y-%m-%dT%H:%M:%S.000Z")


# Filter name -> the values a connection has for it (a connection may have several, e.g. tag keys).
PEERING_FILTERS = {
    "accepter-vpc-info.cidr-block": lambda c: [c.peer_vpc.cidr_block],
    "accepter-vpc-info.owner-id": lambda c: [c.peer_vpc.owner_id],
    "accepter-vpc-info.vpc-id": lambda c: [c.peer_vpc.id],
    "expiration-time": lambda c: [_timestamp(c.expiration_time)],
    "requester-vpc-info.cidr-block": lambda c: [c.vpc.cidr_block],
    "requester-vpc-info.owner-id": lambda c: [c.vpc.owner_id],
    "requester-vpc-info.vpc-id": lambda c: [c.vpc.id],
    "status-code": lambda c: [c._status.code],
    "status-message": lambda c: [c._status.message],
    "tag-key": lambda c: [t["key"] for t in c.get_tags()],
    "tag-value": lambda c: [t["value"] for t in c.get_tags()],
    "vpc-peering-connection-id": lambda c: [c.id],
}


def _values_for(connection, name: str) -> list[str]:
    if name.startswith("tag:"):
        return [t["value"] for t in connection.get_tags() if t["key"] == name[len("tag:"):]]
    return [v for v in PEERING_FILTERS[name](connection) if v is not None]


def _matches(connection, filters: dict[str, list[str]]) -> bool:
    for name, wanted in filters.items():
        patterns = [re.compile(simple_aws_filter_to_re(value)) for value in wanted]
        if not any(p.match(value) for p in patterns for value in _values_for(connection, name)):
            return False
    return True


def describe_vpc_peering_connections(self) -> ActionResult:
    filters = self._filters_from_querystring()
    for name in filters:
        if not (name in PEERING_FILTERS or (name.startswith("tag:") and len(name) > len("tag:"))):
            raise InvalidFilter(name, error_type="InvalidParameterValue")
    ids = self._get_param("VpcPeeringConnectionIds", [])
    connections = self.ec2_backend.describe_vpc_peering_connections(vpc_peering_ids=ids)
    return ActionResult({"VpcPeeringConnections": [c for c in connections if _matches(c, filters)]})


# --- DependencyViolation: deletes AWS refuses while something depends --------------------------

_original_delete_subnet = SubnetBackend.delete_subnet
_original_delete_security_group = SecurityGroupBackend.delete_security_group
_original_delete_vpc = VPCBackend.delete_vpc
_original_delete_nat_gateway = NatGatewayBackend.delete_nat_gateway
_original_prep_nics = Instance.prep_nics
_original_eni_delete = NetworkInterface.delete


def delete_subnet(self, subnet_id: str):
    if any(eni.subnet is not None and eni.subnet.id == subnet_id for eni in list(self.enis.values())):
        raise DependencyViolationError(f"The subnet '{subnet_id}' has dependencies and cannot be deleted.")
    return _original_delete_subnet(self, subnet_id)


def group_dependents(backend, group) -> list[str]:
    """What keeps a security group from being deleted: network interfaces that use it, and rules
    of other groups of its VPC that reference it."""
    found = [eni.id for eni in list(backend.enis.values()) if group.id in {g.id for g in eni.group_set}]
    for other in list(backend.groups.get(group.vpc_id, {}).values()):
        if other.id == group.id:
            continue  # a group's rules that reference the group itself do not block
        for rule in [*other.ingress_rules, *other.egress_rules]:
            source = rule.source_group or {}
            owner = source.get("UserId") or source.get("OwnerId") or backend.account_id
            if source.get("GroupId") == group.id and owner == backend.account_id:
                found.append(rule.id)
    return found


def delete_security_group(self, name: str | None = None, group_id: str | None = None) -> None:
    group = self.get_security_group_from_id(group_id) if group_id else (
        self.get_security_group_by_name_or_id(name) if name else None)
    if group is not None and group_dependents(self, group):
        raise DependencyViolationError(f"resource {group.id} has a dependent object")
    return _original_delete_security_group(self, name=name, group_id=group_id)


def vpc_dependents(backend, vpc_id: str) -> list[str]:
    subnets = [s.id for subnets in backend.subnets.values() for s in subnets.values() if s.vpc_id == vpc_id]
    groups = [g.id for g in backend.groups.get(vpc_id, {}).values() if not g.is_default]
    enis = [e.id for e in backend.enis.values() if e.subnet is not None and e.subnet.vpc_id == vpc_id]
    gateways = [g.id for g in backend.internet_gateways.values() if g.vpc is not None and g.vpc.id == vpc_id]
    gateways += [g.id for g in backend.egress_only_internet_gateways.values() if g.vpc_id == vpc_id]
    return subnets + groups + enis + gateways


def delete_vpc(self, vpc_id: str):
    self.get_vpc(vpc_id)  # InvalidVpcID.NotFound first, as AWS answers
    if vpc_dependents(self, vpc_id):
        raise DependencyViolationError(f"The vpc '{vpc_id}' has dependencies and cannot be deleted.")
    return _original_delete_vpc(self, vpc_id)


def delete_nat_gateway(self, nat_gateway_id: str):
    gateway = _original_delete_nat_gateway(self, nat_gateway_id)
    eni = getattr(gateway, "_eni", None)
    if eni is not None and eni.id in self.enis:
        for address in list(self.addresses):
            if address.eni is eni:
                self.disassociate_address(address=address.public_ip)
        eni.delete()
    return gateway


def prep_nics(self, nic_spec, *args, **kwargs) -> None:
    """The interfaces RunInstances creates are deleted with the instance unless it says otherwise."""
    existing = {nic.get("NetworkInterfaceId") for nic in nic_spec or [] if nic.get("NetworkInterfaceId")}
    _original_prep_nics(self, nic_spec, *args, **kwargs)
    for index, eni in self.nics.items():
        if eni.id in existing:
            continue
        spec = next((n for n in nic_spec or [] if str(n.get("DeviceIndex")) == str(index)), {})
        flag = spec.get("DeleteOnTermination")
        eni.delete_on_termination = True if flag is None else str(flag).lower() == "true"


def eni_delete(self) -> None:
    """Deleting an interface already gone (an instance terminated twice) is a no-op."""
    if self.id in self.ec2_backend.enis:
        _original_eni_delete(self)


class IdempotentParameterMismatch(EC2ClientError):
    def __init__(self, token: str):
        super().__init__("IdempotentParameterMismatch",
                         f"The client token '{token}' was already used in a request with different parameters.")


# (account, region, action, token) -> (the request's parameters, its result)
_TOKENS: dict[tuple[str, str, str, str], tuple[dict, ActionResult]] = {}


def _idempotent(action: str, create):
    def create_once(self) -> ActionResult:
        token = self._get_param("ClientToken")
        if not token:
            return create(self)
        key = (self.current_account, self.region, action, token)
        parameters = {k: v for k, v in self.querystring.items() if k not in ("ClientToken", "Version")}
        if key in _TOKENS:
            first, result = _TOKENS[key]
            if first != parameters:
                raise IdempotentParameterMismatch(token)
            return result
        result = create(self)
        _TOKENS[key] = (parameters, result)
        return result

    return create_once


# --- Resource.AlreadyAssociated: one route table per subnet or gateway ------------------------

_original_associate_route_table = RouteBackend.associate_route_table


class RouteTableAssociationConflict(EC2ClientError):
    def __init__(self, route_table_id: str):
        super().__init__("Resource.AlreadyAssociated", f"the specified association for route table {route_table_id} "
                                                       "conflicts with an existing association")


def associate_route_table(self, route_table_id: str, gateway_id: str | None = None,
                          subnet_id: str | None = None) -> str:
    self.get_route_table(route_table_id)  # InvalidRouteTableID.NotFound first
    target = subnet_id or gateway_id
    if any(target in table._associations.values() for table in list(self.route_tables.values())):
        raise RouteTableAssociationConflict(route_table_id)
    return _original_associate_route_table(self, route_table_id, gateway_id=gateway_id, subnet_id=subnet_id)


# --- deleting an endpoint twice ----------------------------------------------------------------

def delete_vpc_endpoints(self) -> ActionResult:
    unsuccessful, deletable = [], []
    for endpoint_id in self._get_param("VpcEndpointIds", []):
        endpoint = self.ec2_backend.vpc_end_points.get(endpoint_id)
        if endpoint is None or endpoint.state == "deleted":
            unsuccessful.append({"Error": {"Code": "InvalidVpcEndpoint.NotFound",
                                           "Message": f"The VpcEndpoint Id '{endpoint_id}' does not exist"},
                                 "ResourceId": endpoint_id})
        else:
            deletable.append(endpoint_id)
    self.ec2_backend.delete_vpc_endpoints(vpce_ids=deletable)
    return ActionResult({"Unsuccessful": unsuccessful})


# --- revoking rules by id -------------------------------------------------------------------------

class SecurityGroupRuleIdNotFound(EC2ClientError):
    def __init__(self, rule_id: str):
        super().__init__("InvalidSecurityGroupRuleId.NotFound", f"The security group rule ID '{rule_id}' does not exist")


def _revoke_by_id(original, direction: str):
    def revoke(self, group_name_or_id, *args, security_rule_ids=None, vpc_id=None, **kwargs):
        if security_rule_ids:
            group = self.get_security_group_by_name_or_id(group_name_or_id, vpc_id)
            if group is not None:
                held = {rule.id for rule in getattr(group, f"{direction}_rules")}
                for rule_id in security_rule_ids:
                    if rule_id not in held:
                        raise SecurityGroupRuleIdNotFound(rule_id)
        return original(self, group_name_or_id, *args, security_rule_ids=security_rule_ids, vpc_id=vpc_id, **kwargs)

    return revoke


def install() -> None:
    SecurityGroupBackend.revoke_security_group_ingress = _revoke_by_id(SecurityGroupBackend.revoke_security_group_ingress, "ingress")
    SecurityGroupBackend.revoke_security_group_egress = _revoke_by_id(SecurityGroupBackend.revoke_security_group_egress, "egress")
    RouteBackend.associate_route_table = associate_route_table
    VPCs.create_vpc_endpoint = _idempotent("CreateVpcEndpoint", VPCs.create_vpc_endpoint)
    VPCs.delete_vpc_endpoints = delete_vpc_endpoints
    NatGateways.create_nat_gateway = _idempotent("CreateNatGateway", NatGateways.create_nat_gateway)
    RouteTables.create_route_table = _idempotent("CreateRouteTable", RouteTables.create_route_table)
    SubnetBackend.delete_subnet = delete_subnet
    SecurityGroupBackend.delete_security_group = delete_security_group
    VPCBackend.delete_vpc = delete_vpc
    NatGatewayBackend.delete_nat_gateway = delete_nat_gateway
    Instance.prep_nics = prep_nics
    NetworkInterface.delete = eni_delete
    SecurityGroupBackend._add_source_group = _add_source_group
    SecurityGroupRule.description = property(_description)
    SecurityGroupRule.__eq__ = _same_rule
    VPCPeeringConnection.__init__ = _peering_init
    VPCPeeringConnection.expiration_time = property(_expiration_time)
    VPCPeeringConnections.describe_vpc_peering_connections = describe_vpc_peering_connections
