"""Plan review for CI, built from `terraform show -json` (never from plan text): one numbered
section per stack, risk flags a reviewer must see first, policy findings, and a closing tally.

Exit codes: 0 no changes, 2 changes, 3 risky changes, 1 a stack failed to plan.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from modules.policies import web_identity_problems

from orchestration.terraform.tfjson import PlanDocument, ResourceChange

EXIT_NO_CHANGES = 0
EXIT_FAILED = 1
EXIT_CHANGES = 2
EXIT_RISKY = 3

PEERING_TYPES = {"aws_vpc_peering_connection", "aws_vpc_peering_connection_accepter", "aws_vpc_peering_connection_options"}
HOME_TYPES = {"aws_sagemaker_domain", "aws_sagemaker_user_profile"}
TOPOLOGY_LEGEND = ("Accounts, VPCs, peerings, routes, the SG rule admitting Studio and the roles Studio assumes. "
                   "Red dashed: to be removed · green: new · orange: to change · grey dotted: not planned yet.")


@dataclass(frozen=True)
class Risk:
    stack: str
    address: str
    reason: str


@dataclass(frozen=True)
class Finding:
    """A policy-check result: a failed check, or a suppressed one with its reason."""

    tool: str
    stack: str
    resource: str
    message: str
    suppressed: bool = False


@dataclass
class StackPlan:
    stack: str
    account_id: str
    region: str
    plan: PlanDocument | None = None  # terraform show -json
    waiting_on: list[str] = field(default_factory=list)  # upstream stacks never applied
    error: str | None = None

    def changes(self) -> list[tuple[str, ResourceChange]]:
        """(action, resource change) for every resource that changes."""
        found = []
        for change in self.plan.resource_changes if self.plan else ():
            action = _action(list(change.actions))
            if action not in ("no-op", "read"):
                found.append((action, change))
        return found

    def counts(self) -> dict[str, int]:
        counts = {"add": 0, "change": 0, "replace": 0, "destroy": 0}
        for action, _ in self.changes():
            counts[action] += 1
        return counts


def _action(actions: list[str]) -> str:
    if actions == ["create"]:
        return "add"
    if actions == ["update"]:
        return "change"
    if actions == ["delete"]:
        return "destroy"
    if sorted(actions) == ["create", "delete"]:
        return "replace"
    return actions[0] if actions else "no-op"


# --- risk rules ---------------------------------------------------------------------------


def risks(plan: StackPlan, state_bucket: str | None = None) -> list[Risk]:
    found = []
    for action, change in plan.changes():
        kind, address, before, after = change.type, change.address, change.before, change.after
        removing = action in ("replace", "destroy")
        if kind in HOME_TYPES and removing:
            found.append(Risk(plan.stack, address, f"{action} of a SageMaker {kind.split('_', 2)[2].replace('_', ' ')}: "
                                                    "users' home directories on EFS are lost"))
        if removing and (kind in PEERING_TYPES or (kind == "aws_route" and before.get("vpc_peering_connection_id"))):
            found.append(Risk(plan.stack, address, f"{action} of the peering connection or its routes: a Studio to EMR outage"))
        if kind == "aws_iam_role" and action in ("add", "change", "replace"):
            widened = _widened_principals(before.get("assume_role_policy"), after.get("assume_role_policy"))
            if widened:
                found.append(Risk(plan.stack, address, f"trust policy widened to {', '.join(widened)}"))
            for problem in _web_identity_problems(after.get("assume_role_policy")):
                found.append(Risk(plan.stack, address, f"web-identity trust wider than one service account: {problem}"))
        if kind == "aws_iam_openid_connect_provider" and removing:
            found.append(Risk(plan.stack, address, f"{action} of the cluster's OIDC provider: every IRSA role of the "
                                                    "cluster loses its credentials"))
        if kind in ("aws_iam_role_policy", "aws_iam_policy") and action in ("add", "change", "replace"):
            widened = _widened_permissions(before.get("policy"), after.get("policy"), existed=bool(before))
            if widened:
                found.append(Risk(plan.stack, address, f"permissions widened to *: {', '.join(widened)}"))
        if action in ("add", "change", "replace"):
            cidrs = _ingress_cidrs(kind, after)
            if cidrs:
                found.append(Risk(plan.stack, address, f"security-group ingress from {', '.join(cidrs)} instead of the Studio SG"))
        if removing and _is_state_backend(kind, before, state_bucket):
            found.append(Risk(plan.stack, address, f"{action} of a Terraform state backend resource"))
    return found


def _web_identity_problems(document: str | None) -> list[str]:
    """IAM-6: a trust that admits web-identity tokens must pin their audience and subject."""
    return [f"statement {s.get('Sid') or i}: {p}" for i, s in enumerate(_statements(document))
            for p in web_identity_problems(s)]


def _statements(document) -> list[dict]:
    if not document or not isinstance(document, str):
        return []
    try:
        statements = json.loads(document).get("Statement", [])
    except (json.JSONDecodeError, AttributeError):
        return []
    return statements if isinstance(statements, list) else [statements]


def _principals(statement: dict) -> list[str]:
    principal = statement.get("Principal")
    if principal == "*":
        return ["*"]
    if not isinstance(principal, dict):
        return []
    found = []
    for kind, values in principal.items():
        for value in values if isinstance(values, list) else [values]:
            found.append(f"{kind}:{value}")
    return found


def _widened_principals(before: str | None, after: str | None) -> list[str]:
    old = {p for s in _statements(before) if s.get("Effect") == "Allow" for p in _principals(s)}
    new = {p for s in _statements(after) if s.get("Effect") == "Allow" for p in _principals(s)}
    added = sorted(new - old)
    if not old:  # a new role: only a principal anyone would call wide is a risk
        return [p for p in added if p.endswith("*") or p.endswith(":root")]
    return added


def _star_grants(document: str | None) -> set[str]:
    grants = set()
    for statement in _statements(document):
        if statement.get("Effect") != "Allow":
            continue
        actions = statement.get("Action", [])
        resources = statement.get("Resource", [])
        actions = actions if isinstance(actions, list) else [actions]
        resources = resources if isinstance(resources, list) else [resources]
        for action in actions:
            if action == "*" or action.endswith(":*"):
                grants.add(f"Action {action}")
            elif "*" in resources:
                grants.add(f"{action} on *")
    return grants


def _widened_permissions(before: str | None, after: str | None, existed: bool) -> list[str]:
    added = _star_grants(after) - _star_grants(before)
    if not existed:  # a new policy: Resource "*" is how list and search actions are granted
        return sorted(g for g in added if g.startswith("Action "))
    return sorted(added)


def _ingress_cidrs(kind: str, after: dict) -> list[str]:
    if kind == "aws_vpc_security_group_ingress_rule":
        return [c for c in (after.get("cidr_ipv4"), after.get("cidr_ipv6")) if c]
    if kind == "aws_security_group_rule" and after.get("type") == "ingress":
        return list(after.get("cidr_blocks") or []) + list(after.get("ipv6_cidr_blocks") or [])
    if kind == "aws_security_group":
        return [c for rule in after.get("ingress") or [] for c in (rule.get("cidr_blocks") or []) + (rule.get("ipv6_cidr_blocks") or [])]
    return []


def _is_state_backend(kind: str, before: dict, state_bucket: str | None) -> bool:
    if kind == "aws_s3_bucket":
        name = before.get("bucket") or ""
        return name == state_bucket or "tfstate" in name
    if kind == "aws_dynamodb_table":
        return "lock" in (before.get("name") or "") or "tfstate" in (before.get("name") or "")
    return False


# --- rendering ----------------------------------------------------------------------------


def risky_section(found: list[Risk]) -> list[str]:
    """The review's risky-changes section, as markdown lines; none without risks."""
    if not found:
        return []
    return ["### ⚠️ Risky changes", ""] + [f"- **{r.stack}** `{r.address}`: {r.reason}" for r in found] + [""]


