"""The emulator's EMR behaves as Amazon EMR does for a cluster in a subnet (emulator/extensions/emr.py):
asynchronous lifecycle, nodes in the subnet, the primary node's DNS name as Studio resolves it,
the NET-7 refusals, and the rules EMR adds to its managed security groups."""

from __future__ import annotations

import ipaddress
import json
import time

import botocore.exceptions
import pytest

from tests.emulator_support import account_session, assert_shape, build_network, emulator  # noqa: F401 - the fixture

pytestmark = pytest.mark.emulator

ACCOUNT = "222222222222"
PAGE_SIZE = 2  # small, so that ListInstances of three nodes takes two pages


@pytest.fixture(scope="module", autouse=True)
def _emulator_settings():
    """Read by the emulator process the module fixture starts (autouse runs first)."""
    saved = pytest.MonkeyPatch()
    saved.setenv("EMULATOR_EMR_PAGE_SIZE", str(PAGE_SIZE))
    saved.setenv("EMULATOR_EMR_STEP_SECONDS", "0.3")
    yield
    saved.undo()


@pytest.fixture(scope="module")
def session(emulator):  # noqa: F811
    return account_session(emulator, ACCOUNT)


@pytest.fixture(scope="module")
def clients(emulator, session):  # noqa: F811
    return {name: session.client(name, endpoint_url=emulator.url) for name in ("ec2", "emr", "s3")}


def run_cluster(emr, net: dict, *, core: int = 2, keep_alive: bool = True, **instances) -> str:
    response = emr.run_job_flow(
        Name="studio-emr",
        ReleaseLabel="emr-6.15.0",
        Applications=[{"Name": "Spark"}, {"Name": "Livy"}],
        Instances={
            "InstanceGroups": [
                {"Name": "Primary", "InstanceRole": "MASTER", "InstanceType": "m5.xlarge", "InstanceCount": 1,
                 "Market": "ON_DEMAND"},
                {"Name": "Core", "InstanceRole": "CORE", "InstanceType": "m5.xlarge", "InstanceCount": core,
                 "Market": "ON_DEMAND"},
            ],
            "Ec2SubnetId": net["private"],
            "AdditionalMasterSecurityGroups": [net["primary_sg"]],
            "KeepJobFlowAliveWhenNoSteps": keep_alive,
            **instances,
        },
        JobFlowRole="EMR_EC2_DefaultRole",
        ServiceRole="EMR_DefaultRole",
        VisibleToAllUsers=True,
    )
    assert_shape(emr, "RunJobFlow", response)
    return response["JobFlowId"]


def wait_for(emr, cluster_id: str, states: tuple[str, ...], timeout: float = 20) -> tuple[dict, list[str]]:
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        cluster = emr.describe_cluster(ClusterId=cluster_id)["Cluster"]
        state = cluster["Status"]["State"]
        if not seen or seen[-1] != state:
            seen.append(state)
        if state in states:
            return cluster, seen
        time.sleep(0.05)
    raise AssertionError(f"cluster {cluster_id} never reached {states}; seen {seen}")


def list_all_instances(emr, cluster_id: str) -> tuple[list[dict], int]:
    pages = list(emr.get_paginator("list_instances").paginate(ClusterId=cluster_id))
    for page in pages:
        assert_shape(emr, "ListInstances", page)
    return [i for page in pages for i in page["Instances"]], len(pages)


# --- lifecycle and nodes -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def running_cluster(clients):
    net = build_network(clients["ec2"], "10.0.0.0/16")
    cluster_id = run_cluster(clients["emr"], net)
    first = clients["emr"].describe_cluster(ClusterId=cluster_id)["Cluster"]
    cluster, seen = wait_for(clients["emr"], cluster_id, ("WAITING",))
    return {"net": net, "id": cluster_id, "first": first, "cluster": cluster, "seen": seen}


