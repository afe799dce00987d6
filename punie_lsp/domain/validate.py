"""Run the domain rules over files or a whole project, and apply their automatic fixes.

The project index always covers the whole workspace (cross-file rules need every registration and
component), while issues are reported only for the files asked about.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
from collections import OrderedDict
from collections.abc import Generator, Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import libcst as cst

from punie_lsp.config import DomainSettings
from punie_lsp.domain.context import ModuleContext, ProjectIndex
from punie_lsp.domain.issues import DomainIssue, DomainValidationResult
from punie_lsp.domain.rules import RULES, Family, Rule
from punie_lsp.exceptions import WorkspaceError
from punie_lsp.tools.context import ToolContext
from punie_lsp.tools.files import unified_diff

__all__ = (
    "MAX_DOMAIN_BYTES",
    "DomainFixOutcome",
    "LoadProblem",
    "apply_fixes",
    "build_index",
    "clear_parse_cache",
    "collector_paused",
    "run_rules",
    "selected_rules",
    "target_files",
    "validate",
)

logger = logging.getLogger(__name__)

MAX_DOMAIN_BYTES = 2 * 1024 * 1024
"""Files larger than this (2 MiB) are reported and skipped rather than parsed."""


@dataclass(frozen=True, kw_only=True)
class LoadProblem:
    """A file that could not be parsed or read, reported as an issue instead of crashing the run."""

    relative: str
    rule: str
    message: str
    line: int = 1
    column: int = 1


PARSE_CACHE_CHARS = 2 * 1024 * 1024
"""How much source text (in characters) the parsed-module cache keeps, least recently used dropped first."""


class _ParseCache:
    """Parsed modules by absolute path, reused while a file's text is unchanged.

    The project index covers the whole workspace, so validating one file re-reads every file; a file whose
    text did not change gets back the very `ModuleContext` it had (with its lazily computed metadata)
    instead of being parsed again. Trees are immutable and rules never change a context, so results are
    the same as with a fresh parse.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.entries: OrderedDict[Path, ModuleContext] = OrderedDict()
        self.size = 0
        self.lock = threading.Lock()

    def get(self, path: Path, relative: str, source: str) -> ModuleContext | None:
        with self.lock:
            cached = self.entries.get(path)
            if cached is None or cached.source != source or cached.relative != relative:
                return None
            self.entries.move_to_end(path)
            return cached

    def put(self, context: ModuleContext) -> None:
        with self.lock:
            old = self.entries.pop(context.path, None)
            if old is not None:
                self.size -= len(old.source)
            if len(context.source) > self.limit:
                return
            self.entries[context.path] = context
            self.size += len(context.source)
            while self.size > self.limit:
                _, dropped = self.entries.popitem(last=False)
                self.size -= len(dropped.source)

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()
            self.size = 0


_PARSED = _ParseCache(PARSE_CACHE_CHARS)


def clear_parse_cache() -> None:
    """Forget every parsed module (the next `build_index` parses every file again)."""
    _PARSED.clear()


_pause_lock = threading.Lock()
_pauses = 0
_resume = False


@contextmanager
def collector_paused() -> Generator[None]:
    """Pause Python's cyclic garbage collector while parsing and checking.

    A run allocates millions of long-lived objects (syntax trees, scopes); the collector would traverse all
    of them again and again as they pile up, which costs a large share of the run. Nothing is lost: the
    collector resumes (if it was running) when the outermost pause ends, and reference counting frees
    everything else as usual meanwhile. Safe to nest and to use from several threads.
    """
    global _pauses, _resume
    with _pause_lock:
        if _pauses == 0:
            _resume = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _pause_lock:
            _pauses -= 1
            if _pauses == 0 and _resume:
                gc.enable()


