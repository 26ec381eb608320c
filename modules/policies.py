"""IAM policy documents, as plain data: one function per document, no I/O.

Kept apart from the constructs so that the documents can be asserted (and linted) as data.
"""

from __future__ import annotations

import json

PolicyDocument = dict


def to_json(document: PolicyDocument) -> str:
    return json.dumps(document, indent=None, sort_keys=False, separators=(",", ":"))


def service_trust(service: str) -> PolicyDocument:
    """Trust policy letting one AWS service assume the role."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
        ],
    }


def role_trust(role_arns: list[str]) -> PolicyDocument:
    """Trust policy narrowed to named roles (IAM-2: the Studio execution role, not the account root)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": sorted(role_arns)}, "Action": "sts:AssumeRole"}
        ],
    }


def emr_cluster_arn(partition: str, region: str, account_id: str) -> str:
    return f"arn:{partition}:elasticmapreduce:{region}:{account_id}:cluster/*"


# What the real connect path (sagemaker-studio-sparkmagic-lib's EMRCluster, under
# `%sm_analytics emr connect --assumable-role-arn`) calls with the assumed role (IAM-2).
CONNECT_PATH_ACTIONS = (
    "elasticmapreduce:DescribeCluster",
    "elasticmapreduce:ListInstances",
    "elasticmapreduce:ListInstanceGroups",
    "elasticmapreduce:DescribeSecurityConfiguration",
)


def emr_discovery_permissions(cluster_arn: str, studio_execution_role_arn: str) -> PolicyDocument:
    """IAM-2: the permission set of the role Studio assumes in an EMR account, with seed 003's
    Sids and AWS's current action list. The connect path (`%sm_analytics emr connect`, through
    sagemaker-studio-sparkmagic-lib's EMRCluster) calls DescribeCluster, ListInstances,
    DescribeSecurityConfiguration and ListInstanceGroups with this role; without ListInstances
    it cannot find the primary node."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AllowPresignedUrl",
                "Effect": "Allow",
                "Action": [
                    "elasticmapreduce:CreatePersistentAppUI",
                    "elasticmapreduce:DescribePersistentAppUI",
                    "elasticmapreduce:GetPersistentAppUIPresignedURL",
                    "elasticmapreduce:GetOnClusterAppUIPresignedURL",
                ],
                "Resource": [cluster_arn],
            },
            {
                "Sid": "AllowClusterDetailsDiscovery",
                "Effect": "Allow",
                "Action": list(CONNECT_PATH_ACTIONS),
                "Resource": [cluster_arn],
            },
            {
                "Sid": "AllowClusterDiscovery",
                "Effect": "Allow",
                "Action": ["elasticmapreduce:ListClusters"],
                "Resource": "*",
            },
            {
                "Sid": "AllowRoleAssumptionForCrossAccountDiscovery",
                "Effect": "Allow",
                "Action": "sts:AssumeRole",
                "Resource": [studio_execution_role_arn],
            },
            {
                "Sid": "AllowEMRTemplateDiscovery",
                "Effect": "Allow",
                "Action": ["servicecatalog:SearchProducts"],
                "Resource": "*",
            },
        ],
    }


def runtime_role_trust(instance_role_arn: str) -> PolicyDocument:
    """An EMR runtime role is assumed by the cluster's instance role on a job's behalf, with
    session tags (AWS: "Runtime roles for Amazon EMR steps")."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": instance_role_arn},
                "Action": ["sts:AssumeRole", "sts:TagSession"],
            }
        ],
    }


def studio_emr_management() -> PolicyDocument:
    """IAM-1: the execution role discovers and manages EMR clusters and Service Catalog products
    (seed 000 §3.5.2, "AllowSagemakerProjectManagement"), without the seeds' S3FullAccess."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AllowEmrDiscoveryAndConnection",
                "Effect": "Allow",
                "Action": [
                    "elasticmapreduce:ListClusters",
                    "elasticmapreduce:DescribeCluster",
                    "elasticmapreduce:DescribeSecurityConfiguration",
                    "elasticmapreduce:ListInstanceGroups",
                    "elasticmapreduce:ListInstances",
                    "elasticmapreduce:CreatePersistentAppUI",
                    "elasticmapreduce:DescribePersistentAppUI",
                    "elasticmapreduce:GetPersistentAppUIPresignedURL",
                    "elasticmapreduce:GetOnClusterAppUIPresignedURL",
                ],
                "Resource": "*",
            },
            *emr_provisioning_permissions()["Statement"],
        ],
    }


def emr_provisioning_permissions() -> PolicyDocument:
    """What a Studio user needs to launch (and terminate) clusters from the EMR product: AWS's
    "Create Amazon EMR clusters" reference policy (seed 000 §3.5.2). The execution role has it
    in its own account; an EMR account's assumable role has it beside IAM-2's discovery set."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AllowSagemakerProjectManagement",
                "Effect": "Allow",
                "Action": [
                    "servicecatalog:SearchProducts",
                    "servicecatalog:DescribeProduct",
                    "servicecatalog:DescribeProductView",
                    "servicecatalog:DescribeProvisioningParameters",
                    "servicecatalog:ListLaunchPaths",
                    "servicecatalog:ProvisionProduct",
                    "servicecatalog:DescribeProvisionedProduct",
                    "servicecatalog:DescribeRecord",
                    "servicecatalog:SearchProvisionedProducts",
                    "servicecatalog:TerminateProvisionedProduct",
                    "cloudformation:DescribeStacks",
                    "cloudformation:DescribeStackEvents",
                ],
                "Resource": "*",
            },
        ],
    }


def assume_roles(role_arns: list[str]) -> PolicyDocument:
    """IAM-3: the execution role may assume each EMR-account discovery role."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AllowAssumeEmrAccountRoles",
                "Effect": "Allow",
                "Action": "sts:AssumeRole",
                "Resource": sorted(role_arns),
            }
        ],
    }


def launch_constraint_permissions(template_bucket_arn: str, passable_role_arns: list[str]) -> PolicyDocument:
    """IAM-5: what Service Catalog does on the user's behalf when it launches the EMR product."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ManageEmrClusters",
                "Effect": "Allow",
                "Action": [
                    "elasticmapreduce:RunJobFlow",
                    "elasticmapreduce:DescribeCluster",
                    "elasticmapreduce:TerminateJobFlows",
                    "elasticmapreduce:AddTags",
                    "elasticmapreduce:ListSteps",
                    "elasticmapreduce:AddJobFlowSteps",
                ],
                "Resource": "*",
            },
            {
                "Sid": "ProvisionThroughCloudFormation",
                "Effect": "Allow",
                "Action": [
                    "cloudformation:CreateStack",
                    "cloudformation:DeleteStack",
                    "cloudformation:UpdateStack",
                    "cloudformation:DescribeStacks",
                    "cloudformation:DescribeStackEvents",
                    "cloudformation:GetTemplateSummary",
                    "cloudformation:ValidateTemplate",
                    "cloudformation:SetStackPolicy",
                ],
                "Resource": "*",
            },
            {
                "Sid": "ReadProductTemplate",
                "Effect": "Allow",
                "Action": ["s3:GetObject"],
                "Resource": [f"{template_bucket_arn}/*"],
            },
            {
                "Sid": "PassEmrRoles",
                "Effect": "Allow",
                "Action": "iam:PassRole",
                "Resource": sorted(passable_role_arns),
            },
        ],
    }