def test_cluster_starts_asynchronously_through_emr_states(running_cluster):
    assert running_cluster["first"]["Status"]["State"] == "STARTING"
    seen = running_cluster["seen"]
    assert seen[0] == "STARTING" and seen[-1] == "WAITING"
    order = ["STARTING", "BOOTSTRAPPING", "RUNNING", "WAITING"]
    assert [order.index(s) for s in seen] == sorted(order.index(s) for s in seen)
    assert "BOOTSTRAPPING" in seen or "RUNNING" in seen


def test_botocore_waiter_sees_the_cluster_running(clients, running_cluster):
    clients["emr"].get_waiter("cluster_running").wait(ClusterId=running_cluster["id"],
                                                      WaiterConfig={"Delay": 1, "MaxAttempts": 5})


def test_describe_cluster_matches_botocore_shape_and_names_its_network(clients, running_cluster):
    response = clients["emr"].describe_cluster(ClusterId=running_cluster["id"])
    assert_shape(clients["emr"], "DescribeCluster", response)
    attributes = response["Cluster"]["Ec2InstanceAttributes"]
    net = running_cluster["net"]
    assert attributes["Ec2SubnetId"] == net["private"]
    assert attributes["AdditionalMasterSecurityGroups"] == [net["primary_sg"]]
    assert attributes["EmrManagedMasterSecurityGroup"].startswith("sg-")
    assert attributes["ServiceAccessSecurityGroup"].startswith("sg-")
    groups = clients["ec2"].describe_security_groups(
        GroupIds=[attributes["EmrManagedMasterSecurityGroup"], attributes["ServiceAccessSecurityGroup"]])
    assert {g["VpcId"] for g in groups["SecurityGroups"]} == {net["vpc"]}


def test_list_instances_pages_with_marker_and_places_nodes_in_the_subnet(clients, running_cluster):
    instances, pages = list_all_instances(clients["emr"], running_cluster["id"])
    assert pages == 2 and len(instances) == 3
    groups = clients["emr"].list_instance_groups(ClusterId=running_cluster["id"])
    assert_shape(clients["emr"], "ListInstanceGroups", groups)
    group_type = {g["Id"]: g["InstanceGroupType"] for g in groups["InstanceGroups"]}
    assert sorted(group_type[i["InstanceGroupId"]] for i in instances) == ["CORE", "CORE", "MASTER"]
    subnet = ipaddress.ip_network(running_cluster["net"]["private_cidr"])
    addresses = [ipaddress.ip_address(i["PrivateIpAddress"]) for i in instances]
    assert len(set(addresses)) == 3
    for instance, address in zip(instances, addresses):
        assert address in subnet and int(address) - int(subnet.network_address) >= 4
        assert instance["PrivateDnsName"] == f"ip-{str(address).replace('.', '-')}.ec2.internal"
        assert instance["Status"]["State"] == "RUNNING"
        assert instance["Ec2InstanceId"].startswith("i-")
        assert "PublicDnsName" not in instance or not instance["PublicDnsName"]
    master_only = clients["emr"].list_instances(ClusterId=running_cluster["id"], InstanceGroupTypes=["MASTER"])
    assert len(master_only["Instances"]) == 1
    described = clients["ec2"].describe_instances(InstanceIds=[i["Ec2InstanceId"] for i in instances])
    ec2_instances = [i for r in described["Reservations"] for i in r["Instances"]]
    assert {i["SubnetId"] for i in ec2_instances} == {running_cluster["net"]["private"]}


def test_master_public_dns_name_is_the_primary_nodes_private_name(clients, running_cluster):
    cluster = clients["emr"].describe_cluster(ClusterId=running_cluster["id"])["Cluster"]
    instances, _ = list_all_instances(clients["emr"], running_cluster["id"])
    master_group = next(g["Id"] for g in clients["emr"].list_instance_groups(ClusterId=running_cluster["id"])
                        ["InstanceGroups"] if g["InstanceGroupType"] == "MASTER")
    master = next(i for i in instances if i["InstanceGroupId"] == master_group)
    assert cluster["MasterPublicDnsName"] == master["PrivateDnsName"]
    primary_sg = running_cluster["net"]["primary_sg"]
    ec2_master = clients["ec2"].describe_instances(InstanceIds=[master["Ec2InstanceId"]])["Reservations"][0]["Instances"][0]
    assert primary_sg in {g["GroupId"] for g in ec2_master["SecurityGroups"]}


