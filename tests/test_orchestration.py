"""Orchestration without Terraform: stack ordering, the environment lock, account access and
the peering handshake's failure modes, against a real emulator where an API is involved."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from config import ENVS_DIR, StudioEmrError, yamlio
from config.loader import parse
from orchestration.local import emulator as emulator_control
from orchestration.aws.accounts import AccountAccessError, Accounts
from orchestration.deploy import (CONCURRENCY_VARIABLE, MAX_TERRAFORM_RUNS, TERRAFORM_RUN_MB, RunReport, StackOutcome,
                                  StacksFailed, _Run, deploy, terraform_concurrency, waves)
from orchestration.aws.handshake import PeeringError, wait_for
from orchestration.local.lock import EnvironmentLock, EnvironmentLocked
from orchestration.terraform.runner import GO_MEMORY_LIMIT, terraform_env
from orchestration.terraform.synth import Workspace
from orchestration.terraform.tfjson import ChangeSummary
from stacks import naming


@pytest.fixture(scope="module")
def emulator(tmp_path_factory):
    state_root = tmp_path_factory.mktemp("orchestration-emulator")
    running = emulator_control.ensure_running([], state_root, log=lambda line: None)
    yield running
    emulator_control.stop(state_root)


def local_with(**changes):
    data = yamlio.load(ENVS_DIR / "local.yaml")
    for path, value in changes.items():
        node = data
        keys = path.split(".")
        for key in keys[:-1]:
            node = node[int(key)] if key.isdigit() else node[key]
        node[keys[-1]] = value
    return parse(data, "local.yaml")


def test_waves_run_independent_stacks_together_and_respect_dependencies():
    deps = {"studio-account": [], "emr-account": [], "studio-account-peering": ["studio-account", "emr-account"],
            "emr-account-link": ["studio-account-peering"], "studio-account-link": ["emr-account-link"]}
    assert waves(deps) == [["emr-account", "studio-account"], ["studio-account-peering"], ["emr-account-link"],
                           ["studio-account-link"]]
    assert waves(deps, ["studio-account-link", "studio-account"]) == [["studio-account"], ["studio-account-link"]]
    with pytest.raises(StudioEmrError, match="unknown stack"):
        waves(deps, ["nope"])
    with pytest.raises(StudioEmrError, match="cycle"):
        waves({"a": ["b"], "b": ["a"]})


def test_every_stack_of_a_wave_that_failed_is_reported_and_later_waves_never_run():
    ran = []

    def run_stack(stack: str, destroy: bool):
        ran.append(stack)
        if stack != "studio-account":
            raise StudioEmrError(f"[{stack}] apply failed: Error: RouteAlreadyExists")
        return stack

    run = object.__new__(_Run)
    run.concurrency, run.report, run.run_stack, run.weight = 2, RunReport("dev", "deploy"), run_stack, lambda stack: 1
    with pytest.raises(StacksFailed) as failed:
        run.walk([["emr-account", "emr-account-2", "studio-account"], ["studio-account-peering"]], False, lambda wave: None)
    assert [str(e) for e in failed.value.errors] == ["[emr-account] apply failed: Error: RouteAlreadyExists",
                                                    "[emr-account-2] apply failed: Error: RouteAlreadyExists"]
    assert str(failed.value).startswith("2 stacks failed:\n- [emr-account] apply failed")
    assert "studio-account-peering" not in ran and run.report.outcomes == ["studio-account"]


def test_a_report_says_how_long_each_number_of_stack_runs_went_at_once():
    """benchmarks/scale.py reads it to say where a deploy's time went: a run alone is a slot idle."""
    report = RunReport("dev", "deploy", started=100.0, seconds=60.0, outcomes=[
        StackOutcome("studio-account", ChangeSummary(1, 0, 0), 20.0, started=105.0),
        StackOutcome("emr-account", ChangeSummary(1, 0, 0), 30.0, started=105.0),
        StackOutcome("studio-account-peering", ChangeSummary(1, 0, 0), 10.0, started=140.0),
    ])
    assert report.runs_at_once() == {0: 5.0 + 5.0 + 10.0, 2: 20.0, 1: 10.0 + 10.0}
    assert sum(report.runs_at_once().values()) == pytest.approx(60.0)
    assert RunReport("dev", "deploy", started=1.0, seconds=2.0).runs_at_once() == {0: 2.0}


