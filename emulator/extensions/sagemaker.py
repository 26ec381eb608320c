"""SageMaker: what the AWS provider needs for domains, user profiles, spaces, Studio lifecycle
configurations and apps, following botocore's service model shapes.

moto 5.2.5 gaps closed here: CreateDomain's reply lacks DomainId; a domain's tags are None;
a deleted domain answers ValidationError instead of ResourceNotFound; TagPropagation is not
echoed; UpdateDomain; StudioLifecycleConfig and UserProfile create/describe/update/delete/list;
spaces and apps (moto has neither), which users create outside Terraform.

Studio domains (SM-4), which moto 5.2.5 makes InService at once with the id ``d-<name>``, a home
EFS id ``<name>-efs-id`` that exists nowhere, and deletes at once whatever the domain holds.
Reproduced here, following botocore's ``sagemaker`` model, the API reference and the developer
guide ("Delete a domain", "Remove user profiles"):

* Ids in AWS's form (``d-`` and 12 lowercase letters and digits), the domain URL
  ``https://<id>.studio.<region>.sagemaker.aws``; no ``SecurityGroupIdForDomainBoundary``
  (AWS names one for RStudio domains only).
* CreateDomain refuses (ValidationException) a VPC or subnet that does not exist or a subnet
  outside the VPC; it makes what AWS makes in the customer's account: the home EFS file system
  (encrypted, with ``HomeEfsFileSystemKmsKeyId`` if given), tagged ``ManagedByAmazonSageMakerResource``
  = the domain ARN, which is the domain's ``HomeEfsFileSystemId``; the two security groups
  ``security-group-for-inbound-nfs-<id>`` and ``security-group-for-outbound-nfs-<id>`` in the
  domain's VPC, tagged the same, with AWS's "[DO NOT DELETE] ..." descriptions, the inbound group
  admitting TCP 2049 from the outbound group and the outbound group's only egress TCP 2049 to the
  inbound group; and a mount target of the EFS, with the inbound group, in each availability
  zone of the domain's subnets (EFS allows one per zone; one per subnet when the subnets are in
  distinct zones, as AWS asks), whose network interface (requester-managed, described "EFS mount
  target for fs-... (fsmt-...)") is in the subnet. UpdateDomain adds mount targets for subnets in
  zones not yet covered.
* ``Status`` (``DomainStatus``): Create answers with the domain ``Pending``, ``InService`` one step
  later (``EMULATOR_STUDIO_STEP_SECONDS``, default 0.5 s; the AWS provider waits on it after
  create and update); Update: ``Updating`` -> ``InService``; Delete: ``Deleting`` -> gone, then
  Describe answers ResourceNotFound (the provider's delete waits for that). A DeleteDomain of a
  domain already ``Deleting`` is accepted and changes nothing (AWS documents no answer).
* DeleteDomain "cannot contain any user profiles or shared spaces"; a profile or space "cannot
  contain any non-failed apps": ResourceInUse "Unable to delete Domain [arn] because
  UserProfile(s) | Space(s) | App(s) are associated with it.", in the wording AWS answers for a
  user profile with apps. ``RetentionPolicy.HomeEfsFileSystem`` (default ``Retain``): with
  ``Delete`` the EFS's mount targets (with their network interfaces) and the file system are
  deleted when the domain is gone; with ``Retain`` all of them stay. The NFS groups stay in both
  cases, as AWS leaves them.
* DeleteUserProfile: "All apps launched by a user profile and all spaces owned by the user
  profile must be deleted": ResourceInUse "Unable to delete UserProfile [arn] because App(s) |
  Space(s) are associated with it." (apps that are Deleted or Failed do not count).
* Spaces: Create/Describe/Update/Delete/List (``DomainIdEquals``, ``SpaceNameContains``,
  ``SortBy`` CreationTime | LastModifiedTime, ``SortOrder`` default Ascending, ``MaxResults``
  1-100 and ``NextToken``), with ``OwnershipSettings`` (the owner must be a profile of the
  domain: ResourceNotFound), ``SpaceSharingSettings``, ``SpaceSettings``, display name and tags;
  ``InService`` at once; Update: ``Updating`` -> ``InService`` and "You can't edit the app type of
  a space"; Delete refused (ResourceInUse, as above) while the space has apps not Deleted or
  Failed, then ``Deleting`` -> gone (DescribeSpace: ResourceNotFound).
* Apps of a user profile or of a space (exactly one of ``UserProfileName``/``SpaceName``;
  ListApps takes ``UserProfileNameEquals`` or ``SpaceNameEquals``, not both, and pages as
  ListSpaces, sorted by CreationTime). CreateApp refuses an app that exists and is not Deleted
  or Failed (ResourceInUse). DeleteApp: ``Deleting`` -> ``Deleted`` one step later; Describe and
  List keep showing a Deleted app. Deleting a Deleted app answers ValidationException "... has
  already been deleted", a Failed one "... previously failed and was automatically deleted" (the
  messages the AWS provider recognizes as gone); one still ``Deleting``, ValidationException
  (AWS documents no answer). ListApps and ListSpaces without ``MaxResults`` answer pages of 10
  (AWS documents no default).

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

import functools
import os
import secrets
import string
import threading
import time
import uuid
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


# --- Studio's asynchronous states ------------------------------------------------------------

_STUDIO_LOCK = threading.RLock()
SAGEMAKER_TAG = "ManagedByAmazonSageMakerResource"
NFS_PORT = 2049
_GONE_APP_STATES = ("Deleted", "Failed")
_DEFAULT_PAGE = 10


def studio_step_seconds() -> float:
    return float(os.environ.get("EMULATOR_STUDIO_STEP_SECONDS", "0.5"))


def _schedule(state: dict, now_state: str, *later: str | None) -> None:
    """``state["Status"]`` is ``now_state`` now, then each of ``later`` one step apart (None: gone)."""
    t0, step = time.monotonic(), studio_step_seconds()
    state["Status"] = now_state
    if "LastModifiedTime" in state:
        state["LastModifiedTime"] = utcnow()
    state["_plan"] = [(t0 + (i + 1) * step, s) for i, s in enumerate(later)]


def _due(state: dict) -> list[str | None]:
    """The scheduled states whose time has come, in order (removed from the plan)."""
    plan, now, due = state.get("_plan") or [], time.monotonic(), []
    while plan and plan[0][0] <= now:
        due.append(plan.pop(0)[1])
    return due


def _page(self, records: list, sort_keys: dict[str, Any], default_sort: str) -> tuple[list, str | None]:
    """SortBy/SortOrder (default Ascending) and MaxResults/NextToken, as the Studio List calls take them."""
    key = sort_keys.get(self._get_param("SortBy") or default_sort, sort_keys[default_sort])
    records = sorted(records, key=key, reverse=(self._get_param("SortOrder") == "Descending"))
    token = self._get_param("NextToken") or "0"
    if not token.isdigit():
        raise ValidationError(message=f"Invalid pagination token {token}")
    start, size = int(token), int(self._get_param("MaxResults") or _DEFAULT_PAGE)
    if not 1 <= size <= 100:
        raise ValidationError(message=f"1 validation error detected: Value '{size}' at 'maxResults' failed to satisfy "
                                      "constraint: Member must have value between 1 and 100")
    return records[start:start + size], (str(start + size) if start + size < len(records) else None)


def _public(record: dict, keys: tuple[str, ...] | None = None) -> dict:
    return {k: v for k, v in record.items() if not k.startswith("_") and v is not None and (keys is None or k in keys)}


# --- domains -------------------------------------------------------------------------------


def _domain_state(backend, domain_id: str) -> dict:
    return _store(backend, "domain_states").setdefault(domain_id, {})


def _advance_domain(backend, domain_id: str) -> None:
    with _STUDIO_LOCK:
        domain = backend.domains.get(domain_id)
        state = _store(backend, "domain_states").get(domain_id)
        if domain is None or state is None:
            return
        for status in _due(state):
            if status is None:
                _finish_domain_deletion(backend, domain_id, state)
                return
            domain.status = status
            domain.last_modified_time = utcnow()


def _domain(backend, domain_id: str):
    _advance_domain(backend, domain_id)
    domain = backend.domains.get(domain_id)
    if domain is None:
        raise ResourceNotFound(message=f"Domain '{domain_id}' not found.")
    return domain


def _schedule_domain(backend, domain, now_state: str, *later: str | None) -> None:
    state = _domain_state(backend, domain.id)
    _schedule(state, now_state, *later)
    domain.status = now_state
    domain.last_modified_time = utcnow()


def _new_domain_id(backend) -> str:
    """AWS's form, ``d-`` and 12 lowercase letters and digits (moto 5.2.5 uses ``d-<name>``, so a
    domain re-created under the same name after a deletion would reuse the id, and the NFS groups
    named after it that AWS leaves behind would clash)."""
    alphabet = string.ascii_lowercase + string.digits
    while True:
        candidate = "d-" + "".join(secrets.choice(alphabet) for _ in range(12))
        if candidate not in backend.domains:
            return candidate


def _ec2(backend):
    from moto.ec2.models import ec2_backends

    return ec2_backends[backend.account_id][backend.region_name]


def _efs(backend):
    from moto.efs.models import efs_backends

    return efs_backends[backend.account_id][backend.region_name]


def _domain_subnets(backend, vpc_id: str | None, subnet_ids: list[str]) -> list:
    """The subnets, each of which must exist in the domain's VPC."""
    ec2 = _ec2(backend)
    if not vpc_id or vpc_id not in ec2.vpcs:
        raise ValidationError(message=f"The VPC ID '{vpc_id}' does not exist")
    if not subnet_ids:
        raise ValidationError(message="SubnetIds must name at least one subnet of the VPC.")
    subnets = []
    for subnet_id in subnet_ids:
        try:
            subnet = ec2.get_subnet(subnet_id)
        except Exception:  # moto's InvalidSubnetIdError
            raise ValidationError(message=f"The subnet ID '{subnet_id}' does not exist") from None
        if subnet.vpc_id != vpc_id:
            raise ValidationError(message=f"Subnet {subnet_id} is in VPC {subnet.vpc_id}, not in the domain's VPC {vpc_id}.")
        subnets.append(subnet)
    return subnets


