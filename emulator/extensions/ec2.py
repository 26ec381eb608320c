"""EC2: security-group rules that reference a group in a peered account (``<account>/<sg-id>``),
the description of rules that reference a group, and the filters of DescribeVpcPeeringConnections.

moto 5.2.5 looks a referenced group up in the caller's own account only, and reads a rule's
description from its CIDR range only, so a group-referencing rule loses its description and
Terraform plans a change forever.

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
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from moto.core.responses import ActionResult
from moto.ec2.exceptions import InvalidFilter, InvalidSecurityGroupNotFoundError
from moto.ec2.models import ec2_backends
from moto.ec2.models.security_groups import SecurityGroupBackend, SecurityGroupRule
from moto.ec2.models.vpc_peering_connections import VPCPeeringConnection
from moto.ec2.responses.vpc_peering_connections import VPCPeeringConnections
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


def install() -> None:
    SecurityGroupBackend._add_source_group = _add_source_group
    SecurityGroupRule.description = property(_description)
    VPCPeeringConnection.__init__ = _peering_init
    VPCPeeringConnection.expiration_time = property(_expiration_time)
    VPCPeeringConnections.describe_vpc_peering_connections = describe_vpc_peering_connections
