"""SageMaker: what the AWS provider needs for domains, user profiles, Studio lifecycle
configurations and apps, following botocore's service model shapes.

moto 5.2.5 gaps closed here: CreateDomain's reply lacks DomainId; a domain's tags are None;
a deleted domain answers ValidationError instead of ResourceNotFound; TagPropagation is not
echoed; UpdateDomain; StudioLifecycleConfig and UserProfile create/describe/update/delete/list;
apps (ListApps, CreateApp, DeleteApp, DescribeApp), which users create outside Terraform.
"""

from __future__ import annotations

from typing import Any

from moto.core.responses import ActionResult, EmptyResult
from moto.core.utils import utcnow
from moto.sagemaker import models
from moto.sagemaker.exceptions import ResourceInUseException, ResourceNotFound
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
    resource = _original_resource_from_arn(self, arn)
    if getattr(resource, "tags", []) is None:
        resource.tags = []
    return resource


def install() -> None:
    for handler in (create_domain, describe_domain, update_domain, delete_domain,
                    create_studio_lifecycle_config, describe_studio_lifecycle_config,
                    delete_studio_lifecycle_config, list_studio_lifecycle_configs,
                    create_user_profile, describe_user_profile, update_user_profile, delete_user_profile,
                    list_user_profiles, create_app, list_apps, delete_app):
        setattr(SageMakerResponse, handler.__name__, handler)
    models.SageMakerModelBackend._get_resource_from_arn = _get_resource_from_arn
