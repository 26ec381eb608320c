"""`terraform validate` of every synthesized stack, with the provider from the mirror.

Binding/provider mismatches pass synthesis silently and fail only here."""

from __future__ import annotations

import pytest

from conftest import SAMPLE_ENVS
from orchestration.terraform.synth import terraform_validate

pytestmark = pytest.mark.terraform


@pytest.mark.parametrize("env_name", SAMPLE_ENVS)
def test_every_stack_validates(env_name, synthesized):
    result = synthesized(env_name)
    errors = terraform_validate(result)
    assert sorted(errors) == sorted(result.stacks)
    assert {stack: diags for stack, diags in errors.items() if diags} == {}
