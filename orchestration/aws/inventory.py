"""What exists for an environment, per account, read from each stack's state and from the live
APIs: drift in what Terraform does not own.

* **state**: what each stack's state holds.
* **on the environment's behalf**: what SageMaker, EMR and Service Catalog made for it, outside
  every state: the domain's spaces and apps, its home EFS (and mount targets), the NFS security
  groups, clusters launched from the product and their provisioned products; a home EFS a destroy
  kept under the Retain policy is listed here as *retained*.
* **orphans**: resources tagged for the environment (the providers' default tags:
  ``environment`` and ``managed-by``) that no state holds, for example after an apply killed in the
  middle of creating something. Each comes with the command that removes it.

Resource types checked for the tags: every taggable type the stacks create (EC2 network resources
through DescribeTags, IAM roles, instance profiles and OIDC providers, S3 buckets, Service Catalog
portfolios and products, SageMaker domains, user profiles, Studio lifecycle configurations and
notebook instances).
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import botocore.exceptions

from config import ENVS_DIR, EnvironmentFile, StudioEmrError, Target, load_env
from stacks import naming

from orchestration.aws import kubernetes
from orchestration.aws.accounts import AccountSession, Accounts, all_pages
from orchestration.aws.handshake import ENDED
from orchestration.aws.studio_apps import domain_ids
from orchestration.aws.teardown import (GONE_APP_STATES, SAGEMAKER_TAG, error_code, home_owners, home_file_systems, launched_clusters, nfs_groups,
                                        studio_vpc_ids)
from orchestration.local import emulator as emulator_control
from orchestration.terraform.runner import Terraform
from orchestration.terraform.synth import SynthResult, Workspace, synth_env
from orchestration.terraform.tfjson import StateResource

STATE, ON_BEHALF, RETAINED, ORPHAN = "state", "on behalf", "retained", "orphan"
MANAGED_BY = "studio-emr-infra"


@dataclass
class Item:
    account_id: str
    category: str  # state, on behalf, retained, orphan
    kind: str  # a Terraform type for state and orphans; what AWS calls it otherwise
    id: str
    owner: str  # the stack (state, or the stack tag of an orphan), or the service that made it
    detail: str = ""
    remove: str = ""  # orphans: the command that removes it


@dataclass
class Inventory:
    env_name: str
    target: str
    items: list[Item] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def orphans(self) -> list[Item]:
        return [i for i in self.items if i.category == ORPHAN]

    def outside_terraform(self) -> list[Item]:
        return [i for i in self.items if i.category != STATE]

    def to_json(self) -> str:
        return json.dumps({"environment": self.env_name, "target": self.target, "notes": self.notes,
                           "orphans": len(self.orphans), "items": [asdict(i) for i in self.items]}, indent=2)

    def render(self) -> str:
        lines = [f"inventory of {self.env_name} ({self.target})"] + [f"  {n}" for n in self.notes]
        for account in sorted({i.account_id for i in self.items}):
            mine = [i for i in self.items if i.account_id == account]
            lines.append(f"\naccount {account}")
            in_state = [i for i in mine if i.category == STATE]
            stacks: dict[str, int] = {}
            for item in in_state:
                stacks[item.owner] = stacks.get(item.owner, 0) + 1
            lines.append(f"  in state: {len(in_state)} resource(s)"
                         + "".join(f"\n    {stack}: {count}" for stack, count in sorted(stacks.items())))
            for category, title in ((ON_BEHALF, "made on the environment's behalf (in no state)"),
                                    (RETAINED, "kept by a destroy (Retain)"), (ORPHAN, "ORPHANS: tagged for the environment, in no state")):
                chosen = [i for i in mine if i.category == category]
                if chosen:
                    lines.append(f"  {title}: {len(chosen)}")
                    for item in chosen:
                        lines.append(f"    - {item.kind} {item.id} ({item.owner}){': ' + item.detail if item.detail else ''}")
                        if item.remove:
                            lines.append(f"      remove: {item.remove}")
        if not self.items:
            lines.append("  nothing exists for this environment")
        lines.append(f"\n{len(self.orphans)} orphan(s)")
        return "\n".join(lines)


# --- state ------------------------------------------------------------------------------------------


def state_items(result: SynthResult, accounts: Accounts) -> tuple[list[Item], dict[str, set[tuple[str, str]]]]:
    """Every managed resource of every stack's state, and per account the identifiers they carry
    (ids, ARNs, names), which a live resource must match to count as in state."""
    terraform_env = accounts.terraform_env()

    def read(stack: str) -> list[StateResource]:
        terraform = Terraform(stack, result.stack_dir(stack), terraform_env)
        terraform.ensure_init()
        return terraform.state_resources()

    items: list[Item] = []
    known: dict[str, set[tuple[str, str]]] = {}
    with ThreadPoolExecutor(max_workers=4) as pool:
        states = dict(zip(result.stacks, pool.map(read, result.stacks)))
    for stack, resources in states.items():
        account = result.account_of(stack)
        for resource in resources:
            known.setdefault(account, set()).update(identifiers_of([resource]))
            items.append(Item(account, STATE, resource.type, resource.values.get("id") or resource.address, stack,
                              resource.address))
    return items, known


# --- live, tagged for the environment ------------------------------------------------------------------


# The attributes that name a resource itself, not another one it refers to: a route-table
# association holds its subnet's id, and that does not put the subnet in state.
OWN_IDENTIFIERS = ("id", "arn", "name", "bucket", "domain_name", "studio_lifecycle_config_name")
# Types whose state entries hold the same live resource as another type does.
SAME_RESOURCE = {"aws_vpc_peering_connection_accepter": "aws_vpc_peering_connection",
                 "aws_vpc_peering_connection_options": "aws_vpc_peering_connection"}


def identifiers_of(state: list[StateResource]) -> set[tuple[str, str]]:
    """What resources in state are known by, each with its type: (type, id, ARN or name). A live
    resource of that type carrying one of these is in state; the type matters, since an instance
    profile and its role share a name (EMR_EC2_DefaultRole)."""
    return {(SAME_RESOURCE.get(r.type, r.type), v) for r in state for k, v in r.values.items()
            if k in OWN_IDENTIFIERS and isinstance(v, str) and v}


@dataclass
class Tagged:
    """A live resource tagged for the environment. ``attributes`` are what it is known by, under
    the names its Terraform type's arguments use (``name``, ``cidr_block``, ``tags.Name``, ...),
    so that it can be matched to the resource of a stack's configuration (orchestration/aws/adoption.py)."""
    kind: str
    id: str
    tags: dict[str, str]
    identifiers: set[str]

    @property
    def typed_identifiers(self) -> set[tuple[str, str]]:
        """``identifiers`` with this resource's type, to compare with identifiers_of(state)."""
        return {(self.kind, identifier) for identifier in self.identifiers}
    remove: str
    attributes: dict[str, str] = field(default_factory=dict)


