"""Typed results of the tools: what the model reads by field and what `punie tool` prints as JSON.

Every result has `success` (the code is fine by this tool's measure) and `tool_error` (the tool itself
could not run: missing binary, timeout, crash, unparseable output). When `tool_error` is set, `success`
is False and the counts say nothing about the code. Lines and columns are 1-based everywhere.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = (
    "CodeItem",
    "FileListResult",
    "FileReadResult",
    "FileWriteResult",
    "FixResult",
    "FormatResult",
    "GitCommit",
    "GitDiffFile",
    "GitDiffResult",
    "GitFileChange",
    "GitLogResult",
    "GitStatusResult",
    "RuffResult",
    "RuffViolation",
    "SearchMatch",
    "SearchResult",
    "TestCase",
    "TestResult",
    "ToolResult",
    "TypeCheckError",
    "TypeCheckResult",
)

Severity = Literal["error", "warning", "info"]


class ToolResult(BaseModel):
    """Fields every tool result shares."""

    model_config = ConfigDict(extra="forbid")

    success: bool
    """True when the tool ran and found nothing wrong by its own measure."""
    tool_error: str | None = None
    """Why the tool itself could not run; None when it ran. Never set for problems in the code."""


class CodeItem(BaseModel):
    """One finding at a place in a file."""

    model_config = ConfigDict(extra="forbid")

    file: str
    """Path relative to the workspace root, POSIX style."""
    line: int
    """1-based line where the finding starts."""
    column: int
    """1-based column where the finding starts."""
    end_line: int | None = None
    """1-based line where it ends, when known."""
    end_column: int | None = None
    """1-based column where it ends (exclusive), when known."""
    code: str
    """The checker's rule code (`F401`, `invalid-assignment`)."""
    message: str
    """What is wrong, in the checker's words."""
    fixable: bool = False
    """Whether the checker can fix it automatically."""


class TypeCheckError(CodeItem):
    """One ty diagnostic."""

    severity: Severity = "error"
    """How serious ty says it is."""


class TypeCheckResult(ToolResult):
    """What `typecheck` (ty) found."""

    error_count: int = 0
    """Number of error-severity diagnostics."""
    warning_count: int = 0
    """Number of warning-severity diagnostics."""
    errors: list[TypeCheckError] = Field(default_factory=list)
    """The error-severity diagnostics."""
    warnings: list[TypeCheckError] = Field(default_factory=list)
    """The warning- and info-severity diagnostics."""
    python_version: str | None = None
    """The Python version ty assumed."""


class RuffViolation(CodeItem):
    """One ruff lint violation."""

    url: str | None = None
    """Link to the rule's documentation."""


class RuffResult(ToolResult):
    """What `ruff_check` found."""

    violation_count: int = 0
    """Number of violations."""
    fixable_count: int = 0
    """How many of them `ruff_fix` can fix safely."""
    violations: list[RuffViolation] = Field(default_factory=list)
    """The violations, in file and line order."""


class FormatResult(ToolResult):
    """What `ruff_format` found (check mode) or changed (write mode)."""

    check: bool = True
    """True when nothing was written (the files were only checked)."""
    files: list[str] = Field(default_factory=list)
    """Files that would be reformatted (check) or were reformatted (write)."""
    file_count: int = 0
    """len(files)."""
    diff: str = ""
    """Unified diff of the formatting changes."""


class FixResult(ToolResult):
    """What `ruff_fix` changed."""

    fixed_count: int = 0
    """Violations that were fixed."""
    remaining_count: int = 0
    """Violations still present afterwards."""
    fixed: list[RuffViolation] = Field(default_factory=list)
    """The violations that were fixed (as they were before the fix)."""
    remaining: list[RuffViolation] = Field(default_factory=list)
    """The violations left."""
    changed_files: list[str] = Field(default_factory=list)
    """Files whose contents changed."""
    diff: str = ""
    """Unified diff of every change made."""


class TestCase(BaseModel):
    """One test in a pytest run."""

    __test__ = False  # not a pytest test class
    model_config = ConfigDict(extra="forbid")

    node_id: str
    """pytest node id (`tests/test_app.py::test_home`)."""
    outcome: Literal["passed", "failed", "error", "skipped"]
    """How it ended."""
    duration: float = 0.0
    """Seconds it took."""
    message: str | None = None
    """Failure, error or skip message."""
    file: str | None = None
    """File of the test, relative to the workspace root."""
    line: int | None = None
    """1-based line of the test function, when pytest reports it."""


