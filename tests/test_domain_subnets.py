"""The domain's subnets follow the environment file through UpdateDomain, in place (the provider
would replace the domain: hashicorp/terraform-provider-aws#48778)."""

from __future__ import annotations

import pytest

from config import ENVS_DIR, yamlio
from config.loader import parse
from orchestration.aws.accounts import Accounts
from orchestration.aws.domain_subnets import sync_domain_subnets
from tests.emulator_support import emulator  # noqa: F401 (fixture)

pytestmark = pytest.mark.emulator


def test_a_subnet_added_to_the_file_joins_the_same_domain(emulator):  # noqa: F811
    data = yamlio.load(ENVS_DIR / "local.yaml")
    cidrs = data["environment"]["studio_account"]["network"]["private_subnet_cidrs"]
    env = parse(data, "local.yaml")
    accounts = Accounts(env, emulator)
    studio = accounts.studio()
    ec2, sagemaker = studio.client("ec2"), studio.client("sagemaker")
    vpc = ec2.create_vpc(CidrBlock=data["environment"]["studio_account"]["network"]["cidr"])["Vpc"]["VpcId"]
    subnets = {cidr: ec2.create_subnet(VpcId=vpc, CidrBlock=cidr)["Subnet"]["SubnetId"] for cidr in cidrs + ["10.0.22.0/24"]}
    role = "arn:aws:iam::111111111111:role/OrganizationAccountAccessRole"
    domain_id = sagemaker.create_domain(DomainName=env.environment.domain.name, AuthMode="IAM", VpcId=vpc,
                                        SubnetIds=[subnets[c] for c in cidrs],
                                        DefaultUserSettings={"ExecutionRole": role})["DomainId"]
    lines: list[str] = []
    assert sync_domain_subnets(env, accounts, lines.append) is None  # already in step: no call
    data["environment"]["studio_account"]["network"]["private_subnet_cidrs"] = cidrs + ["10.0.22.0/24"]
    moved = sync_domain_subnets(parse(data, "local.yaml"), accounts, lines.append)
    assert moved == sorted(subnets.values())
    assert sorted(sagemaker.describe_domain(DomainId=domain_id)["SubnetIds"]) == sorted(subnets.values())
    assert [d["DomainId"] for d in sagemaker.list_domains()["Domains"]] == [domain_id]  # the same domain
    assert "updated in place" in lines[-1] and "#48778" in lines[-1]
