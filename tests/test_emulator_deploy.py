"""The product's main job, for real: two simulated accounts on the embedded emulator, applied by
real Terraform through the orchestrator, checked through the live APIs, then torn down."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from config import load_env, yamlio
from config.loader import parse
from orchestration.aws.accounts import Accounts
from orchestration.aws.handshake import live_connections
from orchestration.aws.kubernetes import create_emulator_cluster
from orchestration.aws.verify import verify
from orchestration.deploy import deploy, destroy
from orchestration.local import emulator as emulator_control
from orchestration.review.plan import plan
from orchestration.review.report import EXIT_NO_CHANGES
from orchestration.terraform.runner import Terraform
from orchestration.terraform.synth import Workspace, synth, synth_env
from tests.emulator_support import start_deploy

pytestmark = [pytest.mark.terraform, pytest.mark.emulator]
ROOT = Path(__file__).resolve().parent.parent
ENV = "local"


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("emulator")
    space = Workspace(out_root=root / "cdktf.out", state_root=root / "state")
    yield space
    emulator_control.stop(space.state_root)


@pytest.fixture(scope="module")
def deployed(workspace):
    lines: list[str] = []
    # The EKS cluster local's kubernetes section names exists before the project (IAM-6).
    create_emulator_cluster(ENV, workspace.state_root, log=lines.append)
    report = deploy(ENV, workspace=workspace, log=lines.append)
    return report, lines


def synthesized_resources(workspace) -> int:
    """How many resources the stacks declare: what a first deploy adds and destroy removes."""
    result = synth(ENV, workspace)
    return sum(len(items) for stack in result.stacks for items in result.stack_json(stack).get("resource", {}).values())


def accounts(workspace) -> Accounts:
    return Accounts(load_env(ENV), emulator_control.current(workspace.state_root))


def test_first_deploy_applies_every_stack_in_handshake_order(deployed, workspace):
    report, lines = deployed
    assert report.changed
    assert [o.stack for o in report.outcomes][-3:] == ["studio-account-peering", "emr-account-link", "studio-account-link"]
    assert sum(o.summary.add for o in report.outcomes) == synthesized_resources(workspace)
    pending = next(i for i, line in enumerate(lines) if line.endswith("pending-acceptance"))
    accept = next(i for i, line in enumerate(lines) if line.startswith("[emr-account-link] applying"))
    active = next(i for i, line in enumerate(lines) if line.endswith(": active"))
    requester = next(i for i, line in enumerate(lines) if line.startswith("[studio-account-link] applying"))
    assert pending < accept < active < requester
    assert any("with the credentials of account 222222222222" in line for line in lines if line.startswith("[emr-account"))


def test_verify_passes_every_check(deployed, workspace):
    report = verify(ENV, workspace=workspace)
    assert report.ok, report.to_json()
    names = " | ".join(c.name for c in report.checks)
    for expected in ("is active", "private DNS resolution on both sides", "route", "admits ports [8998]",
                     "trusts the Studio execution role", "allows the connect path", "VPC-only", "lifecycle script",
                     "launch constraint", "admits audience sts.amazonaws.com",
                     "Kubernetes controller role trusts only system:serviceaccount:ack-system:ack-sagemaker-controller",
                     "a token for system:serviceaccount:ack-system:default is refused",
                     "may pass the job role only", "job role reaches the configured buckets only"):
        assert expected in names
    # 15 for Studio, the peering and the EMR account; 6 for IAM-6 (OIDC provider audience, the
    # trust's exact conditions, the right token admitted, the wrong one refused, PassRole, buckets).
    assert len(report.checks) == 21


def test_plan_of_the_deployed_environment_is_clean_and_passes_policy_checks(deployed, workspace):
    review = plan(ENV, workspace=workspace, log=lambda line: None)
    assert len([p for p in review.plans if p.plan is not None]) == 6
    assert review.unsuppressed_findings == [], review.to_markdown()
    assert review.exit_code == EXIT_NO_CHANGES, review.to_markdown()
    assert review.tally().startswith("6 stacks, 0 with changes, 0 risky changes, 0 failed, 0 policy findings")


def test_a_subnet_inserted_in_the_list_adds_resources_and_replaces_none(deployed, workspace, tmp_path):
    """Planned by real Terraform against the deployed state: a Studio subnet inserted in the
    middle of the list (named by position, the subnet after it would have been replaced) adds a
    subnet and its association and replaces nothing: no subnet, so no domain, no home
    directories, and no notebook instance (it stays in the first subnet of the list)."""
    data = yamlio.load(ROOT / "envs" / f"{ENV}.yaml")
    data["environment"]["studio_account"]["network"]["private_subnet_cidrs"].insert(1, "10.0.22.0/24")
    variant = Workspace(out_root=tmp_path / "cdktf.out", state_root=workspace.state_root)
    result = synth_env(parse(data, f"{ENV}.yaml"), variant)
    terraform = Terraform("studio-account", result.stack_dir("studio-account"), accounts(workspace).terraform_env())
    terraform.ensure_init()
    terraform.plan()
    changes = [c for c in terraform.show_plan().resource_changes if c.actions != ("no-op",)]
    actions = {(c.type, c.actions) for c in changes}
    assert not [c.address for c in changes if "delete" in c.actions], actions
    assert ("aws_subnet", ("create",)) in actions and ("aws_route_table_association", ("create",)) in actions
    # The domain's subnets follow through UpdateDomain after the apply, not through a replacement.
    assert "aws_sagemaker_domain" not in {kind for kind, _ in actions}


def test_redeploy_changes_nothing_and_says_so(deployed, workspace):
    lines: list[str] = []
    report = deploy(ENV, workspace=workspace, log=lines.append)
    assert not report.changed and all(o.skipped for o in report.outcomes)
    refreshed = deploy(ENV, refresh=True, workspace=workspace, log=lines.append)
    assert not refreshed.changed, "a re-plan against the live resources found differences"
    assert [o.skipped for o in refreshed.outcomes] == [False] * 6


def test_verify_catches_a_broken_path_and_refresh_repairs_it(deployed, workspace):
    emr = accounts(workspace).emr(load_env(ENV).environment.emr_accounts[0]).client("ec2")
    group = emr.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["studio-emr-local-emr-primary"]}])
    group_id = group["SecurityGroups"][0]["GroupId"]
    rules = emr.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [group_id]}])["SecurityGroupRules"]
    emr.revoke_security_group_ingress(GroupId=group_id, SecurityGroupRuleIds=[r["SecurityGroupRuleId"] for r in rules if not r["IsEgress"]])
    broken = verify(ENV, workspace=workspace)
    failed = [c.name for c in broken.checks if not c.ok]
    assert failed == ["EMR SG in 222222222222 admits ports [8998] from the Studio SG only"]
    repaired = deploy(ENV, refresh=True, workspace=workspace, log=lambda line: None)
    assert {o.stack: o.summary.add for o in repaired.outcomes if o.summary.add} == {"emr-account-link": 1}
    assert verify(ENV, workspace=workspace).ok


def test_a_peering_lost_from_state_is_adopted_not_duplicated(deployed, workspace):
    stack_dir = workspace.outdir(ENV) / "stacks" / "studio-account-peering"
    terraform = Terraform("studio-account-peering", stack_dir, accounts(workspace).terraform_env())
    address = next(a for a in terraform.state_addresses() if a.startswith("aws_vpc_peering_connection."))
    result = subprocess.run(["terraform", "state", "rm", address], cwd=stack_dir, env=terraform.env, capture_output=True)
    assert result.returncode == 0, result.stderr
    lines: list[str] = []
    deploy(ENV, refresh=True, workspace=workspace, log=lines.append)
    assert any("adopting pcx-" in line for line in lines)
    ec2 = accounts(workspace).studio().client("ec2")
    live = [c for c in ec2.describe_vpc_peering_connections()["VpcPeeringConnections"] if c["Status"]["Code"] == "active"]
    assert len(live) == 1
    assert verify(ENV, workspace=workspace).ok


def test_interrupted_deploy_converges_on_the_next(deployed, workspace):
    """Ctrl-C in the middle of an apply; the next deploy finishes with no duplicate and verify passes."""
    # Force the Studio stack to change: a user profile removed behind Terraform's back.
    sagemaker = accounts(workspace).studio().client("sagemaker")
    domain_id = sagemaker.list_domains()["Domains"][0]["DomainId"]
    sagemaker.delete_user_profile(DomainId=domain_id, UserProfileName="data-scientist-1")
    # Python keeps SIGINT ignored when its parent ignored it (a background job of a
    # non-interactive shell, as CI may be); restore what an interactive user's Ctrl-C meets.
    process = start_deploy(ENV, workspace, refresh=True,
                           preamble="import signal; signal.signal(signal.SIGINT, signal.default_int_handler);")
    seen, interrupted = [], False
    for line in process.stdout:
        seen.append(line)
        if line.startswith("[studio-account] applying"):
            time.sleep(2)
            os.killpg(process.pid, signal.SIGINT)
            interrupted = True
            break
    assert interrupted, "the Studio stack was never applied: " + "".join(seen)
    rest, _ = process.communicate(timeout=300)
    assert process.returncode != 0, "the deploy was interrupted: " + "".join(seen) + rest
    report = deploy(ENV, workspace=workspace, log=lambda line: None)
    assert all(o.summary.remove == 0 for o in report.outcomes)
    assert verify(ENV, workspace=workspace).ok
    assert len(live_connections(load_env(ENV), accounts(workspace))) == 1


def test_destroy_leaves_nothing_behind(deployed, workspace):
    env = load_env(ENV)
    session = accounts(workspace)
    studio = session.studio()
    # A Studio app a user started: not Terraform's, and it would block the domain's deletion.
    sagemaker = studio.client("sagemaker")
    domain_id = sagemaker.list_domains()["Domains"][0]["DomainId"]
    sagemaker.create_app(DomainId=domain_id, UserProfileName="data-scientist-1", AppType="JupyterServer", AppName="default")
    report = destroy(ENV, workspace=workspace, log=lambda line: None)
    # The domain and its user profiles go before the stacks (with the app, which blocks them), so
    # Terraform finds them gone; everything else the stacks declare, Terraform destroys.
    outside = [item for item in report.teardown.deleted if item.startswith(("domain ", "user profile "))]
    assert len(outside) == 1 + len(env.environment.domain.user_profiles)
    assert sum(o.summary.remove for o in report.outcomes) == synthesized_resources(workspace) - len(outside)
    for account in (studio, session.emr(env.environment.emr_accounts[0])):
        assert inventory(account) == {}, f"left behind in {account.label}"


def inventory(account) -> dict:
    """Everything of this project's kinds in one account, default VPC resources excepted."""
    ec2, iam = account.client("ec2"), account.client("iam")
    found = {
        "vpcs": [v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"] if not v["IsDefault"]],
        "security groups": [g["GroupId"] for g in ec2.describe_security_groups()["SecurityGroups"] if g["GroupName"] != "default"],
        "peering": [c["VpcPeeringConnectionId"] for c in ec2.describe_vpc_peering_connections()["VpcPeeringConnections"]
                    if c["Status"]["Code"] not in ("deleted", "rejected", "failed", "expired")],
        "nat gateways": [n["NatGatewayId"] for n in ec2.describe_nat_gateways()["NatGateways"] if n["State"] != "deleted"],
        # AWS lists a deleted endpoint for a while, in state "deleted"; so does the emulator.
        "endpoints": [e["VpcEndpointId"] for e in ec2.describe_vpc_endpoints()["VpcEndpoints"] if e["State"].lower() != "deleted"],
        "addresses": [a["AllocationId"] for a in ec2.describe_addresses()["Addresses"]],
        "roles": [r["RoleName"] for r in iam.list_roles()["Roles"] if not r["Path"].startswith("/aws-service-role/")
                  and r["RoleName"] != "OrganizationAccountAccessRole"],
        "buckets": [b["Name"] for b in account.client("s3").list_buckets()["Buckets"]],
        "domains": [d["DomainId"] for d in account.client("sagemaker").list_domains()["Domains"]],
        "file systems": [f["FileSystemId"] for f in account.client("efs").describe_file_systems()["FileSystems"]],
        "network interfaces": [n["NetworkInterfaceId"] for n in ec2.describe_network_interfaces()["NetworkInterfaces"]],
        "lifecycle configs": [c["StudioLifecycleConfigName"]
                              for c in account.client("sagemaker").list_studio_lifecycle_configs()["StudioLifecycleConfigs"]],
        "portfolios": [p["Id"] for p in account.client("servicecatalog").list_portfolios()["PortfolioDetails"]],
        "OIDC providers": [p["Arn"] for p in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]],
    }
    return {kind: items for kind, items in found.items() if items}
