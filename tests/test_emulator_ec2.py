"""The emulator's EC2 answers DescribeVpcPeeringConnections as AWS does (emulator/extensions/ec2.py):
the documented filters apply, values of a filter are alternatives, filters all apply, wildcards
work, an unknown filter is refused, and a pending request reports when it expires. Creates are
idempotent by client token, a subnet or gateway is associated with one route table at most, and an
endpoint deleted twice is answered as AWS answers it."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import botocore.exceptions
import pytest

from tests.emulator_support import account_session, emulator  # noqa: F401 - the fixture

pytestmark = pytest.mark.emulator

STUDIO, EMR_A, EMR_B = "111111111111", "222222222222", "333333333333"


@pytest.fixture(scope="module")
def hub(emulator):  # noqa: F811 - the fixture imported above
    """A Studio VPC peered with two EMR accounts' VPCs: the first accepted, the second pending."""
    studio = account_session(emulator, STUDIO).client("ec2", endpoint_url=emulator.url)
    emr = {account: account_session(emulator, account).client("ec2", endpoint_url=emulator.url) for account in (EMR_A, EMR_B)}
    studio_vpc = studio.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    vpcs = {EMR_A: emr[EMR_A].create_vpc(CidrBlock="2.0.0.0/16")["Vpc"]["VpcId"],
            EMR_B: emr[EMR_B].create_vpc(CidrBlock="3.0.0.0/16")["Vpc"]["VpcId"]}
    pcx = {}
    for account, vpc in vpcs.items():
        tags = [{"Key": "Name", "Value": f"studio-emr-hub-to-{account}"}, {"Key": "stack", "Value": "studio-account-peering"}]
        if account == EMR_B:
            tags.append({"Key": "spoke", "Value": "analytics"})
        pcx[account] = studio.create_vpc_peering_connection(
            VpcId=studio_vpc, PeerVpcId=vpc, PeerOwnerId=account,
            TagSpecifications=[{"ResourceType": "vpc-peering-connection", "Tags": tags}],
        )["VpcPeeringConnection"]["VpcPeeringConnectionId"]
    emr[EMR_A].accept_vpc_peering_connection(VpcPeeringConnectionId=pcx[EMR_A])
    return {"studio": studio, "emr": emr, "studio_vpc": studio_vpc, "vpcs": vpcs, "pcx": pcx}


def found(client, *filters: tuple[str, list[str]]) -> set[str]:
    response = client.describe_vpc_peering_connections(Filters=[{"Name": n, "Values": v} for n, v in filters])
    return {c["VpcPeeringConnectionId"] for c in response["VpcPeeringConnections"]}


def test_without_filters_every_connection_of_the_account_is_described(hub):
    assert found(hub["studio"]) == set(hub["pcx"].values())


def test_a_tag_filter_finds_only_the_connection_with_that_tag(hub):
    pcx = hub["pcx"]
    assert found(hub["studio"], ("tag:Name", [f"studio-emr-hub-to-{EMR_B}"])) == {pcx[EMR_B]}
    assert found(hub["studio"], ("tag:Name", ["no-such-peering"])) == set()
    assert found(hub["studio"], ("tag-key", ["spoke"])) == {pcx[EMR_B]}
    assert found(hub["studio"], ("tag:stack", ["studio-account-peering"])) == set(pcx.values())


def test_filters_on_the_accepter_and_requester_sides(hub):
    pcx, vpcs = hub["pcx"], hub["vpcs"]
    assert found(hub["studio"], ("accepter-vpc-info.owner-id", [EMR_A])) == {pcx[EMR_A]}
    assert found(hub["studio"], ("accepter-vpc-info.vpc-id", [vpcs[EMR_B]])) == {pcx[EMR_B]}
    assert found(hub["studio"], ("accepter-vpc-info.cidr-block", ["3.0.0.0/16"])) == {pcx[EMR_B]}
    assert found(hub["studio"], ("requester-vpc-info.vpc-id", [hub["studio_vpc"]])) == set(pcx.values())
    assert found(hub["studio"], ("requester-vpc-info.owner-id", [EMR_A])) == set()
    assert found(hub["studio"], ("requester-vpc-info.cidr-block", ["10.0.0.0/16"])) == set(pcx.values())
    assert found(hub["studio"], ("vpc-peering-connection-id", [pcx[EMR_A]])) == {pcx[EMR_A]}


