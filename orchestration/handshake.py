"""The cross-account peering handshake, observed through the live EC2 API (NET-3):
request (Studio account) -> pending-acceptance -> accept (EMR account) -> active."""

from __future__ import annotations

import time

from config import EmrAccount, EnvironmentFile, StudioEmrError
from stacks import naming

from .accounts import Accounts

PENDING = "pending-acceptance"
ACTIVE = "active"
# A connection in one of these states will never become active: a new request is needed.
DEAD = {"rejected", "failed", "expired", "deleted", "deleting"}


class PeeringError(StudioEmrError):
    """A peering connection was rejected, failed, expired, or did not progress in time."""


def live_connections(env: EnvironmentFile, accounts: Accounts) -> dict[str, dict]:
    """The live (not dead) peering connection of each peered EMR account, by EMR stack id."""
    ec2 = accounts.studio().client("ec2")
    found = {}
    for account in env.peered_emr_accounts:
        name = naming.peering_tags(env, account)["Name"]
        response = ec2.describe_vpc_peering_connections(Filters=[{"Name": "tag:Name", "Values": [name]}])
        live = [c for c in response["VpcPeeringConnections"] if c["Status"]["Code"] not in DEAD]
        if live:
            found[account.stack_id] = live[0]
    return found


def dead_connections(env: EnvironmentFile, accounts: Accounts, account: EmrAccount) -> list[dict]:
    ec2 = accounts.studio().client("ec2")
    name = naming.peering_tags(env, account)["Name"]
    response = ec2.describe_vpc_peering_connections(Filters=[{"Name": "tag:Name", "Values": [name]}])
    return [c for c in response["VpcPeeringConnections"] if c["Status"]["Code"] in DEAD]


def wait_for(env: EnvironmentFile, accounts: Accounts, wanted: set[str], timeout: float, log) -> dict[str, str]:
    """Wait until every peered account's connection is in one of ``wanted``; their ids."""
    deadline = time.monotonic() + timeout
    while True:
        connections = live_connections(env, accounts)
        for account in env.peered_emr_accounts:
            if account.stack_id not in connections:
                dead = dead_connections(env, accounts, account)
                if dead:
                    status = dead[0]["Status"]
                    raise PeeringError(
                        f"peering {dead[0]['VpcPeeringConnectionId']} to EMR account {account.account_id} is "
                        f"{status['Code']} ({status.get('Message', '')}); the next deploy requests a new one"
                    )
        states = {key: c["Status"]["Code"] for key, c in connections.items()}
        if len(states) == len(env.peered_emr_accounts) and all(s in wanted for s in states.values()):
            for key, connection in connections.items():
                log(f"peering {connection['VpcPeeringConnectionId']} ({key}): {states[key]}")
            return {key: c["VpcPeeringConnectionId"] for key, c in connections.items()}
        if time.monotonic() > deadline:
            raise PeeringError(f"peering connections did not reach {sorted(wanted)} within {timeout:.0f} s: {states}")
        time.sleep(1)
