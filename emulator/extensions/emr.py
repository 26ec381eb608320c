"""EMR: a cluster runs in its subnet, starts asynchronously, and refuses a network it cannot
start in (NET-7), as Amazon EMR does.

moto 5.2.5 makes a cluster WAITING (or TERMINATED) inside RunJobFlow, launches its EC2
instances outside the cluster's subnet, answers a made-up public DNS name for the primary node,
and lets any network through. Reproduced here, following botocore's ``emr`` service model:

* Lifecycle (API reference, ``ClusterStatus``/``ClusterState``; Management Guide "Understanding
  the cluster lifecycle"): STARTING -> BOOTSTRAPPING -> RUNNING -> WAITING, each step after
  ``EMULATOR_EMR_STEP_SECONDS`` (default 0.5 s); a cluster that has no steps and does not keep
  alive ends TERMINATING -> TERMINATED (``ALL_STEPS_COMPLETED``). TerminateJobFlows answers at
  once and the cluster goes TERMINATING -> TERMINATED (``USER_REQUEST``) later, its EC2
  instances terminated with it.
* Nodes: one EC2 instance per requested node, launched while the cluster is STARTING, in the
  cluster's subnet with a private IP from the subnet's CIDR (the first four addresses are AWS's,
  and no address another network interface holds is reused), the EMR-managed plus additional
  security groups of its role, and the tags EMR puts on its nodes. ListInstances pages with
  ``Marker`` (``EMULATOR_EMR_PAGE_SIZE``, default 50 as EMR's list calls). Instance and instance
  group states follow the cluster's (PROVISIONING, BOOTSTRAPPING, RUNNING, TERMINATED).
* ``MasterPublicDnsName`` is the primary node's public DNS name, or in a subnet without public
  addresses its private one (``ip-10-0-1-5.ec2.internal`` in us-east-1,
  ``ip-10-0-1-5.<region>.compute.internal`` elsewhere), from the moment the node exists (API
  reference, ``Cluster.MasterPublicDnsName``: "The DNS name of the master node. If the cluster
  is on a private subnet, this is the private DNS name").
* Private subnets (Management Guide "Amazon VPC options", "Working with Amazon EMR-managed
  security groups": "An additional managed security group for service access is required when
  you create a cluster in a private subnet"; "you must use the same type of security group,
  default or custom, for all managed security groups"): RunJobFlow with custom EMR-managed
  groups but no ServiceAccessSecurityGroup, or a custom group for one role only, is refused
  with ValidationException. A cluster whose VPC lacks DNS hostnames or DNS resolution (Big
  Data Blog "Launching and running an Amazon EMR cluster inside a VPC": EMR needs both), or
  whose private subnet has no route to Amazon S3 (Management Guide, "Amazon VPC options",
  private subnets: "At a minimum, you must provide a route to the Amazon EMR service logs bucket
  and Amazon Linux repository on Amazon S3": an S3 gateway endpoint on its route table, or a
  default route to a NAT gateway), or no path to the EMR service (a default route to a NAT
  gateway, or an ``elasticmapreduce`` interface endpoint with private DNS) starts and then fails: TERMINATING -> TERMINATED_WITH_ERRORS with
  StateChangeReason code VALIDATION_ERROR and a message naming the subnet or VPC. A bootstrap
  action whose script is not in S3 fails the cluster while it bootstraps (BOOTSTRAP_FAILURE).
  The message wording is the emulator's; the codes and the states are AWS's.
* EMR-managed security groups (Management Guide, "Working with Amazon EMR-managed security
  groups": "When you create a new cluster, Amazon EMR checks the rules in the managed security
  groups that you specify, and then creates any missing inbound rules that the new cluster needs";
  "each rule for default EMR-managed security groups is also added to custom EMR-managed security
  groups that you specify"): at RunJobFlow, the primary (EmrManagedMasterSecurityGroup) and core
  and task (EmrManagedSlaveSecurityGroup) groups admit all ICMP, TCP 0-65535 and UDP 0-65535 from
  themselves and from each other, and TCP 8443 from the service access group; the service access
  group (ServiceAccessSecurityGroup, private subnets) admits TCP 9443 from the primary group and
  sends TCP 8443 to the primary and the core and task groups. Each rule is added only when the
  group has no rule of the same direction, protocol, ports and referenced group (whatever its
  description), as EC2 would refuse a duplicate. They are real EC2 rules: they reference the groups
  to each other, so a group cannot be deleted until they are revoked (ec2.py), as on AWS.
  moto 5.2.5 adds the same rules, but also all outbound traffic on the primary and core groups,
  and treats a rule that differs only in its description as missing (adding a duplicate) while a
  rule found already stops it from adding the next ones of the same call.
"""

