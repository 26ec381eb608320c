"""SM-5 Classic notebook instances (seed 001): a SageMaker notebook instance in the Studio VPC,
whose lifecycle configuration points sparkmagic at the EMR primary node's Livy at every start.

The seed's script downloads sparkmagic's example config from GitHub; a notebook instance with
direct internet access disabled has no internet, so the script writes the kernel credentials
itself. It finds the primary node as the seed does (EMR ListInstances, group MASTER, state
RUNNING), in the EMR accounts of the environment in order, assuming each cross-account EMR
account's discovery role (the role ARNs of SM-3).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from constructs import Construct

from imports.aws.sagemaker_notebook_instance import SagemakerNotebookInstance
from imports.aws.sagemaker_notebook_instance_lifecycle_configuration import (
    SagemakerNotebookInstanceLifecycleConfiguration,
)

from .discovery import encoded
from .notebook_script import LIVY_PORT, MAX_HOOK_CHARS, notebook_lifecycle_script
from .suppressions import suppress


@dataclass(frozen=True)
class ClassicNotebookProps:
    name: str  # the notebook instance's name; its lifecycle configuration is <name>-sparkmagic
    region: str
    subnet_id: str
    security_group_id: str
    execution_role_arn: str
    # The EMR accounts in order: account id -> discovery role ARN, or None for the own account.
    role_arns_by_account: Mapping[str, str | None]
    livy_port: int = LIVY_PORT
    instance_type: str = "ml.t3.medium"
    volume_size_gb: int = 5


class ClassicNotebook(Construct):
    def __init__(self, scope: Construct, id: str, props: ClassicNotebookProps):
        super().__init__(scope, id)
        content = encoded(notebook_lifecycle_script(props.role_arns_by_account, props.region, props.livy_port))
        if len(content) > MAX_HOOK_CHARS:
            raise ValueError(f"the notebook lifecycle script is {len(content)} characters base64-encoded; "
                             f"SageMaker takes at most {MAX_HOOK_CHARS}")
        self.lifecycle_config = SagemakerNotebookInstanceLifecycleConfiguration(
            self,
            "lifecycle",
            name=f"{props.name}-sparkmagic",
            on_start=content,
        )
        self.notebook = SagemakerNotebookInstance(
            self,
            "notebook",
            name=props.name,
            instance_type=props.instance_type,
            role_arn=props.execution_role_arn,
            subnet_id=props.subnet_id,
            security_groups=[props.security_group_id],
            direct_internet_access="Disabled",
            # Users get no root; the lifecycle script still runs as root (API reference, RootAccess).
            root_access="Disabled",
            lifecycle_config_name=self.lifecycle_config.name,
            volume_size=props.volume_size_gb,
            instance_metadata_service_configuration={"minimum_instance_metadata_service_version": "2"},
        )
        cmk = "the ML storage volume is encrypted with the AWS-managed key; a customer key is an account-level choice, as for the domain's home EFS"
        suppress(self.notebook, "CKV_AWS_22", cmk)
        suppress(self.notebook, "CKV_AWS_187", cmk)
        self.notebook_name = self.notebook.name
        self.lifecycle_config_name = self.lifecycle_config.name
