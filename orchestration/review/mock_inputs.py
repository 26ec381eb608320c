"""Plans of stacks whose upstream stacks were never applied, on mock values of what they read
from them (issue 10 §3), as Terragrunt's ``mock_outputs`` on a dependency.

A stack reads its upstream stacks' outputs through ``terraform_remote_state`` data sources. Before
the first apply of an environment those states do not exist, so the stacks that hold the peering
request, the SG rules that admit Studio, the role Studio assumes and the routes cannot be planned,
and the review of the pull request that creates the environment would show none of them. Here
such a stack is planned in a scratch copy of its directory:

* each ``terraform_remote_state`` of an upstream stack that was never applied reads a local state
  file written here, holding every output the upstream stack declares with a placeholder of the
  shape its resource gives (``vpc-…`` for a VPC id, ``arn:aws:iam::<account>:role/<name>`` for a
  role's ARN, with the role's configured name);
* the others read the real upstream state, as the stack itself does;
* the stack's own backend is dropped: it was never applied (its upstream was not), so its state
  is empty, and a plan on mock inputs must not take its lock or write beside its real state.

The plan is a real `terraform plan` against the target's APIs, so its changes, its risk flags and
the policy checks are those of the stack's real configuration; only the values it reads from the
stacks named in ``waiting_on`` are placeholders, and the review says so.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

from orchestration.terraform.synth import SynthResult

MOCK_DIR = "mock-inputs"
REFERENCE = re.compile(r"^\$\{(?P<type>[a-z0-9_]+)\.(?P<name>[^.}]+)\.(?P<attribute>[a-z0-9_]+)\}$")
# The prefix of each type's id, as AWS makes them.
ID_PREFIXES = {
    "aws_vpc": "vpc", "aws_subnet": "subnet", "aws_route_table": "rtb", "aws_security_group": "sg",
    "aws_vpc_peering_connection": "pcx", "aws_internet_gateway": "igw", "aws_nat_gateway": "nat",
    "aws_vpc_endpoint": "vpce", "aws_servicecatalog_portfolio": "port", "aws_servicecatalog_product": "prod",
    "aws_sagemaker_domain": "d",
}
ARN_SERVICES = {"aws_iam_role": ("iam", "role"), "aws_iam_instance_profile": ("iam", "instance-profile"),
                "aws_iam_policy": ("iam", "policy")}


def mock_value(result: SynthResult, upstream: str, output: str, expression: object) -> object:
    """A placeholder for ``output`` of ``upstream`` whose value is ``expression``: shaped as the
    resource it refers to would make it."""
    if isinstance(expression, list):
        return [mock_value(result, upstream, f"{output}[{i}]", item) for i, item in enumerate(expression)]
    if not isinstance(expression, str):
        return expression  # a literal value is its own mock
    match = REFERENCE.match(expression)
    digest = hashlib.sha256(f"{upstream}/{output}".encode()).hexdigest()[:17]
    if match is None:
        return f"mock-{digest}"
    kind, attribute = match["type"], match["attribute"]
    configured = result.stack_json(upstream).get("resource", {}).get(kind, {}).get(match["name"], {})
    literal = configured.get(attribute)
    if isinstance(literal, str) and "${" not in literal:
        return literal
    name = configured.get("name")
    if attribute == "arn" and kind in ARN_SERVICES and isinstance(name, str) and "${" not in name:
        service, resource = ARN_SERVICES[kind]
        return f"arn:aws:{service}::{result.account_of(upstream)}:{resource}/{name}"
    if attribute == "arn":
        return f"arn:aws:{kind.removeprefix('aws_').split('_')[0]}:{result.region_of(upstream)}:{result.account_of(upstream)}:mock/{digest}"
    if attribute == "id" and kind in ID_PREFIXES:
        return f"{ID_PREFIXES[kind]}-{digest}"
    return f"mock-{digest}"


def _cty_type(value: object) -> object:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, list):
        return ["list", "string"]
    return "string"


def mock_state(result: SynthResult, upstream: str) -> dict:
    """A Terraform state (format 4) with no resources and a placeholder for every output of ``upstream``."""
    outputs = {}
    for name, output in result.stack_json(upstream).get("output", {}).items():
        value = mock_value(result, upstream, name, output.get("value"))
        outputs[name] = {"value": value, "type": _cty_type(value)}
    return {"version": 4, "terraform_version": "1.11.4", "serial": 1, "lineage": f"mock-inputs-{upstream}",
            "outputs": outputs, "resources": [], "check_results": None}


def scratch_dir(result: SynthResult, stack: str) -> Path:
    return result.stack_dir(stack).parent.parent / MOCK_DIR / stack


def prepare(result: SynthResult, stack: str, waiting_on: list[str]) -> Path:
    """The scratch directory in which ``stack`` is planned on mock values of ``waiting_on``'s outputs."""
    directory = scratch_dir(result, stack)
    directory.mkdir(parents=True, exist_ok=True)
    for leftover in ("terraform.tfstate", "terraform.tfstate.backup", "tfplan"):
        (directory / leftover).unlink(missing_ok=True)
    configuration = json.loads(json.dumps(result.stack_json(stack)))
    configuration.get("terraform", {}).pop("backend", None)
    for name, source in configuration.get("data", {}).get("terraform_remote_state", {}).items():
        upstream = name  # each remote state is named after the stack it reads (stacks/base.py)
        if upstream in waiting_on:
            path = directory / f"{upstream}.mock.tfstate"
            path.write_text(json.dumps(mock_state(result, upstream), indent=2))
            source["backend"], source["config"] = "local", {"path": str(path)}
        elif source.get("backend") == "local":
            # The real upstream state, where the stack's own directory finds it.
            source["config"]["path"] = str((result.stack_dir(stack) / source["config"]["path"]).resolve())
    (directory / "cdk.tf.json").write_text(json.dumps(configuration, indent=2))
    lock = result.stack_dir(stack) / ".terraform.lock.hcl"
    if lock.is_file():
        shutil.copyfile(lock, directory / ".terraform.lock.hcl")
    return directory