def test_status_filters(hub):
    pcx = hub["pcx"]
    assert found(hub["studio"], ("status-code", ["active"])) == {pcx[EMR_A]}
    assert found(hub["studio"], ("status-code", ["pending-acceptance"])) == {pcx[EMR_B]}
    assert found(hub["studio"], ("status-message", ["Active"])) == {pcx[EMR_A]}


def test_values_are_alternatives_filters_all_apply_and_wildcards_match(hub):
    pcx = hub["pcx"]
    assert found(hub["studio"], ("accepter-vpc-info.owner-id", [EMR_A, EMR_B])) == set(pcx.values())
    assert found(hub["studio"], ("tag:Name", ["studio-emr-hub-to-*"]), ("status-code", ["active"])) == {pcx[EMR_A]}
    assert found(hub["studio"], ("tag:Name", [f"studio-emr-hub-to-{EMR_A}"]), ("accepter-vpc-info.owner-id", [EMR_B])) == set()
    assert found(hub["studio"], ("tag:Name", ["studio-emr-hub-to-33333333333?"])) == {pcx[EMR_B]}
    # Values are case-sensitive, as on AWS.
    assert found(hub["studio"], ("tag:Name", [f"STUDIO-EMR-HUB-TO-{EMR_A}"])) == set()


def test_the_accepter_account_filters_the_connections_it_sees(hub):
    emr_b = hub["emr"][EMR_B]
    assert found(emr_b, ("status-code", ["pending-acceptance"]), ("accepter-vpc-info.owner-id", [EMR_B])) == {hub["pcx"][EMR_B]}
    assert found(emr_b, ("accepter-vpc-info.owner-id", [EMR_A])) == set()


def test_a_pending_request_expires_seven_days_after_it_was_made(hub):
    connections = {c["VpcPeeringConnectionId"]: c for c in
                   hub["studio"].describe_vpc_peering_connections()["VpcPeeringConnections"]}
    pending = connections[hub["pcx"][EMR_B]]
    left = pending["ExpirationTime"] - datetime.now(timezone.utc)
    assert timedelta(days=6, hours=23) < left <= timedelta(days=7)
    assert "ExpirationTime" not in connections[hub["pcx"][EMR_A]], "an accepted connection does not expire"
    day = pending["ExpirationTime"].strftime("%Y-%m-%d")
    assert found(hub["studio"], ("expiration-time", [f"{day}T*"])) == {hub["pcx"][EMR_B]}


@pytest.mark.parametrize("name", ["Name", "tag:", "vpc-id", "accepter-vpc-info.region", "status"])
def test_an_unknown_filter_is_refused_as_aws_refuses_it(hub, name):
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        hub["studio"].describe_vpc_peering_connections(Filters=[{"Name": name, "Values": ["x"]}])
    error = caught.value.response["Error"]
    assert (error["Code"], error["Message"]) == ("InvalidParameterValue", f"The filter '{name}' is invalid")


