"""Deploy speed on the embedded emulator, measured in one run against a baseline.

For each run, on a fresh emulator and fresh state:
  baseline  the same synthesized stacks applied with plain `terraform apply -auto-approve`,
            one after another in dependency order (then destroyed the same way);
  deploy    `deploy --env local` (phases, concurrency, handshake waits);
  no-op     `deploy --env local` again;
  destroy   `destroy --env local`.
Stack directories are initialised before any timing, for both.

Targets (issue: deploy): deploy <= 1.0x baseline; no-op re-deploy <= 0.5x deploy.

    .venv/bin/python benchmarks/deploy.py [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["PATH"] = str(ROOT / "node_modules" / ".bin") + os.pathsep + os.environ["PATH"]

from config import load_env  # noqa: E402
from orchestration.aws.accounts import Accounts  # noqa: E402
from orchestration.aws.kubernetes import ensure_emulator_cluster  # noqa: E402
from orchestration.deploy import deploy, destroy, waves  # noqa: E402
from orchestration.local import emulator as emulator_control  # noqa: E402
from orchestration.terraform.runner import Terraform  # noqa: E402
from orchestration.terraform.synth import Workspace, synth_env  # noqa: E402

ENV = "local"


def quiet(_line: str) -> None:
    pass


def fresh(workspace: Workspace) -> Accounts:
    emulator_control.stop(workspace.state_root)
    shutil.rmtree(workspace.state_root / ENV, ignore_errors=True)
    running = emulator_control.ensure_running([ENV], workspace.state_root, quiet)
    accounts = Accounts(load_env(ENV), running)
    ensure_emulator_cluster(load_env(ENV), accounts)  # the EKS cluster of IAM-6 exists before the project
    return accounts


def baseline(workspace: Workspace) -> float:
    accounts = fresh(workspace)
    result = synth_env(load_env(ENV), workspace)
    order = [stack for wave in waves(result.dependencies) for stack in wave]
    runners = [Terraform(s, result.stack_dir(s), accounts.terraform_env()) for s in order]
    start = time.perf_counter()
    for runner in runners:
        runner.apply()
    seconds = time.perf_counter() - start
    for runner in reversed(runners):
        runner.apply(destroy=True)
    return seconds


def timed(action) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    workspace = Workspace(Path(tempfile.mkdtemp(prefix="bench-")) / "cdktf.out", Path(tempfile.mkdtemp(prefix="bench-state-")))
    result = synth_env(load_env(ENV), workspace)
    for stack in result.stacks:
        Terraform(stack, result.stack_dir(stack)).init()
    figures: dict[str, list[float]] = {"baseline": [], "deploy": [], "no-op": [], "destroy": []}
    try:
        for run in range(1, args.runs + 1):
            figures["baseline"].append(baseline(workspace))
            fresh(workspace)
            figures["deploy"].append(timed(lambda: deploy(ENV, workspace=workspace, log=quiet)))
            figures["no-op"].append(timed(lambda: deploy(ENV, workspace=workspace, log=quiet)))
            figures["destroy"].append(timed(lambda: destroy(ENV, workspace=workspace, log=quiet)))
            print(f"run {run}: " + ", ".join(f"{k} {v[-1]:.1f} s" for k, v in figures.items()), flush=True)
    finally:
        emulator_control.stop(workspace.state_root)
    median = {k: statistics.median(v) for k, v in figures.items()}
    deploy_ratio = median["deploy"] / median["baseline"]
    noop_ratio = median["no-op"] / median["deploy"]
    print(f"medians over {args.runs} runs: " + ", ".join(f"{k} {v:.1f} s" for k, v in median.items()))
    print(f"deploy / sequential baseline: {deploy_ratio:.2f}x (target <= 1.0x)")
    print(f"no-op re-deploy / deploy:     {noop_ratio:.2f}x (target <= 0.5x)")
    sys.exit(0 if deploy_ratio <= 1.0 and noop_ratio <= 0.5 else 1)


if __name__ == "__main__":
    main()