def _nfs_groups(backend, domain) -> tuple[str, str]:
    """The two groups SageMaker makes in the domain's VPC: NFS (TCP 2049) from the outbound group
    into the inbound group, which the home EFS's mount targets use."""
    ec2 = _ec2(backend)
    tags = {SAGEMAKER_TAG: domain.arn}
    inbound = ec2.create_security_group(
        f"security-group-for-inbound-nfs-{domain.id}",
        f"[DO NOT DELETE] Security Group that allows inbound NFS traffic for SageMaker Notebooks Domain [{domain.id}]",
        vpc_id=domain.vpc_id, tags=tags)
    outbound = ec2.create_security_group(
        f"security-group-for-outbound-nfs-{domain.id}",
        f"[DO NOT DELETE] Security Group that allows outbound NFS traffic for SageMaker Notebooks Domain [{domain.id}]",
        vpc_id=domain.vpc_id, tags=tags)
    outbound.egress_rules = []  # only NFS to the inbound group leaves it, not EC2's default allow-all
    ec2.authorize_security_group_egress(outbound.id, "tcp", str(NFS_PORT), str(NFS_PORT), [],
                                        source_groups=[{"GroupId": inbound.id}], vpc_id=domain.vpc_id)
    ec2.authorize_security_group_ingress(inbound.id, "tcp", str(NFS_PORT), str(NFS_PORT), [],
                                         source_groups=[{"GroupId": outbound.id}], vpc_id=domain.vpc_id)
    return inbound.id, outbound.id


