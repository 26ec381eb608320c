"""Hub and spoke at scale on the embedded emulator: how time and memory grow with EMR accounts.

For each size N (--sizes, default 1 2 4 5): a copy of envs/local.yaml with N EMR accounts (local's
own 222222222222 first, then spokes 333333333333, 444444444444, ... each with its own /16), written
to a temporary envs directory, deployed on a fresh emulator in a fresh workspace:
  synth     synthesis of the environment's stacks (in this process, as the CLI does it);
  deploy    `deploy` (terraform init of each stack included, as a user's first deploy has it);
  no-op     `deploy` again (unchanged stacks are skipped);
  destroy   `destroy`.
Peak memory is the resident memory of this process's whole tree, sampled every 0.2 s from /proc:
this process (it runs the commands as the CLI does, synthesis in a child process included:
orchestration/terraform/synth.py), every terraform and provider process, and the emulator. RSS sums count the pages processes share (the provider's
binary, mapped by every provider process) once per process, as the issue's figures did; PSS
sums count them once, which is what the machine gives up (PSS is read at each new RSS peak of a phase
and otherwise once a second: reading it costs the kernel about 30 ms a sample, which at every sample
took a sixth of a CPU from the deploy measured; the sampler's own CPU is reported apart from the CLI's).
CPU seconds per kind of process and the time spent in the
peering handshake's waits say where the time goes; `provider start` is one start of the AWS
provider (`terraform providers schema -json` in an initialised stack), which every terraform
run of every stack pays.

Targets (issue: scale): deploy of 4 EMR accounts <= 2x deploy of 1; peak memory at 4 accounts
<= 1.5 GB. Studio takes at most 5 cross-account EMR accounts (config/model.py,
MAX_CROSS_ACCOUNT_EMR_ACCOUNTS), so a size above 5 is reported as refused by validation.

    .venv/bin/python benchmarks/scale.py [--sizes 1 2 4 5] [--concurrency N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["PATH"] = str(ROOT / "node_modules" / ".bin") + os.pathsep + os.environ["PATH"]

from config import ENVS_DIR, ConfigError, load_env, yamlio  # noqa: E402
from config.model import MAX_CROSS_ACCOUNT_EMR_ACCOUNTS  # noqa: E402
from orchestration import deploy as deploy_module  # noqa: E402
from orchestration.local import emulator as emulator_control  # noqa: E402
from orchestration.terraform.synth import Workspace, synth_env  # noqa: E402

PAGE_MB = os.sysconf("SC_PAGE_SIZE") / 2**20
TICKS = os.sysconf("SC_CLK_TCK")
KINDS = ("cli", "terraform", "provider", "emulator", "node", "other")
MEMORY_TARGET_MB = 1.5 * 1024
PSS_INTERVAL = 1.0
TIME_TARGET = 2.0


def hub_env(size: int, envs_dir: Path) -> str:
    """Write envs_dir/hub<size>.yaml: local with ``size`` EMR accounts; its name."""
    data = yamlio.load(ENVS_DIR / "local.yaml")
    name = f"hub{size}"
    settings = data["environment"]
    settings["name"] = name
    settings["domain"]["name"] = f"studio-{name}"
    # The EKS cluster IRSA needs is a platform team's, stood up apart (`emulator eks-cluster`);
    # it does not grow with EMR accounts.
    settings.pop("kubernetes", None)
    data["promoted"].pop("kubernetes", None)
    first = settings["emr_accounts"][0]
    settings["emr_accounts"] = [first] + [
        {"name": f"spoke{digit}", "account_id": str(digit) * 12, "region": first["region"],
         "network": {"cidr": f"{digit}.0.0.0/16", "private_subnet_cidrs": [f"{digit}.0.1.0/24"]}}
        for digit in range(3, 3 + size - 1)
    ]
    (envs_dir / f"{name}.yaml").write_text(yamlio.dump(data))
    return name


@dataclass
class Phase:
    peak_mb: float = 0.0  # RSS
    at_peak: dict[str, float] = field(default_factory=dict)
    peak_pss_mb: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)
    sampler_cpu: float = 0.0  # this benchmark's own sampling, counted in the CLI's CPU


class TreeSampler(threading.Thread):
    """Resident memory and CPU time of this process and all its descendants, from /proc."""

    def __init__(self, interval: float = 0.2):
        super().__init__(daemon=True)
        self.interval = interval
        self.root = os.getpid()
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.phase = Phase()
        self.start_ticks: dict[int, int] = {}
        self.last_ticks: dict[int, tuple[str, int]] = {}
        self.last_pss = 0.0

    @staticmethod
    def _read(pid: int):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return None
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        ppid, ticks, rss_pages = int(fields[1]), int(fields[11]) + int(fields[12]), int(fields[21])
        return ppid, comm, cmdline, ticks, rss_pages

    @staticmethod
    def _pss_mb(pid: int) -> float:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            pass
        return 0.0

    def _kind(self, pid: int, comm: str, cmdline: bytes) -> str:
        if pid == self.root:
            return "cli"
        if comm.startswith("terraform-prov"):
            return "provider"
        if comm == "terraform":
            return "terraform"
        if b"emulator.server" in cmdline:
            return "emulator"
        if comm.startswith("node"):
            return "node"
        return "other"

    def tree(self) -> dict[int, tuple[str, int, float]]:
        """pid -> (kind, CPU ticks, RSS MB) for the root and every descendant."""
        processes = {}
        for entry in os.scandir("/proc"):
            if entry.name.isdigit():
                read = self._read(int(entry.name))
                if read:
                    processes[int(entry.name)] = read
        children: dict[int, list[int]] = {}
        for pid, (ppid, *_rest) in processes.items():
            children.setdefault(ppid, []).append(pid)
        found, queue = {}, [self.root]
        while queue:
            pid = queue.pop()
            if pid in processes:
                _ppid, comm, cmdline, ticks, rss_pages = processes[pid]
                found[pid] = (self._kind(pid, comm, cmdline), ticks, rss_pages * PAGE_MB)
            queue += children.get(pid, [])
        return found

    def begin(self) -> None:
        with self.lock:
            self.phase = Phase()
            self.start_ticks = {pid: ticks for pid, (_k, ticks, _m) in self.tree().items()}
            self.last_ticks = {}

    def end(self) -> Phase:
        self.sample()
        with self.lock:
            phase = self.phase
            for pid, (kind, ticks) in self.last_ticks.items():
                used = (ticks - self.start_ticks.get(pid, 0)) / TICKS
                phase.cpu[kind] = phase.cpu.get(kind, 0.0) + used
            return phase

    def sample(self) -> None:
        started = time.thread_time()
        tree = self.tree()
        total = sum(mb for _k, _t, mb in tree.values())
        now = time.monotonic()
        # PSS costs the kernel a walk of every mapping (about 30 ms a sample here, the provider's
        # 700 MB binary included): read at a new RSS peak of the phase, or once a second, not at
        # every sample, so that the sampler does not take CPU from the deploy it measures.
        if total > self.phase.peak_mb or now - self.last_pss >= PSS_INTERVAL:
            self.last_pss = now
            pss = sum(self._pss_mb(pid) for pid in tree)
        else:
            pss = 0.0
        with self.lock:
            self.phase.peak_pss_mb = max(self.phase.peak_pss_mb, pss)
            for pid, (kind, ticks, _mb) in tree.items():
                self.last_ticks[pid] = (kind, ticks)
            if total > self.phase.peak_mb:
                self.phase.peak_mb = total
                self.phase.at_peak = {}
                for kind, _ticks, mb in tree.values():
                    self.phase.at_peak[kind] = self.phase.at_peak.get(kind, 0.0) + mb
            self.phase.sampler_cpu += time.thread_time() - started

    def run(self) -> None:
        while not self.stopping.wait(self.interval):
            self.sample()


@dataclass
class Row:
    size: int
    stacks: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    phases: dict[str, Phase] = field(default_factory=dict)
    waits: float = 0.0
    stack_seconds: float = 0.0
    per_stack: dict[str, float] = field(default_factory=dict)
    runs_at_once: dict[int, float] = field(default_factory=dict)  # deploy: seconds with N terraform runs going
    refused: str | None = None


def timed_waits():
    """Wrap the handshake's waits so that their time is counted."""
    total = {"seconds": 0.0}
    original = deploy_module.handshake.wait_for

    def wait_for(*args, **kwargs):
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            total["seconds"] += time.perf_counter() - start

    deploy_module.handshake.wait_for = wait_for
    return total