def test_terraform_runs_at_once_are_bounded_by_cpus_and_memory_unless_configured(monkeypatch):
    monkeypatch.delenv(CONCURRENCY_VARIABLE, raising=False)
    assert 1 <= terraform_concurrency() <= min(len(os.sched_getaffinity(0)), MAX_TERRAFORM_RUNS)
    page = 4096
    real_sysconf = os.sysconf
    # Memory for exactly two runs in a quarter of what is available.
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(64)))
    monkeypatch.setattr(os, "sysconf", lambda name: 8 * TERRAFORM_RUN_MB * 2**20 // page if name == "SC_AVPHYS_PAGES"
                        else page if name == "SC_PAGE_SIZE" else real_sysconf(name))
    assert terraform_concurrency() == 2
    monkeypatch.setenv(CONCURRENCY_VARIABLE, "3")
    assert terraform_concurrency() == 3
    for bad in ("0", "two", "-1"):
        monkeypatch.setenv(CONCURRENCY_VARIABLE, bad)
        with pytest.raises(StudioEmrError, match=f"{CONCURRENCY_VARIABLE}='{bad}': must be a whole number of at least 1"):
            terraform_concurrency()


def test_terraform_and_its_provider_run_under_a_go_memory_limit_unless_the_caller_set_one(monkeypatch):
    monkeypatch.delenv("GOMEMLIMIT", raising=False)
    assert terraform_env()["GOMEMLIMIT"] == GO_MEMORY_LIMIT == "120MiB"
    monkeypatch.setenv("GOMEMLIMIT", "1GiB")
    assert terraform_env()["GOMEMLIMIT"] == "1GiB"


def test_the_cdk_cli_exports_give_terraform_the_same_go_memory_limit(monkeypatch, tmp_path):
    from orchestration.local.cdk_cli import shell_exports

    monkeypatch.delenv("GOMEMLIMIT", raising=False)
    exports = shell_exports("dev", Workspace(tmp_path / "out", tmp_path), log=lambda line: None)  # an AWS target: no emulator
    assert f"export GOMEMLIMIT={GO_MEMORY_LIMIT}" in exports
    monkeypatch.setenv("GOMEMLIMIT", "1GiB")
    assert "export GOMEMLIMIT=1GiB" in shell_exports("dev", Workspace(tmp_path / "out", tmp_path), log=lambda line: None)


def test_the_emulator_runs_with_two_malloc_arenas(emulator):
    environ = Path(f"/proc/{emulator.pid}/environ").read_bytes().split(b"\0")
    assert b"MALLOC_ARENA_MAX=" + os.environ.get("MALLOC_ARENA_MAX", "2").encode() in environ


def test_a_second_deploy_of_the_same_environment_names_the_lock_holder(tmp_path):
    with EnvironmentLock(tmp_path, "local", "deploy"):
        with pytest.raises(EnvironmentLocked, match=r"environment 'local' is locked by `deploy` \(pid \d+ on .*started"):
            deploy("local", workspace=Workspace(tmp_path / "out", tmp_path), log=lambda line: None)
    assert not list((tmp_path / "local").glob("*.tfstate")), "nothing was applied"


@pytest.mark.parametrize("holder", ["deploy", "destroy"])
def test_a_plan_or_destroy_during_another_command_names_the_holder(tmp_path, holder):
    from orchestration.deploy import destroy
    from orchestration.review.plan import plan_env

    workspace = Workspace(tmp_path / "out", tmp_path)
    with EnvironmentLock(tmp_path, "local", holder):
        with pytest.raises(EnvironmentLocked, match=rf"environment 'local' is locked by `{holder}` \(pid \d+"):
            plan_env(local_with(), workspace=workspace, log=lambda line: None)
        with pytest.raises(EnvironmentLocked, match=rf"locked by `{holder}`"):
            destroy("local", workspace=workspace, log=lambda line: None)


