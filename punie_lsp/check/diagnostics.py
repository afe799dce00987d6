"""The diagnostic contract of `punie check` (JSON output; tests and users rely on its shape)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ("CheckReport", "Diagnostic", "Severity", "Source")

Severity = Literal["error", "warning", "info"]
Source = Literal["syntax", "ruff", "ty", "punie"]


class Diagnostic(BaseModel):
    """One finding of one layer, with 1-based lines and columns."""

    model_config = ConfigDict(extra="forbid")

    path: str
    """File path as given on the command line's root (relative to the project root, POSIX)."""
    line: int
    """1-based start line."""
    column: int
    """1-based start column."""
    end_line: int
    """1-based end line."""
    end_column: int
    """1-based end column (exclusive)."""
    rule: str
    """Rule code: `syntax-error`, a ruff code, a ty rule, or a Punie domain rule ID (`TDOM001`)."""
    severity: Severity
    """`error` fails the check (exit 1); `warning` and `info` do not."""
    message: str
    """What is wrong and, where possible, what to do."""
    source: Source
    """The layer that found it."""
    fixable: bool = False
    """Whether `punie check --fix` can fix it."""


class CheckReport(BaseModel):
    """The whole answer of `punie check --format json`."""

    model_config = ConfigDict(extra="forbid")

    files_checked: int
    """Python files examined."""
    diagnostics: list[Diagnostic] = Field(default_factory=list)
    """Every finding, sorted by path, line, column."""

    @property
    def error_count(self) -> int:
        """Findings with error severity."""
        return sum(d.severity == "error" for d in self.diagnostics)