def _mount_home(backend, state: dict, subnets: list) -> None:
    """A mount target of the home EFS in each availability zone of the domain's subnets (EFS
    allows one per zone), with its network interface in the subnet, as EFS makes it."""
    efs, ec2 = _efs(backend), _ec2(backend)
    file_system = efs.file_systems_by_id.get(state["efs"])
    if file_system is None:
        return
    for subnet in subnets:
        if file_system.has_mount_target(subnet):
            continue
        target = efs.create_mount_target(file_system.file_system_id, subnet.id, security_groups=[state["nfs"][0]])
        eni = ec2.enis.get(target.network_interface_id)
        if eni is not None:
            eni.description = f"EFS mount target for {file_system.file_system_id} ({target.mount_target_id})"
            eni.requester_managed = True
            eni.interface_type = "efs"


def _provision_home(backend, domain, subnets: list) -> None:
    state = _domain_state(backend, domain.id)
    state["nfs"] = _nfs_groups(backend, domain)
    encrypted_with = domain.home_efs_file_system_kms_key_id or None
    file_system = _efs(backend).create_file_system(
        creation_token=uuid.uuid4().hex, performance_mode="generalPurpose", encrypted=True, kms_key_id=encrypted_with,
        throughput_mode="bursting", provisioned_throughput_in_mibps=None, availability_zone_name=None, backup=False,
        tags=[{"Key": SAGEMAKER_TAG, "Value": domain.arn}])
    state["efs"] = file_system.file_system_id
    domain.home_efs_file_system_id = file_system.file_system_id
    _mount_home(backend, state, subnets)


