"""The context every tool runs in: which workspace, which settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from punie_lsp.config import ProjectSettings, load_settings
from punie_lsp.workspace import Workspace

__all__ = ("ToolContext",)


@dataclass(kw_only=True)
class ToolContext:
    """Bound to each tool call; the model never sees it (it is not part of any stub)."""

    workspace: Workspace
    """The project root every path is confined to."""
    settings: ProjectSettings = field(default_factory=ProjectSettings)
    """Project settings (timeouts, Python version, domain options)."""

    @classmethod
    def for_root(cls, root: str | Path) -> ToolContext:
        """Build a context for the project at `root`, reading its settings."""
        workspace = Workspace(root)
        return cls(workspace=workspace, settings=load_settings(workspace.root))
