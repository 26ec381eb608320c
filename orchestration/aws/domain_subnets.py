"""Keep a domain's subnets in step with the environment file, in place.

AWS's UpdateDomain takes SubnetIds (subnets of the domain's VPC; with no app InService, Pending
or Deleting when one is removed), but the AWS provider 5.100 replaces the domain when its
subnet_ids change (hashicorp/terraform-provider-aws#48778), and a replaced domain takes its
users' home directories with it. So the stack ignores changes of the domain's subnets after
creation, and deploy calls UpdateDomain when the live list differs from the private subnets the
environment file names. verify checks the result.
"""

from __future__ import annotations

from config import EnvironmentFile, NewNetwork

from orchestration.aws.accounts import Accounts, all_pages
from orchestration.aws.studio_apps import find_domain_id


def sync_domain_subnets(env: EnvironmentFile, accounts: Accounts, log) -> list[str] | None:
    """The subnet ids the domain was moved to, or None when it already had them."""
    network = env.environment.studio_account.network
    domain_id = find_domain_id(env, accounts)
    if domain_id is None:
        return None
    sagemaker = accounts.studio().client("sagemaker")
    domain = sagemaker.describe_domain(DomainId=domain_id)
    if isinstance(network, NewNetwork):
        subnets = all_pages(accounts.studio().client("ec2"), "describe_subnets", "Subnets",
                            Filters=[{"Name": "vpc-id", "Values": [domain["VpcId"]]},
                                     {"Name": "cidr-block", "Values": list(network.private_subnet_cidrs)}])
        wanted = sorted(s["SubnetId"] for s in subnets)
    else:
        wanted = sorted(network.private_subnet_ids)
    if sorted(domain.get("SubnetIds", [])) == wanted:
        return None
    sagemaker.update_domain(DomainId=domain_id, SubnetIds=wanted)
    log(f"[studio-account] domain {domain_id}: subnets updated in place to {', '.join(wanted)} "
        "(the provider would replace the domain: hashicorp/terraform-provider-aws#48778)")
    return wanted
