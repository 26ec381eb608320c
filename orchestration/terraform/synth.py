"""Synthesis as a library call: validate the environment file, build the app, write the stacks.

The CDK library runs in the process that imports it, with jsii's node beside it for as long as
that process lives. The long commands (deploy, destroy, plan, inventory) therefore synthesize in
a child Python process (``isolated=True``): jsii's node (about 235 MB at a deploy's peak) and the
bindings no longer stay beside the CLI for the whole command (benchmarks/scale.py,
docs/decisions.md). Nothing here imports the CDK library until an in-process synthesis needs it.
"""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from config import EnvironmentFile, load_env
from stacks.paths import PROJECT_ROOT, STATE_DIR
from stacks.topology import Topology

from orchestration.errors import SetupError, SynthError
from orchestration.terraform.runner import Terraform


@dataclass(frozen=True)
class Workspace:
    """Where synthesized stacks and Terraform state live (tests use their own)."""

    out_root: Path = PROJECT_ROOT / "cdktf.out"
    state_root: Path = STATE_DIR

    def outdir(self, env_name: str) -> Path:
        return self.out_root / env_name

    def local_state(self, env_name: str, stack: str) -> Path:
        """Where a stack's local state lives (the path the synthesized backend points at)."""
        return self.state_root / env_name / f"{stack}.tfstate"



@dataclass(frozen=True)
class SynthResult:
    env: EnvironmentFile
    outdir: Path
    # Stack id -> the ids of the stacks it depends on, as the app's manifest declares them.
    dependencies: dict[str, list[str]]

    @property
    def stacks(self) -> list[str]:
        return list(self.dependencies)

    def stack_dir(self, stack: str) -> Path:
        return self.outdir / "stacks" / stack

    def stack_json(self, stack: str) -> dict:
        return json.loads((self.stack_dir(stack) / "cdk.tf.json").read_text())

    def account_of(self, stack: str) -> str:
        """The one account a stack's provider may act in."""
        return self.stack_json(stack)["provider"]["aws"][0]["allowed_account_ids"][0]

    def region_of(self, stack: str) -> str:
        return self.stack_json(stack)["provider"]["aws"][0]["region"]


def synth(env_name: str, workspace: Workspace = Workspace()) -> SynthResult:
    return synth_env(load_env(env_name), workspace)


def _build(env: EnvironmentFile, outdir: Path, state_root: Path, reuse_oidc_provider: bool) -> None:
    """Build the app and write its stacks, in this process."""
    try:
        from stacks.app import build_app
    except ModuleNotFoundError as missing:  # bindings are generated for the types the code imports only
        if not (missing.name or "").startswith("imports"):
            raise
        raise SetupError(f"{missing.name} is not among the generated AWS bindings (they cover the types the code imports): "
                         "run `bash scripts/setup`") from None
    try:
        build_app(env, outdir, state_root, reuse_oidc_provider=reuse_oidc_provider).synth()
    except Exception as exc:  # jsii surfaces JavaScript errors as RuntimeError and friends
        raise SynthError(f"synthesis of environment {env.environment.name!r} failed: {exc}") from exc


def _build_in_child(env: EnvironmentFile, outdir: Path, state_root: Path, reuse_oidc_provider: bool) -> None:
    """As _build, in a child Python process (this module run as a program) that ends when it is
    done. Its errors come back as the same SetupError or SynthError, with the same message."""
    done = subprocess.run([sys.executable, "-m", "orchestration.terraform.synth"], cwd=PROJECT_ROOT, capture_output=True,
                          input=pickle.dumps((env, outdir, state_root, reuse_oidc_provider)))
    if done.returncode == 0:
        return
    lines = done.stdout.decode(errors="replace").strip().splitlines()
    tail = "\n".join(f"  {line}" for line in done.stderr.decode(errors="replace").strip().splitlines()[-15:])
    try:
        kind, message = json.loads(lines[-1])
    except (IndexError, ValueError):
        raise SynthError(f"synthesis of environment {env.environment.name!r} failed: its process "
                         f"({sys.executable} -m orchestration.terraform.synth) exited with {done.returncode}:\n{tail}") from None
    if kind == "setup":
        raise SetupError(message)
    # What the CDK library and jsii wrote on the way (a JavaScript stack, warnings) goes with it.
    raise SynthError(message + (f"\nthe synthesis process wrote:\n{tail}" if tail else ""))


def synth_env(env: EnvironmentFile, workspace: Workspace = Workspace(), reuse_oidc_provider: bool = False,
              isolated: bool = False) -> SynthResult:
    """``reuse_oidc_provider``: what orchestration.aws.kubernetes found in the live account (IAM-6).
    ``isolated``: synthesize in a child process (see the module's docstring)."""
    outdir = workspace.outdir(env.environment.name)
    (_build_in_child if isolated else _build)(env, outdir, workspace.state_root, reuse_oidc_provider)
    manifest = json.loads((outdir.resolve() / "manifest.json").read_text())
    declared = manifest["stacks"]
    topology = Topology.of(env)
    expected = topology.ids
    if sorted(declared) != sorted(expected):
        raise SynthError(f"the app wrote stacks {sorted(declared)}, the topology model (stacks/topology.py) has {sorted(expected)}")
    # What the stacks' cross-stack references make them depend on is what the model declares.
    for stack, modelled in topology.dependencies().items():
        made = set(declared[stack]["dependencies"])
        if made != set(modelled):
            raise SynthError(f"stack {stack} reads from {sorted(made) or 'no stack'}, but the topology model "
                             f"(stacks/topology.py) declares {sorted(modelled) or 'no dependency'}: change both together")
    # Keep the model's order, which is also a valid apply order.
    return SynthResult(env, outdir.resolve(), topology.dependencies())


def terraform_validate(result: SynthResult) -> dict[str, list[str]]:
    """Init (from the provider mirror) and `terraform validate` every stack; errors per stack."""

    def check(stack: str) -> tuple[str, list[str]]:
        terraform = Terraform(stack, result.stack_dir(stack))
        terraform.init(backend=False)
        return stack, terraform.validate()

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(check, result.stacks))


if __name__ == "__main__":  # _build_in_child's child: its arguments pickled on stdin
    arguments = pickle.load(sys.stdin.buffer)
    try:
        _build(*arguments)
    except (SetupError, SynthError) as error:
        print(json.dumps(["setup" if isinstance(error, SetupError) else "synth", str(error)]), flush=True)
        sys.exit(1)
