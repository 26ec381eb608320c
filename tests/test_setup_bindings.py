"""scripts/trim_schema.py: the bindings are generated from the provider's own schema, trimmed to
the types the code imports (issue 10 §5); `terraform validate` of every stack
(tests/test_terraform_validate.py) proves that what was generated matches hashicorp/aws 5.100.0."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import trim_schema  # noqa: E402

SCHEMA = {"format_version": "1.0", "provider_schemas": {trim_schema.PROVIDER: {
    "provider": {"block": {}},
    "resource_schemas": {"aws_vpc": {"block": {"a": 1}}, "aws_subnet": {"block": {}}, "aws_s3_bucket": {"block": {}}},
    "data_source_schemas": {"aws_eks_cluster": {"block": {}}, "aws_vpc": {"block": {}}},
    "ephemeral_resource_schemas": {"aws_secretsmanager_secret_version": {"block": {}}},
    "functions": {"arn_parse": {}},
}}}


def test_only_the_imported_types_are_kept_each_as_the_provider_has_it():
    trimmed = trim_schema.trim(SCHEMA, ["vpc", "data_aws_eks_cluster", "provider", "provider_functions"])
    provider = trimmed["provider_schemas"][trim_schema.PROVIDER]
    assert provider["resource_schemas"] == {"aws_vpc": {"block": {"a": 1}}}
    assert provider["data_source_schemas"] == {"aws_eks_cluster": {"block": {}}}
    assert provider["ephemeral_resource_schemas"] == {}
    assert provider["functions"] == {"arn_parse": {}} and provider["provider"] == {"block": {}}


def test_a_module_that_names_no_type_of_the_provider_is_refused_by_name():
    with pytest.raises(SystemExit, match=r"imports\.aws\.data_aws_nope, imports\.aws\.vcp: no such type"):
        trim_schema.trim(SCHEMA, ["vcp", "data_aws_nope", "subnet"])


def test_the_generated_bindings_hold_exactly_the_modules_the_code_imports():
    imported = set(re.findall(r"imports\.aws\.([a-z0-9_]+)", subprocess.run(
        ["grep", "-rhoE", r"imports\.aws\.[a-z0-9_]+", "--include=*.py", "app.py", "main.py", "stacks", "modules",
         "orchestration", "tests"], cwd=ROOT, capture_output=True, text=True, check=True).stdout))
    generated = {p.name for p in (ROOT / "imports" / "aws").iterdir() if p.is_dir() and not p.name.startswith(("_", "."))}
    assert generated - {"provider_functions"} == imported - {"provider_functions"}
