"""SageMaker: what the AWS provider needs for domains, user profiles, Studio lifecycle
configurations and apps, following botocore's service model shapes.

moto 5.2.5 gaps closed here: CreateDomain's reply lacks DomainId; a domain's tags are None;
a deleted domain answers ValidationError instead of ResourceNotFound; TagPropagation is not
echoed; UpdateDomain; StudioLifecycleConfig and UserProfile create/describe/update/delete/list;
apps (ListApps, CreateApp, DeleteApp, DescribeApp), which users create outside Terraform.

Notebook instances (SM-5), which moto 5.2.5 makes InService inside CreateNotebookInstance and
Stopped inside StopNotebookInstance, deletes at once, and lets reference anything. Reproduced
here, following botocore's ``sagemaker`` model and the API reference:

* Lifecycle (``NotebookInstanceStatus``): Create answers at once with the instance ``Pending``,
  which becomes ``InService`` after ``EMULATOR_NOTEBOOK_STEP_SECONDS`` (default 1 s); Stop:
  ``Stopping`` -> ``Stopped``; Start: ``Pending`` -> ``InService``; Update: ``Updating`` ->
  ``Stopped``; Delete: ``Deleting`` -> gone, after which Describe answers ValidationException
  "RecordNotFound" (what the AWS provider's finder treats as gone). Stop needs ``InService``;
  Start, Update and Delete need ``Stopped`` or ``Failed``; otherwise ValidationException
  "Status (X) not in ([...]). Unable to transition to (Y) for Notebook Instance (arn)", the
  form AWS (and moto, for Delete) answers.
* Create refuses (ValidationException) a duplicate name, an instance type outside botocore's
  ``InstanceType`` enum, a volume under 5 GB, a lifecycle configuration that does not exist,
  DirectInternetAccess ``Disabled`` without a subnet, security groups missing or outside the
  subnet's VPC, and a role SageMaker may not assume (its trust must admit
  ``sagemaker.amazonaws.com``; wording as SageMaker's other APIs answer it).
* "If you specified SubnetId, SageMaker creates a network interface in your own VPC" with the
  security groups of the request (API reference, CreateNotebookInstance): that ENI (a free
  address of the subnet) exists from Create until the deletion completes, and is the
  ``NetworkInterfaceId`` Describe answers.
* Notebook instance lifecycle configurations: Create/Describe/Update/Delete/List, with tags;
  each hook's ``Content`` at most 16384 characters and at most one hook per list
  (``NotebookInstanceLifecycleHook``). An update reaches an instance at its next start, as on
  AWS; the emulator never runs the scripts (a failing script would make an AWS instance
  ``Failed``). AWS documents no refusal to delete a configuration an instance uses, so none is
  invented here.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

from moto.core.responses import ActionResult, EmptyResult
from moto.core.utils import utcnow
from moto.sagemaker import models
from moto.sagemaker.exceptions import ResourceInUseException, ResourceNotFound, ValidationError
from moto.sagemaker.responses import SageMakerResponse


def _arn(backend, kind: str, name: str) -> str:
    return f"arn:aws:sagemaker:{backend.region_name}:{backend.account_id}:{kind}/{name}"


def _store(backend, name: str) -> dict:
    """Per account and region, kept on moto's own backend object so resets clear it too."""
    return backend.__dict__.setdefault(f"_ext_{name}", {})


def _domain(backend, domain_id: str):
    domain = backend.domains.get(domain_id)
    if domain is None:
        raise ResourceNotFound(message=f"Domain '{domain_id}' not found.")
    return domain


# --- domains -------------------------------------------------------------------------------


