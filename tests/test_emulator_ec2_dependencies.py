"""The emulator's EC2 refuses the deletes AWS refuses while something depends on the resource
(emulator/extensions/ec2.py): DependencyViolation with AWS's messages, and the delete succeeds
once the dependency is gone. Interfaces AWS deletes by itself (an instance's at termination, a
NAT gateway's) are gone here too, so they block nothing once their owner is."""

from __future__ import annotations

import itertools

import botocore.exceptions
import pytest

from tests.emulator_support import account_session, emulator  # noqa: F401 - the fixture

pytestmark = pytest.mark.emulator

ACCOUNT, PEER_ACCOUNT = "444444444444", "555555555555"
_octets = itertools.count(10)


@pytest.fixture(scope="module")
def ec2(emulator):  # noqa: F811 - the fixture imported above
    return account_session(emulator, ACCOUNT).client("ec2", endpoint_url=emulator.url)


@pytest.fixture
def vpc(ec2) -> dict:
    """A fresh VPC with one subnet and one security group, in its own CIDR."""
    octet = next(_octets)
    vpc_id = ec2.create_vpc(CidrBlock=f"10.{octet}.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc_id, CidrBlock=f"10.{octet}.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName=f"app-{octet}", Description="app", VpcId=vpc_id)["GroupId"]
    return {"vpc": vpc_id, "subnet": subnet, "group": group, "octet": octet}


def refused(call, **params) -> str:
    """The message of the DependencyViolation the call answers."""
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        call(**params)
    error = caught.value.response["Error"]
    assert error["Code"] == "DependencyViolation", error
    return error["Message"]


def reference(group_id: str, port: int = 443) -> list[dict]:
    return [{"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "UserIdGroupPairs": [{"GroupId": group_id}]}]


# --- DeleteSubnet ------------------------------------------------------------------------------


def test_a_subnet_with_a_network_interface_is_refused_until_the_interface_is_deleted(ec2, vpc):
    eni = ec2.create_network_interface(SubnetId=vpc["subnet"], Groups=[vpc["group"]])["NetworkInterface"]
    message = refused(ec2.delete_subnet, SubnetId=vpc["subnet"])
    assert message == f"The subnet '{vpc['subnet']}' has dependencies and cannot be deleted."
    ec2.delete_network_interface(NetworkInterfaceId=eni["NetworkInterfaceId"])
    ec2.delete_subnet(SubnetId=vpc["subnet"])
    assert vpc["subnet"] not in {s["SubnetId"] for s in ec2.describe_subnets()["Subnets"]}


def test_a_subnet_with_a_running_instance_is_refused_until_the_instance_terminates(ec2, vpc):
    instance = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1, InstanceType="t3.micro",
                                 SubnetId=vpc["subnet"], SecurityGroupIds=[vpc["group"]])["Instances"][0]
    attachment = instance["NetworkInterfaces"][0]["Attachment"]
    assert attachment["DeleteOnTermination"] is True  # RunInstances' own interface goes with the instance
    assert refused(ec2.delete_subnet, SubnetId=vpc["subnet"]).startswith(f"The subnet '{vpc['subnet']}'")
    ec2.terminate_instances(InstanceIds=[instance["InstanceId"]])
    left = ec2.describe_network_interfaces(Filters=[{"Name": "subnet-id", "Values": [vpc["subnet"]]}])
    assert left["NetworkInterfaces"] == []
    ec2.terminate_instances(InstanceIds=[instance["InstanceId"]])  # terminating again is harmless, as on AWS
    ec2.delete_subnet(SubnetId=vpc["subnet"])


def test_an_interface_launched_with_delete_on_termination_false_stays_and_blocks(ec2, vpc):
    instance = ec2.run_instances(
        ImageId="ami-12c6146b", MinCount=1, MaxCount=1, InstanceType="t3.micro",
        NetworkInterfaces=[{"DeviceIndex": 0, "SubnetId": vpc["subnet"], "Groups": [vpc["group"]],
                            "DeleteOnTermination": False}],
    )["Instances"][0]
    eni_id = instance["NetworkInterfaces"][0]["NetworkInterfaceId"]
    ec2.terminate_instances(InstanceIds=[instance["InstanceId"]])
    refused(ec2.delete_subnet, SubnetId=vpc["subnet"])
    ec2.delete_network_interface(NetworkInterfaceId=eni_id)
    ec2.delete_subnet(SubnetId=vpc["subnet"])


def test_a_nat_gateways_interface_blocks_its_subnet_until_the_gateway_is_deleted(ec2, vpc):
    allocation = ec2.allocate_address(Domain="vpc")["AllocationId"]
    nat = ec2.create_nat_gateway(SubnetId=vpc["subnet"], AllocationId=allocation)["NatGateway"]["NatGatewayId"]
    refused(ec2.delete_subnet, SubnetId=vpc["subnet"])
    ec2.delete_nat_gateway(NatGatewayId=nat)
    ec2.delete_subnet(SubnetId=vpc["subnet"])
    address = ec2.describe_addresses(AllocationIds=[allocation])["Addresses"][0]
    assert not address.get("AssociationId") and not address.get("NetworkInterfaceId")
    ec2.release_address(AllocationId=allocation)


# --- DeleteSecurityGroup -----------------------------------------------------------------------


def test_a_group_a_network_interface_uses_is_refused_until_the_interface_is_deleted(ec2, vpc):
    eni = ec2.create_network_interface(SubnetId=vpc["subnet"], Groups=[vpc["group"]])["NetworkInterface"]
    message = refused(ec2.delete_security_group, GroupId=vpc["group"])
    assert message == f"resource {vpc['group']} has a dependent object"
    ec2.delete_network_interface(NetworkInterfaceId=eni["NetworkInterfaceId"])
    ec2.delete_security_group(GroupId=vpc["group"])


def test_a_group_an_instance_uses_is_refused_until_the_instance_terminates(ec2, vpc):
    instance = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1, InstanceType="t3.micro",
                                 SubnetId=vpc["subnet"], SecurityGroupIds=[vpc["group"]])["Instances"][0]
    refused(ec2.delete_security_group, GroupId=vpc["group"])
    ec2.terminate_instances(InstanceIds=[instance["InstanceId"]])
    ec2.delete_security_group(GroupId=vpc["group"])


