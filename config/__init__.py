"""Environment configuration: files in envs/ parsed into frozen, validated models."""

from .errors import ConfigError, StudioEmrError
from .loader import ENVS_DIR, available_envs, env_path, load_env, load_file
from .model import (
    EmrAccount,
    EnvironmentFile,
    ExistingNetwork,
    NewNetwork,
    ProfileCredentials,
    RoleCredentials,
    StudioAccount,
    StudioGeneration,
    Target,
)

__all__ = [
    "ConfigError", "StudioEmrError",
    "ENVS_DIR", "available_envs", "env_path", "load_env", "load_file",
    "EmrAccount", "EnvironmentFile", "ExistingNetwork", "NewNetwork", "ProfileCredentials",
    "RoleCredentials", "StudioAccount", "StudioGeneration", "Target",
]
