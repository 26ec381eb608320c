"""The errors of configuration: the base every error of this project derives from (the CLI maps
each to an exit code) and an invalid environment file. Errors of running the system (synthesis,
terraform, the toolchain) live with it, in orchestration/errors.py."""

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
