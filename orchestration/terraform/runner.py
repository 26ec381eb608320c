"""The one way this project calls terraform.

Every command runs with the project's CLI config (the provider comes from the machine's
filesystem mirror only), and every result is read from Terraform's machine-readable output
(``-json`` event streams, ``validate -json``, ``show -json``, ``output -json``), never its text.

python-terraform (on the design card) is not used: its last release (0.10.1, 2019) passes
``-force`` to destroy, which Terraform 1.x rejects, and it cannot stream events. See
docs/decisions.md.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from stacks.paths import PROJECT_ROOT

from orchestration.errors import SetupError, TerraformError
from orchestration.terraform.tfjson import ChangeSummary, Diagnostic, PlanDocument, StateResource, StreamEvent

CLI_CONFIG = PROJECT_ROOT / ".terraformrc.generated"
# scripts/setup points the CLI config's plugin_cache_dir here.
PLUGIN_CACHE = PROJECT_ROOT / ".cache" / "terraform-plugins"


@dataclass
class Progress:
    """Live state of one apply or destroy, updated from Terraform's event stream."""

    stack: str
    total: int = 0
    done: int = 0
    running: set[str] = field(default_factory=set)
    errors: list[str] = field(default_factory=list)
    # What completed, by the hook's action: an apply that fails part way has changed this much.
    completed: dict[str, int] = field(default_factory=dict)

    @property
    def applied(self) -> ChangeSummary:
        return ChangeSummary(self.completed.get("create", 0), self.completed.get("update", 0), self.completed.get("delete", 0))


ProgressCallback = Callable[[Progress], None]
SAVED_PLAN_LOCK_SECONDS = 60
# A second runner can plan a stack between the first runner's plan and its apply (neither holds
# the state lock then), wait for the lock while the first applies, and find its plan stale.
STALE_PLAN = "another runner applied this stack after this run planned it (a concurrent deploy or destroy of the environment)"


# Go's soft memory limit for terraform and the AWS provider it starts (a provider inherits
# terraform's environment). Decoding the provider's schema grows each one's heap by about 100 MB,
# and without a limit what it leaves as garbage stays resident through an apply that mostly waits:
# Go collects again only when the heap doubles or after two minutes. With it, a plan of the EMR
# stack peaks about 65 MB lower for the pair, at no measurable CPU cost; 100MiB saves more but
# costs terraform 50 % more CPU (docs/decisions.md, "Terraform runs at once"). A GOMEMLIMIT of
# the caller's own is kept.
GO_MEMORY_LIMIT = "120MiB"


def terraform_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    if not CLI_CONFIG.is_file():
        raise SetupError(f"{CLI_CONFIG.name} is missing: run `bash scripts/setup` first (the README's setup step)")
    env = dict(os.environ)
    env.setdefault("GOMEMLIMIT", GO_MEMORY_LIMIT)
    env.update(
        {
            "TF_CLI_CONFIG_FILE": str(CLI_CONFIG),
            "TF_IN_AUTOMATION": "1",
            "TF_INPUT": "0",
            "CHECKPOINT_DISABLE": "1",
        }
    )
    env.update(extra or {})
    return env