def _tags(pairs) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in pairs or []}


def _ours(tags: dict[str, str], env_name: str) -> bool:
    return tags.get("environment") == env_name and tags.get("managed-by") == MANAGED_BY


EC2_KINDS = {
    "vpc": ("aws_vpc", "aws ec2 delete-vpc --vpc-id {id}"),
    "subnet": ("aws_subnet", "aws ec2 delete-subnet --subnet-id {id}"),
    "route-table": ("aws_route_table", "aws ec2 delete-route-table --route-table-id {id}"),
    "security-group": ("aws_security_group", "aws ec2 delete-security-group --group-id {id}"),
    "internet-gateway": ("aws_internet_gateway", "aws ec2 delete-internet-gateway --internet-gateway-id {id} (after detaching it)"),
    "natgateway": ("aws_nat_gateway", "aws ec2 delete-nat-gateway --nat-gateway-id {id}"),
    "nat-gateway": ("aws_nat_gateway", "aws ec2 delete-nat-gateway --nat-gateway-id {id}"),
    "elastic-ip": ("aws_eip", "aws ec2 release-address --allocation-id {id}"),
    "vpc-elastic-ip": ("aws_eip", "aws ec2 release-address --allocation-id {id}"),
    "vpc-endpoint": ("aws_vpc_endpoint", "aws ec2 delete-vpc-endpoints --vpc-endpoint-ids {id}"),
    "vpc-peering-connection": ("aws_vpc_peering_connection", "aws ec2 delete-vpc-peering-connection --vpc-peering-connection-id {id}"),
    "security-group-rule": ("aws_vpc_security_group_ingress_rule",
                            "aws ec2 revoke-security-group-{direction} --group-id {group} --security-group-rule-ids {id}"),
}


