"""Synthesis speed after setup: median wall time of `python main.py synth --env dev` in a fresh
process, against a baseline measured in the same run: a fresh process that synthesizes an
empty cdktn app (interpreter, jsii and Node start-up with no stacks of ours).

Target (issue 10 §5): median synth <= 2 s, about twice the baseline (scripts/setup compiles the
bindings' and the project's bytecode, which this machine kind never writes by itself).

    .venv/bin/python benchmarks/synth.py [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_SECONDS = 2.0
BASELINE = "import cdktn, tempfile; cdktn.App(outdir=tempfile.mkdtemp()).synth()"


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    python = str(ROOT / ".venv" / "bin" / "python")
    synth = [python, "main.py", "synth", "--env", "dev"]
    timed(synth)  # warm-up: jsii's package cache and the OS page cache
    baseline = statistics.median(timed([python, "-c", BASELINE]) for _ in range(args.runs))
    measured = statistics.median(timed(synth) for _ in range(args.runs))
    print(f"baseline (empty app, fresh process): median {baseline:.2f} s over {args.runs} runs")
    print(f"synth --env dev (5 stacks):          median {measured:.2f} s over {args.runs} runs")
    print(f"ratio to baseline: {measured / baseline:.2f}x; target <= {TARGET_SECONDS:.1f} s: "
          f"{'met' if measured <= TARGET_SECONDS else 'NOT met'}")
    sys.exit(0 if measured <= TARGET_SECONDS else 1)


if __name__ == "__main__":
    main()
