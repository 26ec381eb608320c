"""Construct tests on the synthesized Terraform JSON: what each requirement says must hold."""

from __future__ import annotations

import base64
import json

import pytest

from config import ENVS_DIR, yamlio
from config.loader import parse
from modules.discovery import DISCOVERY_FILE
from orchestration.terraform.synth import Workspace, synth_env


def resources(stack_json: dict, kind: str) -> list[dict]:
    return list(stack_json.get("resource", {}).get(kind, {}).values())


def only(stack_json: dict, kind: str) -> dict:
    found = resources(stack_json, kind)
    assert len(found) == 1, f"expected one {kind}, found {len(found)}"
    return found[0]


def remote_output_name(reference: str) -> str:
    return reference.split(".outputs.")[-1].rstrip("}")


@pytest.fixture(scope="module")
def local(synthesized):
    return synthesized("local")


def test_emr_role_has_exactly_the_five_iam2_statements(local):
    link = local.stack_json("emr-account-link")
    policies = [p for p in resources(link, "aws_iam_role_policy") if p["name"] == "emr-discovery"]
    assert len(policies) == 1
    statements = json.loads(policies[0]["policy"])["Statement"]
    assert [s["Sid"] for s in statements] == [
        "AllowPresignedUrl",
        "AllowClusterDetailsDiscovery",
        "AllowClusterDiscovery",
        "AllowRoleAssumptionForCrossAccountDiscovery",
        "AllowEMRTemplateDiscovery",
    ]
    by_sid = {s["Sid"]: s for s in statements}
    cluster_arn = ["arn:aws:elasticmapreduce:us-east-1:222222222222:cluster/*"]
    assert by_sid["AllowPresignedUrl"]["Resource"] == cluster_arn
    assert set(by_sid["AllowPresignedUrl"]["Action"]) == {
        "elasticmapreduce:CreatePersistentAppUI",
        "elasticmapreduce:DescribePersistentAppUI",
        "elasticmapreduce:GetPersistentAppUIPresignedURL",
        "elasticmapreduce:GetOnClusterAppUIPresignedURL",
    }
    assert by_sid["AllowClusterDetailsDiscovery"]["Resource"] == cluster_arn
    # What the real connect path (sagemaker-studio-sparkmagic-lib's EMRCluster) calls (IAM-2).
    assert set(by_sid["AllowClusterDetailsDiscovery"]["Action"]) == {
        "elasticmapreduce:DescribeCluster",
        "elasticmapreduce:ListInstances",
        "elasticmapreduce:ListInstanceGroups",
        "elasticmapreduce:DescribeSecurityConfiguration",
    }
    assert by_sid["AllowClusterDiscovery"] == {
        "Sid": "AllowClusterDiscovery", "Effect": "Allow",
        "Action": ["elasticmapreduce:ListClusters"], "Resource": "*",
    }
    assert by_sid["AllowEMRTemplateDiscovery"]["Action"] == ["servicecatalog:SearchProducts"]
    assert by_sid["AllowRoleAssumptionForCrossAccountDiscovery"]["Action"] == "sts:AssumeRole"


def test_emr_role_trust_is_narrowed_to_the_studio_execution_role(local):
    link = local.stack_json("emr-account-link")
    role = only(link, "aws_iam_role")
    trust = json.loads(role["assume_role_policy"])
    assert len(trust["Statement"]) == 1
    principal = trust["Statement"][0]["Principal"]
    assert list(principal) == ["AWS"] and len(principal["AWS"]) == 1
    reference = principal["AWS"][0]
    assert ":root" not in reference
    # The principal is the Studio stack's execution role, read through its state by its name.
    assert reference == "${data.terraform_remote_state.studio-account.outputs.studio_execution_role_arn}"
    assert remote_output_name(reference) == "studio_execution_role_arn"


def test_studio_execution_role_may_assume_the_emr_role(local):
    studio = local.stack_json("studio-account")
    assume = [p for p in resources(studio, "aws_iam_role_policy") if p["name"] == "assume-emr-account-roles"]
    statement = json.loads(assume[0]["policy"])["Statement"][0]
    assert statement["Action"] == "sts:AssumeRole"
    assert statement["Resource"] == ["arn:aws:iam::222222222222:role/studio-emr-local-emr-discovery"]
    execution = [r for r in resources(studio, "aws_iam_role") if r["name"] == "studio-emr-local-sagemaker-execution"]
    trust = json.loads(execution[0]["assume_role_policy"])
    assert trust["Statement"][0]["Principal"] == {"Service": "sagemaker.amazonaws.com"}


