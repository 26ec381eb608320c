"""The path analysis on its own, on EC2 data shaped as DescribeSubnets, DescribeRouteTables,
DescribeNetworkAcls, DescribeSecurityGroups and DescribeVpcPeeringConnections return it: a good
path passes every hop both ways, and each kind of break is named at the hop that causes it."""

from __future__ import annotations

import copy

import pytest

from orchestration.aws.reachability import Endpoint, analyze

STUDIO, EMR = "111111111111", "222222222222"
PCX = "pcx-0a1b2c3d"


def acl(acl_id: str, *extra: dict) -> dict:
    """A VPC's default network ACL: rule 100 allows everything each way; * denies the rest."""
    entries = [
        {"RuleNumber": 100, "Protocol": "-1", "RuleAction": "allow", "Egress": egress, "CidrBlock": "0.0.0.0/0"}
        for egress in (False, True)
    ] + [
        {"RuleNumber": 32767, "Protocol": "-1", "RuleAction": "deny", "Egress": egress, "CidrBlock": "0.0.0.0/0"}
        for egress in (False, True)
    ]
    return {"NetworkAclId": acl_id, "Entries": list(extra) + entries}


def studio_end() -> Endpoint:
    return Endpoint(
        account_id=STUDIO,
        ip="10.0.20.4",
        subnet={"SubnetId": "subnet-studio", "VpcId": "vpc-studio", "CidrBlock": "10.0.20.0/24"},
        security_group_ids=("sg-studio",),
        route_table={"RouteTableId": "rtb-studio", "Routes": [
            {"DestinationCidrBlock": "10.0.0.0/16", "GatewayId": "local", "State": "active"},
            {"DestinationCidrBlock": "0.0.0.0/0", "NatGatewayId": "nat-1", "State": "active"},
            {"DestinationCidrBlock": "2.0.0.0/16", "VpcPeeringConnectionId": PCX, "State": "active"},
        ]},
        network_acl=acl("acl-studio"),
        security_groups={"sg-studio": {"GroupId": "sg-studio", "IpPermissions": [], "IpPermissionsEgress": [
            {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}], "UserIdGroupPairs": []}]}},
    )


def emr_end() -> Endpoint:
    return Endpoint(
        account_id=EMR,
        ip="2.0.1.10",
        subnet={"SubnetId": "subnet-emr", "VpcId": "vpc-emr", "CidrBlock": "2.0.1.0/24"},
        security_group_ids=("sg-managed", "sg-primary"),
        route_table={"RouteTableId": "rtb-emr", "Routes": [
            {"DestinationCidrBlock": "2.0.0.0/16", "GatewayId": "local", "State": "active"},
            {"DestinationCidrBlock": "10.0.0.0/16", "VpcPeeringConnectionId": PCX, "State": "active"},
        ]},
        network_acl=acl("acl-emr"),
        security_groups={
            "sg-managed": {"GroupId": "sg-managed", "IpPermissions": [], "IpPermissionsEgress": []},
            "sg-primary": {"GroupId": "sg-primary", "IpPermissionsEgress": [], "IpPermissions": [
                {"IpProtocol": "tcp", "FromPort": 8998, "ToPort": 8998, "IpRanges": [],
                 "UserIdGroupPairs": [{"GroupId": "sg-studio", "UserId": STUDIO}]}]},
        },
    )


def peerings(state: str = "active") -> dict:
    return {PCX: {"VpcPeeringConnectionId": PCX, "Status": {"Code": state, "Message": state.capitalize()},
                  "RequesterVpcInfo": {"VpcId": "vpc-studio", "OwnerId": STUDIO},
                  "AccepterVpcInfo": {"VpcId": "vpc-emr", "OwnerId": EMR}}}


def test_a_configured_path_is_reachable_both_ways():
    result = analyze(studio_end(), emr_end(), 8998, peerings())
    assert result.ok, result.explain()
    assert [h.name for h in result.hops] == [
        "Studio security group (egress)", "Studio subnet network ACL (outbound)", "Studio subnet route table",
        "VPC peering connection", "EMR subnet network ACL (inbound)", "EMR primary node security groups (ingress)",
        "EMR subnet route table (reply)", "EMR subnet network ACL (reply, outbound)",
        "Studio subnet network ACL (reply, inbound)",
    ]
    assert "reachable, and replies return" in result.explain()


