"""Faults injected and measured (issue 9 §2): deploy and destroy killed anywhere, and a flaky AWS.

Everything runs on one embedded emulator, started by this process before any command (in its own
session, so killing a command's process group never reaches it), with a copy of envs/local.yaml
named `faults` (domain `studio-faults`, without its EKS section) in a temporary envs directory
and workspace.

1. Kill anywhere (default; `--rounds N`, default 20, `--seed`). A full `deploy` and a full
   `destroy` are run once first, each as a subprocess, to measure how long they take. Then each
   round, starting from nothing:
     deploy   `deploy` runs as a subprocess in its own session and its whole process group
              (python, jsii's node, every terraform and provider process) is SIGKILLed at a moment
              drawn uniformly over the measured deploy; `deploy` is run again to recover (timed).
              Checked against the live APIs: converged (`verify` passes and a `terraform plan` of
              every stack is empty), duplicates (found independently of the inventory: more than one
              live VPC peering connection of an EMR account, or two VPCs with one Name tag in an
              account), orphans (`inventory` after the recovery), lock issues (the recovery was
              refused with EnvironmentLocked, and had to wait for the lock).
     destroy  the same for `destroy`, killed at a moment drawn over the measured destroy, run again
              to recover; converged means nothing is left: the inventory lists no item AND a raw
              listing of both accounts with each service's own calls (tests/emulator_support.py's
              left_behind, which tests/test_teardown.py checks too) is empty. Every orphan the
              inventory lists is also looked up by id with EC2's own Describe call: one EC2
              answers NotFound for is a phantom (tags that outlived their resource), counted apart.
              Anything left (phantoms included) is reported and the emulator restarted, so that the
              next round starts from nothing.
   Per round it logs what the kill interrupted (the command's last line) and what the recovery
   adopted (its " adopting " lines). Targets: every round converged, no duplicates, no orphans,
   no lock issues.

   Either mode ends by counting the requests the emulator itself failed (an HTTP 500 with a
   traceback in its log, by the exception that ended it): each is an emulator bug, and fails the run.

2. A flaky AWS (`--flaky`, one run): benchmarks/fault_proxy.py, an HTTP proxy on 127.0.0.1, is put
   between every client and the emulator by pointing the workspace's emulator.json at it (the
   orchestrator's boto3 clients, Terraform's AWS_ENDPOINT_URL and this benchmark's clients all
   read it; it is restored afterwards). Each AWS API request (not the emulator's control paths)
   is, with a seeded probability each (`--throttle-rate`, `--error-rate`, `--reset-rate`,
   default 3 % each), throttled the way its protocol throttles (EC2 RequestLimitExceeded, query
   Throttling, JSON ThrottlingException, S3 503 SlowDown), answered 500/503 without forwarding, or
   forwarded and its connection reset after the emulator did the work. deploy, verify and destroy
   run through it (up to `--attempts` times each); the checks between them run with the faults
   off: duplicates as above and the inventory's orphans after deploy (a create retried after a
   reset can duplicate on real AWS too; the inventory must find what it duplicated), and after
   destroy, that nothing is left. Target: every phase succeeds on its first attempt, and whatever
   a retried create duplicated is reported as an orphan. On the emulator target the stacks give
   the AWS provider `max_retries = 5` (stacks/base.py) and boto3 clients make five attempts
   (orchestration/aws/accounts.py), so only a request faulted five or six times in a row fails a
   phase.

    .venv/bin/python benchmarks/faults.py [--rounds 20] [--seed 1]
    .venv/bin/python benchmarks/faults.py --flaky [--seed 1] [--throttle-rate 0.03] [--error-rate 0.03] [--reset-rate 0.03]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import botocore.exceptions

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["PATH"] = str(ROOT / "node_modules" / ".bin") + os.pathsep + os.environ["PATH"]

from benchmarks.fault_proxy import KINDS, FaultProxy  # noqa: E402
from config import ENVS_DIR, load_env, yamlio  # noqa: E402
from emulator import journal  # noqa: E402
from orchestration.aws.accounts import Accounts  # noqa: E402
from orchestration.aws.inventory import inventory  # noqa: E402
from orchestration.aws.verify import verify  # noqa: E402
from orchestration.deploy import deploy, destroy, terraform_concurrency  # noqa: E402
from orchestration.local import emulator as emulator_control  # noqa: E402
from orchestration.local.lock import EnvironmentLocked  # noqa: E402
from orchestration.terraform.runner import Terraform  # noqa: E402
from orchestration.terraform.synth import SynthResult, Workspace, synth_env  # noqa: E402
from tests.emulator_support import GONE_PEERING, left_behind  # noqa: E402

ENV_NAME = "faults"
LOCK_WAIT_LIMIT_SECONDS = 120
COMMAND_TIMEOUT_SECONDS = 1800


def write_env(envs_dir: Path) -> str:
    """envs_dir/faults.yaml: envs/local.yaml under another name and domain, without its EKS
    section (the EKS cluster IRSA needs is a platform team's, stood up apart)."""
    data = yamlio.load(ENVS_DIR / "local.yaml")
    data["environment"]["name"] = ENV_NAME
    data["environment"]["domain"]["name"] = f"studio-{ENV_NAME}"
    data["environment"].pop("kubernetes", None)
    data["promoted"].pop("kubernetes", None)
    (envs_dir / f"{ENV_NAME}.yaml").write_text(yamlio.dump(data))
    return ENV_NAME


def quiet(_line: str) -> None:
    pass


def short(text: str, width: int = 160) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[:width - 3] + "..."


# --- commands as subprocesses, killed with their whole process group ---------------------------------


def group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes of a process group, from /proc."""
    members = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry.name}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(entry.name))
    return members


class Child:
    """`deploy` or `destroy` in a subprocess of its own session; its lines, timed from its start."""

    def __init__(self, action: str, workspace: Workspace, envs_dir: Path):
        code = (
            "import sys; from pathlib import Path; sys.path.insert(0, %r);"
            "from orchestration.deploy import %s; from orchestration.terraform.synth import Workspace;"
            "%s(%r, workspace=Workspace(Path(%r), Path(%r)), envs_dir=Path(%r), log=lambda l: print(l, flush=True))"
        ) % (str(ROOT), action, action, ENV_NAME, str(workspace.out_root), str(workspace.state_root), str(envs_dir))
        self.start = time.monotonic()
        self.process = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True, start_new_session=True,
                                        env={**os.environ, "PYTHONUNBUFFERED": "1"})
        self.lines: list[tuple[float, str]] = []
        self.killed_at: float | None = None
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append((time.monotonic() - self.start, line.rstrip("\n")))

    def run_until(self, seconds: float) -> bool:
        """Let it run until ``seconds`` after its start, then SIGKILL its process group; False
        when it ended by itself first."""
        try:
            self.process.wait(timeout=max(0.0, seconds - (time.monotonic() - self.start)))
        except subprocess.TimeoutExpired:
            self.killed_at = time.monotonic() - self.start
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
            deadline = time.monotonic() + 30
            while group_members(self.process.pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            left = group_members(self.process.pid)
            if left:
                print(f"  warning: processes {left} of the killed group still run after 30 s", flush=True)
        self.reader.join(timeout=10)
        return self.killed_at is not None

    def finish(self) -> float:
        """Run to its end; its duration (raises when it failed)."""
        try:
            self.process.wait(timeout=COMMAND_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            raise
        self.reader.join(timeout=10)
        seconds = time.monotonic() - self.start
        if self.process.returncode != 0:
            tail = "\n".join(line for _, line in self.lines[-30:])
            raise RuntimeError(f"exit {self.process.returncode}:\n{tail}")
        return seconds

    def last_line(self) -> str:
        return self.lines[-1][1] if self.lines else "(nothing printed yet)"


# --- recovery and checks ---------------------------------------------------------------------------


@dataclass
class Recovery:
    seconds: float = 0.0
    lines: list[str] = field(default_factory=list)
    locked: list[str] = field(default_factory=list)  # EnvironmentLocked messages
    waited: float = 0.0  # seconds spent waiting for the lock
    error: str | None = None

    @property
    def adopted(self) -> list[str]:
        return [line for line in self.lines if " adopting " in line]


def recover(action: str, workspace: Workspace, envs_dir: Path) -> Recovery:
    """Run ``action`` in this process until it is not refused for the lock; timed."""
    command = deploy if action == "deploy" else destroy
    recovery = Recovery()
    start = time.monotonic()
    while True:
        try:
            command(ENV_NAME, workspace=workspace, log=recovery.lines.append, envs_dir=envs_dir)
            break
        except EnvironmentLocked as exc:
            recovery.locked.append(str(exc))
            if time.monotonic() - start > LOCK_WAIT_LIMIT_SECONDS:
                recovery.error = f"EnvironmentLocked for {LOCK_WAIT_LIMIT_SECONDS} s: {exc}"
                break
            before = time.monotonic()
            time.sleep(1.0)
            recovery.waited += time.monotonic() - before
        except Exception as exc:  # noqa: BLE001 - a failed recovery is a result
            recovery.error = f"{type(exc).__name__}: {exc}"
            break
    recovery.seconds = time.monotonic() - start
    return recovery


def session_accounts(workspace: Workspace, envs_dir: Path) -> Accounts:
    return Accounts(load_env(ENV_NAME, envs_dir), emulator_control.current(workspace.state_root))


def plan_changes(result: SynthResult, accounts: Accounts) -> dict[str, str]:
    """Stacks whose `terraform plan` against the live APIs is not empty (or fails): why."""
    terraform_env = accounts.terraform_env()

    def plan(stack: str) -> tuple[str, str | None]:
        terraform = Terraform(stack, result.stack_dir(stack), terraform_env)
        try:
            terraform.ensure_init()
            summary = terraform.plan()
        except Exception as exc:  # noqa: BLE001
            return stack, short(f"plan failed: {exc}")
        if summary.is_empty:
            return stack, None
        return stack, f"{summary.add} to add, {summary.change} to change, {summary.remove} to destroy"

    with ThreadPoolExecutor(max_workers=terraform_concurrency()) as pool:
        return {stack: why for stack, why in pool.map(plan, result.stacks) if why}


def duplicates(accounts: Accounts) -> list[str]:
    """Found with EC2's own calls, not the inventory: more than one live peering connection of an
    EMR account (seen from either side), or several VPCs with one Name tag in an account."""
    env = accounts.env
    found = []
    studio = accounts.studio()
    studio_side = [c for c in studio.client("ec2").describe_vpc_peering_connections()["VpcPeeringConnections"]
                   if c["Status"]["Code"] not in GONE_PEERING]
    sessions = [studio]
    for account in env.environment.emr_accounts:
        emr = accounts.emr(account)
        sessions.append(emr)
        if account.account_id == env.environment.studio_account.account_id:
            continue  # single-account layout: no peering
        emr_side = [c for c in emr.client("ec2").describe_vpc_peering_connections()["VpcPeeringConnections"]
                    if c["Status"]["Code"] not in GONE_PEERING]
        connections = {c["VpcPeeringConnectionId"]: c["Status"]["Code"] for c in emr_side}
        connections.update({c["VpcPeeringConnectionId"]: c["Status"]["Code"] for c in studio_side
                            if c["AccepterVpcInfo"].get("OwnerId") == account.account_id})
        if len(connections) > 1:
            found.append(f"{len(connections)} live peering connections of EMR account {account.account_id}: "
                         + ", ".join(f"{pcx} ({status})" for pcx, status in sorted(connections.items())))
    seen = set()
    for session in sessions:
        if session.account_id in seen:
            continue
        seen.add(session.account_id)
        names = Counter(t["Value"] for v in session.client("ec2").describe_vpcs()["Vpcs"] if not v["IsDefault"]
                        for t in v.get("Tags", []) if t["Key"] == "Name")
        found += [f"{count} VPCs named {name!r} in account {session.account_id}" for name, count in names.items() if count > 1]
    return found


EC2_LOOKUPS = {
    "aws_vpc": ("describe_vpcs", "VpcIds"),
    "aws_subnet": ("describe_subnets", "SubnetIds"),
    "aws_route_table": ("describe_route_tables", "RouteTableIds"),
    "aws_internet_gateway": ("describe_internet_gateways", "InternetGatewayIds"),
    "aws_eip": ("describe_addresses", "AllocationIds"),
    "aws_security_group": ("describe_security_groups", "GroupIds"),
    "aws_vpc_endpoint": ("describe_vpc_endpoints", "VpcEndpointIds"),
}


def phantoms(accounts: Accounts, orphans) -> list[str]:
    """The inventory's EC2 orphans that EC2 itself says do not exist (NotFound by id): tags that
    outlived their resource, not resources."""
    found = []
    for orphan in orphans:
        lookup = EC2_LOOKUPS.get(orphan.kind)
        if lookup is None:
            continue
        method, parameter = lookup
        try:
            getattr(accounts.session_of(orphan.account_id).client("ec2"), method)(**{parameter: [orphan.id]})
        except botocore.exceptions.ClientError as exc:
            if exc.response["Error"]["Code"].endswith("NotFound"):
                found.append(f"{orphan.kind} {orphan.id} ({exc.response['Error']['Code']})")
            else:
                raise
    return found


def describe_left(left: dict[str, dict]) -> str:
    return "; ".join(f"{account}: " + ", ".join(f"{kind} {' '.join(items)}" for kind, items in kinds.items())
                     for account, kinds in left.items())


@dataclass
class Outcome:
    """One killed command and its recovery, checked."""
    action: str
    round: int
    kill_at: float
    killed: bool
    interrupted: str
    recovery: Recovery
    converged: bool = False
    problems: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)
    phantoms: list[str] = field(default_factory=list)  # orphans the inventory lists that do not exist

    @property
    def lock_issue(self) -> bool:
        return bool(self.recovery.locked) or self.recovery.waited > 0


def check_deployed(workspace: Workspace, envs_dir: Path, result: SynthResult, outcome: Outcome) -> None:
    problems = []
    if outcome.recovery.error:
        problems.append(f"recovery failed: {short(outcome.recovery.error, 400)}")
    try:
        report = verify(ENV_NAME, workspace=workspace, envs_dir=envs_dir)
        problems += [f"verify: {c.name}: {short(c.detail)}" for c in report.checks if not c.ok]
    except Exception as exc:  # noqa: BLE001
        problems.append(f"verify raised {type(exc).__name__}: {short(exc)}")
    accounts = session_accounts(workspace, envs_dir)
    problems += [f"plan of {stack}: {why}" for stack, why in plan_changes(result, accounts).items()]
    outcome.duplicates = duplicates(accounts)
    orphans = inventory(ENV_NAME, workspace, envs_dir, log=quiet).orphans
    outcome.orphans = [f"{o.kind} {o.id} ({o.owner})" for o in orphans]
    outcome.phantoms = phantoms(accounts, orphans)
    outcome.problems = problems
    outcome.converged = not problems


def check_destroyed(workspace: Workspace, envs_dir: Path, outcome: Outcome) -> None:
    problems = []
    if outcome.recovery.error:
        problems.append(f"recovery failed: {short(outcome.recovery.error, 400)}")
    found = inventory(ENV_NAME, workspace, envs_dir, log=quiet)
    if found.items:
        problems.append("inventory lists " + ", ".join(f"{i.category} {i.kind} {i.id}" for i in found.items[:12])
                        + (f" and {len(found.items) - 12} more" if len(found.items) > 12 else ""))
    accounts = session_accounts(workspace, envs_dir)
    left = left_behind(accounts)
    if left:
        problems.append(f"left behind: {short(describe_left(left), 600)}")
    outcome.duplicates = duplicates(accounts)
    outcome.orphans = [f"{o.kind} {o.id} ({o.owner})" for o in found.orphans]
    outcome.phantoms = phantoms(accounts, found.orphans)
    outcome.problems = problems
    outcome.converged = not problems


def fresh_emulator(workspace: Workspace) -> None:
    """A new emulator: everything the last one held is gone (states are set aside by ensure_running)."""
    emulator_control.stop(workspace.state_root)
    emulator_control.ensure_running([ENV_NAME], workspace.state_root, quiet)


def start_from_nothing(workspace: Workspace, envs_dir: Path, why: str) -> None:
    """A fresh emulator unless the inventory and the raw listing both find nothing."""
    items = inventory(ENV_NAME, workspace, envs_dir, log=quiet).items
    left = left_behind(session_accounts(workspace, envs_dir))
    if items or left:
        what = [f"inventory: {len(items)} item(s) ({', '.join(sorted({i.category + ' ' + i.kind for i in items}))})"] if items else []
        what += [f"raw listing: {short(describe_left(left), 300)}"] if left else []
        print(f"  {why}: {'; '.join(what)}; a fresh emulator, so that the next run starts from nothing", flush=True)
        fresh_emulator(workspace)


def report_emulator_errors(state_root: Path) -> int:
    """The requests the emulator itself failed (emulator.journal.server_errors): an emulator bug
    every time, since AWS answers those calls with a documented result or error."""
    errors = journal.server_errors(state_root / "emulator.log")
    print(f"emulator errors (answers of 5xx and tracebacks in its log): {sum(errors.values())}"
          + "".join(f"\n  - {short(error, 300)} x{count}" for error, count in errors.most_common()))
    return sum(errors.values())


def report_outcome(outcome: Outcome, measured: float) -> None:
    if outcome.killed:
        what = f"killed at {outcome.kill_at:.1f} s of {measured:.0f} s; last line: {short(outcome.interrupted, 140)!r}"
    else:
        what = f"drawn kill at {outcome.kill_at:.1f} s came after it ended ({outcome.interrupted})"
    recovery = outcome.recovery
    adopted = recovery.adopted
    print(f"round {outcome.round} {outcome.action}: {what}", flush=True)
    lock = (f"refused {len(recovery.locked)}x, waited {recovery.waited:.0f} s" if outcome.lock_issue else "ok")
    print(f"  recovery {recovery.seconds:.1f} s; adopted {len(adopted)}; converged {'yes' if outcome.converged else 'NO'}; "
          f"duplicates {len(outcome.duplicates)}; orphans {len(outcome.orphans)} (of which {len(outcome.phantoms)} do not "
          f"exist); lock {lock}", flush=True)
    for line in adopted:
        print(f"    {short(line, 200)}", flush=True)
    for line in (outcome.problems + outcome.duplicates + [f"orphan {o}" for o in outcome.orphans]
                 + [f"phantom orphan (EC2 says it does not exist): {p}" for p in outcome.phantoms] + recovery.locked[:1]):
        print(f"    ! {short(line, 600)}", flush=True)


def kill_rounds(rounds: int, rng: random.Random, workspace: Workspace, envs_dir: Path) -> bool:
    env = load_env(ENV_NAME, envs_dir)
    emulator = emulator_control.current(workspace.state_root)
    accounts = Accounts(env, emulator)
    # Stacks initialised before anything is timed, as every round after the first finds them.
    result = synth_env(env, workspace)
    terraform_env = accounts.terraform_env()
    for stack in result.stacks:
        Terraform(stack, result.stack_dir(stack), terraform_env).ensure_init()
    measured = {}
    for action in ("deploy", "destroy"):
        measured[action] = Child(action, workspace, envs_dir).finish()
        print(f"full {action} (subprocess, stacks initialised): {measured[action]:.1f} s", flush=True)
    start_from_nothing(workspace, envs_dir, "after the measuring destroy")

    outcomes: dict[str, list[Outcome]] = {"deploy": [], "destroy": []}
    round_seconds = []
    for number in range(1, rounds + 1):
        round_start = time.monotonic()
        for action in ("deploy", "destroy"):
            kill_at = rng.uniform(0, measured[action])
            child = Child(action, workspace, envs_dir)
            killed = child.run_until(kill_at)
            if killed:
                interrupted = child.last_line()
            else:
                interrupted = f"it ended by itself at {child.lines[-1][0] if child.lines else 0:.1f} s, exit {child.process.returncode}"
            recovery = recover(action, workspace, envs_dir)
            outcome = Outcome(action, number, kill_at, killed, interrupted, recovery)
            try:
                if action == "deploy":
                    check_deployed(workspace, envs_dir, result, outcome)
                else:
                    check_destroyed(workspace, envs_dir, outcome)
            except Exception as exc:  # noqa: BLE001 - a check that cannot read the APIs is a failed round
                outcome.problems.append(f"check raised {type(exc).__name__}: {short(exc, 400)}")
                outcome.converged = False
            outcomes[action].append(outcome)
            report_outcome(outcome, measured[action])
            if action == "deploy" and recovery.error:
                # Once more, so that the destroy half of the round has something to destroy.
                again = recover("deploy", workspace, envs_dir)
                print(f"  second deploy: {'ok' if not again.error else short(again.error, 300)}", flush=True)
        if number < rounds:
            start_from_nothing(workspace, envs_dir, "after the round")
        round_seconds.append(time.monotonic() - round_start)
        print(f"round {number} took {round_seconds[-1]:.0f} s", flush=True)

    print()
    print("| killed | rounds | killed mid-run | recovered | converged | duplicates | orphans | orphans that exist | lock issues "
          "| median recover s | max recover s | rounds that adopted |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for action, chosen in outcomes.items():
        times = [o.recovery.seconds for o in chosen]
        print(f"| {action} | {len(chosen)} | {sum(o.killed for o in chosen)} | {sum(not o.recovery.error for o in chosen)} "
              f"| {sum(o.converged for o in chosen)} | {sum(bool(o.duplicates) for o in chosen)} "
              f"| {sum(bool(o.orphans) for o in chosen)} | {sum(len(o.orphans) > len(o.phantoms) for o in chosen)} "
              f"| {sum(o.lock_issue for o in chosen)} "
              f"| {statistics.median(times):.1f} | {max(times):.1f} | {sum(bool(o.recovery.adopted) for o in chosen)} |")
    print("(duplicates, orphans, lock issues: rounds with any; orphans that exist: rounds with an orphan EC2 does not answer "
          "NotFound for; converged for destroy: nothing left, by inventory and raw listing)")
    mean_round = statistics.mean(round_seconds)
    setup = measured["deploy"] + measured["destroy"]
    print(f"\nmean round {mean_round:.0f} s; measuring {setup:.0f} s; 20 rounds would take about "
          f"{(setup + 20 * mean_round) / 60:.0f} min")
    return all(o.converged and not o.duplicates and not o.orphans and not o.lock_issue
               for chosen in outcomes.values() for o in chosen)


# --- a flaky AWS -------------------------------------------------------------------------------------


@dataclass
class PhaseResult:
    name: str
    attempts: list[tuple[float, str | None]] = field(default_factory=list)  # seconds, error

    @property
    def ok(self) -> bool:
        return bool(self.attempts) and self.attempts[-1][1] is None

    def describe(self) -> str:
        if not self.attempts:
            return "not run"
        if self.attempts[0][1] is None:
            return f"ok ({self.attempts[0][0]:.0f} s)"
        tail = f"ok on attempt {len(self.attempts)}" if self.ok else f"FAILED {len(self.attempts)}x"
        return f"{tail} ({', '.join(f'{s:.0f} s' for s, _ in self.attempts)})"


def point_record_at(state_root: Path, url: str, port: int) -> None:
    path = emulator_control.record_path(state_root)
    data = json.loads(path.read_text())
    data.update(url=url, port=port)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data))
    tmp.replace(path)


def flaky_run(args, workspace: Workspace, envs_dir: Path) -> bool:
    state_root = workspace.state_root
    start_from_nothing(workspace, envs_dir, "before the flaky run")
    emulator = emulator_control.current(state_root)
    record = emulator_control.record_path(state_root)
    original = record.read_text()
    rates = {"throttle": args.throttle_rate, "5xx": args.error_rate, "reset": args.reset_rate}
    proxy = FaultProxy(emulator.url, rates, seed=args.seed).start()
    proxy.enabled = False
    print(f"fault proxy {proxy.url} -> emulator {emulator.url}; per AWS API request: "
          + ", ".join(f"{kind} {rate:.1%}" for kind, rate in rates.items()) + f"; seed {args.seed}", flush=True)
    point_record_at(state_root, proxy.url, proxy.port)
    phases: dict[str, PhaseResult] = {}
    findings: dict[str, list[str]] = {}
    try:
        assert emulator_control.current(state_root).url == proxy.url

        def run_phase(name: str, action) -> PhaseResult:
            phase = PhaseResult(name)
            for attempt in range(1, args.attempts + 1):
                proxy.phase, proxy.enabled = name, True
                lines: list[str] = []
                start = time.monotonic()
                error = None
                try:
                    error = action(lines)
                except Exception as exc:  # noqa: BLE001 - a failed phase is a result
                    error = f"{type(exc).__name__}: {exc}"
                finally:
                    proxy.enabled = False
                phase.attempts.append((time.monotonic() - start, error))
                adopted = [line for line in lines if " adopting " in line]
                print(f"{name} attempt {attempt}: {'ok' if error is None else 'FAILED'} in {phase.attempts[-1][0]:.0f} s"
                      + (f"\n  ! {short(error, 1500)}" if error else "")
                      + "".join(f"\n  {short(line, 200)}" for line in adopted), flush=True)
                if error is None:
                    break
            phases[name] = phase
            return phase

        def do_deploy(lines):
            deploy(ENV_NAME, workspace=workspace, log=lines.append, envs_dir=envs_dir)

        def do_verify(lines):
            report = verify(ENV_NAME, workspace=workspace, envs_dir=envs_dir)
            failed = [f"{c.name}: {c.detail}" for c in report.checks if not c.ok]
            return "verify failed: " + "; ".join(failed) if failed else None

        def do_destroy(lines):
            destroy(ENV_NAME, workspace=workspace, log=lines.append, envs_dir=envs_dir)

        run_phase("deploy", do_deploy)
        accounts = session_accounts(workspace, envs_dir)  # faults are off for the checks
        findings["duplicates after deploy"] = duplicates(accounts)
        orphans = inventory(ENV_NAME, workspace, envs_dir, log=quiet).orphans
        findings["orphans after deploy"] = [f"{o.kind} {o.id} ({o.owner}; {o.detail})" for o in orphans]
        findings["  of those, EC2 says do not exist"] = phantoms(accounts, orphans)
        run_phase("verify", do_verify)
        run_phase("destroy", do_destroy)
        found = inventory(ENV_NAME, workspace, envs_dir, log=quiet)
        accounts = session_accounts(workspace, envs_dir)
        findings["inventory after destroy"] = [f"{i.category} {i.kind} {i.id}" for i in found.items]
        findings["  of those orphans, EC2 says do not exist"] = phantoms(accounts, found.orphans)
        left = left_behind(accounts)
        findings["left behind after destroy"] = [describe_left(left)] if left else []
    finally:
        record.write_text(original)
        proxy.stop()

    stats = proxy.stats
    print()
    print("| phase | result | AWS API requests | throttled | 5xx | reset after processing |")
    print("|---|---|---:|---:|---:|---:|")
    for name in ("deploy", "verify", "destroy"):
        phase = phases.get(name, PhaseResult(name))
        after = " (after a failed deploy)" if name == "verify" and not phases["deploy"].ok else ""
        print(f"| {name} | {phase.describe()}{after} | {stats.requests[name]} | "
              + " | ".join(str(stats.faults[(name, kind)]) for kind in KINDS) + " |")
    total = sum(stats.requests.values())
    print(f"| all | | {total} | " + " | ".join(str(sum(v for (_p, k), v in stats.faults.items() if k == kind))
                                            for kind in KINDS) + " |")
    print()
    resets = Counter(f"{e.service} {e.operation}" for e in stats.events if e.kind == "reset")
    mutating = {op: n for op, n in resets.items()
                if not op.split(" ", 1)[1].startswith(("Describe", "List", "Get", "GET ", "HEAD ", "Search", "AssumeRole"))}
    print(f"connections the clients dropped themselves: {stats.client_drops}")
    print("resets after a mutating call: " + (", ".join(f"{op} x{n}" if n > 1 else op for op, n in sorted(mutating.items()))
                                            or "none"))
    for name, items in findings.items():
        print(f"{name}: {len(items)}" + "".join(f"\n  - {short(item, 400)}" for item in items))
    ok = all(p.ok and len(p.attempts) == 1 for p in phases.values()) and len(phases) == 3
    ok = ok and not findings["inventory after destroy"] and not findings["left behind after destroy"]
    print(f"\nflaky AWS: {'every phase succeeded on its first attempt' if ok else 'NOT clean (see above)'}")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, help="kill-anywhere rounds (default 20; with --flaky, none unless given)")
    parser.add_argument("--seed", type=int, default=1, help="seeds the kill moments and the proxy's faults")
    parser.add_argument("--flaky", action="store_true", help="run deploy, verify and destroy through the fault proxy")
    parser.add_argument("--throttle-rate", type=float, default=0.03)
    parser.add_argument("--error-rate", type=float, default=0.03, help="500/503 before forwarding")
    parser.add_argument("--reset-rate", type=float, default=0.03, help="connection reset after the emulator answered")
    parser.add_argument("--attempts", type=int, default=2, help="--flaky: tries per phase (the first must succeed)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary workspace")
    args = parser.parse_args()
    rounds = args.rounds if args.rounds is not None else (0 if args.flaky else 20)

    root = Path(tempfile.mkdtemp(prefix="faults-"))
    envs_dir = root / "envs"
    envs_dir.mkdir()
    write_env(envs_dir)
    workspace = Workspace(root / "cdktf.out", root / "state")
    # Started here, in its own session, before any command: killing a command's group never reaches it.
    emulator = emulator_control.ensure_running([ENV_NAME], workspace.state_root, quiet)
    print(f"emulator {emulator.url} (pid {emulator.pid}, session {os.getsid(emulator.pid)}; this process's "
          f"session {os.getsid(0)}); workspace {root}; terraform runs at once: {terraform_concurrency()} "
          f"({os.cpu_count()} CPUs); seed {args.seed}", flush=True)
    ok = True
    start = time.monotonic()
    try:
        if rounds:
            ok = kill_rounds(rounds, random.Random(args.seed), workspace, envs_dir) and ok
        if args.flaky:
            ok = flaky_run(args, workspace, envs_dir) and ok
        ok = report_emulator_errors(workspace.state_root) == 0 and ok
    finally:
        emulator_control.stop(workspace.state_root)
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    print(f"total {time.monotonic() - start:.0f} s")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