def test_emr_ingress_only_from_the_studio_sg_on_the_configured_ports(synthesized):
    dev = synthesized("dev")  # dev opens Livy 8998 and Hive 10000
    link = dev.stack_json("emr-account-link")
    rules = resources(link, "aws_vpc_security_group_ingress_rule")
    assert sorted(r["from_port"] for r in rules) == [8998, 10000]
    for rule in rules:
        assert rule["from_port"] == rule["to_port"] and rule["ip_protocol"] == "tcp"
        assert "cidr_ipv4" not in rule and "cidr_ipv6" not in rule
        source = rule["referenced_security_group_id"]
        assert source == "100000000001/${data.terraform_remote_state.studio-account.outputs.studio_security_group_id}"
        # Referencing a peer SG needs the peering active: the rule waits for the accept.
        assert any("aws_vpc_peering_connection_accepter" in d for d in rule["depends_on"])
    # No other stack of the EMR account opens the primary SG.
    opened = [r["security_group_id"] for r in resources(dev.stack_json("emr-account"), "aws_vpc_security_group_ingress_rule")]
    assert opened and not any("emr-primary-security-group" in group for group in opened)


def test_emr_vpc_lets_a_cluster_start_in_its_private_subnets(synthesized):
    """NET-7: DNS on, an S3 gateway endpoint, interface endpoints for the APIs the nodes call
    (admitting HTTPS from the nodes' groups only), and the groups the template pins."""
    emr = synthesized("dev").stack_json("emr-account")
    vpc = only(emr, "aws_vpc")
    assert vpc["enable_dns_support"] and vpc["enable_dns_hostnames"]
    endpoints = {e["service_name"].rsplit(".", 1)[-1]: e for e in resources(emr, "aws_vpc_endpoint")}
    assert set(endpoints) == {"s3", "elasticmapreduce", "sts", "logs"}
    assert endpoints["s3"]["vpc_endpoint_type"] == "Gateway" and endpoints["s3"]["route_table_ids"]
    assert all(e["private_dns_enabled"] for k, e in endpoints.items() if k != "s3")
    assert resources(emr, "aws_nat_gateway") == []
    https = resources(emr, "aws_vpc_security_group_ingress_rule")
    assert {r["from_port"] for r in https} == {443} and all("cidr_ipv4" not in r for r in https)
    assert sorted("managed-primary" in r["referenced_security_group_id"] for r in https) == [False, True]
    names = {g["name"] for g in resources(emr, "aws_security_group")}
    assert {"studio-emr-dev-emr-managed-primary", "studio-emr-dev-emr-managed-core",
            "studio-emr-dev-emr-service-access"} <= names
    template = json.loads(next(o["content"] for o in resources(emr, "aws_s3_object") if o["key"].startswith("templates/")))
    instances = template["Resources"]["Cluster"]["Properties"]["Instances"]
    assert instances["ServiceAccessSecurityGroup"] == {"Ref": "ServiceAccessSecurityGroupId"}
    assert "service-access" in template["Parameters"]["ServiceAccessSecurityGroupId"]["Default"]


def test_emr_vpc_with_nat_egress_has_a_nat_and_no_interface_endpoints(tmp_path):
    data = yamlio.load(ENVS_DIR / "dev.yaml")
    network = data["environment"]["emr_accounts"][0]["network"]
    network.update(egress="nat", public_subnet_cidr="10.110.0.0/24")
    emr = synth_env(parse(data, "dev.yaml"), Workspace(tmp_path / "cdktf.out", tmp_path / "state")).stack_json("emr-account")
    assert len(resources(emr, "aws_nat_gateway")) == 1
    assert [e["vpc_endpoint_type"] for e in resources(emr, "aws_vpc_endpoint")] == ["Gateway"]


def test_studio_sg_allows_itself_and_all_outbound(local):
    studio = local.stack_json("studio-account")
    ingress = resources(studio, "aws_vpc_security_group_ingress_rule")
    assert len(ingress) == 1 and ingress[0]["ip_protocol"] == "-1"
    assert ingress[0]["referenced_security_group_id"] == ingress[0]["security_group_id"]
    egress = resources(studio, "aws_vpc_security_group_egress_rule")
    assert [(e["ip_protocol"], e["cidr_ipv4"]) for e in egress] == [("-1", "0.0.0.0/0")]


