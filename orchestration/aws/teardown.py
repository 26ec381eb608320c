"""What must go before `terraform destroy` can succeed: the things AWS and users made on the
environment's behalf, outside every state (SM-4, NET-7).

On AWS a Studio domain creates a home EFS with a mount target (a network interface) in each of its
subnets and two NFS security groups that reference each other; users create spaces and apps; EMR
adds its own rules to the groups it manages; clusters launched from the product are CloudFormation
stacks nobody's state knows. Any of these left in place blocks the deletion of the subnets, groups
and VPCs (hashicorp/terraform-provider-aws#20986). The order AWS needs:

1. terminate the clusters launched from the products (refused unless asked for: nobody loses a
   running cluster by surprise);
2. delete the apps (of user profiles and of spaces), then the spaces, then the user profiles;
3. delete the domain with the environment's retention policy, and wait until it is gone;
4. delete the home EFS's mount targets, and the file system when the policy is Delete; revoke the
   rules of the SageMaker NFS groups and of the EMR-managed groups, and delete the NFS groups;
5. (deploy.destroy) the stacks, in reverse.

Everything is found by API: the domain by its name, the VPCs by their tags or configured ids, the
NFS groups by VPC and AWS's names, the EFS by the tag SageMaker puts on it or by its mount targets in
those VPCs, the clusters through the provisioned products of the environment's product. Each step
is idempotent, so a destroy interrupted anywhere is finished by the next one. Every wait has a
timeout and says what it waits for.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Callable

import botocore.exceptions

from config import EmrAccount, EnvironmentFile, ExistingNetwork, StudioEmrError
from config.model import HomeEfsRetention
from stacks import naming

from orchestration.aws.accounts import AccountSession, Accounts, all_pages
from orchestration.aws.handshake import emr_vpc_ids
from orchestration.aws.studio_apps import domain_ids

Log = Callable[[str], None]
WAIT_TIMEOUT_SECONDS = 1800
POLL_SECONDS = 2.0
SAGEMAKER_TAG = "ManagedByAmazonSageMakerResource"
RETAINED_TAG = "studio-emr-infra:retained-home-of"
NFS_GROUP_PREFIXES = ("security-group-for-inbound-nfs-", "security-group-for-outbound-nfs-")
ACTIVE_CLUSTER_STATES = ["STARTING", "BOOTSTRAPPING", "RUNNING", "WAITING", "TERMINATING"]
GONE_APP_STATES = {"Deleted", "Failed"}


class TeardownError(StudioEmrError):
    """Something outside Terraform blocks the destroy, or did not go away in time."""


class ClustersRunning(TeardownError):
    """Clusters launched from the environment's products still run; destroy stops before anything."""


@dataclass
class LaunchedCluster:
    account: EmrAccount
    cluster_id: str | None
    state: str
    provisioned_product_id: str | None = None
    provisioned_product_name: str | None = None

    def describe(self) -> str:
        launched = (f"provisioned product {self.provisioned_product_name} ({self.provisioned_product_id})"
                    if self.provisioned_product_id else "launched outside Service Catalog")
        return f"{self.cluster_id or '(no cluster yet)'} {self.state}, {launched}, in EMR account {self.account.account_id}"


@dataclass
class RetainedFileSystem:
    file_system_id: str
    size_bytes: int
    command: str

    def describe(self) -> str:
        return (f"home EFS {self.file_system_id} ({self.size_bytes} bytes) kept, as promoted.home_efs_retention says "
                f"Retain; to delete it: {self.command}")


@dataclass
class TeardownReport:
    terminated_clusters: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    retained: list[RetainedFileSystem] = field(default_factory=list)


def wait_until(what: str, done: Callable[[], bool], log: Log, timeout: float = WAIT_TIMEOUT_SECONDS) -> None:
    """Poll ``done`` until true; say what is awaited, and fail naming it after ``timeout``."""
    deadline = time.monotonic() + timeout
    announced = False
    while not done():
        if time.monotonic() > deadline:
            raise TeardownError(f"timed out after {timeout:.0f} s waiting for {what}")
        if not announced:
            log(f"  waiting for {what} (up to {timeout:.0f} s)")
            announced = True
        time.sleep(POLL_SECONDS)


def error_code(exc: botocore.exceptions.ClientError) -> str:
    return exc.response.get("Error", {}).get("Code", "")


# --- finding what the environment made, by API ---------------------------------------------------


