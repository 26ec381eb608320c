"""CloudFormation: parameter validation, AWS::EMR::Cluster as its template declares it, and a
stack whose cluster starts asynchronously, as AWS CloudFormation does.

moto 5.2.5 accepts any parameter value (AllowedValues, AllowedPattern, Number, lengths and
bounds, unknown names are ignored), reads only a few AWS::EMR::Cluster properties (no instance
groups, applications, bootstrap actions, security configuration, termination default), and
marks a stack CREATE_COMPLETE inside CreateStack. Reproduced here:

* CreateStack validates parameters synchronously with ValidationError, in CloudFormation's
  words (User Guide "Parameters" section of the template anatomy): ``Parameters: [X] do not
  exist in the template``, ``Parameters: [X] must have values``, ``Parameter 'X' must be one of
  AllowedValues``, ``Parameter 'X' must match pattern P``, ``Parameter 'X' must be a number``,
  length and value bounds; AWS-specific parameter types (``AWS::EC2::Subnet::Id``,
  ``AWS::EC2::SecurityGroup::Id``, ``AWS::EC2::VPC::Id`` and their ``List<>`` forms) must name
  resources that exist in the stack's account and region ("Parameter validation failed:
  parameter value ... for parameter name ... does not exist").
* AWS::EMR::Cluster (CloudFormation resource reference): MasterInstanceGroup, CoreInstanceGroup,
  TaskInstanceGroups, Ec2SubnetId, the EMR-managed and additional security groups, Applications,
  BootstrapActions, Configurations, LogUri, SecurityConfiguration, VisibleToAllUsers, Tags, and
  ``KeepJobFlowAliveWhenNoSteps`` defaulting to true. It goes through the EMR extension, so the
  EMR refusals apply.
* The stack stays CREATE_IN_PROGRESS until its clusters run (RUNNING or WAITING), then
  CREATE_COMPLETE. A resource that fails to create (EMR refusing the request, or a cluster
  ending before it ran) makes the stack CREATE_FAILED -> ROLLBACK_IN_PROGRESS ->
  ROLLBACK_COMPLETE, with StackStatusReason ``The following resource(s) failed to create:
  [Logical]. Rollback requested by user.`` and the resource's reason in its CREATE_FAILED event.
  DeleteStack stays DELETE_IN_PROGRESS until its clusters are TERMINATED.
"""

from __future__ import annotations

import re
import time
from typing import Any

from moto.cloudformation import parsing
from moto.cloudformation.exceptions import ValidationError
from moto.cloudformation.models import Event, Stack
from moto.emr.models import Cluster, emr_backends

from . import emr

AWS_TYPES = {
    "AWS::EC2::Subnet::Id": ("subnet", lambda ec2, v: ec2.get_subnet(v)),
    "AWS::EC2::SecurityGroup::Id": ("security group", lambda ec2, v: ec2.get_security_group_from_id(v)),
    "AWS::EC2::VPC::Id": ("VPC", lambda ec2, v: ec2.get_vpc(v)),
}


# --- parameters ------------------------------------------------------------------------------


def validate_parameters(template: dict, given: dict[str, Any], account_id: str, region: str) -> None:
    declared = template.get("Parameters") or {}
    unknown = [k for k in given if k not in declared]
    if unknown:
        raise ValidationError(message=f"Parameters: [{', '.join(unknown)}] do not exist in the template")
    missing = [k for k, p in declared.items() if k not in given and "Default" not in p]
    if missing:
        raise ValidationError(message=f"Parameters: [{', '.join(missing)}] must have values")
    for name, slot in declared.items():
        value = given.get(name, slot.get("Default"))
        kind = slot.get("Type", "String")
        if kind.startswith("AWS::SSM::Parameter"):
            continue
        values = [v.strip() for v in str(value).split(",")] if kind.startswith("List<") or kind == "CommaDelimitedList" else [str(value)]
        for item in values:
            _check_one(name, slot, kind, item, account_id, region)


def _check_one(name: str, slot: dict, kind: str, value: str, account_id: str, region: str) -> None:
    base = kind[5:-1] if kind.startswith("List<") else kind
    if base == "Number":
        try:
            number = float(value)
        except ValueError:
            raise ValidationError(message=f"Parameter '{name}' must be a number") from None
        if "MinValue" in slot and number < float(slot["MinValue"]):
            raise ValidationError(message=f"Parameter '{name}' must be a number not less than {slot['MinValue']}")
        if "MaxValue" in slot and number > float(slot["MaxValue"]):
            raise ValidationError(message=f"Parameter '{name}' must be a number not greater than {slot['MaxValue']}")
    allowed = slot.get("AllowedValues")
    if allowed is not None and value not in [_text(v) for v in allowed]:
        raise ValidationError(message=f"Parameter '{name}' must be one of AllowedValues")
    pattern = slot.get("AllowedPattern")
    if pattern is not None and re.fullmatch(pattern, value) is None:
        raise ValidationError(message=f"Parameter '{name}' must match pattern {pattern}")
    if "MinLength" in slot and len(value) < int(slot["MinLength"]):
        raise ValidationError(message=f"Parameter '{name}' must contain at least {slot['MinLength']} characters")
    if "MaxLength" in slot and len(value) > int(slot["MaxLength"]):
        raise ValidationError(message=f"Parameter '{name}' must contain at most {slot['MaxLength']} characters")
    if base in AWS_TYPES:
        from moto.ec2.models import ec2_backends

        _, find = AWS_TYPES[base]
        ec2 = ec2_backends[account_id][region]
        try:
            found = find(ec2, value)
        except Exception:
            found = None
        if found is None:
            raise ValidationError(
                message=f"Parameter validation failed: parameter value {value} for parameter name {name} does not exist"
            )


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


