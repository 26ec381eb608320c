"""Compose an environment's stacks into one CDK app: the one place that turns a validated
environment file (and the asset files it names) into construct props."""

from __future__ import annotations

import os
from pathlib import Path

from cdktn import App

from config import EnvironmentFile, ExistingNetwork, NewNetwork, StudioGeneration, Target
from config.model import EmrEgress
from config.model import S3State
from modules.kubernetes import ServiceAccountRolesProps
from modules.network import ExistingVpcProps, NewVpcProps, SubnetSpec

from . import naming
from .topology import Topology
from .base import AccountStackProps, Export, VpcExports
from .emr import EmrAccountProps, EmrAccountStack, SingleAccountLink
from .links import (
    EmrLinkProps,
    EmrLinkStack,
    PeerRouteTarget,
    PeerTarget,
    StudioLinkProps,
    StudioLinkStack,
    StudioPeeringProps,
    StudioPeeringStack,
)
from .kubernetes import KubernetesProps, KubernetesStack
from .paths import EMR_TEMPLATE, PROJECT_ROOT, STATE_DIR
from .studio import StudioAccountProps, StudioAccountStack

__all__ = ["EMR_TEMPLATE", "PROJECT_ROOT", "STATE_DIR", "build_app", "stack_ids"]
# What the stacks need of Terraform (S3 native state locking needs 1.10); the machines have 1.11.4.
TERRAFORM_VERSIONS = ">=1.10.0"


def stack_ids(env: EnvironmentFile) -> list[str]:
    """Every stack of the environment, in an order that respects their dependencies (stacks/topology.py)."""
    return Topology.of(env).ids


def build_app(env: EnvironmentFile, outdir: Path, state_dir: Path = STATE_DIR, reuse_oidc_provider: bool = False) -> App:
    """``reuse_oidc_provider``: an IAM OIDC provider for the kubernetes section's issuer exists
    outside this project (the orchestrator looked it up, orchestration/aws/kubernetes.py); the
    kubernetes stack then reads it instead of creating one."""
    settings = env.environment
    promoted = env.promoted
    outdir = outdir.resolve()
    outdir.mkdir(parents=True, exist_ok=True)
    app = App(outdir=str(outdir), context={"targetVersions": {"terraform": TERRAFORM_VERSIONS}})
    emulator = settings.target is Target.emulator
    s3_state = settings.state if isinstance(settings.state, S3State) else None

    def account_props(stack_id: str, account) -> AccountStackProps:
        local_path = None
        if s3_state is None:
            # Relative to the directory terraform runs in, so synthesized files hold no machine paths.
            stack_dir = outdir / "stacks" / stack_id
            local_path = os.path.relpath(state_dir / settings.name / f"{stack_id}.tfstate", stack_dir)
        return AccountStackProps(
            env_name=settings.name,
            account_id=account.account_id,
            region=account.region,
            credentials=env.credentials_for(account),
            emulator=emulator,
            local_state_path=local_path,
            s3_state=s3_state,
        )

    studio = settings.studio_account
    generation = promoted.studio_generation
    studio_stack = StudioAccountStack(
        app,
        naming.STUDIO_STACK,
        StudioAccountProps(
            account=account_props(naming.STUDIO_STACK, studio),
            security_group_name=naming.studio_name(env),
            lifecycle_config_name=naming.studio_lifecycle_config_name(env),
            network=_network_props(naming.studio_name(env), studio.region, studio.network),
            execution_role_name=naming.execution_role_name(env),
            discovery_role_arns=naming.discovery_role_arns(env),
            runtime_role_arns=tuple(naming.runtime_role_arns(env)),
            domain_name=settings.domain.name,
            user_profiles=tuple(settings.domain.user_profiles),
            classic=generation in (StudioGeneration.classic, StudioGeneration.both),
            jupyterlab=generation in (StudioGeneration.jupyterlab, StudioGeneration.both),
            home_efs_retention=promoted.home_efs_retention.value,
            notebook_role_arns=_notebook_role_arns(env) if promoted.classic_notebook_instance else None,
            notebook_name=naming.notebook_instance_name(env),
        ),
    )

    # What the Studio stack gives the stacks after it, each under its own name (issue 10 §1).
    studio_vpc = VpcExports.of(studio_stack, "studio", studio_stack.vpc)
    studio_security_group = Export(studio_stack, "studio_security_group_id", studio_stack.security_group_id)
    studio_execution_role = Export(studio_stack, "studio_execution_role_arn", studio_stack.execution_role_arn)

    catalog = promoted.service_catalog
    base_template = EMR_TEMPLATE.read_text(encoding="utf-8")
    bootstrap_path = PROJECT_ROOT / catalog.bootstrap_script
    bootstrap_script = bootstrap_path.read_text(encoding="utf-8")
    ports = tuple(promoted.studio_to_emr_ports)
    emr_stacks = {}
    for account in settings.emr_accounts:
        single = None
        if account.account_id == studio.account_id:
            single = SingleAccountLink(
                vpc=studio_vpc,
                studio_security_group_id=studio_security_group,
                studio_execution_role_arn=studio_execution_role,
                ports=ports,
            )
        names = naming.emr_names(env, account)
        emr_stacks[account.stack_id] = EmrAccountStack(
            app,
            account.stack_id,
            EmrAccountProps(
                account=account_props(account.stack_id, account),
                names=names,
                network=None if single else _network_props(names.vpc, account.region, account.network),
                create_default_roles=settings.create_emr_default_roles,
                base_template=base_template,
                bootstrap_script=bootstrap_script,
                bootstrap_script_name=bootstrap_path.name,
                bootstrap_script_version=catalog.bootstrap_script_version,
                instance_types=tuple(catalog.allowed_instance_types),
                core_node_counts=tuple(catalog.core_node_counts),
                release_label=catalog.emr_release_label,
                egress=_egress(account.network),
                runtime_role_name=naming.runtime_role_name(env),
                single_account=single,
            ),
        )

    kubernetes_id = naming.kubernetes_stack(env)
    if kubernetes_id is not None:
        _kubernetes_stack(app, env, kubernetes_id, account_props(kubernetes_id, env.kubernetes_account), reuse_oidc_provider)

    peered = env.peered_emr_accounts
    if not peered:
        return app
    emr_vpcs = {a.stack_id: VpcExports.of(emr_stacks[a.stack_id], "emr", emr_stacks[a.stack_id].vpc) for a in peered}
    peering_stack = StudioPeeringStack(
        app,
        naming.STUDIO_PEERING_STACK,
        StudioPeeringProps(
            account=account_props(naming.STUDIO_PEERING_STACK, studio),
            studio_vpc=studio_vpc,
            peers=tuple(
                PeerTarget(
                    key=a.stack_id,
                    account_id=a.account_id,
                    region=a.region,
                    vpc=emr_vpcs[a.stack_id],
                    tags=naming.peering_tags(env, a),
                )
                for a in peered
            ),
        ),
    )
    link_stacks = []
    for account in peered:
        link_id = naming.emr_link_stack(account)
        emr_stack = emr_stacks[account.stack_id]
        link_stacks.append(
            EmrLinkStack(
                app,
                link_id,
                EmrLinkProps(
                    account=account_props(link_id, account),
                    peering_connection_id=peering_stack.peering_connection_ids[account.stack_id],
                    peering_tags=naming.peering_tags(env, account),
                    emr_vpc=emr_vpcs[account.stack_id],
                    emr_primary_security_group_id=Export(emr_stack, "emr_primary_security_group_id",
                                                         emr_stack.primary_security_group_id),
                    portfolio_id=Export(emr_stack, "portfolio_id", emr_stack.portfolio_id),
                    studio_account_id=studio.account_id,
                    studio_cidr=studio.network.cidr,
                    studio_security_group_id=studio_security_group,
                    studio_execution_role_arn=studio_execution_role,
                    ports=ports,
                    discovery_role_name=naming.discovery_role_name(env),
                ),
            )
        )
    studio_link = StudioLinkStack(
        app,
        naming.STUDIO_LINK_STACK,
        StudioLinkProps(
            account=account_props(naming.STUDIO_LINK_STACK, studio),
            studio_vpc=studio_vpc,
            peers=tuple(
                PeerRouteTarget(
                    key=a.stack_id,
                    peering_connection_id=peering_stack.peering_connection_ids[a.stack_id],
                    destination_cidr=a.network.cidr,
                )
                for a in peered
            ),
        ),
    )
    # The requester's DNS option is only valid once every accepter has accepted.
    for link in link_stacks:
        studio_link.add_dependency(link)
    return app


