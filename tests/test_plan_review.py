"""Plan review: rendering from recorded `terraform show -json` against golden files, the risk
rules, a real plan of dev against the emulator, and promotion dev -> staging."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from config import ENVS_DIR
from orchestration.local import emulator as emulator_control
from orchestration.review.promote import PromotionRefused, promote
from orchestration.review.report import EXIT_CHANGES, EXIT_NO_CHANGES, EXIT_RISKY, Finding, Review, StackPlan, risks
from orchestration.terraform.synth import Workspace
from orchestration.terraform.tfjson import PlanDocument

GOLDEN = Path(__file__).parent / "golden"


def recorded(name: str) -> PlanDocument:
    return PlanDocument.parse(json.loads((GOLDEN / "plans" / f"{name}.json").read_text()))


def review_of(plans: list[StackPlan], findings=(), state_bucket=None) -> Review:
    return Review("dev", plans, [r for p in plans for r in risks(p, state_bucket)], list(findings))


def assert_golden(name: str, text: str, request) -> None:
    path = GOLDEN / f"{name}.md"
    if request.config.getoption("--update-snapshots"):
        path.write_text(text)
    assert text == path.read_text(), f"review differs from {path}; rerun with --update-snapshots and review the diff"


def test_first_plan_of_dev_renders_as_recorded(request):
    plans = [
        StackPlan("studio-account", "100000000001", "eu-west-1", recorded("dev-studio-account")),
        StackPlan("emr-account", "200000000001", "eu-west-1", recorded("dev-emr-account")),
        StackPlan("studio-account-peering", "100000000001", "eu-west-1", waiting_on=["emr-account", "studio-account"]),
    ]
    review = review_of(plans, [Finding("checkov", "emr-account", "aws_s3_bucket.b", "CKV_AWS_18 access logging (suppressed: reason)", True)])
    text = review.to_markdown()
    assert_golden("dev-first-plan", text, request)
    assert "### 1. `studio-account` (account 100000000001, eu-west-1)" in text
    assert "<details><summary>Resource changes</summary>" in text
    assert text.rstrip().endswith("3 stacks, 2 with changes, 0 risky changes, 0 failed, 0 policy findings (1 suppressed)")
    assert review.exit_code == EXIT_CHANGES


def test_risky_changes_are_flagged_first(request):
    review = review_of([StackPlan("studio-account", "100000000001", "eu-west-1", recorded("risky-studio-account"))],
                       state_bucket="studio-emr-tfstate-300000000001")
    text = review.to_markdown()
    assert_golden("risky-plan", text, request)
    reasons = {r.address.split(".")[0]: r.reason for r in review.risks}
    assert "home directories on EFS are lost" in reasons["aws_sagemaker_domain"]
    assert "home directories on EFS are lost" in reasons["aws_sagemaker_user_profile"]
    assert "Studio to EMR outage" in reasons["aws_route"]
    assert reasons["aws_iam_role"] == "trust policy widened to AWS:arn:aws:iam::100000000001:root"
    assert reasons["aws_iam_role_policy"] == "permissions widened to *: s3:GetObject on *"
    assert "0.0.0.0/0 instead of the Studio SG" in reasons["aws_vpc_security_group_ingress_rule"]
    assert "state backend" in reasons["aws_s3_bucket"]
    assert text.index("Risky changes") < text.index("### 1.")
    assert review.exit_code == EXIT_RISKY
    assert StackPlan("x", "1", "r", recorded("risky-studio-account")).counts() == {"add": 1, "change": 2, "replace": 1, "destroy": 3}


def test_no_changes_and_failures_have_their_own_exit_codes():
    empty = PlanDocument.parse({"resource_changes": [{"address": "aws_vpc.v", "type": "aws_vpc", "name": "v",
                                   "change": {"actions": ["no-op"], "before": {}, "after": {}}}]})
    assert review_of([StackPlan("s", "1", "r", empty)]).exit_code == EXIT_NO_CHANGES
    assert review_of([StackPlan("s", "1", "r", error="boom")]).exit_code == 1
    assert review_of([StackPlan("s", "1", "r", empty)], [Finding("iam-lint", "s", "r", "Action \"*\"")]).exit_code == 1


def test_a_new_role_with_a_narrow_trust_is_not_risky():
    narrow = json.dumps({"Statement": [{"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
    plan = PlanDocument.parse({"resource_changes": [{"address": "aws_iam_role.r", "type": "aws_iam_role", "name": "r",
                                  "change": {"actions": ["create"], "before": None, "after": {"assume_role_policy": narrow}}}]})
    assert review_of([StackPlan("s", "1", "r", plan)]).risks == []


def test_mock_inputs_are_shaped_as_the_upstream_resources_would_make_them(synthesized, tmp_path):
    from orchestration.review import mock_inputs

    result = synthesized("dev")
    state = mock_inputs.mock_state(result, "studio-account")
    values = {name: output["value"] for name, output in state["outputs"].items()}
    assert set(values) == set(result.stack_json("studio-account")["output"])
    role = values["studio_execution_role_arn"]
    role_name = next(iter(result.stack_json("studio-account")["resource"]["aws_iam_role"].values()))["name"]
    assert role == f"arn:aws:iam::100000000001:role/{role_name}"
    prefixes = {v.split("-")[0] for v in values.values() if not v.startswith("arn:")}
    assert sorted(prefixes) == ["rtb", "sg", "vpc"], values
    assert all(output["type"] == "string" for output in state["outputs"].values())
    # The scratch copy reads the mocks for the stacks it waits for, the real states for the others,
    # and has no backend of its own.
    directory = mock_inputs.prepare(result, "studio-account-link", ["studio-account-peering"])
    configuration = json.loads((directory / "cdk.tf.json").read_text())
    assert "backend" not in configuration["terraform"]
    sources = configuration["data"]["terraform_remote_state"]
    peering = sources["studio-account-peering"]["config"]["path"]
    assert peering == str(directory / "studio-account-peering.mock.tfstate") and Path(peering).is_file()
    studio = Path(sources["studio-account"]["config"]["path"])
    assert studio.is_absolute() and studio.name == "studio-account.tfstate"


@pytest.fixture(scope="module")
def plan_workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("plans")
    space = Workspace(root / "cdktf.out", root / "state")
    yield space
    emulator_control.stop(space.state_root / "emulator-plans")


@pytest.fixture
def cli_plan_emulator():
    """The CLI plans in the project's own emulator-plans workspace; stop its emulator after."""
    yield
    emulator_control.stop(Workspace().state_root / "emulator-plans")


