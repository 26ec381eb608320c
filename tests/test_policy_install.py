"""checkov is installed the first time a plan review needs it, not by scripts/setup (issue: the
first run in minutes): once, under a lock, and a failure says what failed. The install itself is
replaced by a fake that makes the executable, so these tests need neither pip nor a network; the
real install runs in `scripts/test` (`scripts/setup --with-checkov`) before the suite."""

from __future__ import annotations

import fcntl
import functools
import json
import subprocess
import threading
import time
from types import SimpleNamespace

import pytest

from orchestration.errors import SetupError
from orchestration.review import policy
from orchestration.terraform.tfjson import PlanDocument


REAL_RUN = subprocess.run
# What checkov prints for a plan with one failed check (its `-o json` report, trimmed).
REPORT = {"results": {"failed_checks": [
    {"resource": "aws_s3_bucket.b", "check_id": "CKV_AWS_18", "check_name": "Ensure the S3 bucket has access logging enabled"}]}}


class FakeInstall:
    """Stands in for `python -m venv` and `pip install`: records each command, checks that the
    install lock is held while pip runs, and makes an executable as pip would: a checkov that
    prints REPORT. Other commands (that checkov) run for real."""

    def __init__(self, tools, returncode=0, output=""):
        self.tools = tools
        self.returncode = returncode
        self.output = output
        self.commands: list[list[str]] = []
        self.pip_started = threading.Event()
        self.pip_may_finish = threading.Event()
        self.pip_may_finish.set()

    def run(self, command, **kwargs):
        if command[0].endswith("/checkov"):
            return REAL_RUN(command, **kwargs)
        self.commands.append(command)
        if command[1:3] == ["-m", "venv"]:
            (self.tools / "checkov" / "bin").mkdir(parents=True, exist_ok=True)
            return subprocess.CompletedProcess(command, 0, stdout="", stderr="")
        assert self.lock_is_held(), "pip ran without the install lock"
        self.pip_started.set()
        assert self.pip_may_finish.wait(10)
        if self.returncode == 0:
            executable = self.tools / "checkov" / "bin" / "checkov"
            executable.write_text(f"#!/bin/sh\necho '{json.dumps(REPORT)}'\n")
            executable.chmod(0o755)
        return subprocess.CompletedProcess(command, self.returncode, stdout="", stderr=self.output)

    def lock_is_held(self) -> bool:
        with open(self.tools / "checkov.lock", "w") as probe:
            try:
                fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            return False

    @property
    def pip_commands(self):
        return [c for c in self.commands if "pip" in c[0]]


@pytest.fixture
def fake_install(tmp_path, monkeypatch):
    fake = FakeInstall(tmp_path)
    monkeypatch.setattr(policy.subprocess, "run", fake.run)
    return fake


def test_the_first_call_installs_the_pinned_version_once_and_says_so(tmp_path, fake_install):
    said = []
    executable = policy.ensure_checkov(log=said.append, tools=tmp_path)
    assert executable == tmp_path / "checkov" / "bin" / "checkov" and executable.is_file()
    assert fake_install.pip_commands == [[str(tmp_path / "checkov" / "bin" / "pip"), "install", "--quiet",
                                          "--disable-pip-version-check", f"checkov=={policy.CHECKOV_VERSION}"]]
    assert len(said) == 1 and f"installing checkov {policy.CHECKOV_VERSION}" in said[0] and "once per clone" in said[0]

    # The next review uses that install: no pip, no message.
    said.clear()
    assert policy.ensure_checkov(log=said.append, tools=tmp_path) == executable
    assert len(fake_install.pip_commands) == 1 and said == []


def test_an_existing_install_of_the_pinned_version_is_used_without_pip(tmp_path, monkeypatch):
    executable = tmp_path / "checkov" / "bin" / "checkov"
    executable.parent.mkdir(parents=True)
    executable.write_text("#!/bin/sh\n")
    (tmp_path / "checkov" / f".installed-{policy.CHECKOV_VERSION}").touch()

    def no_subprocess(*args, **kwargs):
        raise AssertionError(f"ran {args} for an installed checkov")

    monkeypatch.setattr(policy.subprocess, "run", no_subprocess)
    assert policy.ensure_checkov(log=pytest.fail, tools=tmp_path) == executable