def _parse(root: Path, path: Path, source: str) -> ModuleContext | LoadProblem:
    relative = path.relative_to(root).as_posix()
    cached = _PARSED.get(path, relative, source)
    if cached is not None:
        return cached
    try:
        module = cst.parse_module(source)
    except cst.ParserSyntaxError as exc:
        return LoadProblem(
            relative=relative,
            rule="syntax-error",
            message=f"cannot parse: {exc.message}",
            line=exc.raw_line,
            column=exc.raw_column + 1,
        )
    except (cst.CSTLogicError, cst.CSTValidationError) as exc:  # libcst rejects e.g. `t"a" t"b"` this way
        return LoadProblem(relative=relative, rule="syntax-error", message=f"cannot parse: {exc}")
    context = ModuleContext(path=path, relative=relative, source=source, module=module)
    _PARSED.put(context)
    return context


def _load(ctx: ToolContext, relative: str) -> ModuleContext | LoadProblem:
    path = ctx.workspace.root / relative
    try:
        source = ctx.workspace.read_text_sync(relative, limit=MAX_DOMAIN_BYTES)
    except WorkspaceError as exc:
        return LoadProblem(relative=relative, rule="unreadable-file", message=str(exc))
    return _parse(ctx.workspace.root, path, source)


def build_index(
    ctx: ToolContext, *, overrides: dict[str, str] | None = None
) -> tuple[ProjectIndex, list[LoadProblem]]:
    """Parse every Python file of the workspace into an index.

    `overrides` maps relative paths to text (unsaved editor buffers) that replaces what is on disk.
    """
    index = ProjectIndex(root=ctx.workspace.root, tdom_version_override=ctx.settings.domain.tdom_version)
    problems: list[LoadProblem] = []
    overrides = overrides or {}
    names = set(ctx.workspace.list_files_sync(".", pattern="*.py")) | set(overrides)
    with collector_paused():
        for relative in sorted(names):
            if relative in overrides:
                loaded = _parse(ctx.workspace.root, ctx.workspace.root / relative, overrides[relative])
            else:
                loaded = _load(ctx, relative)
            if isinstance(loaded, LoadProblem):
                problems.append(loaded)
            else:
                index.modules[relative] = loaded
    return index, problems


def selected_rules(settings: DomainSettings, families: Iterable[Family] | None) -> list[Rule]:
    """The enabled rules of `families` (all families when None), honouring enabled/disabled settings."""
    chosen = []
    allowed = set(families) if families is not None else None
    for candidate in RULES.values():
        if allowed is not None and candidate.family not in allowed:
            continue
        enabled = candidate.id in settings.enabled or candidate.family in settings.enabled
        disabled = candidate.id in settings.disabled or candidate.family in settings.disabled
        if enabled and not disabled:
            chosen.append(candidate)
    return chosen


def run_rules(
    index: ProjectIndex, modules: Iterable[ModuleContext], rules: Iterable[Rule], settings: DomainSettings
) -> list[DomainIssue]:
    """Run `rules` on `modules` and apply severity overrides; a crashing rule never stops the others."""
    issues: list[DomainIssue] = []
    rules = list(rules)
    with collector_paused():
        for module in modules:
            for candidate in rules:
                try:
                    found = list(candidate.checker(module, index))
                except Exception as exc:  # a bug in one rule must not hide the findings of the others
                    logger.exception("rule %s crashed on %s", candidate.id, module.relative)
                    found = [_crash_issue(candidate.id, module.relative, exc)]
                for issue in found:
                    override = settings.severity.get(issue.rule)
                    issues.append(issue.model_copy(update={"severity": override}) if override else issue)
    issues.sort(key=lambda i: (i.file, i.line, i.column, i.rule))
    return issues


def _crash_issue(rule_id: str, relative: str, exc: Exception) -> DomainIssue:
    return DomainIssue(
        rule="internal-error",
        severity="warning",
        message=f"rule {rule_id} crashed on this file ({type(exc).__name__}: {exc}); please report it",
        file=relative,
        line=1,
        column=1,
        end_line=1,
        end_column=1,
    )


def target_files(ctx: ToolContext, path: str) -> list[str]:
    """Relative paths of the Python files under `path` (one file, or a directory walked)."""
    target = ctx.workspace.resolve(path)
    if not target.exists():
        raise WorkspaceError(f"`{path}` does not exist", path=path)
    if target.is_file():
        return [ctx.workspace.relative(target)]
    return ctx.workspace.list_files_sync(target, pattern="*.py")