@pytest.mark.terraform
@pytest.mark.emulator
@pytest.mark.parametrize("env, waiting", [("dev", 3), ("prod", 4)])
def test_the_first_plan_of_an_environment_reviews_every_stack_those_waiting_on_mock_inputs(
        env, waiting, cli_plan_emulator, tmp_path, synthesized):
    """Issue 10 §3: the stacks that wait for others (peering request, accept, SG rules, routes,
    the role Studio assumes) are planned on placeholders of their upstream outputs."""
    from main import app

    review_path, json_path = tmp_path / "review.md", tmp_path / "review.json"
    result = CliRunner().invoke(app, ["plan", "--env", env, "--emulator", "--review", str(review_path), "--json", str(json_path)])
    assert result.exit_code == EXIT_CHANGES, result.output
    text = review_path.read_text()
    assert "### 1. `studio-account` (account 100000000001, eu-west-1)" in text or env != "dev"
    assert "Not planned" not in text
    data = json.loads(json_path.read_text())
    stacks = synthesized(env).stacks
    assert [s["stack"] for s in data["stacks"]] == stacks
    counts = {s["stack"]: s["counts"] for s in data["stacks"]}
    # A first plan adds every resource each stack declares, and nothing else: on mock inputs too.
    for stack in stacks:
        declared = sum(len(r) for r in synthesized(env).stack_json(stack)["resource"].values())
        assert counts[stack] == {"add": declared, "change": 0, "replace": 0, "destroy": 0}, stack
    mocked = [s["stack"] for s in data["stacks"] if s["on_mock_inputs"]]
    assert len(mocked) == waiting and all(s["waiting_on"] for s in data["stacks"] if s["stack"] in mocked)
    assert text.count("**Planned on mock inputs:**") == waiting
    assert "peering" in " ".join(mocked) and any(s.endswith("-link") for s in mocked)
    assert data["risks"] == []
    assert [f for f in data["findings"] if not f["suppressed"]] == []
    # checkov ran over the plans on mock inputs too: their suppressed findings are listed.
    assert {f["stack"] for f in data["findings"] if f["tool"] == "checkov"} & set(mocked)
    assert text.rstrip().splitlines()[-1].startswith(
        f"{len(stacks)} stacks, {len(stacks)} with changes, 0 risky changes, 0 failed, 0 policy findings")


