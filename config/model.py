"""Typed, validated model of one environment file (``envs/<env>.yaml``).

An environment file has two parts, and the split is the promotion contract:

* ``environment``: what belongs to this environment only (accounts, regions, credentials,
  CIDRs, names, state backend). Never copied by ``promote``.
* ``promoted``: feature settings that move along the promotion chain (ports, Studio
  generation, Service Catalog guardrails, bootstrap script version, ...).
"""

from __future__ import annotations

import ipaddress
from enum import Enum
from urllib.parse import urlsplit
from typing import Annotated, Literal, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Discriminator, Field, Tag, field_validator, model_validator

ACCOUNT_ID = r"^\d{12}$"
NAME = r"^[a-z][a-z0-9-]{0,22}[a-z0-9]$"
REGION = r"^[a-z]{2}(-gov)?-[a-z]+-\d$"
ROLE_ARN = r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$"
# Studio reads at most this many role ARNs: Classic from its discovery file, JupyterLab from the
# domain's EmrSettings (AssumableRoleArns and ExecutionRoleArns take at most 5 each) (SM-3).
MAX_CROSS_ACCOUNT_EMR_ACCOUNTS = 5
# The role the emulator's simulated accounts are entered through, as an Organizations
# member account would be.
EMULATOR_ACCESS_ROLE = "OrganizationAccountAccessRole"




def _quoted_account_id(value: object) -> object:
    if isinstance(value, int) and not isinstance(value, bool):
        raise ValueError("write account ids as quoted strings ('012345678901'): YAML reads an unquoted one as a number")
    return value


AccountId = Annotated[str, BeforeValidator(_quoted_account_id), Field(pattern=ACCOUNT_ID)]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Target(str, Enum):
    emulator = "emulator"
    aws = "aws"


class StudioGeneration(str, Enum):
    classic = "classic"
    jupyterlab = "jupyterlab"
    both = "both"


class EmrEgress(str, Enum):
    """How the nodes of a cluster in the EMR VPC's private subnets reach the AWS APIs (NET-7)."""

    endpoints = "endpoints"  # interface endpoints for the APIs the nodes call, no internet path
    nat = "nat"  # a NAT gateway in a public subnet


class HomeEfsRetention(str, Enum):
    retain = "Retain"
    delete = "Delete"


class ProfileCredentials(Model):
    """Use a named profile of the shared AWS config."""

    profile: str = Field(min_length=1)


class RoleCredentials(Model):
    """Assume this role from the ambient credentials."""

    role_arn: Annotated[str, Field(pattern=ROLE_ARN)]


def _kind(keys: dict[str, str]):
    """A discriminator for unions told apart by which key is present, so that an error is
    reported against the one model the user meant instead of against every member."""

    def pick(value: object) -> str:
        data = value if isinstance(value, dict) else getattr(value, "__dict__", {})
        for key, tag in keys.items():
            if key in data:
                return tag
        return next(iter(keys.values()))

    return Discriminator(pick)


Credentials = Annotated[
    Union[Annotated[ProfileCredentials, Tag("ProfileCredentials")], Annotated[RoleCredentials, Tag("RoleCredentials")]],
    _kind({"role_arn": "RoleCredentials", "profile": "ProfileCredentials"}),
]


class NewNetwork(Model):
    """A VPC this project creates."""

    cidr: str = Field(description="VPC CIDR block")
    private_subnet_cidrs: list[str] = Field(min_length=1)
    public_subnet_cidr: str | None = Field(
        default=None, description="Public subnet for the NAT gateway (Studio account only)"
    )
    availability_zones: list[Annotated[str, Field(pattern=r"^[a-z]$")]] = Field(
        default=["a", "b"],
        description="AZ letters; a subnet's zone follows from its CIDR: its block number modulo their number",
    )
    egress: EmrEgress | None = Field(
        default=None,
        description="EMR accounts only: how cluster nodes reach the AWS APIs (NET-7); default endpoints, "
        "or nat with public_subnet_cidr",
    )

    @field_validator("cidr", "public_subnet_cidr")
    @classmethod
    def _cidr_parses(cls, value: str | None) -> str | None:
        return None if value is None else _parse_cidr(value)

    @field_validator("private_subnet_cidrs")
    @classmethod
    def _subnets_parse(cls, values: list[str]) -> list[str]:
        return [_parse_cidr(v) for v in values]

    @model_validator(mode="after")
    def _subnets_inside_vpc(self) -> "NewNetwork":
        vpc = ipaddress.ip_network(self.cidr)
        subnets = list(self.private_subnet_cidrs)
        if self.public_subnet_cidr:
            subnets.append(self.public_subnet_cidr)
        for subnet in subnets:
            if not ipaddress.ip_network(subnet).subnet_of(vpc):
                raise ValueError(f"subnet {subnet} is not inside the VPC CIDR {self.cidr}")
        for i, a in enumerate(subnets):
            for b in subnets[i + 1 :]:
                if ipaddress.ip_network(a).overlaps(ipaddress.ip_network(b)):
                    raise ValueError(f"subnets {a} and {b} overlap")
        return self

    def zone_of(self, cidr: str, region: str) -> str:
        """A subnet's zone follows from its CIDR, not its place in the list: its block number
        in the address space modulo the number of zones (10.0.20.0/24 -> a, 10.0.21.0/24 -> b).
        Inserting or removing a subnet therefore moves no other subnet to another zone, which
        would replace it, and with it the domain and its users' home directories."""
        network = ipaddress.ip_network(cidr)
        block = int(network.network_address) >> (32 - network.prefixlen)
        return region + self.availability_zones[block % len(self.availability_zones)]


