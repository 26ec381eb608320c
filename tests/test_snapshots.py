"""Snapshots of every environment x stack, reviewed like code.

A change to the synthesized JSON fails here until the snapshot is rewritten with
`pytest tests/test_snapshots.py --update-snapshots` and the diff is reviewed in the commit.
"""

from __future__ import annotations

import difflib
import json
from pathlib import Path

import pytest

from conftest import SAMPLE_ENVS

SNAPSHOTS = Path(__file__).parent / "snapshots"


@pytest.mark.parametrize("env_name", SAMPLE_ENVS)
def test_stacks_match_their_snapshots(env_name, synthesized, request):
    result = synthesized(env_name)
    directory = SNAPSHOTS / env_name
    update = request.config.getoption("--update-snapshots")
    if update:
        directory.mkdir(parents=True, exist_ok=True)
        for stale in set(p.stem for p in directory.glob("*.json")) - set(result.stacks):
            (directory / f"{stale}.json").unlink()
    recorded = sorted(p.stem for p in directory.glob("*.json"))
    assert update or recorded == sorted(result.stacks), f"{env_name}: snapshots {recorded} vs stacks {result.stacks}"
    for stack in result.stacks:
        current = json.dumps(result.stack_json(stack), indent=2, sort_keys=True) + "\n"
        path = directory / f"{stack}.json"
        if update:
            path.write_text(current)
        elif current != path.read_text():
            diff = "".join(difflib.unified_diff(path.read_text().splitlines(True), current.splitlines(True),
                                                "snapshot", "synthesized", n=2))
            pytest.fail(f"{env_name}/{stack} differs from tests/snapshots/{env_name}/{stack}.json; review the "
                        f"change and rerun with --update-snapshots:\n{diff[:3000]}")
