"""The built-in layers of `punie check`: syntax (the gate), ruff, ty and the domain rules."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

import libcst as cst

from punie_lsp.check.diagnostics import Diagnostic, Severity
from punie_lsp.check.layer import CheckFile, Layer, LayerOutcome
from punie_lsp.domain.validate import apply_fixes, build_index, run_rules, selected_rules
from punie_lsp.exceptions import ToolError, WorkspaceError
from punie_lsp.tools._pyversion import TSTRING_PATTERN
from punie_lsp.tools.context import ToolContext
from punie_lsp.tools.quality import apply_ruff_fixes, run_ruff, run_ty
from punie_lsp.tools.results import CodeItem

__all__ = ("LAYERS", "DomainLayer", "RuffLayer", "TyLayer", "syntax_gate")

RUFF_ERROR_CODES = ("E9", "F63", "F7", "F82", "invalid-syntax")
"""ruff codes that mean the code fails at run time (syntax, undefined names): reported as errors.
Every other ruff violation is a warning: style and latent bugs do not fail `punie check`."""


def syntax_gate(ctx: ToolContext, path: Path) -> CheckFile | Diagnostic:
    """Read and parse one file with libcst (t-strings parse on any host Python).

    Returns the parsed file, or a diagnostic for an unreadable, binary, non-UTF-8 or unparseable file.
    """
    relative = ctx.workspace.relative(path)
    try:
        text = ctx.workspace.read_text_sync(path)
    except WorkspaceError as exc:
        rule = "binary-file" if "binary" in str(exc) else "encoding" if "UTF-8" in str(exc) else "unreadable"
        return _file_diagnostic(relative, rule, str(exc))
    try:
        cst.parse_module(text)
    except cst.ParserSyntaxError as exc:
        line, column, message = _syntax_location(text, exc)
        return Diagnostic(
            path=relative,
            line=line,
            column=column,
            end_line=line,
            end_column=column + 1,
            rule="syntax-error",
            severity="error",
            message=message,
            source="syntax",
        )
    except (cst.CSTLogicError, cst.CSTValidationError) as exc:  # e.g. implicitly concatenated t-strings
        return _file_diagnostic(relative, "syntax-error", f"cannot parse: {exc}")
    except RecursionError:
        return _file_diagnostic(relative, "syntax-error", "too deeply nested to parse")
    return CheckFile(path=path, relative=relative, text=text)


def _syntax_location(text: str, exc: cst.ParserSyntaxError) -> tuple[int, int, str]:
    """The best location and message for a syntax error.

    libcst decides *whether* code parses (it knows t-strings on any host), but it reports where it gave
    up, often a line late. CPython's compiler pinpoints the mistake with a clearer message, so its answer
    is used unless it is confused by a t-string the host Python cannot parse.
    """
    try:
        compile(text, "<check>", "exec", dont_inherit=True)
    except SyntaxError as error:
        lines = text.splitlines()
        lineno = error.lineno or exc.raw_line
        offending = lines[lineno - 1] if 0 < lineno <= len(lines) else ""
        if not TSTRING_PATTERN.search(offending):
            return lineno, max(1, error.offset or 1), error.msg
    except (ValueError, RecursionError, MemoryError):
        pass
    return exc.raw_line, exc.raw_column + 1, exc.message


def _file_diagnostic(relative: str, rule: str, message: str) -> Diagnostic:
    return Diagnostic(
        path=relative,
        line=1,
        column=1,
        end_line=1,
        end_column=1,
        rule=rule,
        severity="error",
        message=message,
        source="syntax",
    )


def _from_item(item: CodeItem, *, source: str, severity: Severity) -> Diagnostic:
    return Diagnostic(
        path=item.file,
        line=item.line,
        column=item.column,
        end_line=item.end_line or item.line,
        end_column=item.end_column or item.column + 1,
        rule=item.code,
        severity=severity,
        message=item.message,
        source=source,  # ty: ignore[invalid-argument-type]
        fixable=item.fixable,
    )


@dataclass
class RuffLayer:
    """ruff lint: runtime-breaking codes are errors, the rest warnings."""

    name: str = "ruff"

    async def check(self, ctx: ToolContext, files: list[CheckFile]) -> LayerOutcome:
        """Lint the files with the project's ruff configuration."""
        if not files:
            return LayerOutcome()
        try:
            violations = await run_ruff(ctx, [f.path for f in files])
        except ToolError as exc:
            return LayerOutcome(tool_error=str(exc))
        return LayerOutcome(
            diagnostics=[
                _from_item(
                    v, source="ruff", severity="error" if v.code.startswith(RUFF_ERROR_CODES) else "warning"
                )
                for v in violations
            ]
        )

    async def fix(self, ctx: ToolContext, files: list[CheckFile]) -> LayerOutcome:
        """Apply ruff's safe fixes."""
        if not files:
            return LayerOutcome()
        result = await apply_ruff_fixes(ctx, [f.path for f in files])
        return LayerOutcome(tool_error=result.tool_error, fixed_files=result.changed_files)


@dataclass
class TyLayer:
    """ty type checking, with the project's Python version (3.14 for t-string code)."""

    name: str = "ty"

    async def check(self, ctx: ToolContext, files: list[CheckFile]) -> LayerOutcome:
        """Type-check the files."""
        if not files:
            return LayerOutcome()
        result = await run_ty(ctx, [f.path for f in files])
        if result.tool_error:
            return LayerOutcome(tool_error=result.tool_error)
        return LayerOutcome(
            diagnostics=[
                _from_item(e, source="ty", severity=e.severity) for e in [*result.errors, *result.warnings]
            ]
        )

    async def fix(self, ctx: ToolContext, files: list[CheckFile]) -> LayerOutcome:
        """Nothing to do: Punie applies no automatic fixes from ty."""
        return LayerOutcome()


@dataclass
class DomainLayer:
    """Punie's domain rules (tdom, svcs, Hopscotch, middleware, lifecycles)."""

    name: str = "domain"

    def _check_sync(self, ctx: ToolContext, files: list[CheckFile]) -> LayerOutcome:
        index, _ = build_index(ctx)
        wanted = {f.relative for f in files}
        modules = [m for m in index.iter_modules() if m.relative in wanted]
        issues = run_rules(index, modules, selected_rules(ctx.settings.domain, None), ctx.settings.domain)
        return LayerOutcome(
            diagnostics=[
                Diagnostic(
                    path=i.file,
                    line=i.line,
                    column=i.column,
                    end_line=i.end_line,
                    end_column=i.end_column,
                    rule=i.rule,
                    severity=i.severity,
                    message=i.message + (f" Suggestion: {i.suggestion}" if i.suggestion else ""),
                    source="punie",
                    fixable=i.fixable,
                )
                for i in issues
            ]
        )

    async def check(self, ctx: ToolContext, files: list[CheckFile]) -> LayerOutcome:
        """Run every enabled domain rule on the files (the index covers the whole project)."""
        if not files:
            return LayerOutcome()
        return await asyncio.to_thread(self._check_sync, ctx, files)

    async def fix(self, ctx: ToolContext, files: list[CheckFile]) -> LayerOutcome:
        """Apply the domain auto-fixes (libcst transformers)."""
        outcome = await asyncio.to_thread(apply_fixes, ctx, [f.relative for f in files])
        return LayerOutcome(fixed_files=sorted(outcome.changed))


LAYERS: dict[str, Layer] = {"ruff": RuffLayer(), "ty": TyLayer(), "domain": DomainLayer()}
"""Layers after the syntax gate, by name, in the order they report."""
