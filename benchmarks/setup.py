"""The first run on a fresh machine, measured (issue 10 §5): the README's first command on a
fresh clone with empty caches, then the setup again, warm.

In a scratch directory: a `git clone` of this repository's HEAD, with every cache this project
fills pointed inside the scratch directory and empty (XDG_CACHE_HOME: pip's downloads, jsii's
packages and the generated AWS bindings; npm_config_cache: npm's), so nothing this machine already
prepared is reused. Two runs, each timed and with the peak resident memory of its whole process
tree sampled from /proc (benchmarks/scale.py's sampler: RSS sums count shared pages once per
process, PSS sums once):
  cold  `bash scripts/deploy-local`: setup, emulator, deploy of local, verify, journey;
  warm  `bash scripts/setup` again, as every `scripts/test` and `scripts/deploy-local` starts.
The emulator the first command leaves running is stopped at the end, and the scratch directory
removed (unless --keep).

Targets: the first command <= 3 minutes with peak memory <= 2 GB (measured 2026-11-23 before the
bindings were trimmed to the imported types: 9 min 35 s and 8.4 GB).

    .venv/bin/python benchmarks/setup.py [--keep] [--setup-only]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.scale import TreeSampler  # noqa: E402

TARGET_SECONDS = 180
TARGET_MB = 2048


def run(command: list[str], cwd: Path, env: dict[str, str], sampler: TreeSampler, log: Path) -> tuple[float, float, float, int]:
    """(seconds, peak RSS MB, peak PSS MB, exit code) of ``command``, its output in ``log``."""
    sampler.begin()
    start = time.monotonic()
    with log.open("w") as out:
        code = subprocess.run(command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT).returncode
    seconds = time.monotonic() - start
    phase = sampler.end()
    return seconds, phase.peak_mb, phase.peak_pss_mb, code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    parser.add_argument("--setup-only", action="store_true", help="cold: `scripts/setup` instead of the whole first command")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="setup-bench-"))
    clone = scratch / "project"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    if (ROOT.parent / "shared").is_dir():
        (scratch / "shared").symlink_to(ROOT.parent / "shared")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHONPATH"))}
    env.update({"XDG_CACHE_HOME": str(scratch / "cache"), "npm_config_cache": str(scratch / "npm-cache")})
    sampler = TreeSampler()
    sampler.start()
    first = ["bash", "scripts/setup"] if args.setup_only else ["bash", "scripts/deploy-local"]
    rows = []
    try:
        print(f"scratch clone {clone} (HEAD {subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=ROOT, capture_output=True, text=True).stdout.strip()}), "
              "empty caches", flush=True)
        for name, command in (("cold: " + " ".join(first), first), ("warm: bash scripts/setup", ["bash", "scripts/setup"])):
            log = scratch / f"{name.split(':')[0]}.log"
            seconds, rss, pss, code = run(command, clone, env, sampler, log)
            rows.append((name, seconds, rss, pss, code))
            print(f"{name}: {seconds:.0f} s, peak RSS {rss:.0f} MB (PSS {pss:.0f} MB), exit {code}", flush=True)
            if code != 0:
                print(log.read_text()[-3000:])
                break
    finally:
        sampler.stopping.set()
        if (clone / ".venv" / "bin" / "python").exists():
            subprocess.run([str(clone / ".venv" / "bin" / "python"), "main.py", "emulator", "stop"], cwd=clone, env=env,
                           capture_output=True)
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)
        else:
            print(f"kept {scratch}")
    print()
    print("| run | time | peak RSS (sum) | peak PSS (sum) | exit |")
    print("|---|---:|---:|---:|---:|")
    for name, seconds, rss, pss, code in rows:
        print(f"| {name} | {seconds // 60:.0f} min {seconds % 60:.0f} s | {rss / 1024:.2f} GB | {pss / 1024:.2f} GB | {code} |")
    cold = rows[0] if rows else None
    met = bool(cold) and cold[4] == 0 and cold[1] <= TARGET_SECONDS and cold[3] <= TARGET_MB
    if cold:
        print(f"\nfirst command: {cold[1]:.0f} s (target <= {TARGET_SECONDS} s), peak PSS {cold[3]:.0f} MB, RSS {cold[2]:.0f} MB "
              f"(target <= {TARGET_MB} MB): {'met' if met else 'NOT met'}")
    sys.exit(0 if met and all(r[4] == 0 for r in rows) else 1)


if __name__ == "__main__":
    main()
