"""The typed topology model (issue 10 §1): one place says which stacks an environment has, of
which kind, in which account, and what each depends on; synthesis refuses an app whose
values taken from other stacks disagree with it, and the apply order comes from it."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest

from config import load_env
from orchestration.errors import SynthError
from orchestration.terraform.synth import Workspace, synth_env
from stacks import topology
from stacks.paths import PROJECT_ROOT
from stacks.topology import StackKind, Topology, TopologyError, waves


def test_prod_is_a_hub_with_two_spokes_each_kind_in_its_account():
    model = Topology.of(load_env("prod"))
    kinds = {spec.id: spec.kind for spec in model.stacks}
    assert kinds == {
        "studio-account": StackKind.STUDIO, "emr-account": StackKind.EMR, "emr-account-analytics": StackKind.EMR,
        "studio-account-peering": StackKind.PEERING_REQUEST, "emr-account-link": StackKind.EMR_LINK,
        "emr-account-analytics-link": StackKind.EMR_LINK, "studio-account-link": StackKind.STUDIO_LINK,
    }
    studio = model.stack("studio-account").account_id
    assert {s.account_id for s in model.of_kind(StackKind.PEERING_REQUEST, StackKind.STUDIO_LINK)} == {studio}
    for link in model.of_kind(StackKind.EMR_LINK):
        assert link.account_id == link.emr_account.account_id != studio
        assert set(link.depends_on) == {"studio-account", "studio-account-peering", link.emr_account.stack_id}
    assert waves(model.dependencies()) == [
        ["emr-account", "emr-account-analytics", "studio-account"], ["studio-account-peering"],
        ["emr-account-analytics-link", "emr-account-link"], ["studio-account-link"]]
    with pytest.raises(TopologyError, match="unknown stack nope; environment prod has studio-account"):
        model.stack("nope")


def test_the_model_is_immutable():
    model = Topology.of(load_env("dev"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        model.stacks[0].depends_on = ()  # type: ignore[misc]


def test_synthesis_refuses_stacks_whose_references_the_model_does_not_declare(tmp_path, monkeypatch):
    """A value newly taken from another stack (or a new stack) is a change in the model too, or
    synthesis says which."""
    real = Topology.of

    def forgetful(env):
        model = real(env)
        return dataclasses.replace(model, stacks=tuple(
            dataclasses.replace(s, depends_on=tuple(d for d in s.depends_on if d != "studio-account"))
            if s.id == "emr-account-link" else s for s in model.stacks))

    monkeypatch.setattr(topology.Topology, "of", staticmethod(forgetful))
    with pytest.raises(SynthError, match=r"stack emr-account-link reads from \['emr-account', 'studio-account', "
                                         r"'studio-account-peering'\], but the topology model \(stacks/topology.py\) "
                                         r"declares \['emr-account', 'studio-account-peering'\]"):
        synth_env(load_env("dev"), Workspace(tmp_path / "cdktf.out", tmp_path / "state"))


def test_the_long_commands_synthesize_in_a_child_process_that_writes_the_same_stacks(tmp_path):
    """deploy, destroy, plan and inventory synthesize with isolated=True: the stacks are the
    same as an in-process synthesis writes, and the calling process never loads the CDK library
    (jsii's node would stay beside it for the whole command): plain data the commands read, such as
    the EMR product's template (modules/emr_product.py) and the notebook's lifecycle script that the
    journey runs (modules/notebook_script.py), lives apart from the constructs."""
    probe = ("import sys\n"
             "from pathlib import Path\n"
             "from config import load_env\n"
             "from orchestration.terraform.synth import Workspace, synth_env\n"
             "import main  # the CLI, and the modules of the long commands\n"
             "import orchestration.deploy, orchestration.review.plan, orchestration.aws.verify, orchestration.aws.inventory\n"
             "import orchestration.aws.journey, orchestration.aws.notebook\n"
             f"result = synth_env(load_env('dev'), Workspace(Path({str(tmp_path / 'child')!r}), Path({str(tmp_path / 'state')!r})), isolated=True)\n"
             "print(sorted(m for m in sys.modules if m.split('.')[0] in ('cdktn', 'jsii', 'constructs', 'imports')))\n"
             "print(','.join(result.stacks))\n")
    done = subprocess.run([sys.executable, "-c", probe], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True)
    loaded, stacks = done.stdout.strip().splitlines()[-2:]
    assert loaded == "[]"
    in_process = synth_env(load_env("dev"), Workspace(tmp_path / "parent", tmp_path / "state"))
    assert stacks.split(",") == in_process.stacks
    for stack in in_process.stacks:
        child = (tmp_path / "child" / "dev" / "stacks" / stack / "cdk.tf.json").read_text()
        assert child == in_process.stack_dir(stack).joinpath("cdk.tf.json").read_text().replace(
            str(tmp_path / "parent"), str(tmp_path / "child")), stack


def test_a_synthesis_error_in_the_child_process_reaches_the_caller_with_its_message(tmp_path):
    env = load_env("dev")
    catalog = env.promoted.service_catalog.model_copy(update={"bootstrap_script": "assets/no-such-bootstrap.sh"})
    broken = env.model_copy(update={"promoted": env.promoted.model_copy(update={"service_catalog": catalog})})
    with pytest.raises(SynthError, match=r"synthesis of environment 'dev' failed: .*No such file or directory: "
                                         r"'.*assets/no-such-bootstrap.sh'"):
        synth_env(broken, Workspace(tmp_path / "cdktf.out", tmp_path / "state"), isolated=True)
