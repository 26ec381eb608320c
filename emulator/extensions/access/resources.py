"""The resource an action is authorized against, where AWS authorizes a specific resource.

moto passes ``"*"`` as the resource of most actions, so a statement scoped to an ARN pattern
never matches and the emulator would refuse what AWS allows. The Service Authorization Reference
("Actions, resources, and condition keys for Amazon Elastic MapReduce") lists the actions that
take the ``cluster`` resource type, ``arn:${Partition}:elasticmapreduce:${Region}:${Account}:
cluster/${ClusterId}``: DescribeCluster, ListInstances, ListInstanceGroups, ListInstanceFleets,
ListBootstrapActions, ListSteps, DescribeStep, CancelSteps, AddJobFlowSteps, AddInstanceGroups,
AddInstanceFleet, ModifyCluster, ModifyInstanceGroups, ModifyInstanceFleet, Put/Remove
AutoScalingPolicy, SetTerminationProtection, TerminateJobFlows, DescribeJobFlows, AddTags and
RemoveTags (the last two optionally), and the managed-scaling, auto-termination and persistent
app UI calls that name a cluster. Actions it lists without a resource type (ListClusters,
RunJobFlow, Create/Describe/List/DeleteSecurityConfiguration, Get/PutBlockPublicAccess
Configuration) are authorized against ``"*"``. The cluster id comes from whichever request
member names it (ClusterId, JobFlowId, JobFlowIds, ResourceId); an action naming several
clusters needs permission on each. The ARN is built from the request's region and the caller's
account, whether or not the cluster exists (AWS authorizes before it looks).

Service Catalog and SageMaker: every statement modules/policies.py writes for them uses
``"Resource": "*"``, which matches whatever resource is checked, so no determination is needed.
"""

from __future__ import annotations

from moto.emr.responses import ElasticMapReduceResponse

# Actions whose request names clusters but which the reference lists without a resource type.
_UNSCOPED = {"ListClusters", "RunJobFlow", "CreateSecurityConfiguration", "DescribeSecurityConfiguration",
             "DeleteSecurityConfiguration", "ListSecurityConfigurations", "GetBlockPublicAccessConfiguration",
             "PutBlockPublicAccessConfiguration", "ListReleaseLabels", "DescribeReleaseLabel"}


def emr_resources(self) -> list[str]:
    action = self._get_action()
    if action in _UNSCOPED:
        return ["*"]
    ids = []
    for member in ("ClusterId", "JobFlowId", "ResourceId"):
        value = self._get_param(member)
        # AddTags/RemoveTags also tag notebooks and studios (ResourceId e-..., es-...): not clusters.
        if value and (member != "ResourceId" or value.startswith("j-")):
            ids.append(value)
    ids += list(self._get_param("JobFlowIds") or [])
    if not ids:
        return ["*"]
    return [f"arn:aws:elasticmapreduce:{self.region}:{self.current_account}:cluster/{cluster_id}"
            for cluster_id in dict.fromkeys(ids)]


def install() -> None:
    ElasticMapReduceResponse._access_resources = emr_resources
