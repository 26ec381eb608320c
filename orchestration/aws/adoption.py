"""Orphans adopted before an apply, never duplicated (issue 9).

An apply killed after AWS created a resource but before Terraform recorded it leaves a resource
no state knows. The next apply would create it again: a second VPC or peering request silently,
or a failure for what has a unique name ("EntityAlreadyExists: Instance Profile
EMR_EC2_DefaultRole already exists"), on every later deploy. So before a stack is applied, the
resources tagged for the environment and for that stack (the providers' default tags) that its
state does not hold are found (orchestration/aws/inventory.py lists them), and so are those bearing a
unique name the stack gives them (a bucket is tagged in a second call, after it exists), matched to the resource of
the stack's configuration they are (by the unique name the stack gives them, or by CIDR, service
or Name tag), and imported into its state. One that matches nothing, or more than one thing,
stops the apply with its name and the command that removes it.
"""

from __future__ import annotations

import re
from typing import Callable

import botocore.exceptions

from config import EnvironmentFile, StudioEmrError
from stacks import naming

from orchestration.aws.accounts import AccountSession, Accounts, all_pages
from orchestration.aws.inventory import TAGGED_LISTERS, Tagged, identifiers_of, named_unrecorded
from orchestration.aws.teardown import error_code
from orchestration.terraform.runner import Terraform
from orchestration.terraform.synth import SynthResult
from orchestration.terraform.tfjson import StateResource

Log = Callable[[str], None]

# What identifies a resource of each type, as its configuration states it and as the live
# resource's attributes (inventory.Tagged.attributes) carry it. Types not listed are not taggable
# or are found through their parent (policies, attachments, routes, associations).
RULE_KEYS = ("security_group_id", "ip_protocol", "from_port", "to_port", "cidr_ipv4", "description")
MATCH_KEYS: dict[str, tuple[str, ...]] = {
    "aws_iam_role": ("name",),
    "aws_iam_instance_profile": ("name",),
    "aws_iam_openid_connect_provider": ("url",),
    "aws_s3_bucket": ("bucket",),
    "aws_servicecatalog_portfolio": ("name",),
    "aws_servicecatalog_product": ("name",),
    "aws_sagemaker_domain": ("domain_name",),
    "aws_sagemaker_studio_lifecycle_config": ("studio_lifecycle_config_name",),
    "aws_sagemaker_notebook_instance": ("name",),
    "aws_sagemaker_notebook_instance_lifecycle_configuration": ("name",),
    "aws_security_group": ("name",),
    "aws_vpc": ("cidr_block", "tags.Name"),
    "aws_subnet": ("cidr_block",),
    "aws_vpc_endpoint": ("service_name",),
    "aws_route_table": ("tags.Name",),
    "aws_internet_gateway": ("tags.Name",),
    "aws_nat_gateway": ("tags.Name",),
    "aws_eip": ("tags.Name",),
    "aws_vpc_peering_connection": ("tags.Name",),
    "aws_default_security_group": ("tags.Name",),
    "aws_vpc_security_group_ingress_rule": RULE_KEYS,
    "aws_vpc_security_group_egress_rule": RULE_KEYS,
}


class OrphanError(StudioEmrError):
    """Resources tagged for a stack exist outside its state and cannot be adopted."""


# A value taken from another stack (stacks/base.py: AccountStack.take): its remote state is named
# after the stack, the output after the value.
REMOTE_OUTPUT = re.compile(r"^\$\{data\.terraform_remote_state\.(?P<stack>[^.}]+)\.outputs\.(?P<output>[^.}]+)\}$")


class References:
    """Resolves a configured value to what it is live: a reference to a resource of the stack to
    that resource's id in state (``ids``: address -> id), a reference to an upstream stack's output
    to the output's value in that stack's state (``upstream``: stack -> its outputs, read on first use)."""

    def __init__(self, ids: dict[str, str] | None = None, upstream: Callable[[str], dict] | None = None):
        self.ids = ids if ids is not None else {}
        self.upstream = upstream
        self._outputs: dict[str, dict] = {}

    def resolve(self, value: object) -> str | None:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(int(value))
        if not isinstance(value, str):
            return None
        if value.startswith("${") and value.endswith(".id}") and value.count("${") == 1 and not value.startswith("${data."):
            return self.ids.get(value[2:-4])
        remote = REMOTE_OUTPUT.match(value)
        if remote and self.upstream is not None:
            if remote["stack"] not in self._outputs:
                self._outputs[remote["stack"]] = self.upstream(remote["stack"])
            found = self._outputs[remote["stack"]].get(remote["output"])
            return found if isinstance(found, str) else None
        return value if "${" not in value else None