def studio_vpc_ids(env: EnvironmentFile, accounts: Accounts) -> list[str]:
    """The Studio VPC: the configured existing one, or the one the studio stack made (its tags)."""
    network = env.environment.studio_account.network
    if isinstance(network, ExistingNetwork):
        return [network.vpc_id]
    vpcs = all_pages(accounts.studio().client("ec2"), "describe_vpcs", "Vpcs", Filters=[
        {"Name": "tag:environment", "Values": [env.environment.name]},
        {"Name": "tag:stack", "Values": [naming.STUDIO_STACK]},
    ])
    return [v["VpcId"] for v in vpcs]


def nfs_groups(session: AccountSession, vpc_ids: list[str]) -> list[dict]:
    """The two NFS groups SageMaker makes for each domain in these VPCs (they outlive the domain)."""
    if not vpc_ids:
        return []
    return all_pages(session.client("ec2"), "describe_security_groups", "SecurityGroups", Filters=[
        {"Name": "vpc-id", "Values": vpc_ids},
        {"Name": "group-name", "Values": [f"{p}*" for p in NFS_GROUP_PREFIXES]},
    ])


def home_owners(groups: list[dict], live_domain_ids: list[str]) -> list[str]:
    """The domains whose home EFS may still exist: those alive, and those whose NFS groups (named
    after the domain id, and outliving it) remain."""
    return sorted({g["GroupName"].split("-nfs-", 1)[1] for g in groups} | set(live_domain_ids))


def home_file_systems(session: AccountSession, environment: str, vpc_ids: list[str], domain_ids_: list[str]) -> list[dict]:
    """Home EFS file systems of the environment's domains: tagged by SageMaker with one of their
    ARNs, mounted in one of the Studio VPCs, or retained by an earlier destroy (which tags a home
    EFS it keeps with the environment, so that it can be found once its domain and VPC are gone)."""
    efs = session.client("efs")
    found = []
    for fs in all_pages(efs, "describe_file_systems", "FileSystems"):
        tags = {t["Key"]: t["Value"] for t in fs.get("Tags", [])}
        owner = tags.get(SAGEMAKER_TAG, "")
        if any(owner.endswith(f":domain/{d}") for d in domain_ids_) or (owner and tags.get("environment") == environment):
            found.append(fs)
            continue
        targets = all_pages(efs, "describe_mount_targets", "MountTargets", FileSystemId=fs["FileSystemId"])
        if owner and any(t.get("VpcId") in vpc_ids for t in targets):
            found.append(fs)
    return found


def _product_names(env: EnvironmentFile, account: EmrAccount) -> set[str]:
    return {naming.emr_product_name(env, account)}


def launched_clusters(env: EnvironmentFile, accounts: Accounts) -> list[LaunchedCluster]:
    """Clusters users launched for this environment and not yet terminated: through the
    environment's Service Catalog product (its provisioned products), or directly into the
    environment's EMR subnets."""
    clusters: list[LaunchedCluster] = []
    for account in env.environment.emr_accounts:
        session = accounts.emr(account)
        catalog, emr, cloudformation = (session.client(s) for s in ("servicecatalog", "emr", "cloudformation"))
        seen: set[str] = set()
        for pp in all_pages(catalog, "search_provisioned_products", "ProvisionedProducts",
                         AccessLevelFilter={"Key": "Account", "Value": "self"}):
            if pp.get("ProductName") not in _product_names(env, account) or pp.get("Status") == "TERMINATED":
                continue
            cluster_id, state = None, pp.get("Status", "")
            if pp.get("PhysicalId"):
                try:
                    outputs = cloudformation.describe_stacks(StackName=pp["PhysicalId"])["Stacks"][0].get("Outputs", [])
                    cluster_id = next((o["OutputValue"] for o in outputs if o["OutputKey"] == "ClusterId"), None)
                except botocore.exceptions.ClientError:
                    cluster_id = None
            if cluster_id:
                seen.add(cluster_id)
                state = emr.describe_cluster(ClusterId=cluster_id)["Cluster"]["Status"]["State"]
            clusters.append(LaunchedCluster(account, cluster_id, state, pp["Id"], pp.get("Name")))
        subnets = set(_emr_subnet_ids(env, accounts, account))
        for summary in all_pages(emr, "list_clusters", "Clusters", ClusterStates=ACTIVE_CLUSTER_STATES):
            if summary["Id"] in seen:
                continue
            cluster = emr.describe_cluster(ClusterId=summary["Id"])["Cluster"]
            if cluster.get("Ec2InstanceAttributes", {}).get("Ec2SubnetId") in subnets:
                clusters.append(LaunchedCluster(account, summary["Id"], cluster["Status"]["State"]))
    return clusters


