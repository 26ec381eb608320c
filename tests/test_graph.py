"""`graph`: the topology drawn from the environment model (Mermaid and SVG), live facts drawn as
they are, and the plan review's picture with the edges its plans change marked. No emulator."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner

from config import ENVS_DIR, load_env, yamlio
from config.model import EnvironmentFile
from orchestration.review import graph
from orchestration.review.report import Review, StackPlan, risks
from orchestration.terraform.tfjson import PlanDocument
from stacks import naming

GOLDEN = Path(__file__).parent / "golden"
SVG = "{http://www.w3.org/2000/svg}"


def recorded(name: str) -> PlanDocument:
    return PlanDocument.parse(json.loads((GOLDEN / "plans" / f"{name}.json").read_text()))


def cli(*args: str):
    from main import app

    return CliRunner().invoke(app, ["graph", *args])


def expected_facts(env: EnvironmentFile) -> list[str]:
    """What a drawing of ``env`` must show: every account, VPC CIDR and private subnet, every
    peering, the ports, the execution role and every role it assumes."""
    settings = env.environment
    facts = [settings.studio_account.account_id, settings.studio_account.network.cidr,
             *settings.studio_account.network.private_subnet_cidrs, naming.execution_role_name(env)]
    for account in env.peered_emr_accounts:
        facts += [account.account_id, account.network.cidr, *account.network.private_subnet_cidrs,
                  naming.peering_tags(env, account)["Name"], naming.emr_security_group_name(env, account, "primary")]
    facts += list(naming.discovery_role_arns(env).values())
    facts.append("tcp " + ", ".join(str(p) for p in env.promoted.studio_to_emr_ports))
    return facts


def edges(mermaid: str) -> list[str]:
    """The link statements, in the order linkStyle numbers them."""
    return [line for line in mermaid.splitlines() if re.search(r" (<-->|-->|-\.->)\|", line)]


def link_style(mermaid: str, index: int) -> str | None:
    found = re.search(rf"^  linkStyle {index} (.+)$", mermaid, re.M)
    return found.group(1) if found else None


def edge_index(mermaid: str, text: str) -> int:
    matches = [i for i, line in enumerate(edges(mermaid)) if text in line]
    assert len(matches) == 1, f"{text!r} is on {len(matches)} edges"
    return matches[0]


# --- from the model -------------------------------------------------------------------------


def test_prod_in_mermaid_shows_every_account_vpc_peering_port_and_role():
    result = cli("--env", "prod", "--no-live")
    assert result.exit_code == 0, result.output
    text = result.stdout
    env = load_env("prod")
    assert text.startswith("flowchart LR\n")
    for fact in expected_facts(env):
        assert fact in text, fact
    # A subgraph per account, each holding its VPC; a peering, two routes, the SG rule and the
    # assumed role per EMR account.
    for account_id in ("100000000003", "200000000003", "200000000004"):
        assert re.search(rf'^  subgraph \w+\["[^"]*account {account_id}', text, re.M), account_id
    assert len(re.findall(r"^    subgraph \w+_vpc\[", text, re.M)) == 3
    assert len(edges(text)) == 2 * 5
    assert "route 10.130.0.0/16" in text and "route 10.140.0.0/16" in text
    assert text.count("route 10.30.0.0/16") == 2, "each EMR account routes the Studio CIDR back"
    assert text.count("planned") >= 2 * 3, "without live APIs, peerings and routes are planned"
    assert "drawn from envs/prod.yaml (planned; --no-live)" in result.stderr


def test_prod_in_svg_is_well_formed_and_labels_every_account_and_peering(tmp_path):
    out = tmp_path / "prod.svg"
    result = cli("--env", "prod", "--no-live", "--format", "svg", "-o", str(out))
    assert result.exit_code == 0, result.output
    root = ET.fromstring(out.read_text())
    assert root.tag == f"{SVG}svg"
    texts = [t.text or "" for t in root.iter(f"{SVG}text")]
    env = load_env("prod")
    for fact in expected_facts(env):
        assert any(fact in t for t in texts), fact
    for account in env.peered_emr_accounts:
        label = f"peering {naming.peering_tags(env, account)['Name']}"
        assert label in texts, label


def test_a_mermaid_file_named_md_gets_a_fenced_block(tmp_path):
    out = tmp_path / "topology.md"
    assert cli("--env", "dev", "--no-live", "-o", str(out)).exit_code == 0
    text = out.read_text()
    assert text.startswith("```mermaid\nflowchart LR\n") and text.endswith("```\n")


def test_dot_is_the_svg_source_and_an_unknown_format_is_refused():
    result = cli("--env", "dev", "--no-live", "--format", "dot")
    assert result.exit_code == 0 and result.stdout.startswith("digraph topology {")
    assert "compound=true" in result.stdout and "cluster_emr_account_vpc" in result.stdout
    refused = cli("--env", "dev", "--format", "png")
    assert refused.exit_code == 2 and "one of mermaid, svg, dot" in refused.stderr


def test_an_emulator_environment_that_is_not_running_is_drawn_from_its_file(tmp_path):
    drawing = graph.graph("local", state_root=tmp_path)  # no emulator recorded there
    assert "not deployed: the emulator is not running" in drawing.source
    assert "peering studio-emr-local-to-222222222222<br/>planned" in drawing.text


def single_account(name: str = "prod") -> EnvironmentFile:
    """``name`` with its first EMR account made the Studio account (no peering for it)."""
    data = yamlio.load(ENVS_DIR / f"{name}.yaml")
    emr = data["environment"]["emr_accounts"][0]
    emr["account_id"] = data["environment"]["studio_account"]["account_id"]
    del emr["network"]
    return EnvironmentFile.model_validate(data)


def test_the_single_account_layout_has_no_peering_routes_or_assumed_role():
    env = single_account("local")
    assert env.is_single_account
    text = graph.to_mermaid(graph.topology(env))
    assert "<-->" not in text and "peering studio-emr" not in text and "route " not in text and "sts:AssumeRole" not in text
    studio_vpc = text[text.index("subgraph studio_vpc"):text.index("    end")]
    assert "EMR primary SG (emr-account)" in studio_vpc, "EMR sits in the Studio VPC"
    assert "same account: local route, no peering" in studio_vpc
    assert [line.strip() for line in edges(text)] == ['studio_sg -->|"SG rule: tcp 8998<br/>from the Studio SG"| emr_account_sg']
    assert "subgraph emr_account[" not in text, "no account of its own"


def test_a_hub_with_one_local_and_one_peered_emr_account():
    env = single_account("prod")
    text = graph.to_mermaid(graph.topology(env))
    assert text.count("<-->") == 1 and "studio-emr-prod-to-200000000004" in text
    assert "studio-emr-prod-to-100000000003" not in text
    assert "arn:aws:iam::200000000004:role/studio-emr-prod-emr-discovery" in text
    assert "arn:aws:iam::100000000003:role/studio-emr-prod-emr-discovery" not in text


# --- live facts -----------------------------------------------------------------------------


def test_live_facts_name_the_connection_its_state_and_what_is_missing():
    env = load_env("local")
    live = graph.LiveFacts(
        "the emulator at http://127.0.0.1:1",
        peerings={"emr-account": {"VpcPeeringConnectionId": "pcx-1", "Status": {"Code": "pending-acceptance"}}},
        routes={("to-emr", "emr-account"): graph.RouteFact(("rtb-s",), {"rtb-s": ("pcx-1", "active")}),
                ("to-studio", "emr-account"): graph.RouteFact(("rtb-e",), {})},
        ingress={"emr-account": [8998, 22]},
        roles={"emr-account": "missing"},
        studio_vpc="vpc-s",
        emr_vpcs={"emr-account": "vpc-e"},
    )
    text = graph.to_mermaid(graph.topology(env, live=live))
    assert "pcx-1 · pending-acceptance" in text and "10.0.0.0/16 · vpc-s" in text
    assert link_style(text, edge_index(text, "peering studio-emr-local-to-222222222222")).endswith("stroke-dasharray:6 4")
    assert "active in 1 of 1 route tables" in text
    back = edge_index(text, "route 10.0.0.0/16")
    assert "missing in rtb-e" in edges(text)[back] and link_style(text, back) is not None
    assert "admitted from the Studio SG; also open: 22" in text
    assert "sts:AssumeRole<br/>missing" in text


# --- the plan review ------------------------------------------------------------------------


def dev_review(plans: list[StackPlan]) -> Review:
    env = load_env("dev")
    return Review("dev", plans, [r for p in plans for r in risks(p)], [], topology=graph.review_topology(env, plans))


def test_the_review_of_dev_embeds_the_topology_as_mermaid():
    plans = [
        StackPlan("studio-account", "100000000001", "eu-west-1", recorded("dev-studio-account")),
        StackPlan("emr-account", "200000000001", "eu-west-1", recorded("dev-emr-account")),
        StackPlan("studio-account-peering", "100000000001", "eu-west-1", waiting_on=["emr-account", "studio-account"]),
    ]
    markdown = dev_review(plans).to_markdown()
    section = markdown[markdown.index("### Topology"):markdown.index("### 1.")]
    block = re.search(r"```mermaid\n(.*?)```", section, re.S)
    assert block, "a mermaid block in the Topology section"
    for fact in expected_facts(load_env("dev")):
        assert fact in block.group(1), fact
    assert "not planned yet: studio-account-peering waits" in block.group(1)
    assert markdown.rstrip().splitlines()[-1].startswith("3 stacks, 2 with changes")
    assert "### Topology" not in Review("dev", plans, [], []).to_markdown(), "no topology, no section"


def test_a_route_the_plan_destroys_is_marked_to_be_removed():
    review = dev_review([StackPlan("studio-account", "100000000001", "eu-west-1", recorded("risky-studio-account"))])
    text = review.topology
    index = edge_index(text, "route 10.110.0.0/16")
    assert "to be removed" in edges(text)[index]
    assert link_style(text, index) == "stroke:#d32f2f,stroke-width:3px,stroke-dasharray:6 4"
    others = [i for i in range(len(edges(text))) if i != index]
    assert all(link_style(text, i) is None for i in others), "only the removed route stands out"
    assert "### Topology" in review.to_markdown()


def change(kind: str, name: str, actions: list[str], before: dict | None = None, after: dict | None = None) -> dict:
    return {"address": f"{kind}.{name}", "type": kind, "name": name,
            "change": {"actions": actions, "before": before, "after": after}}


def test_a_peering_the_plan_removes_stands_out_and_new_edges_are_marked_new():
    env = load_env("dev")
    tag = naming.peering_tags(env, env.environment.emr_accounts[0])
    plans = [
        StackPlan("studio-account-peering", "100000000001", "eu-west-1", PlanDocument.parse({"resource_changes": [
            change("aws_vpc_peering_connection", "peering-emr-account_connection_C4942265", ["delete"],
                   before={"peer_owner_id": "200000000001", "tags": tag})]})),
        StackPlan("emr-account-link", "200000000001", "eu-west-1", PlanDocument.parse({"resource_changes": [
            change("aws_route", "routes-to-studio_route-private_3B23F568", ["create"],
                   after={"destination_cidr_block": "10.10.0.0/16"}),
            change("aws_vpc_security_group_ingress_rule", "studio-ingress_tcp-10000_1", ["create"], after={"from_port": 10000}),
            change("aws_iam_role", "emr-discovery-role_30D9F4DC", ["create"], after={"name": "studio-emr-dev-emr-discovery"})]})),
        StackPlan("studio-account-link", "100000000001", "eu-west-1", waiting_on=["studio-account-peering"]),
    ]
    review = dev_review(plans)
    text = review.topology
    peering = edge_index(text, "peering studio-emr-dev-to-200000000001")
    assert "to be removed" in edges(text)[peering]
    assert "stroke:#d32f2f" in link_style(text, peering) and "dasharray" in link_style(text, peering)
    back = edge_index(text, "route 10.10.0.0/16")
    assert edges(text)[back].endswith('→ the peering<br/>new"| studio_vpc') and "stroke:#2e7d32" in link_style(text, back)
    assert "SG rule: tcp 8998, 10000 new" in text, "the port the plan adds is named"
    assert "stroke:#2e7d32" in link_style(text, edge_index(text, "sts:AssumeRole"))
    to_emr = edge_index(text, "route 10.110.0.0/16")
    assert "not planned yet: studio-account-link waits" in edges(text)[to_emr]
    assert any("peering connection or its routes" in r.reason for r in review.risks)


def test_a_replaced_accepter_and_a_peering_to_an_account_no_longer_configured():
    plans = [
        StackPlan("emr-account-link", "200000000001", "eu-west-1", PlanDocument.parse({"resource_changes": [
            change("aws_vpc_peering_connection_accepter", "peering-accept_accepter_943D7D6A", ["delete", "create"],
                   before={"tags": {"Name": "studio-emr-dev-to-200000000001"}}, after={})]})),
        StackPlan("studio-account-peering", "100000000001", "eu-west-1", PlanDocument.parse({"resource_changes": [
            change("aws_vpc_peering_connection", "peering-emr-account-old_connection_1", ["delete"],
                   before={"peer_owner_id": "200000000009", "tags": {"Name": "studio-emr-dev-to-200000000009"}})]})),
        StackPlan("studio-account-link", "100000000001", "eu-west-1", PlanDocument.parse({"resource_changes": [
            change("aws_route", "routes-to-emr-account-old_route-private_1", ["delete"],
                   before={"destination_cidr_block": "10.190.0.0/16", "vpc_peering_connection_id": "pcx-9"})]})),
    ]
    text = dev_review(plans).topology
    assert "peering studio-emr-dev-to-200000000001<br/>to be removed and re-created" in text
    ghost = edge_index(text, "peering studio-emr-dev-to-200000000009")
    assert "to be removed" in edges(text)[ghost] and "stroke:#d32f2f" in link_style(text, ghost)
    assert "account 200000000009<br/>not in envs/dev.yaml" in text
    route = edge_index(text, "route 10.190.0.0/16")
    assert "to be removed" in edges(text)[route] and "stroke:#d32f2f" in link_style(text, route)
    assert re.search(r"^  class ghost_200000000009 removed$", text, re.M)


@pytest.mark.parametrize("env_name", ["local", "dev", "staging", "prod"])
def test_every_environment_draws_in_both_languages(env_name):
    topo = graph.topology(load_env(env_name))
    mermaid, dot = graph.to_mermaid(topo), graph.to_dot(topo)
    assert mermaid.count("subgraph ") == mermaid.count("\n    end") + mermaid.count("\n  end")
    assert dot.count("{") == dot.count("}")
    ids = set(re.findall(r"^\s+(?:subgraph )?(\w+)[\[(]", mermaid, re.M))
    for line in edges(mermaid):
        source, target = re.match(r"\s+(\w+) .*\| (\w+)$", line).groups()
        assert source in ids and target in ids, line