def create_domain(self) -> ActionResult:
    params = {k: self._get_param(k) for k in ("DomainName", "AuthMode", "DefaultUserSettings", "DomainSettings",
                                              "SubnetIds", "VpcId", "AppNetworkAccessType", "HomeEfsFileSystemKmsKeyId",
                                              "KmsKeyId", "AppSecurityGroupManagement", "DefaultSpaceSettings")}
    backend = self.sagemaker_backend
    result = backend.create_domain(
        domain_name=params["DomainName"],
        auth_mode=params["AuthMode"],
        default_user_settings=params["DefaultUserSettings"],
        domain_settings=params["DomainSettings"],
        subnet_ids=params["SubnetIds"],
        vpc_id=params["VpcId"],
        tags=self._get_param("Tags") or [],
        app_network_access_type=params["AppNetworkAccessType"],
        home_efs_file_system_kms_key_id=params["HomeEfsFileSystemKmsKeyId"],
        kms_key_id=params["KmsKeyId"],
        app_security_group_management=params["AppSecurityGroupManagement"],
        default_space_settings=params["DefaultSpaceSettings"],
    )
    domain = next(d for d in backend.domains.values() if d.arn == result["DomainArn"])
    domain.tag_propagation = self._get_param("TagPropagation") or "DISABLED"
    return ActionResult({**result, "DomainId": domain.id})


def describe_domain(self) -> ActionResult:
    domain = _domain(self.sagemaker_backend, self._get_param("DomainId"))
    description = domain.describe()
    description["TagPropagation"] = getattr(domain, "tag_propagation", "DISABLED")
    description["DefaultSpaceSettings"] = domain.default_space_settings
    return ActionResult(description)


def update_domain(self) -> ActionResult:
    domain = _domain(self.sagemaker_backend, self._get_param("DomainId"))
    for param, attribute in (
        ("DefaultUserSettings", "default_user_settings"),
        ("DefaultSpaceSettings", "default_space_settings"),
        ("AppNetworkAccessType", "app_network_access_type"),
        ("AppSecurityGroupManagement", "app_security_group_management"),
        ("SubnetIds", "subnet_ids"),
        ("TagPropagation", "tag_propagation"),
    ):
        value = self._get_param(param)
        if value is not None:
            setattr(domain, attribute, value)
    settings = self._get_param("DomainSettingsForUpdate")
    if settings:
        domain.domain_settings = {**(domain.domain_settings or {}), **settings}
    domain.last_modified_time = utcnow()
    return ActionResult({"DomainArn": domain.arn})


def delete_domain(self) -> EmptyResult:
    backend = self.sagemaker_backend
    domain_id = self._get_param("DomainId")
    _domain(backend, domain_id)
    profiles = [p for p in _store(backend, "user_profiles").values() if p["DomainId"] == domain_id]
    apps = [a for a in _store(backend, "apps").values() if a["DomainId"] == domain_id and a["Status"] != "Deleted"]
    if profiles or apps:
        raise ResourceInUseException(
            message=f"Domain {domain_id} still has {len(profiles)} user profile(s) and {len(apps)} app(s); delete them first."
        )
    del backend.domains[domain_id]
    return EmptyResult()


# --- Studio lifecycle configurations ------------------------------------------------------


def create_studio_lifecycle_config(self) -> ActionResult:
    backend = self.sagemaker_backend
    name = self._get_param("StudioLifecycleConfigName")
    configs = _store(backend, "studio_lifecycle_configs")
    if name in configs:
        raise ResourceInUseException(message=f"Studio lifecycle config {name} already exists.")
    now = utcnow()
    configs[name] = {
        "StudioLifecycleConfigArn": _arn(backend, "studio-lifecycle-config", name),
        "StudioLifecycleConfigName": name,
        "CreationTime": now,
        "LastModifiedTime": now,
        "StudioLifecycleConfigContent": self._get_param("StudioLifecycleConfigContent"),
        "StudioLifecycleConfigAppType": self._get_param("StudioLifecycleConfigAppType"),
        "_tags": self._get_param("Tags") or [],
    }
    return ActionResult({"StudioLifecycleConfigArn": configs[name]["StudioLifecycleConfigArn"]})


def _lifecycle_config(backend, name: str) -> dict:
    config = _store(backend, "studio_lifecycle_configs").get(name)
    if config is None:
        raise ResourceNotFound(message=f"Studio lifecycle config {name} does not exist.")
    return config


def describe_studio_lifecycle_config(self) -> ActionResult:
    config = _lifecycle_config(self.sagemaker_backend, self._get_param("StudioLifecycleConfigName"))
    return ActionResult({k: v for k, v in config.items() if not k.startswith("_")})


