"""Start, find and stop the embedded emulator (``emulator/server.py``) as a background process.

The emulator keeps everything in memory, so Terraform state of an emulator environment is only
meaningful while the emulator process that built it lives. Its identity is recorded next to the
states; when a new emulator starts, states left by an earlier one are set aside (renamed, not
deleted) so that the next deploy starts clean instead of refreshing resources that no longer exist.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from config import StudioEmrError
from emulator import identities
from stacks.paths import PROJECT_ROOT, STATE_DIR as STATE_ROOT

START_TIMEOUT_SECONDS = 60
# The emulator journals every request (emulator/journal.py), about 300 KB a deploy and destroy of
# `local`; emulators append to one log. A new emulator finding it above this size moves it to
# emulator.log.1 (replacing the one before) and starts a new one, so two logs at most are kept.
LOG_ROTATE_BYTES = 20 * 2**20


class EmulatorError(StudioEmrError):
    """The emulator could not be started or reached."""


@dataclass(frozen=True)
class Emulator:
    pid: int
    port: int
    url: str

    def alive(self) -> bool:
        try:
            os.kill(self.pid, 0)
        except OSError:
            return False
        try:
            with urllib.request.urlopen(f"{self.url}/moto-api/", timeout=5):
                return True
        except OSError:
            return False


def record_path(state_root: Path = STATE_ROOT) -> Path:
    return state_root / "emulator.json"


def current(state_root: Path = STATE_ROOT) -> Emulator | None:
    """The recorded emulator, if it is still running."""
    path = record_path(state_root)
    if not path.is_file():
        return None
    data = json.loads(path.read_text())
    emulator = Emulator(pid=data["pid"], port=data["port"], url=data["url"])
    return emulator if emulator.alive() else None


def emulator_env() -> dict[str, str]:
    """The emulator's environment: this one, with at most two glibc malloc arenas (unless the
    caller set MALLOC_ARENA_MAX). Its eight request threads otherwise get an arena each, and
    what one thread freed is not reused by another: a deploy of two stacks left the emulator
    35 MB larger (442 MB against 407 MB), for no measurable difference in time."""
    return {**os.environ, "MALLOC_ARENA_MAX": os.environ.get("MALLOC_ARENA_MAX", "2")}


def ensure_running(emulator_env_names: list[str], state_root: Path = STATE_ROOT, log=print) -> Emulator:
    """The running emulator, or a new one; states of ``emulator_env_names`` built by an earlier
    emulator are set aside first."""
    running = current(state_root)
    if running is not None:
        return running
    state_root.mkdir(parents=True, exist_ok=True)
    for env_name in emulator_env_names:
        states = state_root / env_name
        if states.is_dir() and any(states.glob("*.tfstate")):
            stale = state_root / f"{env_name}.stale-{int(time.time())}"
            states.rename(stale)
            log(f"emulator: the emulator that held environment {env_name!r} is gone; its state moved to {stale.name}")
    ready = record_path(state_root)
    ready.unlink(missing_ok=True)
    log_path = state_root / "emulator.log"
    if log_path.is_file() and log_path.stat().st_size > LOG_ROTATE_BYTES:
        log_path.replace(log_path.with_name("emulator.log.1"))
    log_file = open(log_path, "ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "emulator.server", "--port", "0", "--ready-file", str(ready)],
        cwd=PROJECT_ROOT,
        env=emulator_env(),
        stdout=log_file,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,  # outlives this command, and Ctrl-C here does not reach it
    )
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise EmulatorError(f"the emulator exited at start (code {process.returncode}); see {state_root / 'emulator.log'}")
        emulator = current(state_root)
        if emulator is not None:
            log(f"emulator: started on {emulator.url} (pid {emulator.pid})")
            return emulator
        time.sleep(0.2)
    process.kill()
    raise EmulatorError(f"the emulator did not answer within {START_TIMEOUT_SECONDS} s; see {state_root / 'emulator.log'}")


def stop(state_root: Path = STATE_ROOT) -> bool:
    """Stop the recorded emulator; False if none was running."""
    emulator = current(state_root)
    record_path(state_root).unlink(missing_ok=True)
    if emulator is None:
        return False
    os.kill(emulator.pid, signal.SIGTERM)
    for _ in range(50):
        try:
            # Started by this process (plan, a test): reap it, or it lingers as a zombie until we exit.
            os.waitpid(emulator.pid, os.WNOHANG)
        except ChildProcessError:
            pass
        try:
            os.kill(emulator.pid, 0)
        except OSError:
            return True
        time.sleep(0.1)
    os.kill(emulator.pid, signal.SIGKILL)
    return True


def admin_session(region: str = "us-east-1"):
    """A boto3 session of the emulator's organization administrator (the management account's
    ``platform-admin`` user), the identity every command starts from on the emulator."""
    from orchestration.aws import sessions

    return sessions.session(
        aws_access_key_id=identities.ADMIN_ACCESS_KEY_ID,
        aws_secret_access_key=identities.ADMIN_SECRET_ACCESS_KEY,
        region_name=region,
    )


def enroll(emulator: Emulator, account_ids: list[str]) -> list[str]:
    """Make each account a member of the emulator's organization, so that its
    OrganizationAccountAccessRole exists; idempotent. Returns the accounts newly enrolled.

    Done as an organization's administrator does it in AWS, through the Organizations API with
    the management account's credentials (InviteAccountToOrganization by account id; the emulator
    accepts on the member's behalf, see emulator/extensions/access/organization.py), so the
    emulator's control surface stays the AWS API and IAM decides who may enroll."""
    import botocore.exceptions
    from botocore.config import Config

    config = Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5, read_timeout=60)
    organizations = admin_session().client("organizations", endpoint_url=emulator.url, config=config)
    try:
        members = {a["Id"] for page in organizations.get_paginator("list_accounts").paginate() for a in page["Accounts"]}
        added = []
        for account_id in dict.fromkeys(account_ids):
            if account_id in members:
                continue
            try:
                organizations.invite_account_to_organization(Target={"Id": account_id, "Type": "ACCOUNT"})
                added.append(account_id)
            except organizations.exceptions.HandshakeConstraintViolationException:
                pass  # enrolled meanwhile by a concurrent command
        return added
    except botocore.exceptions.EndpointConnectionError:
        raise EmulatorError(f"the emulator at {emulator.url} is unreachable") from None
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
        raise EmulatorError(f"cannot enroll accounts {', '.join(account_ids)} in the emulator at {emulator.url}: {exc}") from None


def ensure_state_bucket(emulator: Emulator, bucket: str, region: str, log=print) -> None:
    """On the emulator, the S3 state bucket an environment names (`state.backend: s3`) stands in for
    the one a platform team bootstraps on AWS before the first deploy: created in the management
    account when missing, with versioning, as Terraform's S3 backend documentation recommends."""
    import botocore.exceptions

    s3 = admin_session(region).client("s3", endpoint_url=emulator.url)
    try:
        s3.head_bucket(Bucket=bucket)
        return
    except botocore.exceptions.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket", "NotFound"):
            raise EmulatorError(f"state bucket {bucket}: {exc}") from None
    arguments = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    try:
        s3.create_bucket(Bucket=bucket, **arguments)
    except botocore.exceptions.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise EmulatorError(f"cannot create state bucket {bucket} on the emulator: {exc}") from None
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    log(f"emulator: created the state bucket {bucket} (on AWS it must exist before the first deploy)")
