"""The quality triad's static half: `typecheck` (ty) and the ruff tools.

Each tool runs the real CLI in a machine-readable format and parses it into a typed result. Failures
of the tool itself land in `tool_error`; findings in the code land in the lists and counts.
"""

from __future__ import annotations

import difflib
import json
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from punie_lsp.exceptions import ToolError, WorkspaceError
from punie_lsp.tools._process import ProcessResult, find_binary, run_process
from punie_lsp.tools._pyversion import project_python_version
from punie_lsp.tools.context import ToolContext
from punie_lsp.tools.results import (
    FixResult,
    FormatResult,
    RuffResult,
    RuffViolation,
    TypeCheckError,
    TypeCheckResult,
)
from punie_lsp.tools.testing import project_interpreter

__all__ = ("apply_ruff_fixes", "ruff_check", "ruff_fix", "ruff_format", "run_ruff", "run_ty", "typecheck")

STATIC_TIMEOUT = 120.0
"""Seconds ruff or ty may take before they are stopped."""


def _relative(ctx: ToolContext, filename: str) -> str:
    path = Path(filename)
    if not path.is_absolute():
        path = ctx.workspace.root / path
    try:
        return path.resolve().relative_to(ctx.workspace.root).as_posix()
    except ValueError:
        return filename


def _python_files(ctx: ToolContext, target: Path) -> list[Path]:
    if target.is_file():
        return [target]
    return [ctx.workspace.root / rel for rel in ctx.workspace.list_files_sync(target, pattern="*.py")]


def _load_json(proc: ProcessResult, tool: str) -> Any:
    try:
        return json.loads(proc.stdout or "[]")
    except json.JSONDecodeError as exc:
        detail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise ToolError(f"`{tool}` output is not JSON (exit {proc.returncode}): {detail[0]}") from exc


class _TyLocation(BaseModel):
    path: str
    positions: dict[str, dict[str, int]]


class _TyDiagnostic(BaseModel):
    check_name: str
    description: str
    severity: str
    location: _TyLocation


_TY_SEVERITY = {"info": "info", "minor": "warning", "major": "error", "critical": "error", "blocker": "error"}


async def typecheck(ctx: ToolContext, path: str = ".") -> TypeCheckResult:
    """Type-check a file or directory with ty.

    The Python version comes from the project settings, else 3.14 when the code uses t-strings, else the
    project's `requires-python`.
    """
    try:
        target = _existing(ctx, path)
    except WorkspaceError as exc:
        return TypeCheckResult(success=False, tool_error=str(exc))
    return await run_ty(ctx, [target])


async def run_ty(ctx: ToolContext, targets: list[Path]) -> TypeCheckResult:
    """Run ty once over several files or directories (already resolved inside the workspace)."""
    files = [f for target in targets for f in _python_files(ctx, target)]
    version = project_python_version(ctx.workspace.root, files, configured=ctx.settings.python_version)
    try:
        args = [find_binary("ty"), "check", "--output-format", "gitlab", "--no-progress", "--color", "never"]
        if version:
            args += ["--python-version", version]
        interpreter = project_interpreter(ctx.workspace.root)
        if len(interpreter) == 1:  # a venv of the project, or Punie's own when the project has none
            args += ["--python", interpreter[0]]
        args += ["--project", str(ctx.workspace.root), *map(str, targets)]
        proc = await run_process(args, cwd=ctx.workspace.root, timeout=STATIC_TIMEOUT)
        if proc.returncode not in (0, 1):
            raise ToolError(f"`ty` failed (exit {proc.returncode}): {_first_problem(proc)}")
        raw = _load_json(proc, "ty")
        items = [_TyDiagnostic.model_validate(entry) for entry in raw]
    except ToolError as exc:
        return TypeCheckResult(success=False, tool_error=str(exc), python_version=version)
    except ValidationError as exc:
        return TypeCheckResult(success=False, tool_error=f"unexpected ty output: {exc.errors()[0]['msg']}")

    errors: list[TypeCheckError] = []
    warnings: list[TypeCheckError] = []
    for item in items:
        begin = item.location.positions.get("begin", {})
        end = item.location.positions.get("end", {})
        message = item.description.removeprefix(f"{item.check_name}: ")
        severity = _TY_SEVERITY.get(item.severity, "error")
        diagnostic = TypeCheckError(
            file=_relative(ctx, item.location.path),
            line=begin.get("line", 1),
            column=begin.get("column", 1),
            end_line=end.get("line"),
            end_column=end.get("column"),
            code=item.check_name,
            message=message,
            severity=severity,  # ty: ignore[invalid-argument-type]
        )
        (errors if severity == "error" else warnings).append(diagnostic)
    return TypeCheckResult(
        success=not errors,
        error_count=len(errors),
        warning_count=sum(1 for w in warnings if w.severity == "warning"),
        errors=errors,
        warnings=warnings,
        python_version=version,
    )


def _first_problem(proc: ProcessResult) -> str:
    for stream in (proc.stderr, proc.stdout):
        for line in stream.splitlines():
            if line.strip():
                return line.strip()[:300]
    return "no output"


class _RuffLocation(BaseModel):
    row: int
    column: int


class _RuffFix(BaseModel):
    applicability: str


class _RuffItem(BaseModel):
    code: str | None
    message: str
    filename: str
    location: _RuffLocation | None
    end_location: _RuffLocation | None
    fix: _RuffFix | None = None
    url: str | None = None


