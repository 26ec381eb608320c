"""Environment configuration: files in envs/ parsed into frozen, validated models."""

from .errors import ConfigError, SetupError, StudioEmrError, SynthError, TerraformError
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
    "ConfigError", "SetupError", "StudioEmrError", "SynthError", "TerraformError",
    "ENVS_DIR", "available_envs", "env_path", "load_env", "load_file",
    "EmrAccount", "EnvironmentFile", "ExistingNetwork", "NewNetwork", "ProfileCredentials",
    "RoleCredentials", "StudioAccount", "StudioGeneration", "Target",
]