def _finish_domain_deletion(backend, domain_id: str, state: dict) -> None:
    """The domain is gone; with RetentionPolicy Delete its home EFS goes too (mount targets, with
    their network interfaces, first). The NFS groups stay, as AWS leaves them."""
    backend.domains.pop(domain_id, None)
    _store(backend, "domain_states").pop(domain_id, None)
    if state.get("retention") != "Delete" or not state.get("efs"):
        return
    efs = _efs(backend)
    file_system = efs.file_systems_by_id.get(state["efs"])
    if file_system is None:
        return
    for target in list(file_system.iter_mount_targets()):
        try:
            efs.delete_mount_target(target.mount_target_id)
        except Exception:  # its network interface went another way: drop the target regardless
            efs.mount_targets_by_id.pop(target.mount_target_id, None)
            target.clean_up()
    efs.delete_file_system(file_system.file_system_id)


def create_domain(self) -> ActionResult:
    params = {k: self._get_param(k) for k in ("DomainName", "AuthMode", "DefaultUserSettings", "DomainSettings",
                                              "SubnetIds", "VpcId", "AppNetworkAccessType", "HomeEfsFileSystemKmsKeyId",
                                              "KmsKeyId", "AppSecurityGroupManagement", "DefaultSpaceSettings")}
    backend = self.sagemaker_backend
    subnets = _domain_subnets(backend, params["VpcId"], params["SubnetIds"] or [])
    with _STUDIO_LOCK:
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
        del backend.domains[domain.id]
        domain.id = _new_domain_id(backend)
        domain.arn = _arn(backend, "domain", domain.id)
        domain.url = f"https://{domain.id}.studio.{backend.region_name}.sagemaker.aws"
        domain.security_group_id_for_domain_boundary = None  # RStudio domains only; moto invents "sg-<name>"
        domain.failure_reason = None
        domain.tag_propagation = self._get_param("TagPropagation") or "DISABLED"
        backend.domains[domain.id] = domain
        _provision_home(backend, domain, subnets)
        _schedule_domain(backend, domain, "Pending", "InService")
    return ActionResult({"DomainArn": domain.arn, "DomainId": domain.id, "Url": domain.url})


def describe_domain(self) -> ActionResult:
    domain = _domain(self.sagemaker_backend, self._get_param("DomainId"))
    description = domain.describe()
    description["TagPropagation"] = getattr(domain, "tag_propagation", "DISABLED")
    description["DefaultSpaceSettings"] = domain.default_space_settings
    return ActionResult(_public(description))


_original_list_domains = SageMakerResponse.list_domains


def list_domains(self) -> ActionResult:
    backend = self.sagemaker_backend
    for domain_id in list(backend.domains):
        _advance_domain(backend, domain_id)
    return _original_list_domains(self)


