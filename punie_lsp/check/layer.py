"""The layer interface of `punie check`: syntax, ruff, ty and domain all plug in the same way."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from punie_lsp.check.diagnostics import Diagnostic
from punie_lsp.tools.context import ToolContext

__all__ = ("CheckFile", "Layer", "LayerOutcome")


@dataclass(frozen=True, kw_only=True)
class CheckFile:
    """A Python file that passed the syntax gate, with its text already read."""

    path: Path
    """Absolute path inside the workspace."""
    relative: str
    """Path relative to the workspace root (POSIX)."""
    text: str
    """The decoded source."""


@dataclass(kw_only=True)
class LayerOutcome:
    """What one layer reports."""

    diagnostics: list[Diagnostic] = field(default_factory=list)
    """Findings."""
    tool_error: str | None = None
    """Set when the layer's tool could not run (the check then exits 2)."""
    fixed_files: list[str] = field(default_factory=list)
    """Files a `fix` call changed."""


class Layer(Protocol):
    """A validation layer. Layers run after the syntax gate, on files that parse."""

    name: str
    """The name used in `--layers`."""

    async def check(self, ctx: ToolContext, files: list[CheckFile]) -> LayerOutcome:
        """Report findings for `files`."""
        ...

    async def fix(self, ctx: ToolContext, files: list[CheckFile]) -> LayerOutcome:
        """Apply this layer's automatic fixes to `files`; report which files changed."""
        ...
