"""`graph`: draw an environment's topology: its accounts and VPCs (CIDRs, private subnets), the
peering connections with their state, the routes on both sides, the security-group rule that
admits Studio to EMR with its ports, and the roles Studio assumes.

One model, three sources, two drawings:

* from ``envs/<env>.yaml`` alone (:func:`topology` with nothing else): everything is *planned*;
* with the live APIs (:func:`read_live`, when the environment is deployed: its emulator runs, or
  target aws): the peering's id and state (active, pending-acceptance, ...), whether each side's
  route tables route the peer's CIDR through it, the ports the EMR group admits from the Studio
  group, whether the role Studio assumes exists and trusts the execution role;
* with plans (the plan review, orchestration/review/report.py): edges a plan adds are marked new, and
  peerings and routes it destroys or replaces stand out as *to be removed*.

Drawn as Mermaid (markdown, the plan review) or as Graphviz DOT, which ``@viz-js/viz``
(Graphviz compiled to WebAssembly, from npm) renders to SVG for docs.

The single-account layout (an EMR account that is the Studio account) has no peering, no routes
and no role to assume: its EMR security group sits in the Studio VPC, reached by the local route.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from config import ENVS_DIR, EmrAccount, EnvironmentFile, ExistingNetwork, NewNetwork, StudioEmrError, Target, load_env
from stacks import naming

from orchestration.local import emulator as emulator_control
from orchestration.review.report import PEERING_TYPES, StackPlan
from orchestration.terraform.runner import PROJECT_ROOT
from orchestration.terraform.tfjson import ResourceChange

FORMATS = ("mermaid", "svg", "dot")
SVG_TIMEOUT_SECONDS = 60

# How an edge is drawn and what its label says, by status. Statuses come from the model
# (planned), the live APIs (ok, pending, missing) or plans (new, removed, replaced, changed,
# unchanged, waiting, failed).
STATUS_TEXT = {
    "planned": "", "ok": "", "unchanged": "", "pending": "", "missing": "missing",
    "new": "new", "removed": "to be removed", "replaced": "to be removed and re-created", "changed": "to change",
    "waiting": "not planned yet", "failed": "plan failed",
}
RED, GREEN, ORANGE, GREY = "#d32f2f", "#2e7d32", "#ef6c00", "#9e9e9e"
MERMAID_LINK_STYLE = {
    "new": f"stroke:{GREEN},stroke-width:3px",
    "removed": f"stroke:{RED},stroke-width:3px,stroke-dasharray:6 4",
    "replaced": f"stroke:{RED},stroke-width:3px,stroke-dasharray:6 4",
    "changed": f"stroke:{ORANGE},stroke-width:2px",
    "pending": f"stroke:{ORANGE},stroke-width:2px,stroke-dasharray:6 4",
    "missing": f"stroke:{ORANGE},stroke-width:2px,stroke-dasharray:2 4",
    "waiting": f"stroke:{GREY},stroke-width:1px,stroke-dasharray:2 4",
    "failed": f"stroke:{RED},stroke-width:1px,stroke-dasharray:2 4",
}
DOT_EDGE_STYLE = {
    "new": {"color": GREEN, "fontcolor": GREEN, "penwidth": "2.5"},
    "removed": {"color": RED, "fontcolor": RED, "penwidth": "2.5", "style": "dashed"},
    "replaced": {"color": RED, "fontcolor": RED, "penwidth": "2.5", "style": "dashed"},
    "changed": {"color": ORANGE, "fontcolor": ORANGE, "penwidth": "2"},
    "pending": {"color": ORANGE, "fontcolor": ORANGE, "style": "dashed"},
    "missing": {"color": ORANGE, "fontcolor": ORANGE, "style": "dotted"},
    "waiting": {"color": GREY, "fontcolor": GREY, "style": "dotted"},
    "failed": {"color": RED, "fontcolor": RED, "style": "dotted"},
}
# Kind of edge -> (Mermaid arrow, DOT attributes).
ARROWS = {
    "peering": ("<-->", {"dir": "both", "penwidth": "2"}),
    "route": ("-->", {}),
    "ingress": ("-->", {}),
    "assume": ("-.->", {"style": "dashed"}),
}

# Peering connection states (EC2 VpcPeeringConnectionStateReasonCode) that mean "not yet".
PENDING_STATES = {"initiating-request", "pending-acceptance", "provisioning"}

# Construct ids (stacks/links.py, stacks/emr.py) that name the resources the plan marks are read from.
_PEERING_NAME = re.compile(r"^peering(?:-dns)?-([a-z0-9-]+)_")
_ROUTES_NAME = re.compile(r"^routes-to-([a-z0-9-]+)_")
_PEERING_TAG = re.compile(r"-to-(\d{12})$")


class GraphError(StudioEmrError):
    """The topology could not be read from the live APIs, or the SVG could not be rendered."""


# --- the model ------------------------------------------------------------------------------


@dataclass
class Node:
    key: str
    lines: list[str]
    shape: str = "box"  # box | sg | role | ghost
    status: str = ""


@dataclass
class Vpc:
    key: str
    title: list[str]
    nodes: list[Node] = field(default_factory=list)

    @property
    def anchor(self) -> str:
        """The node DOT attaches edges to this VPC's cluster through (its subnets)."""
        return self.nodes[0].key


