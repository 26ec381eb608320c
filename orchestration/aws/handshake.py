"""The cross-account peering handshake, observed through the live EC2 API (NET-3):
request (Studio account) -> pending-acceptance -> accept (EMR account) -> active.

A connection belongs to an EMR account when it carries the account's peering tags and joins the
Studio account to that account's EMR VPC: a tag alone can be copied or left on an old connection,
and in a hub with several EMR accounts the wrong connection would be waited on and verified."""

from __future__ import annotations

import time

from config import EmrAccount, EnvironmentFile, ExistingNetwork, StudioEmrError
from stacks import naming

from orchestration.aws.accounts import Accounts, all_pages

PENDING = "pending-acceptance"
ACTIVE = "active"
# A connection in one of these states has ended; AWS still lists it for a while.
ENDED = {"rejected", "failed", "expired", "deleted"}
# A connection in one of these states will never become active: a new request is needed.
DEAD = ENDED | {"deleting"}


class PeeringError(StudioEmrError):
    """A peering connection was rejected, failed, expired, or did not progress in time."""


def emr_vpc_ids(env: EnvironmentFile, accounts: Accounts, account: EmrAccount) -> list[str]:
    """The EMR VPC a connection of ``account`` must accept into: the configured existing VPC, or
    the one the EMR stack created (read from the EMR account by its name and CIDR; empty until it
    exists)."""
    network = account.network
    if isinstance(network, ExistingNetwork):
        return [network.vpc_id]
    name = naming.emr_vpc_name(env, account)
    vpcs = all_pages(accounts.emr(account).client("ec2"), "describe_vpcs", "Vpcs", Filters=[
        {"Name": "tag:Name", "Values": [name]},
        {"Name": "cidr-block-association.cidr-block", "Values": [network.cidr]},
    ])
    return [v["VpcId"] for v in vpcs]


def peering_filters(env: EnvironmentFile, account: EmrAccount, emr_vpcs: list[str]) -> list[dict]:
    """DescribeVpcPeeringConnections filters for the connections of one EMR account."""
    return [
        {"Name": "tag:Name", "Values": [naming.peering_tags(env, account)["Name"]]},
        {"Name": "requester-vpc-info.owner-id", "Values": [env.environment.studio_account.account_id]},
        {"Name": "accepter-vpc-info.owner-id", "Values": [account.account_id]},
        {"Name": "accepter-vpc-info.vpc-id", "Values": emr_vpcs},
    ]


class Peerings:
    """The peering connections of every peered EMR account, read from the Studio account.
    The EMR VPCs are looked up once; :meth:`connections` reads the connections afresh each call."""

    def __init__(self, env: EnvironmentFile, accounts: Accounts, known: dict[str, str] | None = None):
        """``known``: EMR stack id -> the connection the peering stack's state holds, which is the
        one to watch when a retried request left a second one (CreateVpcPeeringConnection takes
        no idempotency token)."""
        self.env = env
        self.accounts = accounts
        self.known = known or {}
        self._vpcs: dict[str, list[str]] = {}

    def connections(self, account: EmrAccount) -> list[dict]:
        """Every connection of this account, whatever its state."""
        if not self._vpcs.get(account.stack_id):
            self._vpcs[account.stack_id] = emr_vpc_ids(self.env, self.accounts, account)
        vpcs = self._vpcs[account.stack_id]
        if not vpcs:
            return []  # no EMR VPC, so no connection into it
        ec2 = self.accounts.studio().client("ec2")
        filters = peering_filters(self.env, account, vpcs)
        return all_pages(ec2, "describe_vpc_peering_connections", "VpcPeeringConnections", Filters=filters)

    def live(self) -> dict[str, dict]:
        """The live (not dead) connection of each peered EMR account, by EMR stack id: the one
        the state holds, else an active one, else the first."""
        found = {}
        for account in self.env.peered_emr_accounts:
            live = self.all_live(account)
            if live:
                found[account.stack_id] = live[0]
        return found

    def all_live(self, account: EmrAccount) -> list[dict]:
        """Every live connection of ``account``, the one to use first; more than one is a duplicate."""
        known = self.known.get(account.stack_id)
        live = [c for c in self.connections(account) if c["Status"]["Code"] not in DEAD]
        return sorted(live, key=lambda c: (c["VpcPeeringConnectionId"] != known, c["Status"]["Code"] != ACTIVE))

    def dead(self, account: EmrAccount) -> list[dict]:
        return [c for c in self.connections(account) if c["Status"]["Code"] in DEAD]


def live_connections(env: EnvironmentFile, accounts: Accounts) -> dict[str, dict]:
    """The live (not dead) peering connection of each peered EMR account, by EMR stack id."""
    return Peerings(env, accounts).live()


def dead_connections(env: EnvironmentFile, accounts: Accounts, account: EmrAccount) -> list[dict]:
    return Peerings(env, accounts).dead(account)


def settle_duplicates(peerings: Peerings) -> list[str]:
    """Settle the live connections beyond the one used, a line for each. One the peering stack's
    state does not hold, never accepted, for the same VPCs, under this stack's tags, is a request
    retried after AWS had carried it out (CreateVpcPeeringConnection takes no idempotency token): no
    route or accepter will ever use it, so it is deleted. Any other is named, with the command that
    removes it (an active one may carry traffic; without the state's word, which one is used is a guess)."""
    lines = []
    studio_account = peerings.env.environment.studio_account.account_id
    for account in peerings.env.peered_emr_accounts:
        known = peerings.known.get(account.stack_id)
        for extra in peerings.all_live(account)[1:]:
            pcx, status = extra["VpcPeeringConnectionId"], extra["Status"]["Code"]
            if known and status == PENDING:
                peerings.accounts.studio().client("ec2").delete_vpc_peering_connection(VpcPeeringConnectionId=pcx)
                lines.append(f"peering {pcx} ({account.stack_id}, {status}) duplicated {known}, the one in state (a "
                             "request retried after AWS had carried it out); never accepted, so deleted")
                continue
            lines.append(f"peering {pcx} ({account.stack_id}, {status}) duplicates the one in state (a retried request?); "
                         "it is not used. Remove it with: aws ec2 delete-vpc-peering-connection "
                         f"--vpc-peering-connection-id {pcx} (Studio account {studio_account})")
    return lines


def wait_for(env: EnvironmentFile, accounts: Accounts, wanted: set[str], timeout: float, log,
             known: dict[str, str] | None = None) -> dict[str, str]:
    """Wait until every peered account's connection is in one of ``wanted``; their ids.
    ``known``: the connections the peering stack's state holds, by EMR stack id."""
    deadline = time.monotonic() + timeout
    peerings = Peerings(env, accounts, known)
    for line in settle_duplicates(peerings):
        log(line)
    while True:
        connections = peerings.live()
        for account in env.peered_emr_accounts:
            if account.stack_id not in connections:
                dead = peerings.dead(account)
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
