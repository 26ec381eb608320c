"""Deploy and destroy: walk the stack graph forward (apply) or backwards (destroy), each stack
with its own account's credentials, independent stacks concurrently, nothing after a failure.

The peering handshake sits between the waves: after the request, wait for pending-acceptance;
after the accepts, wait for active; only then the requester's DNS option and routes.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import botocore.exceptions

from config import ENVS_DIR, EnvironmentFile, StudioEmrError, Target, load_env
from config.model import S3State
from stacks import naming
from stacks.topology import StackKind, Topology, waves

from orchestration.aws import adoption, handshake, kubernetes
from orchestration.aws.accounts import Accounts
from orchestration.aws.domain_subnets import sync_domain_subnets
from orchestration.aws.teardown import Teardown, TeardownError, TeardownReport
from orchestration.errors import TerraformError
from orchestration.local import emulator as emulator_control
from orchestration.local.lock import EnvironmentLock
from orchestration.local.progress import ProgressHook, label
from orchestration.review.report import Risk, StackPlan, risks
from orchestration.terraform.runner import ChangeSummary, Progress, Terraform
from orchestration.terraform.synth import SynthResult, Workspace, synth_env

Log = Callable[[str], None]
PEERING_TIMEOUT_SECONDS = 600
# Each terraform run holds a terraform process and an AWS provider process; concurrent runs, not
# the emulator or the CLI, dominate a deploy's memory (benchmarks/scale.py). A further run takes
# at most about TERRAFORM_RUN_MB more of the machine's memory (PSS, which counts the provider's code
# once for all provider processes: 334 MB from one run to two at 4 EMR accounts). The RSS sum
# grows more: 883 MB on Linux 6.18, which maps that code in 2 MB page-cache folios
# (docs/decisions.md). At most a quarter of the memory available is given to runs, at most one
# run per CPU, and never more than MAX_TERRAFORM_RUNS.
CONCURRENCY_VARIABLE = "STUDIO_EMR_TERRAFORM_CONCURRENCY"
TERRAFORM_RUN_MB = 400
DEPLOY_PLAN = "deploy.tfplan"  # beside `plan`'s own tfplan in each stack's directory
MAX_TERRAFORM_RUNS = 4
# What AWS answers a provider's request repeated after the answer to the first was lost (a reset
# connection), when the first had done the work and nothing is left to adopt: the stack is applied
# once more. The provider revokes a new security group's default egress rule right after creating
# it; a repeated revoke finds no rule (benchmarks/faults.py --flaky met it).
LOST_ANSWERS = (("revoking default IPv4 egress rule for Security Group", "InvalidPermission.NotFound"),
                ("revoking default IPv6 egress rule for Security Group", "InvalidPermission.NotFound"))


def terraform_concurrency() -> int:
    """How many terraform runs deploy, destroy and plan start at once on this machine; the
    environment variable STUDIO_EMR_TERRAFORM_CONCURRENCY overrides the measured cap."""
    configured = os.environ.get(CONCURRENCY_VARIABLE)
    if configured is not None:
        if not configured.strip().isdigit() or int(configured) < 1:
            raise StudioEmrError(f"{CONCURRENCY_VARIABLE}={configured!r}: must be a whole number of at least 1")
        return int(configured)
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    try:
        available_mb = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2**20
    except (ValueError, OSError):  # no such sysconf name on this system: CPUs decide
        available_mb = MAX_TERRAFORM_RUNS * 4 * TERRAFORM_RUN_MB
    return max(1, min(cpus, MAX_TERRAFORM_RUNS, available_mb // 4 // TERRAFORM_RUN_MB))


@dataclass
class StackOutcome:
    stack: str
    summary: ChangeSummary
    seconds: float
    skipped: bool = False
    started: float = 0.0  # time.monotonic() when its run began: with ``seconds``, when it ran


@dataclass
class RunReport:
    env_name: str
    action: str  # "deploy" or "destroy"
    outcomes: list[StackOutcome] = field(default_factory=list)
    seconds: float = 0.0
    emulator_url: str | None = None
    teardown: TeardownReport | None = None  # destroy only: what went before the stacks
    risks: list[Risk] = field(default_factory=list)  # deploy: what the plan review flags, as applied
    started: float = 0.0  # time.monotonic() when the command began

    @property
    def changed(self) -> bool:
        return any(not o.summary.is_empty for o in self.outcomes)

    def runs_at_once(self) -> dict[int, float]:
        """Seconds of the command spent with 0, 1, 2, ... stack runs going at once: where the
        time went that no cap on runs at once could shorten (none: synthesis, checks, the
        handshake's waits) and where a run went alone (benchmarks/scale.py)."""
        end = self.started + self.seconds
        edges = sorted({self.started, end, *(t for o in self.outcomes for t in (o.started, o.started + o.seconds)
                                             if self.started <= t <= end)})
        profile: dict[int, float] = {}
        for left, right in zip(edges, edges[1:]):
            running = sum(1 for o in self.outcomes if o.started <= left and o.started + o.seconds >= right)
            profile[running] = profile.get(running, 0.0) + right - left
        return profile


class StacksFailed(StudioEmrError):
    """More than one stack of a wave failed: each one's error, in the wave's order."""

    def __init__(self, errors: list[StudioEmrError]):
        self.errors = errors
        super().__init__(f"{len(errors)} stacks failed:\n" + "\n".join(f"- {error}" for error in errors))


class _Run:
    """One deploy or destroy of one environment."""

    def __init__(self, env: EnvironmentFile, workspace: Workspace, log: Log, action: str, refresh: bool = True,
                 on_progress: ProgressHook | None = None):
        # Stacks of one wave log from several threads: one line at a time, never interleaved.
        lock = threading.Lock()
        write = log

        def serialized(line: str) -> None:
            with lock:
                write(line)

        log = serialized
        self.env = env
        self.refresh = refresh
        self.on_progress = on_progress
        self.changed_stacks: set[str] = set()
        self.workspace = workspace
        self.log = log
        self.action = action
        self.emulator = None
        if env.environment.target is Target.emulator:
            self.emulator = emulator_control.ensure_running([env.environment.name], workspace.state_root, log)
            if isinstance(env.environment.state, S3State):
                emulator_control.ensure_state_bucket(self.emulator, env.environment.state.bucket, env.environment.state.region, log)
        self.accounts = Accounts(env, self.emulator)
        existing_provider = kubernetes.foreign_oidc_provider(env, self.accounts)
        if existing_provider:
            log(f"[{naming.kubernetes_stack(env)}] reusing {existing_provider}, which this project did not create")
        self.result: SynthResult = synth_env(env, workspace, reuse_oidc_provider=existing_provider is not None,
                                               isolated=True)
        self.report = RunReport(env.environment.name, action, emulator_url=self.emulator.url if self.emulator else None)
        self.concurrency = terraform_concurrency()

    def terraform(self, stack: str) -> Terraform:
        terraform = Terraform(stack, self.result.stack_dir(stack), self.accounts.terraform_env())
        terraform.ensure_init()
        return terraform

    def requested_peerings(self) -> dict[str, str]:
        """EMR stack id -> the peering connection the peering stack's state holds (its named
        outputs, stacks/links.py)."""
        peering = Topology.of(self.env).of_kind(StackKind.PEERING_REQUEST)
        if not peering:
            return {}
        outputs = self.terraform(peering[0].id).outputs()
        prefix = naming.PEERING_OUTPUT_PREFIX
        return {name.removeprefix(prefix): value for name, value in outputs.items() if name.startswith(prefix)}

    def fingerprint_path(self, stack: str) -> Path:
        return self.workspace.state_root / self.env.environment.name / f"{stack}.applied"

    def fingerprint(self, stack: str) -> str:
        """What a stack's last successful apply was made from: its configuration, the
        fingerprints of the stacks it reads, the emulator it ran against, and its own state file."""
        digest = hashlib.sha256((self.result.stack_dir(stack) / "cdk.tf.json").read_bytes())
        for upstream in sorted(self.result.dependencies[stack]):
            path = self.fingerprint_path(upstream)
            digest.update(path.read_bytes() if path.is_file() else b"never applied")
        digest.update((self.report.emulator_url or "aws").encode())
        state = self.workspace.local_state(self.env.environment.name, stack)
        digest.update(state.read_bytes() if state.is_file() else b"no local state")
        return digest.hexdigest()

    def run_stack(self, stack: str, destroy: bool) -> StackOutcome:
        start = time.monotonic()
        recorded = self.fingerprint_path(stack)
        upstream_changed = any(d in self.changed_stacks for d in self.result.dependencies[stack])
        if not destroy and not self.refresh and not upstream_changed and recorded.is_file() \
                and recorded.read_text() == self.fingerprint(stack):
            self.log(f"[{stack}] unchanged since its last successful apply: skipped (--refresh re-checks live resources)")
            return StackOutcome(stack, ChangeSummary(0, 0, 0), time.monotonic() - start, skipped=True, started=start)
        terraform = self.terraform(stack)
        # What an interrupted apply created and never recorded is imported: never created twice by
        # an apply, and destroyed with its stack (left out, it would hold its VPC: EC2 refuses to
        # delete a VPC with subnets or groups, and the provider retries that for 20 minutes).
        adoption.adopt(self.env, self.accounts, self.result, stack, terraform, self.log)
        verb = "destroying" if destroy else "applying"
        self.log(f"[{stack}] {verb} with the credentials of account {self.result.account_of(stack)}")
        recorded.unlink(missing_ok=True)
        if self.on_progress is not None:
            self.on_progress(stack, 0, 0, [])  # the stack's bar starts, and its clock, before its first resource
        try:
            summary = self.apply_once(stack, terraform, destroy)
        except TerraformError as failed:
            if destroy:
                raise
            # A create that AWS carried out but whose answer was lost (a connection reset, a
            # timeout) is retried by the provider, and AWS refuses the retry as a duplicate
            # (RouteAlreadyExists, Resource.AlreadyAssociated, EntityAlreadyExists): the apply
            # fails with the resource outside state. What it left is adopted and the stack applied
            # once more; so is a failure that is AWS's answer to a repeated request (LOST_ANSWERS).
            # Any other failure is the stack's failure, as before.
            try:
                adopted = adoption.adopt(self.env, self.accounts, self.result, stack, terraform, self.log)
            except StudioEmrError as also:
                raise StudioEmrError(f"{failed}\nand looking for what it created and never recorded failed too: {also}") from failed
            first = failed.diagnostics[0] if failed.diagnostics else str(failed)
            if adopted:
                self.log(f"[{stack}] applying again: the first run failed ({first}) after creating what was adopted above")
            elif any(what in d and answer in d for d in failed.diagnostics for what, answer in LOST_ANSWERS):
                self.log(f"[{stack}] applying again: the first run failed ({first}), as AWS answers a request "
                         "repeated after its first answer was lost")
            else:
                raise
            self.changed_stacks.add(stack)
            self.report.risks = [r for r in self.report.risks if r.stack != stack]  # flagged again by the new plan
            summary = self.apply_once(stack, terraform, destroy)
            if failed.progress is not None:  # what the first run changed counts too
                summary += failed.progress.applied
        if not summary.is_empty:
            self.changed_stacks.add(stack)
        if not destroy:
            recorded.write_text(self.fingerprint(stack))
        outcome = StackOutcome(stack, summary, time.monotonic() - start, started=start)
        what = "no changes" if summary.is_empty else f"{summary.add} added, {summary.change} changed, {summary.remove} destroyed"
        self.log(f"[{stack}] done in {outcome.seconds:.0f} s: {what}")
        return outcome

    def apply_once(self, stack: str, terraform: Terraform, destroy: bool) -> ChangeSummary:
        if destroy:
            _, summary = terraform.apply(destroy=True, on_progress=self._progress_printer())
            return summary
        # Planned first, so that the risky changes the plan review flags are said before they are
        # applied (the emulator target applies without asking); then that plan is applied.
        planned = terraform.plan(DEPLOY_PLAN)
        if not planned.is_empty:
            self.flag_risks(stack, terraform)
        _, summary = terraform.apply(on_progress=self._progress_printer(), plan_file=DEPLOY_PLAN, planned=planned)
        return summary

    def flag_risks(self, stack: str, terraform: Terraform) -> None:
        state = self.env.environment.state
        plan = StackPlan(stack, self.result.account_of(stack), self.result.region_of(stack), terraform.show_plan(DEPLOY_PLAN))
        for risk in risks(plan, state.bucket if isinstance(state, S3State) else None):
            self.log(f"[{stack}] RISKY {label(self.result.stack_json(stack), risk.address)} ({risk.address}): {risk.reason}")
            self.report.risks.append(risk)

    def _progress_printer(self):
        """Resources done out of the total, and what runs, named as a person knows them: to the
        live display when there is one, else as a plain line each time a resource finishes."""
        last = {"done": -1}

        def show(progress: Progress) -> None:
            if progress.done != last["done"] and progress.total:
                last["done"] = progress.done
                stack_json = self.result.stack_json(progress.stack)
                running = sorted(label(stack_json, address) for address in progress.running)
                if self.on_progress is not None:
                    self.on_progress(progress.stack, progress.done, progress.total, running)
                    return
                more = f" +{len(running) - 2}" if len(running) > 2 else ""
                now = f"; running {', '.join(running[:2])}{more}" if running else ""
                self.log(f"[{progress.stack}] {progress.done}/{progress.total}{now}")

        return show

    def weight(self, stack: str) -> int:
        """How long a stack's run is likely to take, to order a wave: its number of resources."""
        return sum(len(items) for items in self.result.stack_json(stack).get("resource", {}).values())

    def walk(self, stack_waves: list[list[str]], destroy: bool, between: Callable[[list[str]], None]) -> None:
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            for wave in stack_waves:
                # With fewer runs at once than stacks in the wave, the longest start first, so that the
                # wave does not end with one long stack running alone.
                started = {stack: pool.submit(self.run_stack, stack, destroy)
                           for stack in sorted(wave, key=self.weight, reverse=True)}
                errors = []
                for future in (started[stack] for stack in wave):
                    try:
                        self.report.outcomes.append(future.result())
                    except StudioEmrError as exc:
                        errors.append(exc)
                if errors:
                    # Stacks after a failed one never run (their inputs may be missing). Every stack
                    # of the wave that failed is reported, not only the first.
                    raise errors[0] if len(errors) == 1 else StacksFailed(errors)
                between(wave)


def deploy(
    env_name: str,
    stacks: list[str] | None = None,
    refresh: bool = False,
    workspace: Workspace = Workspace(),
    log: Log = print,
    envs_dir: Path = ENVS_DIR,
    on_progress: ProgressHook | None = None,
) -> RunReport:
    """Apply the environment. Stacks unchanged since their last successful apply are skipped
    unless ``refresh``, which re-plans every stack against the live resources (drift)."""
    env = load_env(env_name, envs_dir)
    start = time.monotonic()
    with EnvironmentLock(workspace.state_root, env_name, "deploy"):
        run = _Run(env, workspace, log, "deploy", refresh=refresh, on_progress=on_progress)
        run.report.started = start
        run.accounts.preflight()
        plan = waves(run.result.dependencies, stacks)
        run.log(f"deploying {env_name}: " + " -> ".join(" + ".join(w) for w in plan)
                + f" (up to {run.concurrency} terraform runs at once; {CONCURRENCY_VARIABLE} overrides)")

        topology = Topology.of(env)

        def handshake_step(wave: list[str]) -> None:
            # What follows a wave depends on the kinds of stack it applied (stacks/topology.py).
            kinds = topology.kinds_in(wave)
            if StackKind.STUDIO in kinds:
                sync_domain_subnets(env, run.accounts, run.log)
            if StackKind.PEERING_REQUEST in kinds:
                handshake.wait_for(env, run.accounts, {handshake.PENDING, handshake.ACTIVE}, PEERING_TIMEOUT_SECONDS, run.log,
                                   known=run.requested_peerings())
            if StackKind.EMR_LINK in kinds:
                handshake.wait_for(env, run.accounts, {handshake.ACTIVE}, PEERING_TIMEOUT_SECONDS, run.log,
                                   known=run.requested_peerings())

        run.walk(plan, destroy=False, between=handshake_step)
        if run.emulator is not None:
            # On purpose: its resources exist only while it runs, and verify, journey and the next
            # deploy use them.
            run.log(f"emulator: left running on {run.emulator.url} (pid {run.emulator.pid}) for verify, journey and "
                    "later deploys; `python main.py emulator stop` ends it")
    run.report.seconds = time.monotonic() - start
    return run.report


def destroy(env_name: str, workspace: Workspace = Workspace(), log: Log = print, envs_dir: Path = ENVS_DIR,
            terminate_clusters: bool = False, on_progress: ProgressHook | None = None) -> RunReport:
    """Remove what AWS and users made outside Terraform, in the order AWS needs
    (orchestration/aws/teardown.py), then destroy every stack in reverse dependency order.

    Refuses, before deleting anything, while clusters launched for the environment exist, unless
    ``terminate_clusters``."""
    env = load_env(env_name, envs_dir)
    start = time.monotonic()
    with EnvironmentLock(workspace.state_root, env_name, "destroy"):
        run = _Run(env, workspace, log, "destroy", on_progress=on_progress)
        run.report.started = start
        run.accounts.preflight()
        teardown = Teardown(env, run.accounts, run.log, terminate_clusters=terminate_clusters)
        teardown.check_clusters()
        plan = list(reversed(waves(run.result.dependencies)))
        run.log(f"destroying {env_name}: outside Terraform first ("
                + ", ".join(name for name, _ in teardown.steps) + "), then " + " -> ".join(" + ".join(w) for w in plan))
        for name, step in teardown.steps:
            run.log(f"[teardown] {name}")
            try:
                step()
            except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
                raise TeardownError(f"destroy {env_name}, step '{name}': {exc}. Nothing after this step was deleted; "
                                    "run destroy again once this is resolved (every step can be repeated)") from None
        run.report.teardown = teardown.report
        run.walk(plan, destroy=True, between=lambda wave: None)
        for retained in teardown.report.retained:
            run.log(retained.describe())
    run.report.seconds = time.monotonic() - start
    return run.report
