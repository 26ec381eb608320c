"""Progress a person can read: resources named as a person knows them (`studio domain
studio-local`, `peering to 222222222222`), never by logical ids with hashes; on a terminal a live
bar per stack (Rich) with resources done out of the total and the time elapsed; without one (CI),
plain lines with no control characters."""

from __future__ import annotations

import time
from typing import Callable

# A word for each resource type the stacks create, where the type's own name reads badly.
TYPE_LABELS = {
    "aws_sagemaker_domain": "studio domain",
    "aws_sagemaker_user_profile": "user profile",
    "aws_sagemaker_studio_lifecycle_config": "studio lifecycle script",
    "aws_sagemaker_notebook_instance": "notebook instance",
    "aws_sagemaker_notebook_instance_lifecycle_configuration": "notebook lifecycle script",
    "aws_vpc_peering_connection_accepter": "peering accept",
    "aws_vpc_peering_connection_options": "peering DNS options",
    "aws_vpc_security_group_ingress_rule": "ingress rule",
    "aws_vpc_security_group_egress_rule": "egress rule",
    "aws_iam_role_policy": "inline policy",
    "aws_iam_role_policy_attachment": "managed policy",
    "aws_iam_openid_connect_provider": "OIDC provider",
    "aws_servicecatalog_principal_portfolio_association": "portfolio access",
    "aws_servicecatalog_product_portfolio_association": "product in portfolio",
    "aws_servicecatalog_constraint": "launch constraint",
    "aws_route_table_association": "route table association",
    "aws_eip": "elastic IP",
    "aws_s3_object": "S3 object",
}
NAME_KEYS = ("name", "domain_name", "user_profile_name", "bucket", "studio_lifecycle_config_name", "tags.Name", "key",
             "cidr_block", "destination_cidr_block", "service_name", "description", "policy_arn")


def label(stack_json: dict, address: str) -> str:
    """How a person knows the resource at ``address`` of a synthesized stack."""
    kind, _, rest = address.partition(".")
    logical_id = rest.split("[", 1)[0]
    config = stack_json.get("resource", {}).get(kind, {}).get(logical_id, {})
    what = TYPE_LABELS.get(kind, kind.removeprefix("aws_").replace("_", " "))
    if kind == "aws_vpc_peering_connection":
        return f"peering to {config.get('peer_owner_id', '?')}"
    for key in NAME_KEYS:
        value = (config.get("tags") or {}).get("Name") if key == "tags.Name" else config.get(key)
        if isinstance(value, str) and value and "${" not in value:
            if key == "policy_arn":
                value = value.rsplit("/", 1)[-1]
            return f"{what} {value}"
    return what


ProgressHook = Callable[[str, int, int, list[str]], None]


class LiveProgress:
    """A bar per stack on a terminal, with log lines printed above the bars."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.console = Console(stderr=False)
        self.bars = Progress(TextColumn("{task.fields[stack]:<28}"), BarColumn(), MofNCompleteColumn(),
                             TimeElapsedColumn(), TextColumn("{task.description}"), console=self.console,
                             transient=False)
        self.tasks: dict[str, int] = {}
        self.started = time.monotonic()

    def __enter__(self) -> "LiveProgress":
        self.bars.start()
        return self

    def __exit__(self, *exc) -> None:
        self.bars.stop()

    def log(self, line: str) -> None:
        self.bars.console.print(line, markup=False, highlight=False)

    def update(self, stack: str, done: int, total: int, running: list[str]) -> None:
        if stack not in self.tasks:
            self.tasks[stack] = self.bars.add_task("", total=total or None, stack=stack)
        now = ", ".join(running[:2]) + (f" +{len(running) - 2}" if len(running) > 2 else "")
        self.bars.update(self.tasks[stack], completed=done, total=total or None, description=now)