def _configured(resource: dict, key: str, references: References) -> str | None:
    """A configured value to compare, or None when the configuration does not state it."""
    return references.resolve((resource.get("tags") or {}).get("Name") if key == "tags.Name" else resource.get(key))


def match(orphan: Tagged, configuration: dict, in_state: set[str], references: References | None = None) -> list[str]:
    """The addresses of the stack's resources (not in state) this live resource can be;
    ``references`` resolve what the configuration refers to (a rule's group)."""
    references = references or References()
    keys = MATCH_KEYS.get(orphan.kind)
    if keys is None:
        return []
    found = []
    for logical_id, resource in configuration.get("resource", {}).get(orphan.kind, {}).items():
        address = f"{orphan.kind}.{logical_id}"
        if address in in_state:
            continue
        values = [(_configured(resource, key, references), orphan.attributes.get(key)) for key in keys]
        if any(configured is not None for configured, _ in values) and all(
                configured is None or configured == live for configured, live in values):
            found.append(address)
    return found


def stack_orphans(session: AccountSession, env: EnvironmentFile, stack: str, configuration: dict, state: list[StateResource]) -> list[Tagged]:
    """What exists for ``stack`` outside its state: tagged for it, or bearing a unique name it gives."""
    identifiers = identifiers_of(state)
    tagged = [t for lister in TAGGED_LISTERS for t in lister(session, env.environment.name) if t.tags.get("stack") == stack]
    named = named_unrecorded(session, env.environment.name, naming.prefix(env), stack, configuration, {r.address for r in state})
    seen = {(t.kind, t.id) for t in tagged}
    return [t for t in tagged + [n for n in named if (n.kind, n.id) not in seen] if not t.typed_identifiers & identifiers]


def adopt(env: EnvironmentFile, accounts: Accounts, result: SynthResult, stack: str, terraform: Terraform, log: Log) -> int:
    """Import into ``stack``'s state what was created for it and never recorded; how many."""
    try:
        return _adopt(env, accounts, result, stack, terraform, log)
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
        raise OrphanError(f"[{stack}] looking for resources an interrupted apply left: {exc}; nothing was applied "
                          "to this stack") from None


def _adopt(env: EnvironmentFile, accounts: Accounts, result: SynthResult, stack: str, terraform: Terraform, log: Log) -> int:
    account_id = result.account_of(stack)
    session = accounts.session_of(account_id)
    state = terraform.state_resources()
    configuration = result.stack_json(stack)
    in_state = {r.address for r in state}
    references = References({r.address: r.values["id"] for r in state if r.values.get("id")},
                            lambda upstream: _outputs(Terraform(upstream, result.stack_dir(upstream), terraform.env)))
    stuck = []
    adopted = 0

    def adopt_one(address: str, resource_id: str, kind: str, why: str) -> None:
        nonlocal adopted
        log(f"[{stack}] adopting {resource_id} ({kind}) as {address}: {why}, but its state does not hold it "
            "(an interrupted apply)")
        terraform.import_resource(address, resource_id)
        in_state.add(address)
        references.ids[address] = resource_id
        adopted += 1

    # Groups before their rules, whose match needs the group's id.
    orphans = stack_orphans(session, env, stack, configuration, state)
    for orphan in sorted(orphans, key=lambda o: o.kind.endswith("_rule")):
        addresses = match(orphan, configuration, in_state, references)
        if len(addresses) != 1:
            why = "matches no resource of the stack" if not addresses else f"could be any of {', '.join(addresses)}"
            stuck.append(f"  - {orphan.kind} {orphan.id} ({why}); remove it with: {orphan.remove}")
            continue
        adopt_one(addresses[0], orphan.id, orphan.kind, "it exists, tagged or named for this stack")
    if stuck:
        raise OrphanError(f"[{stack}] resources tagged for this stack exist in account {account_id} outside its state, "
                          "and applying would duplicate them; nothing was applied to this stack:\n" + "\n".join(stuck))
    # Then what has no tags and is known by its parent: found once the parents are in state.
    for address, resource_id, kind in unrecorded_children(session, configuration, in_state, references):
        adopt_one(address, resource_id, kind, "it exists where the stack puts it")
    groups = [o.id for o in orphans if o.kind == "aws_security_group"]
    if groups:
        _revoke_default_egress(session, groups, set(references.ids.values()), stack, log)
    return adopted