class ExistingNetwork(Model):
    """A VPC that already exists; nothing in it is created, routes go into its route tables."""

    cidr: str = Field(description="the existing VPC's CIDR, needed for routes and overlap checks")
    vpc_id: Annotated[str, Field(pattern=r"^vpc-[0-9a-f]+$")]
    private_subnet_ids: list[Annotated[str, Field(pattern=r"^subnet-[0-9a-f]+$")]] = Field(min_length=1)
    route_table_ids: list[Annotated[str, Field(pattern=r"^rtb-[0-9a-f]+$")]] = Field(min_length=1)

    @field_validator("cidr")
    @classmethod
    def _cidr_parses(cls, value: str) -> str:
        return _parse_cidr(value)


Network = Annotated[
    Union[Annotated[NewNetwork, Tag("NewNetwork")], Annotated[ExistingNetwork, Tag("ExistingNetwork")]],
    _kind({"vpc_id": "ExistingNetwork", "cidr": "NewNetwork"}),
]


class StudioAccount(Model):
    account_id: AccountId
    region: Annotated[str, Field(pattern=REGION)]
    credentials: Credentials | None = None
    network: Network


class EmrAccount(Model):
    name: Annotated[str, Field(pattern=NAME)] | None = Field(
        default=None,
        description="Suffix of this account's stack ids (emr-account-<name>); one account may omit it",
    )
    account_id: AccountId
    region: Annotated[str, Field(pattern=REGION)]
    credentials: Credentials | None = None
    network: Network | None = Field(
        default=None, description="Required unless this is the Studio account (single-account layout)"
    )

    @property
    def stack_id(self) -> str:
        return "emr-account" if self.name is None else f"emr-account-{self.name}"


class LocalState(Model):
    backend: Literal["local"] = "local"


class S3State(Model):
    backend: Literal["s3"]
    bucket: str = Field(min_length=3, max_length=63)
    region: Annotated[str, Field(pattern=REGION)]
    key_prefix: str = Field(default="studio-emr", pattern=r"^[A-Za-z0-9_./-]+$")
    credentials: Credentials | None = None
    use_lockfile: bool = True