def delete_studio_lifecycle_config(self) -> EmptyResult:
    name = self._get_param("StudioLifecycleConfigName")
    _lifecycle_config(self.sagemaker_backend, name)
    del _store(self.sagemaker_backend, "studio_lifecycle_configs")[name]
    return EmptyResult()


def list_studio_lifecycle_configs(self) -> ActionResult:
    configs = _store(self.sagemaker_backend, "studio_lifecycle_configs").values()
    keys = ("StudioLifecycleConfigArn", "StudioLifecycleConfigName", "CreationTime", "LastModifiedTime",
            "StudioLifecycleConfigAppType")
    return ActionResult({"StudioLifecycleConfigs": [{k: c[k] for k in keys} for c in configs]})


# --- user profiles ------------------------------------------------------------------------


def _profile_key(domain_id: str, name: str) -> str:
    return f"{domain_id}/{name}"


def _profile(backend, domain_id: str, name: str) -> dict:
    profile = _store(backend, "user_profiles").get(_profile_key(domain_id, name))
    if profile is None:
        raise ResourceNotFound(message=f"User profile {name} in domain {domain_id} does not exist.")
    return profile


def create_user_profile(self) -> ActionResult:
    backend = self.sagemaker_backend
    domain_id = self._get_param("DomainId")
    _domain(backend, domain_id)
    name = self._get_param("UserProfileName")
    profiles = _store(backend, "user_profiles")
    key = _profile_key(domain_id, name)
    if key in profiles:
        raise ResourceInUseException(message=f"User profile {name} already exists in domain {domain_id}.")
    now = utcnow()
    profiles[key] = {
        "DomainId": domain_id,
        "UserProfileArn": _arn(backend, "user-profile", key),
        "UserProfileName": name,
        "HomeEfsFileSystemUid": str(200000 + len(profiles)),
        "Status": "InService",
        "CreationTime": now,
        "LastModifiedTime": now,
        "UserSettings": self._get_param("UserSettings") or {},
        "_tags": self._get_param("Tags") or [],
    }
    return ActionResult({"UserProfileArn": profiles[key]["UserProfileArn"]})


def describe_user_profile(self) -> ActionResult:
    profile = _profile(self.sagemaker_backend, self._get_param("DomainId"), self._get_param("UserProfileName"))
    return ActionResult({k: v for k, v in profile.items() if not k.startswith("_")})


def update_user_profile(self) -> ActionResult:
    profile = _profile(self.sagemaker_backend, self._get_param("DomainId"), self._get_param("UserProfileName"))
    settings = self._get_param("UserSettings")
    if settings is not None:
        profile["UserSettings"] = settings
    profile["LastModifiedTime"] = utcnow()
    return ActionResult({"UserProfileArn": profile["UserProfileArn"]})


def delete_user_profile(self) -> EmptyResult:
    backend = self.sagemaker_backend
    domain_id, name = self._get_param("DomainId"), self._get_param("UserProfileName")
    _profile(backend, domain_id, name)
    live_apps = [a for a in _store(backend, "apps").values()
                 if a["DomainId"] == domain_id and a.get("UserProfileName") == name and a["Status"] != "Deleted"]
    if live_apps:
        raise ResourceInUseException(message=f"User profile {name} still has {len(live_apps)} app(s); delete them first.")
    del _store(backend, "user_profiles")[_profile_key(domain_id, name)]
    return EmptyResult()


def list_user_profiles(self) -> ActionResult:
    domain_id = self._get_param("DomainIdEquals")
    profiles = [p for p in _store(self.sagemaker_backend, "user_profiles").values()
                if domain_id is None or p["DomainId"] == domain_id]
    keys = ("DomainId", "UserProfileName", "Status", "CreationTime", "LastModifiedTime")
    return ActionResult({"UserProfiles": [{k: p[k] for k in keys} for p in profiles]})


# --- apps (created by users in Studio, outside Terraform) ---------------------------------


def _app_key(domain_id: str, owner: str, app_type: str, app_name: str) -> str:
    return f"{domain_id}/{owner}/{app_type}/{app_name}"


