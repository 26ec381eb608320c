"""Policy checks that run with every plan review: a lint of every IAM policy document, cfn-lint
of the Service Catalog EMR template, and checkov over each stack's plan.

A checkov suppression sits next to the resource in the construct that creates it
(:func:`modules.suppressions.suppress`), with its reason; it reaches here through the
synthesized resource's ``//`` metadata and is reported as suppressed, never dropped.
"""

from __future__ import annotations

import dataclasses

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from modules.policies import web_identity_problems
from modules.service_catalog import EmrTemplateSettings, render_emr_template
from stacks.app import EMR_TEMPLATE, PROJECT_ROOT

from .review import Finding
from .synth import SynthResult

CHECKOV = PROJECT_ROOT / ".tools" / "checkov" / "bin" / "checkov"


# --- IAM ---------------------------------------------------------------------------------


def iam_lint(result: SynthResult) -> list[Finding]:
    findings = []
    for stack in result.stacks:
        resources = result.stack_json(stack).get("resource", {})
        for name, role in resources.get("aws_iam_role", {}).items():
            address = f"aws_iam_role.{name}"
            for problem in _document_problems(role.get("assume_role_policy"), trust=True):
                findings.append(Finding("iam-lint", stack, address, problem))
        for name, policy in resources.get("aws_iam_role_policy", {}).items():
            for problem in _document_problems(policy.get("policy"), trust=False):
                findings.append(Finding("iam-lint", stack, f"aws_iam_role_policy.{name}", problem))
    return findings


def _document_problems(document: str | None, trust: bool) -> list[str]:
    try:
        statements = json.loads(document or "{}").get("Statement", [])
    except json.JSONDecodeError:
        return ["policy document is not JSON"]
    problems = []
    for index, statement in enumerate(statements if isinstance(statements, list) else [statements]):
        where = f"statement {statement.get('Sid') or index}"
        principal = statement.get("Principal")
        actions = statement.get("Action", [])
        actions = actions if isinstance(actions, list) else [actions]
        if principal == "*" or (isinstance(principal, dict) and "*" in _values(principal.get("AWS"))):
            problems.append(f"{where}: Principal \"*\"")
        if "*" in actions:
            problems.append(f"{where}: Action \"*\"")
        if trust and statement.get("Effect") == "Allow" and isinstance(principal, dict):
            problems += _trust_problems(where, principal, statement.get("Condition") or {})
    return problems


def _trust_problems(where: str, principal: dict, condition: dict) -> list[str]:
    problems = []
    for kind, values in principal.items():
        for value in _values(values):
            if kind == "AWS" and (value.endswith(":root") or ":role/" not in value and "${" not in value):
                problems.append(f"{where}: trusts {value}; name the role that may assume it")
            if kind == "Federated":
                problems += [f"{where}: trusts {value} with {p}"
                             for p in web_identity_problems({"Effect": "Allow", "Principal": principal, "Condition": condition})]
            if kind not in ("AWS", "Service", "Federated"):
                problems.append(f"{where}: unexpected principal type {kind}")
    return problems


def _values(value) -> list[str]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


# --- CloudFormation ----------------------------------------------------------------------

SAMPLE_TEMPLATE_SETTINGS = EmrTemplateSettings(
    subnet_ids=["subnet-0123456789abcdef0"],
    primary_security_group_id="sg-0123456789abcdef0",
    managed_primary_security_group_id="sg-0123456789abcdef1",
    managed_core_security_group_id="sg-0123456789abcdef2",
    service_access_security_group_id="sg-0123456789abcdef3",
    instance_types=("m5.xlarge",),
    core_node_counts=(1,),
    release_label="emr-6.15.0",
    bootstrap_script_uri="s3://bucket/bootstrap/1/install-pylibs.sh",
)


def cfn_lint(result: SynthResult) -> list[Finding]:
    """cfn-lint of the EMR product template as this environment renders it."""
    catalog = result.env.promoted.service_catalog
    settings = dataclasses.replace(
        SAMPLE_TEMPLATE_SETTINGS,
        instance_types=tuple(catalog.allowed_instance_types),
        core_node_counts=tuple(catalog.core_node_counts),
        release_label=catalog.emr_release_label,
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "emr-cluster.json"
        path.write_text(render_emr_template(EMR_TEMPLATE.read_text(), settings))
        linter = Path(sys.executable).parent / "cfn-lint"
        run = subprocess.run([str(linter), "--format", "json", str(path)], capture_output=True, text=True)
    if run.returncode == 0:
        return []
    try:
        matches = json.loads(run.stdout)
    except json.JSONDecodeError:
        return [Finding("cfn-lint", "-", EMR_TEMPLATE.name, run.stderr.strip() or "cfn-lint failed")]
    return [Finding("cfn-lint", "-", EMR_TEMPLATE.name, f"{m['Rule']['Id']}: {m['Message']}") for m in matches]


# --- checkov -----------------------------------------------------------------------------


def suppressions(result: SynthResult, stack: str) -> dict[tuple[str, str], str]:
    """{(resource address, check id): reason} declared next to the resources of a stack."""
    found = {}
    for kind, resources in result.stack_json(stack).get("resource", {}).items():
        for name, resource in resources.items():
            for check_id, reason in resource.get("//", {}).get("checkov", {}).items():
                found[(f"{kind}.{name}", check_id)] = reason
    return found


def checkov(result: SynthResult, stack: str, plan_json: dict) -> list[Finding]:
    if not CHECKOV.is_file():
        return [Finding("checkov", stack, "-", f"checkov is not installed at {CHECKOV}; run scripts/setup")]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "plan.json"
        path.write_text(json.dumps(plan_json))
        run = subprocess.run(
            [str(CHECKOV), "-f", str(path), "--framework", "terraform_plan", "--skip-download", "--quiet",
             "-o", "json"],
            capture_output=True, text=True,
            # Offline: no guideline or mapping downloads.
            env={**os.environ, "BC_SKIP_MAPPING": "TRUE", "CKV_NO_VERSION_CHECK": "true"},
        )
    try:
        report = json.loads(run.stdout or "{}")
    except json.JSONDecodeError:
        return [Finding("checkov", stack, "-", f"checkov failed: {run.stderr.strip()[-300:]}")]
    failed = report.get("results", {}).get("failed_checks", []) if isinstance(report, dict) else []
    reasons = suppressions(result, stack)
    findings = []
    for check in failed:
        key = (check["resource"], check["check_id"])
        reason = reasons.get(key)
        message = f"{check['check_id']} {check['check_name']}" + (f" (suppressed: {reason})" if reason else "")
        findings.append(Finding("checkov", stack, check["resource"], message, suppressed=reason is not None))
    return findings
