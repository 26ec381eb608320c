"""Terraform's machine-readable output, read through the typed views of orchestration/terraform/tfjson.py,
from real terraform runs: a stack of the built-in ``terraform_data`` resources needs no provider,
so these run in seconds and check the stream, plan and state formats of the Terraform on PATH."""

from __future__ import annotations

import json

import pytest

from orchestration.errors import TerraformError
from orchestration.terraform.runner import ChangeSummary, Terraform
from orchestration.terraform.tfjson import PlanDocument, StreamEvent

pytestmark = pytest.mark.terraform


def stack(tmp_path, resources: dict) -> Terraform:
    (tmp_path / "main.tf.json").write_text(json.dumps({
        "resource": {"terraform_data": resources},
        "output": {"first": {"value": "${terraform_data.first.output}"}} if "first" in resources else {},
    }))
    terraform = Terraform("toy", tmp_path)
    terraform.init()
    return terraform


def test_a_plan_and_its_saved_apply_are_counted_from_the_event_stream(tmp_path):
    terraform = stack(tmp_path, {"first": {"input": "one"}, "second": {"input": "two"}})
    planned = terraform.plan("toy.tfplan")
    assert planned == ChangeSummary(2, 0, 0)
    seen = []
    progress, applied = terraform.apply(plan_file="toy.tfplan", planned=planned,
                                        on_progress=lambda p: seen.append((p.done, p.total, frozenset(p.running))))
    assert (progress.total, progress.done, progress.running, progress.errors) == (2, 2, set(), [])
    assert applied == ChangeSummary(2, 0, 0)
    # Each resource was seen running, then done.
    assert {address for _d, _t, running in seen for address in running} == {"terraform_data.first", "terraform_data.second"}
    assert seen[-1][:2] == (2, 2)
    # State holds terraform_data's dynamic input with its type.
    assert [(r.address, r.type, r.values["input"]) for r in terraform.state_resources()] == [
        ("terraform_data.first", "terraform_data", {"value": "one", "type": "string"}),
        ("terraform_data.second", "terraform_data", {"value": "two", "type": "string"})]
    assert terraform.outputs() == {"first": "one"}
    assert terraform.plan("again.tfplan").is_empty


def test_a_saved_plan_is_read_as_typed_resource_changes(tmp_path):
    terraform = stack(tmp_path, {"first": {"input": "one"}})
    terraform.apply()
    (tmp_path / "main.tf.json").write_text(json.dumps({"resource": {"terraform_data": {"first": {"input": "changed"}}}}))
    terraform.plan("change.tfplan")
    document = terraform.show_plan("change.tfplan")
    assert isinstance(document, PlanDocument)
    [change] = document.resource_changes
    assert (change.address, change.type, change.name, change.mode) == ("terraform_data.first", "terraform_data", "first", "managed")
    assert change.actions == ("update",)  # input is updated in place; output is recomputed
    assert (change.before["input"], change.after["input"]) == ("one", "changed")
    assert change.after_unknown.get("output") is True
    assert document.raw["resource_changes"][0]["address"] == "terraform_data.first"


def test_an_error_diagnostic_names_the_resource_and_terraforms_summary(tmp_path):
    (tmp_path / "main.tf.json").write_text(json.dumps({"resource": {"terraform_data": {"broken": {"input": "${var.nowhere}"}}}}))
    terraform = Terraform("toy", tmp_path)
    terraform.init()
    with pytest.raises(TerraformError) as raised:
        terraform.plan()
    assert raised.value.stack == "toy" and raised.value.command == "plan"
    assert any("Reference to undeclared input variable" in d for d in raised.value.diagnostics), raised.value.diagnostics


def test_stream_events_parse_as_terraform_documents_them():
    """Lines as Terraform 1.11 writes them (Machine-Readable UI), fields this project does not read included."""
    complete = StreamEvent.parse('{"@level":"info","@message":"x: Creation complete after 6s","type":"apply_complete",'
                                 '"hook":{"resource":{"addr":"aws_vpc.x","module":"","resource":"aws_vpc.x",'
                                 '"resource_type":"aws_vpc","resource_name":"x"},"action":"create","id_key":"id",'
                                 '"id_value":"vpc-1","elapsed_seconds":6}}')
    assert (complete.type, complete.address, complete.action, complete.elapsed) == ("apply_complete", "aws_vpc.x", "create", 6)
    summary = StreamEvent.parse('{"type":"change_summary","changes":{"add":3,"change":1,"import":0,"remove":2,"operation":"plan"}}')
    assert summary.changes is not None and (summary.operation, summary.changes.total) == ("plan", 6)
    error = StreamEvent.parse('{"type":"diagnostic","diagnostic":{"severity":"error","summary":"creating VPC",'
                              '"detail":"api error","address":"aws_vpc.x"}}')
    assert error.diagnostic is not None and error.diagnostic.is_error
    assert str(error.diagnostic) == "aws_vpc.x: creating VPC: api error"
    assert StreamEvent.parse('{"type":"version","terraform":"1.11.4"}').changes is None


def test_an_apply_that_fails_part_way_says_what_it_changed_first(tmp_path):
    """deploy counts it when it applies a stack again after adoption (orchestration/deploy.py)."""
    (tmp_path / "main.tf.json").write_text(json.dumps({"resource": {"terraform_data": {
        "fine": {"input": "one"},
        "broken": {"depends_on": ["terraform_data.fine"], "provisioner": [{"local-exec": {"command": "exit 3"}}]},
    }}}))
    terraform = Terraform("toy", tmp_path)
    terraform.init()
    with pytest.raises(TerraformError) as raised:
        terraform.apply()
    assert raised.value.progress is not None
    assert raised.value.progress.applied == ChangeSummary(1, 0, 0)
    assert any("local-exec" in d or "exit status 3" in d for d in raised.value.diagnostics), raised.value.diagnostics
