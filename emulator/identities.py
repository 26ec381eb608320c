"""The fixed identities of the emulator's simulated organization, shared by the emulator process
(emulator/extensions/access/) and the CLI that signs requests with them (orchestration/).

Plain constants, no moto import: the CLI imports this without loading the emulator.

Like a real AWS Organization, the emulator has a management account holding one administrator
(an IAM user with AdministratorAccess and a long-term access key), and member accounts entered
only through their ``OrganizationAccountAccessRole``, which trusts the management account. The
key pair is fixed so that every command and every terraform process can sign with it; it opens
nothing but this loopback emulator.
"""

from __future__ import annotations

# Not moto's default account (123456789012, which moto assigns to unknown access keys) and
# none of the account ids envs/*.yaml use.
MANAGEMENT_ACCOUNT_ID = "000000000000"
ADMIN_USER_NAME = "platform-admin"
# AWS's shapes: 20 characters starting AKIA for a long-term user key, a 40-character secret.
ADMIN_ACCESS_KEY_ID = "AKIAEMULATORADMINKEY"
ADMIN_SECRET_ACCESS_KEY = "emulator/platform-admin/loopback-only/00"
# The role Organizations creates in every member account it creates (its CreateAccount default).
MEMBER_ACCESS_ROLE = "OrganizationAccountAccessRole"
ADMINISTRATOR_ACCESS_ARN = "arn:aws:iam::aws:policy/AdministratorAccess"

assert len(ADMIN_ACCESS_KEY_ID) == 20 and len(ADMIN_SECRET_ACCESS_KEY) == 40


def admin_arn() -> str:
    return f"arn:aws:iam::{MANAGEMENT_ACCOUNT_ID}:user/{ADMIN_USER_NAME}"


def member_access_role_arn(account_id: str) -> str:
    return f"arn:aws:iam::{account_id}:role/{MEMBER_ACCESS_ROLE}"
