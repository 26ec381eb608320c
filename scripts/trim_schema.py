"""Keep, of the AWS provider's schema, only the resource and data-source types the code imports.

    python scripts/trim_schema.py SCHEMA.json TERRAFORM_VERSION PROVIDER_VERSION MODULE... > CACHED.json

SCHEMA.json is `terraform providers schema -json` of hashicorp/aws at PROVIDER_VERSION (from the
machine's mirror). Each MODULE is a module of the generated bindings the code imports
(`imports.aws.<module>`): `vpc` is the resource aws_vpc, `data_aws_eks_cluster` the data source
aws_eks_cluster, `provider` and `provider_functions` the provider itself. The output is the schema
in the shape cdktn's provider-schema cache holds (its `readProviderSchema` result), so that
`cdktn get` generates bindings for those types only: each one exactly as the full schema has it,
in seconds instead of minutes (issue 10 §5). A module that names no type of the provider is
refused, with its name.
"""

from __future__ import annotations

import json
import sys

PROVIDER = "registry.terraform.io/hashicorp/aws"
PROVIDER_MODULES = {"provider", "provider_functions"}


def trim(schema: dict, modules: list[str]) -> dict:
    provider = schema["provider_schemas"][PROVIDER]
    resources, data_sources, unknown = set(), set(), []
    for module in sorted(set(modules) - PROVIDER_MODULES):
        data = module.startswith("data_aws_")
        name = module.removeprefix("data_") if data else f"aws_{module}"
        known = provider.get("data_source_schemas" if data else "resource_schemas", {})
        if name not in known:
            unknown.append(module)
        (data_sources if data else resources).add(name)
    if unknown:
        raise SystemExit(f"error: imports.aws.{', imports.aws.'.join(unknown)}: no such type in {PROVIDER}; "
                         "check the module name against the provider's documentation")
    trimmed = dict(provider)
    trimmed["resource_schemas"] = {k: v for k, v in provider.get("resource_schemas", {}).items() if k in resources}
    trimmed["data_source_schemas"] = {k: v for k, v in provider.get("data_source_schemas", {}).items() if k in data_sources}
    trimmed["ephemeral_resource_schemas"] = {}
    return {**schema, "provider_schemas": {PROVIDER: trimmed}}


def main() -> None:
    path, terraform_version, provider_version, *modules = sys.argv[1:]
    with open(path) as source:
        schema = json.load(source)
    result = trim(schema, modules)
    result.update({"provider_versions": {PROVIDER: provider_version}, "cli_name": "terraform",
                   "cli_version": terraform_version})
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
