"""What a destroy would take away, read from the live APIs before anyone is asked to approve it:
the clusters launched for the environment, the domain, its user profiles, spaces and running apps,
the home EFS (deleted with the users' home directories when the retention policy says Delete, kept
otherwise), the peering connections, and the stacks."""

from __future__ import annotations

from dataclasses import dataclass, field

import botocore.exceptions

from config import Target, load_env
from config.model import HomeEfsRetention
from stacks.topology import Topology

from orchestration.aws.accounts import Accounts, all_pages
from orchestration.aws.handshake import ACTIVE, Peerings
from orchestration.aws.studio_apps import find_domain_id
from orchestration.aws.teardown import GONE_APP_STATES, LaunchedCluster, launched_clusters
from orchestration.local import emulator as emulator_control
from orchestration.terraform.synth import Workspace


@dataclass
class Loss:
    env_name: str
    target: str
    lost: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    clusters: list[LaunchedCluster] = field(default_factory=list)

    def render(self) -> str:
        lines = [f"destroy {self.env_name} ({self.target}) deletes:"] + [f"  - {item}" for item in self.lost]
        if self.kept:
            lines += ["and keeps:"] + [f"  - {item}" for item in self.kept]
        return "\n".join(lines)


def destroy_preview(env_name: str, workspace: Workspace = Workspace()) -> Loss:
    env = load_env(env_name)
    settings = env.environment
    loss = Loss(env_name, settings.target.value)
    emulator = None
    if settings.target is Target.emulator:
        emulator = emulator_control.current(workspace.state_root)
        if emulator is None:
            loss.lost.append("nothing on the emulator: it is not running, so nothing of this environment exists")
            return loss
    accounts = Accounts(env, emulator)
    try:
        accounts.preflight()
        loss.clusters = launched_clusters(env, accounts)
        for cluster in loss.clusters:
            if cluster.cluster_id:
                loss.lost.append(f"EMR cluster {cluster.describe()} (only with --terminate-clusters)")
            else:
                loss.lost.append(f"provisioned product with no cluster: {cluster.describe()}")
        sagemaker = accounts.studio().client("sagemaker")
        domain_id = find_domain_id(env, accounts)
        if domain_id is not None:
            domain = sagemaker.describe_domain(DomainId=domain_id)
            loss.lost.append(f"SageMaker domain {settings.domain.name} ({domain_id})")
            profiles = [p["UserProfileName"]
                        for p in all_pages(sagemaker, "list_user_profiles", "UserProfiles", DomainIdEquals=domain_id)]
            if profiles:
                loss.lost.append(f"{len(profiles)} user profile(s): {', '.join(sorted(profiles))}")
            spaces = [sp["SpaceName"] for sp in all_pages(sagemaker, "list_spaces", "Spaces", DomainIdEquals=domain_id)]
            if spaces:
                loss.lost.append(f"{len(spaces)} space(s): {', '.join(sorted(spaces))}")
            apps = [f"{a['AppType']}/{a['AppName']}" for a in all_pages(sagemaker, "list_apps", "Apps", DomainIdEquals=domain_id)
                    if a["Status"] not in GONE_APP_STATES]
            if apps:
                loss.lost.append(f"{len(apps)} running app(s): {', '.join(sorted(apps))}")
            efs = domain.get("HomeEfsFileSystemId", "(unknown id)")
            if env.promoted.home_efs_retention is HomeEfsRetention.delete:
                loss.lost.append(f"home EFS {efs}: every user's home directory (promoted.home_efs_retention is Delete)")
            else:
                loss.kept.append(f"home EFS {efs} (promoted.home_efs_retention is Retain)")
        peerings = Peerings(env, accounts)
        for account in env.peered_emr_accounts:
            for connection in peerings.connections(account):
                if connection["Status"]["Code"] == ACTIVE:
                    loss.lost.append(f"peering connection {connection['VpcPeeringConnectionId']} to EMR account {account.account_id}")
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
        loss.lost.append(f"(could not read everything from the live APIs: {exc})")
    loss.lost.append(f"every resource of the stacks {', '.join(reversed(Topology.of(env).ids))}")
    return loss