_original_load_parameters = parsing.ResourceMap.load_parameters


def load_parameters(self) -> None:
    validate_parameters(self._template, self.input_parameters or {}, self._account_id, self._region_name)
    _original_load_parameters(self)


# --- AWS::EMR::Cluster -------------------------------------------------------------------------


def _group(role: str, spec: dict | None) -> dict | None:
    if not spec:
        return None
    group = {"instance_count": int(spec.get("InstanceCount", 1)), "instance_role": role,
             "instance_type": spec.get("InstanceType"), "market": spec.get("Market", "ON_DEMAND")}
    if spec.get("Name"):
        group["name"] = spec["Name"]
    if spec.get("BidPrice"):
        group["bid_price"] = spec["BidPrice"]
    return group


def create_cluster_from_cloudformation_json(cls, resource_name: str, cloudformation_json: Any, account_id: str,
                                            region_name: str, **kwargs: Any) -> Cluster:
    properties = cloudformation_json["Properties"]
    instances = properties.get("Instances") or {}
    keep_alive = instances.get("KeepJobFlowAliveWhenNoSteps", True)
    attrs = {
        "ec2_subnet_id": instances.get("Ec2SubnetId") or (instances.get("Ec2SubnetIds") or [None])[0],
        "ec2_key_name": instances.get("Ec2KeyName"),
        "hadoop_version": instances.get("HadoopVersion"),
        "availability_zone": (instances.get("Placement") or {}).get("AvailabilityZone") or f"{region_name}a",
        "keep_job_flow_alive_when_no_steps": str(keep_alive).lower() == "true",
        "termination_protected": str(instances.get("TerminationProtected", False)).lower() == "true",
        "emr_managed_master_security_group": instances.get("EmrManagedMasterSecurityGroup"),
        "emr_managed_slave_security_group": instances.get("EmrManagedSlaveSecurityGroup"),
        "service_access_security_group": instances.get("ServiceAccessSecurityGroup"),
        "additional_master_security_groups": instances.get("AdditionalMasterSecurityGroups") or [],
        "additional_slave_security_groups": instances.get("AdditionalSlaveSecurityGroups") or [],
    }
    backend = emr_backends[account_id][region_name]
    bootstrap = [
        {"name": action.get("Name"),
         "script_bootstrap_action": {"path": (action.get("ScriptBootstrapAction") or {}).get("Path"),
                                     "args": (action.get("ScriptBootstrapAction") or {}).get("Args") or []}}
        for action in properties.get("BootstrapActions") or []
    ]
    cluster = backend.run_job_flow(
        name=properties["Name"],
        log_uri=properties.get("LogUri"),
        job_flow_role=properties["JobFlowRole"],
        service_role=properties["ServiceRole"],
        steps=[],
        instance_attrs=attrs,
        bootstrap_actions=bootstrap or None,
        configurations=properties.get("Configurations") or None,
        visible_to_all_users=str(properties.get("VisibleToAllUsers", True)).lower() == "true",
        release_label=properties.get("ReleaseLabel"),
        custom_ami_id=properties.get("CustomAmiId"),
        security_configuration=properties.get("SecurityConfiguration"),
        kerberos_attributes=properties.get("KerberosAttributes") or {},
        auto_scaling_role=properties.get("AutoScalingRole"),
        step_concurrency_level=int(properties.get("StepConcurrencyLevel", 1)),
    )
    groups = [g for g in (_group("MASTER", instances.get("MasterInstanceGroup")),
                          _group("CORE", instances.get("CoreInstanceGroup"))) if g]
    groups += [_group("TASK", spec) for spec in instances.get("TaskInstanceGroups") or []]
    if groups:
        backend.add_instance_groups(cluster.id, groups)
    backend.add_applications(cluster.id, [{"name": a.get("Name"), "version": a.get("Version"),
                                           "args": a.get("Args") or [], "additional_info": a.get("AdditionalInfo") or {}}
                                          for a in properties.get("Applications") or []])
    cluster.add_tags({item["Key"]: item["Value"] for item in properties.get("Tags") or []})
    return cluster


