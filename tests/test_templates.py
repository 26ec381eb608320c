"""The Service Catalog EMR product template passes cfn-lint, as a file and as rendered."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from modules.emr_product import EmrTemplateSettings, render_emr_template
from stacks.app import EMR_TEMPLATE

SETTINGS = EmrTemplateSettings(
    subnet_ids=["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"],
    primary_security_group_id="sg-0123456789abcdef0",
    managed_primary_security_group_id="sg-0123456789abcdef1",
    managed_core_security_group_id="sg-0123456789abcdef2",
    service_access_security_group_id="sg-0123456789abcdef3",
    instance_types=("m5.xlarge", "r5.2xlarge"),
    core_node_counts=(2, 4),
    release_label="emr-6.15.0",
    bootstrap_script_uri="s3://bucket/bootstrap/2/install-pylibs.sh",
)


def cfn_lint(path) -> subprocess.CompletedProcess:
    return subprocess.run([str(Path(sys.executable).parent / "cfn-lint"), str(path)], capture_output=True, text=True)


def test_template_file_passes_cfn_lint():
    result = cfn_lint(EMR_TEMPLATE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_rendered_template_passes_cfn_lint_and_carries_the_guardrails(tmp_path):
    rendered = render_emr_template(EMR_TEMPLATE.read_text(), SETTINGS)
    path = tmp_path / "emr.json"
    path.write_text(rendered)
    result = cfn_lint(path)
    assert result.returncode == 0, result.stdout + result.stderr
    params = json.loads(rendered)["Parameters"]
    assert params["InstanceType"]["AllowedValues"] == ["m5.xlarge", "r5.2xlarge"]
    assert params["CoreInstanceCount"]["AllowedValues"] == [2, 4]
    assert params["SubnetId"]["AllowedValues"] == SETTINGS.subnet_ids
    # NET-7: a cluster in a private subnet gets the groups the stack made, and nothing else.
    assert params["ServiceAccessSecurityGroupId"]["AllowedValues"] == ["sg-0123456789abcdef3"]
    assert params["ManagedPrimarySecurityGroupId"]["AllowedValues"] == ["sg-0123456789abcdef1"]
    assert params["BootstrapScriptUri"]["Default"] == "s3://bucket/bootstrap/2/install-pylibs.sh"


def test_linter_catches_a_broken_template(tmp_path):
    """The lint above can fail: a template with an unknown property is rejected."""
    broken = json.loads(render_emr_template(EMR_TEMPLATE.read_text(), SETTINGS))
    broken["Resources"]["Cluster"]["Properties"]["NotAProperty"] = True
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(broken))
    assert cfn_lint(path).returncode != 0