def test_studio_client_resolves_the_primary_node(emulator, session, clients, running_cluster):  # noqa: F811
    """The real client Studio uses (PyPI sagemaker-studio-sparkmagic-lib's EMRCluster, in the
    Studio-side virtualenv scripts/setup installs) finds the primary node in the listing."""
    from orchestration.aws.journey import resolve_primary_node

    found = resolve_primary_node(session, running_cluster["id"], "us-east-1", emulator.url)
    expected = clients["emr"].describe_cluster(ClusterId=running_cluster["id"])["Cluster"]["MasterPublicDnsName"]
    assert found.get("private_dns_name") == expected, found


def test_node_addresses_avoid_other_network_interfaces(clients):
    net = build_network(clients["ec2"], "10.1.0.0/16")
    taken = clients["ec2"].create_network_interface(SubnetId=net["private"], PrivateIpAddress="10.1.1.4")
    cluster_id = run_cluster(clients["emr"], net, core=1)
    wait_for(clients["emr"], cluster_id, ("WAITING",))
    instances, _ = list_all_instances(clients["emr"], cluster_id)
    addresses = {i["PrivateIpAddress"] for i in instances}
    assert taken["NetworkInterface"]["PrivateIpAddress"] not in addresses and len(addresses) == 2


def test_outside_us_east_1_private_names_are_regional(emulator):  # noqa: F811
    session = account_session(emulator, ACCOUNT, "eu-west-1")
    ec2 = session.client("ec2", endpoint_url=emulator.url)
    emr = session.client("emr", endpoint_url=emulator.url)
    net = build_network(ec2, "10.2.0.0/16", region="eu-west-1")
    cluster_id = run_cluster(emr, net, core=1)
    cluster, _ = wait_for(emr, cluster_id, ("WAITING",))
    address = cluster["MasterPublicDnsName"]
    assert address.startswith("ip-10-2-1-") and address.endswith(".eu-west-1.compute.internal")


def test_cluster_without_steps_that_does_not_keep_alive_terminates_itself(clients):
    net = build_network(clients["ec2"], "10.3.0.0/16")
    cluster_id = run_cluster(clients["emr"], net, core=1, keep_alive=False)
    cluster, seen = wait_for(clients["emr"], cluster_id, ("TERMINATED", "TERMINATED_WITH_ERRORS"))
    assert cluster["Status"]["State"] == "TERMINATED"
    assert cluster["Status"]["StateChangeReason"]["Code"] == "ALL_STEPS_COMPLETED"
    assert "WAITING" not in seen


def test_terminate_is_asynchronous_and_stops_the_nodes(clients):
    net = build_network(clients["ec2"], "10.4.0.0/16")
    cluster_id = run_cluster(clients["emr"], net, core=1)
    wait_for(clients["emr"], cluster_id, ("WAITING",))
    instances, _ = list_all_instances(clients["emr"], cluster_id)
    clients["emr"].terminate_job_flows(JobFlowIds=[cluster_id])
    now = clients["emr"].describe_cluster(ClusterId=cluster_id)["Cluster"]["Status"]
    assert now["State"] == "TERMINATING" and now["StateChangeReason"]["Code"] == "USER_REQUEST"
    cluster, _ = wait_for(clients["emr"], cluster_id, ("TERMINATED",))
    assert "EndDateTime" in cluster["Status"]["Timeline"]
    states = clients["ec2"].describe_instances(InstanceIds=[i["Ec2InstanceId"] for i in instances])
    assert {i["State"]["Name"] for r in states["Reservations"] for i in r["Instances"]} == {"terminated"}
    after, _ = list_all_instances(clients["emr"], cluster_id)
    assert {i["Status"]["State"] for i in after} == {"TERMINATED"}


