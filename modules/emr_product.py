"""The EMR product's template as one environment gets it, and the tag Studio lists it by: plain
data, without the CDK library, so that the CLI's checks (verify, the plan review's cfn-lint) read
them without loading it (modules/service_catalog.py builds the product from them)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from config import yamlio

# SC-2: without this tag Studio does not list the product.
STUDIO_VISIBILITY_TAG = {"sagemaker:studio-visibility:emr": "true"}


@dataclass(frozen=True)
class EmrTemplateSettings:
    subnet_ids: list[str]
    primary_security_group_id: str
    managed_primary_security_group_id: str
    managed_core_security_group_id: str
    service_access_security_group_id: str
    instance_types: tuple[str, ...]
    core_node_counts: tuple[int, ...]
    release_label: str
    bootstrap_script_uri: str


def render_emr_template(base_template: str, settings: EmrTemplateSettings) -> str:
    """The product template for one environment: the base file with its guardrails
    (AllowedValues) and defaults set from the environment's settings."""
    template = yamlio.load(base_template)
    params = template["Parameters"]
    params["SubnetId"]["Default"] = settings.subnet_ids[0]
    params["SubnetId"]["AllowedValues"] = list(settings.subnet_ids)
    for param, group_id in (
        ("PrimarySecurityGroupId", settings.primary_security_group_id),
        ("ManagedPrimarySecurityGroupId", settings.managed_primary_security_group_id),
        ("ManagedCoreSecurityGroupId", settings.managed_core_security_group_id),
        ("ServiceAccessSecurityGroupId", settings.service_access_security_group_id),
    ):
        params[param]["Default"] = group_id
        params[param]["AllowedValues"] = [group_id]
    params["InstanceType"]["Default"] = settings.instance_types[0]
    params["InstanceType"]["AllowedValues"] = list(settings.instance_types)
    params["CoreInstanceCount"]["Default"] = settings.core_node_counts[0]
    params["CoreInstanceCount"]["AllowedValues"] = list(settings.core_node_counts)
    params["ReleaseLabel"]["Default"] = settings.release_label
    params["ReleaseLabel"]["AllowedValues"] = [settings.release_label]
    params["BootstrapScriptUri"]["Default"] = settings.bootstrap_script_uri
    return json.dumps(template, indent=2)