def test_domain_is_vpc_only_in_the_private_subnets(local):
    studio = local.stack_json("studio-account")
    domain = only(studio, "aws_sagemaker_domain")
    assert domain["app_network_access_type"] == "VpcOnly"
    assert domain["auth_mode"] == "IAM"
    subnets = {k: v for k, v in studio["resource"]["aws_subnet"].items()}
    private = {f"${{aws_subnet.{k}.id}}" for k, v in subnets.items() if v["cidr_block"] in ("10.0.20.0/24", "10.0.21.0/24")}
    assert set(domain["subnet_ids"]) == private and len(private) == 2
    azs = {subnets[k]["availability_zone"] for k, v in subnets.items() if v["cidr_block"] in ("10.0.20.0/24", "10.0.21.0/24")}
    assert azs == {"us-east-1a", "us-east-1b"}
    studio_sg = [k for k, v in studio["resource"]["aws_security_group"].items() if v["name"] == "studio-emr-local-studio"]
    assert domain["default_user_settings"]["security_groups"] == [f"${{aws_security_group.{studio_sg[0]}.id}}"]
    assert domain["retention_policy"] == {"home_efs_file_system": "Delete"}


def test_lifecycle_script_writes_exactly_the_sm3_file(local):
    studio = local.stack_json("studio-account")
    lcc = only(studio, "aws_sagemaker_studio_lifecycle_config")
    assert lcc["studio_lifecycle_config_app_type"] == "JupyterServer"
    script = base64.b64decode(lcc["studio_lifecycle_config_content"]).decode()
    assert script.startswith("#!/bin/bash\n")
    assert f'FILE_DIRECTORY="{DISCOVERY_FILE.rsplit("/", 1)[0]}"' in script
    assert 'FILE_NAME="emr-discovery-iam-role-arns-DO_NOT_DELETE.json"' in script
    body = script.split('cat > "$FILE" <<- "EOF"\n')[1].split("\nEOF")[0]
    assert json.loads(body) == {"222222222222": "arn:aws:iam::222222222222:role/studio-emr-local-emr-discovery"}


def test_one_list_of_role_arns_feeds_classic_and_jupyterlab(synthesized):
    prod = synthesized("prod")
    studio = prod.stack_json("studio-account")
    domain = only(studio, "aws_sagemaker_domain")
    lab_arns = domain["default_user_settings"]["jupyter_lab_app_settings"]["emr_settings"]["assumable_role_arns"]
    script = base64.b64decode(only(studio, "aws_sagemaker_studio_lifecycle_config")["studio_lifecycle_config_content"]).decode()
    classic = json.loads(script.split('<<- "EOF"\n')[1].split("\nEOF")[0])
    assert sorted(classic.values()) == sorted(lab_arns)
    assert sorted(classic) == ["200000000003", "200000000004"]


def test_runtime_roles_are_offered_to_jupyterlab_and_assumable_by_the_instance_role(local):
    """local turns on promoted.emr_runtime_roles: one runtime role per EMR account, listed in
    the domain's JupyterLab EmrSettings.ExecutionRoleArns beside the assumable roles."""
    domain = only(local.stack_json("studio-account"), "aws_sagemaker_domain")
    settings = domain["default_user_settings"]["jupyter_lab_app_settings"]["emr_settings"]
    assert settings["execution_role_arns"] == ["arn:aws:iam::222222222222:role/studio-emr-local-emr-runtime"]
    assert settings["assumable_role_arns"] == ["arn:aws:iam::222222222222:role/studio-emr-local-emr-discovery"]
    roles = {r["name"]: r for r in resources(local.stack_json("emr-account"), "aws_iam_role")}
    trust = json.loads(roles["studio-emr-local-emr-runtime"]["assume_role_policy"])["Statement"]
    assert [s["Action"] for s in trust] == [["sts:AssumeRole", "sts:TagSession"]]
    assert "emr-ec2-default-role" in trust[0]["Principal"]["AWS"]


