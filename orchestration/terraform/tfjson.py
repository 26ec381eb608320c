"""Typed views of Terraform's machine-readable output: the ``-json`` event stream of plan and
apply, ``show -json`` of a saved plan, and the state ``state pull`` prints.

Only the fields this project reads are modelled, as Terraform documents them ("JSON Output
Format" and "Machine-Readable UI" in Terraform's documentation, both format version 1.x, whose
minor versions only add fields). Each view keeps the document it came from (``raw``) for the
tools that take it whole (checkov reads the plan file's JSON).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Diagnostic:
    severity: str
    summary: str
    detail: str = ""
    address: str | None = None

    @classmethod
    def parse(cls, data: dict) -> Diagnostic:
        return cls(data.get("severity", ""), data.get("summary", ""), data.get("detail", "") or "", data.get("address"))

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def __str__(self) -> str:
        where = f"{self.address}: " if self.address else ""
        return f"{where}{self.summary}" + (f": {self.detail}" if self.detail else "")


@dataclass(frozen=True)
class ChangeSummary:
    """What a plan would change or an apply changed: a ``change_summary`` event's counts."""

    add: int
    change: int
    remove: int

    @property
    def is_empty(self) -> bool:
        return self.add == self.change == self.remove == 0

    @property
    def total(self) -> int:
        return self.add + self.change + self.remove

    def __add__(self, other: ChangeSummary) -> ChangeSummary:
        return ChangeSummary(self.add + other.add, self.change + other.change, self.remove + other.remove)


@dataclass(frozen=True)
class StreamEvent:
    """One line of ``terraform plan|apply -json``. ``address`` and ``action`` are the hook's
    resource and action (apply_start, apply_complete, apply_errored, ...); ``elapsed`` is the
    seconds an apply_complete reports; a change_summary has ``changes`` and its ``operation``
    (plan, apply or destroy)."""

    type: str
    address: str | None = None
    action: str | None = None
    elapsed: float | None = None
    changes: ChangeSummary | None = None
    operation: str | None = None
    diagnostic: Diagnostic | None = None

    @classmethod
    def parse(cls, line: str) -> StreamEvent:
        data = json.loads(line)
        hook = data.get("hook") or {}
        summary = (data.get("changes") or None) if data.get("type") == "change_summary" else None
        return cls(
            type=data.get("type", ""),
            address=(hook.get("resource") or {}).get("addr"),
            action=hook.get("action"),
            elapsed=hook.get("elapsed_seconds"),
            changes=ChangeSummary(summary.get("add", 0), summary.get("change", 0), summary.get("remove", 0)) if summary else None,
            operation=summary.get("operation") if summary else None,
            diagnostic=Diagnostic.parse(data["diagnostic"]) if data.get("type") == "diagnostic" else None,
        )


@dataclass(frozen=True)
class ResourceChange:
    """One entry of a plan's ``resource_changes``."""

    address: str
    type: str
    name: str
    mode: str
    actions: tuple[str, ...]
    before: dict[str, Any]
    after: dict[str, Any]
    after_unknown: dict[str, Any]

    @classmethod
    def parse(cls, data: dict) -> ResourceChange:
        change = data.get("change") or {}
        return cls(data["address"], data["type"], data.get("name", ""), data.get("mode", "managed"),
                   tuple(change.get("actions") or ()), change.get("before") or {}, change.get("after") or {},
                   change.get("after_unknown") or {})


@dataclass(frozen=True)
class PlanDocument:
    """``terraform show -json <planfile>``."""

    resource_changes: tuple[ResourceChange, ...]
    raw: dict = field(repr=False, compare=False)

    @classmethod
    def parse(cls, data: dict) -> PlanDocument:
        return cls(tuple(ResourceChange.parse(c) for c in data.get("resource_changes", [])), data)


@dataclass(frozen=True)
class StateResource:
    """One managed resource instance in a stack's state (top-level module only)."""

    address: str
    type: str
    values: dict[str, Any]

    @classmethod
    def all_in(cls, state: dict) -> list[StateResource]:
        """The managed instances of a state document (``terraform state pull``)."""
        found = []
        for resource in state.get("resources", []):
            if resource.get("mode") != "managed" or resource.get("module"):
                continue
            for instance in resource.get("instances", []):
                key = instance.get("index_key")
                suffix = "" if key is None else f"[{json.dumps(key)}]"
                found.append(cls(f"{resource['type']}.{resource['name']}{suffix}", resource["type"],
                                 instance.get("attributes") or {}))
        return found
