"""What the CDK CLI (`npx cdktn deploy`) needs in the shell to deploy an environment as
`main.py deploy` would reach it: Terraform's CLI configuration (the AWS provider from this
machine's mirror), and on the emulator its address and the organization administrator's keys,
with the environment's accounts enrolled (the stacks enter them through
OrganizationAccountAccessRole, as on AWS).

`eval "$(python main.py env --env local)"` then `STUDIO_EMR_ENV=local npx cdktn deploy '*'`.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from config import ENVS_DIR, Target, load_env

from orchestration.aws.accounts import Accounts
from orchestration.local import emulator as emulator_control
from orchestration.terraform.runner import CLI_CONFIG, GO_MEMORY_LIMIT, PROJECT_ROOT
from orchestration.terraform.synth import Workspace


def shell_exports(env_name: str, workspace: Workspace = Workspace(), envs_dir: Path = ENVS_DIR, log=print) -> list[str]:
    """`export NAME=value` lines for a POSIX shell. On the emulator target, starts the emulator if
    it is not running and leaves it running (the CDK CLI's Terraform runs need it)."""
    env = load_env(env_name, envs_dir)
    # cdktf.json runs `python3 app.py`: the project's virtualenv and its Node 22 first on PATH.
    path = os.pathsep.join([str(PROJECT_ROOT / ".venv" / "bin"), str(PROJECT_ROOT / "node_modules" / ".bin"),
                            os.environ.get("PATH", "")])
    variables = {"TF_CLI_CONFIG_FILE": str(CLI_CONFIG), "STUDIO_EMR_ENV": env_name, "PATH": path,
                 "STUDIO_EMR_STATE_DIR": str(workspace.state_root),
                 # The same memory limit for terraform and its provider as `main.py deploy` gives them.
                 "GOMEMLIMIT": os.environ.get("GOMEMLIMIT", GO_MEMORY_LIMIT)}
    if env.environment.target is Target.emulator:
        emulator = emulator_control.ensure_running([env_name], workspace.state_root, log)
        accounts = Accounts(env, emulator)
        variables.update(accounts.terraform_env())
        log(f"emulator: running on {emulator.url} (pid {emulator.pid}) and left running for the CDK CLI; "
            "`python main.py emulator stop` ends it")
    return [f"export {name}={shlex.quote(value)}" for name, value in variables.items()]
