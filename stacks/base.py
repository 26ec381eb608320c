"""The stack every account role derives from: one AWS provider for one account, and state kept
per environment and per stack."""

from __future__ import annotations

from dataclasses import dataclass

from cdktn import LocalBackend, S3Backend, TerraformStack
from constructs import Construct

from config.model import Credentials, ProfileCredentials, RoleCredentials, S3State
from imports.aws.provider import AwsProvider, AwsProviderAssumeRole, AwsProviderDefaultTags


@dataclass(frozen=True)
class AccountStackProps:
    env_name: str
    account_id: str
    region: str
    credentials: Credentials | None
    emulator: bool
    # Local state: the path relative to the stack's synthesized directory.
    local_state_path: str | None = None
    s3_state: S3State | None = None


def _credential_args(credentials: Credentials | None, *, provider: bool) -> dict:
    if isinstance(credentials, ProfileCredentials):
        return {"profile": credentials.profile}
    if isinstance(credentials, RoleCredentials):
        # The provider takes a list of assume_role blocks (typed: jsii drops plain dicts inside
        # lists), the S3 backend a single object.
        if provider:
            return {"assume_role": [AwsProviderAssumeRole(role_arn=credentials.role_arn)]}
        return {"assume_role": {"role_arn": credentials.role_arn}}
    return {}


class AccountStack(TerraformStack):
    def __init__(self, scope: Construct, id: str, props: AccountStackProps):
        super().__init__(scope, id)
        self.add_override("terraform.required_version", ">= 1.10.0")
        self.account_id = props.account_id
        self.region = props.region
        emulator_args = {}
        if props.emulator:
            # Against the emulator an unimplemented call answers 500; the default retries (25)
            # would hang for minutes. Five still ride out throttling and 5xx as AWS returns them
            # now and then (benchmarks/faults.py --flaky). The account look-up stays on: without
            # it ARNs lose their account.
            emulator_args = {"max_retries": 5, "s3_use_path_style": True, "skip_metadata_api_check": "true"}
        AwsProvider(
            self,
            "aws",
            region=props.region,
            allowed_account_ids=[props.account_id],
            default_tags=[
                AwsProviderDefaultTags(tags={"environment": props.env_name, "stack": id, "managed-by": "studio-emr-infra"})
            ],
            **_credential_args(props.credentials, provider=True),
            **emulator_args,
        )
        if props.s3_state is not None:
            state = props.s3_state
            S3Backend(
                self,
                bucket=state.bucket,
                key=f"{state.key_prefix}/{id}.tfstate",
                region=state.region,
                encrypt=True,
                use_lockfile=state.use_lockfile,
                **_credential_args(state.credentials, provider=False),
                # The emulator serves every bucket at one address (AWS_ENDPOINT_URL), by path.
                **({"use_path_style": True, "skip_metadata_api_check": True} if props.emulator else {}),
            )
        else:
            LocalBackend(self, path=props.local_state_path)