def quiet(_line: str) -> None:
    pass


def measure(size: int, envs_dir: Path, sampler: TreeSampler, waits: dict) -> Row:
    row = Row(size)
    name = hub_env(size, envs_dir)
    try:
        env = load_env(name, envs_dir)
    except ConfigError as exc:
        row.refused = str(exc).splitlines()[-1].strip()
        return row
    root = Path(tempfile.mkdtemp(prefix=f"scale-{size}-"))
    workspace = Workspace(root / "cdktf.out", root / "state")
    try:
        def phase(label: str, action) -> None:
            sampler.begin()
            start = time.perf_counter()
            result = action()
            row.seconds[label] = time.perf_counter() - start
            row.phases[label] = sampler.end()
            return result

        synthesized = phase("synth", lambda: synth_env(env, workspace, isolated=True))
        row.stacks = len(synthesized.stacks)
        waits["seconds"] = 0.0
        report = phase("deploy", lambda: deploy_module.deploy(name, workspace=workspace, log=quiet, envs_dir=envs_dir))
        row.waits = waits["seconds"]
        row.stack_seconds = sum(o.seconds for o in report.outcomes)
        row.per_stack = {o.stack: o.seconds for o in report.outcomes}
        row.runs_at_once = report.runs_at_once()
        phase("no-op", lambda: deploy_module.deploy(name, workspace=workspace, log=quiet, envs_dir=envs_dir))
        phase("destroy", lambda: deploy_module.destroy(name, workspace=workspace, log=quiet, envs_dir=envs_dir))
    finally:
        emulator_control.stop(workspace.state_root)
        shutil.rmtree(root, ignore_errors=True)
    return row