def create_app(self) -> ActionResult:
    backend = self.sagemaker_backend
    domain_id = self._get_param("DomainId")
    owner = self._get_param("UserProfileName")
    _profile(backend, domain_id, owner)
    app_type, app_name = self._get_param("AppType"), self._get_param("AppName")
    key = _app_key(domain_id, owner, app_type.lower(), app_name)
    _store(backend, "apps")[key] = {
        "AppArn": _arn(backend, "app", key),
        "DomainId": domain_id,
        "UserProfileName": owner,
        "AppType": app_type,
        "AppName": app_name,
        "Status": "InService",
        "CreationTime": utcnow(),
    }
    return ActionResult({"AppArn": _store(backend, "apps")[key]["AppArn"]})


def list_apps(self) -> ActionResult:
    domain_id = self._get_param("DomainIdEquals")
    owner = self._get_param("UserProfileNameEquals")
    apps = [a for a in _store(self.sagemaker_backend, "apps").values()
            if (domain_id is None or a["DomainId"] == domain_id) and (owner is None or a["UserProfileName"] == owner)]
    return ActionResult({"Apps": list(apps)})


def delete_app(self) -> EmptyResult:
    backend = self.sagemaker_backend
    key = _app_key(self._get_param("DomainId"), self._get_param("UserProfileName"),
                   self._get_param("AppType").lower(), self._get_param("AppName"))
    app = _store(backend, "apps").get(key)
    if app is None:
        raise ResourceNotFound(message=f"App {key} does not exist.")
    app["Status"] = "Deleted"
    return EmptyResult()


# --- notebook instances and their lifecycle configurations (SM-5) ---------------------------

_NOTEBOOK_LOCK = threading.RLock()
_HOOK_MAX_CHARS = 16384


def notebook_step_seconds() -> float:
    return float(os.environ.get("EMULATOR_NOTEBOOK_STEP_SECONDS", "1"))


def _instance_types() -> list[str]:
    import botocore.session

    return botocore.session.get_session().get_service_model("sagemaker").shape_for("InstanceType").enum


def _notebook_config(backend, name: str, verb: str) -> dict:
    config = _store(backend, "notebook_lifecycle_configs").get(name)
    if config is None:
        arn = _arn(backend, "notebook-instance-lifecycle-config", name)
        raise ValidationError(message=f"Unable to {verb} Notebook Instance Lifecycle Config '{arn}'. "
                                      "(Details: Notebook Instance Lifecycle Config does not exist.)")
    return config


def _hooks(self, param: str) -> list | None:
    hooks = self._get_param(param)
    if hooks is None:
        return None
    if len(hooks) > 1:
        raise ValidationError(message=f"1 validation error detected: Value at '{param[0].lower() + param[1:]}' failed to "
                                      "satisfy constraint: Member must have length less than or equal to 1")
    for index, hook in enumerate(hooks, start=1):
        content = hook.get("Content") or ""
        if len(content) > _HOOK_MAX_CHARS:
            raise ValidationError(message=f"1 validation error detected: Value at '{param[0].lower() + param[1:]}.{index}"
                                          f".member.content' failed to satisfy constraint: Member must have length less "
                                          f"than or equal to {_HOOK_MAX_CHARS}")
    return [{"Content": h.get("Content")} for h in hooks]


def create_notebook_instance_lifecycle_config(self) -> ActionResult:
    backend = self.sagemaker_backend
    name = self._get_param("NotebookInstanceLifecycleConfigName")
    configs = _store(backend, "notebook_lifecycle_configs")
    arn = _arn(backend, "notebook-instance-lifecycle-config", name)
    on_create, on_start = _hooks(self, "OnCreate"), _hooks(self, "OnStart")
    with _NOTEBOOK_LOCK:
        if name in configs:
            raise ValidationError(message=f"Unable to create Notebook Instance Lifecycle Config {arn}. "
                                          "(Details: Notebook Instance Lifecycle Config already exists.)")
        now = utcnow()
        configs[name] = {
            "NotebookInstanceLifecycleConfigArn": arn,
            "NotebookInstanceLifecycleConfigName": name,
            "OnCreate": on_create or [],
            "OnStart": on_start or [],
            "CreationTime": now,
            "LastModifiedTime": now,
            "_tags": self._get_param("Tags") or [],
        }
    return ActionResult({"NotebookInstanceLifecycleConfigArn": arn})


