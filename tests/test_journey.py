"""A data scientist's journey on a deployed `local`, for real: Terraform applies to the emulator
(IAM enforced), the journey runs as the Studio execution role, launches a cluster from the
product, connects with sagemaker-studio-sparkmagic-lib, proves the network path and cleans up.
Then each hop is broken in turn, and the journey must name it."""

from __future__ import annotations

import json

import pytest

from config import load_env
from orchestration.aws.accounts import Accounts
from orchestration.aws.journey import journey
from orchestration.aws.kubernetes import create_emulator_cluster
from orchestration.aws.verify import verify
from orchestration.deploy import deploy
from orchestration.local import emulator as emulator_control
from orchestration.terraform.synth import Workspace
from stacks import naming

pytestmark = [pytest.mark.terraform, pytest.mark.emulator, pytest.mark.timeout(900)]
ENV = "local"


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("journey")
    space = Workspace(out_root=root / "cdktf.out", state_root=root / "state")
    yield space
    emulator_control.stop(space.state_root)


@pytest.fixture(scope="module")
def deployed(workspace):
    # The EKS cluster local's kubernetes section names exists before the project (IAM-6).
    create_emulator_cluster(ENV, workspace.state_root, log=lambda line: None)
    deploy(ENV, workspace=workspace, log=lambda line: None)
    return Accounts(load_env(ENV), emulator_control.current(workspace.state_root))


def run(workspace):
    lines: list[str] = []
    report = journey(ENV, workspace=workspace, log=lines.append)
    return report, {s.name: s for s in report.steps}, "\n".join(lines)


def failed(report):
    return [s for s in report.steps if s.status == "FAIL"]


def test_the_whole_journey_passes_every_step(deployed, workspace):
    report, steps, text = run(workspace)
    assert report.ok, text
    assert all(s.status == "ok" for s in report.steps), text
    assert "arn:aws:sts::111111111111:assumed-role/studio-emr-local-sagemaker-execution/" \
        in steps["data scientist's credentials"].evidence
    discovered = steps["discover the EMR accounts"].evidence
    assert "Classic lifecycle script" in discovered and "JupyterLab EmrSettings" in discovered
    assert "studio-emr-local-emr-discovery" in discovered
    assert "x1e.32xlarge" in next(s.name for s in report.steps if s.name.startswith("the template refuses"))
    connect = next(s for s in report.steps if s.name.startswith("connect to Livy"))
    # The primary node's private name on Livy's port, inside the EMR private subnet 2.0.1.0/24.
    assert connect.evidence.startswith("http://ip-2-0-1-") and ":8998" in connect.evidence
    assert "in subnet-" in connect.evidence and "2.0.1.0/24" in connect.evidence
    notebook = next(s for s in report.steps if s.name.startswith("Classic notebook's lifecycle script"))
    assert "studio-emr-local-notebook" in notebook.evidence and "sparkmagic -> http://2.0.1." in notebook.evidence
    reach = next(s for s in report.steps if s.name.startswith("Studio reaches"))
    assert "2 paths" in reach.evidence and "reachable both ways" in reach.evidence
    cleanup = next(s for s in report.steps if s.name.startswith("clean up"))
    assert "TERMINATED" in cleanup.evidence and ("DELETE_COMPLETE" in cleanup.evidence or "gone" in cleanup.evidence)
    assert json.loads(report.to_json())["ok"] is True
    # The refused launch and the launched cluster are both cleaned up: no provisioned product is left.
    catalog = emr_admin(deployed).client("servicecatalog")
    left = catalog.search_provisioned_products(AccessLevelFilter={"Key": "Account", "Value": "self"})["ProvisionedProducts"]
    assert left == [], left


def emr_admin(deployed):
    return deployed.emr(load_env(ENV).environment.emr_accounts[0])


def test_a_revoked_sg_rule_is_named_at_the_emr_security_group(deployed, workspace):
    ec2 = emr_admin(deployed).client("ec2")
    group_id = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["studio-emr-local-emr-primary"]}])[
        "SecurityGroups"][0]["GroupId"]
    rules = [r for r in ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [group_id]}])[
        "SecurityGroupRules"] if not r["IsEgress"]]
    permissions = [{"IpProtocol": "tcp", "FromPort": r["FromPort"], "ToPort": r["ToPort"],
                    "UserIdGroupPairs": [{"GroupId": r["ReferencedGroupInfo"]["GroupId"],
                                          "UserId": r["ReferencedGroupInfo"]["UserId"]}]} for r in rules]
    ec2.revoke_security_group_ingress(GroupId=group_id, SecurityGroupRuleIds=[r["SecurityGroupRuleId"] for r in rules])
    try:
        report, _, text = run(workspace)
        [step] = failed(report)
        assert step.name.startswith("Studio reaches"), text
        assert "blocked at EMR primary node security groups (ingress)" in step.evidence
        assert "admits TCP 8998" in step.evidence
    finally:
        ec2.authorize_security_group_ingress(GroupId=group_id, IpPermissions=permissions)
    assert run(workspace)[0].ok