def update_domain(self) -> ActionResult:
    backend = self.sagemaker_backend
    domain = _domain(backend, self._get_param("DomainId"))
    subnet_ids = self._get_param("SubnetIds")
    subnets = _domain_subnets(backend, domain.vpc_id, subnet_ids) if subnet_ids is not None else None
    with _STUDIO_LOCK:
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
        if subnets:
            _mount_home(backend, _domain_state(backend, domain.id), subnets)
        _schedule_domain(backend, domain, "Updating", "InService")
    return ActionResult({"DomainArn": domain.arn})


def _refusal(kind: str, arn: str, blockers: str) -> ResourceInUseException:
    return ResourceInUseException(message=f"Unable to delete {kind} [{arn}] because {blockers} are associated with it.")


def _live_apps(backend, domain_id: str, owner_key: str | None = None, owner: str | None = None) -> list[dict]:
    """The domain's apps not Deleted or Failed (of one user profile or space if named)."""
    return [a for a in _apps(backend) if a["DomainId"] == domain_id and a["Status"] not in _GONE_APP_STATES
            and (owner_key is None or a.get(owner_key) == owner)]


def delete_domain(self) -> EmptyResult:
    backend = self.sagemaker_backend
    domain_id = self._get_param("DomainId")
    domain = _domain(backend, domain_id)
    retention = (self._get_param("RetentionPolicy") or {}).get("HomeEfsFileSystem") or "Retain"
    if retention not in ("Retain", "Delete"):
        raise ValidationError(message=f"1 validation error detected: Value '{retention}' at "
                                      "'retentionPolicy.homeEfsFileSystem' failed to satisfy constraint: Member must "
                                      "satisfy enum value set: [Retain, Delete]")
    with _STUDIO_LOCK:
        if domain.status == "Deleting":
            return EmptyResult()
        if any(p["DomainId"] == domain_id for p in _store(backend, "user_profiles").values()):
            raise _refusal("Domain", domain.arn, "UserProfile(s)")
        if any(s["DomainId"] == domain_id for s in _spaces(backend)):
            raise _refusal("Domain", domain.arn, "Space(s)")
        if _live_apps(backend, domain_id):
            raise _refusal("Domain", domain.arn, "App(s)")
        _domain_state(backend, domain_id)["retention"] = retention
        _schedule_domain(backend, domain, "Deleting", None)
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


def _next_uid(backend) -> str:
    """Home directory owners on the domain's EFS: profiles and spaces each get their own."""
    counter = _store(backend, "efs_uids")
    counter["next"] = counter.get("next", 200000) + 1
    return str(counter["next"])


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
        "HomeEfsFileSystemUid": _next_uid(backend),
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
    profile = _profile(backend, domain_id, name)
    with _STUDIO_LOCK:
        if _live_apps(backend, domain_id, "UserProfileName", name):
            raise _refusal("UserProfile", profile["UserProfileArn"], "App(s)")
        if any(s["DomainId"] == domain_id and (s.get("OwnershipSettings") or {}).get("OwnerUserProfileName") == name
               for s in _spaces(backend)):
            raise _refusal("UserProfile", profile["UserProfileArn"], "Space(s)")
        del _store(backend, "user_profiles")[_profile_key(domain_id, name)]
    return EmptyResult()


def list_user_profiles(self) -> ActionResult:
    domain_id = self._get_param("DomainIdEquals")
    profiles = [p for p in _store(self.sagemaker_backend, "user_profiles").values()
                if domain_id is None or p["DomainId"] == domain_id]
    keys = ("DomainId", "UserProfileName", "Status", "CreationTime", "LastModifiedTime")
    return ActionResult({"UserProfiles": [{k: p[k] for k in keys} for p in profiles]})


# --- spaces --------------------------------------------------------------------------------


def _space_key(domain_id: str, name: str) -> str:
    return f"{domain_id}/{name}"