def _ec2_attributes(ec2, kind: str, ids: list[str]) -> dict[str, dict[str, str]]:
    """What EC2 resources of one kind are known by, beyond their tags: their CIDR, group name or
    service. Each is described, so that a resource that no longer exists is left out: DescribeTags
    can still list a deleted resource's tags (the emulator does, for route tables, gateways and
    addresses)."""
    if kind == "vpc":
        return {v["VpcId"]: {"cidr_block": v["CidrBlock"]} for v in ec2.describe_vpcs(VpcIds=ids)["Vpcs"]}
    if kind == "subnet":
        return {s["SubnetId"]: {"cidr_block": s["CidrBlock"]} for s in ec2.describe_subnets(SubnetIds=ids)["Subnets"]}
    if kind == "security-group":
        groups = all_pages(ec2, "describe_security_groups", "SecurityGroups", Filters=[{"Name": "group-id", "Values": ids}])
        return {g["GroupId"]: {"name": g["GroupName"]} for g in groups}
    if kind == "vpc-endpoint":
        endpoints = ec2.describe_vpc_endpoints(VpcEndpointIds=ids)["VpcEndpoints"]
        return {e["VpcEndpointId"]: {"service_name": e["ServiceName"]} for e in endpoints if e["State"].lower() != "deleted"}
    if kind == "route-table":
        return {t["RouteTableId"]: {} for t in ec2.describe_route_tables(RouteTableIds=ids)["RouteTables"]}
    if kind == "internet-gateway":
        return {g["InternetGatewayId"]: {} for g in ec2.describe_internet_gateways(InternetGatewayIds=ids)["InternetGateways"]}
    if kind in ("elastic-ip", "vpc-elastic-ip"):
        return {a["AllocationId"]: {} for a in ec2.describe_addresses(AllocationIds=ids)["Addresses"]}
    if kind == "security-group-rule":
        rules = ec2.describe_security_group_rules(SecurityGroupRuleIds=ids)["SecurityGroupRules"]
        return {r["SecurityGroupRuleId"]: {
            "direction": "egress" if r["IsEgress"] else "ingress", "security_group_id": r["GroupId"],
            "ip_protocol": str(r["IpProtocol"]), "from_port": str(r.get("FromPort", -1)), "to_port": str(r.get("ToPort", -1)),
            **({"cidr_ipv4": r["CidrIpv4"]} if r.get("CidrIpv4") else {}),
            **({"description": r["Description"]} if r.get("Description") else {}),
        } for r in rules}
    if kind in ("natgateway", "nat-gateway"):
        gateways = ec2.describe_nat_gateways(NatGatewayIds=ids)["NatGateways"]
        return {n["NatGatewayId"]: {} for n in gateways if n["State"] not in ("deleted", "deleting", "failed")}
    if kind == "vpc-peering-connection":
        connections = ec2.describe_vpc_peering_connections(VpcPeeringConnectionIds=ids)["VpcPeeringConnections"]
        # A connection lives on, deleted or rejected, for a while after it ends; only a live one counts.
        return {c["VpcPeeringConnectionId"]: {} for c in connections
                if c["Status"]["Code"] not in ENDED}
    return {resource_id: {} for resource_id in ids}