def _emr_vpcs(env: EnvironmentFile, accounts: Accounts, account: EmrAccount) -> list[str]:
    if account.network is None:  # the Studio account itself: one VPC
        return studio_vpc_ids(env, accounts)
    return emr_vpc_ids(env, accounts, account)


def _emr_subnet_ids(env: EnvironmentFile, accounts: Accounts, account: EmrAccount) -> list[str]:
    vpcs = _emr_vpcs(env, accounts, account)
    if not vpcs:
        return []
    subnets = all_pages(accounts.emr(account).client("ec2"), "describe_subnets", "Subnets",
                        Filters=[{"Name": "vpc-id", "Values": vpcs}])
    return [s["SubnetId"] for s in subnets]


def emr_groups(env: EnvironmentFile, accounts: Accounts, account: EmrAccount) -> list[dict]:
    """The EMR account's security groups this project made for clusters (NET-7), in its VPC."""
    vpcs = _emr_vpcs(env, accounts, account)
    if not vpcs:
        return []
    names = [naming.emr_security_group_name(env, account, kind) for kind in naming.EMR_SECURITY_GROUP_KINDS]
    return all_pages(accounts.emr(account).client("ec2"), "describe_security_groups", "SecurityGroups", Filters=[
        {"Name": "vpc-id", "Values": vpcs}, {"Name": "group-name", "Values": names}])


# --- the steps -------------------------------------------------------------------------------------


