"""SM-4: apps are created by users in Studio, outside Terraform, and block the deletion of
their user profile and domain; they are deleted (and waited for) before the domain is destroyed."""

from __future__ import annotations

import time

from config import EnvironmentFile, StudioEmrError

from .accounts import Accounts

APP_DELETE_TIMEOUT_SECONDS = 900


def find_domain_id(env: EnvironmentFile, accounts: Accounts) -> str | None:
    sagemaker = accounts.studio().client("sagemaker")
    for domain in sagemaker.list_domains().get("Domains", []):
        if domain["DomainName"] == env.environment.domain.name:
            return domain["DomainId"]
    return None


def delete_domain_apps(env: EnvironmentFile, accounts: Accounts, log) -> int:
    domain_id = find_domain_id(env, accounts)
    if domain_id is None:
        return 0
    sagemaker = accounts.studio().client("sagemaker")

    def live_apps() -> list[dict]:
        apps = sagemaker.list_apps(DomainIdEquals=domain_id).get("Apps", [])
        return [a for a in apps if a["Status"] not in ("Deleted", "Failed")]

    apps = live_apps()
    for app in apps:
        if app["Status"] != "Deleting":
            log(f"[studio-account] deleting app {app['AppType']}/{app['AppName']} of {app.get('UserProfileName')}")
            owner = {"UserProfileName": app["UserProfileName"]} if "UserProfileName" in app else {"SpaceName": app["SpaceName"]}
            sagemaker.delete_app(DomainId=domain_id, AppType=app["AppType"], AppName=app["AppName"], **owner)
    deadline = time.monotonic() + APP_DELETE_TIMEOUT_SECONDS
    while live_apps():
        if time.monotonic() > deadline:
            raise StudioEmrError(f"apps of domain {domain_id} still not deleted after {APP_DELETE_TIMEOUT_SECONDS} s")
        time.sleep(5)
    return len(apps)
