"""Editor-side settings of the language server: `initializationOptions` and `workspace/configuration`.

Editors send camelCase JSON (`{"punie": {"severity": {"TDOM010": "info"}, "model": "replay:…"}}`); both
the wrapped (`{"punie": {...}}`) and the bare form are accepted. The resolution order, later wins:
the project's own settings (`load_settings`: `PUNIE_HOME/config.toml`, `[tool.punie]`,
`.punie/config.toml`, environment), then `initializationOptions`, then the `punie` section the client
returns from `workspace/configuration` for the folder. A malformed value never stops the server: it is
reported (`problems`) and the rest of the settings still apply.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from punie_lsp.config import DomainSettings, ProjectSettings

__all__ = ("CONFIG_SECTION", "DiagnosticMode", "LspSettings", "TySettings", "parse_settings")

CONFIG_SECTION = "punie"
"""The section name asked for with `workspace/configuration` and the key inside `initializationOptions`."""

DiagnosticMode = Literal["auto", "push", "pull"]
"""`auto` pushes unless the client supports pull diagnostics; `push` / `pull` force one model."""

Severity = Literal["error", "warning", "info"]


class _Camel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")


class TySettings(_Camel):
    """How the child `ty server` runs."""

    enabled: bool = True
    """Start `ty server` for hover types and navigation (Punie works without it)."""
    path: str | None = None
    """The `ty` executable (default: `PUNIE_TY`, the one beside Punie's interpreter, then `PATH`)."""
    request_timeout_ms: int = Field(default=2000, ge=10, le=60_000)
    """How long one forwarded request may take before Punie answers without ty."""


class LspSettings(_Camel):
    """Every option an editor can set (all optional; the project's settings fill the rest)."""

    enabled: list[str] | None = None
    """Rule families or IDs that run (replaces the project's list when set)."""
    disabled: list[str] | None = None
    """Rule families or IDs switched off (replaces the project's list when set)."""
    severity: dict[str, Severity] = Field(default_factory=dict)
    """Per rule severity overrides, merged over the project's."""
    model: str | None = None
    """Model spec for the agent-backed actions (`replay:…`, `openai:…`, `mlx:…`, `punie-tiny`)."""
    debounce_ms: int = Field(default=150, ge=0, le=10_000)
    """Quiet time after a change before the domain rules run."""
    diagnostic_mode: DiagnosticMode = "auto"
    """Push, pull, or pick from the client's capabilities."""
    rule_docs_url: str | None = None
    """Template for `codeDescription.href`, `{rule}` is the rule ID (default: Punie's `rules.md`)."""
    agent_actions: bool = True
    """Offer "Fix with Punie", "Explain" and "Write tests for this"."""
    ty: TySettings = Field(default_factory=TySettings)
    """The child `ty server`."""

    def merged(self, override: LspSettings) -> LspSettings:
        """These settings with every field `override` sets explicitly replacing ours (maps are merged)."""
        data = self.model_dump(exclude_unset=True)
        for name, value in override.model_dump(exclude_unset=True).items():
            if isinstance(value, dict) and isinstance(data.get(name), dict):
                data[name] = {**data[name], **value}
            else:
                data[name] = value
        return LspSettings.model_validate(data)

    def domain(self, project: ProjectSettings) -> DomainSettings:
        """The project's domain settings with the editor's choices applied."""
        base = project.domain
        return base.model_copy(
            update={
                "enabled": self.enabled if self.enabled is not None else base.enabled,
                "disabled": self.disabled if self.disabled is not None else base.disabled,
                "severity": {**base.severity, **self.severity},
            }
        )

    def model_spec(self, project: ProjectSettings) -> str:
        """The model the agent-backed actions use: the editor's choice, else the project's."""
        return self.model or project.model


def parse_settings(raw: object) -> tuple[LspSettings, list[str]]:
    """Read editor settings leniently: the valid fields, and one message per invalid one.

    `raw` may be `None`, `{"punie": {...}}` or the bare `{...}`; anything else is reported and ignored.
    """
    if raw is None:
        return LspSettings(), []
    if not isinstance(raw, dict):
        return LspSettings(), [f"settings must be a JSON object, not {type(raw).__name__}"]
    data: dict[str, Any] = raw.get(CONFIG_SECTION, raw) if isinstance(raw.get(CONFIG_SECTION), dict) else raw
    try:
        return LspSettings.model_validate(data), []
    except ValidationError as exc:
        problems = [
            f"`{'.'.join(str(p) for p in err['loc'])}`: {err['msg']}" for err in exc.errors(include_url=False)
        ]
        bad = {str(err["loc"][0]) for err in exc.errors() if err["loc"]}
        good = {key: value for key, value in data.items() if key not in bad}
        return LspSettings.model_validate(good), problems
