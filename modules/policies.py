"""IAM policy documents, as plain data: one function per document, no I/O.

Kept apart from the constructs so that the documents can be asserted (and linted) as data.
"""

from __future__ import annotations

import json

# IRSA (modules/kubernetes.py): the audience EKS puts in a service account's projected token, and
# the names of the inline policies verify reads back.
STS_AUDIENCE = "sts.amazonaws.com"
CONTROLLER_POLICY = "sagemaker-controller"
JOB_POLICY = "sagemaker-jobs"

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


# --- IAM-6: SageMaker jobs from Kubernetes through IRSA ---------------------------------------

WEB_IDENTITY_ACTION = "sts:AssumeRoleWithWebIdentity"


def web_identity_trust(provider_arn: str, issuer: str, subject: str, audience: str = "sts.amazonaws.com") -> PolicyDocument:
    """IAM-6: the role one Kubernetes service account assumes through the cluster's OIDC
    provider (seed 004 §2.2): exactly the token's audience and subject, with StringEquals.
    ``issuer`` is the issuer URL without https://, as IAM names its condition keys."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": provider_arn},
                "Action": WEB_IDENTITY_ACTION,
                "Condition": {"StringEquals": {f"{issuer}:aud": audience, f"{issuer}:sub": subject}},
            }
        ],
    }


def web_identity_problems(statement: dict) -> list[str]:
    """What makes an Allow statement of a trust policy a web-identity trust wider than one
    service account: no StringEquals on both ``<issuer>:aud`` and ``<issuer>:sub``, a wildcard in
    either, or an audience other than STS. Empty for statements that are not web-identity trusts."""
    principal = statement.get("Principal")
    actions = statement.get("Action", [])
    actions = actions if isinstance(actions, list) else [actions]
    federated = isinstance(principal, dict) and "Federated" in principal
    if statement.get("Effect") != "Allow" or not (federated or WEB_IDENTITY_ACTION in actions):
        return []
    exact = {key.rsplit(":", 1)[-1]: value for key, value in (statement.get("Condition") or {}).get("StringEquals", {}).items()}
    problems = [f"no StringEquals condition on <issuer>:{claim}" for claim in ("aud", "sub") if claim not in exact]
    for claim, value in exact.items():
        values = value if isinstance(value, list) else [value]
        if claim in ("aud", "sub") and any("*" in v or "?" in v for v in values):
            problems.append(f"<issuer>:{claim} has a wildcard")
    if "aud" in exact and exact["aud"] not in ("sts.amazonaws.com", ["sts.amazonaws.com"]):
        problems.append(f"<issuer>:aud is {exact['aud']!r}, not sts.amazonaws.com")
    return problems


def sagemaker_job_permissions(partition: str, region: str, account_id: str, bucket_names: list[str]) -> PolicyDocument:
    """IAM-6: what the training and hosting jobs the controller submits do as their execution
    role: read and write the configured buckets only (not the seeds' AmazonS3FullAccess), pull
    their images, write their logs and metrics."""
    buckets = [f"arn:{partition}:s3:::{name}" for name in sorted(bucket_names)]
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "ListJobBuckets", "Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetBucketLocation"], "Resource": buckets},
            {
                "Sid": "ReadWriteJobData",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
                "Resource": [f"{b}/*" for b in buckets],
            },
            {
                "Sid": "PullJobImages",
                "Effect": "Allow",
                "Action": ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                "Resource": f"arn:{partition}:ecr:{region}:*:repository/*",
            },
            {"Sid": "AuthenticateToEcr", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
            {
                "Sid": "WriteJobLogs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                "Resource": f"arn:{partition}:logs:{region}:{account_id}:log-group:/aws/sagemaker/*",
            },
            {
                "Sid": "PutJobMetrics",
                "Effect": "Allow",
                "Action": "cloudwatch:PutMetricData",
                "Resource": "*",
                "Condition": {"StringLike": {"cloudwatch:namespace": ["/aws/sagemaker/*", "aws/sagemaker/*"]}},
            },
        ],
    }


# What a SageMaker controller does with the resources it reconciles (seed 004: TrainingJob,
# HyperparameterTuningJob, BatchTransformJob, HostingDeployment; ACK: the same and their models,
# endpoint configurations and processing jobs).
SAGEMAKER_CONTROLLER_ACTIONS = tuple(
    f"sagemaker:{verb}{kind}"
    for kind in ("TrainingJob", "HyperParameterTuningJob", "TransformJob", "ProcessingJob")
    for verb in ("Create", "Describe", "Stop")
) + tuple(
    f"sagemaker:{verb}{kind}"
    for kind in ("Model", "EndpointConfig", "Endpoint")
    for verb in ("Create", "Describe", "Delete")
) + ("sagemaker:UpdateEndpoint", "sagemaker:UpdateEndpointWeightsAndCapacities",
     "sagemaker:AddTags", "sagemaker:DeleteTags", "sagemaker:ListTags")


def sagemaker_controller_permissions(partition: str, region: str, account_id: str, job_role_arn: str) -> PolicyDocument:
    """IAM-6: the controller's IRSA role manages SageMaker jobs and endpoints of its account and
    region and may pass the job execution role, that role only and to SageMaker only (the seed
    attaches AmazonSageMakerFullAccess, whose PassRole covers every role passed to SageMaker)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ManageSageMakerJobs",
                "Effect": "Allow",
                "Action": list(SAGEMAKER_CONTROLLER_ACTIONS),
                "Resource": f"arn:{partition}:sagemaker:{region}:{account_id}:*",
            },
            {
                "Sid": "PassJobRole",
                "Effect": "Allow",
                "Action": "iam:PassRole",
                "Resource": job_role_arn,
                "Condition": {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            },
            {
                "Sid": "ReadJobLogs",
                "Effect": "Allow",
                "Action": ["logs:DescribeLogStreams", "logs:GetLogEvents"],
                "Resource": f"arn:{partition}:logs:{region}:{account_id}:log-group:/aws/sagemaker/*",
            },
        ],
    }
