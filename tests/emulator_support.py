"""What the emulator's own tests share: a fresh emulator process, and sessions into its
simulated accounts entered the way the CLI enters them (orchestration.accounts).

The emulator enforces IAM: an account is entered through its OrganizationAccountAccessRole,
which exists once the account is enrolled in the emulator's organization; ``account_session``
enrolls the account first, as the CLI does for every account of an environment.

Each test module starts its own emulator (moto's state is per process), so modules never
depend on each other's leftovers.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

import boto3
import pytest

from orchestration import emulator as emulator_control
from orchestration.emulator import Emulator


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
    from orchestration.accounts import entered_session

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

ROOT = Path(__file__).resolve().parent.parent


def write_local_variant(directory: Path, name: str, change=None) -> None:
    """envs/local.yaml under another name and domain, written to ``directory``. Its EKS section is
    left out: that cluster is a platform team's, stood up apart (`emulator eks-cluster`), and the
    jobs' bucket names are global. ``change(data)`` edits the rest in place."""
    import yaml

    from config import ENVS_DIR

    data = yaml.safe_load((ENVS_DIR / "local.yaml").read_text())
    data["environment"]["name"] = name
    data["environment"]["domain"]["name"] = f"studio-{name}"
    data["environment"].pop("kubernetes", None)
    data["promoted"].pop("kubernetes", None)
    if change is not None:
        change(data)
    (directory / f"{name}.yaml").write_text(yaml.safe_dump(data, sort_keys=False))


def start_deploy(name: str, workspace, envs_dir: Path | None = None, *, refresh: bool = False, preamble: str = ""):
    """A deploy in its own process and session (so that a test can interrupt or kill it), printing
    each log line as it comes."""
    import os
    import subprocess
    import sys

    envs = f", envs_dir=Path({str(envs_dir)!r})" if envs_dir else ""
    code = (
        f"{preamble}import sys; from pathlib import Path; sys.path.insert(0, {str(ROOT)!r});"
        "from orchestration.deploy import deploy; from orchestration.synth import Workspace;"
        f"deploy({name!r}, refresh={refresh!r}, workspace=Workspace(Path({str(workspace.out_root)!r}), "
        f"Path({str(workspace.state_root)!r})){envs}, log=lambda l: print(l, flush=True))"
    )
    return subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
