"""How often the AWS provider sends again a request whose answer the emulator gave ("lost answers").

The emulator journals every request with the SDK's ``amz-sdk-request: attempt=N`` header
(emulator/journal.py), so a request that came again after its first attempt was answered is
counted without guessing. Two emulators are compared in the same run, alternated cycle by cycle
(A B A B ...) so that drift in the machine's load biases neither:

  split      waitress's default: an answer's header block and its body go out as two writes
             (STUDIO_EMR_EMULATOR_SPLIT_WRITES=1);
  one write  the emulator's setting (emulator/server.py, SEND_BYTES): the whole answer at once.

A cycle is a `deploy` then a `destroy` of a copy of envs/local.yaml without its EKS section
(benchmarks/faults.py's `faults` environment), on a fresh emulator in a fresh workspace, as
scale.py runs them. Per emulator it reports requests answered, requests sent again (attempt 2 or
more), the rate per 10,000, which calls were sent again, and the cycles' mean time.

    .venv/bin/python benchmarks/lost_answers.py [--cycles 4]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["PATH"] = str(ROOT / "node_modules" / ".bin") + os.pathsep + os.environ["PATH"]

from benchmarks.faults import write_env  # noqa: E402
from emulator import journal  # noqa: E402
from emulator.server import SPLIT_WRITES_VARIABLE  # noqa: E402
from orchestration import deploy as deploy_module  # noqa: E402
from orchestration.local import emulator as emulator_control  # noqa: E402
from orchestration.terraform.synth import Workspace  # noqa: E402

def cycle(name: str, envs_dir: Path, split: bool) -> tuple[int, Counter, float]:
    root = Path(tempfile.mkdtemp(prefix="lost-answers-"))
    workspace = Workspace(root / "cdktf.out", root / "state")
    if split:
        os.environ[SPLIT_WRITES_VARIABLE] = "1"
    else:
        os.environ.pop(SPLIT_WRITES_VARIABLE, None)
    start = time.perf_counter()
    try:
        deploy_module.deploy(name, workspace=workspace, log=lambda line: None, envs_dir=envs_dir)
        deploy_module.destroy(name, workspace=workspace, log=lambda line: None, envs_dir=envs_dir)
        seconds = time.perf_counter() - start
    finally:
        emulator_control.stop(workspace.state_root)
    lines = (workspace.state_root / "emulator.log").read_text().splitlines()
    shutil.rmtree(root, ignore_errors=True)
    attempts = [(request.action, int(request.attempt)) for line in lines
                if (request := journal.entry(line)) is not None and request.attempt.isdigit()]
    return len(attempts), Counter(action for action, attempt in attempts if attempt >= 2), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=4, help="deploy-and-destroy cycles per emulator, alternated")
    args = parser.parse_args()
    envs_dir = Path(tempfile.mkdtemp(prefix="lost-answers-envs-"))
    name = write_env(envs_dir)
    totals = {split: [0, Counter(), 0.0] for split in (True, False)}
    for n in range(args.cycles):
        for split in (True, False):
            requests, again, seconds = cycle(name, envs_dir, split)
            total = totals[split]
            total[0] += requests
            total[1] += again
            total[2] += seconds
            print(f"cycle {n + 1} {'split    ' if split else 'one write'}: {requests} requests, "
                  f"{sum(again.values())} sent again {dict(again) or ''}, {seconds:.0f} s", flush=True)
    shutil.rmtree(envs_dir, ignore_errors=True)
    print()
    print("| emulator | cycles | requests | sent again | per 10,000 | calls sent again | mean cycle |")
    print("|---|---:|---:|---:|---:|---|---:|")
    for split in (True, False):
        requests, again, seconds = totals[split]
        calls = ", ".join(f"{action} {count}" for action, count in again.most_common()) or "-"
        print(f"| {'split (waitress default)' if split else 'one write (SEND_BYTES)'} | {args.cycles} | {requests} | "
              f"{sum(again.values())} | {10000 * sum(again.values()) / max(requests, 1):.1f} | {calls} | "
              f"{seconds / args.cycles:.0f} s |")


if __name__ == "__main__":
    main()
