"""Entry point of the CDK app for the CDK CLI (`cdktn synth|deploy`, see cdktf.json).

The environment comes from STUDIO_EMR_ENV (default: local), so
`STUDIO_EMR_ENV=dev cdktn deploy studio-account emr-account` deploys dev.
The project's own CLI (`python main.py synth --env dev`) does the same in-process.
`eval "$(python main.py env --env ENV)"` first exports what the CLI's Terraform runs need
(orchestration/local/cdk_cli.py); STUDIO_EMR_STATE_DIR moves the local state (default .state).
"""

import os
import sys
from pathlib import Path

from config import ConfigError, load_env
from stacks.app import build_app

if __name__ == "__main__":
    try:
        env = load_env(os.environ.get("STUDIO_EMR_ENV", "local"))
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        sys.exit(exc.exit_code)
    kwargs = {"state_dir": Path(os.environ["STUDIO_EMR_STATE_DIR"])} if os.environ.get("STUDIO_EMR_STATE_DIR") else {}
    build_app(env, Path(os.environ.get("CDKTF_OUTDIR", "cdktf.out")), **kwargs).synth()