def describe_notebook_instance_lifecycle_config(self) -> ActionResult:
    config = _notebook_config(self.sagemaker_backend, self._get_param("NotebookInstanceLifecycleConfigName"), "describe")
    return ActionResult({k: v for k, v in config.items() if not k.startswith("_") and v != []})


def update_notebook_instance_lifecycle_config(self) -> ActionResult:
    config = _notebook_config(self.sagemaker_backend, self._get_param("NotebookInstanceLifecycleConfigName"), "update")
    on_create, on_start = _hooks(self, "OnCreate"), _hooks(self, "OnStart")
    with _NOTEBOOK_LOCK:
        if on_create is not None:
            config["OnCreate"] = on_create
        if on_start is not None:
            config["OnStart"] = on_start
        config["LastModifiedTime"] = utcnow()
    return EmptyResult()


def delete_notebook_instance_lifecycle_config(self) -> EmptyResult:
    name = self._get_param("NotebookInstanceLifecycleConfigName")
    _notebook_config(self.sagemaker_backend, name, "delete")
    with _NOTEBOOK_LOCK:
        _store(self.sagemaker_backend, "notebook_lifecycle_configs").pop(name, None)
    return EmptyResult()


def _listed(self, records: list[dict], name_key: str, extra_sort: dict | None = None) -> tuple[list[dict], str | None]:
    """Filters, sort and pages shared by the two List calls."""
    contains = self._get_param("NameContains")
    if contains:
        records = [r for r in records if contains in r[name_key]]
    for param, key, keep in (("CreationTimeBefore", "CreationTime", lambda v, t: v < t),
                             ("CreationTimeAfter", "CreationTime", lambda v, t: v > t),
                             ("LastModifiedTimeBefore", "LastModifiedTime", lambda v, t: v < t),
                             ("LastModifiedTimeAfter", "LastModifiedTime", lambda v, t: v > t)):
        bound = self._get_param(param)
        if bound is not None:
            limit = bound.timestamp() if hasattr(bound, "timestamp") else float(bound)
            records = [r for r in records if keep(r[key].timestamp(), limit)]
    sort_keys = {"Name": name_key, "CreationTime": "CreationTime", "LastModifiedTime": "LastModifiedTime",
                 **(extra_sort or {})}
    sort_by = sort_keys.get(self._get_param("SortBy") or "Name", name_key)
    records = sorted(records, key=lambda r: r[sort_by], reverse=(self._get_param("SortOrder") == "Descending"))
    start = int(self._get_param("NextToken") or 0)
    size = int(self._get_param("MaxResults") or 10)
    page = records[start:start + size]
    return page, (str(start + size) if start + size < len(records) else None)


def list_notebook_instance_lifecycle_configs(self) -> ActionResult:
    configs = list(_store(self.sagemaker_backend, "notebook_lifecycle_configs").values())
    page, token = _listed(self, configs, "NotebookInstanceLifecycleConfigName")
    keys = ("NotebookInstanceLifecycleConfigName", "NotebookInstanceLifecycleConfigArn", "CreationTime", "LastModifiedTime")
    result = {"NotebookInstanceLifecycleConfigs": [{k: c[k] for k in keys} for c in page]}
    if token:
        result["NextToken"] = token
    return ActionResult(result)


def _advance_notebook(backend, record: dict) -> None:
    """Apply the transitions whose time has come; the last of a deletion removes the record."""
    with _NOTEBOOK_LOCK:
        plan = record["_plan"]
        now = time.monotonic()
        while plan and plan[0][0] <= now:
            _, state = plan.pop(0)
            if state is None:
                _release_network_interface(backend, record)
                _store(backend, "notebook_instances").pop(record["NotebookInstanceName"], None)
                return
            record["NotebookInstanceStatus"] = state
            record["LastModifiedTime"] = utcnow()


def _schedule_notebook(record: dict, now_state: str, *later: str | None) -> None:
    t0, step = time.monotonic(), notebook_step_seconds()
    record["NotebookInstanceStatus"] = now_state
    record["LastModifiedTime"] = utcnow()
    record["_plan"] = [(t0 + (i + 1) * step, state) for i, state in enumerate(later)]


