"""The emulator's AWS Organization: a management account with an administrator, and member
accounts brought in by ``organizations:InviteAccountToOrganization``.

What it reproduces:

* At start (before the first request is served, so enforcement never has a gap), the management
  account ``emulator.identities.MANAGEMENT_ACCOUNT_ID`` has an organization (all features), and
  an IAM user ``platform-admin`` with the AWS-managed AdministratorAccess policy and a fixed
  long-term access key, as the person who set up a real organization has.
* A member account is entered through ``OrganizationAccountAccessRole``, which trusts the
  management account (``arn:aws:iam::<management>:root``) and has AdministratorAccess: the role
  Organizations creates in each account it creates. moto's CreateAccount makes that role without
  any policy (so under enforcement it could do nothing) and in a random account id.
* The accounts an environment file names exist before the project arrives, with ids it cannot
  choose; AWS's call for bringing an existing account of a known id into an organization is
  InviteAccountToOrganization (Target ``{"Type": "ACCOUNT", "Id": ...}``), which moto 5.2.5
  lacks. It is implemented here as the management account's call, authorized by IAM like any
  other (``organizations:InviteAccountToOrganization``). The emulator then plays the invited
  account's owner, who in AWS accepts the handshake and creates OrganizationAccountAccessRole
  as AWS's guide for invited accounts describes: the returned handshake is ACCEPTED and the
  account is a member (JoinedMethod INVITED) at once. Inviting an account already in the
  organization fails with HandshakeConstraintViolationException (ALREADY_IN_AN_ORGANIZATION);
  a member account or an account outside any organization cannot invite (AccessDenied,
  AWSOrganizationsNotInUseException). An account never invited has no role anyone can assume.
* ``/moto-api/reset`` wipes moto's resources; the accounts themselves outlive it, as accounts
  outlive the deletion of everything in them, so the organization and its members are set up
  again right after.
"""

from __future__ import annotations

import json
import re
import threading
import uuid

from moto.core.exceptions import JsonRESTError
from moto.core.utils import unix_time, utcnow
from moto.iam.exceptions import EntityAlreadyExists
from moto.iam.models import AccessKey, iam_backends
from moto.organizations import utils as org_utils
from moto.organizations.exceptions import AWSOrganizationsNotInUseException
from moto.organizations.models import FakeAccount, organizations_backends
from moto.organizations.responses import OrganizationsResponse

from emulator import identities

PARTITION = "aws"
REGION = "us-east-1"
_lock = threading.RLock()
_members: set[str] = set()  # every account ever enrolled: re-enrolled after a reset


class _OrganizationsError(JsonRESTError):
    def __init__(self, code: str, message: str, **extra):
        super().__init__(code, message)
        if extra:
            self.description = json.dumps({"__type": code, "Message": message, **extra})


def _iam(account_id: str):
    return iam_backends[account_id][PARTITION]


def _management_org():
    return organizations_backends[identities.MANAGEMENT_ACCOUNT_ID][PARTITION]


def bootstrap() -> None:
    """The management account, its administrator and organization; then every known member."""
    with _lock:
        iam = _iam(identities.MANAGEMENT_ACCOUNT_ID)
        if identities.ADMIN_USER_NAME not in iam.users:
            user = iam.create_user(REGION, identities.ADMIN_USER_NAME)
            iam.attach_user_policy(identities.ADMINISTRATOR_ACCESS_ARN, identities.ADMIN_USER_NAME)
            key = AccessKey(identities.ADMIN_USER_NAME, prefix="AKIA", account_id=identities.MANAGEMENT_ACCOUNT_ID)
            key.access_key_id = identities.ADMIN_ACCESS_KEY_ID
            key.secret_access_key = identities.ADMIN_SECRET_ACCESS_KEY
            user.access_keys.append(key)
            iam.access_keys[key.access_key_id] = key
        org = _management_org()
        if org.org is None:
            org.create_organization(region=REGION, FeatureSet="ALL")
        for account_id in sorted(_members):
            _enroll(account_id)