class Domain(Model):
    name: Annotated[str, Field(pattern=r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")]
    user_profiles: list[Annotated[str, Field(pattern=r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")]] = []

    @field_validator("user_profiles")
    @classmethod
    def _unique_profiles(cls, values: list[str]) -> list[str]:
        _require_unique(values, "user profile")
        return values


# Kubernetes names (IAM-6): a namespace is an RFC 1123 label, a service account an RFC 1123
# subdomain (Kubernetes, "Object Names and IDs").
K8S_NAMESPACE = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"
K8S_SERVICE_ACCOUNT = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
EKS_CLUSTER_NAME = r"^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$"
S3_BUCKET = r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"


class KubernetesController(str, Enum):
    """What runs SageMaker jobs from the cluster (IAM-6). Each has its own namespace and
    service account, which the IRSA role's trust names."""

    sagemaker_operator = "sagemaker-operator"  # seed 004: amazon-sagemaker-operator-for-k8s (superseded)
    ack = "ack"  # aws-controllers-k8s/sagemaker-controller, its successor


# controller -> (namespace, service account) it installs into by default: the seed's installer.yaml,
# and the ACK Helm chart's serviceAccount.name installed into namespace ack-system.
CONTROLLER_DEFAULTS = {
    KubernetesController.sagemaker_operator: ("sagemaker-k8s-operator-system", "sagemaker-k8s-operator-default"),
    KubernetesController.ack: ("ack-system", "ack-sagemaker-controller"),
}


class KubernetesCluster(Model):
    """IAM-6, specific to one environment: the EKS cluster whose SageMaker controller gets AWS
    credentials through IRSA, in which account, and the S3 buckets its jobs use."""

    account_id: AccountId | None = Field(
        default=None, description="the Studio account (default) or one EMR account: where the roles are created"
    )
    cluster_name: Annotated[str, Field(pattern=EKS_CLUSTER_NAME)] | None = Field(
        default=None, description="an EKS cluster of that account, whose OIDC issuer is read at deploy time"
    )
    issuer_url: str | None = Field(default=None, description="the cluster's OIDC issuer URL, instead of cluster_name")
    job_buckets: list[Annotated[str, Field(pattern=S3_BUCKET)]] = Field(
        min_length=1, description="the S3 buckets the training and hosting jobs may read and write"
    )

    @field_validator("issuer_url")
    @classmethod
    def _issuer_is_https(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme != "https":
            raise ValueError("an OIDC issuer URL must begin with https:// (IAM refuses any other scheme)")
        if not parts.hostname or parts.query or parts.fragment or parts.username or len(value) > 255:
            raise ValueError("not an OIDC issuer URL: https://host[/path], no query or fragment, at most 255 characters")
        return value.rstrip("/")

    @field_validator("job_buckets")
    @classmethod
    def _unique_buckets(cls, values: list[str]) -> list[str]:
        _require_unique(values, "bucket")
        return values


class KubernetesControllerSettings(Model):
    """IAM-6, promoted: which controller runs the jobs and the service account the IRSA role trusts."""

    controller: KubernetesController = Field(
        default=KubernetesController.sagemaker_operator,
        description="sagemaker-operator (seed 004: sagemaker-k8s-operator-system/sagemaker-k8s-operator-default) "
        "or ack (ack-system/ack-sagemaker-controller)",
    )
    namespace: Annotated[str, Field(pattern=K8S_NAMESPACE)] | None = Field(
        default=None, description="default: the controller's own namespace"
    )
    service_account: Annotated[str, Field(pattern=K8S_SERVICE_ACCOUNT, max_length=253)] | None = Field(
        default=None, description="default: the controller's own service account"
    )

    @property
    def namespace_name(self) -> str:
        return self.namespace or CONTROLLER_DEFAULTS[self.controller][0]

    @property
    def service_account_name(self) -> str:
        return self.service_account or CONTROLLER_DEFAULTS[self.controller][1]

    @property
    def subject(self) -> str:
        """The ``sub`` claim of the service account's projected token."""
        return f"system:serviceaccount:{self.namespace_name}:{self.service_account_name}"


class EnvironmentSettings(Model):
    """Specific to one environment; never copied by promote."""

    name: Annotated[str, Field(pattern=NAME)]
    target: Target = Target.emulator
    promotes_to: Annotated[str, Field(pattern=NAME)] | None = Field(
        default=None, description="the next environment in the promotion chain"
    )
    resource_prefix: Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{1,20}$")] = "studio-emr"
    state: Annotated[
        Union[Annotated[LocalState, Tag("LocalState")], Annotated[S3State, Tag("S3State")]],
        Discriminator(lambda v: "S3State" if (v.get("backend") if isinstance(v, dict) else v.backend) == "s3" else "LocalState"),
    ] = LocalState()
    studio_account: StudioAccount
    emr_accounts: list[EmrAccount] = Field(min_length=1)
    domain: Domain
    create_emr_default_roles: bool = Field(
        default=True,
        description="Create EMR_DefaultRole and EMR_EC2_DefaultRole (IAM-4); false where the account has them",
    )
    kubernetes: KubernetesCluster | None = Field(
        default=None, description="IAM-6: IRSA for a SageMaker controller on an EKS cluster; none by default"
    )


class ServiceCatalogSettings(Model):
    allowed_instance_types: list[Annotated[str, Field(pattern=r"^[a-z][a-z0-9]*\.[a-z0-9]+$")]] = Field(
        default=["m5.xlarge", "m5.2xlarge"], min_length=1
    )
    core_node_counts: list[Annotated[int, Field(ge=1, le=50)]] = Field(default=[1, 2, 3], min_length=1)
    emr_release_label: Annotated[str, Field(pattern=r"^emr-\d+\.\d+\.\d+$")] = "emr-6.15.0"
    bootstrap_script: str = Field(
        default="assets/bootstrap/install-pylibs.sh",
        description="path, relative to the project root, of the bootstrap action script",
    )
    bootstrap_script_version: Annotated[str, Field(pattern=r"^[A-Za-z0-9._-]+$")] = "1"

    @field_validator("allowed_instance_types", "core_node_counts")
    @classmethod
    def _unique_values(cls, values: list) -> list:
        _require_unique(values, "value")
        return values


class PromotedSettings(Model):
    """Feature settings that move along the promotion chain (dev -> staging -> prod)."""

    studio_to_emr_ports: list[Annotated[int, Field(ge=1, le=65535)]] = Field(
        default=[8998], min_length=1, description="TCP ports the EMR primary node admits from Studio (Livy 8998)"
    )
    studio_generation: StudioGeneration = StudioGeneration.both
    home_efs_retention: HomeEfsRetention = HomeEfsRetention.retain
    service_catalog: ServiceCatalogSettings = ServiceCatalogSettings()
    emr_runtime_roles: bool = Field(
        default=False,
        description="Create an EMR runtime role in each EMR account and list it in the domain's JupyterLab "
        "EmrSettings.ExecutionRoleArns",
    )
    classic_notebook_instance: bool = Field(
        default=False,
        description="SM-5: a SageMaker notebook instance in the Studio VPC whose lifecycle configuration points "
        "sparkmagic at the EMR primary node's Livy (seed 001)",
    )
    kubernetes: KubernetesControllerSettings = Field(
        default=KubernetesControllerSettings(),
        description="IAM-6: the controller and service account environment.kubernetes trusts (unused without it)",
    )

    @field_validator("studio_to_emr_ports")
    @classmethod
    def _unique_ports(cls, values: list[int]) -> list[int]:
        _require_unique(values, "port")
        return values


class EnvironmentFile(Model):
    environment: EnvironmentSettings
    promoted: PromotedSettings = PromotedSettings()

    @model_validator(mode="after")
    def _accounts_and_networks(self) -> "EnvironmentFile":
        env = self.environment
        studio = env.studio_account
        ids = [a.account_id for a in env.emr_accounts]
        _require_unique(ids, "EMR account id")
        _require_unique([a.stack_id for a in env.emr_accounts], "EMR account name")
        for i, emr in enumerate(env.emr_accounts):
            where = f"environment.emr_accounts.{i}"
            if emr.account_id == studio.account_id:
                if emr.network is not None:
                    raise ValueError(
                        f"{where}.network: account {emr.account_id} is the Studio account, so this is the "
                        "single-account layout (EMR runs in the Studio VPC, no peering); remove this key"
                    )
            elif emr.network is None:
                raise ValueError(f"{where}.network: required for an EMR account other than the Studio account")
        if env.target is Target.aws:
            accounts = [("studio_account", studio)] + [(f"emr_accounts.{i}", a) for i, a in enumerate(env.emr_accounts)]
            for where, account in accounts:
                if account.credentials is None:
                    raise ValueError(f"environment.{where}.credentials: required when target is aws (profile or role_arn)")
        peered = [(f"emr_accounts.{i}.network.cidr", a.network.cidr) for i, a in enumerate(env.emr_accounts) if a.network]
        all_cidrs = [("studio_account.network.cidr", studio.network.cidr)] + peered
        for i, (key_a, a) in enumerate(all_cidrs):
            for key_b, b in all_cidrs[i + 1 :]:
                if ipaddress.ip_network(a).overlaps(ipaddress.ip_network(b)):
                    raise ValueError(
                        f"environment.{key_b}: {b} overlaps environment.{key_a} {a}; peered VPCs must not overlap (NET-6)"
                    )
        for i, emr in enumerate(env.emr_accounts):
            if emr.region != studio.region:
                raise ValueError(
                    f"environment.emr_accounts.{i}.region = {emr.region!r}: Studio lists EMR clusters in its own "
                    f"region only, so every EMR account must be in the Studio account's region {studio.region} (SM-3)"
                )
            network = emr.network
            if isinstance(network, NewNetwork):
                egress = network.egress or EmrEgress.endpoints
                if egress is EmrEgress.nat and network.public_subnet_cidr is None:
                    raise ValueError(
                        f"environment.emr_accounts.{i}.network.public_subnet_cidr: required for egress nat "
                        "(the NAT gateway's subnet, NET-7)"
                    )
                if egress is EmrEgress.endpoints and network.public_subnet_cidr is not None:
                    raise ValueError(
                        f"environment.emr_accounts.{i}.network.public_subnet_cidr = {network.public_subnet_cidr!r}: "
                        "only used with egress nat; set network.egress: nat or remove it"
                    )
        if isinstance(studio.network, NewNetwork) and studio.network.egress is not None:
            raise ValueError(
                f"environment.studio_account.network.egress = {studio.network.egress.value!r}: the Studio VPC always "
                "has a NAT gateway and private endpoints (NET-1, NET-2); remove this key"
            )
        kubernetes = env.kubernetes
        if kubernetes is not None and kubernetes.cluster_name is not None and kubernetes.issuer_url is not None:
            raise ValueError(
                f"environment.kubernetes.issuer_url = {kubernetes.issuer_url!r}: give either cluster_name "
                f"({kubernetes.cluster_name!r}, whose issuer is read at deploy time) or issuer_url, not both"
            )
        if kubernetes is not None and kubernetes.cluster_name is None and kubernetes.issuer_url is None:
            raise ValueError("environment.kubernetes.cluster_name: required, or issuer_url (the cluster's OIDC issuer)")
        if kubernetes is not None and kubernetes.account_id is not None and kubernetes.account_id not in [studio.account_id] + ids:
            raise ValueError(
                f"environment.kubernetes.account_id = {kubernetes.account_id!r}: must be the Studio account "
                f"{studio.account_id} or one of the EMR accounts {', '.join(ids)}"
            )
        cross_account = [a for a in env.emr_accounts if a.account_id != studio.account_id]
        if len(cross_account) > MAX_CROSS_ACCOUNT_EMR_ACCOUNTS:
            generation = self.promoted.studio_generation
            reader = {
                StudioGeneration.classic: "Studio Classic's role-ARN file",
                StudioGeneration.jupyterlab: "the domain's JupyterLab EmrSettings (AssumableRoleArns)",
                StudioGeneration.both: "Studio Classic's role-ARN file and JupyterLab's EmrSettings",
            }[generation]
            raise ValueError(
                f"environment.emr_accounts: {len(cross_account)} cross-account EMR accounts, but {reader} "
                f"takes at most {MAX_CROSS_ACCOUNT_EMR_ACCOUNTS} (promoted.studio_generation is {generation.value})"
            )
        if isinstance(studio.network, NewNetwork):
            if studio.network.public_subnet_cidr is None:
                raise ValueError("environment.studio_account.network.public_subnet_cidr: required for the NAT gateway (NET-1)")
            zones = {studio.network.zone_of(cidr, studio.region) for cidr in studio.network.private_subnet_cidrs}
            if len(zones) < 2:
                raise ValueError(
                    "environment.studio_account.network.private_subnet_cidrs: the domain needs private subnets "
                    "in at least two availability zones (NET-1)"
                )
        return self

    # Derived facts every layer needs, computed in one place.

    @property
    def is_single_account(self) -> bool:
        return all(a.account_id == self.environment.studio_account.account_id for a in self.environment.emr_accounts)

    @property
    def peered_emr_accounts(self) -> list[EmrAccount]:
        studio_id = self.environment.studio_account.account_id
        return [a for a in self.environment.emr_accounts if a.account_id != studio_id]

    @property
    def kubernetes_account(self) -> StudioAccount | EmrAccount | None:
        """IAM-6: the account the IRSA roles are created in (None: no kubernetes section)."""
        kubernetes = self.environment.kubernetes
        if kubernetes is None:
            return None
        studio = self.environment.studio_account
        if kubernetes.account_id in (None, studio.account_id):
            return studio
        return next(a for a in self.environment.emr_accounts if a.account_id == kubernetes.account_id)

    def credentials_for(self, account: StudioAccount | EmrAccount) -> Credentials | None:
        """The credentials to use for an account; emulator accounts are entered by AssumeRole."""
        if account.credentials is not None or self.environment.target is Target.aws:
            return account.credentials
        return RoleCredentials(role_arn=f"arn:aws:iam::{account.account_id}:role/{EMULATOR_ACCESS_ROLE}")


def _parse_cidr(value: str) -> str:
    try:
        network = ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        raise ValueError(f"not a valid CIDR block: {exc}") from None
    if network.version != 4:
        raise ValueError("only IPv4 CIDR blocks are supported")
    if network.prefixlen == 0:
        raise ValueError("0.0.0.0/0 is not allowed: sources must be the Studio security group, not any address")
    if not 16 <= network.prefixlen <= 28:
        raise ValueError(f"prefix /{network.prefixlen} is outside the /16 to /28 range AWS allows for VPCs and subnets")
    return str(network)


def _require_unique(values: list, what: str) -> None:
    seen = set()
    for v in values:
        if v in seen:
            raise ValueError(f"duplicate {what} {v!r}")
        seen.add(v)