def _ec2_tagged(session: AccountSession, env_name: str) -> list[Tagged]:
    ec2 = session.client("ec2")
    by_resource: dict[tuple[str, str], dict[str, str]] = {}
    for tag in all_pages(ec2, "describe_tags", "Tags", Filters=[{"Name": "key", "Values": ["environment"]},
                                                             {"Name": "value", "Values": [env_name]}]):
        by_resource[(tag["ResourceType"], tag["ResourceId"])] = {}
    ids = [resource_id for _, resource_id in by_resource]
    for chunk in (ids[i:i + 100] for i in range(0, len(ids), 100)):
        for tag in all_pages(ec2, "describe_tags", "Tags", Filters=[{"Name": "resource-id", "Values": chunk}]):
            by_resource.setdefault((tag["ResourceType"], tag["ResourceId"]), {})[tag["Key"]] = tag["Value"]
    found = []
    for kind in sorted({kind for kind, _ in by_resource}):
        ours = [resource_id for (k, resource_id), tags in by_resource.items() if k == kind and _ours(tags, env_name)]
        if not ours:
            continue
        try:
            attributes = _ec2_attributes(ec2, kind, ours)
        except botocore.exceptions.ClientError as exc:
            if not error_code(exc).endswith("NotFound"):
                raise
            attributes = {}
            for resource_id in ours:  # one of them is gone: ask one at a time
                try:
                    attributes.update(_ec2_attributes(ec2, kind, [resource_id]))
                except botocore.exceptions.ClientError as one:
                    if not error_code(one).endswith("NotFound"):
                        raise
        terraform_type, remove = EC2_KINDS.get(kind, (f"ec2 {kind}", ""))
        for resource_id, known in attributes.items():
            tags = by_resource[(kind, resource_id)]
            if "Name" in tags:
                known = {**known, "tags.Name": tags["Name"]}
            kind_type, kind_remove = terraform_type, remove
            if kind == "security-group" and known.get("name") == "default":
                # A VPC's default group, which Terraform adopts (aws_default_security_group) and which goes with its VPC.
                kind_type, kind_remove = "aws_default_security_group", "(deleted with its VPC)"
            if kind == "security-group-rule":
                kind_type = f"aws_vpc_security_group_{known['direction']}_rule"
            command = kind_remove.format(id=resource_id, direction=known.get("direction", ""), group=known.get("security_group_id", ""))
            found.append(Tagged(kind_type, resource_id, tags, {resource_id}, command, known))
    return found


def _iam_tagged(session: AccountSession, env_name: str) -> list[Tagged]:
    iam = session.client("iam")
    found = []
    for role in all_pages(iam, "list_roles", "Roles"):
        tags = _tags(iam.get_role(RoleName=role["RoleName"])["Role"].get("Tags"))
        if _ours(tags, env_name):
            found.append(Tagged("aws_iam_role", role["RoleName"], tags, {role["RoleName"], role["Arn"]},
                                f"aws iam delete-role --role-name {role['RoleName']} (after its policies)",
                                {"name": role["RoleName"]}))
    for profile in all_pages(iam, "list_instance_profiles", "InstanceProfiles"):
        name = profile["InstanceProfileName"]
        tags = _tags(iam.get_instance_profile(InstanceProfileName=name)["InstanceProfile"].get("Tags"))
        if _ours(tags, env_name):
            found.append(Tagged("aws_iam_instance_profile", name, tags, {name, profile["Arn"]},
                                f"aws iam delete-instance-profile --instance-profile-name {name} (after removing its role)",
                                {"name": name}))
    for provider in iam.list_open_id_connect_providers().get("OpenIDConnectProviderList", []):
        arn = provider["Arn"]
        tags = _tags(all_pages(iam, "list_open_id_connect_provider_tags", "Tags", OpenIDConnectProviderArn=arn))
        if _ours(tags, env_name):
            found.append(Tagged("aws_iam_openid_connect_provider", arn, tags, {arn},
                                f"aws iam delete-open-id-connect-provider --open-id-connect-provider-arn {arn}",
                                {"url": "https://" + arn.split(":oidc-provider/", 1)[-1]}))
    return found