def test_an_install_of_another_version_is_replaced_by_the_pinned_one(tmp_path, fake_install):
    executable = tmp_path / "checkov" / "bin" / "checkov"
    executable.parent.mkdir(parents=True)
    executable.write_text("#!/bin/sh\n")
    (tmp_path / "checkov" / ".installed-3.0.0").touch()
    policy.ensure_checkov(log=lambda line: None, tools=tmp_path)
    assert len(fake_install.pip_commands) == 1
    assert [p.name for p in (tmp_path / "checkov").glob(".installed-*")] == [f".installed-{policy.CHECKOV_VERSION}"]


def test_two_reviews_starting_together_install_once_the_second_waiting_for_the_first(tmp_path, fake_install):
    fake_install.pip_may_finish.clear()
    said = {"first": [], "second": []}
    found = {}

    def review(name):
        found[name] = policy.ensure_checkov(log=said[name].append, tools=tmp_path)

    first = threading.Thread(target=review, args=("first",))
    first.start()
    assert fake_install.pip_started.wait(10)
    second = threading.Thread(target=review, args=("second",))
    second.start()
    deadline = time.monotonic() + 10
    while not said["second"] and time.monotonic() < deadline:
        time.sleep(0.01)
    fake_install.pip_may_finish.set()
    first.join(10)
    second.join(10)

    assert len(fake_install.pip_commands) == 1
    assert said["second"] and "waiting for the checkov install another process started" in said["second"][0]
    assert len(said["second"]) == 1, "the second review installed as well"
    assert found["first"] == found["second"] == tmp_path / "checkov" / "bin" / "checkov"


def test_a_failed_install_raises_setup_error_with_the_command_and_pip_output_and_is_retried(tmp_path, fake_install):
    fake_install.returncode = 1
    fake_install.output = ("WARNING: Location '/opt/pypi-more/simple' is ignored: it is neither a file nor a directory.\n"
                           f"ERROR: No matching distribution found for checkov=={policy.CHECKOV_VERSION}\n")
    with pytest.raises(SetupError) as failure:
        policy.ensure_checkov(log=lambda line: None, tools=tmp_path)
    message = str(failure.value)
    assert f"pip install --quiet --disable-pip-version-check checkov=={policy.CHECKOV_VERSION}` exited 1" in message
    assert f"No matching distribution found for checkov=={policy.CHECKOV_VERSION}" in message
    assert "is ignored" not in message

    # Nothing marks the failed install as done: the next review tries again.
    fake_install.returncode = 0
    assert policy.ensure_checkov(log=lambda line: None, tools=tmp_path).is_file()
    assert len(fake_install.pip_commands) == 2


def test_the_plan_reviews_checkov_check_installs_checkov_when_first_needed_and_runs_it(
        tmp_path, fake_install, monkeypatch, capsys):
    monkeypatch.setattr(policy, "ensure_checkov", functools.partial(policy.ensure_checkov, tools=tmp_path))
    suppressed = {"aws_s3_bucket": {"b": {"//": {"checkov": {"CKV_AWS_18": "logs go to the central bucket"}}}}}
    result = SimpleNamespace(stack_json=lambda stack: {"resource": suppressed})
    findings = policy.checkov(result, "emr-account", PlanDocument.parse({"planned_values": {}}))
    assert len(fake_install.pip_commands) == 1
    # On stderr, with the review's progress: `plan` prints the review itself on stdout.
    captured = capsys.readouterr()
    assert f"installing checkov {policy.CHECKOV_VERSION}" in captured.err and captured.out == ""
    assert [(f.tool, f.stack, f.resource, f.suppressed) for f in findings] == [("checkov", "emr-account", "aws_s3_bucket.b", True)]


def test_the_plan_review_fails_with_setup_error_when_checkov_cannot_be_installed(tmp_path, fake_install, monkeypatch):
    """Not a quiet finding: a review without its policy checks must not pass for a clean one."""
    monkeypatch.setattr(policy, "ensure_checkov", functools.partial(policy.ensure_checkov, tools=tmp_path))
    fake_install.returncode = 1
    with pytest.raises(SetupError, match="installing checkov"):
        policy.checkov(SimpleNamespace(stack_json=lambda stack: {}), "emr-account", PlanDocument.parse({}))
