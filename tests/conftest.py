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
