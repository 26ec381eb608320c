"""The CLI contract, through typer's CliRunner."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from main import app

runner = CliRunner()
BAD = Path(__file__).parent / "bad_envs"


def test_validate_reports_layout_and_stacks():
    result = runner.invoke(app, ["validate", "--env", "prod"])
    assert result.exit_code == 0, result.output
    assert "envs/prod.yaml is valid: cross-account (VPC peering), target aws" in result.stdout
    assert "200000000004 (eu-west-1) -> stack emr-account-analytics" in result.stdout


def test_validate_rejects_a_bad_file_with_exit_code_2(tmp_path, monkeypatch):
    import config.loader as loader

    (tmp_path / "bad.yaml").write_text((BAD / "peers-overlap.yaml").read_text())
    monkeypatch.setattr(loader, "ENVS_DIR", tmp_path)
    monkeypatch.setattr(loader.load_env, "__defaults__", (tmp_path,))
    result = runner.invoke(app, ["validate", "--env", "bad"])
    assert result.exit_code == 2
    assert "bad.yaml" in result.stderr
    assert "environment.emr_accounts.0.network.cidr: 10.0.0.0/17 overlaps" in result.stderr
    assert result.stdout == ""


def test_unknown_environment_names_the_known_ones():
    result = runner.invoke(app, ["synth", "--env", "nope"])
    assert result.exit_code == 2
    assert "nope.yaml: no such environment file (environments: dev, local, prod, staging)" in result.stderr


def test_synth_writes_every_stack_in_order():
    result = runner.invoke(app, ["synth", "--env", "dev"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == [
        "studio-account", "emr-account", "studio-account-peering", "emr-account-link", "studio-account-link",
    ]
    root = Path(__file__).resolve().parent.parent
    for stack in ("studio-account", "emr-account-link"):
        assert (root / "cdktf.out" / "dev" / "stacks" / stack / "cdk.tf.json").is_file()


def test_env_is_required_and_help_teaches():
    result = runner.invoke(app, ["synth"])
    assert result.exit_code == 2
    assert "--env" in result.output
    help_text = runner.invoke(app, ["synth", "--help"]).stdout
    assert "python main.py synth --env dev --check" in help_text


def test_journey_names_the_profiles_when_the_user_is_unknown():
    result = runner.invoke(app, ["journey", "--env", "local", "--user", "nobody"])
    assert result.exit_code == 1
    assert "envs/local.yaml: environment.domain.user_profiles has no 'nobody' (profiles: data-scientist-1)" in result.stderr


def test_journey_without_a_deployed_emulator_says_what_to_run(monkeypatch):
    from orchestration.local import emulator as emulator_control

    monkeypatch.setattr(emulator_control, "current", lambda state_root=None: None)
    result = runner.invoke(app, ["journey", "--env", "local"])
    assert result.exit_code == 1
    assert "no emulator is running; run `python main.py deploy --env local` first" in result.stderr
    help_text = runner.invoke(app, ["journey", "--help"]).stdout
    assert "--launch" in help_text and "--cluster-id" in help_text and "sagemaker-studio-sparkmagic-lib" in help_text