def _s3_tagged(session: AccountSession, env_name: str) -> list[Tagged]:
    s3 = session.client("s3")
    found = []
    for bucket in all_pages(s3, "list_buckets", "Buckets"):
        try:
            tags = _tags(s3.get_bucket_tagging(Bucket=bucket["Name"]).get("TagSet"))
        except botocore.exceptions.ClientError:
            continue  # NoSuchTagSet, or a bucket of another owner
        if _ours(tags, env_name):
            found.append(Tagged("aws_s3_bucket", bucket["Name"], tags, {bucket["Name"]},
                                f"aws s3 rb s3://{bucket['Name']} --force", {"bucket": bucket["Name"]}))
    return found


def _catalog_tagged(session: AccountSession, env_name: str) -> list[Tagged]:
    catalog = session.client("servicecatalog")
    found = []
    for portfolio in all_pages(catalog, "list_portfolios", "PortfolioDetails"):
        tags = _tags(catalog.describe_portfolio(Id=portfolio["Id"]).get("Tags"))
        if _ours(tags, env_name):
            found.append(Tagged("aws_servicecatalog_portfolio", portfolio["Id"], tags, {portfolio["Id"], portfolio.get("ARN", "")},
                                f"aws servicecatalog delete-portfolio --id {portfolio['Id']} (after its associations)",
                                {"name": portfolio.get("DisplayName", "")}))
    for view in all_pages(catalog, "search_products_as_admin", "ProductViewDetails"):
        summary = view["ProductViewSummary"]
        product_id = summary["ProductId"]
        tags = _tags(catalog.describe_product_as_admin(Id=product_id).get("Tags"))
        if _ours(tags, env_name):
            found.append(Tagged("aws_servicecatalog_product", product_id, tags, {product_id, view.get("ProductARN", "")},
                                f"aws servicecatalog delete-product --id {product_id}", {"name": summary.get("Name", "")}))
    return found


def _sagemaker_tagged(session: AccountSession, env_name: str) -> list[Tagged]:
    sagemaker = session.client("sagemaker")
    candidates = [("aws_sagemaker_domain", d["DomainId"], d["DomainArn"], f"aws sagemaker delete-domain --domain-id {d['DomainId']}",
                   {"domain_name": d["DomainName"]})
                  for d in all_pages(sagemaker, "list_domains", "Domains")]
    candidates += [("aws_sagemaker_studio_lifecycle_config", c["StudioLifecycleConfigName"], c["StudioLifecycleConfigArn"],
                    f"aws sagemaker delete-studio-lifecycle-config --studio-lifecycle-config-name {c['StudioLifecycleConfigName']}",
                    {"studio_lifecycle_config_name": c["StudioLifecycleConfigName"]})
                   for c in all_pages(sagemaker, "list_studio_lifecycle_configs", "StudioLifecycleConfigs")]
    candidates += [("aws_sagemaker_notebook_instance", n["NotebookInstanceName"], n["NotebookInstanceArn"],
                    f"aws sagemaker delete-notebook-instance --notebook-instance-name {n['NotebookInstanceName']}",
                    {"name": n["NotebookInstanceName"]})
                   for n in all_pages(sagemaker, "list_notebook_instances", "NotebookInstances")]
    found = []
    for kind, name, arn, remove, attributes in candidates:
        try:
            tags = _tags(all_pages(sagemaker, "list_tags", "Tags", ResourceArn=arn))
        except botocore.exceptions.ClientError:
            continue
        if _ours(tags, env_name):
            found.append(Tagged(kind, name, tags, {name, arn}, remove, attributes))
    return found