@dataclass
class AccountBox:
    key: str
    title: list[str]
    account_id: str
    vpc: Vpc | None
    nodes: list[Node] = field(default_factory=list)  # outside the VPC: roles


@dataclass
class Edge:
    kind: str  # peering | route | ingress | assume
    source: str  # a node key, or a VPC key (peering, route targets)
    target: str
    lines: list[str]
    status: str = "planned"


@dataclass
class Topology:
    env_name: str
    source: str  # one line: what the drawing was made from
    accounts: list[AccountBox]
    edges: list[Edge]
    ghosts: list[Node] = field(default_factory=list)  # what plans remove that the environment file no longer names

    def vpc(self, key: str) -> Vpc | None:
        return next((a.vpc for a in self.accounts if a.vpc and a.vpc.key == key), None)


# --- live facts -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RouteFact:
    """The route to a peer's CIDR in the route tables of one side's private subnets."""

    tables: tuple[str, ...]  # route tables of the private subnets
    found: dict  # route table id -> (target, state) of its route to the CIDR

    def status(self, pcx: str | None) -> str:
        good = [t for t in self.tables if self.found.get(t, (None, None)) == (pcx, "active")]
        return "ok" if pcx and self.tables and len(good) == len(self.tables) else "missing"

    def describe(self, pcx: str | None) -> str:
        if not self.tables:
            return "no route tables serve the private subnets"
        missing = [t for t in self.tables if t not in self.found]
        wrong = {t: v for t, v in self.found.items() if v != (pcx, "active")}
        if not missing and not wrong:
            return f"active in {len(self.tables)} of {len(self.tables)} route tables"
        parts = [f"missing in {', '.join(missing)}"] if missing else []
        parts += [f"{t}: {target or '?'} {state}" for t, (target, state) in sorted(wrong.items())]
        return "; ".join(parts)


@dataclass
class LiveFacts:
    where: str  # "the emulator at http://...", "AWS"
    peerings: dict[str, dict | None] = field(default_factory=dict)  # EMR stack id -> its connection
    routes: dict[tuple[str, str], RouteFact] = field(default_factory=dict)  # (to-emr | to-studio, stack id)
    ingress: dict[str, list[int] | None] = field(default_factory=dict)  # stack id -> ports (None: no EMR SG)
    roles: dict[str, str] = field(default_factory=dict)  # stack id -> "ok" | why not
    studio_vpc: str | None = None
    emr_vpcs: dict[str, str | None] = field(default_factory=dict)