from __future__ import annotations

import ipaddress
import os
import re
import threading
import time
from typing import Any

from moto.core.responses import BaseResponse
from moto.core.utils import utcnow
from moto.emr import models
from moto.emr.exceptions import ValidationException
from moto.emr.models import EXAMPLE_AMI_ID, Cluster, ElasticMapReduceBackend, InstanceGroup
from moto.emr.responses import ElasticMapReduceResponse
from moto.emr.utils import EmrManagedSecurityGroup, EmrSecurityGroupManager

_LOCK = threading.RLock()
ENDED = ("TERMINATED", "TERMINATED_WITH_ERRORS")


def step_seconds() -> float:
    return float(os.environ.get("EMULATOR_EMR_STEP_SECONDS", "0.5"))


def page_size() -> int:
    return int(os.environ.get("EMULATOR_EMR_PAGE_SIZE", "50"))


# --- the network a cluster runs in -----------------------------------------------------------


def route_table_of(ec2, subnet):
    main = None
    for table in ec2.route_tables.values():
        if table.vpc_id != subnet.vpc_id:
            continue
        if subnet.id in table._associations.values():
            return table
        if table.main_association_id is not None:
            main = table
    return main


def is_public(ec2, subnet) -> bool:
    table = route_table_of(ec2, subnet)
    return table is not None and any(
        route.gateway is not None and str(route.gateway.id).startswith("igw-") for route in table.routes
    )


def network_failure(ec2, region: str, subnet_id: str | None) -> str | None:
    """Why a cluster in this subnet cannot start, or None."""
    if not subnet_id:
        return None
    subnet = ec2.get_subnet(subnet_id)
    vpc = ec2.get_vpc(subnet.vpc_id)
    if not _true(vpc.enable_dns_support) or not _true(vpc.enable_dns_hostnames):
        return (f"The VPC/subnet configuration was invalid: VPC {vpc.id} of subnet {subnet.id} must have DNS "
                f"resolution (enableDnsSupport) and DNS hostnames (enableDnsHostnames) enabled.")
    if is_public(ec2, subnet):
        return None
    table = route_table_of(ec2, subnet)
    table_id = table.id if table is not None else "(none)"
    endpoints = [e for e in ec2.vpc_end_points.values() if e.vpc_id == vpc.id and e.state == "available"]
    s3 = f"com.amazonaws.{region}.s3"
    nat = table is not None and any(
        route.destination_cidr_block == "0.0.0.0/0" and route.nat_gateway is not None for route in table.routes
    )
    s3_endpoint = any(e.service_name == s3 and (e.vpc_endpoint_type or "Gateway").lower() == "gateway"
                      and table is not None and table.id in (e.route_table_ids or []) for e in endpoints)
    if not (s3_endpoint or nat):
        return (f"The VPC/subnet configuration was invalid: private subnet {subnet.id} has no route to Amazon S3: "
                f"route table {table_id} has neither an S3 gateway endpoint ({s3}) nor a default route to a NAT "
                f"gateway.")
    emr_endpoint = any(
        e.service_name == f"com.amazonaws.{region}.elasticmapreduce" and (e.vpc_endpoint_type or "").lower() == "interface"
        and _true(e.private_dns_enabled) for e in endpoints
    )
    if not (nat or emr_endpoint):
        return (f"The VPC/subnet configuration was invalid: private subnet {subnet.id} has no path to the Amazon EMR "
                f"service: route table {table_id} has no default route to a NAT gateway and VPC {vpc.id} has no "
                f"com.amazonaws.{region}.elasticmapreduce interface endpoint with private DNS.")
    return None


