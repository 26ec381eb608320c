"""Errors of running the system: synthesis, terraform and the toolchain. Each is a
StudioEmrError, which the CLI reports without a traceback (exit code 1)."""

from __future__ import annotations

from config import StudioEmrError


class SynthError(StudioEmrError):
    """Synthesis failed (the CDK app raised, or the output is not what the stacks declare)."""


class TerraformError(StudioEmrError):
    """A terraform command failed; ``diagnostics`` are Terraform's own error summaries."""

    def __init__(self, stack: str, command: str, diagnostics: list[str]):
        self.stack = stack
        self.command = command
        self.diagnostics = diagnostics
        self.progress = None  # an apply's Progress (orchestration/terraform/runner.py): what it changed first
        detail = "\n".join(f"  {d}" for d in diagnostics) or "  (no diagnostics)"
        super().__init__(f"terraform {command} failed for stack {stack}:\n{detail}")


class SetupError(StudioEmrError):
    """The toolchain is not installed as the project expects (run the README's setup)."""
