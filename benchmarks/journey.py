"""The data scientist's journey on the embedded emulator, timed: where its time goes.

Deploys `local` once on a fresh emulator (not timed), then, for each run, times `verify` (the
baseline: every read-only check of the same environment) and the whole journey (discover, find
the template, launch a cluster, connect with the real client, reachability, clean up), with
each step's share.

    .venv/bin/python benchmarks/journey.py [--runs 3]
"""

from __future__ import annotations

import argparse
import re
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["PATH"] = str(ROOT / "node_modules" / ".bin") + os.pathsep + os.environ["PATH"]

from orchestration.aws.journey import journey  # noqa: E402
from orchestration.aws.kubernetes import create_emulator_cluster  # noqa: E402
from orchestration.aws.verify import verify  # noqa: E402
from orchestration.deploy import deploy  # noqa: E402
from orchestration.local import emulator as emulator_control  # noqa: E402
from orchestration.terraform.synth import Workspace  # noqa: E402

ENV = "local"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    workspace = Workspace(Path(tempfile.mkdtemp(prefix="bench-")) / "cdktf.out", Path(tempfile.mkdtemp(prefix="bench-state-")))
    verify_times, journey_times = [], []
    per_step: dict[str, list[float]] = defaultdict(list)
    try:
        start = time.perf_counter()
        create_emulator_cluster(ENV, workspace.state_root, log=lambda line: None)  # IAM-6's cluster predates the project
        deploy(ENV, workspace=workspace, log=lambda line: None)
        print(f"deployed {ENV} in {time.perf_counter() - start:.1f} s (not timed below)", flush=True)
        for run in range(1, args.runs + 1):
            start = time.perf_counter()
            checks = verify(ENV, workspace=workspace)
            verify_times.append(time.perf_counter() - start)
            start = time.perf_counter()
            report = journey(ENV, workspace=workspace, log=lambda line: None)
            journey_times.append(time.perf_counter() - start)
            if not (checks.ok and report.ok):
                print(report.to_json())
                sys.exit(1)
            for step in report.steps:
                # One row per kind of step, whatever cluster or account it named.
                per_step[re.sub(r"j-[A-Z0-9]+|\d{12}", "*", step.name)].append(step.seconds)
            print(f"run {run}: verify {verify_times[-1]:.1f} s, journey {journey_times[-1]:.1f} s", flush=True)
    finally:
        emulator_control.stop(workspace.state_root)
    journey_median = statistics.median(journey_times)
    verify_median = statistics.median(verify_times)
    print(f"medians over {args.runs} runs: journey {journey_median:.1f} s, verify {verify_median:.1f} s "
          f"(journey / verify {journey_median / verify_median:.1f}x)")
    print("where the journey's time goes (median seconds per step):")
    for name, seconds in sorted(per_step.items(), key=lambda item: -statistics.median(item[1])):
        print(f"  {statistics.median(seconds):6.2f}  {name}")


if __name__ == "__main__":
    main()