def _violations(ctx: ToolContext, raw: Any) -> list[RuffViolation]:
    items = [_RuffItem.model_validate(entry) for entry in raw]
    violations: list[RuffViolation] = []
    for item in items:
        if item.code == "io":
            raise ToolError(f"`ruff` could not read a file: {item.message}")
        start = item.location or _RuffLocation(row=1, column=1)
        end = item.end_location
        violations.append(
            RuffViolation(
                file=_relative(ctx, item.filename),
                line=start.row,
                column=start.column,
                end_line=end.row if end else None,
                end_column=end.column if end else None,
                code=item.code or "invalid-syntax",
                message=item.message,
                fixable=item.fix is not None and item.fix.applicability == "safe",
                url=item.url,
            )
        )
    violations.sort(key=lambda v: (v.file, v.line, v.column, v.code))
    return violations


async def run_ruff(ctx: ToolContext, targets: list[Path], *extra: str) -> list[RuffViolation]:
    """Run `ruff check` once over several resolved paths and return its violations.

    Raises:
        ToolError: ruff is missing, crashed, timed out or printed something that is not its JSON.
    """
    args = [find_binary("ruff"), "check", "--output-format", "json", "--no-cache", *extra, *map(str, targets)]
    proc = await run_process(args, cwd=ctx.workspace.root, timeout=STATIC_TIMEOUT)
    if proc.returncode not in (0, 1):
        raise ToolError(f"`ruff check` failed (exit {proc.returncode}): {_first_problem(proc)}")
    try:
        return _violations(ctx, _load_json(proc, "ruff"))
    except ValidationError as exc:
        raise ToolError(f"unexpected ruff output: {exc.errors()[0]['msg']}") from exc


def _existing(ctx: ToolContext, path: str) -> Path:
    target = ctx.workspace.resolve(path)
    if not target.exists():
        raise WorkspaceError(f"`{path}` does not exist", path=path)
    return target


async def ruff_check(ctx: ToolContext, path: str = ".") -> RuffResult:
    """Lint with ruff (the project's ruff configuration applies)."""
    try:
        violations = await run_ruff(ctx, [_existing(ctx, path)])
    except (ToolError, WorkspaceError) as exc:
        return RuffResult(success=False, tool_error=str(exc))
    return RuffResult(
        success=not violations,
        violation_count=len(violations),
        fixable_count=sum(v.fixable for v in violations),
        violations=violations,
    )


def _snapshot(ctx: ToolContext, target: Path) -> dict[str, str]:
    contents: dict[str, str] = {}
    for path in _python_files(ctx, target):
        try:
            contents[ctx.workspace.relative(path)] = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
    return contents


def _diff(before: dict[str, str], after: dict[str, str]) -> tuple[list[str], str]:
    changed: list[str] = []
    chunks: list[str] = []
    for name in sorted(before):
        old, new = before[name], after.get(name, before[name])
        if old != new:
            changed.append(name)
            chunks.extend(
                difflib.unified_diff(
                    old.splitlines(keepends=True), new.splitlines(keepends=True), f"a/{name}", f"b/{name}"
                )
            )
    return changed, "".join(chunks)


async def ruff_fix(ctx: ToolContext, path: str = ".") -> FixResult:
    """Apply ruff's safe fixes and report what changed."""
    try:
        target = _existing(ctx, path)
    except WorkspaceError as exc:
        return FixResult(success=False, tool_error=str(exc))
    return await apply_ruff_fixes(ctx, [target])


async def apply_ruff_fixes(ctx: ToolContext, targets: list[Path]) -> FixResult:
    """Apply ruff's safe fixes to several resolved paths at once."""
    before_files: dict[str, str] = {}
    for target in targets:
        before_files.update(_snapshot(ctx, target))
    try:
        before = await run_ruff(ctx, targets)
        remaining = await run_ruff(ctx, targets, "--fix")
    except ToolError as exc:
        return FixResult(success=False, tool_error=str(exc))
    after_files: dict[str, str] = {}
    for target in targets:
        after_files.update(_snapshot(ctx, target))
    changed, diff = _diff(before_files, after_files)
    left = {(v.file, v.code, v.message) for v in remaining}
    fixed = [v for v in before if v.fixable and (v.file, v.code, v.message) not in left]
    return FixResult(
        success=not remaining,
        fixed_count=len(fixed),
        remaining_count=len(remaining),
        fixed=fixed,
        remaining=remaining,
        changed_files=changed,
        diff=diff,
    )


_DIFF_HEADER = re.compile(r"^--- (?:a/)?(.+?)(?:\t.*)?$", re.M)


async def ruff_format(ctx: ToolContext, path: str = ".", check: bool = True) -> FormatResult:
    """Check (default) or apply ruff formatting; `files` lists the changes."""
    try:
        target = _existing(ctx, path)
        binary = find_binary("ruff")
        if check:
            proc = await run_process(
                [binary, "format", "--diff", "--no-cache", str(target)],
                cwd=ctx.workspace.root,
                timeout=STATIC_TIMEOUT,
            )
            if proc.returncode not in (0, 1):
                raise ToolError(f"`ruff format` failed (exit {proc.returncode}): {_first_problem(proc)}")
            files = sorted({_relative(ctx, name) for name in _DIFF_HEADER.findall(proc.stdout)})
            return FormatResult(
                success=not files, check=True, files=files, file_count=len(files), diff=proc.stdout
            )
        before = _snapshot(ctx, target)
        proc = await run_process(
            [binary, "format", "--no-cache", str(target)], cwd=ctx.workspace.root, timeout=STATIC_TIMEOUT
        )
        if proc.returncode != 0:
            raise ToolError(f"`ruff format` failed (exit {proc.returncode}): {_first_problem(proc)}")
        files, diff = _diff(before, _snapshot(ctx, target))
    except (ToolError, WorkspaceError) as exc:
        return FormatResult(success=False, check=check, tool_error=str(exc))
    return FormatResult(success=True, check=False, files=files, file_count=len(files), diff=diff)
