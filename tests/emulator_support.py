"""What the emulator's own tests share: a fresh emulator process, and sessions into its
simulated accounts entered the way the CLI enters them (orchestration.accounts).

The emulator enforces IAM: an account is entered through its OrganizationAccountAccessRole,
which exists once the account is enrolled in the emulator's organization; ``account_session``
enrolls the account first, as the CLI does for every account of an environment.

Each test module starts its own emulator (moto's state is per process), so modules never
depend on each other's leftovers.
"""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest

from orchestration import emulator as emulator_control
from orchestration.emulator import Emulator


def start_emulator(state_root: Path) -> Emulator:
    return emulator_control.ensure_running([], state_root, log=lambda line: None)


def stop_emulator(state_root: Path) -> None:
    emulator_control.stop(state_root)


def enroll(emulator: Emulator, *account_ids: str) -> None:
    """Enroll accounts in the emulator's organization (idempotent)."""
    emulator_control.enroll(emulator, list(account_ids))


def admin_session(region: str = "us-east-1") -> boto3.Session:
    """The organization administrator (user platform-admin of the management account)."""
    return emulator_control.admin_session(region)


def account_session(emulator: Emulator, account_id: str, region: str = "us-east-1") -> boto3.Session:
    """A session inside ``account_id`` with the rights of the account's access role (admin);
    the account is enrolled first if it is not yet."""
    from config.model import RoleCredentials
    from orchestration.accounts import entered_session

    enroll(emulator, account_id)
    role_arn = f"arn:aws:iam::{account_id}:role/OrganizationAccountAccessRole"
    return entered_session(emulator, RoleCredentials(role_arn=role_arn), region)


@pytest.fixture(scope="module")
def emulator(tmp_path_factory):
    state_root = tmp_path_factory.mktemp("emulator")
    running = start_emulator(state_root)
    yield running
    stop_emulator(state_root)