def test_every_stack_has_one_provider_for_its_own_account(synthesized):
    prod = synthesized("prod")
    accounts = {
        "studio-account": "100000000003", "studio-account-peering": "100000000003", "studio-account-link": "100000000003",
        "emr-account": "200000000003", "emr-account-link": "200000000003",
        "emr-account-analytics": "200000000004", "emr-account-analytics-link": "200000000004",
    }
    assert sorted(prod.stacks) == sorted(accounts)
    for stack, account in accounts.items():
        providers = prod.stack_json(stack)["provider"]["aws"]
        assert len(providers) == 1
        provider = providers[0]
        assert provider["allowed_account_ids"] == [account]
        assert provider["assume_role"] == [{"role_arn": f"arn:aws:iam::{account}:role/StudioEmrDeployer"}]
        assert provider["default_tags"] == [{"tags": {"environment": "prod", "stack": stack, "managed-by": "studio-emr-infra"}}]
        backend = prod.stack_json(stack)["terraform"]["backend"]["s3"]
        assert backend["key"] == f"studio-emr/prod/{stack}.tfstate" and backend["use_lockfile"] is True


def test_local_state_is_per_environment_and_stack(local):
    for stack in local.stacks:
        path = local.stack_json(stack)["terraform"]["backend"]["local"]["path"]
        assert path.endswith(f".state/local/{stack}.tfstate") and not path.startswith("/")


def test_handshake_order_is_request_accept_then_requester_side(local):
    deps = local.dependencies
    assert deps["studio-account"] == [] and deps["emr-account"] == []
    assert set(deps["studio-account-peering"]) == {"studio-account", "emr-account"}
    assert "studio-account-peering" in deps["emr-account-link"]
    assert "emr-account-link" in deps["studio-account-link"]
    request = only(local.stack_json("studio-account-peering"), "aws_vpc_peering_connection")
    assert request["auto_accept"] is False and request["peer_owner_id"] == "222222222222"
    link = local.stack_json("emr-account-link")
    accept = only(link, "aws_vpc_peering_connection_accepter")
    assert accept["auto_accept"] is True and accept["tags"] == request["tags"]
    assert only(link, "aws_vpc_peering_connection_options")["accepter"] == {"allow_remote_vpc_dns_resolution": True}
    studio_link = local.stack_json("studio-account-link")
    assert only(studio_link, "aws_vpc_peering_connection_options")["requester"] == {"allow_remote_vpc_dns_resolution": True}


def test_routes_both_ways(local):
    emr_route = only(local.stack_json("emr-account-link"), "aws_route")
    assert emr_route["destination_cidr_block"] == "10.0.0.0/16"
    studio_route = only(local.stack_json("studio-account-link"), "aws_route")
    assert studio_route["destination_cidr_block"] == "2.0.0.0/16"
    assert "vpc_peering_connection_id" in emr_route and "vpc_peering_connection_id" in studio_route


def test_vpc_only_endpoints(local):
    endpoints = resources(local.stack_json("studio-account"), "aws_vpc_endpoint")
    names = sorted(e["service_name"] for e in endpoints)
    assert names == sorted(
        f"com.amazonaws.us-east-1.{s}" for s in ("s3", "sagemaker.api", "sagemaker.runtime", "servicecatalog", "sts", "logs")
    )
    gateway = [e for e in endpoints if e["vpc_endpoint_type"] == "Gateway"]
    assert [e["service_name"] for e in gateway] == ["com.amazonaws.us-east-1.s3"]


def test_service_catalog_product_is_visible_and_constrained(local):
    emr = local.stack_json("emr-account")
    product = only(emr, "aws_servicecatalog_product")
    assert product["tags"] == {"sagemaker:studio-visibility:emr": "true"}
    constraint = only(emr, "aws_servicecatalog_constraint")
    assert constraint["type"] == "LAUNCH"
    assert "launch-constraint-role" in json.loads(constraint["parameters"])["RoleArn"]
    launch_role = [r for r in resources(emr, "aws_iam_role") if r["name"].endswith("-sc-launch")][0]
    assert json.loads(launch_role["assume_role_policy"])["Statement"][0]["Principal"] == {"Service": "servicecatalog.amazonaws.com"}
    association = only(local.stack_json("emr-account-link"), "aws_servicecatalog_principal_portfolio_association")
    assert "emr-discovery-role" in association["principal_arn"]
    objects = resources(emr, "aws_s3_object")
    assert all(o["depends_on"] for o in objects), "objects wait for the bucket's versioning"