def test_credentials_of_another_account_are_refused(emulator):
    # The emulator enforces IAM: the other account must exist (be enrolled) for its role to be assumable.
    emulator_control.enroll(emulator, ["333333333333"])
    other = "arn:aws:iam::333333333333:role/OrganizationAccountAccessRole"
    env = local_with(**{"environment.emr_accounts.0.credentials": {"role_arn": other}})
    with pytest.raises(AccountAccessError, match="EMR account 222222222222: the configured credentials belong to account 333333333333"):
        Accounts(env, emulator).preflight()


def test_a_missing_profile_is_named():
    env = local_with(**{"environment.target": "aws",
                        "environment.studio_account.credentials": {"profile": "no-such-profile-here"},
                        "environment.emr_accounts.0.credentials": {"profile": "no-such-profile-here"}})
    with pytest.raises(AccountAccessError, match="studio account 111111111111: .*no-such-profile-here"):
        Accounts(env, None).preflight()


def test_an_unreachable_endpoint_is_named():
    env = local_with()
    dead = emulator_control.Emulator(pid=0, port=9, url="http://127.0.0.1:9")
    with pytest.raises(AccountAccessError, match=r"studio account 111111111111: .*127\.0\.0\.1:9"):
        Accounts(env, dead).preflight()


def test_a_retried_add_role_to_instance_profile_succeeds_but_a_second_role_is_refused(emulator):
    iam = Accounts(local_with(), emulator).studio().client("iam")
    trust = '{"Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}'
    for name in ("retry-role", "other-role"):
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)
    iam.create_instance_profile(InstanceProfileName="retry-profile")
    iam.add_role_to_instance_profile(InstanceProfileName="retry-profile", RoleName="retry-role")
    iam.add_role_to_instance_profile(InstanceProfileName="retry-profile", RoleName="retry-role")
    with pytest.raises(iam.exceptions.LimitExceededException):
        iam.add_role_to_instance_profile(InstanceProfileName="retry-profile", RoleName="other-role")
    roles = iam.get_instance_profile(InstanceProfileName="retry-profile")["InstanceProfile"]["Roles"]
    assert [r["RoleName"] for r in roles] == ["retry-role"]


def test_removing_a_role_the_instance_profile_no_longer_holds_answers_no_such_entity(emulator):
    """What a destroy killed between RemoveRoleFromInstanceProfile and DeleteInstanceProfile meets when
    it runs again: AWS answers NoSuchEntity, which the provider takes as removed (moto answered 500)."""
    iam = Accounts(local_with(), emulator).studio().client("iam")
    trust = '{"Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}'
    iam.create_role(RoleName="removed-role", AssumeRolePolicyDocument=trust)
    iam.create_instance_profile(InstanceProfileName="removed-profile")
    iam.add_role_to_instance_profile(InstanceProfileName="removed-profile", RoleName="removed-role")
    iam.remove_role_from_instance_profile(InstanceProfileName="removed-profile", RoleName="removed-role")
    for role in ("removed-role", "no-such-role"):
        with pytest.raises(iam.exceptions.NoSuchEntityException):
            iam.remove_role_from_instance_profile(InstanceProfileName="removed-profile", RoleName=role)
    assert iam.get_instance_profile(InstanceProfileName="removed-profile")["InstanceProfile"]["Roles"] == []


def test_a_rejected_peering_request_stops_the_handshake(emulator):
    env = local_with()
    accounts = Accounts(env, emulator)
    studio_ec2 = accounts.studio().client("ec2")
    emr_ec2 = accounts.emr(env.environment.emr_accounts[0]).client("ec2")
    studio_vpc = studio_ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    # Named as the EMR stack names it: the handshake matches a connection by its accepter VPC too.
    emr_vpc = emr_ec2.create_vpc(CidrBlock="2.0.0.0/16", TagSpecifications=[
        {"ResourceType": "vpc", "Tags": [{"Key": "Name", "Value": f"{naming.emr_name(env, env.environment.emr_accounts[0])}-emr"}]},
    ])["Vpc"]["VpcId"]
    tags = [{"Key": k, "Value": v} for k, v in naming.peering_tags(env, env.environment.emr_accounts[0]).items()]
    pcx = studio_ec2.create_vpc_peering_connection(
        VpcId=studio_vpc, PeerVpcId=emr_vpc, PeerOwnerId="222222222222",
        TagSpecifications=[{"ResourceType": "vpc-peering-connection", "Tags": tags}],
    )["VpcPeeringConnection"]["VpcPeeringConnectionId"]
    assert wait_for(env, accounts, {"pending-acceptance"}, 10, log=lambda line: None) == {"emr-account": pcx}
    emr_ec2.reject_vpc_peering_connection(VpcPeeringConnectionId=pcx)
    with pytest.raises(PeeringError, match=f"peering {pcx} to EMR account 222222222222 is rejected"):
        wait_for(env, accounts, {"active"}, 10, log=lambda line: None)