def _advance_space(backend, key: str) -> None:
    with _STUDIO_LOCK:
        space = _store(backend, "spaces").get(key)
        if space is None:
            return
        for status in _due(space):
            if status is None:
                _store(backend, "spaces").pop(key, None)
                return
            space["Status"] = status
            space["LastModifiedTime"] = utcnow()


def _spaces(backend) -> list[dict]:
    for key in list(_store(backend, "spaces")):
        _advance_space(backend, key)
    return list(_store(backend, "spaces").values())


def _space(backend, domain_id: str, name: str) -> dict:
    key = _space_key(domain_id, name)
    _advance_space(backend, key)
    space = _store(backend, "spaces").get(key)
    if space is None:
        raise ResourceNotFound(message=f"Space {name} in domain {domain_id} does not exist.")
    return space


def create_space(self) -> ActionResult:
    backend = self.sagemaker_backend
    domain_id, name = self._get_param("DomainId"), self._get_param("SpaceName")
    domain = _domain(backend, domain_id)
    ownership = self._get_param("OwnershipSettings")
    if ownership:
        _profile(backend, domain_id, ownership.get("OwnerUserProfileName"))
    key = _space_key(domain_id, name)
    with _STUDIO_LOCK:
        if domain.status == "Deleting":
            raise ResourceInUseException(message=f"Domain [{domain.arn}] is being deleted.")
        _advance_space(backend, key)
        if key in _store(backend, "spaces"):
            raise ResourceInUseException(message=f"Space [{_arn(backend, 'space', key)}] already exists.")
        now = utcnow()
        _store(backend, "spaces")[key] = {
            "DomainId": domain_id,
            "SpaceArn": _arn(backend, "space", key),
            "SpaceName": name,
            "HomeEfsFileSystemUid": _next_uid(backend),
            "Status": "InService",
            "LastModifiedTime": now,
            "CreationTime": now,
            "SpaceSettings": self._get_param("SpaceSettings"),
            "OwnershipSettings": ownership,
            "SpaceSharingSettings": self._get_param("SpaceSharingSettings"),
            "SpaceDisplayName": self._get_param("SpaceDisplayName"),
            "_tags": self._get_param("Tags") or [],
        }
    return ActionResult({"SpaceArn": _arn(backend, "space", key)})


def describe_space(self) -> ActionResult:
    space = _space(self.sagemaker_backend, self._get_param("DomainId"), self._get_param("SpaceName"))
    return ActionResult(_public(space))


def list_spaces(self) -> ActionResult:
    domain_id, contains = self._get_param("DomainIdEquals"), self._get_param("SpaceNameContains")
    spaces = [s for s in _spaces(self.sagemaker_backend)
              if (domain_id is None or s["DomainId"] == domain_id) and (not contains or contains in s["SpaceName"])]
    page, token = _page(self, spaces, {"CreationTime": lambda s: s["CreationTime"],
                                       "LastModifiedTime": lambda s: s["LastModifiedTime"]}, "CreationTime")
    summaries = []
    for space in page:
        settings = space.get("SpaceSettings") or {}
        summary = _public(space, ("DomainId", "SpaceName", "Status", "CreationTime", "LastModifiedTime", "SpaceDisplayName"))
        settings_summary = {k: settings[k] for k in ("AppType", "RemoteAccess", "SpaceStorageSettings") if k in settings}
        if settings_summary:
            summary["SpaceSettingsSummary"] = settings_summary
        if space.get("SpaceSharingSettings"):
            summary["SpaceSharingSettingsSummary"] = {"SharingType": space["SpaceSharingSettings"]["SharingType"]}
        if space.get("OwnershipSettings"):
            summary["OwnershipSettingsSummary"] = {"OwnerUserProfileName": space["OwnershipSettings"]["OwnerUserProfileName"]}
        summaries.append(summary)
    result = {"Spaces": summaries}
    if token:
        result["NextToken"] = token
    return ActionResult(result)