def _notebook(backend, name: str) -> dict:
    record = _store(backend, "notebook_instances").get(name)
    if record is not None:
        _advance_notebook(backend, record)
        record = _store(backend, "notebook_instances").get(name)
    if record is None:
        raise ValidationError(message="RecordNotFound")
    return record


def _transition(record: dict, allowed: tuple[str, ...], target: str) -> None:
    status = record["NotebookInstanceStatus"]
    if status not in allowed:
        raise ValidationError(message=f"Status ({status}) not in ([{', '.join(allowed)}]). Unable to transition to "
                                      f"({target}) for Notebook Instance ({record['NotebookInstanceArn']})")


def _check_notebook_network(backend, subnet_id: str | None, group_ids: list[str], direct_internet: str):
    from moto.ec2.models import ec2_backends

    if direct_internet == "Disabled" and not subnet_id:
        raise ValidationError(message="DirectInternetAccess can be Disabled only for a notebook instance in a VPC: "
                                      "specify SubnetId and SecurityGroupIds.")
    if not subnet_id:
        if group_ids:
            raise ValidationError(message="SecurityGroupIds can be specified only with a SubnetId.")
        return None, None
    ec2 = ec2_backends[backend.account_id][backend.region_name]
    try:
        subnet = ec2.get_subnet(subnet_id)
    except Exception:  # moto's InvalidSubnetIdError
        raise ValidationError(message=f"The subnet ID '{subnet_id}' does not exist") from None
    for group_id in group_ids:
        group = ec2.get_security_group_from_id(group_id)
        if group is None:
            raise ValidationError(message=f"The security group '{group_id}' does not exist")
        if group.vpc_id != subnet.vpc_id:
            raise ValidationError(message=f"Security group {group_id} is in VPC {group.vpc_id}, not in the VPC "
                                          f"{subnet.vpc_id} of subnet {subnet_id}.")
    return ec2, subnet


def _check_role(role_arn: str) -> None:
    import json

    from moto.iam.models import iam_backends

    from ..control import SAGEMAKER, service_may_assume

    refusal = (f"Could not assume role {role_arn}. Please ensure that the role exists and allows principal "
               f"'{SAGEMAKER}' to assume the role.")
    try:
        role = iam_backends[role_arn.split(":")[4]]["aws"].get_role_by_arn(role_arn)
    except Exception:  # no such role (moto raises its own NotFound types)
        raise ValidationError(message=refusal) from None
    trust = role.assume_role_policy_document
    if not service_may_assume(json.loads(trust) if isinstance(trust, str) else trust, SAGEMAKER):
        raise ValidationError(message=refusal)


def _release_network_interface(backend, record: dict) -> None:
    from moto.ec2.models import ec2_backends

    eni_id = record.get("NetworkInterfaceId")
    if eni_id:
        ec2_backends[backend.account_id][backend.region_name].enis.pop(eni_id, None)