class Teardown:
    """The steps before the stacks are destroyed, in the order AWS needs (see the module doc)."""

    def __init__(self, env: EnvironmentFile, accounts: Accounts, log: Log, terminate_clusters: bool = False,
                 timeout: float = WAIT_TIMEOUT_SECONDS):
        self.env = env
        self.accounts = accounts
        self.log = log
        self.terminate = terminate_clusters
        self.timeout = timeout
        self.report = TeardownReport()

    @property
    def steps(self) -> list[tuple[str, Callable[[], None]]]:
        return [
            ("clusters", self.terminate_clusters),
            ("studio apps, spaces and user profiles", self.delete_studio_work),
            ("domain", self.delete_domain),
            ("home EFS and managed security groups", self.delete_file_systems_and_groups),
        ]

    def run(self) -> TeardownReport:
        for _, step in self.steps:
            step()
        return self.report

    def check_clusters(self) -> list[LaunchedCluster]:
        """What to terminate: provisioned products with no cluster (a failed launch leaves one in
        ERROR) always; running clusters only when told to (raises ClustersRunning otherwise)."""
        clusters = launched_clusters(self.env, self.accounts)
        running = [c for c in clusters if c.cluster_id]
        if running and not self.terminate:
            clusters = running
            listed = "\n".join(f"  - {c.describe()}" for c in clusters)
            raise ClustersRunning(
                f"destroy {self.env.environment.name}: {len(clusters)} EMR cluster(s) launched for this environment "
                f"still exist; nothing was deleted:\n{listed}\nTerminate them (their notebooks lose their Spark "
                f"sessions) and destroy with: python main.py destroy --env {self.env.environment.name} --terminate-clusters"
            )
        return clusters

    # 1
    def terminate_clusters(self) -> None:
        for cluster in self.check_clusters():
            session = self.accounts.emr(cluster.account)
            where = f"[{cluster.account.stack_id}]"
            if cluster.provisioned_product_id:
                self.log(f"{where} terminating provisioned product {cluster.provisioned_product_name} "
                         f"({cluster.provisioned_product_id}), cluster {cluster.cluster_id}")
                catalog = session.client("servicecatalog")
                try:
                    catalog.terminate_provisioned_product(ProvisionedProductId=cluster.provisioned_product_id,
                                                          TerminateToken=uuid.uuid4().hex)
                except botocore.exceptions.ClientError as exc:
                    if error_code(exc) != "ResourceNotFoundException":
                        raise

                def gone(pp_id: str = cluster.provisioned_product_id) -> bool:
                    try:
                        return catalog.describe_provisioned_product(Id=pp_id)["ProvisionedProductDetail"]["Status"] == "TERMINATED"
                    except botocore.exceptions.ClientError as exc:
                        if error_code(exc) == "ResourceNotFoundException":
                            return True
                        raise

                wait_until(f"provisioned product {cluster.provisioned_product_id} to be terminated", gone, self.log, self.timeout)
            elif cluster.cluster_id:
                self.log(f"{where} terminating cluster {cluster.cluster_id}, launched outside Service Catalog")
                session.client("emr").terminate_job_flows(JobFlowIds=[cluster.cluster_id])
            if cluster.cluster_id:
                emr = session.client("emr")
                wait_until(f"cluster {cluster.cluster_id} to be TERMINATED",
                           lambda cid=cluster.cluster_id: emr.describe_cluster(ClusterId=cid)["Cluster"]["Status"]["State"]
                           in ("TERMINATED", "TERMINATED_WITH_ERRORS"), self.log, self.timeout)
            self.report.terminated_clusters.append(cluster.cluster_id or cluster.provisioned_product_id or "")

    # 2
    def delete_studio_work(self) -> None:
        sagemaker = self.accounts.studio().client("sagemaker")
        for domain_id in domain_ids(self.env, self.accounts):
            def live_apps(domain_id: str = domain_id) -> list[dict]:
                return [a for a in all_pages(sagemaker, "list_apps", "Apps", DomainIdEquals=domain_id)
                        if a["Status"] not in GONE_APP_STATES]

            for app in live_apps():
                if app["Status"] == "Deleting":
                    continue
                owner = ({"UserProfileName": app["UserProfileName"]} if app.get("UserProfileName")
                         else {"SpaceName": app["SpaceName"]})
                self.log(f"[{naming.STUDIO_STACK}] deleting app {app['AppType']}/{app['AppName']} of "
                         f"{next(iter(owner.values()))}")
                self._ignore_missing(lambda app=app, owner=owner: sagemaker.delete_app(
                    DomainId=domain_id, AppType=app["AppType"], AppName=app["AppName"], **owner))
                self.report.deleted.append(f"app {app['AppType']}/{app['AppName']}")
            wait_until(f"the apps of domain {domain_id} to be deleted", lambda f=live_apps: not f(), self.log, self.timeout)

            def spaces(domain_id: str = domain_id) -> list[dict]:
                return all_pages(sagemaker, "list_spaces", "Spaces", DomainIdEquals=domain_id)

            for space in spaces():
                if space.get("Status") != "Deleting":
                    self.log(f"[{naming.STUDIO_STACK}] deleting space {space['SpaceName']}")
                    self._ignore_missing(lambda s=space: sagemaker.delete_space(DomainId=domain_id, SpaceName=s["SpaceName"]))
                    self.report.deleted.append(f"space {space['SpaceName']}")
            wait_until(f"the spaces of domain {domain_id} to be deleted", lambda f=spaces: not f(), self.log, self.timeout)

            def profiles(domain_id: str = domain_id) -> list[dict]:
                return all_pages(sagemaker, "list_user_profiles", "UserProfiles", DomainIdEquals=domain_id)

            for profile in profiles():
                if profile.get("Status") != "Deleting":
                    self.log(f"[{naming.STUDIO_STACK}] deleting user profile {profile['UserProfileName']}")
                    self._ignore_missing(lambda p=profile: sagemaker.delete_user_profile(
                        DomainId=domain_id, UserProfileName=p["UserProfileName"]))
                    self.report.deleted.append(f"user profile {profile['UserProfileName']}")
            wait_until(f"the user profiles of domain {domain_id} to be deleted", lambda f=profiles: not f(), self.log, self.timeout)

    # 3
    def delete_domain(self) -> None:
        sagemaker = self.accounts.studio().client("sagemaker")
        retention = self.env.promoted.home_efs_retention.value
        for domain_id in domain_ids(self.env, self.accounts):
            domain = sagemaker.describe_domain(DomainId=domain_id)
            if retention == HomeEfsRetention.retain.value and domain.get("HomeEfsFileSystemId"):
                # Kept after its domain, VPC and NFS groups are gone: tagged so that the next destroy,
                # the inventory and the final report still find it.
                self.accounts.studio().client("efs").tag_resource(
                    ResourceId=domain["HomeEfsFileSystemId"],
                    Tags=[{"Key": "environment", "Value": self.env.environment.name},
                          {"Key": RETAINED_TAG, "Value": domain_id}])
            if domain.get("Status") != "Deleting":
                self.log(f"[{naming.STUDIO_STACK}] deleting domain {domain_id} (home EFS: {retention})")
                self._ignore_missing(lambda d=domain_id: sagemaker.delete_domain(
                    DomainId=d, RetentionPolicy={"HomeEfsFileSystem": retention}))
                self.report.deleted.append(f"domain {domain_id}")

            def gone(d: str = domain_id) -> bool:
                try:
                    sagemaker.describe_domain(DomainId=d)
                except botocore.exceptions.ClientError as exc:
                    if error_code(exc) in ("ResourceNotFound", "ResourceNotFoundException", "ValidationException"):
                        return True
                    raise
                return False

            wait_until(f"domain {domain_id} to be deleted", gone, self.log, self.timeout)

    # 4
    def delete_file_systems_and_groups(self) -> None:
        studio = self.accounts.studio()
        vpcs = studio_vpc_ids(self.env, self.accounts)
        groups = nfs_groups(studio, vpcs)
        owners = home_owners(groups, domain_ids(self.env, self.accounts))
        delete = self.env.promoted.home_efs_retention is HomeEfsRetention.delete
        efs = studio.client("efs")
        for fs in home_file_systems(studio, self.env.environment.name, vpcs, owners):
            fs_id = fs["FileSystemId"]
            targets = all_pages(efs, "describe_mount_targets", "MountTargets", FileSystemId=fs_id)
            for target in targets:
                if target.get("LifeCycleState") not in ("deleting", "deleted"):
                    self.log(f"[{naming.STUDIO_STACK}] deleting mount target {target['MountTargetId']} of {fs_id} "
                             f"in {target['SubnetId']}")
                    self._ignore_missing(lambda t=target: efs.delete_mount_target(MountTargetId=t["MountTargetId"]))
            wait_until(f"the mount targets of {fs_id} to be deleted",
                       lambda f=fs_id: not all_pages(efs, "describe_mount_targets", "MountTargets", FileSystemId=f),
                       self.log, self.timeout)
            if delete:
                self.log(f"[{naming.STUDIO_STACK}] deleting home EFS {fs_id}")
                self._ignore_missing(lambda f=fs_id: efs.delete_file_system(FileSystemId=f))
                self.report.deleted.append(f"home EFS {fs_id}")
            else:
                self.report.retained.append(RetainedFileSystem(
                    fs_id, int(fs.get("SizeInBytes", {}).get("Value", 0)), self._efs_delete_command(fs_id)))
        self._release_groups(studio, groups, delete_groups=True)
        for account in self.env.environment.emr_accounts:
            # EMR's own rules between its groups; the groups themselves are the stack's.
            self._release_groups(self.accounts.emr(account), emr_groups(self.env, self.accounts, account), delete_groups=False)

    def _efs_delete_command(self, fs_id: str) -> str:
        account = self.env.environment.studio_account
        endpoint = f" --endpoint-url {self.accounts.endpoint_url}" if self.accounts.endpoint_url else ""
        return f"aws efs delete-file-system --file-system-id {fs_id} --region {account.region}{endpoint}"

    def _release_groups(self, session: AccountSession, groups: list[dict], delete_groups: bool) -> None:
        """Revoke every rule of these groups that references one of them (they reference each other,
        which blocks their deletion), then delete the groups if asked."""
        ec2 = session.client("ec2")
        ids = {g["GroupId"] for g in groups}
        for group in groups:
            for direction, key in (("ingress", "IpPermissions"), ("egress", "IpPermissionsEgress")):
                referencing = [p for p in group.get(key, []) if any(
                    pair.get("GroupId") in ids for pair in p.get("UserIdGroupPairs", []))]
                if not referencing:
                    continue
                self.log(f"[{session.account_id}] revoking {len(referencing)} {direction} rule(s) of {group['GroupName']} "
                         f"({group['GroupId']}) that reference its sibling groups")
                revoke = ec2.revoke_security_group_ingress if direction == "ingress" else ec2.revoke_security_group_egress
                permissions = [{k: v for k, v in p.items() if k in ("IpProtocol", "FromPort", "ToPort", "UserIdGroupPairs")}
                               for p in referencing]
                for permission in permissions:
                    permission["UserIdGroupPairs"] = [{"GroupId": pair["GroupId"]} for pair in permission["UserIdGroupPairs"]
                                                      if pair.get("GroupId") in ids]
                self._ignore_missing(lambda r=revoke, g=group, p=permissions: r(GroupId=g["GroupId"], IpPermissions=p))
        if delete_groups:
            for group in groups:
                self.log(f"[{session.account_id}] deleting security group {group['GroupName']} ({group['GroupId']})")
                self._ignore_missing(lambda g=group: ec2.delete_security_group(GroupId=g["GroupId"]))
                self.report.deleted.append(f"security group {group['GroupName']}")

    @staticmethod
    def _ignore_missing(call: Callable[[], object]) -> None:
        """Run a delete; one that finds nothing (an interrupted destroy did it already) is fine."""
        try:
            call()
        except botocore.exceptions.ClientError as exc:
            code = error_code(exc)
            if code.endswith("NotFound") or code.endswith("NotFoundException") or code in (
                    "ResourceNotFound", "InvalidPermission.NotFound", "InvalidGroup.NotFound", "FileSystemNotFound",
                    "MountTargetNotFound"):
                return
            raise
