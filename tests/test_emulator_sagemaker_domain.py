"""The emulator's Studio domain behaves as SageMaker's (emulator/extensions/sagemaker.py, SM-4):
CreateDomain makes the home EFS (mount targets with their network interfaces in the domain's
subnets) and the two NFS security groups; DeleteDomain is asynchronous, refused while user
profiles, spaces or apps remain, and honours the home EFS retention policy; apps are deleted
asynchronously; spaces are created, listed, described, updated and deleted, and hold apps."""

from __future__ import annotations

import itertools
import time

import botocore.exceptions
import pytest

from tests.emulator_support import account_session, assert_shape, emulator  # noqa: F401 - the fixture

pytestmark = pytest.mark.emulator

ACCOUNT = "111111111111"
STEP = 0.5
TAG = "ManagedByAmazonSageMakerResource"
_cidrs = itertools.count(20)


@pytest.fixture(scope="module", autouse=True)
def _emulator_settings():
    """Read by the emulator process the module fixture starts (autouse runs first)."""
    saved = pytest.MonkeyPatch()
    saved.setenv("EMULATOR_STUDIO_STEP_SECONDS", str(STEP))
    yield
    saved.undo()


@pytest.fixture(scope="module")
def clients(emulator):  # noqa: F811
    session = account_session(emulator, ACCOUNT)
    return {name: session.client(name, endpoint_url=emulator.url) for name in ("sagemaker", "ec2", "efs", "iam")}


@pytest.fixture(scope="module")
def role(clients) -> str:
    trust = ('{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": '
             '"sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}]}')
    return clients["iam"].create_role(RoleName="studio-execution", AssumeRolePolicyDocument=trust)["Role"]["Arn"]


def network(ec2) -> dict:
    """A VPC with two private subnets in two availability zones, as a domain's network."""
    second = next(_cidrs)
    vpc = ec2.create_vpc(CidrBlock=f"10.{second}.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.{second}.{i + 1}.0/24", AvailabilityZone=zone)["Subnet"]["SubnetId"]
               for i, zone in enumerate(("us-east-1a", "us-east-1b"))]
    return {"vpc": vpc, "subnets": subnets}


def create_domain(clients, role: str, name: str) -> dict:
    net = network(clients["ec2"])
    created = clients["sagemaker"].create_domain(DomainName=name, AuthMode="IAM", VpcId=net["vpc"],
                                                 SubnetIds=net["subnets"], DefaultUserSettings={"ExecutionRole": role})
    assert_shape(clients["sagemaker"], "CreateDomain", created)
    return {**net, "id": created["DomainId"], "arn": created["DomainArn"]}


