"""The small set of typed errors the library raises; the CLI maps each to an exit code."""

from __future__ import annotations


class StudioEmrError(Exception):
    """Base of every error this project raises on purpose."""

    exit_code = 1


class ConfigError(StudioEmrError):
    """An environment file is missing, unreadable or invalid.

    ``problems`` holds one line per fault, each naming the file, the key path and the value.
    """

    exit_code = 2

    def __init__(self, path: str, problems: list[str]):
        self.path = path
        self.problems = problems
        super().__init__("\n".join(problems))


class SynthError(StudioEmrError):
    """Synthesis failed (the CDK app raised, or the output is not what the stacks declare)."""


class TerraformError(StudioEmrError):
    """A terraform command failed; ``diagnostics`` are Terraform's own error summaries."""

    def __init__(self, stack: str, command: str, diagnostics: list[str]):
        self.stack = stack
        self.command = command
        self.diagnostics = diagnostics
        detail = "\n".join(f"  {d}" for d in diagnostics) or "  (no diagnostics)"
        super().__init__(f"terraform {command} failed for stack {stack}:\n{detail}")


class SetupError(StudioEmrError):
    """The toolchain is not installed as the project expects (run the README's setup)."""