def _true(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def check_security_groups(ec2, attrs: dict) -> None:
    """RunJobFlow's synchronous refusals about EMR-managed security groups."""
    master = attrs.get("emr_managed_master_security_group")
    slave = attrs.get("emr_managed_slave_security_group")
    service = attrs.get("service_access_security_group")
    if bool(master) != bool(slave):
        raise ValidationException(
            "You must specify both EmrManagedMasterSecurityGroup and EmrManagedSlaveSecurityGroup, or neither: "
            "custom and default EMR-managed security groups cannot be combined."
        )
    subnet_id = attrs.get("ec2_subnet_id")
    if not subnet_id:
        return
    subnet = ec2.get_subnet(subnet_id)
    if (master or slave) and not service and not is_public(ec2, subnet):
        raise ValidationException(
            f"You must also specify a ServiceAccessSecurityGroup if you use custom security groups when creating "
            f"a cluster in a private subnet ({subnet_id})."
        )


def free_ip(ec2, subnet) -> str:
    taken = set(subnet._subnet_ips)
    for eni in ec2.enis.values():
        taken.add(getattr(eni, "private_ip_address", None))
        for address in getattr(eni, "private_ip_addresses", None) or []:
            taken.add(address.get("PrivateIpAddress") if isinstance(address, dict) else address)
    network = ipaddress.ip_network(subnet.cidr_block, strict=False)
    for offset in range(4, network.num_addresses - 1):  # .0-.3 and the broadcast address are AWS's
        candidate = str(network.network_address + offset)
        if candidate not in taken:
            return candidate
    raise ValidationException(f"The subnet {subnet.id} does not have enough free addresses.")


# --- the rules EMR adds to its managed security groups -----------------------------------------

PRIMARY, CORE, SERVICE = (EmrManagedSecurityGroup.Kind.MASTER, EmrManagedSecurityGroup.Kind.SLAVE,
                          EmrManagedSecurityGroup.Kind.SERVICE)
# (group the rule is in, egress?, protocol, from port, to port, group the rule references)
MANAGED_RULES: tuple[tuple[str, bool, str, int, int, str], ...] = (
    *((group, False, protocol, low, high, source)
      for group in (PRIMARY, CORE) for source in (PRIMARY, CORE)
      for protocol, low, high in (("icmp", -1, -1), ("tcp", 0, 65535), ("udp", 0, 65535))),
    (PRIMARY, False, "tcp", 8443, 8443, SERVICE),
    (CORE, False, "tcp", 8443, 8443, SERVICE),
    (SERVICE, False, "tcp", 9443, 9443, PRIMARY),
    (SERVICE, True, "tcp", 8443, 8443, PRIMARY),
    (SERVICE, True, "tcp", 8443, 8443, CORE),
)


def has_rule(group, egress: bool, protocol: str, low: int, high: int, source_id: str) -> bool:
    for rule in group.egress_rules if egress else group.ingress_rules:
        if (rule.ip_protocol == protocol and (rule.source_group or {}).get("GroupId") == source_id
                and (rule.from_port, rule.to_port) == (low, high)):
            return True
    return False


def add_managed_rules(self: EmrSecurityGroupManager, managed_groups: dict) -> None:
    """The documented rules each managed group lacks, one rule at a time."""
    from moto.ec2.exceptions import InvalidPermissionDuplicateError

    for kind, egress, protocol, low, high, source_kind in MANAGED_RULES:
        group, source = managed_groups.get(kind), managed_groups.get(source_kind)
        if group is None or source is None or has_rule(group, egress, protocol, low, high, source.id):
            continue
        authorize = self.ec2.authorize_security_group_egress if egress else self.ec2.authorize_security_group_ingress
        try:
            authorize(group_name_or_id=group.id, ip_protocol=protocol, from_port=low, to_port=high, ip_ranges=[],
                      source_groups=[{"GroupId": source.id}], vpc_id=self.vpc_id)
        except InvalidPermissionDuplicateError:
            pass


# --- the lifecycle -----------------------------------------------------------------------------


def _get_state(self: Cluster):
    advance(self)
    return self.__dict__.get("_ext_state")


def _set_state(self: Cluster, value) -> None:
    self.__dict__["_ext_state"] = value


def advance(cluster: Cluster) -> None:
    plan = cluster.__dict__.get("_ext_plan")
    if not plan:
        return
    with _LOCK:
        now = time.monotonic()
        while plan and plan[0][0] <= now:
            _, state, code, message, hook = plan.pop(0)
            if state:
                cluster.__dict__["_ext_state"] = state
                cluster.__dict__["_ext_reason"] = (code, message)
                if state == "RUNNING":
                    cluster.ready_datetime = utcnow()
                if state in ENDED:
                    cluster.end_datetime = utcnow()
            if hook:
                hook(cluster)


def _schedule(cluster: Cluster, steps: list[tuple]) -> None:
    t0, d = time.monotonic(), step_seconds()
    cluster.__dict__["_ext_plan"] = [(t0 + offset * d, *rest) for offset, *rest in steps]


def bootstrap_failure(cluster: Cluster) -> str | None:
    """A bootstrap script that is not in S3 fails the cluster while it bootstraps."""
    from moto.s3.models import s3_backends

    s3 = s3_backends[cluster.emr_backend.account_id]["aws"]
    for number, action in enumerate(cluster.bootstrap_actions, start=1):
        path = action.script_path or ""
        match = re.fullmatch(r"s3n?://([^/]+)/(.+)", path)
        bucket = s3.buckets.get(match.group(1)) if match else None
        if bucket is None or match.group(2) not in bucket.keys:
            return f"Master instance failed attempting to download bootstrap action {number} file from S3"
    return None


def start(cluster: Cluster, failure: str | None) -> None:
    cluster.__dict__["_ext_state"] = "STARTING"
    cluster.__dict__["_ext_reason"] = (None, None)
    cluster.ready_datetime = cluster.end_datetime = None
    cluster.start_datetime = utcnow()
    if failure:
        _schedule(cluster, [(1, "TERMINATING", "VALIDATION_ERROR", failure, None),
                            (2, "TERMINATED_WITH_ERRORS", "VALIDATION_ERROR", failure, None)])
        return
    steps = [(0.5, None, None, None, launch_nodes), (1, "BOOTSTRAPPING", None, None, None)]
    broken = bootstrap_failure(cluster)
    if broken:
        _schedule(cluster, steps + [(2, "TERMINATING", "BOOTSTRAP_FAILURE", broken, None),
                                    (3, "TERMINATED_WITH_ERRORS", "BOOTSTRAP_FAILURE", broken, stop_nodes)])
        return
    steps.append((2, "RUNNING", None, None, None))
    if cluster.steps:
        pass  # RUNNING while its steps run
    elif cluster.keep_job_flow_alive_when_no_steps:
        steps.append((3, "WAITING", None, "Cluster ready to run steps.", None))
    else:
        steps += [(3, "TERMINATING", "ALL_STEPS_COMPLETED", "Steps completed", None),
                  (4, "TERMINATED", "ALL_STEPS_COMPLETED", "Steps completed", stop_nodes)]
    _schedule(cluster, steps)


def terminate(self: Cluster) -> None:
    if "_ext_plan" not in self.__dict__:  # moto's own constructor path, before start()
        self.__dict__["_ext_state"] = "TERMINATED"
        return
    with _LOCK:
        if self.state in ENDED or self.state == "TERMINATING":
            return
        self.__dict__["_ext_state"] = "TERMINATING"
        self.__dict__["_ext_reason"] = ("USER_REQUEST", "Terminated by user request")
        _schedule(self, [(1, "TERMINATED", "USER_REQUEST", "Terminated by user request", stop_nodes)])


def launch_nodes(cluster: Cluster) -> None:
    backend: ElasticMapReduceBackend = cluster.emr_backend
    ec2 = backend.ec2_backend
    subnet = ec2.get_subnet(cluster.ec2_subnet_id) if cluster.ec2_subnet_id else None
    for group in cluster.instance_groups:
        have = sum(1 for i in cluster.ec2_instances if i.instance_group.id == group.id)
        if group.role == "MASTER":
            groups = [cluster.master_security_group, *(cluster.additional_master_security_groups or [])]
        else:
            groups = [cluster.slave_security_group, *(cluster.additional_slave_security_groups or [])]
        for _ in range(have, int(group.num_instances)):
            kwargs: dict[str, Any] = {
                "instance_type": group.instance_type,
                "is_instance_type_default": False,
                "region_name": ec2.region_name,
                "security_group_ids": [g for g in groups if g],
                "tags": {"instance": {"aws:elasticmapreduce:job-flow-id": cluster.id,
                                      "aws:elasticmapreduce:instance-group-role": group.role}},
            }
            if subnet is not None:
                kwargs["subnet_id"] = subnet.id
                kwargs["private_ip"] = free_ip(ec2, subnet)
            reservation = ec2.run_instances(EXAMPLE_AMI_ID, 1, None, [], **kwargs)
            for ec2_instance in reservation.instances:
                cluster.add_instance(models.Instance(ec2_instance=ec2_instance, instance_group=group))
    if cluster.master_instance_group_id:
        master = next((i for i in cluster.ec2_instances if i.instance_group.id == cluster.master_instance_group_id), None)
        if master is not None:
            cluster.master_instance_id = master.ec2_instance_id


def stop_nodes(cluster: Cluster) -> None:
    ids = [i.ec2_instance_id for i in cluster.ec2_instances]
    if ids:
        try:
            cluster.emr_backend.ec2_backend.terminate_instances(ids)
        except Exception:  # an instance someone else terminated: nothing left to do
            pass


def _status(self: Cluster) -> dict:
    state = self.state
    code, message = self.__dict__.get("_ext_reason", (None, None))
    reason = {k: v for k, v in (("Code", code), ("Message", message)) if v}
    return {"State": state, "StateChangeReason": reason,
            "Timeline": {"CreationDateTime": self.creation_datetime, "ReadyDateTime": self.ready_datetime,
                         "EndDateTime": self.end_datetime}}


def _master_public_dns_name(self: Cluster) -> str | None:
    self.state  # noqa: B018 - advances the lifecycle, which launches the nodes
    for instance in self.ec2_instances:
        if instance.instance_group.id == self.master_instance_group_id:
            return instance.ec2_instance.public_dns_name or instance.ec2_instance.private_dns_name
    return None


def _cluster_of(group: InstanceGroup) -> Cluster | None:
    return group.__dict__.get("_ext_cluster")


NODE_STATE = {"STARTING": "PROVISIONING", "BOOTSTRAPPING": "BOOTSTRAPPING", "RUNNING": "RUNNING",
              "WAITING": "RUNNING", "TERMINATING": "TERMINATED", "TERMINATED": "TERMINATED",
              "TERMINATED_WITH_ERRORS": "TERMINATED"}
GROUP_STATE = {**NODE_STATE, "TERMINATING": "TERMINATING"}


def _group_state(self: InstanceGroup):
    cluster = _cluster_of(self)
    if cluster is not None and "_ext_plan" in cluster.__dict__:
        return GROUP_STATE.get(cluster.state, "RUNNING")
    return self.__dict__.get("_ext_group_state", "RUNNING")


def _set_group_state(self: InstanceGroup, value) -> None:
    self.__dict__["_ext_group_state"] = value


def _group_status(self: InstanceGroup) -> dict:
    state = self.state
    reason = {"Code": "CLUSTER_TERMINATED", "Message": "The cluster was terminated."} if state == "TERMINATED" else {}
    cluster = _cluster_of(self)
    timeline = {"CreationDateTime": self.creation_date_time}
    if cluster is not None and cluster.ready_datetime:
        timeline["ReadyDateTime"] = cluster.ready_datetime
    if cluster is not None and cluster.end_datetime:
        timeline["EndDateTime"] = cluster.end_datetime
    return {"State": state, "StateChangeReason": reason, "Timeline": timeline}


def _instance_status(self: models.Instance) -> dict:
    cluster = _cluster_of(self.instance_group)
    state = NODE_STATE.get(cluster.state, "RUNNING") if cluster is not None else self.instance_group.state
    return {"State": state, "StateChangeReason": {},
            "Timeline": {"CreationDateTime": self.instance_group.creation_date_time,
                         **({"ReadyDateTime": cluster.ready_datetime} if cluster is not None and cluster.ready_datetime else {}),
                         **({"EndDateTime": cluster.end_datetime} if cluster is not None and cluster.end_datetime else {})}}


# --- backend and handlers ----------------------------------------------------------------------

_original_run_job_flow = ElasticMapReduceBackend.run_job_flow
_original_add_instance_group = Cluster.add_instance_group


def run_job_flow(self: ElasticMapReduceBackend, **kwargs: Any) -> Cluster:
    attrs = kwargs["instance_attrs"]
    check_security_groups(self.ec2_backend, attrs)
    failure = network_failure(self.ec2_backend, self.region_name, attrs.get("ec2_subnet_id"))
    cluster = _original_run_job_flow(self, **kwargs)
    if attrs.get("ec2_subnet_id"):
        cluster.availability_zone = self.ec2_backend.get_subnet(attrs["ec2_subnet_id"]).availability_zone
    start(cluster, failure)
    return cluster


def add_instance_group(self: Cluster, instance_group: InstanceGroup) -> None:
    instance_group.__dict__["_ext_cluster"] = self
    _original_add_instance_group(self, instance_group)


def run_instances(self: ElasticMapReduceBackend, cluster_id: str, instances: dict, instance_group) -> None:
    """The nodes are launched by the lifecycle, in the cluster's subnet, not by the request."""


def get_region_from_url(self: ElasticMapReduceResponse, request: Any, full_url: str) -> str:
    """EMR's own host patterns first, then the signature's region (an endpoint_url has neither
    in its host, and moto would put every such cluster in its default region)."""
    for regex in ElasticMapReduceResponse.emr_region_regex:
        match = regex.search(self.parsed_url.netloc)
        if match:
            return match.group(1)
    return BaseResponse.get_region_from_url(self, request, full_url)


def list_instances(self: ElasticMapReduceResponse):
    from moto.core.responses import ActionResult

    instances = self.backend.list_instances(
        self._get_param("ClusterId"),
        instance_group_id=self._get_param("InstanceGroupId"),
        instance_group_types=self._get_param("InstanceGroupTypes"),
    )
    states = self._get_param("InstanceStates")
    if states:
        instances = [i for i in instances if i.status["State"] in states]
    start_at = int(self._get_param("Marker") or 0)
    page = instances[start_at:start_at + page_size()]
    result: dict[str, Any] = {"Instances": page}
    if start_at + page_size() < len(instances):
        result["Marker"] = str(start_at + page_size())
    return ActionResult(result)


def install() -> None:
    EmrSecurityGroupManager._add_rules_to = add_managed_rules
    Cluster.state = property(_get_state, _set_state)
    Cluster.status = property(_status)
    Cluster.master_public_dns_name = property(_master_public_dns_name)
    Cluster.terminate = terminate
    Cluster.add_instance_group = add_instance_group
    InstanceGroup.state = property(_group_state, _set_group_state)
    InstanceGroup.status = property(_group_status)
    models.Instance.status = property(_instance_status)
    ElasticMapReduceBackend.run_job_flow = run_job_flow
    ElasticMapReduceBackend.run_instances = run_instances
    ElasticMapReduceResponse.list_instances = list_instances
    ElasticMapReduceResponse.get_region_from_url = get_region_from_url