def provider_start_seconds(envs_dir: Path) -> float:
    """One start of the AWS provider, as every terraform run pays it."""
    root = Path(tempfile.mkdtemp(prefix="scale-provider-"))
    try:
        name = hub_env(1, envs_dir)
        result = synth_env(load_env(name, envs_dir), Workspace(root / "out", root / "state"), isolated=True)
        stack_dir = result.stack_dir(result.stacks[0])
        terraform = deploy_module.Terraform(result.stacks[0], stack_dir)
        terraform.ensure_init()
        start = time.perf_counter()
        subprocess.run(["terraform", "providers", "schema", "-json"], cwd=stack_dir, env=terraform.env, check=True,
                       stdout=subprocess.DEVNULL)
        return time.perf_counter() - start
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 2, 4, 5])
    parser.add_argument("--concurrency", type=int, help=f"sets {deploy_module.CONCURRENCY_VARIABLE} (default: the measured cap)")
    args = parser.parse_args()
    if args.concurrency is not None:
        os.environ[deploy_module.CONCURRENCY_VARIABLE] = str(args.concurrency)
    print(f"terraform runs at once: {deploy_module.terraform_concurrency()} ({os.cpu_count()} CPUs)", flush=True)
    envs_dir = Path(tempfile.mkdtemp(prefix="scale-envs-"))
    sampler = TreeSampler()
    sampler.start()
    waits = timed_waits()
    print(f"provider start: {provider_start_seconds(envs_dir):.1f} s (the stack initialised, the plugin cache warm)", flush=True)
    rows = []
    for size in args.sizes:
        row = measure(size, envs_dir, sampler, waits)
        rows.append(row)
        if row.refused:
            print(f"{size} EMR accounts: refused by validation: {row.refused}", flush=True)
        else:
            print(f"{size} EMR accounts: " + ", ".join(f"{k} {v:.1f} s" for k, v in row.seconds.items())
                  + f", peak RSS {max(p.peak_mb for p in row.phases.values()):.0f} MB"
                  f", PSS {max(p.peak_pss_mb for p in row.phases.values()):.0f} MB", flush=True)
    sampler.stopping.set()
    measured = [r for r in rows if not r.refused]
    print()
    print("| EMR accounts | stacks | synth s | deploy s | no-op s | destroy s | peak RSS MB (deploy) | peak RSS MB (any) "
          "| peak PSS MB (any) | at deploy peak: cli / terraform / provider / emulator / node MB | handshake waits s | sum of stack runs s "
          "| deploy CPU s: terraform+provider / emulator / cli / this benchmark's sampling |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---|")
    for r in measured:
        deploy_phase = r.phases["deploy"]
        at = deploy_phase.at_peak
        cpu = deploy_phase.cpu
        print(f"| {r.size} | {r.stacks} | {r.seconds['synth']:.1f} | {r.seconds['deploy']:.1f} | {r.seconds['no-op']:.1f} "
              f"| {r.seconds['destroy']:.1f} | {deploy_phase.peak_mb:.0f} | {max(p.peak_mb for p in r.phases.values()):.0f} "
              f"| {max(p.peak_pss_mb for p in r.phases.values()):.0f} "
              f"| {' / '.join(f'{at.get(k, 0):.0f}' for k in ('cli', 'terraform', 'provider', 'emulator', 'node'))} "
              f"| {r.waits:.1f} | {r.stack_seconds:.1f} "
              f"| {cpu.get('terraform', 0) + cpu.get('provider', 0):.1f} / {cpu.get('emulator', 0):.1f} "
              f"/ {cpu.get('cli', 0) - deploy_phase.sampler_cpu:.1f} / {deploy_phase.sampler_cpu:.1f} |")
    for r in rows:
        if r.refused:
            print(f"| {r.size} | refused by validation (at most {MAX_CROSS_ACCOUNT_EMR_ACCOUNTS} cross-account EMR accounts) |")
    print()
    for r in measured:
        print(f"{r.size} EMR accounts, each stack's run in deploy (init, plan and apply): "
              + ", ".join(f"{stack} {seconds:.0f} s" for stack, seconds in r.per_stack.items()))
        print(f"{r.size} EMR accounts, deploy time by terraform runs going at once: "
              + ", ".join(f"{runs} {seconds:.1f} s" for runs, seconds in sorted(r.runs_at_once.items())))
    by_size = {r.size: r for r in measured}
    ok = True
    if 1 in by_size and 4 in by_size:
        ratio = by_size[4].seconds["deploy"] / by_size[1].seconds["deploy"]
        peak = max(p.peak_mb for p in by_size[4].phases.values())
        pss = max(p.peak_pss_mb for p in by_size[4].phases.values())
        print(f"deploy of 4 / deploy of 1: {ratio:.2f}x (target <= {TIME_TARGET:.1f}x)")
        print(f"peak memory at 4 accounts: RSS {peak:.0f} MB, PSS {pss:.0f} MB (target <= {MEMORY_TARGET_MB:.0f} MB, on RSS)")
        ok = ratio <= TIME_TARGET and peak <= MEMORY_TARGET_MB
    shutil.rmtree(envs_dir, ignore_errors=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
