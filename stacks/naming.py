"""Names derived from an environment, in one place: the stacks create these resources and the
orchestrator finds them again by the same names."""

from __future__ import annotations

from dataclasses import dataclass

from config import EmrAccount, EnvironmentFile

STUDIO_STACK = "studio-account"
STUDIO_PEERING_STACK = "studio-account-peering"
STUDIO_LINK_STACK = "studio-account-link"
PARTITION = "aws"
# The peering stack's named output of each EMR account's connection: this prefix and the EMR stack id.
PEERING_OUTPUT_PREFIX = "peering_connection_id_"
# Inline policies other code reads back by name.
DISCOVERY_POLICY = "emr-discovery"
ASSUME_EMR_ROLES_POLICY = "assume-emr-account-roles"


def prefix(env: EnvironmentFile) -> str:
    return f"{env.environment.resource_prefix}-{env.environment.name}"


def studio_name(env: EnvironmentFile) -> str:
    """The Name of the Studio VPC this project creates and of the Studio security group."""
    return f"{prefix(env)}-studio"


def emr_name(env: EnvironmentFile, account: EmrAccount) -> str:
    """Prefix of an EMR account's resource names (bucket, portfolio, product, security group)."""
    return prefix(env) if account.name is None else f"{prefix(env)}-{account.name}"


def emr_vpc_name(env: EnvironmentFile, account: EmrAccount) -> str:
    """The Name tag of the VPC this project creates in an EMR account."""
    return f"{emr_name(env, account)}-emr"


def emr_product_name(env: EnvironmentFile, account: EmrAccount) -> str:
    """The Service Catalog product Studio lists in an EMR account (SC-1)."""
    return f"{emr_name(env, account)}-emr-cluster"


# NET-7: the security groups of an EMR account: the one Studio reaches the primary node through,
# and the groups EMR manages for a cluster in a private subnet (EMR adds its own rules to these).
EMR_SECURITY_GROUP_KINDS = ("primary", "managed-primary", "managed-core", "service-access")


def emr_security_group_name(env: EnvironmentFile, account: EmrAccount, kind: str) -> str:
    return f"{emr_name(env, account)}-emr-{kind}"


@dataclass(frozen=True)
class EmrNames:
    """Every name the EMR account's stack gives: the stack reads them from here, and so do
    verify, the journey and the teardown."""
    vpc: str
    product: str
    portfolio: str
    bucket: str
    launch_role: str
    security_groups: dict[str, str]  # kind (EMR_SECURITY_GROUP_KINDS, "endpoints") -> name


def emr_names(env: EnvironmentFile, account: EmrAccount) -> EmrNames:
    name = emr_name(env, account)
    return EmrNames(
        vpc=emr_vpc_name(env, account),
        product=emr_product_name(env, account),
        portfolio=f"{name}-emr",
        bucket=f"{name}-emr-{account.account_id}",
        launch_role=f"{name}-sc-launch",
        security_groups={kind: emr_security_group_name(env, account, kind)
                         for kind in (*EMR_SECURITY_GROUP_KINDS, "endpoints")},
    )


def studio_lifecycle_config_name(env: EnvironmentFile) -> str:
    """SM-3: the JupyterLab lifecycle configuration that writes the role each EMR account offers."""
    return f"{prefix(env)}-emr-discovery"


def notebook_instance_name(env: EnvironmentFile) -> str:
    """SM-5: the Classic notebook instance (and its lifecycle configuration)."""
    return f"{prefix(env)}-notebook"


def emr_link_stack(account: EmrAccount) -> str:
    return f"{account.stack_id}-link"


def role_arn(account_id: str, role_name: str) -> str:
    return f"arn:{PARTITION}:iam::{account_id}:role/{role_name}"


def execution_role_name(env: EnvironmentFile) -> str:
    return f"{prefix(env)}-sagemaker-execution"


def execution_role_arn(env: EnvironmentFile) -> str:
    return role_arn(env.environment.studio_account.account_id, execution_role_name(env))


def discovery_role_name(env: EnvironmentFile) -> str:
    return f"{prefix(env)}-emr-discovery"


def discovery_role_arns(env: EnvironmentFile) -> dict[str, str]:
    """SM-3: {EMR account id: role Studio assumes there}, for every peered EMR account."""
    return {a.account_id: role_arn(a.account_id, discovery_role_name(env)) for a in env.peered_emr_accounts}


def runtime_role_name(env: EnvironmentFile) -> str | None:
    return f"{prefix(env)}-emr-runtime" if env.promoted.emr_runtime_roles else None


def runtime_role_arns(env: EnvironmentFile) -> list[str]:
    """SM-3: the EMR runtime roles JupyterLab lists as ExecutionRoleArns, one per EMR account."""
    name = runtime_role_name(env)
    return sorted({role_arn(a.account_id, name) for a in env.environment.emr_accounts}) if name else []


def peering_tags(env: EnvironmentFile, account: EmrAccount) -> dict[str, str]:
    """Tags for both ends of a peering connection. They must be identical on both sides (the
    emulator keeps one tag set per connection), so the per-stack default tag is pinned here."""
    return {"Name": f"{prefix(env)}-to-{account.account_id}", "stack": STUDIO_PEERING_STACK}


# --- IAM-6: Kubernetes (IRSA) -------------------------------------------------------------------

def kubernetes_stack(env: EnvironmentFile) -> str | None:
    """The stack of the IRSA resources, beside its account's own stacks (studio-account-kubernetes,
    emr-account[-<name>]-kubernetes); None without a kubernetes section."""
    account = env.kubernetes_account
    if account is None:
        return None
    stack = STUDIO_STACK if account is env.environment.studio_account else account.stack_id
    return f"{stack}-kubernetes"


def kubernetes_controller_role_name(env: EnvironmentFile) -> str:
    """The role the controller's service account assumes through IRSA."""
    return f"{prefix(env)}-k8s-controller"


def kubernetes_job_role_name(env: EnvironmentFile) -> str:
    """The SageMaker execution role of the jobs the controller submits (seed 004 §5.2)."""
    return f"{prefix(env)}-k8s-jobs"


def issuer_host_path(issuer_url: str) -> str:
    """How IAM names an issuer in provider ARNs and condition keys: the URL without https://."""
    return issuer_url.removeprefix("https://").rstrip("/")


def oidc_provider_arn(account_id: str, issuer_url: str) -> str:
    return f"arn:{PARTITION}:iam::{account_id}:oidc-provider/{issuer_host_path(issuer_url)}"