@dataclass
class Review:
    env_name: str
    plans: list[StackPlan]
    risks: list[Risk]
    findings: list[Finding]
    # What exists outside Terraform (orchestration/aws/inventory.py): made on the environment's behalf,
    # retained, orphans; None when not read (no section), with a line saying why when it failed.
    outside: list | None = None
    outside_note: str = ""
    # The topology as a Mermaid flowchart, changed edges marked (orchestration/review/graph.py:
    # review_topology); None: no section.
    topology: str | None = None

    @property
    def failed(self) -> list[StackPlan]:
        return [p for p in self.plans if p.error]

    @property
    def with_changes(self) -> list[StackPlan]:
        return [p for p in self.plans if p.changes()]

    @property
    def unsuppressed_findings(self) -> list[Finding]:
        return [f for f in self.findings if not f.suppressed]

    @property
    def exit_code(self) -> int:
        if self.failed or self.unsuppressed_findings:
            return EXIT_FAILED
        if self.risks:
            return EXIT_RISKY
        return EXIT_CHANGES if self.with_changes else EXIT_NO_CHANGES

    def tally(self) -> str:
        suppressed = len(self.findings) - len(self.unsuppressed_findings)
        return (f"{len(self.plans)} stacks, {len(self.with_changes)} with changes, {len(self.risks)} risky changes, "
                f"{len(self.failed)} failed, {len(self.unsuppressed_findings)} policy findings ({suppressed} suppressed)")

    def to_json(self) -> str:
        return json.dumps(
            {
                "environment": self.env_name,
                "exit_code": self.exit_code,
                "stacks": [{"stack": p.stack, "account_id": p.account_id, "region": p.region, "counts": p.counts(),
                            "waiting_on": p.waiting_on, "on_mock_inputs": bool(p.waiting_on) and p.plan is not None,
                            "error": p.error,
                            "changes": [{"action": a, "address": c.address} for a, c in p.changes()]}
                           for p in self.plans],
                "risks": [r.__dict__ for r in self.risks],
                "findings": [f.__dict__ for f in self.findings],
                "outside_terraform": None if self.outside is None else [item.__dict__ for item in self.outside],
            },
            indent=2,
        )

    def to_markdown(self) -> str:
        lines = [f"## Plan review: `{self.env_name}`", ""]
        lines += risky_section(self.risks)
        if self.topology:
            lines += ["### Topology", "", TOPOLOGY_LEGEND, "", "```mermaid", self.topology.rstrip("\n"), "```", ""]
        for number, plan in enumerate(self.plans, 1):
            lines.append(f"### {number}. `{plan.stack}` (account {plan.account_id}, {plan.region})")
            lines.append("")
            if plan.error:
                lines += [f"**Plan failed:** {plan.error}", ""]
                continue
            if plan.waiting_on and plan.plan is None:
                lines += [f"Not planned: waits for {', '.join(f'`{s}`' for s in plan.waiting_on)} to be applied.", ""]
                continue
            if plan.waiting_on:
                lines += [f"**Planned on mock inputs:** {', '.join(f'`{s}`' for s in plan.waiting_on)} "
                          f"{'was' if len(plan.waiting_on) == 1 else 'were'} never applied, so the values this stack reads "
                          "from them are placeholders; its changes, risk flags and policy checks are its real "
                          "configuration's.", ""]
            counts = plan.counts()
            lines.append(" · ".join(f"{counts[k]} to {k}" for k in ("add", "change", "replace", "destroy")))
            lines.append("")
            changes = plan.changes()
            if changes:
                lines += ["<details><summary>Resource changes</summary>", "", "```diff"]
                symbols = {"add": "+", "change": "!", "replace": "-/+", "destroy": "-"}
                lines += [f"{symbols[a]} {c.address}" for a, c in sorted(changes, key=lambda x: x[1].address)]
                lines += ["```", "", "</details>", ""]
            else:
                lines += ["No changes.", ""]
        if self.findings:
            lines += ["### Policy checks", ""]
            for f in self.findings:
                state = "suppressed" if f.suppressed else "**failed**"
                lines.append(f"- {f.tool} {state}: `{f.stack}` `{f.resource}`: {f.message}")
            lines.append("")
        else:
            lines += ["### Policy checks", "", "All passed.", ""]
        lines += self._outside_markdown()
        lines.append(self.tally())
        return "\n".join(lines) + "\n"

    def _outside_markdown(self) -> list[str]:
        if self.outside is None and not self.outside_note:
            return []
        lines = ["### Outside Terraform", ""]
        if self.outside_note:
            return lines + [self.outside_note, ""]
        if not self.outside:
            return lines + ["Nothing: every resource tagged for the environment is in a state, and AWS and users made "
                            "nothing on its behalf.", ""]
        orphans = sum(1 for i in self.outside if i.category == "orphan")
        if orphans:
            lines += [f"**{orphans} orphan(s)**: tagged for the environment, in no state (`python main.py inventory "
                      f"--env {self.env_name}` says how to remove each).", ""]
        lines += [f"- {i.category}: {i.kind} `{i.id}` in account {i.account_id} ({i.owner}){': ' + i.detail if i.detail else ''}"
                  for i in self.outside]
        return lines + [""]