def _kubernetes_stack(app: App, env: EnvironmentFile, stack_id: str, account: AccountStackProps,
                      reuse_oidc_provider: bool) -> KubernetesStack:
    """IAM-6: the IRSA roles in the account the kubernetes section names."""
    cluster = env.environment.kubernetes
    controller = env.promoted.kubernetes
    return KubernetesStack(app, stack_id, KubernetesProps(
        account=account,
        roles=ServiceAccountRolesProps(
            partition=naming.PARTITION,
            region=account.region,
            account_id=account.account_id,
            controller_role_name=naming.kubernetes_controller_role_name(env),
            job_role_name=naming.kubernetes_job_role_name(env),
            subject=controller.subject,
            job_buckets=tuple(cluster.job_buckets),
            cluster_name=cluster.cluster_name,
            issuer_url=cluster.issuer_url,
            reuse_existing_provider=reuse_oidc_provider,
        ),
    ))


def _notebook_role_arns(env: EnvironmentFile) -> dict[str, str | None]:
    """SM-5: the EMR accounts in their order, each with the discovery role of SM-3 to assume
    there, or None where the EMR account is the Studio account."""
    discovery = naming.discovery_role_arns(env)
    return {a.account_id: discovery.get(a.account_id) for a in env.environment.emr_accounts}


def _egress(network: NewNetwork | ExistingNetwork | None) -> str | None:
    """NET-7 for an EMR VPC this project creates; None where it creates no VPC."""
    if not isinstance(network, NewNetwork):
        return None
    return (network.egress or EmrEgress.endpoints).value


def _network_props(name: str, region: str, network: NewNetwork | ExistingNetwork) -> NewVpcProps | ExistingVpcProps:
    if isinstance(network, ExistingNetwork):
        return ExistingVpcProps(
            cidr=network.cidr,
            vpc_id=network.vpc_id,
            private_subnet_ids=tuple(network.private_subnet_ids),
            route_table_ids=tuple(network.route_table_ids),
        )
    return NewVpcProps(
        name=name,
        region=region,
        cidr=network.cidr,
        private_subnets=tuple(
            SubnetSpec(cidr=cidr, availability_zone=network.zone_of(cidr, region))
            for cidr in network.private_subnet_cidrs
        ),
        public_subnet=SubnetSpec(cidr=network.public_subnet_cidr, availability_zone=network.zone_of(network.public_subnet_cidr, region))
        if network.public_subnet_cidr
        else None,
    )
