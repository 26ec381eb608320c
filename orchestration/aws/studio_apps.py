"""The environment's Studio domain, found by its name in the Studio account."""

from __future__ import annotations

from config import EnvironmentFile

from orchestration.aws.accounts import Accounts, all_pages


def domain_ids(env: EnvironmentFile, accounts: Accounts) -> list[str]:
    sagemaker = accounts.studio().client("sagemaker")
    return [d["DomainId"] for d in all_pages(sagemaker, "list_domains", "Domains") if d["DomainName"] == env.environment.domain.name]


def find_domain_id(env: EnvironmentFile, accounts: Accounts) -> str | None:
    return next(iter(domain_ids(env, accounts)), None)
