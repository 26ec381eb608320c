"""Hub and spoke for real: a copy of `local` whose Studio account peers with two EMR accounts,
applied by real Terraform on the embedded emulator, verified through the live APIs, torn down.

With one peering per EMR account, every wait and check must find the connection of its own
account: the handshake matches a connection by its tags, accepter owner and accepter VPC."""

from __future__ import annotations

import pytest

from config import load_env
from orchestration.aws.accounts import Accounts
from orchestration.aws.handshake import live_connections
from orchestration.aws.verify import verify
from orchestration.deploy import deploy, destroy
from orchestration.local import emulator as emulator_control
from orchestration.terraform.synth import Workspace
from tests.emulator_support import write_local_variant
from tests.test_emulator_deploy import inventory

pytestmark = [pytest.mark.terraform, pytest.mark.emulator, pytest.mark.timeout(1800)]
ENV = "hub"
SPOKE = {"name": "analytics", "account_id": "333333333333", "region": "us-east-1",
         "network": {"cidr": "3.0.0.0/16", "private_subnet_cidrs": ["3.0.1.0/24"]}}


@pytest.fixture(scope="module")
def envs_dir(tmp_path_factory):
    """envs/local.yaml with a second EMR account (IRSA is not what a hub changes)."""
    directory = tmp_path_factory.mktemp("envs")
    write_local_variant(directory, ENV, lambda data: data["environment"]["emr_accounts"].append(SPOKE))
    return directory


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("hub")
    space = Workspace(out_root=root / "cdktf.out", state_root=root / "state")
    yield space
    emulator_control.stop(space.state_root)


@pytest.fixture(scope="module")
def deployed(workspace, envs_dir):
    lines: list[str] = []
    report = deploy(ENV, workspace=workspace, log=lines.append, envs_dir=envs_dir)
    return report, lines


def accounts(workspace, envs_dir) -> Accounts:
    return Accounts(load_env(ENV, envs_dir), emulator_control.current(workspace.state_root))


def test_the_hub_peers_with_each_emr_account_through_its_own_connection(deployed, workspace, envs_dir):
    report, lines = deployed
    stacks = [o.stack for o in report.outcomes]
    for stack in ("emr-account", "emr-account-analytics", "emr-account-link", "emr-account-analytics-link"):
        assert stack in stacks
    env = load_env(ENV, envs_dir)
    connections = live_connections(env, accounts(workspace, envs_dir))
    assert {key: c["AccepterVpcInfo"]["OwnerId"] for key, c in connections.items()} == \
        {"emr-account": "222222222222", "emr-account-analytics": "333333333333"}
    assert len({c["VpcPeeringConnectionId"] for c in connections.values()}) == 2
    assert all(c["Status"]["Code"] == "active" for c in connections.values())
    # The handshake waited on both connections, each under its own account's stack.
    for key, connection in connections.items():
        assert f"peering {connection['VpcPeeringConnectionId']} ({key}): active" in lines


def test_verify_passes_every_check_for_both_emr_accounts(deployed, workspace, envs_dir):
    report = verify(ENV, workspace=workspace, envs_dir=envs_dir)
    assert report.ok, report.to_json()
    names = " | ".join(c.name for c in report.checks)
    for account in ("222222222222", "333333333333"):
        for expected in (f"peering to {account} is active", f"peering to {account}: private DNS resolution on both sides",
                         f"peering to {account}: Studio subnets route", f"peering to {account}: EMR subnets route",
                         f"EMR SG in {account} admits ports", f"EMR role in {account} trusts the Studio execution role"):
            assert expected in names


def test_a_redeploy_of_the_hub_changes_nothing(deployed, workspace, envs_dir):
    report = deploy(ENV, refresh=True, workspace=workspace, log=lambda line: None, envs_dir=envs_dir)
    assert not report.changed, "a re-plan of the hub against the live resources found differences"


def test_destroy_leaves_nothing_behind_in_any_account(deployed, workspace, envs_dir):
    session = accounts(workspace, envs_dir)
    destroy(ENV, workspace=workspace, log=lambda line: None, envs_dir=envs_dir)
    env = load_env(ENV, envs_dir)
    for account in [session.studio()] + [session.emr(a) for a in env.environment.emr_accounts]:
        assert inventory(account) == {}, f"left behind in {account.label}"