def test_security_configuration_is_described_for_a_cluster_that_names_one(clients):
    emr = clients["emr"]
    configuration = {"EncryptionConfiguration": {"EnableInTransitEncryption": False, "EnableAtRestEncryption": False}}
    emr.create_security_configuration(Name="studio-sec", SecurityConfiguration=json.dumps(configuration))
    net = build_network(clients["ec2"], "10.5.0.0/16")
    response = emr.run_job_flow(
        Name="secured", ReleaseLabel="emr-6.15.0", SecurityConfiguration="studio-sec",
        Instances={"InstanceGroups": [{"InstanceRole": "MASTER", "InstanceType": "m5.xlarge", "InstanceCount": 1}],
                   "Ec2SubnetId": net["private"], "KeepJobFlowAliveWhenNoSteps": True},
        JobFlowRole="EMR_EC2_DefaultRole", ServiceRole="EMR_DefaultRole",
    )
    cluster = emr.describe_cluster(ClusterId=response["JobFlowId"])["Cluster"]
    assert cluster["SecurityConfiguration"] == "studio-sec"
    described = emr.describe_security_configuration(Name=cluster["SecurityConfiguration"])
    assert_shape(emr, "DescribeSecurityConfiguration", described)
    assert json.loads(described["SecurityConfiguration"]) == configuration


# --- NET-7: what keeps a cluster from starting -------------------------------------------------


@pytest.mark.parametrize(
    ("cidr", "options", "words"),
    [
        ("10.50.0.0/16", {"dns": False}, "DNS hostnames"),
        ("10.51.0.0/16", {"s3_endpoint": False, "nat": False}, "no route to Amazon S3"),
        ("10.52.0.0/16", {"nat": False}, "no path to the Amazon EMR service"),
    ],
    ids=["no-dns-hostnames", "no-s3-gateway-endpoint", "no-nat-nor-interface-endpoint"],
)
def test_private_subnet_without_what_emr_needs_fails_to_start(clients, cidr, options, words):
    net = build_network(clients["ec2"], cidr, **options)
    cluster_id = run_cluster(clients["emr"], net, core=1)
    assert clients["emr"].describe_cluster(ClusterId=cluster_id)["Cluster"]["Status"]["State"] == "STARTING"
    cluster, seen = wait_for(clients["emr"], cluster_id, ("TERMINATED_WITH_ERRORS", "WAITING"))
    assert cluster["Status"]["State"] == "TERMINATED_WITH_ERRORS"
    assert "TERMINATING" in seen
    reason = cluster["Status"]["StateChangeReason"]
    assert reason["Code"] == "VALIDATION_ERROR" and words in reason["Message"]
    assert net["private"] in reason["Message"] or net["vpc"] in reason["Message"]
    assert "MasterPublicDnsName" not in cluster
    assert list_all_instances(clients["emr"], cluster_id)[0] == []


def test_nat_gateway_alone_is_a_route_to_s3(clients):
    net = build_network(clients["ec2"], "10.59.0.0/16", s3_endpoint=False)
    cluster_id = run_cluster(clients["emr"], net, core=1)
    cluster, _ = wait_for(clients["emr"], cluster_id, ("WAITING", "TERMINATED_WITH_ERRORS"))
    assert cluster["Status"]["State"] == "WAITING"


def test_interface_endpoint_instead_of_nat_lets_the_cluster_start(clients):
    net = build_network(clients["ec2"], "10.60.0.0/16", nat=False, emr_endpoint=True)
    cluster_id = run_cluster(clients["emr"], net, core=1)
    cluster, _ = wait_for(clients["emr"], cluster_id, ("WAITING", "TERMINATED_WITH_ERRORS"))
    assert cluster["Status"]["State"] == "WAITING"


