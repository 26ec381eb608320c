"""Reads ``envs/<env>.yaml`` into an :class:`EnvironmentFile`, or raises one :class:`ConfigError`
listing every fault with the file, the key path and the value."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from . import yamlio
from .errors import ConfigError
from .model import EnvironmentFile

ENVS_DIR = Path(__file__).resolve().parent.parent / "envs"


def env_path(name: str, envs_dir: Path = ENVS_DIR) -> Path:
    return envs_dir / f"{name}.yaml"


def available_envs(envs_dir: Path = ENVS_DIR) -> list[str]:
    return sorted(p.stem for p in envs_dir.glob("*.yaml"))


def load_env(name: str, envs_dir: Path = ENVS_DIR) -> EnvironmentFile:
    """Load the environment called ``name`` (the file ``envs/<name>.yaml``)."""
    path = env_path(name, envs_dir)
    if not path.is_file():
        known = ", ".join(available_envs(envs_dir)) or "none"
        raise ConfigError(str(path), [f"{_display(path)}: no such environment file (environments: {known})"])
    env = load_file(path)
    if env.environment.name != name:
        raise ConfigError(
            str(path),
            [f"{_display(path)}: environment.name = {env.environment.name!r}: must match the file name {name!r}"],
        )
    return env


def load_file(path: Path) -> EnvironmentFile:
    shown = _display(path)
    try:
        data = yamlio.load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(str(path), [f"{shown}: cannot read: {exc.strerror}"]) from None
    except yamlio.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(str(path), [f"{shown}:{where}: not valid YAML: {getattr(exc, 'problem', exc)}"]) from None
    if not isinstance(data, dict):
        raise ConfigError(str(path), [f"{shown}: the file must hold a mapping with 'environment' and 'promoted'"])
    return parse(data, shown)


def parse(data: dict, shown: str) -> EnvironmentFile:
    try:
        return EnvironmentFile.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(shown, [_describe(shown, data, err) for err in exc.errors()]) from None


def _describe(shown: str, data: dict, err: dict) -> str:
    loc = _key_path(err["loc"])
    message = err["msg"].removeprefix("Value error, ")
    if not loc:
        # Cross-field checks name their own key path and values in the message.
        return f"{shown}: {message}"
    if err["type"] == "missing":
        return f"{shown}: {loc}: required key is missing"
    if err["type"] == "extra_forbidden":
        return f"{shown}: {loc}: unknown key (check its spelling and indentation)"
    return f"{shown}: {loc} = {_value_at(data, err['loc'])!r}: {message}"


def _key_path(loc: tuple) -> str:
    # pydantic adds union tags (class names) and validator names to the location; they mean
    # nothing to a user.
    parts = [str(p) for p in loc if not (isinstance(p, str) and (p[:1].isupper() or "[" in p))]
    return ".".join(parts)


def _value_at(data: object, loc: tuple) -> object:
    for part in loc:
        if isinstance(data, dict) and part in data:
            data = data[part]
        elif isinstance(data, list) and isinstance(part, int) and part < len(data):
            data = data[part]
    return data


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