# --- asynchronous stacks -------------------------------------------------------------------------


def _remember_clusters(stack: Stack) -> None:
    """Deleting a stack drops its resources from the map; its clusters are remembered here."""
    resources = getattr(stack.resource_map, "_parsed_resources", {}) or {}
    known = stack.__dict__.setdefault("_ext_clusters", {})
    for key, value in list(resources.items()):
        if isinstance(value, Cluster):
            known[key] = value


def _clusters(stack: Stack) -> list[Cluster]:
    return list(stack.__dict__.get("_ext_clusters", {}).values())


def _logical_id(stack: Stack, resource: Any) -> str:
    for key, value in stack.__dict__.get("_ext_clusters", {}).items():
        if value is resource:
            return key
    return "Resource"


def fail_creation(stack: Stack, logical_id: str, resource_type: str, reason: str) -> None:
    stack.__dict__["_ext_failure"] = {
        "at": time.monotonic(),
        "reason": f"The following resource(s) failed to create: [{logical_id}]. Rollback requested by user.",
        "resource_reason": reason,
    }
    stack.events.append(Event(stack_id=stack.stack_id, stack_name=stack.name, logical_resource_id=logical_id,
                              physical_resource_id="", resource_type=resource_type, resource_status="CREATE_FAILED",
                              resource_status_reason=reason, resource_properties=None))
    try:
        stack.resource_map.delete()
    except Exception:  # a resource that never came to be has nothing to delete
        pass


def _get_status(self: Stack) -> str:
    with emr._LOCK:  # one request derives a failure (and rolls back) once
        return _derive_status(self)


def _derive_status(self: Stack) -> str:
    raw = self.__dict__.get("_ext_status")
    failure = self.__dict__.get("_ext_failure")
    if raw in ("CREATE_COMPLETE", "CREATE_IN_PROGRESS") and failure is None:
        for cluster in _clusters(self):
            state = cluster.state
            if state in ("TERMINATING", *emr.ENDED) and cluster.ready_datetime is None:
                reason = (cluster.__dict__.get("_ext_reason") or (None, None))[1] or "The cluster terminated."
                fail_creation(self, _logical_id(self, cluster), "AWS::EMR::Cluster",
                              f"Resource handler returned message: \"{reason}\"")
                failure = self.__dict__["_ext_failure"]
                break
            if state in ("STARTING", "BOOTSTRAPPING"):
                return "CREATE_IN_PROGRESS"
    if failure is not None:
        elapsed = (time.monotonic() - failure["at"]) / max(emr.step_seconds(), 1e-6)
        if raw == "DELETE_COMPLETE":
            return raw
        if elapsed < 1:
            return "CREATE_FAILED"
        if elapsed < 2 or any(c.state == "TERMINATING" for c in _clusters(self)):
            return "ROLLBACK_IN_PROGRESS"
        return "ROLLBACK_COMPLETE"
    if raw == "DELETE_COMPLETE" and any(c.state == "TERMINATING" for c in _clusters(self)):
        return "DELETE_IN_PROGRESS"
    return raw


def _set_status(self: Stack, value: str) -> None:
    self.__dict__["_ext_status"] = value


def _status_reason(self: Stack) -> str | None:
    status = self.status
    failure = self.__dict__.get("_ext_failure")
    if failure is not None and status in ("CREATE_FAILED", "ROLLBACK_IN_PROGRESS", "ROLLBACK_COMPLETE"):
        return failure["reason"]
    return None


def failure_reason(stack: Stack) -> str | None:
    """The resource's own reason for a failed creation (what Service Catalog reports)."""
    stack.status  # noqa: B018 - derives a failure from the clusters
    failure = stack.__dict__.get("_ext_failure")
    return failure["resource_reason"] if failure else None


_original_create_resources = Stack.create_resources


def create_resources(self: Stack) -> None:
    try:
        _original_create_resources(self)
        _remember_clusters(self)
    except Exception as exc:  # noqa: BLE001 - any resource failure fails the stack, as CloudFormation does
        message = getattr(exc, "message", None) or str(exc)
        logical, kind = "Resource", "AWS::CloudFormation::Stack"
        parsed = getattr(self.resource_map, "_parsed_resources", {}) or {}
        for key, spec in (self.template_dict.get("Resources") or {}).items():
            if key not in parsed:
                logical, kind = key, spec.get("Type", kind)
                break
        self.status = "CREATE_IN_PROGRESS"
        _remember_clusters(self)
        fail_creation(self, logical, kind, f"Resource handler returned message: \"{message}\"")


def install() -> None:
    parsing.ResourceMap.load_parameters = load_parameters
    Cluster.create_from_cloudformation_json = classmethod(create_cluster_from_cloudformation_json)
    Stack.status = property(_get_status, _set_status)
    Stack.stack_status_reason = property(_status_reason)
    Stack.create_resources = create_resources
