"""IAM-6 around the kubernetes stack: what the orchestrator reads from the live account before
synthesis (constructs do no I/O), what a user applies to the cluster, and the emulator's stand-in
for a platform team's EKS cluster.

* The issuer: given in the file, or read from the named EKS cluster (the stack's data source reads
  it again at plan time; a missing cluster is reported here, naming the file, key and value,
  before anything is applied).
* The OIDC provider: IAM holds one per issuer and account, and refuses a second
  (EntityAlreadyExists). One this project created carries its default tags (managed-by, environment,
  stack) and stays managed; any other one for the issuer is reused, read by a data source, never
  adopted: destroying this environment must not delete a provider other roles of the cluster use.
"""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass
from pathlib import Path

import botocore.exceptions

from config import ConfigError, EnvironmentFile, StudioEmrError, Target, env_path, load_env, yamlio
from config.model import KubernetesController
from stacks import naming

from orchestration.aws.accounts import AccountSession, Accounts
from orchestration.local import emulator as emulator_control
from orchestration.local.emulator import STATE_ROOT

ROLE_ARN_ANNOTATION = "eks.amazonaws.com/role-arn"
MANAGED_BY = "studio-emr-infra"
ACK_CHART = "oci://public.ecr.aws/aws-controllers-k8s/sagemaker-chart"


def _where(env: EnvironmentFile) -> str:
    return f"envs/{env.environment.name}.yaml"


def session(env: EnvironmentFile, accounts: Accounts) -> AccountSession:
    """The account the kubernetes section names, entered with its own credentials."""
    account = env.kubernetes_account
    return accounts.studio() if account is env.environment.studio_account else accounts.emr(account)


def live_issuer(env: EnvironmentFile, accounts: Accounts) -> str:
    """The cluster's OIDC issuer URL: from the file, or from EKS."""
    cluster = env.environment.kubernetes
    if cluster.issuer_url is not None:
        return cluster.issuer_url
    where = session(env, accounts)
    try:
        described = where.client("eks").describe_cluster(name=cluster.cluster_name)["cluster"]
    except botocore.exceptions.ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceNotFoundException":
            raise StudioEmrError(f"{where.label}: cannot read EKS cluster {cluster.cluster_name!r}: {exc}") from None
        raise ConfigError(_where(env), [
            f"{_where(env)}: environment.kubernetes.cluster_name = {cluster.cluster_name!r}: no EKS cluster of that "
            f"name in account {where.account_id} ({where.region}); create it first, or name its issuer with issuer_url"
            + (" (on the emulator: python main.py emulator eks-cluster --env "
               f"{env.environment.name})" if env.environment.target is Target.emulator else "")
        ]) from None
    issuer = described.get("identity", {}).get("oidc", {}).get("issuer")
    if not issuer:
        raise StudioEmrError(f"{where.label}: EKS cluster {cluster.cluster_name!r} has no OIDC issuer")
    return issuer


def foreign_oidc_provider(env: EnvironmentFile, accounts: Accounts) -> str | None:
    """The ARN of an IAM OIDC provider for the cluster's issuer that this stack did not create
    (to be reused), or None (the stack creates or keeps managing its own)."""
    if env.environment.kubernetes is None:
        return None
    where = session(env, accounts)
    arn = naming.oidc_provider_arn(where.account_id, live_issuer(env, accounts))
    try:
        provider = where.client("iam").get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    except botocore.exceptions.ClientError as exc:
        if exc.response["Error"]["Code"] == "NoSuchEntity":
            return None
        raise StudioEmrError(f"{where.label}: cannot read OIDC provider {arn}: {exc}") from None
    tags = {t["Key"]: t["Value"] for t in provider.get("Tags", [])}
    ours = {"managed-by": MANAGED_BY, "environment": env.environment.name, "stack": naming.kubernetes_stack(env)}
    return None if all(tags.get(k) == v for k, v in ours.items()) else arn


# --- what a user applies to the cluster ------------------------------------------------------


@dataclass(frozen=True)
class KubeValues:
    controller: KubernetesController
    namespace: str
    service_account: str
    controller_role_arn: str
    job_role_arn: str
    text: str  # YAML: Helm values (ACK) or a ServiceAccount manifest (seed 004's operator)