def test_custom_managed_groups_in_private_subnet_need_a_service_access_group(clients):
    ec2 = clients["ec2"]
    net = build_network(ec2, "10.61.0.0/16")
    master = ec2.create_security_group(GroupName="m", Description="m", VpcId=net["vpc"])["GroupId"]
    slave = ec2.create_security_group(GroupName="s", Description="s", VpcId=net["vpc"])["GroupId"]
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        run_cluster(clients["emr"], net, EmrManagedMasterSecurityGroup=master, EmrManagedSlaveSecurityGroup=slave)
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert "ServiceAccessSecurityGroup" in refused.value.response["Error"]["Message"]
    service = ec2.create_security_group(GroupName="sa", Description="sa", VpcId=net["vpc"])["GroupId"]
    cluster_id = run_cluster(clients["emr"], net, core=1, EmrManagedMasterSecurityGroup=master,
                             EmrManagedSlaveSecurityGroup=slave, ServiceAccessSecurityGroup=service)
    attributes = clients["emr"].describe_cluster(ClusterId=cluster_id)["Cluster"]["Ec2InstanceAttributes"]
    assert (attributes["EmrManagedMasterSecurityGroup"], attributes["ServiceAccessSecurityGroup"]) == (master, service)


def test_custom_group_for_one_role_only_is_refused(clients):
    ec2 = clients["ec2"]
    net = build_network(ec2, "10.62.0.0/16")
    master = ec2.create_security_group(GroupName="m", Description="m", VpcId=net["vpc"])["GroupId"]
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        run_cluster(clients["emr"], net, EmrManagedMasterSecurityGroup=master)
    assert refused.value.response["Error"]["Code"] == "ValidationException"


def test_missing_bootstrap_script_fails_the_cluster_while_bootstrapping(clients):
    net = build_network(clients["ec2"], "10.63.0.0/16")
    response = clients["emr"].run_job_flow(
        Name="broken-bootstrap", ReleaseLabel="emr-6.15.0",
        BootstrapActions=[{"Name": "libs", "ScriptBootstrapAction": {"Path": "s3://no-such-bucket-here/x.sh"}}],
        Instances={"InstanceGroups": [{"InstanceRole": "MASTER", "InstanceType": "m5.xlarge", "InstanceCount": 1}],
                   "Ec2SubnetId": net["private"], "KeepJobFlowAliveWhenNoSteps": True},
        JobFlowRole="EMR_EC2_DefaultRole", ServiceRole="EMR_DefaultRole",
    )
    cluster, seen = wait_for(clients["emr"], response["JobFlowId"], ("TERMINATED_WITH_ERRORS", "WAITING"))
    assert cluster["Status"]["State"] == "TERMINATED_WITH_ERRORS"
    assert cluster["Status"]["StateChangeReason"]["Code"] == "BOOTSTRAP_FAILURE"
    assert "BOOTSTRAPPING" in seen


# --- the rules EMR adds to its managed security groups -----------------------------------------


def managed_rules(ec2, names: dict[str, str]) -> list[tuple]:
    """(group, direction, protocol, from, to, referenced group) of every rule of the groups that
    references a group, named by the keys of ``names``."""
    response = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": list(names)}])
    assert_shape(ec2, "DescribeSecurityGroupRules", response)
    return sorted(
        (names[r["GroupId"]], "egress" if r["IsEgress"] else "ingress", r["IpProtocol"], r["FromPort"], r["ToPort"],
         names[r["ReferencedGroupInfo"]["GroupId"]])
        for r in response["SecurityGroupRules"] if "ReferencedGroupInfo" in r
    )


