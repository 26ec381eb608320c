"""Issue 9, concurrency, with state in S3 and Terraform's S3 lockfile, as `staging` keeps it, on the
emulator: a second runner's deploy of an environment another runner is applying is refused and
names the holder; two environments deploy at the same time without interfering.

Runners are separate workspaces (their own local lock file, as separate CI machines have) that
share one emulator, which plays AWS for both."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from config import StudioEmrError
from orchestration.aws.verify import verify
from orchestration.deploy import deploy
from orchestration.local import emulator as emulator_control
from orchestration.terraform.runner import STALE_PLAN
from orchestration.terraform.synth import Workspace
from tests.emulator_support import start_deploy, write_local_variant

pytestmark = [pytest.mark.terraform, pytest.mark.emulator, pytest.mark.timeout(900)]
BUCKET = "studio-emr-tfstate-shared"


def write_env(directory: Path, name: str, emr_account_id: str) -> None:
    """local with S3 state and its lockfile, and its own EMR account (EMR_DefaultRole and
    EMR_EC2_DefaultRole have one name per account)."""
    def shared_state(data: dict) -> None:
        data["environment"]["state"] = {"backend": "s3", "bucket": BUCKET, "region": "us-east-1",
                                        "key_prefix": f"studio-emr/{name}", "use_lockfile": True}
        data["environment"]["emr_accounts"][0]["account_id"] = emr_account_id

    write_local_variant(directory, name, shared_state)


@pytest.fixture(scope="module")
def envs_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("envs")
    write_env(directory, "alpha", "222222222222")
    write_env(directory, "beta", "333333333333")
    write_env(directory, "gamma", "444444444444")
    return directory


@pytest.fixture(scope="module")
def runners(tmp_path_factory):
    """Two runners' workspaces and the emulator both reach."""
    root = tmp_path_factory.mktemp("runners")
    first = Workspace(out_root=root / "one" / "cdktf.out", state_root=root / "one" / "state")
    second = Workspace(out_root=root / "two" / "cdktf.out", state_root=root / "two" / "state")
    emulator_control.ensure_running(["alpha", "beta", "gamma"], first.state_root, log=lambda line: None)
    second.state_root.mkdir(parents=True)
    shutil.copy(emulator_control.record_path(first.state_root), emulator_control.record_path(second.state_root))
    yield first, second
    emulator_control.record_path(second.state_root).unlink(missing_ok=True)
    emulator_control.stop(first.state_root)


def test_a_second_runner_is_refused_by_the_state_lock_and_told_who_holds_it(runners, envs_dir):
    first, second = runners
    process = start_deploy("alpha", first, envs_dir)
    seen = []
    for line in process.stdout:
        seen.append(line)
        if line.startswith("[studio-account] applying"):
            break
    else:
        pytest.fail("the first runner never applied: " + "".join(seen))
    with pytest.raises(StudioEmrError) as refused:
        deploy("alpha", workspace=second, envs_dir=envs_dir, log=lambda line: None)
    message = str(refused.value)
    if STALE_PLAN not in message:
        assert "state lock" in message.lower(), message
        # The holder is named: the first runner, planning or applying (deploy plans each stack, then applies that plan).
        assert "studio-emr/alpha/" in message and ("OperationTypeApply" in message or "OperationTypePlan" in message), message
    # Else the second runner planned between the first's plan and apply, waited for the lock while
    # the first applied, and found its plan stale: it says so, and applied nothing (checked below).
    rest, _ = process.communicate(timeout=600)
    assert process.returncode == 0, "".join(seen) + rest
    assert verify("alpha", workspace=first, envs_dir=envs_dir).ok
    # The refused runner applied nothing: the second one, run now, finds every stack as the first left it.
    report = deploy("alpha", workspace=second, envs_dir=envs_dir, log=lambda line: None)
    assert not report.changed


def test_two_environments_deploy_at_the_same_time_without_interfering(runners, envs_dir):
    first, second = runners
    started = {"beta": (start_deploy("beta", first, envs_dir), first), "gamma": (start_deploy("gamma", second, envs_dir), second)}
    for name, (process, workspace) in started.items():
        output, _ = process.communicate(timeout=800)
        assert process.returncode == 0, output
    for name, (process, workspace) in started.items():
        assert verify(name, workspace=workspace, envs_dir=envs_dir).ok
