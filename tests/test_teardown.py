"""Issue 7: a destroy that leaves nothing behind, on an emulator whose domain has AWS's side
effects (home EFS with mount targets in the subnets, two NFS groups referencing each other, spaces,
asynchronous deletes), whose EMR adds its own rules to its groups, and whose EC2 refuses to delete
what still has dependents. Deployed with real Terraform; what users create is created as users do
(a JupyterLab space with an app, a Classic app, a cluster launched from the product by the Studio
execution role). Each test deploys its own environment."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest

from config import load_env
from orchestration.aws.accounts import Accounts
from orchestration.aws.inventory import ORPHAN, RETAINED, inventory
from orchestration.aws.journey import _Journey
from orchestration.aws.teardown import ClustersRunning, Teardown
from orchestration.aws.verify import verify
from orchestration.deploy import deploy, destroy
from orchestration.local import emulator as emulator_control
from orchestration.terraform.synth import Workspace
from tests.emulator_support import left_behind, start_deploy, write_local_variant

pytestmark = [pytest.mark.terraform, pytest.mark.emulator, pytest.mark.timeout(900)]
STEP_NAMES = [name for name, _ in Teardown(None, None, print).steps]  # type: ignore[arg-type]


class Interrupted(Exception):
    """Stands for a Ctrl-C or a lost runner between two steps of the teardown."""


def write_env(directory: Path, name: str, retention: str) -> None:
    def retain(data: dict) -> None:
        data["promoted"]["home_efs_retention"] = retention

    write_local_variant(directory, name, retain)


@pytest.fixture(scope="module")
def envs_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("envs")
    write_env(directory, "gone", "Delete")
    write_env(directory, "kept", "Retain")
    write_env(directory, "killed", "Delete")
    return directory


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("teardown")
    space = Workspace(out_root=root / "cdktf.out", state_root=root / "state")
    yield space
    emulator_control.stop(space.state_root)


def accounts(name: str, workspace: Workspace, envs_dir: Path) -> Accounts:
    return Accounts(load_env(name, envs_dir), emulator_control.current(workspace.state_root))


def use_studio_as_users_do(name: str, workspace: Workspace, envs_dir: Path) -> str:
    """A JupyterLab space with a running app, a Classic app, and a cluster launched from the
    product by the data scientist; returns the cluster id."""
    env = load_env(name, envs_dir)
    session = accounts(name, workspace, envs_dir)
    sagemaker = session.studio().client("sagemaker")
    domain_id = sagemaker.list_domains()["Domains"][0]["DomainId"]
    user = env.environment.domain.user_profiles[0]
    sagemaker.create_space(DomainId=domain_id, SpaceName="analysis", OwnershipSettings={"OwnerUserProfileName": user},
                           SpaceSharingSettings={"SharingType": "Private"}, SpaceSettings={"AppType": "JupyterLab"})
    sagemaker.create_app(DomainId=domain_id, SpaceName="analysis", AppType="JupyterLab", AppName="default")
    sagemaker.create_app(DomainId=domain_id, UserProfileName=user, AppType="JupyterServer", AppName="default")
    journey = _Journey(env, session, user, log=lambda line: None)
    journey.become_data_scientist()
    account = env.environment.emr_accounts[0]
    emr_session = journey.emr_session(account, journey.discover())
    cluster = journey.launch(account, emr_session, journey.find_template(account, emr_session), timeout=120)
    return cluster.cluster_id


def interrupt_after(monkeypatch, step_name: str) -> None:
    """The next destroy stops right after the teardown step of this name."""
    original = Teardown.steps

    def steps(self):
        chosen = []
        for name, step in original.fget(self):
            def run(step=step, name=name):
                step()
                if name == step_name:
                    raise Interrupted(name)
            chosen.append((name, run))
        return chosen

    monkeypatch.setattr(Teardown, "steps", property(steps))


def test_destroy_removes_everything_users_and_aws_made_even_when_interrupted_at_each_step(workspace, envs_dir, monkeypatch):
    name = "gone"
    deploy(name, workspace=workspace, log=lambda line: None, envs_dir=envs_dir)
    cluster_id = use_studio_as_users_do(name, workspace, envs_dir)
    session = accounts(name, workspace, envs_dir)
    studio_ec2 = session.studio().client("ec2")
    nfs = [g for g in studio_ec2.describe_security_groups()["SecurityGroups"] if "-nfs-" in g["GroupName"]]
    assert len(nfs) == 2, "CreateDomain made the two NFS groups"
    before = inventory(name, workspace, envs_dir)
    assert not before.orphans
    outside = {(i.kind, i.id) for i in before.outside_terraform()}
    assert {("sagemaker space", "analysis"), ("sagemaker app", "JupyterLab/default"),
            ("sagemaker app", "JupyterServer/default"), ("EMR cluster", cluster_id)} <= outside
    assert sum(1 for kind, _ in outside if kind == "sagemaker NFS security group") == 2

    # A running cluster: refused, before anything is deleted.
    with pytest.raises(ClustersRunning) as refused:
        destroy(name, workspace=workspace, log=lambda line: None, envs_dir=envs_dir)
    assert cluster_id in str(refused.value) and f"destroy --env {name} --terminate-clusters" in str(refused.value)
    emr = session.emr(session.env.environment.emr_accounts[0]).client("emr")
    assert emr.describe_cluster(ClusterId=cluster_id)["Cluster"]["Status"]["State"] in ("RUNNING", "WAITING")
    assert session.studio().client("sagemaker").list_domains()["Domains"]

    # Interrupted after each step in turn; every run re-does what is left and goes one step further.
    for step_name in STEP_NAMES:
        interrupt_after(monkeypatch, step_name)
        with pytest.raises(Interrupted):
            destroy(name, workspace=workspace, log=lambda line: None, envs_dir=envs_dir, terminate_clusters=True)
        monkeypatch.undo()
    assert emr.describe_cluster(ClusterId=cluster_id)["Cluster"]["Status"]["State"] == "TERMINATED"
    assert session.studio().client("sagemaker").list_domains()["Domains"] == []
    assert session.studio().client("efs").describe_file_systems()["FileSystems"] == []

    lines: list[str] = []
    report = destroy(name, workspace=workspace, log=lines.append, envs_dir=envs_dir, terminate_clusters=True)
    assert report.teardown.retained == []
    assert left_behind(session) == {}
    after = inventory(name, workspace, envs_dir)
    assert after.items == [], after.render()


def test_retain_keeps_only_the_home_efs_and_says_how_to_delete_it(workspace, envs_dir):
    name = "kept"
    deploy(name, workspace=workspace, log=lambda line: None, envs_dir=envs_dir)
    session = accounts(name, workspace, envs_dir)
    sagemaker = session.studio().client("sagemaker")
    domain = sagemaker.describe_domain(DomainId=sagemaker.list_domains()["Domains"][0]["DomainId"])
    # A launch CloudFormation refused leaves a provisioned product in ERROR, with no cluster: it does
    # not hold destroy up, and destroy terminates it.
    env = load_env(name, envs_dir)
    journey = _Journey(env, session, env.environment.domain.user_profiles[0], log=lambda line: None)
    journey.become_data_scientist()
    account = env.environment.emr_accounts[0]
    catalog = journey.client(journey.emr_session(account, journey.discover()), "servicecatalog")
    product = journey.find_template(account, journey.emr_session(account, journey.discover()))
    path = catalog.list_launch_paths(ProductId=product["ProductId"])["LaunchPathSummaries"][0]["Id"]
    artifact = catalog.describe_product(Id=product["ProductId"])["ProvisioningArtifacts"][-1]["Id"]
    record = catalog.provision_product(ProductId=product["ProductId"], ProvisioningArtifactId=artifact, PathId=path,
                                       ProvisionedProductName="refused", ProvisionToken="refused-1",
                                       ProvisioningParameters=[{"Key": "InstanceType", "Value": "x1e.32xlarge"}])
    assert journey._wait_for_record(catalog, record["RecordDetail"]["RecordId"], 60)["Status"] == "FAILED"
    report = destroy(name, workspace=workspace, log=lambda line: None, envs_dir=envs_dir)
    assert report.teardown.terminated_clusters == [record["RecordDetail"]["ProvisionedProductId"]]
    [retained] = report.teardown.retained
    assert retained.file_system_id == domain["HomeEfsFileSystemId"]
    assert f"aws efs delete-file-system --file-system-id {retained.file_system_id}" in retained.command
    assert left_behind(session) == {session.env.environment.studio_account.account_id:
                                    {"file systems": [retained.file_system_id]}}
    after = inventory(name, workspace, envs_dir)
    assert [(i.category, i.id) for i in after.items] == [(RETAINED, retained.file_system_id)], after.render()
    # A second destroy finds it again and reports it again; it deletes nothing more.
    again = destroy(name, workspace=workspace, log=lambda line: None, envs_dir=envs_dir)
    assert [r.file_system_id for r in again.teardown.retained] == [retained.file_system_id]
    session.studio().client("efs").delete_file_system(FileSystemId=retained.file_system_id)


def test_what_an_apply_killed_with_sigkill_created_is_found_then_adopted_not_duplicated(workspace, envs_dir):
    name = "killed"
    process = start_deploy(name, workspace, envs_dir)
    seen, killed = [], False
    for line in process.stdout:
        seen.append(line)
        # A few resources of the EMR stack created, long before Terraform persists its state.
        if line.startswith("[emr-account] 3/"):
            os.killpg(process.pid, signal.SIGKILL)
            killed = True
            break
    process.wait(timeout=60)
    assert killed, "the EMR stack never got going: " + "".join(seen)
    found = inventory(name, workspace, envs_dir)
    assert found.orphans, found.render()
    for orphan in found.orphans:
        assert orphan.category == ORPHAN and orphan.remove, orphan
        assert orphan.owner in ("emr-account", "studio-account", "studio-account-kubernetes"), orphan
    assert '"orphans": %d' % len(found.orphans) in found.to_json()
    # The next deploy imports the orphans instead of creating them again (issue 9).
    lines: list[str] = []
    deploy(name, workspace=workspace, log=lines.append, envs_dir=envs_dir)
    adopted = [line for line in lines if " adopting " in line]
    assert len(adopted) >= 1, "\n".join(lines)
    assert not inventory(name, workspace, envs_dir).orphans
    session = accounts(name, workspace, envs_dir)
    for account in [session.studio()] + [session.emr(a) for a in session.env.environment.emr_accounts]:
        names = [t["Value"] for v in account.client("ec2").describe_vpcs()["Vpcs"] for t in v.get("Tags", []) if t["Key"] == "Name"]
        assert len(names) == len(set(names)), f"a VPC was created twice in {account.label}: {names}"
    assert verify(name, workspace=workspace, envs_dir=envs_dir).ok
    # The module's environments share the EMR account and its unprefixed default roles: leave none.
    destroy(name, workspace=workspace, log=lambda line: None, envs_dir=envs_dir)


def test_routes_associations_and_constraints_an_apply_never_recorded_are_adopted_not_created_again(workspace, envs_dir, monkeypatch):
    """Untagged resources AWS refuses to create twice (CreateRoute: RouteAlreadyExists;
    CreateConstraint: DuplicateResourceException) that exist but are missing from state, as after a
    kill between the create call and the state write, are found in their parent and imported."""
    from orchestration.terraform.synth import synth_env
    from orchestration.terraform.runner import Terraform

    name = "children"
    write_env(envs_dir, name, "Delete")
    deploy(name, workspace=workspace, log=lambda line: None, envs_dir=envs_dir)
    session = accounts(name, workspace, envs_dir)
    result = synth_env(session.env, workspace)
    forgotten = {}
    for stack, kind in (("studio-account-link", "aws_route"), ("emr-account-link", "aws_route"),
                        ("emr-account", "aws_route_table_association"), ("emr-account", "aws_servicecatalog_constraint")):
        terraform = Terraform(stack, result.stack_dir(stack), session.terraform_env())
        address = next(r.address for r in terraform.state_resources() if r.type == kind)
        removed = terraform._run(["state", "rm", address])
        assert removed.returncode == 0, removed.stderr
        forgotten.setdefault(stack, []).append(address)
    lines: list[str] = []
    report = deploy(name, refresh=True, workspace=workspace, log=lines.append, envs_dir=envs_dir)
    for stack, addresses in forgotten.items():
        for address in addresses:
            assert any(line.startswith(f"[{stack}] adopting ") and f" as {address}:" in line for line in lines), "\n".join(lines)
    for outcome in report.outcomes:
        assert outcome.summary.add == 0, (outcome.stack, outcome.summary, "\n".join(lines))
    assert verify(name, workspace=workspace, envs_dir=envs_dir).ok
    # A create AWS carried out but whose answer was lost (a reset connection) is retried by the
    # provider and refused as a duplicate, after the check before the apply found nothing to
    # adopt: the apply fails, what it left is adopted, and the stack is applied once more.
    from orchestration.aws import adoption

    link = Terraform("studio-account-link", result.stack_dir("studio-account-link"), session.terraform_env())
    route = next(r.address for r in link.state_resources() if r.type == "aws_route")
    assert link._run(["state", "rm", route]).returncode == 0
    real_adopt, checks = adoption.adopt, []

    def route_appears_after_the_check(env, accounts_, result_, stack, terraform, log):
        checks.append(stack)
        if stack == "studio-account-link" and checks.count(stack) == 1:
            return 0
        return real_adopt(env, accounts_, result_, stack, terraform, log)

    monkeypatch.setattr(adoption, "adopt", route_appears_after_the_check)
    lines = []
    deploy(name, refresh=True, workspace=workspace, log=lines.append, envs_dir=envs_dir)
    again = [line for line in lines if line.startswith("[studio-account-link] applying again: the first run failed (")]
    assert len(again) == 1 and "RouteAlreadyExists" in again[0], "\n".join(lines)
    assert any(line.startswith("[studio-account-link] adopting ") and f" as {route}:" in line for line in lines), "\n".join(lines)
    assert checks.count("studio-account-link") == 2
    monkeypatch.setattr(adoption, "adopt", real_adopt)
    assert verify(name, workspace=workspace, envs_dir=envs_dir).ok
    # Issue 9 §1: the emulator target applies without asking, but says the risky changes first.
    # Drift: someone narrowed the execution role's trust; the deploy widens it back.
    from stacks import naming

    role = naming.execution_role_name(session.env)
    session.studio().client("iam").update_assume_role_policy(RoleName=role, PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                                                "Action": "sts:AssumeRole"}]}))
    lines = []
    report = deploy(name, refresh=True, workspace=workspace, log=lines.append, envs_dir=envs_dir)
    assert [(r.stack, r.reason) for r in report.risks] == [
        ("studio-account", "trust policy widened to Service:sagemaker.amazonaws.com")], "\n".join(lines)
    flagged = [line for line in lines if line.startswith("[studio-account] RISKY ")]
    assert len(flagged) == 1 and role in flagged[0], "\n".join(lines)
    assert lines.index(flagged[0]) < max(i for i, line in enumerate(lines) if line.startswith("[studio-account] done in"))
    # A destroy adopts what its stacks' states lost, and destroys it with them: a subnet left out
    # would hold its VPC (DependencyViolation, retried by the provider for 20 minutes).
    emr = Terraform("emr-account", result.stack_dir("emr-account"), session.terraform_env())
    subnet = next(r.address for r in emr.state_resources() if r.type == "aws_subnet")
    assert emr._run(["state", "rm", subnet]).returncode == 0
    lines = []
    destroy(name, workspace=workspace, log=lines.append, envs_dir=envs_dir)
    assert any(line.startswith("[emr-account] adopting subnet-") and f" as {subnet}:" in line for line in lines), "\n".join(lines)
    assert inventory(name, workspace, envs_dir).items == []
