"""Orphans adopted before an apply, never duplicated (issue 9).

An apply killed after AWS created a resource but before Terraform recorded it leaves a resource
no state knows. The next apply would create it again: a second VPC or peering request silently,
or a failure for what has a unique name ("EntityAlreadyExists: Instance Profile
EMR_EC2_DefaultRole already exists"), on every later deploy. So before a stack is applied, the
resources tagged for the environment and for that stack (the providers' default tags) that its
state does not hold are found (orchestration/inventory.py lists them), and so are those bearing a
unique name the stack gives them (a bucket is tagged in a second call, after it exists), matched to the resource of
the stack's configuration they are (by the unique name the stack gives them, or by CIDR, service
or Name tag), and imported into its state. One that matches nothing, or more than one thing,
stops the apply with its name and the command that removes it.
"""

from __future__ import annotations

from typing import Callable

import botocore.exceptions

from config import EnvironmentFile, StudioEmrError
from stacks import naming

from .accounts import AccountSession, Accounts
from .inventory import TAGGED_LISTERS, Tagged, identifiers_of, named_unrecorded
from .synth import SynthResult
from .terraform import Terraform

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


def _configured(resource: dict, key: str, ids: dict[str, str]) -> str | None:
    """A configured value to compare, or None when the configuration does not state it: a
    reference to another resource of the stack resolves to that resource's id in state."""
    value = (resource.get("tags") or {}).get("Name") if key == "tags.Name" else resource.get(key)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(int(value))
    if not isinstance(value, str):
        return None
    if value.startswith("${") and value.endswith(".id}") and value.count("${") == 1:
        return ids.get(value[2:-4])
    return value if "${" not in value else None


def match(orphan: Tagged, configuration: dict, in_state: set[str], ids: dict[str, str] | None = None) -> list[str]:
    """The addresses of the stack's resources (not in state) this live resource can be; ``ids``:
    address -> id of what the state holds, to resolve references (a rule's group)."""
    keys = MATCH_KEYS.get(orphan.kind)
    if keys is None:
        return []
    found = []
    for logical_id, resource in configuration.get("resource", {}).get(orphan.kind, {}).items():
        address = f"{orphan.kind}.{logical_id}"
        if address in in_state:
            continue
        values = [(_configured(resource, key, ids or {}), orphan.attributes.get(key)) for key in keys]
        if any(configured is not None for configured, _ in values) and all(
                configured is None or configured == live for configured, live in values):
            found.append(address)
    return found


def stack_orphans(session: AccountSession, env: EnvironmentFile, stack: str, configuration: dict, state: list[dict]) -> list[Tagged]:
    """What exists for ``stack`` outside its state: tagged for it, or bearing a unique name it gives."""
    identifiers = identifiers_of(state)
    tagged = [t for lister in TAGGED_LISTERS for t in lister(session, env.environment.name) if t.tags.get("stack") == stack]
    named = named_unrecorded(session, env.environment.name, naming.prefix(env), stack, configuration, {r["address"] for r in state})
    seen = {(t.kind, t.id) for t in tagged}
    return [t for t in tagged + [n for n in named if (n.kind, n.id) not in seen] if not t.identifiers & identifiers]


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
    orphans = stack_orphans(session, env, stack, configuration, state)
    if not orphans:
        return 0
    in_state = {r["address"] for r in state}
    ids = {r["address"]: r["values"].get("id") for r in state if r["values"].get("id")}
    stuck = []
    adopted = 0
    # Groups before their rules, whose match needs the group's id.
    for orphan in sorted(orphans, key=lambda o: o.kind.endswith("_rule")):
        addresses = match(orphan, configuration, in_state, ids)
        if len(addresses) != 1:
            why = "matches no resource of the stack" if not addresses else f"could be any of {', '.join(addresses)}"
            stuck.append(f"  - {orphan.kind} {orphan.id} ({why}); remove it with: {orphan.remove}")
            continue
        log(f"[{stack}] adopting {orphan.id} ({orphan.kind}) as {addresses[0]}: it exists, tagged or named for this "
            "stack, but its state does not hold it (an interrupted apply)")
        terraform.import_resource(addresses[0], orphan.id)
        in_state.add(addresses[0])
        ids[addresses[0]] = orphan.id
        adopted += 1
    if stuck:
        raise OrphanError(f"[{stack}] resources tagged for this stack exist in account {account_id} outside its state, "
                          "and applying would duplicate them; nothing was applied to this stack:\n" + "\n".join(stuck))
    return adopted
