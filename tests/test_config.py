"""Environment files: the samples are valid; every file of the bad corpus is rejected with
the file, the key path and the value named."""

from __future__ import annotations

from pathlib import Path

import pytest

from config import ENVS_DIR, ConfigError, load_env, load_file, yamlio
from config.loader import parse

BAD = sorted((Path(__file__).parent / "bad_envs").glob("*.yaml"))


def expected_message(path: Path) -> str:
    first = path.read_text().splitlines()[0]
    assert first.startswith("# expect: "), f"{path.name} must start with '# expect: <message>'"
    return first.removeprefix("# expect: ")


@pytest.mark.parametrize("path", BAD, ids=[p.stem for p in BAD])
def test_bad_environment_is_rejected_with_its_message(path):
    with pytest.raises(ConfigError) as caught:
        load_file(path)
    message = str(caught.value)
    assert expected_message(path) in message
    assert f"{path.name}" in message.splitlines()[0], "every problem line names the file"
    assert caught.value.exit_code == 2


def test_the_corpus_covers_every_rule():
    assert len(BAD) >= 15


@pytest.mark.parametrize("name", ["local", "dev", "staging", "prod"])
def test_sample_environments_are_valid(name):
    env = load_env(name)
    assert env.environment.name == name
    assert not env.is_single_account


def test_environment_name_must_match_file(tmp_path):
    (tmp_path / "qa.yaml").write_text((ENVS_DIR / "local.yaml").read_text())
    with pytest.raises(ConfigError, match=r"environment.name = 'local': must match the file name 'qa'"):
        load_env("qa", envs_dir=tmp_path)


def test_unknown_environment_lists_the_known_ones(tmp_path):
    (tmp_path / "a.yaml").write_text("")
    with pytest.raises(ConfigError, match=r"no such environment file \(environments: a\)"):
        load_env("nope", envs_dir=tmp_path)


def test_all_problems_are_reported_at_once(tmp_path):
    data = {"environment": {"name": "x", "studio_account": {"account_id": "1", "region": "mars"}}}
    with pytest.raises(ConfigError) as caught:
        parse(data, "envs/x.yaml")
    keys = "\n".join(caught.value.problems)
    for key in ("environment.studio_account.account_id", "environment.studio_account.region",
                "environment.studio_account.network", "environment.emr_accounts", "environment.domain"):
        assert key in keys


def test_single_account_layout_has_no_peered_accounts():
    text = (ENVS_DIR / "local.yaml").read_text()
    data = yamlio.load(text)
    emr = data["environment"]["emr_accounts"][0]
    emr["account_id"] = data["environment"]["studio_account"]["account_id"]
    del emr["network"]
    env = parse(data, "inline")
    assert env.is_single_account
    assert env.peered_emr_accounts == []


def test_emulator_accounts_are_entered_by_assume_role():
    env = load_env("local")
    creds = env.credentials_for(env.environment.emr_accounts[0])
    assert creds.role_arn == "arn:aws:iam::222222222222:role/OrganizationAccountAccessRole"
    dev = load_env("dev")
    assert dev.credentials_for(dev.environment.studio_account).profile == "studio-dev"