def create_notebook_instance(self) -> ActionResult:
    from .emr import free_ip

    backend = self.sagemaker_backend
    name = self._get_param("NotebookInstanceName")
    arn = _arn(backend, "notebook-instance", name)
    instance_type = self._get_param("InstanceType")
    if instance_type not in _instance_types():
        raise ValidationError(message=f"1 validation error detected: Value '{instance_type}' at 'instanceType' failed to "
                                      "satisfy constraint: Member must satisfy enum value set")
    volume = self._get_param("VolumeSizeInGB") or 5
    if int(volume) < 5:
        raise ValidationError(message=f"Invalid range for parameter VolumeSizeInGB, value: {volume}, valid range: 5-inf")
    config_name = self._get_param("LifecycleConfigName")
    if config_name:
        _notebook_config(backend, config_name, "describe")
    direct_internet = self._get_param("DirectInternetAccess") or "Enabled"
    subnet_id = self._get_param("SubnetId")
    group_ids = self._get_param("SecurityGroupIds") or []
    ec2, subnet = _check_notebook_network(backend, subnet_id, group_ids, direct_internet)
    role_arn = self._get_param("RoleArn")
    _check_role(role_arn)
    notebooks = _store(backend, "notebook_instances")
    with _NOTEBOOK_LOCK:
        if name in notebooks:
            raise ValidationError(message=f"Cannot create a duplicate Notebook Instance ({arn})")
        eni_id = None
        if subnet is not None:
            if not group_ids:  # AWS attaches the VPC's default group
                group_ids = [ec2.get_default_security_group(subnet.vpc_id).id]
            eni = ec2.create_network_interface(subnet, free_ip(ec2, subnet), group_ids=group_ids,
                                               description=f"[DO NOT DELETE] ENI managed by SageMaker for Notebook "
                                                           f"Instance {arn}")
            eni.requester_managed = True
            eni_id = eni.id
        now = utcnow()
        record = {
            "NotebookInstanceArn": arn,
            "NotebookInstanceName": name,
            "Url": f"{name}.notebook.{backend.region_name}.sagemaker.aws",
            "InstanceType": instance_type,
            "SubnetId": subnet_id,
            "SecurityGroups": group_ids or None,
            "RoleArn": role_arn,
            "KmsKeyId": self._get_param("KmsKeyId"),
            "NetworkInterfaceId": eni_id,
            "CreationTime": now,
            "NotebookInstanceLifecycleConfigName": config_name,
            "DirectInternetAccess": direct_internet,
            "VolumeSizeInGB": int(volume),
            "AcceleratorTypes": self._get_param("AcceleratorTypes"),
            "DefaultCodeRepository": self._get_param("DefaultCodeRepository"),
            "AdditionalCodeRepositories": self._get_param("AdditionalCodeRepositories"),
            "RootAccess": self._get_param("RootAccess") or "Enabled",
            "PlatformIdentifier": self._get_param("PlatformIdentifier") or "notebook-al2-v2",
            "InstanceMetadataServiceConfiguration": self._get_param("InstanceMetadataServiceConfiguration")
            or {"MinimumInstanceMetadataServiceVersion": "1"},
            "_tags": self._get_param("Tags") or [],
        }
        _schedule_notebook(record, "Pending", "InService")
        notebooks[name] = record
    return ActionResult({"NotebookInstanceArn": arn})


def describe_notebook_instance(self) -> ActionResult:
    record = _notebook(self.sagemaker_backend, self._get_param("NotebookInstanceName"))
    return ActionResult({k: v for k, v in record.items() if not k.startswith("_") and v is not None})


def list_notebook_instances(self) -> ActionResult:
    backend = self.sagemaker_backend
    for record in list(_store(backend, "notebook_instances").values()):
        _advance_notebook(backend, record)
    records = list(_store(backend, "notebook_instances").values())
    status = self._get_param("StatusEquals")
    if status:
        records = [r for r in records if r["NotebookInstanceStatus"] == status]
    config = self._get_param("NotebookInstanceLifecycleConfigNameContains")
    if config:
        records = [r for r in records if config in (r["NotebookInstanceLifecycleConfigName"] or "")]
    page, token = _listed(self, records, "NotebookInstanceName", {"Status": "NotebookInstanceStatus"})
    keys = ("NotebookInstanceName", "NotebookInstanceArn", "NotebookInstanceStatus", "Url", "InstanceType",
            "CreationTime", "LastModifiedTime", "NotebookInstanceLifecycleConfigName", "DefaultCodeRepository",
            "AdditionalCodeRepositories")
    result = {"NotebookInstances": [{k: r[k] for k in keys if r.get(k) is not None} for r in page]}
    if token:
        result["NextToken"] = token
    return ActionResult(result)


def stop_notebook_instance(self) -> EmptyResult:
    record = _notebook(self.sagemaker_backend, self._get_param("NotebookInstanceName"))
    with _NOTEBOOK_LOCK:
        _transition(record, ("InService",), "Stopping")
        _schedule_notebook(record, "Stopping", "Stopped")
    return EmptyResult()


def start_notebook_instance(self) -> EmptyResult:
    record = _notebook(self.sagemaker_backend, self._get_param("NotebookInstanceName"))
    with _NOTEBOOK_LOCK:
        _transition(record, ("Stopped", "Failed"), "Pending")
        _schedule_notebook(record, "Pending", "InService")
    return EmptyResult()


