"""`punie check`: the syntax gate, then the selected layers, optionally after fixing."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from pathlib import Path

from punie_lsp.check.diagnostics import CheckReport, Diagnostic
from punie_lsp.check.layer import CheckFile
from punie_lsp.check.layers import LAYERS, syntax_gate
from punie_lsp.config import find_project_root
from punie_lsp.exceptions import ToolError, UserError
from punie_lsp.tools.context import ToolContext

__all__ = ("ALL_LAYERS", "collect_files", "parse_layers", "run_check")

ALL_LAYERS = ("syntax", "ruff", "ty", "domain")
"""Every layer name `--layers` accepts, in the order they run."""
PYTHON_SUFFIXES = (".py", ".pyi")


def parse_layers(text: str | None) -> list[str]:
    """Parse `--layers syntax,ruff,ty,domain` into names, rejecting unknown ones."""
    if text is None:
        return list(ALL_LAYERS)
    names = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [name for name in names if name not in ALL_LAYERS]
    if unknown or not names:
        given = ", ".join(map(repr, unknown)) or "(none given)"
        raise UserError(f"unknown layer(s) {given}; choose from {', '.join(ALL_LAYERS)}")
    return names


def project_context(paths: Sequence[str]) -> ToolContext:
    """The tool context of the project holding `paths` (the nearest common project root)."""
    resolved = [Path(p).resolve() for p in paths]
    common = Path(os.path.commonpath([str(p) for p in resolved]))
    return ToolContext.for_root(find_project_root(common))


def collect_files(ctx: ToolContext, paths: Sequence[str]) -> list[Path]:
    """The Python files named by `paths`: files as given, directories walked (caches and venvs skipped).

    Raises:
        UserError: a path does not exist, is not a Python file, or a directory holds no Python file.
    """
    files: list[Path] = []
    for raw in paths:
        path = Path(raw).resolve()
        if not path.exists():
            raise UserError(f"`{raw}` does not exist")
        if path.is_file():
            if path.suffix not in PYTHON_SUFFIXES:
                raise UserError(f"`{raw}` is not a Python file (expected a .py or .pyi file)")
            files.append(ctx.workspace.resolve(path))
            continue
        found = [
            ctx.workspace.root / rel
            for rel in ctx.workspace.list_files_sync(path, pattern="*.py*")
            if rel.endswith(PYTHON_SUFFIXES)
        ]
        if not found:
            raise UserError(f"no Python files under `{raw}`")
        files.extend(found)
    return sorted(dict.fromkeys(files))


def _gate(ctx: ToolContext, files: list[Path]) -> tuple[list[CheckFile], list[Diagnostic]]:
    parsed: list[CheckFile] = []
    problems: list[Diagnostic] = []
    for path in files:
        outcome = syntax_gate(ctx, path)
        (problems if isinstance(outcome, Diagnostic) else parsed).append(outcome)  # ty: ignore[invalid-argument-type]
    return parsed, problems


async def run_check(
    paths: Sequence[str], *, layers: Sequence[str] = ALL_LAYERS, fix: bool = False
) -> CheckReport:
    """Check `paths` layer by layer; with `fix`, apply domain then ruff fixes first and report what is left.

    The syntax gate always runs: files that cannot be read or parsed are reported and kept away from the
    other layers (so one broken file never hides the rest of the project).

    Raises:
        UserError: bad paths or layer names (exit 2).
        ToolError: a layer's tool could not run (exit 2).
    """
    if not paths:
        raise UserError("no paths given")
    ctx = project_context(paths)
    files = collect_files(ctx, paths)
    selected = [LAYERS[name] for name in ALL_LAYERS if name in layers and name in LAYERS]
    parsed, diagnostics = await asyncio.to_thread(_gate, ctx, files)
    if fix and parsed:
        for name in ("domain", "ruff"):
            if name in layers:
                outcome = await LAYERS[name].fix(ctx, parsed)
                if outcome.tool_error:
                    raise ToolError(f"{name} fix failed: {outcome.tool_error}")
                if outcome.fixed_files:
                    parsed, diagnostics = await asyncio.to_thread(_gate, ctx, files)
    outcomes = await asyncio.gather(*(layer.check(ctx, parsed) for layer in selected))
    for layer, outcome in zip(selected, outcomes, strict=True):
        if outcome.tool_error:
            raise ToolError(f"the {layer.name} layer could not run: {outcome.tool_error}")
        diagnostics.extend(outcome.diagnostics)
    diagnostics.sort(key=lambda d: (d.path, d.line, d.column, d.source, d.rule))
    return CheckReport(files_checked=len(files), diagnostics=diagnostics)
