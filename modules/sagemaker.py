"""SM-1 to SM-3: the Studio domain, its user profiles, and cross-account cluster discovery."""

from __future__ import annotations

from dataclasses import dataclass

from cdktn import TerraformResourceLifecycle
from constructs import Construct

from imports.aws.sagemaker_domain import SagemakerDomain
from imports.aws.sagemaker_studio_lifecycle_config import SagemakerStudioLifecycleConfig
from imports.aws.sagemaker_user_profile import SagemakerUserProfile

from .discovery import classic_lifecycle_script, encoded
from .suppressions import suppress


@dataclass(frozen=True)
class StudioDomainProps:
    domain_name: str
    vpc_id: str
    subnet_ids: list[str]
    security_group_id: str
    execution_role_arn: str
    user_profiles: tuple[str, ...]
    # Studio Classic (JupyterServer), Studio (JupyterLab), or both.
    classic: bool
    jupyterlab: bool
    home_efs_retention: str  # "Retain" or "Delete"
    # SM-3: {EMR account id: role ARN Studio assumes there}; empty in the single-account layout.
    discovery_role_arns: dict[str, str]
    lifecycle_config_name: str
    # SM-3: EMR runtime roles JupyterLab offers (EmrSettings.ExecutionRoleArns).
    runtime_role_arns: tuple[str, ...] = ()


class StudioDomain(Construct):
    def __init__(self, scope: Construct, id: str, props: StudioDomainProps):
        super().__init__(scope, id)
        user_settings: dict = {
            "execution_role": props.execution_role_arn,
            "security_groups": [props.security_group_id],
            "studio_web_portal": "ENABLED" if props.jupyterlab else "DISABLED",
            "default_landing_uri": "studio::" if props.jupyterlab else "app:JupyterServer:",
        }
        self.lifecycle_config = None
        if props.discovery_role_arns and props.classic:
            self.lifecycle_config = SagemakerStudioLifecycleConfig(
                self,
                "emr-discovery-lifecycle",
                studio_lifecycle_config_name=props.lifecycle_config_name,
                studio_lifecycle_config_app_type="JupyterServer",
                studio_lifecycle_config_content=encoded(classic_lifecycle_script(props.discovery_role_arns)),
            )
            user_settings["jupyter_server_app_settings"] = {
                "lifecycle_config_arns": [self.lifecycle_config.arn],
                "default_resource_spec": {
                    "instance_type": "system",
                    "lifecycle_config_arn": self.lifecycle_config.arn,
                },
            }
        if (props.discovery_role_arns or props.runtime_role_arns) and props.jupyterlab:
            emr_settings = {}
            if props.discovery_role_arns:
                emr_settings["assumable_role_arns"] = sorted(props.discovery_role_arns.values())
            if props.runtime_role_arns:
                emr_settings["execution_role_arns"] = sorted(props.runtime_role_arns)
            user_settings["jupyter_lab_app_settings"] = {"emr_settings": emr_settings}
        self.domain = SagemakerDomain(
            self,
            "domain",
            domain_name=props.domain_name,
            auth_mode="IAM",
            app_network_access_type="VpcOnly",
            vpc_id=props.vpc_id,
            subnet_ids=props.subnet_ids,
            default_user_settings=user_settings,
            retention_policy={"home_efs_file_system": props.home_efs_retention},
            # AWS's UpdateDomain changes a domain's subnets in place, but provider 5.100 marks
            # subnet_ids ForceNew (hashicorp/terraform-provider-aws#48778): adding a subnet would
            # replace the domain and its users' home directories. Terraform sets them at creation;
            # the orchestrator keeps them in step afterwards (orchestration/aws/domain_subnets.py).
            lifecycle=TerraformResourceLifecycle(ignore_changes=["subnet_ids"]),
        )
        suppress(self.domain, "CKV_AWS_187", "home EFS is encrypted with the AWS-managed key; a customer key is an account-level choice")
        self.domain_id = self.domain.id
        self.user_profiles = {
            name: SagemakerUserProfile(
                self,
                f"user-{name}",
                domain_id=self.domain.id,
                user_profile_name=name,
                user_settings={
                    "execution_role": props.execution_role_arn,
                    "security_groups": [props.security_group_id],
                },
            )
            for name in props.user_profiles
        }