def wait_for(fetch, wanted: str, timeout: float = 10) -> list[str]:
    """The statuses ``fetch()`` went through until ``wanted``."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = fetch()
        if not seen or seen[-1] != status:
            seen.append(status)
        if status == wanted:
            return seen
        time.sleep(0.05)
    raise AssertionError(f"still {seen[-1]!r} after {timeout} s, not {wanted!r}")


def domain_status(sagemaker, domain_id: str) -> str:
    try:
        return sagemaker.describe_domain(DomainId=domain_id)["Status"]
    except botocore.exceptions.ClientError as exc:
        assert exc.response["Error"]["Code"] == "ResourceNotFound", exc
        return "gone"


def error(call, **kwargs) -> tuple[str, str]:
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        call(**kwargs)
    return caught.value.response["Error"]["Code"], caught.value.response["Error"]["Message"]


def nfs_groups(ec2, vpc: str, domain_id: str) -> dict[str, dict]:
    groups = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["SecurityGroups"]
    return {direction: next(g for g in groups if g["GroupName"] == f"security-group-for-{direction}-nfs-{domain_id}")
            for direction in ("inbound", "outbound")}


def home_efs(clients, domain_id: str) -> str:
    return clients["sagemaker"].describe_domain(DomainId=domain_id)["HomeEfsFileSystemId"]


def enis_in(ec2, subnets: list[str]) -> list[dict]:
    return ec2.describe_network_interfaces(Filters=[{"Name": "subnet-id", "Values": subnets}])["NetworkInterfaces"]


# --- CreateDomain ---------------------------------------------------------------------------


def test_a_new_domain_is_pending_then_in_service(clients, role):
    sagemaker = clients["sagemaker"]
    domain = create_domain(clients, role, "pending-then-in-service")
    assert wait_for(lambda: domain_status(sagemaker, domain["id"]), "InService") == ["Pending", "InService"]
    description = sagemaker.describe_domain(DomainId=domain["id"])
    assert_shape(sagemaker, "DescribeDomain", description)
    assert description["DomainArn"] == domain["arn"] and description["DomainArn"].endswith(f":domain/{domain['id']}")
    assert len(domain["id"]) == 14 and domain["id"].startswith("d-")  # AWS's form: d- and 12 characters
    listed = sagemaker.list_domains()
    assert_shape(sagemaker, "ListDomains", listed)
    assert {"DomainId": domain["id"], "Status": "InService"}.items() <= next(
        d for d in listed["Domains"] if d["DomainId"] == domain["id"]).items()


def test_create_domain_makes_the_home_efs_tagged_with_the_domain(clients, role):
    domain = create_domain(clients, role, "home-efs")
    fs_id = home_efs(clients, domain["id"])
    file_system = clients["efs"].describe_file_systems(FileSystemId=fs_id)["FileSystems"][0]
    assert {"Key": TAG, "Value": domain["arn"]} in file_system["Tags"]
    assert file_system["Encrypted"] is True


def test_the_home_efs_has_a_mount_target_and_its_interface_in_each_domain_subnet(clients, role):
    ec2 = clients["ec2"]
    domain = create_domain(clients, role, "mount-targets")
    fs_id = home_efs(clients, domain["id"])
    inbound = nfs_groups(ec2, domain["vpc"], domain["id"])["inbound"]["GroupId"]
    targets = clients["efs"].describe_mount_targets(FileSystemId=fs_id)["MountTargets"]
    assert sorted(t["SubnetId"] for t in targets) == sorted(domain["subnets"])
    enis = {e["NetworkInterfaceId"]: e for e in enis_in(ec2, domain["subnets"])}
    for target in targets:
        eni = enis[target["NetworkInterfaceId"]]
        assert eni["SubnetId"] == target["SubnetId"] and eni["PrivateIpAddress"] == target["IpAddress"]
        assert [g["GroupId"] for g in eni["Groups"]] == [inbound]
        assert eni["RequesterManaged"] is True and fs_id in eni["Description"]
        assert clients["efs"].describe_mount_target_security_groups(
            MountTargetId=target["MountTargetId"])["SecurityGroups"] == [inbound]


def test_create_domain_makes_two_nfs_groups_that_reference_each_other(clients, role):
    domain = create_domain(clients, role, "nfs-groups")
    groups = nfs_groups(clients["ec2"], domain["vpc"], domain["id"])
    inbound, outbound = groups["inbound"], groups["outbound"]
    for direction, group in groups.items():
        assert {"Key": TAG, "Value": domain["arn"]} in group["Tags"]
        assert group["Description"] == (f"[DO NOT DELETE] Security Group that allows {direction} NFS traffic for "
                                        f"SageMaker Notebooks Domain [{domain['id']}]")
    nfs_from_outbound = [p for p in inbound["IpPermissions"] if p["IpProtocol"] == "tcp" and p["FromPort"] == 2049
                         and p["ToPort"] == 2049 and [u["GroupId"] for u in p["UserIdGroupPairs"]] == [outbound["GroupId"]]]
    assert len(nfs_from_outbound) == 1
    assert [(p["IpProtocol"], p["FromPort"], p["ToPort"], [u["GroupId"] for u in p["UserIdGroupPairs"]])
            for p in outbound["IpPermissionsEgress"]] == [("tcp", 2049, 2049, [inbound["GroupId"]])]


def test_a_subnet_added_by_update_domain_gets_a_mount_target(clients, role):
    sagemaker, ec2 = clients["sagemaker"], clients["ec2"]
    domain = create_domain(clients, role, "added-subnet")
    cidr = ec2.describe_subnets(SubnetIds=[domain["subnets"][0]])["Subnets"][0]["CidrBlock"].replace(".1.0/24", ".3.0/24")
    third = ec2.create_subnet(VpcId=domain["vpc"], CidrBlock=cidr, AvailabilityZone="us-east-1c")["Subnet"]["SubnetId"]
    wait_for(lambda: domain_status(sagemaker, domain["id"]), "InService")
    assert_shape(sagemaker, "UpdateDomain", sagemaker.update_domain(DomainId=domain["id"], SubnetIds=domain["subnets"] + [third]))
    assert wait_for(lambda: domain_status(sagemaker, domain["id"]), "InService") == ["Updating", "InService"]
    targets = clients["efs"].describe_mount_targets(FileSystemId=home_efs(clients, domain["id"]))["MountTargets"]
    assert sorted(t["SubnetId"] for t in targets) == sorted(domain["subnets"] + [third])


def test_create_domain_refuses_subnets_outside_its_vpc(clients, role):
    other = network(clients["ec2"])
    net = network(clients["ec2"])
    code, message = error(clients["sagemaker"].create_domain, DomainName="wrong-subnets", AuthMode="IAM",
                          VpcId=net["vpc"], SubnetIds=[other["subnets"][0]], DefaultUserSettings={"ExecutionRole": role})
    assert code == "ValidationException" and other["subnets"][0] in message
    assert "wrong-subnets" not in [d["DomainName"] for d in clients["sagemaker"].list_domains()["Domains"]]


# --- DeleteDomain ---------------------------------------------------------------------------


def test_delete_domain_is_refused_while_a_user_profile_exists(clients, role):
    sagemaker = clients["sagemaker"]
    domain = create_domain(clients, role, "with-profile")
    sagemaker.create_user_profile(DomainId=domain["id"], UserProfileName="alice")
    code, message = error(sagemaker.delete_domain, DomainId=domain["id"])
    assert code == "ResourceInUse" and "UserProfile" in message and domain["arn"] in message
    assert domain_status(sagemaker, domain["id"]) != "Deleting"


def test_delete_domain_is_refused_while_a_space_exists(clients, role):
    sagemaker = clients["sagemaker"]
    domain = create_domain(clients, role, "with-space")
    sagemaker.create_space(DomainId=domain["id"], SpaceName="team")
    code, message = error(sagemaker.delete_domain, DomainId=domain["id"])
    assert code == "ResourceInUse" and "Space" in message and domain["arn"] in message


def test_an_app_holds_its_profile_and_so_the_domain_until_it_is_deleted(clients, role):
    sagemaker = clients["sagemaker"]
    domain = create_domain(clients, role, "with-app")
    sagemaker.create_user_profile(DomainId=domain["id"], UserProfileName="bob")
    sagemaker.create_app(DomainId=domain["id"], UserProfileName="bob", AppType="JupyterLab", AppName="default")
    code, message = error(sagemaker.delete_user_profile, DomainId=domain["id"], UserProfileName="bob")
    assert code == "ResourceInUse" and "App(s)" in message and "user-profile" in message
    assert error(sagemaker.delete_domain, DomainId=domain["id"])[0] == "ResourceInUse"
    sagemaker.delete_app(DomainId=domain["id"], UserProfileName="bob", AppType="JupyterLab", AppName="default")
    assert error(sagemaker.delete_user_profile, DomainId=domain["id"], UserProfileName="bob")[0] == "ResourceInUse"
    wait_for(lambda: sagemaker.describe_app(DomainId=domain["id"], UserProfileName="bob", AppType="JupyterLab",
                                            AppName="default")["Status"], "Deleted")
    sagemaker.delete_user_profile(DomainId=domain["id"], UserProfileName="bob")
    sagemaker.delete_domain(DomainId=domain["id"], RetentionPolicy={"HomeEfsFileSystem": "Delete"})
    assert wait_for(lambda: domain_status(sagemaker, domain["id"]), "gone") in (["Deleting", "gone"], ["gone"])


def test_delete_domain_is_asynchronous_and_retention_delete_removes_the_home_efs(clients, role):
    sagemaker, ec2, efs = clients["sagemaker"], clients["ec2"], clients["efs"]
    domain = create_domain(clients, role, "retention-delete")
    fs_id = home_efs(clients, domain["id"])
    wait_for(lambda: domain_status(sagemaker, domain["id"]), "InService")
    response = sagemaker.delete_domain(DomainId=domain["id"], RetentionPolicy={"HomeEfsFileSystem": "Delete"})
    assert set(response) == {"ResponseMetadata"}  # DeleteDomain has no output shape
    assert sagemaker.describe_domain(DomainId=domain["id"])["Status"] == "Deleting"
    assert efs.describe_file_systems(FileSystemId=fs_id)["FileSystems"]  # still there while the domain is
    assert wait_for(lambda: domain_status(sagemaker, domain["id"]), "gone") == ["Deleting", "gone"]
    assert error(sagemaker.describe_domain, DomainId=domain["id"])[0] == "ResourceNotFound"
    assert error(efs.describe_file_systems, FileSystemId=fs_id)[0] == "FileSystemNotFound"
    assert enis_in(ec2, domain["subnets"]) == []
    assert set(nfs_groups(ec2, domain["vpc"], domain["id"])) == {"inbound", "outbound"}  # AWS leaves them


def test_retention_retain_keeps_the_home_efs_its_mount_targets_and_the_nfs_groups(clients, role):
    sagemaker, ec2, efs = clients["sagemaker"], clients["ec2"], clients["efs"]
    domain = create_domain(clients, role, "retention-retain")
    fs_id = home_efs(clients, domain["id"])
    sagemaker.delete_domain(DomainId=domain["id"])  # no RetentionPolicy: Retain, AWS's default
    wait_for(lambda: domain_status(sagemaker, domain["id"]), "gone")
    assert efs.describe_file_systems(FileSystemId=fs_id)["FileSystems"][0]["FileSystemId"] == fs_id
    targets = efs.describe_mount_targets(FileSystemId=fs_id)["MountTargets"]
    assert sorted(t["SubnetId"] for t in targets) == sorted(domain["subnets"])
    assert sorted(e["NetworkInterfaceId"] for e in enis_in(ec2, domain["subnets"])) == sorted(
        t["NetworkInterfaceId"] for t in targets)
    assert set(nfs_groups(ec2, domain["vpc"], domain["id"])) == {"inbound", "outbound"}


# --- apps -----------------------------------------------------------------------------------


def test_delete_app_goes_deleting_then_deleted_and_a_deleted_app_cannot_be_deleted_again(clients, role):
    sagemaker = clients["sagemaker"]
    domain = create_domain(clients, role, "app-lifecycle")
    sagemaker.create_user_profile(DomainId=domain["id"], UserProfileName="carol")
    app = {"DomainId": domain["id"], "UserProfileName": "carol", "AppType": "JupyterServer", "AppName": "default"}
    assert_shape(sagemaker, "CreateApp", sagemaker.create_app(**app))
    code, _ = error(sagemaker.create_app, **app)
    assert code == "ResourceInUse"
    described = sagemaker.describe_app(**app)
    assert_shape(sagemaker, "DescribeApp", described)
    assert described["Status"] == "InService"
    sagemaker.delete_app(**app)
    listed = sagemaker.list_apps(DomainIdEquals=domain["id"], UserProfileNameEquals="carol")
    assert_shape(sagemaker, "ListApps", listed)
    assert [a["Status"] for a in listed["Apps"]] == ["Deleting"]
    assert error(sagemaker.delete_app, **app)[0] == "ValidationException"
    assert wait_for(lambda: sagemaker.describe_app(**app)["Status"], "Deleted") == ["Deleting", "Deleted"]
    assert [a["Status"] for a in sagemaker.list_apps(DomainIdEquals=domain["id"])["Apps"]] == ["Deleted"]
    code, message = error(sagemaker.delete_app, **app)
    assert code == "ValidationException" and "has already been deleted" in message
    assert error(sagemaker.delete_app, **{**app, "AppName": "never-made"})[0] == "ResourceNotFound"


def test_list_apps_pages(clients, role):
    sagemaker = clients["sagemaker"]
    domain = create_domain(clients, role, "app-pages")
    sagemaker.create_user_profile(DomainId=domain["id"], UserProfileName="dave")
    for name in ("one", "two", "three"):
        sagemaker.create_app(DomainId=domain["id"], UserProfileName="dave", AppType="KernelGateway", AppName=name)
    first = sagemaker.list_apps(DomainIdEquals=domain["id"], MaxResults=2)
    assert len(first["Apps"]) == 2 and first["NextToken"]
    rest = sagemaker.list_apps(DomainIdEquals=domain["id"], MaxResults=2, NextToken=first["NextToken"])
    assert "NextToken" not in rest
    assert [a["AppName"] for a in first["Apps"] + rest["Apps"]] == ["one", "two", "three"]  # CreationTime, ascending
    pages = sagemaker.get_paginator("list_apps").paginate(DomainIdEquals=domain["id"], PaginationConfig={"PageSize": 1})
    assert len([a for page in pages for a in page["Apps"]]) == 3


# --- spaces ---------------------------------------------------------------------------------


def test_spaces_are_created_listed_described_updated_and_deleted(clients, role):
    sagemaker = clients["sagemaker"]
    domain = create_domain(clients, role, "spaces")
    sagemaker.create_user_profile(DomainId=domain["id"], UserProfileName="erin")
    created = sagemaker.create_space(
        DomainId=domain["id"], SpaceName="erin-private", SpaceDisplayName="Erin's",
        SpaceSettings={"AppType": "JupyterLab"}, OwnershipSettings={"OwnerUserProfileName": "erin"},
        SpaceSharingSettings={"SharingType": "Private"}, Tags=[{"Key": "team", "Value": "ml"}])
    assert_shape(sagemaker, "CreateSpace", created)
    assert created["SpaceArn"].endswith(f":space/{domain['id']}/erin-private")
    sagemaker.create_space(DomainId=domain["id"], SpaceName="shared", SpaceSharingSettings={"SharingType": "Shared"},
                           OwnershipSettings={"OwnerUserProfileName": "erin"})
    assert error(sagemaker.create_space, DomainId=domain["id"], SpaceName="shared")[0] == "ResourceInUse"
    assert error(sagemaker.create_space, DomainId=domain["id"], SpaceName="orphan",
                 OwnershipSettings={"OwnerUserProfileName": "nobody"})[0] == "ResourceNotFound"

    described = sagemaker.describe_space(DomainId=domain["id"], SpaceName="erin-private")
    assert_shape(sagemaker, "DescribeSpace", described)
    assert described["Status"] == "InService" and described["OwnershipSettings"] == {"OwnerUserProfileName": "erin"}
    assert described["SpaceSharingSettings"] == {"SharingType": "Private"} and described["SpaceDisplayName"] == "Erin's"
    assert sagemaker.list_tags(ResourceArn=created["SpaceArn"])["Tags"] == [{"Key": "team", "Value": "ml"}]

    first = sagemaker.list_spaces(DomainIdEquals=domain["id"], MaxResults=1)
    assert_shape(sagemaker, "ListSpaces", first)
    rest = sagemaker.list_spaces(DomainIdEquals=domain["id"], MaxResults=1, NextToken=first["NextToken"])
    assert [s["SpaceName"] for s in first["Spaces"] + rest["Spaces"]] == ["erin-private", "shared"]
    assert first["Spaces"][0]["OwnershipSettingsSummary"] == {"OwnerUserProfileName": "erin"}
    assert first["Spaces"][0]["SpaceSharingSettingsSummary"] == {"SharingType": "Private"}
    assert first["Spaces"][0]["SpaceSettingsSummary"] == {"AppType": "JupyterLab"}
    assert [s["SpaceName"] for s in sagemaker.list_spaces(DomainIdEquals=domain["id"], SpaceNameContains="erin")["Spaces"]] \
        == ["erin-private"]

    updated = sagemaker.update_space(DomainId=domain["id"], SpaceName="shared", SpaceDisplayName="Team")
    assert_shape(sagemaker, "UpdateSpace", updated)
    assert wait_for(lambda: sagemaker.describe_space(DomainId=domain["id"], SpaceName="shared")["Status"],
                    "InService") == ["Updating", "InService"]
    assert error(sagemaker.update_space, DomainId=domain["id"], SpaceName="erin-private",
                 SpaceSettings={"AppType": "CodeEditor"})[0] == "ValidationException"

    sagemaker.delete_space(DomainId=domain["id"], SpaceName="shared")
    assert wait_for(lambda: space_status(sagemaker, domain["id"], "shared"), "gone") == ["Deleting", "gone"]
    assert [s["SpaceName"] for s in sagemaker.list_spaces(DomainIdEquals=domain["id"])["Spaces"]] == ["erin-private"]


def space_status(sagemaker, domain_id: str, name: str) -> str:
    try:
        return sagemaker.describe_space(DomainId=domain_id, SpaceName=name)["Status"]
    except botocore.exceptions.ClientError as exc:
        assert exc.response["Error"]["Code"] == "ResourceNotFound", exc
        return "gone"


def test_an_app_in_a_space_blocks_the_spaces_deletion_until_it_is_deleted(clients, role):
    sagemaker = clients["sagemaker"]
    domain = create_domain(clients, role, "space-app")
    sagemaker.create_space(DomainId=domain["id"], SpaceName="lab", SpaceSettings={"AppType": "JupyterLab"})
    app = {"DomainId": domain["id"], "SpaceName": "lab", "AppType": "JupyterLab", "AppName": "default"}
    created = sagemaker.create_app(**app)
    assert created["AppArn"].endswith(f":app/{domain['id']}/lab/jupyterlab/default")
    described = sagemaker.describe_app(**app)
    assert_shape(sagemaker, "DescribeApp", described)
    assert described["SpaceName"] == "lab" and "UserProfileName" not in described
    listed = sagemaker.list_apps(DomainIdEquals=domain["id"], SpaceNameEquals="lab")
    assert_shape(sagemaker, "ListApps", listed)
    assert [(a["SpaceName"], a["AppName"]) for a in listed["Apps"]] == [("lab", "default")]
    assert error(sagemaker.create_app, DomainId=domain["id"], AppType="JupyterLab", AppName="x")[0] == "ValidationException"

    code, message = error(sagemaker.delete_space, DomainId=domain["id"], SpaceName="lab")
    assert code == "ResourceInUse" and "App(s)" in message and ":space/" in message
    sagemaker.delete_app(**app)
    wait_for(lambda: sagemaker.describe_app(**app)["Status"], "Deleted")
    sagemaker.delete_space(DomainId=domain["id"], SpaceName="lab")
    wait_for(lambda: space_status(sagemaker, domain["id"], "lab"), "gone")
    sagemaker.delete_domain(DomainId=domain["id"])
    wait_for(lambda: domain_status(sagemaker, domain["id"]), "gone")


def test_a_user_profile_that_owns_a_space_cannot_be_deleted(clients, role):
    sagemaker = clients["sagemaker"]
    domain = create_domain(clients, role, "profile-owns-space")
    sagemaker.create_user_profile(DomainId=domain["id"], UserProfileName="frank")
    sagemaker.create_space(DomainId=domain["id"], SpaceName="frank-private",
                           OwnershipSettings={"OwnerUserProfileName": "frank"}, SpaceSharingSettings={"SharingType": "Private"})
    code, message = error(sagemaker.delete_user_profile, DomainId=domain["id"], UserProfileName="frank")
    assert code == "ResourceInUse" and "Space(s)" in message
    sagemaker.delete_space(DomainId=domain["id"], SpaceName="frank-private")
    wait_for(lambda: space_status(sagemaker, domain["id"], "frank-private"), "gone")
    sagemaker.delete_user_profile(DomainId=domain["id"], UserProfileName="frank")