# Resources with a name unique in their account, which the stack gives them: found by that name
# even when the tags never got there (the provider creates a bucket, then tags it in another call).
NAMED: dict[str, tuple[str, Callable[[AccountSession, str], object], str]] = {
    "aws_s3_bucket": ("bucket", lambda s, n: s.client("s3").head_bucket(Bucket=n), "aws s3 rb s3://{id} --force"),
    "aws_iam_role": ("name", lambda s, n: s.client("iam").get_role(RoleName=n),
                     "aws iam delete-role --role-name {id} (after its policies)"),
    "aws_iam_instance_profile": ("name", lambda s, n: s.client("iam").get_instance_profile(InstanceProfileName=n),
                                 "aws iam delete-instance-profile --instance-profile-name {id} (after removing its role)"),
    "aws_sagemaker_studio_lifecycle_config": (
        "studio_lifecycle_config_name",
        lambda s, n: s.client("sagemaker").describe_studio_lifecycle_config(StudioLifecycleConfigName=n),
        "aws sagemaker delete-studio-lifecycle-config --studio-lifecycle-config-name {id}"),
    "aws_sagemaker_notebook_instance_lifecycle_configuration": (
        "name", lambda s, n: s.client("sagemaker").describe_notebook_instance_lifecycle_config(NotebookInstanceLifecycleConfigName=n),
        "aws sagemaker delete-notebook-instance-lifecycle-config --notebook-instance-lifecycle-config-name {id}"),
    "aws_sagemaker_notebook_instance": (
        "name", lambda s, n: s.client("sagemaker").describe_notebook_instance(NotebookInstanceName=n),
        "aws sagemaker delete-notebook-instance --notebook-instance-name {id}"),
}
ABSENT = {"NoSuchEntity", "404", "NoSuchBucket", "NotFound", "ResourceNotFound", "ValidationException"}


def named_unrecorded(session: AccountSession, env_name: str, name_prefix: str, stack: str, configuration: dict,
                     state_addresses: set[str]) -> list[Tagged]:
    """Resources of ``stack`` with a unique configured name that exist although its state does not hold
    them. Only names the environment's own prefix makes unique count (``EMR_DefaultRole`` may be the
    account's own, made by `aws emr create-default-roles`; it is found by its tags only), and never
    one tagged for another environment."""
    found = []
    for kind, (key, probe, remove) in NAMED.items():
        for logical_id, resource in configuration.get("resource", {}).get(kind, {}).items():
            name = resource.get(key)
            if f"{kind}.{logical_id}" in state_addresses or not isinstance(name, str) or not name.startswith(name_prefix):
                continue
            try:
                described = probe(session, name)
            except botocore.exceptions.ClientError as exc:
                if error_code(exc) in ABSENT:
                    continue
                raise
            owner = _tags(next((v.get("Tags") for v in described.values() if isinstance(v, dict) and "Tags" in v), None)
                          if isinstance(described, dict) else None).get("environment")
            if owner not in (None, env_name):
                continue
            found.append(Tagged(kind, name, {"stack": stack}, {name}, remove.format(id=name), {key: name}))
    return found


TAGGED_LISTERS = (_ec2_tagged, _iam_tagged, _s3_tagged, _catalog_tagged, _sagemaker_tagged)


# --- made on the environment's behalf ----------------------------------------------------------------


def _on_behalf(env: EnvironmentFile, accounts: Accounts) -> list[Item]:
    items: list[Item] = []
    studio = accounts.studio()
    me = env.environment.studio_account.account_id
    sagemaker = studio.client("sagemaker")
    ids = domain_ids(env, accounts)
    for domain_id in ids:
        for space in all_pages(sagemaker, "list_spaces", "Spaces", DomainIdEquals=domain_id):
            items.append(Item(me, ON_BEHALF, "sagemaker space", space["SpaceName"], "SageMaker (a user)",
                              f"domain {domain_id}, {space.get('Status')}"))
        for app in all_pages(sagemaker, "list_apps", "Apps", DomainIdEquals=domain_id):
            if app["Status"] in GONE_APP_STATES:
                continue
            owner = app.get("UserProfileName") or f"space {app.get('SpaceName')}"
            items.append(Item(me, ON_BEHALF, "sagemaker app", f"{app['AppType']}/{app['AppName']}", "SageMaker (a user)",
                              f"{owner}, {app['Status']}"))
    vpcs = studio_vpc_ids(env, accounts)
    groups = nfs_groups(studio, vpcs)
    owners = home_owners(groups, ids)
    for group in groups:
        items.append(Item(me, ON_BEHALF, "sagemaker NFS security group", group["GroupId"], "SageMaker", group["GroupName"]))
    efs = studio.client("efs")
    for fs in home_file_systems(studio, env.environment.name, vpcs, owners):
        tags = _tags(fs.get("Tags"))
        domain = tags.get(SAGEMAKER_TAG, "").rsplit("/", 1)[-1]
        targets = all_pages(efs, "describe_mount_targets", "MountTargets", FileSystemId=fs["FileSystemId"])
        size = int(fs.get("SizeInBytes", {}).get("Value", 0))
        retained = domain not in ids
        items.append(Item(me, RETAINED if retained else ON_BEHALF, "home EFS", fs["FileSystemId"], "SageMaker",
                          f"home of domain {domain}, {size} bytes, {len(targets)} mount target(s)",
                          f"aws efs delete-file-system --file-system-id {fs['FileSystemId']}" if retained else ""))
    for cluster in launched_clusters(env, accounts):
        items.append(Item(cluster.account.account_id, ON_BEHALF, "EMR cluster",
                          cluster.cluster_id or cluster.provisioned_product_id or "", "EMR / Service Catalog (a user)",
                          cluster.describe()))
    return items