@pytest.mark.parametrize("side", ["studio", "emr"])
def test_a_deleted_route_is_named_on_its_side(deployed, workspace, side):
    env = load_env(ENV)
    emr_account = env.environment.emr_accounts[0]
    session = deployed.studio() if side == "studio" else emr_admin(deployed)
    destination = emr_account.network.cidr if side == "studio" else env.environment.studio_account.network.cidr
    ec2 = session.client("ec2")
    tables = ec2.describe_route_tables()["RouteTables"]
    table, route = next((t, r) for t in tables for r in t["Routes"]
                        if r.get("DestinationCidrBlock") == destination and r.get("VpcPeeringConnectionId"))
    ec2.delete_route(RouteTableId=table["RouteTableId"], DestinationCidrBlock=destination)
    try:
        report, _, text = run(workspace)
        [step] = failed(report)
        hop = "Studio subnet route table" if side == "studio" else "EMR subnet route table (reply)"
        assert f"blocked at {hop}" in step.evidence, text
        assert table["RouteTableId"] in step.evidence
    finally:
        ec2.create_route(RouteTableId=table["RouteTableId"], DestinationCidrBlock=destination,
                         VpcPeeringConnectionId=route["VpcPeeringConnectionId"])
    assert run(workspace)[0].ok


def test_a_trust_policy_naming_another_principal_refuses_the_assume(deployed, workspace):
    iam = emr_admin(deployed).client("iam")
    role_name = naming.discovery_role_name(load_env(ENV))
    original = iam.get_role(RoleName=role_name)["Role"]["AssumeRolePolicyDocument"]
    other = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
             "Principal": {"AWS": "arn:aws:iam::111111111111:role/studio-emr-local-emr-runtime-other"}}]}
    deployed.studio().client("iam").create_role(RoleName="studio-emr-local-emr-runtime-other",
                                                AssumeRolePolicyDocument=json.dumps(other))
    iam.update_assume_role_policy(RoleName=role_name, PolicyDocument=json.dumps(other))
    try:
        report, _, text = run(workspace)
        [step] = failed(report)
        assert step.name == "assume the EMR role in 222222222222", text
        assert "AccessDenied" in step.evidence and "sts:AssumeRole" in step.evidence
        assert "assumed-role/studio-emr-local-sagemaker-execution" in step.evidence
    finally:
        iam.update_assume_role_policy(RoleName=role_name, PolicyDocument=json.dumps(original))
    assert run(workspace)[0].ok


def test_a_discovery_role_without_list_instances_cannot_resolve_the_primary_node(deployed, workspace):
    iam = emr_admin(deployed).client("iam")
    role_name = naming.discovery_role_name(load_env(ENV))
    original = iam.get_role_policy(RoleName=role_name, PolicyName=naming.DISCOVERY_POLICY)["PolicyDocument"]
    narrowed = json.loads(json.dumps(original))
    for statement in narrowed["Statement"]:
        if isinstance(statement["Action"], list):
            statement["Action"] = [a for a in statement["Action"] if a != "elasticmapreduce:ListInstances"]
    iam.put_role_policy(RoleName=role_name, PolicyName=naming.DISCOVERY_POLICY, PolicyDocument=json.dumps(narrowed))
    try:
        report, _, text = run(workspace)
        [step] = failed(report)
        assert step.name.startswith("connect to Livy"), text
        assert "list-instances" in step.evidence and "AccessDenied" in step.evidence
        # verify reads the same live policy and agrees, without launching anything.
        checks = verify(ENV, workspace=workspace)
        assert [c.name for c in checks.checks if not c.ok] == ["EMR role in 222222222222 allows the connect path"]
        assert "missing ['elasticmapreduce:ListInstances']" in checks.to_json()
    finally:
        iam.put_role_policy(RoleName=role_name, PolicyName=naming.DISCOVERY_POLICY, PolicyDocument=json.dumps(original))
    assert run(workspace)[0].ok


def test_a_route_to_a_rejected_peering_is_named_with_its_state(deployed, workspace):
    """Last: a second request, rejected by the EMR account, with the Studio route moved to it."""
    env = load_env(ENV)
    studio_ec2 = deployed.studio().client("ec2")
    emr_ec2 = emr_admin(deployed).client("ec2")
    live = next(c for c in studio_ec2.describe_vpc_peering_connections()["VpcPeeringConnections"] if c["Status"]["Code"] == "active")
    request = studio_ec2.create_vpc_peering_connection(
        VpcId=live["RequesterVpcInfo"]["VpcId"], PeerVpcId=live["AccepterVpcInfo"]["VpcId"],
        PeerOwnerId=live["AccepterVpcInfo"]["OwnerId"])["VpcPeeringConnection"]["VpcPeeringConnectionId"]
    emr_ec2.reject_vpc_peering_connection(VpcPeeringConnectionId=request)
    destination = env.environment.emr_accounts[0].network.cidr
    for table in studio_ec2.describe_route_tables()["RouteTables"]:
        if any(r.get("DestinationCidrBlock") == destination for r in table["Routes"]):
            studio_ec2.replace_route(RouteTableId=table["RouteTableId"], DestinationCidrBlock=destination,
                                     VpcPeeringConnectionId=request)
    report, _, text = run(workspace)
    [step] = failed(report)
    assert "blocked at VPC peering connection" in step.evidence, text
    assert f"{request} is rejected" in step.evidence