def _enroll(account_id: str) -> dict:
    """Make ``account_id`` a member with its access role (idempotent); its organizations entry."""
    org = _management_org()
    account = next((a for a in org.accounts if a.id == account_id), None)
    if account is None:
        account = object.__new__(FakeAccount)  # FakeAccount() would draw a random id and make a role there
        account.type = "ACCOUNT"
        account.region = org.org.region
        account.organization_id = org.org.id
        account.master_account_id = org.org.master_account_id
        account.create_account_status_id = org_utils.make_random_create_account_status_id()
        account.id = account_id
        account.name = f"member-{account_id}"
        account.email = f"aws+{account_id}@emulator.invalid"
        account.create_time = utcnow()
        account.status = account.state = "ACTIVE"
        account.joined_method = "INVITED"
        account.parent_id = org.org.root_id
        account.attached_policies = []
        account.tags = {}
        org.accounts.append(account)
        for policy_id in (org_utils.DEFAULT_SCP_POLICY_ID, org_utils.DEFAULT_RCP_POLICY_ID):
            try:
                org.attach_policy(PolicyId=policy_id, TargetId=account_id)
            except Exception:  # the RCP exists only where moto's organization made it
                pass
        organizations_backends.master_accounts[account_id] = (identities.MANAGEMENT_ACCOUNT_ID, PARTITION)
    iam = _iam(account_id)
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{identities.MANAGEMENT_ACCOUNT_ID}:root"},
                       "Action": "sts:AssumeRole"}],
    }
    try:
        iam.create_role(role_name=identities.MEMBER_ACCESS_ROLE, assume_role_policy_document=json.dumps(trust),
                        path="/", permissions_boundary=None, description="", tags=[], max_session_duration="3600")
    except EntityAlreadyExists:
        pass
    iam.attach_role_policy(identities.ADMINISTRATOR_ACCESS_ARN, identities.MEMBER_ACCESS_ROLE)
    _members.add(account_id)
    return account.describe()


def enrolled(account_id: str) -> bool:
    return account_id in _members


def invite_account_to_organization(self) -> str:
    if self.current_account != identities.MANAGEMENT_ACCOUNT_ID:
        if self.current_account in organizations_backends.master_accounts:
            raise _OrganizationsError("AccessDeniedException", "You don't have permissions to access this resource.")
        raise AWSOrganizationsNotInUseException()
    target = self._get_param("Target") or {}
    account_id, kind = target.get("Id", ""), target.get("Type", "")
    if kind != "ACCOUNT" or not re.fullmatch(r"\d{12}", account_id):
        # AWS also takes an EMAIL target; the emulator's accounts have no owner mailbox to reach.
        raise _OrganizationsError("InvalidInputException", "The emulator invites accounts by 12-digit id "
                                  "(Target Type ACCOUNT).", Reason="INVALID_PARTY_TYPE_TARGET")
    with _lock:
        if account_id == identities.MANAGEMENT_ACCOUNT_ID or account_id in _members:
            raise _OrganizationsError("HandshakeConstraintViolationException",
                                      "The account is already a member of an organization.",
                                      Reason="ALREADY_IN_AN_ORGANIZATION")
        _enroll(account_id)
    org = _management_org().org
    handshake_id = "h-" + uuid.uuid4().hex[:10]
    now = unix_time(utcnow())
    return json.dumps({"Handshake": {
        "Id": handshake_id,
        "Arn": f"arn:aws:organizations::{org.master_account_id}:handshake/{org.id}/invite/{handshake_id}",
        "Parties": [{"Id": org.id.split("-", 1)[1], "Type": "ORGANIZATION"}, {"Id": account_id, "Type": "ACCOUNT"}],
        "State": "ACCEPTED",
        "RequestedTimestamp": now,
        "ExpirationTimestamp": now + 15 * 24 * 3600,
        "Action": "INVITE",
        "Resources": [{"Value": org.id, "Type": "ORGANIZATION"},
                      {"Value": account_id, "Type": "ACCOUNT"}],
    }})


def install() -> None:
    from moto.moto_api._internal.models import MotoAPIBackend

    OrganizationsResponse.invite_account_to_organization = invite_account_to_organization
    original_reset = MotoAPIBackend.reset

    def reset(self) -> None:
        original_reset(self)
        bootstrap()

    MotoAPIBackend.reset = reset
    bootstrap()