def read_live(env: EnvironmentFile, accounts) -> LiveFacts:
    """What the live APIs say about every edge of the topology (never Terraform state)."""
    import botocore.exceptions

    from orchestration.aws.handshake import DEAD, Peerings, emr_vpc_ids

    settings = env.environment
    studio = settings.studio_account
    facts = LiveFacts("the emulator at " + accounts.emulator.url if accounts.emulator else "AWS")
    try:
        accounts.preflight()
        studio_ec2 = accounts.studio().client("ec2")
        facts.studio_vpc = _vpc_id(studio_ec2, _studio_vpc_name(env), studio.network)
        studio_sg = _security_group_id(studio_ec2, _studio_vpc_name(env), facts.studio_vpc)
        peerings = Peerings(env, accounts)
        for account in settings.emr_accounts:
            key = account.stack_id
            sg_name = naming.emr_security_group_name(env, account, "primary")
            if account.account_id == studio.account_id:
                facts.ingress[key] = _admitted_ports(studio_ec2, sg_name, facts.studio_vpc, studio_sg)
                continue
            emr = accounts.emr(account)
            emr_ec2 = emr.client("ec2")
            vpcs = emr_vpc_ids(env, accounts, account)
            facts.emr_vpcs[key] = vpcs[0] if vpcs else None
            connections = peerings.connections(account) if vpcs else []
            live = [c for c in connections if c["Status"]["Code"] not in DEAD]
            connection = (live or connections or [None])[0]
            facts.peerings[key] = connection
            facts.routes[("to-emr", key)] = _route_fact(studio_ec2, facts.studio_vpc, studio.network, account.network.cidr)
            facts.routes[("to-studio", key)] = _route_fact(emr_ec2, facts.emr_vpcs[key], account.network, studio.network.cidr)
            facts.ingress[key] = _admitted_ports(emr_ec2, sg_name, facts.emr_vpcs[key], studio_sg)
            facts.roles[key] = _role_trusts(emr.client("iam"), naming.discovery_role_name(env), naming.execution_role_arn(env))
    except StudioEmrError as exc:
        raise GraphError(f"{exc}\n(pass --no-live to draw envs/{settings.name}.yaml without the live APIs)") from None
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
        raise GraphError(f"reading the live topology from {facts.where} failed: {exc}\n"
                         f"(pass --no-live to draw envs/{settings.name}.yaml without the live APIs)") from None
    return facts


def _studio_vpc_name(env: EnvironmentFile) -> str:
    return naming.studio_name(env)


def _vpc_id(ec2, name: str, network) -> str | None:
    from orchestration.aws.accounts import all_pages

    if isinstance(network, ExistingNetwork):
        return network.vpc_id
    vpcs = all_pages(ec2, "describe_vpcs", "Vpcs", Filters=[
        {"Name": "tag:Name", "Values": [name]}, {"Name": "cidr-block-association.cidr-block", "Values": [network.cidr]}])
    return vpcs[0]["VpcId"] if vpcs else None


def _security_group_id(ec2, name: str, vpc_id: str | None) -> str | None:
    from orchestration.aws.accounts import all_pages

    if vpc_id is None:
        return None
    groups = all_pages(ec2, "describe_security_groups", "SecurityGroups", Filters=[{"Name": "group-name", "Values": [name]},
                                                                                   {"Name": "vpc-id", "Values": [vpc_id]}])
    return groups[0]["GroupId"] if groups else None