def test_emr_default_roles(local):
    roles = {r["name"]: r for r in resources(local.stack_json("emr-account"), "aws_iam_role")}
    assert json.loads(roles["EMR_DefaultRole"]["assume_role_policy"])["Statement"][0]["Principal"] == {
        "Service": "elasticmapreduce.amazonaws.com"
    }
    assert json.loads(roles["EMR_EC2_DefaultRole"]["assume_role_policy"])["Statement"][0]["Principal"] == {
        "Service": "ec2.amazonaws.com"
    }
    profiles = resources(local.stack_json("emr-account"), "aws_iam_instance_profile")
    assert [p["name"] for p in profiles] == ["EMR_EC2_DefaultRole"]


def test_single_account_layout_has_no_peering(tmp_path, synthesized):
    data = yamlio.load(ENVS_DIR / "local.yaml")
    data["environment"]["name"] = "single"
    emr = data["environment"]["emr_accounts"][0]
    emr["account_id"] = data["environment"]["studio_account"]["account_id"]
    del emr["network"]
    env = parse(data, "single.yaml")
    result = synth_env(env, Workspace(tmp_path / "cdktf.out", tmp_path / "state"))
    # No peering stacks; local's kubernetes section keeps its own stack (IAM-6).
    assert result.stacks == ["studio-account", "emr-account", "studio-account-kubernetes"]
    emr_stack = result.stack_json("emr-account")
    assert "aws_vpc" not in emr_stack.get("resource", {})
    assert "aws_vpc_peering_connection_accepter" not in emr_stack["resource"]
    rule = only(emr_stack, "aws_vpc_security_group_ingress_rule")
    assert "/" not in rule["referenced_security_group_id"].split("}")[-1]  # same account: bare SG id
    assert rule["referenced_security_group_id"] == "${data.terraform_remote_state.studio-account.outputs.studio_security_group_id}"
    studio = result.stack_json("studio-account")
    assert "aws_sagemaker_studio_lifecycle_config" not in studio["resource"]
    lab = only(studio, "aws_sagemaker_domain")["default_user_settings"].get("jupyter_lab_app_settings", {})
    assert "assumable_role_arns" not in lab.get("emr_settings", {})  # no role to assume in its own account


def test_inserting_a_subnet_renames_and_moves_no_other_subnet(tmp_path):
    """Subnets, their route-table associations and peer routes are named by what they are (the
    CIDR, the route table), and a subnet's zone follows from its CIDR: a CIDR inserted at the
    front of the list leaves every existing subnet as it was, so nothing is replaced."""
    data = yamlio.load(ENVS_DIR / "dev.yaml")
    before = synth_env(parse(data, "dev.yaml"), Workspace(tmp_path / "a", tmp_path / "state")).stack_json("studio-account")
    data["environment"]["studio_account"]["network"]["private_subnet_cidrs"].insert(0, "10.10.19.0/24")
    after = synth_env(parse(data, "dev.yaml"), Workspace(tmp_path / "b", tmp_path / "state")).stack_json("studio-account")
    subnets_before, subnets_after = before["resource"]["aws_subnet"], after["resource"]["aws_subnet"]
    assert set(subnets_before) < set(subnets_after)
    for logical_id, subnet in subnets_before.items():
        assert "public-subnet" in logical_id or "10-10-" in logical_id  # named by CIDR, not by position
        assert {k: subnet[k] for k in ("cidr_block", "availability_zone")} == \
            {k: subnets_after[logical_id][k] for k in ("cidr_block", "availability_zone")}
    assert set(before["resource"]["aws_route_table_association"]) < set(after["resource"]["aws_route_table_association"])
    zones = {s["cidr_block"]: s["availability_zone"] for s in subnets_after.values()}
    assert zones["10.10.19.0/24"] == "eu-west-1b" and zones["10.10.20.0/24"] == "eu-west-1a"


def test_teardown_finds_the_emr_security_groups_by_the_names_the_stack_gives_them(local):
    """Destroy revokes EMR's own rules on these groups, found by name (orchestration/aws/teardown.py)."""
    from stacks import naming

    env = local.env
    account = env.environment.emr_accounts[0]
    synthesized = {g["name"] for g in resources(local.stack_json(account.stack_id), "aws_security_group")}
    expected = {naming.emr_security_group_name(env, account, kind) for kind in naming.EMR_SECURITY_GROUP_KINDS}
    assert expected <= synthesized