@pytest.fixture
def envs_copy(tmp_path):
    target = tmp_path / "envs"
    shutil.copytree(ENVS_DIR, target)
    return target


@pytest.mark.terraform
@pytest.mark.emulator
def test_promote_dev_to_staging_shows_the_diff_plans_and_writes_only_when_asked(envs_copy, plan_workspace):
    before = (envs_copy / "staging.yaml").read_text()
    result = promote("dev", "staging", emulator=True, envs_dir=envs_copy, workspace=plan_workspace, log=lambda line: None)
    assert "-  studio_to_emr_ports: [8998]\n+  studio_to_emr_ports: [8998, 10000]" in result.diff
    assert '-    bootstrap_script_version: "1"\n+    bootstrap_script_version: "2"' in result.diff
    assert "+    allowed_instance_types: [m5.xlarge, m5.2xlarge, r5.xlarge]" in result.diff
    assert "account_id" not in result.diff and "cidr" not in result.diff, "environment settings never move"
    assert result.review is not None and result.review.exit_code == EXIT_CHANGES
    assert [p.stack for p in result.review.plans][:2] == ["studio-account", "emr-account"]
    assert not result.written and (envs_copy / "staging.yaml").read_text() == before
    written = promote("dev", "staging", write=True, emulator=True, envs_dir=envs_copy, workspace=plan_workspace, log=lambda line: None)
    after = (envs_copy / "staging.yaml").read_text()
    assert written.written and "studio_to_emr_ports: [8998, 10000]" in after
    assert after.startswith("# Staging: the same shape as prod"), "comments are kept"
    again = promote("dev", "staging", envs_dir=envs_copy, workspace=plan_workspace, log=lambda line: None)
    assert again.diff == "" and again.review is None


def test_promoting_backwards_or_outside_the_chain_is_refused(envs_copy):
    with pytest.raises(PromotionRefused, match=r"refusing to promote backwards: 'dev' comes before 'staging' in the chain dev -> staging -> prod"):
        promote("staging", "dev", envs_dir=envs_copy)
    with pytest.raises(PromotionRefused, match="'local' does not follow 'dev'"):
        promote("dev", "local", envs_dir=envs_copy)


def test_a_risky_promotion_needs_allow_risky(envs_copy, monkeypatch):
    import orchestration.review.promote as promote_module

    risky = review_of([StackPlan("studio-account", "100000000002", "eu-west-1", recorded("risky-studio-account"))])
    monkeypatch.setattr(promote_module, "plan_env", lambda *args, **kwargs: risky)
    refused = promote("dev", "staging", write=True, envs_dir=envs_copy)
    assert refused.refused and "--allow-risky" in refused.refused and not refused.written
    allowed = promote("dev", "staging", write=True, allow_risky=True, envs_dir=envs_copy)
    assert allowed.written


def test_the_review_shows_what_exists_outside_terraform_and_counts_orphans():
    from orchestration.aws.inventory import Item

    review = review_of([StackPlan("studio-account", "100000000001", "eu-west-1", recorded("dev-studio-account"))])
    review.outside = [
        Item("100000000001", "on behalf", "home EFS", "fs-0123", "SageMaker", "home of domain d-1, 6144 bytes, 2 mount target(s)"),
        Item("200000000001", "orphan", "aws_iam_instance_profile", "EMR_EC2_DefaultRole", "emr-account", "tagged stack=emr-account",
             "aws iam delete-instance-profile --instance-profile-name EMR_EC2_DefaultRole (after removing its role)"),
    ]
    markdown = review.to_markdown()
    section = markdown[markdown.index("### Outside Terraform"):]
    assert "**1 orphan(s)**" in section
    assert "- orphan: aws_iam_instance_profile `EMR_EC2_DefaultRole` in account 200000000001 (emr-account)" in section
    assert "- on behalf: home EFS `fs-0123` in account 100000000001 (SageMaker)" in section
    assert json.loads(review.to_json())["outside_terraform"][1]["remove"].startswith("aws iam delete-instance-profile")
    review.outside = []
    assert "Nothing: every resource tagged" in review.to_markdown()
    review.outside, review.outside_note = None, "Could not be read: boom"
    assert "Could not be read: boom" in review.to_markdown()