def update_notebook_instance(self) -> EmptyResult:
    backend = self.sagemaker_backend
    record = _notebook(backend, self._get_param("NotebookInstanceName"))
    config_name = self._get_param("LifecycleConfigName")
    if config_name:
        _notebook_config(backend, config_name, "describe")
    role_arn = self._get_param("RoleArn")
    if role_arn:
        _check_role(role_arn)
    instance_type = self._get_param("InstanceType")
    if instance_type and instance_type not in _instance_types():
        raise ValidationError(message=f"1 validation error detected: Value '{instance_type}' at 'instanceType' failed to "
                                      "satisfy constraint: Member must satisfy enum value set")
    with _NOTEBOOK_LOCK:
        _transition(record, ("Stopped", "Failed"), "Updating")
        for param, key in (("InstanceType", "InstanceType"), ("RoleArn", "RoleArn"),
                           ("LifecycleConfigName", "NotebookInstanceLifecycleConfigName"),
                           ("VolumeSizeInGB", "VolumeSizeInGB"), ("DefaultCodeRepository", "DefaultCodeRepository"),
                           ("AdditionalCodeRepositories", "AdditionalCodeRepositories"),
                           ("AcceleratorTypes", "AcceleratorTypes"), ("RootAccess", "RootAccess"),
                           ("InstanceMetadataServiceConfiguration", "InstanceMetadataServiceConfiguration")):
            value = self._get_param(param)
            if value is not None:
                record[key] = value
        for flag, key in (("DisassociateLifecycleConfig", "NotebookInstanceLifecycleConfigName"),
                          ("DisassociateAcceleratorTypes", "AcceleratorTypes"),
                          ("DisassociateDefaultCodeRepository", "DefaultCodeRepository"),
                          ("DisassociateAdditionalCodeRepositories", "AdditionalCodeRepositories")):
            if self._get_param(flag):
                record[key] = None
        _schedule_notebook(record, "Updating", "Stopped")
    return EmptyResult()


def delete_notebook_instance(self) -> EmptyResult:
    record = _notebook(self.sagemaker_backend, self._get_param("NotebookInstanceName"))
    with _NOTEBOOK_LOCK:
        _transition(record, ("Stopped", "Failed"), "Deleting")
        _schedule_notebook(record, "Deleting", None)
    return EmptyResult()


NOTEBOOK_HANDLERS = (
    create_notebook_instance_lifecycle_config, describe_notebook_instance_lifecycle_config,
    update_notebook_instance_lifecycle_config, delete_notebook_instance_lifecycle_config,
    list_notebook_instance_lifecycle_configs,
    create_notebook_instance, describe_notebook_instance, list_notebook_instances, stop_notebook_instance,
    start_notebook_instance, update_notebook_instance, delete_notebook_instance,
)


# --- tags on the resources above -----------------------------------------------------------

_original_resource_from_arn = models.SageMakerModelBackend._get_resource_from_arn


class _Tagged:
    def __init__(self, record: dict):
        self.record = record

    @property
    def tags(self) -> list:
        return self.record["_tags"]

    @tags.setter
    def tags(self, value: list) -> None:
        self.record["_tags"] = value


def _get_resource_from_arn(self, arn: str) -> Any:
    resource_part = arn.split(":", 5)[-1]
    kind, _, name = resource_part.partition("/")
    if kind == "studio-lifecycle-config":
        return _Tagged(_lifecycle_config(self, name))
    if kind == "user-profile":
        domain_id, _, profile = name.partition("/")
        return _Tagged(_profile(self, domain_id, profile))
    if kind == "notebook-instance":
        return _Tagged(_notebook(self, name))
    if kind == "notebook-instance-lifecycle-config":
        return _Tagged(_notebook_config(self, name, "describe"))
    resource = _original_resource_from_arn(self, arn)
    if getattr(resource, "tags", []) is None:
        resource.tags = []
    return resource


def install() -> None:
    for handler in (create_domain, describe_domain, update_domain, delete_domain,
                    create_studio_lifecycle_config, describe_studio_lifecycle_config,
                    delete_studio_lifecycle_config, list_studio_lifecycle_configs,
                    create_user_profile, describe_user_profile, update_user_profile, delete_user_profile,
                    list_user_profiles, create_app, list_apps, delete_app, *NOTEBOOK_HANDLERS):
        setattr(SageMakerResponse, handler.__name__, handler)
    models.SageMakerModelBackend._get_resource_from_arn = _get_resource_from_arn
