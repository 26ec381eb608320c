"""Shared fixtures: the project's toolchain on PATH, and each environment synthesized once."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_ENVS = ("local", "dev", "staging", "prod")

# jsii spawns `node`; the project's Node 22 comes first (scripts/setup installs it).
os.environ["PATH"] = str(ROOT / "node_modules" / ".bin") + os.pathsep + os.environ.get("PATH", "")


def pytest_addoption(parser):
    parser.addoption(
        "--update-snapshots",
        action="store_true",
        help="Rewrite tests/snapshots from the current synthesis instead of comparing against them.",
    )


@pytest.fixture(scope="session", autouse=True)
def emulators_failed_no_request(tmp_path_factory):
    """After the whole session: no emulator a test started failed a request itself (a 5xx
    answer or a traceback in its log, emulator.journal.server_errors). A test that passed
    through such an answer (the provider retries a 500) would prove nothing about AWS."""
    yield
    from emulator.journal import server_errors

    base = tmp_path_factory.getbasetemp()
    failed = {str(log.relative_to(base)): errors for log in sorted(base.rglob("emulator.log*"))
              if (errors := server_errors(log))}
    assert not failed, "emulators failed requests themselves: " + "; ".join(
        f"{log}: " + ", ".join(f"{error} x{count}" for error, count in errors.most_common()) for log, errors in failed.items())


@pytest.fixture(scope="session")
def synthesized():
    """Synthesize an environment once per session: ``synthesized("dev")`` -> SynthResult."""
    from orchestration.terraform.synth import synth

    cache = {}

    def get(env_name: str):
        if env_name not in cache:
            cache[env_name] = synth(env_name)
        return cache[env_name]

    return get