EMR_MANAGED_RULES = sorted(
    [(group, "ingress", protocol, low, high, source)
     for group in ("primary", "core") for source in ("primary", "core")
     for protocol, low, high in (("icmp", -1, -1), ("tcp", 0, 65535), ("udp", 0, 65535))]
    + [("primary", "ingress", "tcp", 8443, 8443, "service"), ("core", "ingress", "tcp", 8443, 8443, "service"),
       ("service", "ingress", "tcp", 9443, 9443, "primary"),
       ("service", "egress", "tcp", 8443, 8443, "primary"), ("service", "egress", "tcp", 8443, 8443, "core")]
)


@pytest.fixture(scope="module")
def managed_groups(clients):
    """Custom EMR-managed groups, the primary one already admitting TCP from the core group under
    a description of its own, and a cluster launched with them."""
    ec2 = clients["ec2"]
    net = build_network(ec2, "10.64.0.0/16")
    ids = {kind: ec2.create_security_group(GroupName=f"emr-{kind}", Description=kind, VpcId=net["vpc"])["GroupId"]
           for kind in ("primary", "core", "service")}
    ec2.authorize_security_group_ingress(GroupId=ids["primary"], IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 0, "ToPort": 65535,
         "UserIdGroupPairs": [{"GroupId": ids["core"], "Description": "added before EMR"}]}])
    cluster_id = run_cluster(clients["emr"], net, core=1, EmrManagedMasterSecurityGroup=ids["primary"],
                             EmrManagedSlaveSecurityGroup=ids["core"], ServiceAccessSecurityGroup=ids["service"])
    return {"net": net, "ids": ids, "names": {v: k for k, v in ids.items()}, "clusters": [cluster_id]}


def test_emr_adds_the_documented_rules_to_its_managed_groups_at_launch(clients, managed_groups):
    assert managed_rules(clients["ec2"], managed_groups["names"]) == EMR_MANAGED_RULES
    described = clients["ec2"].describe_security_groups(GroupIds=[managed_groups["ids"]["service"]])
    assert_shape(clients["ec2"], "DescribeSecurityGroups", described)
    ingress = described["SecurityGroups"][0]["IpPermissions"]
    assert [(p["IpProtocol"], p["FromPort"], [g["GroupId"] for g in p["UserIdGroupPairs"]]) for p in ingress] == [
        ("tcp", 9443, [managed_groups["ids"]["primary"]])]


def test_emr_adds_only_missing_rules_so_a_second_cluster_duplicates_none(clients, managed_groups):
    ids = managed_groups["ids"]
    managed_groups["clusters"].append(run_cluster(
        clients["emr"], managed_groups["net"], core=1, EmrManagedMasterSecurityGroup=ids["primary"],
        EmrManagedSlaveSecurityGroup=ids["core"], ServiceAccessSecurityGroup=ids["service"]))
    assert managed_rules(clients["ec2"], managed_groups["names"]) == EMR_MANAGED_RULES


def test_managed_groups_cannot_be_deleted_until_emrs_rules_are_revoked(clients, managed_groups):
    ec2, emr, ids = clients["ec2"], clients["emr"], managed_groups["ids"]
    emr.terminate_job_flows(JobFlowIds=managed_groups["clusters"])
    for cluster_id in managed_groups["clusters"]:
        wait_for(emr, cluster_id, ("TERMINATED",))
    for group in ids.values():  # no node uses them any more, but they reference each other
        with pytest.raises(botocore.exceptions.ClientError) as refused:
            ec2.delete_security_group(GroupId=group)
        assert refused.value.response["Error"]["Code"] == "DependencyViolation"
        assert refused.value.response["Error"]["Message"] == f"resource {group} has a dependent object"
    rules = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": list(ids.values())}])
    for rule in rules["SecurityGroupRules"]:
        if "ReferencedGroupInfo" in rule:
            revoke = ec2.revoke_security_group_egress if rule["IsEgress"] else ec2.revoke_security_group_ingress
            revoke(GroupId=rule["GroupId"], SecurityGroupRuleIds=[rule["SecurityGroupRuleId"]])
    for group in ids.values():
        ec2.delete_security_group(GroupId=group)