def test_a_port_the_emr_group_does_not_admit_is_blocked_at_its_ingress():
    result = analyze(studio_end(), emr_end(), 10000, peerings())
    assert result.blocked_at.name == "EMR primary node security groups (ingress)"
    assert "none of sg-managed, sg-primary admits TCP 10000 from sg-studio" in result.explain()


def test_an_ingress_rule_for_the_same_group_id_in_another_account_does_not_admit_studio():
    emr = emr_end()
    emr.security_groups["sg-primary"]["IpPermissions"][0]["UserIdGroupPairs"][0]["UserId"] = "333333333333"
    assert analyze(studio_end(), emr, 8998, peerings()).blocked_at.name == "EMR primary node security groups (ingress)"


def test_a_missing_route_on_the_studio_side_is_named():
    studio = studio_end()
    studio.route_table["Routes"].pop()  # the route to the EMR CIDR through the peering
    result = analyze(studio, emr_end(), 8998, peerings())
    # 0.0.0.0/0 still matches: the most specific route sends the traffic to the NAT, not the peering.
    assert result.blocked_at.name == "Studio subnet route table"
    assert "rtb-studio sends 2.0.1.10 to nat-1" in result.explain()


def test_a_missing_route_back_on_the_emr_side_is_named():
    emr = emr_end()
    emr.route_table["Routes"].pop()
    result = analyze(studio_end(), emr, 8998, peerings())
    assert result.blocked_at.name == "EMR subnet route table (reply)"
    assert "rtb-emr has no route to 10.0.20.4" in result.explain()


@pytest.mark.parametrize("state", ["rejected", "pending-acceptance", "deleted"])
def test_a_peering_that_is_not_active_is_named_with_its_state(state):
    result = analyze(studio_end(), emr_end(), 8998, peerings(state))
    assert result.blocked_at.name == "VPC peering connection"
    assert f"{PCX} is {state}" in result.explain()


def test_a_route_to_a_peering_that_no_longer_exists_is_named():
    result = analyze(studio_end(), emr_end(), 8998, {})
    assert result.blocked_at.name == "VPC peering connection"
    assert "no longer exists" in result.explain()


def test_network_acls_are_checked_in_rule_order_and_for_replies():
    emr = emr_end()
    deny_replies = {"RuleNumber": 50, "Protocol": "6", "RuleAction": "deny", "Egress": True,
                    "CidrBlock": "10.0.0.0/16", "PortRange": {"From": 1024, "To": 65535}}
    emr = Endpoint(**{**emr.__dict__, "network_acl": acl("acl-emr", deny_replies)})
    result = analyze(studio_end(), emr, 8998, peerings())
    assert result.blocked_at.name == "EMR subnet network ACL (reply, outbound)"
    assert "acl-emr rule 50 denies TCP 1024-65535 to 10.0.20.4" in result.explain()
    # A lower-numbered allow wins over the deny.
    allow_first = copy.deepcopy(deny_replies) | {"RuleNumber": 40, "RuleAction": "allow"}
    emr = Endpoint(**{**emr.__dict__, "network_acl": acl("acl-emr", allow_first, deny_replies)})
    assert analyze(studio_end(), emr, 8998, peerings()).ok


def test_studio_egress_restricted_to_other_ports_is_blocked_at_the_studio_group():
    studio = studio_end()
    studio.security_groups["sg-studio"]["IpPermissionsEgress"] = [
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "0.0.0.0/0"}], "UserIdGroupPairs": []}]
    assert analyze(studio, emr_end(), 8998, peerings()).blocked_at.name == "Studio security group (egress)"


def test_single_account_layout_uses_the_local_route_and_no_peering():
    studio = studio_end()
    emr = Endpoint(**{**emr_end().__dict__, "account_id": STUDIO, "ip": "10.0.21.9",
                      "subnet": {"SubnetId": "subnet-b", "VpcId": "vpc-studio", "CidrBlock": "10.0.21.0/24"},
                      "route_table": studio.route_table})
    emr.security_groups["sg-primary"]["IpPermissions"][0]["UserIdGroupPairs"][0].pop("UserId")
    result = analyze(studio, emr, 8998, {})
    assert result.ok, result.explain()
    assert "VPC peering connection" not in [h.name for h in result.hops]
