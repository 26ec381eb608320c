"""`plan` stops the emulator it started and leaves one it found running alone (a CI runner keeps
no server behind; a deployed environment keeps its emulator). The planning itself is replaced by
a stand-in that records which emulator it was given: what is tested is the emulator's lifecycle."""

from __future__ import annotations

import os
import shutil

import pytest

from config import ENVS_DIR, load_env
from orchestration.local import emulator as emulator_control
from orchestration.review import plan as plan_module
from orchestration.review.report import Review
from orchestration.terraform.synth import Workspace

pytestmark = pytest.mark.emulator


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


@pytest.fixture
def planned(monkeypatch):
    """The emulators the plans were given, each checked to answer while planning."""
    given: list[emulator_control.Emulator] = []

    def stand_in(env, running, workspace, log):
        assert running is not None and running.alive(), "the plan was given no running emulator"
        given.append(running)
        return Review(env.environment.name, [], [], [])

    monkeypatch.setattr(plan_module, "_plan", stand_in)
    return given


def test_an_emulator_started_for_the_plan_is_stopped_when_it_ends(tmp_path, planned):
    workspace = Workspace(tmp_path / "out", tmp_path / "state")
    lines: list[str] = []
    plan_module.plan_env(load_env("dev"), emulator=True, workspace=workspace, log=lines.append)
    [used] = planned
    assert not alive(used.pid), "the emulator the plan started still runs"
    assert emulator_control.current(workspace.state_root / plan_module.EMULATOR_PLANS) is None
    assert lines[-1] == f"emulator: stopped (pid {used.pid}), which this plan started"


def test_an_emulator_started_for_the_plan_is_stopped_when_the_plan_fails(tmp_path, monkeypatch):
    given = []

    def failing(env, running, workspace, log):
        given.append(running)
        raise plan_module.StudioEmrError("planning failed")

    monkeypatch.setattr(plan_module, "_plan", failing)
    workspace = Workspace(tmp_path / "out", tmp_path / "state")
    with pytest.raises(plan_module.StudioEmrError, match="planning failed"):
        plan_module.plan_env(load_env("local"), workspace=workspace, log=lambda line: None)
    assert not alive(given[0].pid)


def test_an_emulator_already_running_is_left_running(tmp_path, planned):
    workspace = Workspace(tmp_path / "out", tmp_path / "state")
    running = emulator_control.ensure_running(["local"], workspace.state_root, log=lambda line: None)
    try:
        plan_module.plan_env(load_env("local"), workspace=workspace, log=lambda line: None)
        assert planned == [running]
        assert emulator_control.current(workspace.state_root) == running, "the deployed environment's emulator was stopped"
    finally:
        emulator_control.stop(workspace.state_root)


def test_promote_stops_the_emulator_its_plan_started(tmp_path, planned):
    from orchestration.review.promote import promote

    envs = tmp_path / "envs"
    shutil.copytree(ENVS_DIR, envs)
    workspace = Workspace(tmp_path / "out", tmp_path / "state")
    result = promote("dev", "staging", emulator=True, envs_dir=envs, workspace=workspace, log=lambda line: None)
    assert result.review is not None, "promote planned nothing"
    [used] = planned
    assert not alive(used.pid), "the emulator promote's plan started still runs"
