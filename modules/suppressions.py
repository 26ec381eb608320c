"""Policy-check suppressions, declared next to the resource they concern, with a reason.

They travel in the synthesized resource's ``//`` metadata (which Terraform ignores); the plan
review reads them and reports the check as suppressed with its reason."""

from __future__ import annotations

from cdktn import TerraformResource


def suppress(resource: TerraformResource, check_id: str, reason: str) -> None:
    if not reason.strip():
        raise ValueError(f"suppressing {check_id} needs a reason")
    resource.add_override(f"//.checkov.{check_id}", reason)