@pytest.mark.parametrize("direction", ["ingress", "egress"])
def test_a_group_another_groups_rule_references_is_refused_until_the_rule_is_revoked(ec2, vpc, direction):
    other = ec2.create_security_group(GroupName=f"other-{vpc['octet']}", Description="other",
                                      VpcId=vpc["vpc"])["GroupId"]
    authorize = getattr(ec2, f"authorize_security_group_{direction}")
    revoke = getattr(ec2, f"revoke_security_group_{direction}")
    authorize(GroupId=other, IpPermissions=reference(vpc["group"]))
    message = refused(ec2.delete_security_group, GroupId=vpc["group"])
    assert message == f"resource {vpc['group']} has a dependent object"
    revoke(GroupId=other, IpPermissions=reference(vpc["group"]))
    ec2.delete_security_group(GroupId=vpc["group"])


def test_a_rule_referencing_its_own_group_does_not_block(ec2, vpc):
    ec2.authorize_security_group_ingress(GroupId=vpc["group"], IpPermissions=reference(vpc["group"]))
    ec2.authorize_security_group_egress(GroupId=vpc["group"], IpPermissions=reference(vpc["group"]))
    ec2.delete_security_group(GroupId=vpc["group"])


def test_a_group_referenced_from_a_peered_account_can_be_deleted_its_rule_goes_stale(emulator, ec2, vpc):  # noqa: F811
    peer = account_session(emulator, PEER_ACCOUNT).client("ec2", endpoint_url=emulator.url)
    peer_vpc = peer.create_vpc(CidrBlock="172.31.0.0/16")["Vpc"]["VpcId"]
    pcx = ec2.create_vpc_peering_connection(VpcId=vpc["vpc"], PeerVpcId=peer_vpc, PeerOwnerId=PEER_ACCOUNT)
    peer.accept_vpc_peering_connection(VpcPeeringConnectionId=pcx["VpcPeeringConnection"]["VpcPeeringConnectionId"])
    peer_group = peer.create_security_group(GroupName="livy", Description="livy", VpcId=peer_vpc)["GroupId"]
    peer.authorize_security_group_ingress(GroupId=peer_group, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 8998, "ToPort": 8998,
         "UserIdGroupPairs": [{"GroupId": vpc["group"], "UserId": ACCOUNT, "VpcPeeringConnectionId":
                               pcx["VpcPeeringConnection"]["VpcPeeringConnectionId"]}]}])
    ec2.delete_security_group(GroupId=vpc["group"])


