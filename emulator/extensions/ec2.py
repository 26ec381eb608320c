"""EC2: security-group rules that reference a group in a peered account (``<account>/<sg-id>``),
and the description of rules that reference a group.

moto 5.2.5 looks a referenced group up in the caller's own account only, and reads a rule's
description from its CIDR range only, so a group-referencing rule loses its description and
Terraform plans a change forever.
"""

from __future__ import annotations

from moto.ec2.exceptions import InvalidSecurityGroupNotFoundError
from moto.ec2.models import ec2_backends
from moto.ec2.models.security_groups import SecurityGroupBackend, SecurityGroupRule

_original_add_source_group = SecurityGroupBackend._add_source_group


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


def install() -> None:
    SecurityGroupBackend._add_source_group = _add_source_group
    SecurityGroupRule.description = property(_description)
