"""What the emulator's own tests share: a fresh emulator process, and sessions into its
simulated accounts entered the way the CLI enters them (orchestration.aws.accounts).

The emulator enforces IAM: an account is entered through its OrganizationAccountAccessRole,
which exists once the account is enrolled in the emulator's organization; ``account_session``
enrolls the account first, as the CLI does for every account of an environment.

Each test module starts its own emulator (moto's state is per process), so modules never
depend on each other's leftovers.

``left_behind`` lists what is left in an environment's accounts after a destroy, with each
service's own calls; tests/test_teardown.py and benchmarks/faults.py both check it.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

import boto3
import pytest

from orchestration.aws.accounts import Accounts
from orchestration.local import emulator as emulator_control
from orchestration.local.emulator import Emulator


def start_emulator(state_root: Path) -> Emulator:
    return emulator_control.ensure_running([], state_root, log=lambda line: None)


def stop_emulator(state_root: Path) -> None:
    emulator_control.stop(state_root)


def enroll(emulator: Emulator, *account_ids: str) -> None:
    """Enroll accounts in the emulator's organization (idempotent)."""
    emulator_control.enroll(emulator, list(account_ids))


def admin_session(region: str = "us-east-1") -> boto3.Session:
    """The organization administrator (user platform-admin of the management account)."""
    return emulator_control.admin_session(region)


def account_session(emulator: Emulator, account_id: str, region: str = "us-east-1") -> boto3.Session:
    """A session inside ``account_id`` with the rights of the account's access role (admin);
    the account is enrolled first if it is not yet."""
    from config.model import RoleCredentials
    from orchestration.aws.accounts import entered_session

    enroll(emulator, account_id)
    role_arn = f"arn:aws:iam::{account_id}:role/OrganizationAccountAccessRole"
    return entered_session(emulator, RoleCredentials(role_arn=role_arn), region)


@pytest.fixture(scope="module")
def emulator(tmp_path_factory):
    state_root = tmp_path_factory.mktemp("emulator")
    running = start_emulator(state_root)
    yield running
    stop_emulator(state_root)


def build_network(ec2, cidr: str, *, dns: bool = True, s3_endpoint: bool = True, nat: bool = True,
                  emr_endpoint: bool = False, region: str = "us-east-1") -> dict:
    """A VPC as users build one: a public subnet with the NAT gateway, a private subnet for EMR."""
    net = ipaddress.ip_network(cidr)
    public_cidr, private_cidr = (str(s) for s in list(net.subnets(new_prefix=24))[:2])
    vpc = ec2.create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsSupport={"Value": dns})
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": dns})
    public = ec2.create_subnet(VpcId=vpc, CidrBlock=public_cidr)["Subnet"]["SubnetId"]
    private = ec2.create_subnet(VpcId=vpc, CidrBlock=private_cidr)["Subnet"]["SubnetId"]
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    public_rt = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=public_rt, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    ec2.associate_route_table(RouteTableId=public_rt, SubnetId=public)
    private_rt = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.associate_route_table(RouteTableId=private_rt, SubnetId=private)
    if nat:
        allocation = ec2.allocate_address(Domain="vpc")["AllocationId"]
        nat_id = ec2.create_nat_gateway(SubnetId=public, AllocationId=allocation)["NatGateway"]["NatGatewayId"]
        ec2.create_route(RouteTableId=private_rt, DestinationCidrBlock="0.0.0.0/0", NatGatewayId=nat_id)
    if s3_endpoint:
        ec2.create_vpc_endpoint(VpcId=vpc, ServiceName=f"com.amazonaws.{region}.s3", VpcEndpointType="Gateway",
                                RouteTableIds=[private_rt])
    if emr_endpoint:
        ec2.create_vpc_endpoint(VpcId=vpc, ServiceName=f"com.amazonaws.{region}.elasticmapreduce",
                                VpcEndpointType="Interface", SubnetIds=[private], PrivateDnsEnabled=True)
    primary_sg = ec2.create_security_group(GroupName=f"emr-primary-{vpc}", Description="Livy from Studio",
                                           VpcId=vpc)["GroupId"]
    return {"vpc": vpc, "public": public, "private": private, "private_cidr": private_cidr, "primary_sg": primary_sg,
            "private_rt": private_rt}


def assert_shape(client, operation: str, response: dict) -> None:
    """Every key of the response is a member of botocore's output shape, recursively, and
    every enum value one of the shape's."""
    shape = client.meta.service_model.operation_model(operation).output_shape
    _check(shape, {k: v for k, v in response.items() if k != "ResponseMetadata"}, operation)


def _check(shape, value, where: str) -> None:
    if shape.type_name == "structure":
        assert isinstance(value, dict), where
        unknown = set(value) - set(shape.members)
        assert not unknown, f"{where}: {sorted(unknown)} not in {shape.name}"
        for key, item in value.items():
            _check(shape.members[key], item, f"{where}.{key}")
    elif shape.type_name == "list":
        assert isinstance(value, list), where
        for index, item in enumerate(value):
            _check(shape.member, item, f"{where}[{index}]")
    elif shape.type_name == "map":
        for key, item in value.items():
            _check(shape.value, item, f"{where}.{key}")
    elif getattr(shape, "enum", None):
        assert value in shape.enum, f"{where}: {value!r} not one of {shape.enum}"


# --- environments deployed by the tests ---------------------------------------------------------

# Peering connections in these states are gone, though EC2 still describes them for a while.
GONE_PEERING = ("deleted", "rejected", "failed", "expired")