def update_space(self) -> ActionResult:
    backend = self.sagemaker_backend
    space = _space(backend, self._get_param("DomainId"), self._get_param("SpaceName"))
    settings = self._get_param("SpaceSettings")
    with _STUDIO_LOCK:
        if space["Status"] != "InService":
            raise ResourceInUseException(message=f"Space [{space['SpaceArn']}] is {space['Status']}; it can be updated "
                                                 "once InService.")
        if settings is not None:
            current = (space.get("SpaceSettings") or {}).get("AppType")
            if current and settings.get("AppType") not in (None, current):
                raise ValidationError(message="You can't edit the app type of a space.")
            space["SpaceSettings"] = {**settings, **({"AppType": current} if current else {})}
        if self._get_param("SpaceDisplayName") is not None:
            space["SpaceDisplayName"] = self._get_param("SpaceDisplayName")
        _schedule(space, "Updating", "InService")
    return ActionResult({"SpaceArn": space["SpaceArn"]})


def delete_space(self) -> EmptyResult:
    backend = self.sagemaker_backend
    domain_id, name = self._get_param("DomainId"), self._get_param("SpaceName")
    space = _space(backend, domain_id, name)
    with _STUDIO_LOCK:
        if space["Status"] == "Deleting":
            raise ResourceInUseException(message=f"Space [{space['SpaceArn']}] is already being deleted.")
        if _live_apps(backend, domain_id, "SpaceName", name):
            raise _refusal("Space", space["SpaceArn"], "App(s)")
        _schedule(space, "Deleting", None)
    return EmptyResult()


# --- apps (created by users in Studio, outside Terraform) ---------------------------------


def _owner(self) -> tuple[str, str]:
    """("UserProfileName" | "SpaceName", name): exactly one of the two names the app's owner."""
    profile, space = self._get_param("UserProfileName"), self._get_param("SpaceName")
    if bool(profile) == bool(space):
        raise ValidationError(message="Exactly one of UserProfileName and SpaceName must be specified.")
    return ("UserProfileName", profile) if profile else ("SpaceName", space)


def _app_key(domain_id: str, owner: tuple[str, str], app_type: str, app_name: str) -> str:
    return f"{domain_id}/{owner[0]}/{owner[1]}/{app_type.lower()}/{app_name}"


def _advance_app(app: dict) -> None:
    with _STUDIO_LOCK:
        for status in _due(app):
            app["Status"] = status


def _apps(backend) -> list[dict]:
    apps = list(_store(backend, "apps").values())
    for app in apps:
        _advance_app(app)
    return apps


def _app(self) -> dict:
    backend = self.sagemaker_backend
    owner = _owner(self)
    app = _store(backend, "apps").get(_app_key(self._get_param("DomainId"), owner, self._get_param("AppType"),
                                               self._get_param("AppName")))
    if app is None:
        raise ResourceNotFound(message=f"App {self._get_param('AppType')}/{self._get_param('AppName')} of {owner[1]} "
                                       f"in domain {self._get_param('DomainId')} does not exist.")
    _advance_app(app)
    return app


_APP_KEYS = ("AppArn", "DomainId", "UserProfileName", "SpaceName", "AppType", "AppName", "Status", "CreationTime",
             "ResourceSpec", "LastUserActivityTimestamp", "LastHealthCheckTimestamp", "RecoveryMode")


def create_app(self) -> ActionResult:
    backend = self.sagemaker_backend
    domain_id = self._get_param("DomainId")
    _domain(backend, domain_id)
    owner = _owner(self)
    if owner[0] == "UserProfileName":
        _profile(backend, domain_id, owner[1])
    else:
        space = _space(backend, domain_id, owner[1])
        if space["Status"] == "Deleting":
            raise ResourceInUseException(message=f"Space [{space['SpaceArn']}] is being deleted.")
    app_type, app_name = self._get_param("AppType"), self._get_param("AppName")
    key = _app_key(domain_id, owner, app_type, app_name)
    arn = _arn(backend, "app", f"{domain_id}/{owner[1]}/{app_type.lower()}/{app_name}")
    with _STUDIO_LOCK:
        existing = _store(backend, "apps").get(key)
        if existing is not None:
            _advance_app(existing)
            if existing["Status"] not in _GONE_APP_STATES:
                raise ResourceInUseException(message=f"App [{arn}] already exists.")
        now = utcnow()
        _store(backend, "apps")[key] = {
            "AppArn": arn,
            "DomainId": domain_id,
            owner[0]: owner[1],
            "AppType": app_type,
            "AppName": app_name,
            "Status": "InService",
            "CreationTime": now,
            "LastUserActivityTimestamp": now,
            "ResourceSpec": self._get_param("ResourceSpec"),
            "_tags": self._get_param("Tags") or [],
        }
    return ActionResult({"AppArn": arn})


