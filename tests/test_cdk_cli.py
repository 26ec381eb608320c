"""The design card's CDK CLI path (issue 10 §6): with the exports `python main.py env --env local`
prints, `npx cdktn deploy '*'` applies every stack of local to the emulator, and verify passes."""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

import pytest

from orchestration.aws.kubernetes import create_emulator_cluster
from orchestration.aws.verify import verify
from orchestration.local import emulator as emulator_control
from orchestration.local.cdk_cli import shell_exports
from orchestration.terraform.synth import Workspace

pytestmark = [pytest.mark.terraform, pytest.mark.emulator, pytest.mark.timeout(900)]
ROOT = Path(__file__).resolve().parent.parent
ENV = "local"


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("cdk-cli")
    space = Workspace(out_root=root / "cdktf.out", state_root=root / "state")
    yield space
    emulator_control.stop(space.state_root)


def test_the_cdk_cli_deploys_every_stack_with_the_printed_exports(workspace):
    exports = shell_exports(ENV, workspace, log=lambda line: None)
    variables = {}
    for line in exports:
        name, _, value = line.removeprefix("export ").partition("=")
        variables[name] = shlex.split(value)[0]
    assert {"TF_CLI_CONFIG_FILE", "STUDIO_EMR_ENV", "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} <= set(variables)
    create_emulator_cluster(ENV, workspace.state_root, log=lambda line: None)
    out_dir = workspace.outdir(ENV)
    environment = {**os.environ, **variables, "CDKTF_OUTDIR": str(out_dir), "CI": "1"}
    run = subprocess.run(["npx", "cdktn", "deploy", "*", "--auto-approve", "--skip-provider-lock", "--output", str(out_dir)], cwd=ROOT,
                         env=environment, capture_output=True, text=True, timeout=840)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert sorted(p.name for p in (workspace.state_root / ENV).glob("*.tfstate")) == sorted(
        f"{stack}.tfstate" for stack in ("studio-account", "emr-account", "studio-account-kubernetes",
                                         "studio-account-peering", "emr-account-link", "studio-account-link"))
    report = verify(ENV, workspace=workspace)
    assert report.ok, report.to_json()