def left_behind(accounts: Accounts) -> dict[str, dict[str, list[str]]]:
    """Everything of the kinds this project and its users make, per account id and kind, listed
    with each service's own calls (not orchestration.aws.inventory, whose findings it cross-checks):
    the network (VPCs, subnets, route tables, internet gateways, Elastic IPs, NAT gateways, VPC
    endpoints, peering connections, network interfaces, security groups), IAM roles and instance
    profiles, buckets, file systems, SageMaker domains and notebook instances, Service Catalog
    portfolios and provisioned products, EMR clusters and CloudFormation stacks. Excepted: the
    default VPC with its subnets, route tables and attached internet gateway, security groups named
    "default", service-linked roles, the organization's access role, and what the service reports
    as gone (deleted or failed NAT gateways, deleted endpoints, closed peering connections,
    terminated clusters, deleted stacks). Accounts with nothing left are left out: a clean
    environment gives {}."""
    env = accounts.env
    found = {}
    for account in [accounts.studio()] + [accounts.emr(a) for a in env.environment.emr_accounts]:
        ec2, iam, sagemaker = account.client("ec2"), account.client("iam"), account.client("sagemaker")
        catalog = account.client("servicecatalog")
        default_vpcs = {v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"] if v["IsDefault"]}
        kinds = {
            "vpcs": [v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"] if not v["IsDefault"]],
            "subnets": [s["SubnetId"] for s in ec2.describe_subnets()["Subnets"] if s["VpcId"] not in default_vpcs],
            "network interfaces": [n["NetworkInterfaceId"] for n in ec2.describe_network_interfaces()["NetworkInterfaces"]],
            "security groups": [g["GroupId"] for g in ec2.describe_security_groups()["SecurityGroups"] if g["GroupName"] != "default"],
            "route tables": [r["RouteTableId"] for r in ec2.describe_route_tables()["RouteTables"] if r.get("VpcId") not in default_vpcs],
            "internet gateways": [g["InternetGatewayId"] for g in ec2.describe_internet_gateways()["InternetGateways"]
                                  if not {a.get("VpcId") for a in g.get("Attachments", [])} & default_vpcs],
            "elastic IPs": [a.get("AllocationId") or a["PublicIp"] for a in ec2.describe_addresses()["Addresses"]],
            "NAT gateways": [n["NatGatewayId"] for n in ec2.describe_nat_gateways()["NatGateways"] if n["State"] not in ("deleted", "failed")],
            "VPC endpoints": [e["VpcEndpointId"] for e in ec2.describe_vpc_endpoints()["VpcEndpoints"] if e["State"].lower() != "deleted"],
            "peering": [c["VpcPeeringConnectionId"] for c in ec2.describe_vpc_peering_connections()["VpcPeeringConnections"]
                        if c["Status"]["Code"] not in GONE_PEERING],
            "roles": [r["RoleName"] for r in iam.list_roles()["Roles"] if not r["Path"].startswith("/aws-service-role/")
                      and r["RoleName"] != "OrganizationAccountAccessRole"],
            "instance profiles": [p["InstanceProfileName"] for p in iam.list_instance_profiles()["InstanceProfiles"]],
            "buckets": [b["Name"] for b in account.client("s3").list_buckets()["Buckets"]],
            "file systems": [f["FileSystemId"] for f in account.client("efs").describe_file_systems()["FileSystems"]],
            "domains": [d["DomainId"] for d in sagemaker.list_domains()["Domains"]],
            "notebook instances": [n["NotebookInstanceName"] for n in sagemaker.list_notebook_instances()["NotebookInstances"]],
            "portfolios": [p["Id"] for p in catalog.list_portfolios()["PortfolioDetails"]],
            "provisioned products": [p["Id"] for p in catalog.search_provisioned_products(
                AccessLevelFilter={"Key": "Account", "Value": "self"})["ProvisionedProducts"]],
            "clusters": [c["Id"] for c in account.client("emr").list_clusters(
                ClusterStates=["STARTING", "BOOTSTRAPPING", "RUNNING", "WAITING", "TERMINATING"])["Clusters"]],
            "stacks": [s["StackName"] for s in account.client("cloudformation").list_stacks()["StackSummaries"]
                       if s["StackStatus"] != "DELETE_COMPLETE"],
        }
        found[account.account_id] = {kind: items for kind, items in kinds.items() if items}
    return {account: kinds for account, kinds in found.items() if kinds}

ROOT = Path(__file__).resolve().parent.parent


def write_local_variant(directory: Path, name: str, change=None) -> None:
    """envs/local.yaml under another name and domain, written to ``directory``. Its EKS section is
    left out: that cluster is a platform team's, stood up apart (`emulator eks-cluster`), and the
    jobs' bucket names are global. ``change(data)`` edits the rest in place."""
    from config import ENVS_DIR, yamlio

    data = yamlio.load(ENVS_DIR / "local.yaml")
    data["environment"]["name"] = name
    data["environment"]["domain"]["name"] = f"studio-{name}"
    data["environment"].pop("kubernetes", None)
    data["promoted"].pop("kubernetes", None)
    if change is not None:
        change(data)
    (directory / f"{name}.yaml").write_text(yamlio.dump(data))


def start_deploy(name: str, workspace, envs_dir: Path | None = None, *, refresh: bool = False, preamble: str = ""):
    """A deploy in its own process and session (so that a test can interrupt or kill it), printing
    each log line as it comes."""
    import os
    import subprocess
    import sys

    envs = f", envs_dir=Path({str(envs_dir)!r})" if envs_dir else ""
    code = (
        f"{preamble}import sys; from pathlib import Path; sys.path.insert(0, {str(ROOT)!r});"
        "from orchestration.deploy import deploy; from orchestration.terraform.synth import Workspace;"
        f"deploy({name!r}, refresh={refresh!r}, workspace=Workspace(Path({str(workspace.out_root)!r}), "
        f"Path({str(workspace.state_root)!r})){envs}, log=lambda l: print(l, flush=True))"
    )
    return subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