def _route_fact(ec2, vpc_id: str | None, network, destination: str) -> RouteFact:
    from orchestration.aws.accounts import all_pages

    if vpc_id is None:
        return RouteFact((), {})
    tables = all_pages(ec2, "describe_route_tables", "RouteTables", Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])
    if isinstance(network, ExistingNetwork):
        tables = [t for t in tables if t["RouteTableId"] in network.route_table_ids]
    else:
        subnets = all_pages(ec2, "describe_subnets", "Subnets", Filters=[
            {"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "cidr-block", "Values": list(network.private_subnet_cidrs)}])
        ids = {s["SubnetId"] for s in subnets}
        tables = [t for t in tables if any(a.get("SubnetId") in ids for a in t.get("Associations", []))]
    found = {}
    for table in tables:
        for route in table.get("Routes", []):
            if route.get("DestinationCidrBlock") == destination:
                target = route.get("VpcPeeringConnectionId") or route.get("GatewayId") or route.get("NatGatewayId")
                found[table["RouteTableId"]] = (target, route.get("State", "active"))
    return RouteFact(tuple(sorted(t["RouteTableId"] for t in tables)), found)


def _admitted_ports(ec2, name: str, vpc_id: str | None, studio_sg: str | None) -> list[int] | None:
    from orchestration.aws.accounts import all_pages

    group = _security_group_id(ec2, name, vpc_id)
    if group is None:
        return None
    rules = all_pages(ec2, "describe_security_group_rules", "SecurityGroupRules", Filters=[{"Name": "group-id", "Values": [group]}])
    return sorted({r["FromPort"] for r in rules if not r["IsEgress"] and r.get("IpProtocol") == "tcp"
                   and studio_sg and r.get("ReferencedGroupInfo", {}).get("GroupId") == studio_sg
                   and r["FromPort"] == r["ToPort"]})


def _role_trusts(iam, role_name: str, principal_arn: str) -> str:
    import json

    import botocore.exceptions

    try:
        trust = iam.get_role(RoleName=role_name)["Role"]["AssumeRolePolicyDocument"]
    except botocore.exceptions.ClientError:
        return "missing"
    trust = json.loads(trust) if isinstance(trust, str) else trust
    statements = trust.get("Statement", [])
    for statement in statements if isinstance(statements, list) else [statements]:
        principal = statement.get("Principal", {})
        arns = principal.get("AWS", []) if isinstance(principal, dict) else []
        if statement.get("Effect") == "Allow" and principal_arn in (arns if isinstance(arns, list) else [arns]):
            return "ok"
    return "does not trust the execution role"


# --- plan marks -----------------------------------------------------------------------------


@dataclass
class _Marks:
    """What plans do to the topology's edges: (edge key) -> plan actions."""

    actions: dict[tuple, list[str]] = field(default_factory=dict)
    ports: dict[tuple[str, int], list[str]] = field(default_factory=dict)  # (stack id, port) -> actions
    ghost_peerings: dict[str, list[str]] = field(default_factory=dict)  # peer account id -> actions
    ghost_routes: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # (from side, CIDR) -> actions
    plans: dict[str, StackPlan] = field(default_factory=dict)  # by stack

    def add(self, key: tuple, action: str) -> None:
        self.actions.setdefault(key, []).append(action)


def _values(change: ResourceChange, key: str):
    """A resource attribute before or after the change (a removed resource has only before)."""
    for side in (change.after, change.before):
        value = side.get(key)
        if value:
            return value
    return None


def _plan_marks(env: EnvironmentFile, plans: list[StackPlan]) -> _Marks:
    settings = env.environment
    studio = settings.studio_account
    peered = env.peered_emr_accounts
    marks = _Marks(plans={p.stack: p for p in plans})
    by_tag = {naming.peering_tags(env, a)["Name"]: a for a in peered}
    by_id = {a.account_id: a for a in peered}
    by_key = {a.stack_id: a for a in peered}
    for plan in plans:
        for action, change in plan.changes():
            kind, name = change.type, change.name
            if kind in PEERING_TYPES:
                tags = _values(change, "tags") or _values(change, "tags_all") or {}
                match = _PEERING_NAME.match(name)
                account = (by_tag.get(tags.get("Name", "")) or by_id.get(_values(change, "peer_owner_id") or "")
                           or next((a for a in peered if plan.stack == naming.emr_link_stack(a)), None)
                           or (by_key.get(match.group(1)) if match else None))
                if account is not None:
                    marks.add(("peering", account.stack_id), action)
                else:
                    found = _PEERING_TAG.search(tags.get("Name", ""))
                    peer = (found.group(1) if found else None) or _values(change, "peer_owner_id") or plan.account_id
                    marks.ghost_peerings.setdefault(peer, []).append(action)
            elif kind == "aws_route":
                destination = _values(change, "destination_cidr_block")
                via_peering = _values(change, "vpc_peering_connection_id") or _ROUTES_NAME.match(name)
                if plan.account_id == studio.account_id:
                    account = next((a for a in peered if a.network.cidr == destination), None)
                    if account is not None:
                        marks.add(("route", "to-emr", account.stack_id), action)
                    elif via_peering and destination:
                        marks.ghost_routes.setdefault(("studio", destination), []).append(action)
                    continue
                account = by_id.get(plan.account_id)
                if account is None:
                    continue
                if destination == studio.network.cidr:
                    marks.add(("route", "to-studio", account.stack_id), action)
                elif via_peering and destination:
                    marks.ghost_routes.setdefault((account.stack_id, destination), []).append(action)
            elif kind == "aws_vpc_security_group_ingress_rule" and name.startswith("studio-ingress"):
                port = _values(change, "from_port")
                account = next((a for a in settings.emr_accounts
                                if plan.stack == (naming.emr_link_stack(a) if a in peered else a.stack_id)), None)
                if account is not None and port:
                    marks.ports.setdefault((account.stack_id, int(port)), []).append(action)
            elif kind == "aws_iam_role" and _values(change, "name") == naming.discovery_role_name(env):
                account = by_id.get(plan.account_id)
                if account is not None:
                    marks.add(("assume", account.stack_id), action)
    return marks


def _combined(actions: list[str]) -> str:
    """One status for what several resources of an edge do (the worst first)."""
    if "destroy" in actions:
        return "removed"
    if "replace" in actions:
        return "replaced"
    if actions and all(a == "add" for a in actions):
        return "new"
    return "changed"


# --- building -------------------------------------------------------------------------------


def _ident(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", text)


def _subnet_lines(network, region: str) -> list[str]:
    if isinstance(network, NewNetwork):
        return ["private subnets"] + [f"{cidr} · {network.zone_of(cidr, region)}" for cidr in network.private_subnet_cidrs]
    return ["private subnets"] + list(network.private_subnet_ids) + [f"route tables {', '.join(network.route_table_ids)}"]


def _vpc_title(name: str, network, vpc_id: str | None) -> list[str]:
    if isinstance(network, ExistingNetwork):
        return [f"VPC {network.vpc_id} (existing)", network.cidr]
    return [f"VPC {name}", network.cidr + (f" · {vpc_id}" if vpc_id else "")]


def topology(env: EnvironmentFile, live: LiveFacts | None = None, plans: list[StackPlan] | None = None,
             source: str | None = None) -> Topology:
    """The topology of ``env``: from its file alone, with live facts, or with plans marking changes."""
    settings = env.environment
    studio = settings.studio_account
    ports = list(env.promoted.studio_to_emr_ports)
    marks = _plan_marks(env, plans) if plans is not None else None
    if source is None:
        source = (f"envs/{settings.name}.yaml and the live APIs of {live.where}" if live
                  else f"envs/{settings.name}.yaml, changes from the plans" if plans is not None
                  else f"envs/{settings.name}.yaml (planned)")

    def status(key: tuple, owner: str, live_status: str | None) -> tuple[str, str]:
        """(status, the label's state line) of an edge owned by stack ``owner``."""
        if marks is not None:
            if key in marks.actions:
                found = _combined(marks.actions[key])
                return found, STATUS_TEXT[found]
            plan = marks.plans.get(owner)
            if plan is None:
                return "planned", "planned"
            if plan.error:
                return "failed", f"plan of {owner} failed"
            if plan.waiting_on and plan.plan is None:
                return "waiting", f"not planned yet: {owner} waits"  # for what: its own section says
            return "unchanged", "no change"
        if live_status is not None:
            return live_status, STATUS_TEXT[live_status]
        return "planned", "planned"

    prefix = naming.prefix(env)
    studio_vpc_key, studio_subnets = "studio_vpc", "studio_subnets"
    studio_box = AccountBox(
        "studio", [f"Studio account {studio.account_id}", f"{studio.region} · domain {settings.domain.name}"],
        studio.account_id,
        Vpc(studio_vpc_key, _vpc_title(_studio_vpc_name(env), studio.network, live.studio_vpc if live else None),
            [Node(studio_subnets, _subnet_lines(studio.network, studio.region)),
             Node("studio_sg", ["Studio SG", _studio_vpc_name(env)], "sg")]),
        [Node("studio_role", ["execution role", naming.execution_role_name(env)], "role")],
    )
    accounts, edges = [studio_box], []
    port_text = ", ".join(str(p) for p in ports)

    def ingress_edge(account: EmrAccount, target: str, owner: str) -> Edge:
        key = account.stack_id
        if marks is not None:
            per_port = {p: _combined(marks.ports[(key, p)]) for p in sorted({p for (k, p) in marks.ports if k == key})}
            if per_port:
                # Ports the plans add or remove are named with what happens to them.
                unmarked = [str(p) for p in ports if p not in per_port]
                shown = unmarked + [f"{p} {STATUS_TEXT[s]}" for p, s in per_port.items()]
                kinds = set(per_port.values())
                found = kinds.pop() if len(kinds) == 1 and not unmarked else "changed"
                return Edge("ingress", "studio_sg", target, [f"SG rule: tcp {', '.join(shown)}", "from the Studio SG"], found)
            found, line = status(("ingress", key), owner, None)
            return Edge("ingress", "studio_sg", target,
                        [f"SG rule: tcp {port_text}", "from the Studio SG" if line == "planned" else line], found)
        if live is not None:
            admitted = live.ingress.get(key)
            if admitted is None:
                return Edge("ingress", "studio_sg", target, [f"SG rule: tcp {port_text}", "missing: no EMR primary SG"], "missing")
            missing = [p for p in ports if p not in admitted]
            extra = [p for p in admitted if p not in ports]
            detail = (f"missing tcp {', '.join(map(str, missing))}" if missing else "admitted from the Studio SG") + \
                (f"; also open: {', '.join(map(str, extra))}" if extra else "")
            return Edge("ingress", "studio_sg", target, [f"SG rule: tcp {port_text}", detail], "missing" if missing else "ok")
        return Edge("ingress", "studio_sg", target, [f"SG rule: tcp {port_text}", "from the Studio SG"])

    for account in settings.emr_accounts:
        key = _ident(account.stack_id)
        sg_name = naming.emr_security_group_name(env, account, "primary")
        if account.account_id == studio.account_id:
            # Single-account layout: EMR runs in the Studio VPC; the local route, no peering, no role to assume.
            node = Node(f"{key}_sg", [f"EMR primary SG ({account.stack_id})", sg_name,
                                      "same account: local route, no peering"], "sg")
            studio_box.vpc.nodes.append(node)
            edges.append(ingress_edge(account, node.key, account.stack_id))
            continue
        network = account.network
        link = naming.emr_link_stack(account)
        emr_vpc = live.emr_vpcs.get(account.stack_id) if live else None
        vpc = Vpc(f"{key}_vpc", _vpc_title(naming.emr_vpc_name(env, account), network, emr_vpc),
                  [Node(f"{key}_subnets", _subnet_lines(network, account.region)),
                   Node(f"{key}_sg", ["EMR primary SG", sg_name], "sg")])
        role = Node(f"{key}_role", ["role Studio assumes", naming.discovery_role_name(env)], "role")
        accounts.append(AccountBox(key, [f"EMR account {account.account_id}", f"{account.region} · {account.stack_id}"],
                                   account.account_id, vpc, [role]))

        tag = naming.peering_tags(env, account)["Name"]
        connection = live.peerings.get(account.stack_id) if live else None
        pcx = connection["VpcPeeringConnectionId"] if connection else None
        live_state = None
        if live is not None:
            code = connection["Status"]["Code"] if connection else None
            live_state = "ok" if code == "active" else "pending" if code in PENDING_STATES else "missing"
        found, line = status(("peering", account.stack_id), naming.STUDIO_PEERING_STACK, live_state)
        if live is not None and marks is None:
            line = f"{pcx} · {connection['Status']['Code']}" if connection else "missing: no peering connection"
        edges.append(Edge("peering", studio_vpc_key, vpc.key, [f"peering {tag}", line], found))

        via = pcx or "the peering"
        for side, source_node, target_vpc, destination, owner in (
            ("to-emr", studio_subnets, vpc.key, network.cidr, naming.STUDIO_LINK_STACK),
            ("to-studio", f"{key}_subnets", studio_vpc_key, studio.network.cidr, link),
        ):
            fact = live.routes.get((side, account.stack_id)) if live else None
            found, line = status(("route", side, account.stack_id), owner, fact.status(pcx) if fact else None)
            if fact is not None and marks is None:
                line = fact.describe(pcx)
            edges.append(Edge("route", source_node, target_vpc, [f"route {destination} → {via}", line], found))

        edges.append(ingress_edge(account, f"{key}_sg", link))
        role_state = live.roles.get(account.stack_id) if live else None
        found, line = status(("assume", account.stack_id), link,
                             None if role_state is None else "ok" if role_state == "ok" else "missing")
        if role_state is not None and marks is None:
            line = "trusts the execution role" if role_state == "ok" else role_state
        arn = naming.discovery_role_arns(env)[account.account_id]
        edges.append(Edge("assume", "studio_role", role.key, ["sts:AssumeRole", arn if line == "planned" else line], found))

    ghosts = []
    if marks is not None:
        for peer, actions in sorted(marks.ghost_peerings.items()):
            node = Node(f"ghost_{_ident(peer)}", [f"account {peer}", f"not in envs/{settings.name}.yaml"], "ghost", _combined(actions))
            ghosts.append(node)
            found = _combined(actions)
            edges.append(Edge("peering", studio_vpc_key, node.key,
                              [f"peering {prefix}-to-{peer}", STATUS_TEXT[found]], found))
        for (side, cidr), actions in sorted(marks.ghost_routes.items()):
            node = Node(f"ghost_{_ident(cidr)}", [cidr, f"not in envs/{settings.name}.yaml"], "ghost", _combined(actions))
            if node.key not in {g.key for g in ghosts}:
                ghosts.append(node)
            found = _combined(actions)
            origin = studio_subnets if side == "studio" else f"{_ident(side)}_subnets"
            edges.append(Edge("route", origin, node.key, [f"route {cidr} → a peering", STATUS_TEXT[found]], found))
    return Topology(settings.name, source, accounts, edges, ghosts)


# --- Mermaid --------------------------------------------------------------------------------


def _mermaid_text(lines: list[str]) -> str:
    escaped = [line.replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")
               for line in lines if line]
    return '"' + "<br/>".join(escaped) + '"'


def _mermaid_node(node: Node) -> str:
    text = _mermaid_text(node.lines)
    if node.shape == "role":
        return f"{node.key}([{text}])"
    if node.shape == "sg":
        return f"{node.key}[/{text}/]"
    return f"{node.key}[{text}]"


def to_mermaid(topo: Topology) -> str:
    """A Mermaid flowchart: a subgraph per account, its VPC a subgraph inside it."""
    out = ["flowchart LR", f"  %% Topology of environment {topo.env_name}, drawn from {topo.source}"]
    for box in topo.accounts:
        out.append(f"  subgraph {box.key}[{_mermaid_text(box.title)}]")
        if box.vpc is not None:
            out.append(f"    subgraph {box.vpc.key}[{_mermaid_text(box.vpc.title)}]")
            out += [f"      {_mermaid_node(n)}" for n in box.vpc.nodes]
            out.append("    end")
        out += [f"    {_mermaid_node(n)}" for n in box.nodes]
        out.append("  end")
    out += [f"  {_mermaid_node(n)}" for n in topo.ghosts]
    styles = []
    for index, edge in enumerate(topo.edges):
        arrow = ARROWS[edge.kind][0]
        out.append(f"  {edge.source} {arrow}|{_mermaid_text(edge.lines)}| {edge.target}")
        if edge.status in MERMAID_LINK_STYLE:
            styles.append(f"  linkStyle {index} {MERMAID_LINK_STYLE[edge.status]}")
    out += styles
    out.append(f"  classDef removed stroke:{RED},stroke-width:2px,stroke-dasharray:6 4,color:{RED}")
    out.append(f"  classDef new stroke:{GREEN},stroke-width:2px")
    for node in topo.ghosts:
        out.append(f"  class {node.key} {'new' if node.status == 'new' else 'removed'}")
    return "\n".join(out) + "\n"


# --- Graphviz DOT and SVG -------------------------------------------------------------------


def _dot_text(lines: list[str]) -> str:
    return '"' + "\\n".join(line.replace("\\", "\\\\").replace('"', '\\"') for line in lines if line) + '"'


def _dot_attrs(attrs: dict[str, str]) -> str:
    return ", ".join(f"{k}={v if v.startswith(chr(34)) else chr(34) + v + chr(34)}" for k, v in attrs.items())


DOT_SHAPES = {
    "box": {"shape": "box", "style": "rounded"},
    "sg": {"shape": "box", "style": "rounded,filled", "fillcolor": "#fff8e1"},
    "role": {"shape": "box", "style": "rounded,filled", "fillcolor": "#e3f2fd"},
    "ghost": {"shape": "box", "style": "rounded,dashed", "color": RED, "fontcolor": RED},
}


def to_dot(topo: Topology) -> str:
    """The same picture in Graphviz DOT: a cluster per account, its VPC a cluster inside it.
    Edges to a VPC attach to its subnets node and are clipped at the VPC's border."""
    out = [
        "digraph topology {",
        f"  graph [rankdir=LR, compound=true, newrank=true, nodesep=0.4, ranksep=1.4, fontname=\"Helvetica\", fontsize=12, labelloc=t, "
        f"label={_dot_text([f'Topology of {topo.env_name}', f'drawn from {topo.source}'])}];",
        "  node [fontname=\"Helvetica\", fontsize=10];",
        "  edge [fontname=\"Helvetica\", fontsize=9];",
    ]
    for box in topo.accounts:
        out.append(f"  subgraph cluster_{box.key} {{")
        out.append(f"    label={_dot_text(box.title)}; style=\"rounded,bold\"; color=\"#455a64\";")
        if box.vpc is not None:
            out.append(f"    subgraph cluster_{box.vpc.key} {{")
            out.append(f"      label={_dot_text(box.vpc.title)}; style=\"rounded,dashed\"; color=\"#78909c\";")
            out += [f"      {n.key} [label={_dot_text(n.lines)}, {_dot_attrs(DOT_SHAPES[n.shape])}];" for n in box.vpc.nodes]
            out.append("    }")
        out += [f"    {n.key} [label={_dot_text(n.lines)}, {_dot_attrs(DOT_SHAPES[n.shape])}];" for n in box.nodes]
        out.append("  }")
    out += [f"  {n.key} [label={_dot_text(n.lines)}, {_dot_attrs(DOT_SHAPES[n.shape])}];" for n in topo.ghosts]
    for edge in topo.edges:
        attrs = dict(ARROWS[edge.kind][1])
        attrs.update(DOT_EDGE_STYLE.get(edge.status, {}))
        attrs["label"] = _dot_text(edge.lines)
        source, target = edge.source, edge.target
        vpc = topo.vpc(source)
        if vpc is not None:
            source, attrs["ltail"] = vpc.anchor, f"cluster_{vpc.key}"
        vpc = topo.vpc(target)
        if vpc is not None:
            target, attrs["lhead"] = vpc.anchor, f"cluster_{vpc.key}"
        out.append(f"  {source} -> {target} [{_dot_attrs(attrs)}];")
    out.append("}")
    return "\n".join(out) + "\n"


# Reads DOT on stdin, writes SVG on stdout; @viz-js/viz is Graphviz compiled to WebAssembly.
_RENDER_SCRIPT = """
const { instance } = require("@viz-js/viz");
let dot = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => { dot += chunk; });
process.stdin.on("end", async () => {
  const viz = await instance();
  const result = viz.render(dot, { format: "svg" });
  const errors = result.errors.filter((e) => e.level === "error");
  if (result.status !== "success" || errors.length) {
    process.stderr.write(result.errors.map((e) => `${e.level}: ${e.message}`).join("\\n") + "\\n");
    process.exit(1);
  }
  process.stdout.write(result.output);
});
"""


def _node() -> str:
    bundled = PROJECT_ROOT / "node_modules" / ".bin" / "node"
    found = str(bundled) if bundled.is_file() else shutil.which("node")
    if found is None:
        raise GraphError("no `node` found: run `bash scripts/setup` (it installs Node and @viz-js/viz)")
    return found


def render_svg(dot: str) -> str:
    """Render DOT to SVG with @viz-js/viz, under the project's Node."""
    if not (PROJECT_ROOT / "node_modules" / "@viz-js" / "viz").is_dir():
        raise GraphError("@viz-js/viz is not installed: run `bash scripts/setup` (npm ci installs package.json's dependencies)")
    try:
        done = subprocess.run([_node(), "-e", _RENDER_SCRIPT], input=dot, capture_output=True, text=True,
                              cwd=PROJECT_ROOT, timeout=SVG_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        raise GraphError(f"rendering the SVG took more than {SVG_TIMEOUT_SECONDS} s") from None
    if done.returncode != 0:
        raise GraphError(f"rendering the SVG with @viz-js/viz failed: {done.stderr.strip()}")
    return done.stdout


# --- entry points ---------------------------------------------------------------------------


def review_topology(env: EnvironmentFile, plans: list[StackPlan]) -> str:
    """The Mermaid picture the plan review embeds: from the model, changes marked from the plans."""
    return to_mermaid(topology(env, plans=plans))


@dataclass(frozen=True)
class Drawing:
    text: str
    source: str  # what it was drawn from, for a line on stderr


def draw(env: EnvironmentFile, fmt: str = "mermaid", live: LiveFacts | None = None, source: str | None = None) -> Drawing:
    if fmt not in FORMATS:
        raise GraphError(f"unknown format {fmt!r}: one of {', '.join(FORMATS)}")
    topo = topology(env, live=live, source=source)
    if fmt == "mermaid":
        return Drawing(to_mermaid(topo), topo.source)
    dot = to_dot(topo)
    return Drawing(dot if fmt == "dot" else render_svg(dot), topo.source)


def graph(env_name: str, fmt: str = "mermaid", use_live: bool = True, state_root: Path = emulator_control.STATE_ROOT,
          envs_dir: Path = ENVS_DIR) -> Drawing:
    """Draw ``env_name``: with the live APIs when it is deployed (target aws, or its emulator is
    running) and ``use_live``; from its environment file alone otherwise."""
    env = load_env(env_name, envs_dir)
    if fmt not in FORMATS:
        raise GraphError(f"unknown format {fmt!r}: one of {', '.join(FORMATS)}")
    if not use_live:
        return draw(env, fmt, source=f"envs/{env_name}.yaml (planned; --no-live)")
    running = None
    if env.environment.target is Target.emulator:
        running = emulator_control.current(state_root)
        if running is None:
            return draw(env, fmt, source=f"envs/{env_name}.yaml (planned; not deployed: the emulator is not running)")
    from orchestration.aws.accounts import Accounts

    return draw(env, fmt, live=read_live(env, Accounts(env, running)))