def _problem_issue(problem: LoadProblem) -> DomainIssue:
    return DomainIssue(
        rule=problem.rule,
        severity="error",
        message=problem.message,
        file=problem.relative,
        line=problem.line,
        column=problem.column,
        end_line=problem.line,
        end_column=problem.column + 1,
    )


def validate_sync(
    ctx: ToolContext, path: str = ".", families: Iterable[Family] | None = None
) -> DomainValidationResult:
    """Validate the Python files under `path` with the rules of `families` (all when None)."""
    try:
        targets = target_files(ctx, path)
    except WorkspaceError as exc:
        return DomainValidationResult(success=False, tool_error=str(exc))
    with collector_paused():
        index, problems = build_index(ctx)
        wanted = set(targets)
        modules = [m for m in index.iter_modules() if m.relative in wanted]
        issues = run_rules(index, modules, selected_rules(ctx.settings.domain, families), ctx.settings.domain)
    issues = sorted(
        [*(_problem_issue(p) for p in problems if p.relative in wanted), *issues],
        key=lambda i: (i.file, i.line, i.column, i.rule),
    )
    errors = sum(i.severity == "error" for i in issues)
    return DomainValidationResult(
        success=errors == 0,
        issues=issues,
        issue_count=len(issues),
        error_count=errors,
        warning_count=sum(i.severity == "warning" for i in issues),
        files_checked=len(targets),
    )


async def validate(
    ctx: ToolContext, path: str = ".", families: Iterable[Family] | None = None
) -> DomainValidationResult:
    """Async twin of `validate_sync` (parsing runs in a thread so the event loop stays free)."""
    return await asyncio.to_thread(validate_sync, ctx, path, families)


@dataclass(kw_only=True)
class DomainFixOutcome:
    """What `apply_fixes` changed."""

    changed: dict[str, tuple[str, str]] = field(default_factory=dict)
    """Relative path → (old text, new text) for every file that changed."""
    fixed_rules: list[str] = field(default_factory=list)
    """Rule IDs whose fixer changed something."""

    @property
    def diff(self) -> str:
        """Unified diff of every change."""
        return "".join(unified_diff(path, old, new) for path, (old, new) in sorted(self.changed.items()))


MAX_FIX_PASSES = 5


def apply_fixes(
    ctx: ToolContext, paths: Iterable[str], *, rule_ids: Iterable[str] | None = None, write: bool = True
) -> DomainFixOutcome:
    """Apply every applicable auto-fix to the files `paths` (relative), re-running until stable.

    Only rules that currently report an issue in a file get their fixer run on it, so fixers never touch
    clean code. Files are written atomically through the workspace when `write` is True.
    """
    index, _ = build_index(ctx)
    selected = [r for r in selected_rules(ctx.settings.domain, None) if r.fixer is not None]
    if rule_ids is not None:
        allowed = set(rule_ids)
        selected = [r for r in selected if r.id in allowed or r.family in allowed]
    outcome = DomainFixOutcome()
    for relative in paths:
        module = index.modules.get(relative)
        if module is None:
            continue
        original = module.source
        for _ in range(MAX_FIX_PASSES):
            issues = run_rules(index, [module], selected, ctx.settings.domain)
            firing = [r for r in selected if any(i.rule == r.id for i in issues)]
            changed = False
            for candidate in firing:
                assert candidate.fixer is not None
                fixed = candidate.fixer(module, index)
                if fixed.code != module.source:
                    outcome.fixed_rules.append(candidate.id)
                    module = ModuleContext(
                        path=module.path, relative=relative, source=fixed.code, module=fixed
                    )
                    index.modules[relative] = module
                    index._memo.clear()
                    changed = True
            if not changed:
                break
        if module.source != original:
            outcome.changed[relative] = (original, module.source)
            if write:
                ctx.workspace.write_text_sync(relative, module.source)
    return outcome