def describe_app(self) -> ActionResult:
    return ActionResult(_public(_app(self), _APP_KEYS))


def list_apps(self) -> ActionResult:
    domain_id = self._get_param("DomainIdEquals")
    profile, space = self._get_param("UserProfileNameEquals"), self._get_param("SpaceNameEquals")
    if profile and space:
        raise ValidationError(message="UserProfileNameEquals and SpaceNameEquals cannot both be set.")
    apps = [a for a in _apps(self.sagemaker_backend)
            if (domain_id is None or a["DomainId"] == domain_id)
            and (profile is None or a.get("UserProfileName") == profile)
            and (space is None or a.get("SpaceName") == space)]
    page, token = _page(self, apps, {"CreationTime": lambda a: a["CreationTime"]}, "CreationTime")
    keys = ("DomainId", "UserProfileName", "SpaceName", "AppType", "AppName", "Status", "CreationTime", "ResourceSpec")
    result = {"Apps": [_public(a, keys) for a in page]}
    if token:
        result["NextToken"] = token
    return ActionResult(result)


def delete_app(self) -> EmptyResult:
    app = _app(self)
    with _STUDIO_LOCK:
        if app["Status"] == "Deleted":
            raise ValidationError(message=f"App [{app['AppArn']}] has already been deleted.")
        if app["Status"] == "Failed":
            raise ValidationError(message=f"App [{app['AppArn']}] previously failed and was automatically deleted.")
        if app["Status"] == "Deleting":
            raise ValidationError(message=f"App [{app['AppArn']}] is already being deleted.")
        _schedule(app, "Deleting", "Deleted")
    return EmptyResult()


STUDIO_HANDLERS = (
    create_domain, describe_domain, list_domains, update_domain, delete_domain,
    create_studio_lifecycle_config, describe_studio_lifecycle_config, delete_studio_lifecycle_config,
    list_studio_lifecycle_configs,
    create_user_profile, describe_user_profile, update_user_profile, delete_user_profile, list_user_profiles,
    create_space, describe_space, list_spaces, update_space, delete_space,
    create_app, describe_app, list_apps, delete_app,
)


# --- notebook instances and their lifecycle configurations (SM-5) ---------------------------

_NOTEBOOK_LOCK = threading.RLock()
_HOOK_MAX_CHARS = 16384


def notebook_step_seconds() -> float:
    return float(os.environ.get("EMULATOR_NOTEBOOK_STEP_SECONDS", "1"))


@functools.cache
def _instance_types() -> frozenset[str]:
    """The InstanceType enum of botocore's SageMaker model, from the model moto already holds
    (moto.core.utils.get_service_model caches it per service): read once, not a new session's
    parse of the whole model at every CreateNotebookInstance."""
    from moto.core.utils import get_service_model

    return frozenset(get_service_model("sagemaker").shape_for("InstanceType").enum)


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
    if kind == "space":
        domain_id, _, space = name.partition("/")
        return _Tagged(_space(self, domain_id, space))
    if kind == "notebook-instance":
        return _Tagged(_notebook(self, name))
    if kind == "notebook-instance-lifecycle-config":
        return _Tagged(_notebook_config(self, name, "describe"))
    resource = _original_resource_from_arn(self, arn)
    if getattr(resource, "tags", []) is None:
        resource.tags = []
    return resource


def install() -> None:
    for handler in (*STUDIO_HANDLERS, *NOTEBOOK_HANDLERS):
        setattr(SageMakerResponse, handler.__name__, handler)
    models.SageMakerModelBackend._get_resource_from_arn = _get_resource_from_arn