def _revoke_default_egress(session: AccountSession, groups: list[str], managed: set[str], stack: str, log: Log) -> None:
    """The AWS provider revokes the allow-all egress rule EC2 gives a new group right after
    creating it ("Terraform will remove this default rule", aws_security_group's documentation);
    a group adopted from an interrupted apply may still hold it, and the stack's own allow-all
    rule (aws_vpc_security_group_egress_rule) would then be refused as InvalidPermission.Duplicate
    on every apply. Revoked here unless a rule resource of the stack is that rule."""
    ec2 = session.client("ec2")
    rules = all_pages(ec2, "describe_security_group_rules", "SecurityGroupRules",
                      Filters=[{"Name": "group-id", "Values": groups}])
    default: dict[str, list[str]] = {}
    for r in rules:
        if r.get("IsEgress") and r.get("IpProtocol") == "-1" and (r.get("CidrIpv4") == "0.0.0.0/0" or r.get("CidrIpv6") == "::/0") \
                and r["SecurityGroupRuleId"] not in managed:
            default.setdefault(r["GroupId"], []).append(r["SecurityGroupRuleId"])
    for group, mine in default.items():
        log(f"[{stack}] revoking the default egress rule of adopted {group} ({', '.join(mine)}), as the provider "
            "does when it creates a group")
        ec2.revoke_security_group_egress(GroupId=group, SecurityGroupRuleIds=mine)


# Resources with no tags of their own, created inside a parent, whose create AWS refuses once they
# exist (CreateRoute: RouteAlreadyExists; AssociateRouteTable: Resource.AlreadyAssociated;
# CreateConstraint: DuplicateResourceException, since each apply makes a new idempotency token and
# a killed apply's token is lost with it). Each is looked up in its parent, with the import id its Terraform type takes.
def unrecorded_children(session: AccountSession, configuration: dict, in_state: set[str],
                        references: References) -> list[tuple[str, str, str]]:
    """(address, import id, type) of the stack's untagged resources that exist live but not in state."""
    resources = configuration.get("resource", {})
    found = []
    ec2 = session.client("ec2")
    tables: dict[str, dict | None] = {}

    def table(table_id: str | None) -> dict | None:
        if table_id and table_id not in tables:
            try:
                tables[table_id] = ec2.describe_route_tables(RouteTableIds=[table_id])["RouteTables"][0]
            except botocore.exceptions.ClientError as exc:
                if not error_code(exc).endswith("NotFound"):
                    raise
                tables[table_id] = None
        return tables.get(table_id) if table_id else None

    for kind, logical_id, resource in _unrecorded(resources, in_state, "aws_route"):
        table_id = references.resolve(resource.get("route_table_id"))
        destination = resource.get("destination_cidr_block")
        live = table(table_id)
        if live and any(r.get("DestinationCidrBlock") == destination and r.get("Origin") != "CreateRouteTable"
                        for r in live.get("Routes", [])):
            found.append((f"{kind}.{logical_id}", f"{table_id}_{destination}", kind))
    for kind, logical_id, resource in _unrecorded(resources, in_state, "aws_route_table_association"):
        table_id = references.resolve(resource.get("route_table_id"))
        subnet_id = references.resolve(resource.get("subnet_id"))
        live = table(table_id)
        if live and subnet_id and any(a.get("SubnetId") == subnet_id for a in live.get("Associations", [])):
            found.append((f"{kind}.{logical_id}", f"{subnet_id}/{table_id}", kind))
    constraints = list(_unrecorded(resources, in_state, "aws_servicecatalog_constraint"))
    if constraints:
        catalog = session.client("servicecatalog")
        for kind, logical_id, resource in constraints:
            portfolio_id = references.resolve(resource.get("portfolio_id"))
            product_id = references.resolve(resource.get("product_id"))
            if not portfolio_id or not product_id:
                continue
            try:
                live = all_pages(catalog, "list_constraints_for_portfolio", "ConstraintDetails",
                                 PortfolioId=portfolio_id, ProductId=product_id)
            except botocore.exceptions.ClientError as exc:
                if error_code(exc) != "ResourceNotFoundException":
                    raise
                continue
            same = [c["ConstraintId"] for c in live if c.get("Type") == resource.get("type")]
            if len(same) == 1:
                found.append((f"{kind}.{logical_id}", same[0], kind))
    return found


def _outputs(terraform: Terraform) -> dict:
    terraform.ensure_init()
    return terraform.outputs()


def _unrecorded(resources: dict, in_state: set[str], kind: str):
    for logical_id, resource in resources.get(kind, {}).items():
        if f"{kind}.{logical_id}" not in in_state:
            yield kind, logical_id, resource
