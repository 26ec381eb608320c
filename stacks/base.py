"""The stack every account role derives from: one AWS provider for one account, and state kept
per environment and per stack."""

from __future__ import annotations

from dataclasses import dataclass, field

from cdktn import LocalBackend, S3Backend, TerraformOutput, TerraformRemoteState, TerraformStack
from constructs import Construct

from config.model import Credentials, ProfileCredentials, RoleCredentials, S3State
from imports.aws.provider import AwsProvider, AwsProviderAssumeRole, AwsProviderDefaultTags
from modules.network import VpcHandle


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


@dataclass(frozen=True)
class Export:
    """A value one stack gives others under a name of its own (issue 10 §1): a Terraform output
    of that name, declared when a stack first takes it, read from the giving stack's state."""

    stack: "AccountStack"
    name: str
    value: object  # in the giving stack: a token, a literal, or a list of them


@dataclass(frozen=True)
class VpcExports:
    """What a stack gives others of its VPC."""

    vpc_id: Export
    vpc_cidr: str
    private_subnet_ids: tuple[Export, ...]  # one each: the takers use them one by one
    private_route_tables: dict[str, Export] = field(default_factory=dict)

    @classmethod
    def of(cls, stack: "AccountStack", prefix: str, vpc: VpcHandle) -> "VpcExports":
        return cls(Export(stack, f"{prefix}_vpc_id", vpc.vpc_id), vpc.vpc_cidr,
                   tuple(Export(stack, f"{prefix}_private_subnet_id_{i}", subnet) for i, subnet in enumerate(vpc.private_subnet_ids)),
                   {key: Export(stack, f"{prefix}_route_table_id_{key}", table) for key, table in vpc.private_route_tables.items()})


class TakenVpc(VpcHandle):
    """Another stack's VPC as a stack reads it: each value taken when first used."""

    def __init__(self, taker: "AccountStack", exports: VpcExports):
        self._taker, self._exports = taker, exports
        self.vpc_cidr = exports.vpc_cidr

    @property
    def vpc_id(self) -> str:  # type: ignore[override]
        return self._taker.take(self._exports.vpc_id)

    @property
    def private_subnet_ids(self) -> list[str]:  # type: ignore[override]
        return [self._taker.take(export) for export in self._exports.private_subnet_ids]

    @property
    def private_route_tables(self) -> dict[str, str]:  # type: ignore[override]
        return {key: self._taker.take(export) for key, export in self._exports.private_route_tables.items()}


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
            self.state_backend = S3Backend(
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
            self.state_backend = LocalBackend(self, path=props.local_state_path)
        self._upstreams: dict[str, TerraformRemoteState] = {}

    def take(self, export: Export):
        """``export``'s value as this stack reads it: the giving stack's output of that name,
        through its state. The giving stack becomes a dependency of this one."""
        giver = export.stack
        if giver.node.try_find_child(export.name) is None:
            TerraformOutput(giver, export.name, value=export.value)
        upstream = giver.node.id
        if upstream not in self._upstreams:
            self.add_dependency(giver)
            self._upstreams[upstream] = giver.state_backend.get_remote_state_data_source(self, upstream, upstream)
        source = self._upstreams[upstream]
        return source.get_list(export.name) if isinstance(export.value, (list, tuple)) else source.get_string(export.name)

    def take_vpc(self, exports: VpcExports) -> VpcHandle:
        return TakenVpc(self, exports)