class Terraform:
    """Terraform in one synthesized stack directory."""

    def __init__(self, stack: str, workdir: Path, env: dict[str, str] | None = None):
        self.stack = stack
        self.workdir = workdir
        self.env = terraform_env(env)

    def _run(self, args: list[str]) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["terraform", *args], cwd=self.workdir, env=self.env, capture_output=True, text=True, check=False
        )

    def ensure_init(self) -> None:
        """Init once per working directory; later runs reuse its providers and backend."""
        if not (self.workdir / ".terraform" / "terraform.tfstate").is_file():
            self.init()

    def init(self, backend: bool = True) -> None:
        """``backend=False`` installs providers only: enough to validate, and reaches no state store."""
        args = ["init", "-input=false", "-no-color", "-json"]
        if not backend:
            args.append("-backend=false")
        # Terraform's plugin cache is not safe for concurrent inits: two stacks filling an empty
        # cache at once fail with "file exists" (seen on a fresh clone). One init at a time,
        # across threads and processes; later inits only link from the filled cache.
        PLUGIN_CACHE.mkdir(parents=True, exist_ok=True)
        with open(PLUGIN_CACHE / ".init.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            result = self._run(args)
        if result.returncode != 0:
            raise TerraformError(self.stack, "init", _diagnostics_from_stream(result.stdout) or [result.stderr.strip()])

    def validate(self) -> list[str]:
        """Terraform's error diagnostics for this stack; empty when valid."""
        result = self._run(["validate", "-json", "-no-color"])
        report = json.loads(result.stdout)
        return [str(d) for d in map(Diagnostic.parse, report.get("diagnostics", [])) if d.is_error]

    def plan(self, plan_file: str = "tfplan", destroy: bool = False, on_progress: ProgressCallback | None = None) -> ChangeSummary:
        args = ["plan", "-input=false", "-json", "-lock-timeout=0s", f"-out={plan_file}", "-detailed-exitcode"]
        if destroy:
            args.append("-destroy")
        progress = Progress(self.stack)
        code, events = self._stream(args)
        summary = _follow(events, progress, on_progress)
        if code() not in (0, 2):
            raise TerraformError(self.stack, "plan", progress.errors or self.stderr_tail())
        return summary

    def apply(self, destroy: bool = False, on_progress: ProgressCallback | None = None,
              plan_file: str | None = None, planned: ChangeSummary | None = None) -> tuple[Progress, ChangeSummary]:
        """Plan and apply in one process (``-auto-approve``), or apply the saved ``plan_file``
        whose plan found ``planned`` (the stream of a saved plan's apply has no plan summary to
        count the resources from); what changed, from the event stream."""
        # A saved plan is applied after its plan released the state lock: a second runner that
        # tried the lock in between (and was refused, or refused at its next stack) may hold it a
        # moment, so wait for it briefly. A plan made stale meanwhile is refused by Terraform.
        lock_timeout = "0s" if plan_file is None else f"{SAVED_PLAN_LOCK_SECONDS}s"
        args = ["apply", "-auto-approve", "-input=false", "-json", f"-lock-timeout={lock_timeout}"]
        if destroy:
            args.append("-destroy")
        if plan_file is not None:
            args.append(plan_file)
        progress = Progress(self.stack, total=planned.add + planned.change + planned.remove if planned else 0)
        code, events = self._stream(args)
        summary = _follow(events, progress, on_progress)
        if code() != 0:
            diagnostics = list(progress.errors or self.stderr_tail())
            if plan_file is not None and any("Saved plan is stale" in d for d in diagnostics):
                diagnostics.append(f"{STALE_PLAN}; this run applied nothing to it: run it again once the other has finished")
            failed = TerraformError(self.stack, "destroy" if destroy else "apply", diagnostics)
            failed.progress = progress  # what it changed before it failed
            raise failed
        return progress, summary

    def state_resources(self) -> list[StateResource]:
        """The managed resources this stack's state holds: address, type and values (the
        instance's attributes); empty before the first apply. From `terraform state pull`, which
        reads the state from its backend without starting the provider (`show -json` takes
        seconds per stack for the AWS provider's schema)."""
        result = self._run(["state", "pull"])
        if result.returncode != 0:
            raise TerraformError(self.stack, "state pull", [result.stderr.strip()])
        return StateResource.all_in(json.loads(result.stdout or "{}"))

    def outputs(self) -> dict[str, object]:
        """The stack's outputs, name -> value, as its state holds them (empty before the first apply)."""
        result = self._run(["state", "pull"])
        if result.returncode != 0:
            raise TerraformError(self.stack, "state pull", [result.stderr.strip()])
        return {name: output.get("value") for name, output in json.loads(result.stdout or "{}").get("outputs", {}).items()}

    def state_addresses(self) -> list[str]:
        """Addresses of the resources this stack's state holds (empty before the first apply)."""
        return [r.address for r in self.state_resources()]

    def import_resource(self, address: str, resource_id: str) -> None:
        result = self._run(["import", "-input=false", "-no-color", "-lock-timeout=0s", address, resource_id])
        if result.returncode != 0:
            raise TerraformError(self.stack, f"import {address}", [result.stderr.strip()])

    def show_plan(self, plan_file: str = "tfplan") -> PlanDocument:
        result = self._run(["show", "-json", plan_file])
        if result.returncode != 0:
            raise TerraformError(self.stack, "show", [result.stderr.strip()])
        return PlanDocument.parse(json.loads(result.stdout))

    def _stream(self, args: list[str]) -> tuple[Callable[[], int], Iterator[StreamEvent]]:
        # stderr goes to a file: a pipe nobody reads while stdout streams could fill and hang terraform.
        self._stderr = tempfile.TemporaryFile(mode="w+")
        process = subprocess.Popen(
            ["terraform", *args],
            cwd=self.workdir,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
        )

        def events() -> Iterator[StreamEvent]:
            assert process.stdout is not None
            for line in process.stdout:
                line = line.strip()
                if line.startswith("{"):
                    yield StreamEvent.parse(line)

        def returncode() -> int:
            process.wait()
            return process.returncode

        return returncode, events()

    def stderr_tail(self) -> list[str]:
        """The last lines terraform wrote to stderr in the latest streamed command."""
        self._stderr.seek(0)
        return [line for line in self._stderr.read().strip().splitlines()[-10:] if line.strip()]


def _follow(events: Iterator[StreamEvent], progress: Progress, on_progress: ProgressCallback | None) -> ChangeSummary:
    """Update ``progress`` from a plan or apply event stream; the last change summary in it."""
    summary = ChangeSummary(0, 0, 0)
    for event in events:
        if event.changes is not None:
            summary = event.changes
        _record(progress, event, on_progress)
    return summary


def _record(progress: Progress, event: StreamEvent, on_progress: ProgressCallback | None) -> None:
    if event.action == "read":
        return  # data sources (remote state of other stacks) are read, not changed
    if event.changes is not None and event.operation in ("plan", "destroy"):
        progress.total = event.changes.total
    elif event.type == "apply_start" and event.address:
        progress.running.add(event.address)
    elif event.type in ("apply_complete", "apply_errored") and event.address:
        progress.running.discard(event.address)
        progress.done += 1
        if event.type == "apply_complete" and event.action:
            progress.completed[event.action] = progress.completed.get(event.action, 0) + 1
    elif event.diagnostic is not None and event.diagnostic.is_error:
        progress.errors.append(str(event.diagnostic))
    else:
        return
    if on_progress is not None:
        on_progress(progress)


def _diagnostics_from_stream(stdout: str) -> list[str]:
    events = (StreamEvent.parse(line) for line in stdout.splitlines() if line.startswith("{"))
    return [str(e.diagnostic) for e in events if e.diagnostic is not None and e.diagnostic.is_error]
