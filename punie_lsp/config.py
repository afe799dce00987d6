"""Settings: where Punie keeps its data, which model it uses, and per-project options.

Resolution order (later wins): built-in defaults, the user's `PUNIE_HOME/config.toml`, `[tool.punie]` in
the project's `pyproject.toml`,
`.punie/config.toml` in the project, then environment variables (`PUNIE_HOME`, `PUNIE_MODEL`).
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from punie_lsp.exceptions import UserError

__all__ = (
    "DomainSettings",
    "ProjectSettings",
    "default_punie_home",
    "find_project_root",
    "load_settings",
    "user_config_path",
)

DEFAULT_MODEL = "punie-tiny"
"""The model spec used when nothing else is configured: the small model shipped through PyPI."""

Severity = Literal["error", "warning", "info"]


def default_punie_home() -> Path:
    """Return `PUNIE_HOME`, or `~/.punie` when it is unset."""
    env = os.environ.get("PUNIE_HOME")
    return Path(env).expanduser() if env else Path.home() / ".punie"


class DomainSettings(BaseModel):
    """Options for the domain validators."""

    model_config = ConfigDict(extra="forbid")

    enabled: list[str] = Field(default_factory=lambda: ["TDOM", "SVC", "MW", "LC"])
    """Rule families or single rule IDs that run (a family is an ID prefix such as `TDOM`)."""
    disabled: list[str] = Field(default_factory=list)
    """Rule IDs or families switched off, even when a family is enabled."""
    severity: dict[str, Severity] = Field(default_factory=dict)
    """Per rule ID severity overrides, for example `{"TDOM010": "info"}`."""
    tdom_version: str | None = None
    """Force the tdom version used to gate Node-era rules (otherwise read from the project)."""


class ProjectSettings(BaseModel):
    """Everything Punie reads from a project's configuration, validated."""

    model_config = ConfigDict(extra="forbid")

    model: str = DEFAULT_MODEL
    """Model spec string (`mlx:…`, `openai:…`, `replay:…`, `punie-tiny`)."""
    capture: bool = True
    """Whether interactions in this project are captured as training traces."""
    python_version: str | None = None
    """Python version for type checking (`3.14` for t-string code); read from the project if unset."""
    test_timeout: float = 300.0
    """Seconds before a `pytest_run` is stopped and reported as a timeout."""
    domain: DomainSettings = Field(default_factory=DomainSettings)
    """Domain validator options."""
    punie_home: Path = Field(default_factory=default_punie_home)
    """Where traces, datasets, models and organisation skills live."""
    root: Path | None = None
    """The project root these settings were read for (None when read without a project)."""


def user_config_path() -> Path:
    """`PUNIE_HOME/config.toml`: the user's defaults (`punie model use` writes the model here)."""
    return default_punie_home() / "config.toml"


def find_project_root(start: Path) -> Path:
    """Walk up from `start` to the nearest directory holding `pyproject.toml`, `.punie/` or `.git`.

    Falls back to `start` itself (or its parent for a file) so a bare directory is still a project.
    """
    start = start.resolve()
    here = start if start.is_dir() else start.parent
    for candidate in (here, *here.parents):
        if any((candidate / marker).exists() for marker in ("pyproject.toml", ".punie", ".git")):
            return candidate
    return here


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"`{path}` is not valid TOML: {exc}") from exc
    except OSError as exc:
        raise UserError(f"cannot read `{path}`: {exc.strerror}") from exc


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def load_settings(root: Path | None = None) -> ProjectSettings:
    """Load and validate settings for the project at `root` (or only defaults and environment).

    Raises:
        UserError: a configuration file is malformed or holds an unknown or mistyped option; the message
            names the file and the option.
    """
    data: dict[str, Any] = {}
    sources: list[Path] = []
    user = user_config_path()
    if user.is_file():
        data = _merge(data, _read_toml(user))
        sources.append(user)
    if root is not None:
        pyproject = root / "pyproject.toml"
        if pyproject.is_file():
            tool = _read_toml(pyproject).get("tool", {})
            punie = tool.get("punie", {}) if isinstance(tool, dict) else {}
            if punie:
                data = _merge(data, punie)
                sources.append(pyproject)
        local = root / ".punie" / "config.toml"
        if local.is_file():
            data = _merge(data, _read_toml(local))
            sources.append(local)
    if home := os.environ.get("PUNIE_HOME"):
        data["punie_home"] = home
    if model := os.environ.get("PUNIE_MODEL"):
        data["model"] = model
    data["root"] = root
    try:
        return ProjectSettings.model_validate(data)
    except ValidationError as exc:
        where = ", ".join(f"`{source}`" for source in sources) or "the environment"
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors(include_url=False)
        )
        raise UserError(f"invalid Punie settings in {where}: {problems}") from exc
