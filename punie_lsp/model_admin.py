"""`punie model list|use|info` and `punie doctor`: what is installed, which model, which editor configs."""

from __future__ import annotations

import importlib.metadata
import json
import platform
import re
import shutil
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from punie_lsp.config import ProjectSettings, default_punie_home, user_config_path
from punie_lsp.exceptions import UserError
from punie_lsp.models import (
    MLXSpec,
    OpenAICompatSpec,
    PunieTinySpec,
    ReplaySpec,
    parse_model_spec,
    punie_tiny_dir,
)
from punie_lsp.skills import discover_skills

__all__ = ("Check", "describe_model", "doctor_checks", "installed_models", "use_model")


def installed_models(punie_home: Path) -> list[Path]:
    """Model directories under `PUNIE_HOME/models` (each holds a `config.json`)."""
    root = punie_home / "models"
    return sorted(p.parent for p in root.glob("*/config.json")) if root.is_dir() else []


def describe_model(spec: str, *, punie_home: Path) -> dict[str, str]:
    """What a spec means: backend, target and whether it is available (without loading anything)."""
    parsed = parse_model_spec(spec)
    match parsed:
        case PunieTinySpec():
            directory = punie_tiny_dir(punie_home)
            ready = (directory / "config.json").is_file()
            return {
                "backend": "mlx (in-process)",
                "path": str(directory),
                "available": "yes" if ready else "no",
            }
        case MLXSpec(model=model):
            path = Path(model).expanduser()
            local = (path / "config.json").is_file()
            return {
                "backend": "mlx (in-process)",
                "model": model,
                "available": "yes" if local else "hub id (needs a download or the hub cache)",
            }
        case OpenAICompatSpec(base_url=base_url, model=model, preset=preset):
            return {
                "backend": f"openai-compatible ({preset or 'generic'})",
                "base_url": base_url,
                "model": model,
            }
        case ReplaySpec(path=path):
            return {"backend": "replay", "path": str(path), "available": "yes" if path.is_file() else "no"}


def use_model(spec: str) -> Path:
    """Make `spec` the user's default model (validated first); returns the config file written."""
    parse_model_spec(spec)
    path = user_config_path()
    lines: list[str] = []
    if path.is_file():
        try:
            tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise UserError(f"`{path}` is not valid TOML: {exc}") from exc
        lines = [
            line for line in path.read_text(encoding="utf-8").splitlines() if not line.startswith("model")
        ]
    path.parent.mkdir(parents=True, exist_ok=True)
    first_table = next((i for i, line in enumerate(lines) if line.lstrip().startswith("[")), len(lines))
    head = [line for line in lines[:first_table] if not re.match(r"\s*model\s*=", line)]
    content = [f"model = {json.dumps(spec)}", *head, *lines[first_table:]]
    tmp = path.with_suffix(".toml.tmp")
    tmp.write_text("\n".join(content).rstrip("\n") + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


@dataclass(frozen=True, kw_only=True)
class Check:
    """One line of `punie doctor`."""

    name: str
    status: str
    """`ok`, `warn` or `missing`."""
    detail: str


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def _editor_configs() -> list[Check]:
    home = Path.home()
    candidates = {
        "Zed settings": home / ".config" / "zed" / "settings.json",
        "JetBrains ACP": home / ".jetbrains" / "acp.json",
        "Neovim config": home / ".config" / "nvim" / "init.lua",
    }
    checks = []
    for name, path in candidates.items():
        if not path.is_file():
            checks.append(Check(name=name, status="missing", detail=f"{path} not found"))
            continue
        mentions = "punie" in path.read_text(encoding="utf-8", errors="replace").lower()
        checks.append(
            Check(
                name=name,
                status="ok" if mentions else "warn",
                detail=f"{path}" + ("" if mentions else " (no Punie entry yet)"),
            )
        )
    return checks


def doctor_checks(settings: ProjectSettings) -> list[Check]:
    """Everything `punie doctor` reports."""
    checks = [
        Check(name="punie", status="ok", detail=_version("punie-lsp") or "source tree"),
        Check(name="python", status="ok", detail=f"{platform.python_version()} ({sys.executable})"),
        Check(name="PUNIE_HOME", status="ok", detail=str(default_punie_home())),
    ]
    for tool in ("ruff", "ty", "git"):
        beside = Path(sys.executable).parent / tool
        found = str(beside) if beside.is_file() else shutil.which(tool)
        checks.append(Check(name=tool, status="ok" if found else "missing", detail=found or "not found"))
    for dist in ("pydantic-ai-slim", "pydantic-monty", "mlx", "mlx-lm", "libcst"):
        version = _version(dist)
        checks.append(
            Check(name=dist, status="ok" if version else "missing", detail=version or "not installed")
        )
    try:
        info = describe_model(settings.model, punie_home=settings.punie_home)
        status = "ok" if info.get("available", "yes") == "yes" else "warn"
        checks.append(Check(name="model", status=status, detail=f"{settings.model}: {info}"))
    except UserError as exc:
        checks.append(Check(name="model", status="warn", detail=str(exc).splitlines()[0]))
    skills, warnings = discover_skills(settings.root, settings.punie_home)
    checks.append(Check(name="skills", status="warn" if warnings else "ok", detail=f"{len(skills)} found"))
    checks.extend(Check(name="skill", status="warn", detail=warning) for warning in warnings)
    checks.extend(_editor_configs())
    return checks