def test_a_duplicate_request_is_deleted_or_named_and_the_connection_in_state_is_the_one_watched(emulator):
    """CreateVpcPeeringConnection has no idempotency token: a request retried after a lost answer
    leaves a second connection. The handshake watches the one the peering stack's state holds and
    deletes the other while it is pending acceptance; without the state's word it only names it,
    with the command that removes it."""
    env = local_with(**{"environment.name": "dup"})
    account = env.environment.emr_accounts[0]
    accounts = Accounts(env, emulator)
    studio_ec2 = accounts.studio().client("ec2")
    emr_ec2 = accounts.emr(account).client("ec2")
    studio_vpc = studio_ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    emr_vpc = emr_ec2.create_vpc(CidrBlock="2.0.0.0/16", TagSpecifications=[
        {"ResourceType": "vpc", "Tags": [{"Key": "Name", "Value": naming.emr_vpc_name(env, account)}]}])["Vpc"]["VpcId"]
    tags = [{"Key": k, "Value": v} for k, v in naming.peering_tags(env, account).items()]
    first, second = (studio_ec2.create_vpc_peering_connection(
        VpcId=studio_vpc, PeerVpcId=emr_vpc, PeerOwnerId="222222222222",
        TagSpecifications=[{"ResourceType": "vpc-peering-connection", "Tags": tags}],
    )["VpcPeeringConnection"]["VpcPeeringConnectionId"] for _ in range(2))
    lines: list[str] = []
    assert wait_for(env, accounts, {"pending-acceptance"}, 10, lines.append) == {"emr-account": first}
    assert any(line.startswith(f"peering {second} (emr-account, pending-acceptance) duplicates the one in state") and
               f"delete-vpc-peering-connection --vpc-peering-connection-id {second}" in line for line in lines), lines

    def status(pcx: str) -> str:
        return studio_ec2.describe_vpc_peering_connections(VpcPeeringConnectionIds=[pcx])["VpcPeeringConnections"][0]["Status"]["Code"]

    assert status(first) == status(second) == "pending-acceptance"
    lines = []
    assert wait_for(env, accounts, {"pending-acceptance"}, 10, lines.append, known={"emr-account": second}) == {"emr-account": second}
    assert lines[0] == (f"peering {first} (emr-account, pending-acceptance) duplicated {second}, the one in state (a "
                        "request retried after AWS had carried it out); never accepted, so deleted"), lines
    assert not [line for line in lines if line.startswith(f"peering {first} ") and line != lines[0]], lines
    assert status(first) == "deleted" and status(second) == "pending-acceptance"
    emr_ec2.accept_vpc_peering_connection(VpcPeeringConnectionId=second)
    assert wait_for(env, accounts, {"active"}, 10, lambda line: None, known={"emr-account": second}) == {"emr-account": second}
    # Without the state's word (verify, graph), an active connection is preferred to a pending one.
    assert wait_for(env, accounts, {"active"}, 10, lambda line: None) == {"emr-account": second}


def test_an_instance_profile_is_not_in_state_because_its_role_of_the_same_name_is(emulator):
    """EMR_EC2_DefaultRole names a role and an instance profile: a kill between the two creates
    leaves the profile outside state, and the role in state must not hide it (it did, and every
    later deploy failed with EntityAlreadyExists)."""
    from orchestration.aws.adoption import stack_orphans
    from orchestration.terraform.tfjson import StateResource

    env = local_with(**{"environment.name": "profile"})
    session = Accounts(env, emulator).emr(env.environment.emr_accounts[0])
    iam = session.client("iam")
    tags = [{"Key": "environment", "Value": "profile"}, {"Key": "managed-by", "Value": "studio-emr-infra"},
            {"Key": "stack", "Value": "emr-account"}]
    role = iam.create_role(RoleName="EMR_EC2_DefaultRole", AssumeRolePolicyDocument="{}", Tags=tags)["Role"]
    iam.create_instance_profile(InstanceProfileName="EMR_EC2_DefaultRole", Tags=tags)
    state = [StateResource("aws_iam_role.r", "aws_iam_role",
                           {"id": role["RoleName"], "name": role["RoleName"], "arn": role["Arn"]})]
    orphans = stack_orphans(session, env, "emr-account", {}, state)
    assert [(o.kind, o.id) for o in orphans] == [("aws_iam_instance_profile", "EMR_EC2_DefaultRole")]


