"""Typed results of the domain validators: what the model, the editor and `punie check` read."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from punie_lsp.tools.results import ToolResult

__all__ = ("DomainIssue", "DomainValidationResult", "Severity")

Severity = Literal["error", "warning", "info"]


class DomainIssue(BaseModel):
    """One architectural problem at a place in a file (1-based lines and columns)."""

    model_config = ConfigDict(extra="forbid")

    rule: str
    """Rule ID from the catalogue (`TDOM001`, `SVC004`, `MW003`, `LC001`)."""
    severity: Severity
    """`error` fails at run time, `warning` is a convention or latent bug, `info` is advice."""
    message: str
    """What is wrong and what to do, naming the code involved."""
    file: str
    """Path relative to the workspace root (POSIX)."""
    line: int
    """1-based start line."""
    column: int
    """1-based start column."""
    end_line: int
    """1-based end line."""
    end_column: int
    """1-based end column (exclusive)."""
    suggestion: str | None = None
    """A concrete replacement or next step, when there is one."""
    fixable: bool = False
    """Whether an automatic fix exists (`punie check --fix`, `domain_fix`)."""


class DomainValidationResult(ToolResult):
    """What a domain validator found."""

    issues: list[DomainIssue] = Field(default_factory=list)
    """Findings, sorted by file, line, column."""
    issue_count: int = 0
    """len(issues)."""
    error_count: int = 0
    """Findings with error severity."""
    warning_count: int = 0
    """Findings with warning severity."""
    files_checked: int = 0
    """Python files examined."""