# --- the whole inventory ------------------------------------------------------------------------------


class InventoryError(StudioEmrError):
    """A live API could not be read."""


def build(env: EnvironmentFile, accounts: Accounts, result: SynthResult) -> Inventory:
    try:
        return _build(env, accounts, result)
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
        raise InventoryError(f"inventory of {env.environment.name}: could not read the live APIs: {exc}") from None


def _build(env: EnvironmentFile, accounts: Accounts, result: SynthResult) -> Inventory:
    inventory = Inventory(env.environment.name, env.environment.target.value)
    state, known = state_items(result, accounts)
    inventory.items += state
    addresses = {stack: {i.detail for i in state if i.owner == stack} for stack in result.stacks}
    inventory.items += _on_behalf(env, accounts)
    stacks = set(result.stacks)
    sessions = [accounts.studio()] + [accounts.emr(a) for a in env.environment.emr_accounts]
    seen_accounts = set()
    for session in sessions:
        if session.account_id in seen_accounts:
            continue
        seen_accounts.add(session.account_id)
        in_state = known.get(session.account_id, set())
        named = [tagged for stack in result.stacks if result.account_of(stack) == session.account_id
                 for tagged in named_unrecorded(session, env.environment.name, naming.prefix(env), stack,
                                                result.stack_json(stack), addresses[stack])]
        listed = [tagged for lister in TAGGED_LISTERS for tagged in lister(session, env.environment.name)]
        seen_ids = {(t.kind, t.id) for t in listed}
        for tagged in listed + [t for t in named if (t.kind, t.id) not in seen_ids]:
            if tagged.typed_identifiers & in_state:
                continue
            if SAGEMAKER_TAG in tagged.tags:
                continue  # a retained home EFS is listed as such above
            stack = tagged.tags.get("stack", "?")
            if "environment" not in tagged.tags:
                detail = f"named as stack {stack} names it, not tagged"
            else:
                detail = f"tagged stack={stack}" + ("" if stack in stacks else " (no such stack in this environment)")
            inventory.items.append(Item(session.account_id, ORPHAN, tagged.kind, tagged.id, stack, detail, tagged.remove))
    return inventory


def inventory(env_name: str, workspace: Workspace = Workspace(), envs_dir: Path = ENVS_DIR, log=print) -> Inventory:
    """Read-only. On the emulator target, an emulator that is not running holds nothing."""
    env = load_env(env_name, envs_dir)
    emulator = None
    if env.environment.target is Target.emulator:
        emulator = emulator_control.current(workspace.state_root)
        if emulator is None:
            result = Inventory(env_name, env.environment.target.value)
            result.notes.append("the emulator is not running, so nothing of this environment exists")
            return result
    accounts = Accounts(env, emulator)
    accounts.preflight()
    result = synth_env(env, workspace, reuse_oidc_provider=kubernetes.foreign_oidc_provider(env, accounts) is not None,
                       isolated=True)
    return build(env, accounts, result)