def test_a_create_repeated_with_its_client_token_answers_the_first_resource_and_makes_no_second(emulator):  # noqa: F811
    """EC2's idempotency ("Ensuring idempotency"): a retried create with the same ClientToken and
    parameters succeeds without doing anything more; other parameters with it are refused."""
    ec2 = account_session(emulator, EMR_B).client("ec2", endpoint_url=emulator.url)
    vpc = ec2.create_vpc(CidrBlock="4.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="4.0.0.0/24")["Subnet"]["SubnetId"]
    allocation = ec2.allocate_address(Domain="vpc")["AllocationId"]
    creates = {
        "endpoint": (lambda **extra: ec2.create_vpc_endpoint(VpcId=vpc, ServiceName="com.amazonaws.us-east-1.s3",
                                                             VpcEndpointType="Gateway", **extra)["VpcEndpoint"]["VpcEndpointId"],
                     lambda: [e["VpcEndpointId"] for e in ec2.describe_vpc_endpoints(
                         Filters=[{"Name": "vpc-id", "Values": [vpc]}])["VpcEndpoints"]]),
        "nat": (lambda **extra: ec2.create_nat_gateway(SubnetId=subnet, AllocationId=allocation, **extra)["NatGateway"]["NatGatewayId"],
                lambda: [n["NatGatewayId"] for n in ec2.describe_nat_gateways(
                    Filters=[{"Name": "vpc-id", "Values": [vpc]}])["NatGateways"]]),
        "table": (lambda **extra: ec2.create_route_table(VpcId=vpc, **extra)["RouteTable"]["RouteTableId"],
                  lambda: [t["RouteTableId"] for t in ec2.describe_route_tables(
                      Filters=[{"Name": "vpc-id", "Values": [vpc]}])["RouteTables"] if not any(
                      a.get("Main") for a in t.get("Associations", []))]),
    }
    for what, (create, listed) in creates.items():
        first = create(ClientToken=f"token-{what}")
        assert create(ClientToken=f"token-{what}") == first, what
        assert listed() == [first], what
        if what != "nat":  # (a second gateway would need a second address)
            # Without a token, every call creates.
            assert create() != first, what
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        ec2.create_vpc_endpoint(VpcId=vpc, ServiceName="com.amazonaws.us-east-1.dynamodb", VpcEndpointType="Gateway",
                                ClientToken="token-endpoint")
    assert refused.value.response["Error"]["Code"] == "IdempotentParameterMismatch"


def test_a_second_association_of_a_subnet_or_gateway_with_a_route_table_is_refused(emulator):  # noqa: F811
    """AssociateRouteTable for a subnet or gateway that has an association, to another table or to the
    same one, answers Resource.AlreadyAssociated and changes nothing; ReplaceRouteTableAssociation
    moves it."""
    ec2 = account_session(emulator, EMR_B).client("ec2", endpoint_url=emulator.url)
    vpc = ec2.create_vpc(CidrBlock="5.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="5.0.0.0/24")["Subnet"]["SubnetId"]
    gateway = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=gateway, VpcId=vpc)
    first, other = (ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"] for _ in range(2))

    def associations() -> dict[str, str]:
        tables = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["RouteTables"]
        return {a.get("SubnetId") or a["GatewayId"]: a["RouteTableId"]
                for t in tables for a in t["Associations"] if not a["Main"]}

    association = ec2.associate_route_table(RouteTableId=first, SubnetId=subnet)["AssociationId"]
    ec2.associate_route_table(RouteTableId=first, GatewayId=gateway)
    for target in ({"SubnetId": subnet}, {"GatewayId": gateway}):
        for table in (other, first):
            with pytest.raises(botocore.exceptions.ClientError) as refused:
                ec2.associate_route_table(RouteTableId=table, **target)
            error = refused.value.response["Error"]
            assert (error["Code"], error["Message"]) == (
                "Resource.AlreadyAssociated",
                f"the specified association for route table {table} conflicts with an existing association"), target
    assert associations() == {subnet: first, gateway: first}
    ec2.replace_route_table_association(AssociationId=association, RouteTableId=other)
    assert associations() == {subnet: other, gateway: first}


def test_a_rule_revoked_by_id_that_the_group_does_not_hold_is_answered_as_aws_answers_it(emulator):  # noqa: F811
    """RevokeSecurityGroupEgress/Ingress by SecurityGroupRuleIds: an id the group does not hold in that
    direction revokes nothing (not even the ids beside it) and answers InvalidSecurityGroupRuleId.NotFound,
    which the AWS provider takes as "already deleted"; rules named by protocol, ports and source that
    match nothing still answer InvalidPermission.NotFound in a VPC that is not the default one."""
    ec2 = account_session(emulator, EMR_B).client("ec2", endpoint_url=emulator.url)
    vpc = ec2.create_vpc(CidrBlock="5.0.0.0/16")["Vpc"]["VpcId"]
    group = ec2.create_security_group(GroupName="revoke-by-id", Description="rules", VpcId=vpc)["GroupId"]
    everywhere = [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]
    ec2.revoke_security_group_egress(GroupId=group, IpPermissions=everywhere)  # EC2's default rule, as the provider does
    egress = ec2.authorize_security_group_egress(GroupId=group, IpPermissions=everywhere)["SecurityGroupRules"][0]["SecurityGroupRuleId"]
    ingress = ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 8998, "ToPort": 8998, "IpRanges": [{"CidrIp": "10.0.0.0/16"}]}])["SecurityGroupRules"][0]["SecurityGroupRuleId"]

    def code(call, **kwargs) -> str:
        with pytest.raises(botocore.exceptions.ClientError) as refused:
            call(GroupId=group, **kwargs)
        return refused.value.response["Error"]["Code"]

    def held() -> set[str]:
        return {r["SecurityGroupRuleId"] for r in ec2.describe_security_group_rules(
            Filters=[{"Name": "group-id", "Values": [group]}])["SecurityGroupRules"]}

    # An ingress rule's id is not an egress rule of the group, and one unknown id revokes none beside it.
    assert code(ec2.revoke_security_group_egress, SecurityGroupRuleIds=[egress, ingress]) == "InvalidSecurityGroupRuleId.NotFound"
    assert held() == {egress, ingress}
    ec2.revoke_security_group_egress(GroupId=group, SecurityGroupRuleIds=[egress])
    # The same revoke again (a retry whose first answer was lost, or a rule already gone).
    assert code(ec2.revoke_security_group_egress, SecurityGroupRuleIds=[egress]) == "InvalidSecurityGroupRuleId.NotFound"
    ec2.revoke_security_group_ingress(GroupId=group, SecurityGroupRuleIds=[ingress])
    assert code(ec2.revoke_security_group_ingress, SecurityGroupRuleIds=[ingress]) == "InvalidSecurityGroupRuleId.NotFound"
    assert held() == set()
    assert code(ec2.revoke_security_group_egress, IpPermissions=everywhere) == "InvalidPermission.NotFound"


