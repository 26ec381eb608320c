"""Run a Classic notebook instance's lifecycle script (SM-5) where a notebook would, minus the
notebook: in a sandbox home, with a data scientist's credentials, and read back what it told
sparkmagic."""

from __future__ import annotations

import base64
import binascii
import json
import os
import stat
import subprocess
import tempfile
from pathlib import Path

import boto3

from config import StudioEmrError
from modules.notebook_script import CLUSTER_ID_VARIABLE, NOTEBOOK_HOME, SPARKMAGIC_CONFIG

SCRIPT_TIMEOUT_SECONDS = 300  # AWS fails a lifecycle script that runs longer than 5 minutes


class NotebookScriptError(StudioEmrError):
    """The lifecycle script did not leave a Livy URL in sparkmagic's config."""


def decoded(script: str) -> str:
    """The script as text, whether given as the API holds it (base64) or already decoded."""
    if script.lstrip().startswith("#!"):
        return script
    try:
        return base64.b64decode(script, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise NotebookScriptError(f"the lifecycle script is neither a shell script nor base64 of one: {exc}") from None


def render_livy_url_in_sandbox(script: str, session: boto3.Session, region: str, endpoint_url: str | None,
                               cluster_id: str | None, python: Path, timeout: float = SCRIPT_TIMEOUT_SECONDS) -> str:
    """Run the on-start script (base64 or text) with ``session``'s credentials in a temporary
    directory standing in for the notebook user's home, ``python`` as its ``python3``, and
    return the Livy URL sparkmagic's config holds afterwards for the python kernel."""
    credentials = session.get_credentials()
    if credentials is None:
        raise NotebookScriptError("the session has no credentials to run the lifecycle script with")
    frozen = credentials.get_frozen_credentials()
    python = Path(python)
    if not python.exists():
        raise NotebookScriptError(f"no interpreter at {python}")
    text = decoded(script)
    with tempfile.TemporaryDirectory(prefix="notebook-home-") as sandbox:
        home = Path(sandbox) / "home"
        bin_dir = Path(sandbox) / "bin"
        home.mkdir()
        bin_dir.mkdir()
        # A wrapper, not a symlink: a virtualenv's interpreter finds its packages by its own path.
        shim = bin_dir / "python3"
        shim.write_text(f'#!/bin/sh\nexec "{python}" "$@"\n')
        shim.chmod(shim.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        sandboxed = text.replace(NOTEBOOK_HOME, str(home))
        env = {
            "HOME": str(home),
            # The lifecycle PATH (/sbin:/bin:/usr/sbin:/usr/bin), with the given python3 first.
            "PATH": os.pathsep.join([str(bin_dir), "/usr/sbin", "/usr/bin", "/sbin", "/bin"]),
            "AWS_ACCESS_KEY_ID": frozen.access_key,
            "AWS_SECRET_ACCESS_KEY": frozen.secret_key,
            "AWS_DEFAULT_REGION": region,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
        }
        if frozen.token:
            env["AWS_SESSION_TOKEN"] = frozen.token
        if endpoint_url:
            env["AWS_ENDPOINT_URL"] = endpoint_url
        if cluster_id:
            env[CLUSTER_ID_VARIABLE] = cluster_id
        try:
            run = subprocess.run(["bash", "-c", sandboxed], cwd=home, env=env, capture_output=True, text=True,
                                 timeout=timeout)
        except subprocess.TimeoutExpired:
            raise NotebookScriptError(f"the lifecycle script ran longer than {timeout:.0f} s; "
                                      "AWS fails a notebook whose script runs over 5 minutes") from None
        config_path = home / SPARKMAGIC_CONFIG.removeprefix(NOTEBOOK_HOME + "/")
        stderr = run.stderr.strip()
        if run.returncode != 0:
            raise NotebookScriptError(f"the lifecycle script exited {run.returncode}: {stderr[-800:] or '(no stderr)'}")
        try:
            config = json.loads(config_path.read_text())
            url = config["kernel_python_credentials"]["url"]
        except (OSError, ValueError, KeyError, TypeError):
            raise NotebookScriptError(
                f"the lifecycle script wrote no Livy URL to {SPARKMAGIC_CONFIG}; its stderr: {stderr[-800:] or '(empty)'}"
            ) from None
        return url