class TestResult(ToolResult):
    """What `pytest_run` found."""

    __test__ = False
    passed: int = 0
    """Tests that passed."""
    failed: int = 0
    """Tests that failed."""
    errors: int = 0
    """Tests that errored (setup/teardown or collection)."""
    skipped: int = 0
    """Tests skipped or xfailed."""
    duration: float = 0.0
    """Seconds the whole run took, as pytest measured it."""
    tests: list[TestCase] = Field(default_factory=list)
    """Every test with its outcome."""
    timed_out: bool = False
    """True when the run was stopped by the timeout."""
    interpreter: str = ""
    """The command prefix used to run pytest (the target project's interpreter)."""
    exit_code: int | None = None
    """pytest's exit status."""


class GitFileChange(BaseModel):
    """One path in `git status`."""

    model_config = ConfigDict(extra="forbid")

    path: str
    """Path relative to the repository root."""
    status: Literal[
        "modified", "added", "deleted", "renamed", "copied", "untracked", "conflicted", "type-changed"
    ]
    """What happened to it."""
    staged: bool
    """True for the index side, False for the work tree side."""
    original_path: str | None = None
    """The old path of a rename or copy."""


class GitStatusResult(ToolResult):
    """The state of the work tree."""

    branch: str | None = None
    """Current branch, None when detached."""
    clean: bool = True
    """No staged, unstaged or untracked changes."""
    changes: list[GitFileChange] = Field(default_factory=list)
    """Every change, staged and unstaged."""
    change_count: int = 0
    """len(changes)."""


class GitDiffFile(BaseModel):
    """Per-file line counts of a diff."""

    model_config = ConfigDict(extra="forbid")

    path: str
    """Path relative to the repository root."""
    additions: int
    """Lines added."""
    deletions: int
    """Lines removed."""


class GitDiffResult(ToolResult):
    """A diff of the work tree (or the index with `staged=True`)."""

    files: list[GitDiffFile] = Field(default_factory=list)
    """Files in the diff."""
    file_count: int = 0
    """len(files)."""
    additions: int = 0
    """Total lines added."""
    deletions: int = 0
    """Total lines removed."""
    diff: str = ""
    """The unified diff text (capped)."""


class GitCommit(BaseModel):
    """One commit."""

    model_config = ConfigDict(extra="forbid")

    sha: str
    """Full commit hash."""
    author: str
    """Author name."""
    email: str
    """Author email."""
    date: str
    """Author date, ISO 8601."""
    subject: str
    """First line of the message."""


class GitLogResult(ToolResult):
    """Recent history."""

    commits: list[GitCommit] = Field(default_factory=list)
    """Newest first."""
    commit_count: int = 0
    """len(commits)."""


class FileReadResult(ToolResult):
    """A file's text, or a window of its lines."""

    path: str = ""
    """Path relative to the workspace root."""
    content: str = ""
    """The text read (the requested lines only, when a range was given)."""
    line_count: int = 0
    """Lines in the whole file."""
    start_line: int = 1
    """1-based first line returned."""
    end_line: int = 0
    """1-based last line returned."""


class FileWriteResult(ToolResult):
    """The outcome of writing or editing a file."""

    path: str = ""
    """Path relative to the workspace root."""
    created: bool = False
    """True when the file did not exist before."""
    replacements: int = 0
    """How many occurrences an edit replaced (0 for a plain write)."""
    diff: str = ""
    """Unified diff of the change."""


class FileListResult(ToolResult):
    """Files under a directory."""

    files: list[str] = Field(default_factory=list)
    """Paths relative to the workspace root, sorted."""
    file_count: int = 0
    """len(files)."""
    truncated: bool = False
    """True when the listing stopped at its limit."""


class SearchMatch(BaseModel):
    """One line that matched a search."""

    model_config = ConfigDict(extra="forbid")

    file: str
    """Path relative to the workspace root."""
    line: int
    """1-based line number."""
    column: int
    """1-based column of the match."""
    text: str
    """The whole line (trimmed to 300 characters)."""


class SearchResult(ToolResult):
    """Lines matching a pattern."""

    matches: list[SearchMatch] = Field(default_factory=list)
    """Matches in file and line order."""
    match_count: int = 0
    """len(matches)."""
    truncated: bool = False
    """True when the search stopped at its limit."""
