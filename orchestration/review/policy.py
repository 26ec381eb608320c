"""Policy checks that run with every plan review: a lint of every IAM policy document, cfn-lint
of the Service Catalog EMR template, and checkov over each stack's plan.

A checkov suppression sits next to the resource in the construct that creates it
(:func:`modules.suppressions.suppress`), with its reason; it reaches here through the
synthesized resource's ``//`` metadata and is reported as suppressed, never dropped.

checkov is installed the first time a review needs it (:func:`ensure_checkov`), not by the
first command: a deploy to the emulator never runs it (a deploy to AWS reviews its plan first, so
its first one installs it), and its install is one of the longest steps of a fresh setup.
"""

from __future__ import annotations

import dataclasses
import fcntl
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from modules.policies import web_identity_problems
from modules.emr_product import EmrTemplateSettings, render_emr_template
from stacks.paths import EMR_TEMPLATE, PROJECT_ROOT

from orchestration.errors import SetupError
from orchestration.review.report import Finding
from orchestration.terraform.synth import SynthResult
from orchestration.terraform.tfjson import PlanDocument


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

# The one pin of checkov: `scripts/setup --with-checkov` (which scripts/test runs) and the plan
# review install it through ensure_checkov.
CHECKOV_VERSION = "3.3.30"
TOOLS = PROJECT_ROOT / ".tools"
# This machine kind's pip config names local index folders that may not exist; pip warns for
# every package (scripts/setup's quiet_pip drops the same lines).
PIP_CONFIG_NOISE = "is ignored: it is neither a file nor a directory"


def _to_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def ensure_checkov(log: Callable[[str], None] = _to_stderr, tools: Path = TOOLS) -> Path:
    """The checkov executable of CHECKOV_VERSION, in its own virtualenv (``tools/checkov``: its
    pins must not move the project's), installed the first time it is asked for.

    Two reviews starting together install it once: the second waits on a lock under ``tools``
    and then uses what the first installed. A failed or interrupted install leaves no stamp, so
    the next call installs again; a failure raises SetupError with the command and pip's output.
    """
    venv = tools / "checkov"
    executable = venv / "bin" / "checkov"
    stamp = venv / f".installed-{CHECKOV_VERSION}"
    tools.mkdir(parents=True, exist_ok=True)
    with open(tools / "checkov.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log(f"waiting for the checkov install another process started ({lock.name})…")
            fcntl.flock(lock, fcntl.LOCK_EX)
        if stamp.is_file() and executable.is_file():
            return executable
        # Measured on this machine kind with empty caches: 65 s (35 s of CPU).
        log(f"installing checkov {CHECKOV_VERSION} for the plan review's policy checks "
            "(once per clone, about a minute)…")
        for old in venv.glob(".installed-*"):
            old.unlink()
        _install_step([sys.executable, "-m", "venv", str(venv)])
        _install_step([str(venv / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check",
                       f"checkov=={CHECKOV_VERSION}"])
        stamp.touch()
    return executable


def _install_step(command: list[str]) -> None:
    run = subprocess.run(command, capture_output=True, text=True)
    if run.returncode != 0:
        output = [line for line in (run.stdout + run.stderr).splitlines() if PIP_CONFIG_NOISE not in line]
        tail = "\n".join(f"  {line}" for line in output[-20:]) or "  (no output)"
        raise SetupError(f"installing checkov {CHECKOV_VERSION} failed: `{' '.join(command)}` exited "
                         f"{run.returncode}; the next plan review tries again:\n{tail}")


def suppressions(result: SynthResult, stack: str) -> dict[tuple[str, str], str]:
    """{(resource address, check id): reason} declared next to the resources of a stack."""
    found = {}
    for kind, resources in result.stack_json(stack).get("resource", {}).items():
        for name, resource in resources.items():
            for check_id, reason in resource.get("//", {}).get("checkov", {}).items():
                found[(f"{kind}.{name}", check_id)] = reason
    return found


def checkov(result: SynthResult, stack: str, plan: PlanDocument) -> list[Finding]:
    executable = ensure_checkov()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "plan.json"
        path.write_text(json.dumps(plan.raw))
        run = subprocess.run(
            [str(executable), "-f", str(path), "--framework", "terraform_plan", "--skip-download", "--quiet",
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