def test_a_gateway_endpoint_deleted_twice_is_answered_as_aws_answers_it(emulator):  # noqa: F811
    """DeleteVpcEndpoints removes a gateway endpoint's routes once. Asked again (a delete repeated
    after its answer was lost), or asked for an endpoint that never was, it answers an unsuccessful
    item InvalidVpcEndpoint.NotFound, which the AWS provider takes as deleted; moto 5.2.5 failed the
    repeat with InvalidRoute.NotFound. An endpoint beside it in the same call is still deleted."""
    ec2 = account_session(emulator, EMR_B).client("ec2", endpoint_url=emulator.url)
    vpc = ec2.create_vpc(CidrBlock="6.0.0.0/16")["Vpc"]["VpcId"]
    table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]

    def gateway_endpoint(service: str) -> str:
        return ec2.create_vpc_endpoint(VpcId=vpc, ServiceName=f"com.amazonaws.us-east-1.{service}", VpcEndpointType="Gateway",
                                       RouteTableIds=[table])["VpcEndpoint"]["VpcEndpointId"]

    def endpoint_routes() -> list[str]:
        routes = ec2.describe_route_tables(RouteTableIds=[table])["RouteTables"][0]["Routes"]
        return [r["GatewayId"] for r in routes if r.get("DestinationPrefixListId")]

    s3, dynamodb = gateway_endpoint("s3"), gateway_endpoint("dynamodb")
    assert sorted(endpoint_routes()) == sorted([s3, dynamodb])
    assert ec2.delete_vpc_endpoints(VpcEndpointIds=[s3])["Unsuccessful"] == []
    assert endpoint_routes() == [dynamodb]

    again = ec2.delete_vpc_endpoints(VpcEndpointIds=[s3, dynamodb, "vpce-0123456789abcdef0"])["Unsuccessful"]
    assert [(u["ResourceId"], u["Error"]["Code"]) for u in again] == [
        (s3, "InvalidVpcEndpoint.NotFound"), ("vpce-0123456789abcdef0", "InvalidVpcEndpoint.NotFound")]
    assert endpoint_routes() == []
    states = {e["VpcEndpointId"]: e["State"] for e in ec2.describe_vpc_endpoints(VpcEndpointIds=[s3, dynamodb])["VpcEndpoints"]}
    assert states == {s3: "deleted", dynamodb: "deleted"}
