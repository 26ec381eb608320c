"""Commands that change real accounts ask first, as Terraform and the CDK CLI do; `--yes`
answers for CI, and without a terminal they refuse rather than guess. Every path through
typer's CliRunner: interactive yes and no, a typed name, a wrong name, no terminal, --yes."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

import main
from orchestration import deploy as deploy_module
from orchestration.deploy import RunReport
from orchestration.review import plan as plan_module
from orchestration.review import preview as preview_module
from orchestration.review.preview import Loss
from orchestration.review.report import Review, Risk, StackPlan
from orchestration.terraform.tfjson import PlanDocument

runner = CliRunner()


@pytest.fixture
def calls(monkeypatch):
    """The library calls the commands make, recorded instead of run (no account is touched)."""
    made: list[str] = []
    monkeypatch.setattr(deploy_module, "deploy", lambda env, *a, **k: made.append(f"deploy {env}") or RunReport(env, "deploy"))
    monkeypatch.setattr(deploy_module, "destroy", lambda env, *a, **k: made.append(f"destroy {env}") or RunReport(env, "destroy"))
    monkeypatch.setattr(preview_module, "destroy_preview", lambda env, *a, **k: Loss(
        env, "aws", lost=["SageMaker domain studio-dev (d-123)", "2 user profile(s): alice, bob",
                          "home EFS fs-1: every user's home directory (promoted.home_efs_retention is Delete)",
                          "peering connection pcx-1 to EMR account 200000000001"]))
    return made


def terminal(monkeypatch, attached: bool) -> None:
    monkeypatch.setattr(main, "_interactive", lambda: attached)


def planned(monkeypatch, risky: bool, changes: bool = True) -> None:
    change = {"address": "aws_sagemaker_domain.d", "type": "aws_sagemaker_domain",
              "change": {"actions": ["delete", "create"] if risky else ["create"], "before": {}, "after": {}}}
    stack = StackPlan("studio-account", "100000000001", "eu-west-1", plan=PlanDocument.parse({"resource_changes": [change] if changes else []}))
    risks = [Risk("studio-account", change["address"], "replaces the Studio domain")] if risky else []
    monkeypatch.setattr(plan_module, "plan", lambda env, *a, **k: Review(env, [stack], risks, []))


# --- destroy -------------------------------------------------------------------------------


def test_destroy_lists_what_is_lost_and_runs_when_the_name_is_typed(calls, monkeypatch):
    terminal(monkeypatch, True)
    result = runner.invoke(main.app, ["destroy", "--env", "dev"], input="dev\n")
    assert result.exit_code == 0, result.output
    assert "SageMaker domain studio-dev (d-123)" in result.stdout and "alice, bob" in result.stdout
    assert "home EFS fs-1: every user's home directory" in result.stdout and "pcx-1" in result.stdout
    assert "Type the environment's name to approve" in result.stdout
    assert calls == ["destroy dev"]


def test_destroy_with_a_wrong_name_changes_nothing(calls, monkeypatch):
    terminal(monkeypatch, True)
    result = runner.invoke(main.app, ["destroy", "--env", "dev"], input="prod\n")
    assert result.exit_code == 1
    assert "aborted: 'prod' is not 'dev'; nothing was changed" in result.stderr
    assert calls == []


def test_destroy_without_a_terminal_refuses_and_says_how_to_approve(calls, monkeypatch):
    terminal(monkeypatch, False)
    result = runner.invoke(main.app, ["destroy", "--env", "dev"])
    assert result.exit_code == 1
    assert "pass --yes to approve" in result.stderr and "Nothing was changed" in result.stderr
    assert calls == []


def test_destroy_with_yes_asks_nothing(calls, monkeypatch):
    terminal(monkeypatch, False)
    result = runner.invoke(main.app, ["destroy", "--env", "dev", "--yes"])
    assert result.exit_code == 0, result.output
    assert "Type the environment's name" not in result.stdout
    assert calls == ["destroy dev"]


# --- deploy --------------------------------------------------------------------------------


def test_deploy_to_aws_prints_the_review_and_applies_on_yes(calls, monkeypatch):
    terminal(monkeypatch, True)
    planned(monkeypatch, risky=False)
    result = runner.invoke(main.app, ["deploy", "--env", "dev"], input="y\n")
    assert result.exit_code == 0, result.output
    assert "studio-account" in result.stdout and "Apply the changes above to dev?" in result.stdout
    assert calls == ["deploy dev"]


def test_deploy_to_aws_answered_no_applies_nothing(calls, monkeypatch):
    terminal(monkeypatch, True)
    planned(monkeypatch, risky=False)
    result = runner.invoke(main.app, ["deploy", "--env", "dev"], input="n\n")
    assert result.exit_code == 1
    assert "aborted: nothing was changed" in result.stderr
    assert calls == []


def test_a_risky_deploy_needs_the_name_typed_and_a_yes_is_not_enough(calls, monkeypatch):
    terminal(monkeypatch, True)
    planned(monkeypatch, risky=True)
    refused = runner.invoke(main.app, ["deploy", "--env", "dev"], input="y\n")
    assert refused.exit_code == 1 and calls == []
    assert "1 of them are risky" in refused.stdout and "aborted: 'y' is not 'dev'" in refused.stderr
    approved = runner.invoke(main.app, ["deploy", "--env", "dev"], input="dev\n")
    assert approved.exit_code == 0, approved.output
    assert calls == ["deploy dev"]


def test_deploy_to_aws_without_a_terminal_refuses_unless_yes(calls, monkeypatch):
    terminal(monkeypatch, False)
    planned(monkeypatch, risky=True)
    result = runner.invoke(main.app, ["deploy", "--env", "dev"])
    assert result.exit_code == 1 and "pass --yes" in result.stderr and calls == []
    result = runner.invoke(main.app, ["deploy", "--env", "dev", "--yes"])
    assert result.exit_code == 0, result.output
    assert calls == ["deploy dev"]


def test_deploy_with_nothing_to_change_asks_nothing(calls, monkeypatch):
    terminal(monkeypatch, False)
    planned(monkeypatch, risky=False, changes=False)
    result = runner.invoke(main.app, ["deploy", "--env", "dev"])
    assert result.exit_code == 0, result.output
    assert calls == ["deploy dev"]


def test_deploy_to_the_emulator_applies_without_asking(calls, monkeypatch):
    terminal(monkeypatch, False)
    monkeypatch.setattr(plan_module, "plan", lambda *a, **k: pytest.fail("the emulator target is not planned first"))
    result = runner.invoke(main.app, ["deploy", "--env", "local"])
    assert result.exit_code == 0, result.output
    assert calls == ["deploy local"]


def test_deploy_to_the_emulator_prints_the_risky_changes_it_applied(calls, monkeypatch):
    terminal(monkeypatch, False)
    risky = Risk("studio-account", "aws_iam_role.execution-role", "trust policy widened to Service:sagemaker.amazonaws.com")
    monkeypatch.setattr(deploy_module, "deploy", lambda env, *a, **k: calls.append(f"deploy {env}") or RunReport(
        env, "deploy", risks=[risky]))
    result = runner.invoke(main.app, ["deploy", "--env", "local"])
    assert result.exit_code == 0, result.output
    assert "### ⚠️ Risky changes" in result.stdout
    assert "- **studio-account** `aws_iam_role.execution-role`: trust policy widened to Service:sagemaker.amazonaws.com" in result.stdout
    assert calls == ["deploy local"]
