"""The environment's Studio domain, found by its name in the Studio account."""

from __future__ import annotations

from config import EnvironmentFile

from .accounts import Accounts


def domain_ids(env: EnvironmentFile, accounts: Accounts) -> list[str]:
    sagemaker = accounts.studio().client("sagemaker")
    return [d["DomainId"] for page in sagemaker.get_paginator("list_domains").paginate() for d in page.get("Domains", [])
            if d["DomainName"] == env.environment.domain.name]


def find_domain_id(env: EnvironmentFile, accounts: Accounts) -> str | None:
    return next(iter(domain_ids(env, accounts)), None)