def test_a_rule_differing_only_in_its_description_is_a_duplicate_and_revokes_without_it(ec2, vpc):
    other = ec2.create_security_group(GroupName=f"other-{vpc['octet']}", Description="other",
                                      VpcId=vpc["vpc"])["GroupId"]
    described = [{**reference(vpc["group"])[0], "UserIdGroupPairs": [{"GroupId": vpc["group"], "Description": "mine"}]}]
    ec2.authorize_security_group_ingress(GroupId=other, IpPermissions=described)
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        ec2.authorize_security_group_ingress(GroupId=other, IpPermissions=reference(vpc["group"]))
    assert caught.value.response["Error"]["Code"] == "InvalidPermission.Duplicate"
    ec2.revoke_security_group_ingress(GroupId=other, IpPermissions=reference(vpc["group"]))
    assert ec2.describe_security_groups(GroupIds=[other])["SecurityGroups"][0]["IpPermissions"] == []
    ec2.delete_security_group(GroupId=vpc["group"])


# --- DeleteVpc ---------------------------------------------------------------------------------


def test_a_vpc_with_a_subnet_is_refused_as_moto_already_did(ec2, vpc):
    message = refused(ec2.delete_vpc, VpcId=vpc["vpc"])
    assert message == f"The vpc '{vpc['vpc']}' has dependencies and cannot be deleted."


def test_a_vpc_with_a_security_group_other_than_the_default_is_refused_until_it_is_deleted(ec2, vpc):
    ec2.delete_subnet(SubnetId=vpc["subnet"])
    message = refused(ec2.delete_vpc, VpcId=vpc["vpc"])
    assert message == f"The vpc '{vpc['vpc']}' has dependencies and cannot be deleted."
    ec2.delete_security_group(GroupId=vpc["group"])
    ec2.delete_vpc(VpcId=vpc["vpc"])
    assert vpc["vpc"] not in {v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"]}


def test_a_vpc_with_an_internet_gateway_attached_is_refused_until_it_is_detached(ec2, vpc):
    ec2.delete_subnet(SubnetId=vpc["subnet"])
    ec2.delete_security_group(GroupId=vpc["group"])
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc["vpc"])
    assert refused(ec2.delete_vpc, VpcId=vpc["vpc"]).startswith(f"The vpc '{vpc['vpc']}'")
    ec2.detach_internet_gateway(InternetGatewayId=igw, VpcId=vpc["vpc"])
    ec2.delete_internet_gateway(InternetGatewayId=igw)
    ec2.delete_vpc(VpcId=vpc["vpc"])


def test_a_vpc_with_an_egress_only_internet_gateway_is_refused_until_it_is_deleted(ec2, vpc):
    ec2.delete_subnet(SubnetId=vpc["subnet"])
    ec2.delete_security_group(GroupId=vpc["group"])
    gateway = ec2.create_egress_only_internet_gateway(VpcId=vpc["vpc"])["EgressOnlyInternetGateway"]
    refused(ec2.delete_vpc, VpcId=vpc["vpc"])
    ec2.delete_egress_only_internet_gateway(EgressOnlyInternetGatewayId=gateway["EgressOnlyInternetGatewayId"])
    ec2.delete_vpc(VpcId=vpc["vpc"])


def test_an_unknown_vpc_is_not_found_rather_than_refused(ec2):
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        ec2.delete_vpc(VpcId="vpc-0000000000000000f")
    assert caught.value.response["Error"]["Code"] == "InvalidVpcID.NotFound"
