"""SM-5 Classic notebook instances: the construct on the synthesized stacks, and the lifecycle
script run in a sandbox against the emulator's EMR, as a notebook would run it at start."""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path

import pytest

from modules.notebook_script import MAX_HOOK_CHARS, SPARKMAGIC_CONFIG, notebook_lifecycle_script
from orchestration.aws.notebook import NotebookScriptError, render_livy_url_in_sandbox

STUDIO = "111111111111"
EMR = "222222222222"
REGION = "us-east-1"
PYTHON = Path(sys.executable)


def resources(stack_json: dict, kind: str) -> list[dict]:
    return list(stack_json.get("resource", {}).get(kind, {}).values())


def reference(kind: str, stack_json: dict, attribute: str, match=lambda r: True) -> str:
    (name,) = [k for k, r in stack_json["resource"][kind].items() if match(r)]
    return f"${{{kind}.{name}.{attribute}}}"


# --- the script itself ----------------------------------------------------------------------


def test_script_is_within_the_hook_limit_and_downloads_nothing():
    script = notebook_lifecycle_script({STUDIO: None, EMR: f"arn:aws:iam::{EMR}:role/r"}, REGION, 8998)
    assert len(base64.b64encode(script.encode())) <= MAX_HOOK_CHARS
    assert script.startswith("#!/bin/bash\n")
    for fetcher in ("wget", "curl", "https://", "pip install"):
        assert fetcher not in script
    assert SPARKMAGIC_CONFIG.rsplit("/", 1)[0] in script
    assert "'MASTER'" in script or '"MASTER"' in script
    assert '"RUNNING"' in script


# --- the construct ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def local_studio(synthesized):
    return synthesized("local").stack_json("studio-account")


def test_notebook_sits_in_a_private_studio_subnet_with_the_studio_sg_and_execution_role(local_studio):
    (notebook,) = resources(local_studio, "aws_sagemaker_notebook_instance")
    first_private = reference("aws_subnet", local_studio, "id", lambda r: r["cidr_block"] == "10.0.20.0/24")
    assert notebook["subnet_id"] == first_private
    assert notebook["security_groups"] == [reference("aws_security_group", local_studio, "id")]
    assert notebook["role_arn"] == reference("aws_iam_role", local_studio, "arn",
                                             lambda r: "sagemaker.amazonaws.com" in r["assume_role_policy"])
    assert notebook["direct_internet_access"] == "Disabled"
    assert notebook["root_access"] == "Disabled"
    assert notebook["instance_metadata_service_configuration"] == {"minimum_instance_metadata_service_version": "2"}
    assert {"CKV_AWS_22", "CKV_AWS_187"} <= set(notebook["//"]["checkov"])


def test_the_lifecycle_config_is_attached_and_assumes_the_emr_accounts_discovery_role(local_studio):
    (notebook,) = resources(local_studio, "aws_sagemaker_notebook_instance")
    (config,) = resources(local_studio, "aws_sagemaker_notebook_instance_lifecycle_configuration")
    assert notebook["lifecycle_config_name"] == reference(
        "aws_sagemaker_notebook_instance_lifecycle_configuration", local_studio, "name")
    assert "on_create" not in config  # on_start: the primary node's address changes with every cluster
    script = base64.b64decode(config["on_start"]).decode()
    assert f"arn:aws:iam::{EMR}:role/studio-emr-local-emr-discovery" in script
    assert "http://{address}:{LIVY_PORT}" in script and "LIVY_PORT = 8998" in script


def test_no_notebook_where_the_setting_is_off(synthesized):
    studio = synthesized("dev").stack_json("studio-account")
    assert resources(studio, "aws_sagemaker_notebook_instance") == []
    assert resources(studio, "aws_sagemaker_notebook_instance_lifecycle_configuration") == []


# --- the script against the emulator's EMR ----------------------------------------------------


@pytest.fixture(scope="module")
def emr_world(request):
    request.getfixturevalue("_emulator_settings")
    emulator = request.getfixturevalue("emulator")
    from tests.emulator_support import account_session
    from tests.emulator_support import build_network
    from tests.test_emulator_emr import run_cluster, wait_for

    studio = account_session(emulator, STUDIO, REGION)
    emr_admin = account_session(emulator, EMR, REGION)
    emr = emr_admin.client("emr", endpoint_url=emulator.url)
    net = build_network(emr_admin.client("ec2", endpoint_url=emulator.url), "2.0.0.0/16")
    older = run_cluster(emr, net, core=1)
    wait_for(emr, older, ("WAITING",))
    newer = run_cluster(emr, net, core=1)
    wait_for(emr, newer, ("WAITING",))
    # The discovery role of SM-3 (IAM-2's discovery actions), trusting the Studio account.
    iam = emr_admin.client("iam", endpoint_url=emulator.url)
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{STUDIO}:root"}, "Action": "sts:AssumeRole"}]}
    role_arn = iam.create_role(RoleName="notebook-discovery", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    iam.put_role_policy(RoleName="notebook-discovery", PolicyName="discovery", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Resource": "*", "Action": [
            "elasticmapreduce:ListClusters", "elasticmapreduce:DescribeCluster", "elasticmapreduce:ListInstances"]}]}))

    def primary_ip(cluster_id: str) -> str:
        (primary,) = emr.list_instances(ClusterId=cluster_id, InstanceGroupTypes=["MASTER"])["Instances"]
        return primary["PrivateIpAddress"]

    return {"url": emulator.url, "studio": studio, "emr_admin": emr_admin, "role_arn": role_arn,
            "older": older, "newer": newer, "ip": primary_ip}


@pytest.fixture(scope="module")
def _emulator_settings():
    saved = pytest.MonkeyPatch()
    saved.setenv("EMULATOR_EMR_STEP_SECONDS", "0.3")
    yield
    saved.undo()


from tests.emulator_support import emulator  # noqa: E402,F401 - the module's emulator fixture


@pytest.mark.emulator
def test_the_script_points_sparkmagic_at_the_named_clusters_primary_node(emr_world):
    script = base64.b64encode(notebook_lifecycle_script({EMR: None}, REGION, 8998).encode()).decode()
    url = render_livy_url_in_sandbox(script, emr_world["emr_admin"], REGION, emr_world["url"],
                                     emr_world["older"], PYTHON)
    assert url == f"http://{emr_world['ip'](emr_world['older'])}:8998"


@pytest.mark.emulator
def test_across_accounts_it_assumes_the_discovery_role_and_picks_the_newest_cluster(emr_world):
    # The Studio account has no cluster: the script moves on to the EMR account, through its role.
    script = notebook_lifecycle_script({STUDIO: None, EMR: emr_world["role_arn"]}, REGION, 8998)
    url = render_livy_url_in_sandbox(script, emr_world["studio"], REGION, emr_world["url"], None, PYTHON)
    assert url == f"http://{emr_world['ip'](emr_world['newer'])}:8998"


@pytest.mark.emulator
def test_no_cluster_leaves_sparkmagic_alone_and_the_error_names_the_scripts_stderr(emr_world):
    script = notebook_lifecycle_script({STUDIO: None}, REGION, 8998)
    with pytest.raises(NotebookScriptError) as caught:
        render_livy_url_in_sandbox(script, emr_world["studio"], REGION, emr_world["url"], None, PYTHON)
    assert "no cluster RUNNING or WAITING" in str(caught.value)
