"""Credentials per account: the environment Terraform runs with, and boto3 clients for the
handshake waits, verify and destroy. Each account is reached with its own credentials only.

* Real AWS: the account's profile, or its role assumed from the ambient credentials.
* Emulator: the emulator's endpoint; the emulator's organization administrator (a user of its
  management account, emulator/identities.py), then AssumeRole into the simulated account (the
  same role ARN the synthesized provider block assumes). The emulator enforces IAM, so every
  account of the environment is first enrolled in its organization (orchestration.local.emulator.enroll).

Plain boto3 with an ``endpoint_url`` is used rather than localstack-client: localstack-client
has no servicecatalog in its port map and ignores a per-client endpoint_url (docs/decisions.md).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import boto3
import botocore.exceptions
import botocore.paginate
from botocore.config import Config

from config import EnvironmentFile, ProfileCredentials, RoleCredentials, StudioEmrError, Target
from emulator import identities

from orchestration.aws import sessions
from orchestration.local.emulator import Emulator, EmulatorError, admin_session, enroll

# The base identity of terraform processes on the emulator; their provider blocks assume each
# account's role from it, as boto3 sessions here do (entered_session).
EMULATOR_KEYS = {
    "AWS_ACCESS_KEY_ID": identities.ADMIN_ACCESS_KEY_ID,
    "AWS_SECRET_ACCESS_KEY": identities.ADMIN_SECRET_ACCESS_KEY,
}
CLIENT_CONFIG = Config(retries={"max_attempts": 5, "mode": "standard"}, connect_timeout=5, read_timeout=60)


# Calls AWS answers a page at a time for which botocore's servicecatalog paginators-1.json
# declares no paginator; declared here as that file declares the others.
EXTRA_PAGINATORS = {
    ("servicecatalog", "search_products"): {
        "input_token": "PageToken", "output_token": "NextPageToken", "limit_key": "PageSize",
        "result_key": "ProductViewSummaries"},
    ("servicecatalog", "search_provisioned_products"): {
        "input_token": "PageToken", "output_token": "NextPageToken", "limit_key": "PageSize",
        "result_key": "ProvisionedProducts"},
}


def all_pages(client, operation: str, key: str, **kwargs) -> list[dict]:
    """Every item under ``key`` of every page of a list or describe call. AWS answers these a
    page at a time (IAM 100 items, Service Catalog 20 unless asked for more), so one call misses
    the rest in a big account. An operation with no paginator raises OperationNotPageableError
    rather than being read once."""
    extra = EXTRA_PAGINATORS.get((client.meta.service_model.service_name, operation))
    if extra is not None and not client.can_paginate(operation):
        model = client.meta.service_model.operation_model(client.meta.method_to_api_mapping[operation])
        paginator = botocore.paginate.Paginator(getattr(client, operation), extra, model)
    else:
        paginator = client.get_paginator(operation)
    return [item for page in paginator.paginate(**kwargs) for item in page.get(key, [])]


class AccountAccessError(StudioEmrError):
    """An account cannot be reached with its configured credentials, or they belong to another account."""


@dataclass
class AccountSession:
    label: str  # "studio account 111111111111", for messages
    account_id: str
    region: str
    endpoint_url: str | None
    session: boto3.Session
    _clients: dict = field(default_factory=dict)

    def client(self, service: str):
        if service not in self._clients:
            self._clients[service] = self.session.client(
                service, region_name=self.region, endpoint_url=self.endpoint_url, config=CLIENT_CONFIG
            )
        return self._clients[service]


class Accounts:
    def __init__(self, env: EnvironmentFile, emulator: Emulator | None):
        self.env = env
        self.emulator = emulator
        self._sessions: dict[str, AccountSession] = {}
        self._enrolled = False
        self._enroll_lock = threading.Lock()

    @property
    def endpoint_url(self) -> str | None:
        return self.emulator.url if self.emulator else None

    def account_ids(self) -> list[str]:
        settings = self.env.environment
        return [settings.studio_account.account_id] + [a.account_id for a in settings.emr_accounts]

    def ensure_enrolled(self) -> None:
        """On the emulator, every account of the environment is a member of its organization
        (once per Accounts; cheap and idempotent when the emulator already knows them)."""
        if self.emulator is None or self.env.environment.target is not Target.emulator:
            return
        with self._enroll_lock:
            if not self._enrolled:
                enroll(self.emulator, self.account_ids())
                self._enrolled = True

    def terraform_env(self) -> dict[str, str]:
        """Variables for every terraform process of this environment."""
        if self.env.environment.target is Target.emulator:
            self.ensure_enrolled()
            return {**EMULATOR_KEYS, "AWS_ENDPOINT_URL": self.emulator.url, "AWS_EC2_METADATA_DISABLED": "true"}
        return {}

    def studio(self) -> AccountSession:
        return self._session("studio account", self.env.environment.studio_account)

    def emr(self, account) -> AccountSession:
        return self._session("EMR account", account)

    def session_of(self, account_id: str) -> AccountSession:
        """The session of one of the environment's accounts, by its id."""
        if account_id == self.env.environment.studio_account.account_id:
            return self.studio()
        return self.emr(next(a for a in self.env.environment.emr_accounts if a.account_id == account_id))

    def _session(self, role: str, account) -> AccountSession:
        if account.account_id in self._sessions:
            return self._sessions[account.account_id]
        label = f"{role} {account.account_id}"
        try:
            self.ensure_enrolled()
        except EmulatorError as exc:
            raise AccountAccessError(f"{label}: {exc}") from None
        try:
            session = entered_session(self.emulator, self.env.credentials_for(account), account.region)
        except botocore.exceptions.ProfileNotFound as exc:
            raise AccountAccessError(f"{label}: {exc}; add the profile or fix environment credentials") from None
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            raise AccountAccessError(f"{label}: cannot get credentials: {exc}") from None
        self._sessions[account.account_id] = AccountSession(label, account.account_id, account.region, self.endpoint_url, session)
        return self._sessions[account.account_id]

    def preflight(self) -> None:
        """Every account answers, and its credentials belong to it (allowed_account_ids would
        stop Terraform later, with a less helpful message)."""
        accounts = [("studio account", self.env.environment.studio_account)] + [
            ("EMR account", a) for a in self.env.environment.emr_accounts
        ]
        for role, account in accounts:
            session = self._session(role, account)
            try:
                actual = session.client("sts").get_caller_identity()["Account"]
            except botocore.exceptions.EndpointConnectionError:
                where = self.endpoint_url or "AWS"
                raise AccountAccessError(f"{session.label}: {where} is unreachable") from None
            except botocore.exceptions.NoCredentialsError:
                raise AccountAccessError(
                    f"{session.label}: no credentials found (configure a profile or role in envs/"
                    f"{self.env.environment.name}.yaml, or the ambient AWS credentials)"
                ) from None
            except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
                raise AccountAccessError(f"{session.label}: {exc}") from None
            if actual != account.account_id:
                raise AccountAccessError(
                    f"{session.label}: the configured credentials belong to account {actual}, not "
                    f"{account.account_id}; nothing was applied"
                )


def entered_session(emulator: Emulator | None, credentials, region: str) -> boto3.Session:
    """A session inside one account: on the emulator, its base identity then the account's
    role; on AWS, the profile, or the role assumed from the ambient credentials."""
    endpoint_url = emulator.url if emulator else None
    if emulator is not None:
        base = admin_session(region)
    elif isinstance(credentials, ProfileCredentials):
        base = sessions.session(profile_name=credentials.profile, region_name=region)
    else:
        base = sessions.session(region_name=region)
    if not isinstance(credentials, RoleCredentials):
        return base
    sts = base.client("sts", region_name=region, endpoint_url=endpoint_url, config=CLIENT_CONFIG)
    assumed = sts.assume_role(RoleArn=credentials.role_arn, RoleSessionName="studio-emr-infra")["Credentials"]
    return sessions.session(
        aws_access_key_id=assumed["AccessKeyId"],
        aws_secret_access_key=assumed["SecretAccessKey"],
        aws_session_token=assumed["SessionToken"],
        region_name=region,
    )