def kube_values(env_name: str) -> KubeValues:
    """What IAM-6 asks of the cluster side, from the environment file alone: the service
    account's ``eks.amazonaws.com/role-arn`` annotation, as ACK's Helm values or, for seed 004's
    operator, as the ServiceAccount its installer.yaml declares."""
    env = load_env(env_name)
    if env.environment.kubernetes is None:
        raise ConfigError(str(env_path(env_name)), [
            f"{_where(env)}: environment.kubernetes: not set, so there is no service account to annotate"])
    account = env.kubernetes_account
    settings = env.promoted.kubernetes
    controller_arn = naming.role_arn(account.account_id, naming.kubernetes_controller_role_name(env))
    job_arn = naming.role_arn(account.account_id, naming.kubernetes_job_role_name(env))
    namespace, service_account = settings.namespace_name, settings.service_account_name
    annotations = {ROLE_ARN_ANNOTATION: controller_arn}
    if settings.controller is KubernetesController.ack:
        header = [
            f"Helm values for aws-controllers-k8s/sagemaker-controller, environment {env_name} (IAM-6).",
            f"helm install -n {namespace} --create-namespace ack-sagemaker-controller {ACK_CHART} --version <release> -f <this file>",
        ]
        document = {"aws": {"region": account.region},
                    "serviceAccount": {"create": True, "name": service_account, "annotations": annotations}}
    else:
        header = [
            f"The SageMaker Operator's service account (seed 004 installer.yaml), environment {env_name} (IAM-6).",
            "kubectl apply -f <this file> (after the installer; it replaces the installer's annotation)",
        ]
        document = {"apiVersion": "v1", "kind": "ServiceAccount",
                    "metadata": {"name": service_account, "namespace": namespace, "annotations": annotations}}
    header.append(f"Jobs run as {job_arn} (spec.roleArn of TrainingJob, HostingDeployment ...).")
    text = "".join(f"# {line}\n" for line in header) + yamlio.dump(document)
    return KubeValues(settings.controller, namespace, service_account, controller_arn, job_arn, text)


# --- the emulator's stand-in cluster ----------------------------------------------------------


def ensure_emulator_cluster(env: EnvironmentFile, accounts: Accounts) -> str:
    """Create, on the emulator, the EKS cluster the kubernetes section names (idempotent), as the
    platform team that owns it would have; returns its issuer. Refused for AWS: this project
    never creates a cluster there."""
    cluster = env.environment.kubernetes
    if env.environment.target is not Target.emulator:
        raise StudioEmrError(f"{_where(env)}: target is {env.environment.target.value}; clusters are created "
                             "only on the emulator")
    if cluster is None or cluster.cluster_name is None:
        raise ConfigError(_where(env), [f"{_where(env)}: environment.kubernetes.cluster_name: not set, no cluster to create"])
    where = session(env, accounts)
    eks = where.client("eks")
    try:
        return eks.describe_cluster(name=cluster.cluster_name)["cluster"]["identity"]["oidc"]["issuer"]
    except eks.exceptions.ResourceNotFoundException:
        pass
    created = eks.create_cluster(
        name=cluster.cluster_name,
        roleArn=naming.role_arn(where.account_id, f"{cluster.cluster_name}-cluster"),
        resourcesVpcConfig={"subnetIds": []},
    )["cluster"]
    return created["identity"]["oidc"]["issuer"]


def create_emulator_cluster(env_name: str, state_root: Path = STATE_ROOT, log=print) -> str:
    """``emulator eks-cluster``: the emulator (started if needed), the environment's accounts
    enrolled, the cluster."""
    env = load_env(env_name)
    if env.environment.target is not Target.emulator:
        raise StudioEmrError(f"{_where(env)}: target is {env.environment.target.value}; clusters are created only on the emulator")
    running = emulator_control.ensure_running([env_name], state_root, log)
    return ensure_emulator_cluster(env, Accounts(env, running))


# --- the claims a service account's token carries ---------------------------------------------


def service_account_claims(issuer_url: str, subject: str, lifetime_seconds: int = 600) -> dict:
    """The claims of the projected token EKS mounts for IRSA (audience sts.amazonaws.com)."""
    now = int(time.time())
    return {"iss": issuer_url, "sub": subject, "aud": ["sts.amazonaws.com"], "iat": now, "nbf": now,
            "exp": now + lifetime_seconds}


def unsigned_token(claims: dict) -> str:
    """A compact JWS with these claims and no valid signature: enough for the emulator, which
    does not check signatures (emulator/extensions/access/web_identity.py); AWS refuses it."""
    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'RS256', 'kid': 'emulator', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"