def test_resources_are_named_as_a_person_knows_them(synthesized):
    from orchestration.local.progress import label

    local = synthesized("local")
    studio = local.stack_json("studio-account")
    domain = next(f"aws_sagemaker_domain.{k}" for k in studio["resource"]["aws_sagemaker_domain"])
    assert label(studio, domain) == "studio domain studio-local"
    peering = local.stack_json("studio-account-peering")
    address = next(f"aws_vpc_peering_connection.{k}" for k in peering["resource"]["aws_vpc_peering_connection"])
    assert label(peering, address) == "peering to 222222222222"
    subnet = next(f"aws_subnet.{k}" for k in studio["resource"]["aws_subnet"] if "10-0-20-0" in k)
    assert label(studio, subnet) == "subnet studio-emr-local-studio-private-us-east-1a"


def test_an_adopted_security_group_loses_the_default_egress_rule_the_provider_would_have_revoked(emulator):
    """A group created by an interrupted apply (CreateSecurityGroup answered but never recorded,
    as benchmarks/faults.py --flaky met it) still holds EC2's allow-all egress rule; the stack's
    own allow-all rule would be refused as a duplicate on every apply. Adoption revokes it, unless a
    rule resource of the stack is that rule."""
    from orchestration.aws.adoption import _revoke_default_egress

    env = local_with(**{"environment.name": "egress"})
    ec2 = Accounts(env, emulator).emr(env.environment.emr_accounts[0]).client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    adopted, kept = (ec2.create_security_group(GroupName=name, Description=name, VpcId=vpc)["GroupId"]
                     for name in ("adopted", "kept"))

    def egress(group: str) -> list[str]:
        rules = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [group]}])["SecurityGroupRules"]
        return [r["SecurityGroupRuleId"] for r in rules if r["IsEgress"]]

    managed = set(egress(kept))
    assert len(managed) == 1 and len(egress(adopted)) == 1
    lines: list[str] = []
    _revoke_default_egress(Accounts(env, emulator).emr(env.environment.emr_accounts[0]), [adopted, kept], managed,
                           "emr-account", lines.append)
    assert egress(adopted) == [] and egress(kept) == sorted(managed)
    assert len(lines) == 1 and lines[0].startswith(f"[emr-account] revoking the default egress rule of adopted {adopted} (sgr-"), lines


def test_a_new_emulator_sets_a_large_log_aside_and_keeps_a_small_one(tmp_path, monkeypatch):
    """The journal writes a line a request to one log that emulators append to; a new emulator
    moves it to emulator.log.1 once it is above LOG_ROTATE_BYTES, so at most two are kept."""
    monkeypatch.setattr(emulator_control, "LOG_ROTATE_BYTES", 1000)
    log = tmp_path / "emulator.log"
    for old, rotated in (("small earlier log\n", False), ("large earlier log\n" * 100, True)):
        log.write_text(old)
        (tmp_path / "emulator.log.1").unlink(missing_ok=True)
        running = emulator_control.ensure_running([], tmp_path, log=lambda line: None)
        try:
            emulator_control.admin_session().client("sts", endpoint_url=running.url).get_caller_identity()
        finally:
            emulator_control.stop(tmp_path)
        if rotated:
            assert (tmp_path / "emulator.log.1").read_text() == old
            assert "GetCallerIdentity" in log.read_text() and "earlier log" not in log.read_text()
        else:
            assert not (tmp_path / "emulator.log.1").exists()
            assert log.read_text().startswith(old) and "GetCallerIdentity" in log.read_text()
