"""The domain layer as the editor needs it: an incremental project index per root, on one worker thread.

`build_index` parses a whole project; doing that on every keystroke would cost as much as the project is
large. Instead each root keeps its `ProjectIndex`, built once (unsaved buffers included), and a changed
buffer is re-parsed alone (through `build_index` over a one-file listing, so parse errors are reported
exactly as the domain layer reports them) and swapped into a fresh index, which recomputes the
project-wide facts while per-module facts of unchanged modules are reused. A buffer that does not parse
keeps its last good module in the index, so other files do not lose the facts it provides.

All domain work runs on a single worker thread: the event loop stays free for hover and ty, validations
never race each other, and the per-root state needs no locks.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from punie_lsp.config import DomainSettings, ProjectSettings, load_settings
from punie_lsp.domain import RULES, DomainIssue
from punie_lsp.domain.components import (
    ComponentSpec,
    component_index,
    module_facts,
    project_facts,
    tag_expressions,
)
from punie_lsp.domain.context import ModuleContext, ProjectIndex
from punie_lsp.domain.services import ServiceRegistration, registration_index, simple_name
from punie_lsp.domain.validate import (
    MAX_DOMAIN_BYTES,
    LoadProblem,
    apply_fixes,
    build_index,
    run_rules,
    selected_rules,
)
from punie_lsp.exceptions import PunieError, WorkspaceError
from punie_lsp.lsp._text import clean_text
from punie_lsp.tools.context import ToolContext
from punie_lsp.workspace import MAX_READ_BYTES, Workspace

__all__ = ("BufferWorkspace", "CheckOutcome", "DomainService", "HoverFacts")

R = TypeVar("R")


class BufferWorkspace(Workspace):
    """A workspace whose reads see the editor's unsaved buffers and whose writes stay in memory.

    The agent's file tools and the domain fixers write through here; the language server turns what was
    written into a `workspace/applyEdit`, so the editor (and its undo history) makes every change.

    Args:
        root: the project root.
        buffers: relative path → text of every open, possibly unsaved, document under the root.
    """

    def __init__(self, root: str | os.PathLike[str], *, buffers: Mapping[str, str] | None = None) -> None:
        super().__init__(root)
        self.buffers = dict(buffers or {})
        self.written: dict[str, str] = {}
        """Relative path → text written during this workspace's life."""

    def read_text_sync(self, path: str | os.PathLike[str], *, limit: int = MAX_READ_BYTES) -> str:
        """The written text, else the open buffer, else the file on disk."""
        relative = self.relative(path)
        text = self.written.get(relative, self.buffers.get(relative))
        if text is None:
            return super().read_text_sync(path, limit=limit)
        if len(text) > limit:
            raise WorkspaceError(
                f"`{path}` is {len(text):,} characters, over the {limit:,} limit", path=str(path)
            )
        return text

    def write_text_sync(self, path: str | os.PathLike[str], text: str) -> Path:
        """Keep the text in memory (the editor applies it); the path is still confined to the root."""
        target = self.resolve(path)
        if target.is_dir():
            raise WorkspaceError(f"`{path}` is a directory", path=os.fspath(path))
        self.written[self.relative(target)] = text
        return target

    def list_files_sync(
        self, path: str | os.PathLike[str] = ".", *, pattern: str = "*", limit: int = 10_000
    ) -> list[str]:
        """Files on disk plus files that exist only in memory (new buffers, new writes)."""
        found = set(super().list_files_sync(path, pattern=pattern, limit=limit))
        base = self.relative(path)
        for relative in (*self.buffers, *self.written):
            inside = base == "." or relative == base or relative.startswith(base.rstrip("/") + "/")
            if inside and Path(relative).match(pattern):
                found.add(relative)
        return sorted(found)[:limit]


class _OneFile(Workspace):
    """Lists no files, so `build_index(ctx, overrides={path: text})` parses exactly one buffer."""

    def list_files_sync(
        self, path: str | os.PathLike[str] = ".", *, pattern: str = "*", limit: int = 10_000
    ) -> list[str]:
        del path, pattern, limit
        return []


@dataclass(frozen=True, kw_only=True)
class CheckOutcome:
    """The domain's verdict on one document version."""

    issues: list[DomainIssue]
    """Rule findings, plus a `syntax-error` / `file-too-large` problem when the text cannot be checked."""
    parse_ms: float = 0.0
    """Time spent (re-)parsing."""
    rules_ms: float = 0.0
    """Time spent running the rules."""


@dataclass(frozen=True, kw_only=True)
class HoverFacts:
    """What the domain knows about the name under the cursor."""

    component: ComponentSpec | None = None
    """The component the name refers to."""
    usages: list[tuple[str, int, int]] = field(default_factory=list)
    """(relative path, line, column) of each `<{Component}>` tag that uses it."""
    service: str | None = None
    """The `T` of an `Inject[T]` / `container.get(T)` under the cursor."""
    registrations: list[ServiceRegistration] = field(default_factory=list)
    """Where that `T` is registered."""


@dataclass(kw_only=True)
class _Root:
    root: Path
    settings: ProjectSettings
    domain: DomainSettings
    index: ProjectIndex
    problems: dict[str, LoadProblem]
    texts: dict[str, str]
    """Relative path → the text the index holds for each buffer it was given."""


class DomainService:
    """Per-root project indexes and every domain question the features ask, answered on one thread."""

    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="punie-domain")
        self._roots: dict[Path, _Root] = {}
        self._domain: dict[Path, DomainSettings] = {}
        self.settings_problems: dict[Path, str] = {}
        """Roots whose project settings could not be read → why (defaults are used instead)."""

    async def _call(self, function: Callable[..., R], *args: object) -> R:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, function, *args)

    def shutdown(self) -> None:
        """Stop the worker thread (pending work is dropped)."""
        self._executor.shutdown(wait=False, cancel_futures=True)

    # -- settings and invalidation -----------------------------------------------------------------

    def project_settings(self, root: Path) -> ProjectSettings:
        """The project's own settings (defaults when its configuration is malformed)."""
        try:
            settings = load_settings(root)
        except PunieError as exc:
            self.settings_problems[root] = str(exc)
            return ProjectSettings(root=root)
        self.settings_problems.pop(root, None)
        return settings

    def set_domain_settings(self, root: Path, domain: DomainSettings) -> None:
        """Use `domain` (the editor's overrides applied) for `root` from now on."""
        self._domain[root] = domain
        state = self._roots.get(root)
        if state is not None:
            state.domain = domain

    def invalidate(self, root: Path | None = None) -> None:
        """Forget the index of `root` (or every root): files changed on disk, settings changed."""
        if root is None:
            self._roots.clear()
        else:
            self._roots.pop(root, None)

    # -- the index -----------------------------------------------------------------------------------

    def _state(self, root: Path, buffers: Mapping[str, str]) -> _Root:
        state = self._roots.get(root)
        if state is not None:
            return state
        settings = self.project_settings(root)
        domain = self._domain.get(root, settings.domain)
        small = {rel: clean_text(text) for rel, text in buffers.items() if len(text) <= MAX_DOMAIN_BYTES}
        ctx = ToolContext(workspace=Workspace(root), settings=settings.model_copy(update={"domain": domain}))
        index, problems = build_index(ctx, overrides=small)
        state = _Root(
            root=root,
            settings=settings,
            domain=domain,
            index=index,
            problems={p.relative: p for p in problems},
            texts=dict(small),
        )
        self._roots[root] = state
        return state

    def _refresh(self, state: _Root, relative: str, text: str) -> None:
        """Swap the buffer's new text into a fresh index (a no-op when the index already holds it)."""
        if state.texts.get(relative) == text:
            return
        state.texts[relative] = text
        ctx = ToolContext(
            workspace=_OneFile(state.root),
            settings=state.settings.model_copy(update={"domain": state.domain}),
        )
        single, problems = build_index(ctx, overrides={relative: text})
        modules = dict(state.index.modules)
        if relative in single.modules:
            modules[relative] = single.modules[relative]
            state.problems.pop(relative, None)
        else:
            state.problems.update({p.relative: p for p in problems})
        state.index = ProjectIndex(
            root=state.root, modules=modules, tdom_version_override=state.domain.tdom_version
        )

    def _ensure(self, root: Path, relative: str, text: str, buffers: Mapping[str, str]) -> _Root:
        state = self._state(root, buffers)
        self._refresh(state, relative, text)
        return state

    # -- diagnostics ---------------------------------------------------------------------------------

    async def check(self, root: Path, relative: str, text: str, buffers: Mapping[str, str]) -> CheckOutcome:
        """Domain issues of one buffer (`text` is its current content, `buffers` every open one)."""
        return await self._call(self._check, root, relative, text, buffers)

    def _check(self, root: Path, relative: str, text: str, buffers: Mapping[str, str]) -> CheckOutcome:
        if len(text) > MAX_DOMAIN_BYTES:
            return CheckOutcome(issues=[_too_large(relative, len(text))])
        started = time.perf_counter()
        state = self._ensure(root, relative, clean_text(text), buffers)
        parsed = time.perf_counter()
        issues: list[DomainIssue] = []
        problem = state.problems.get(relative)
        if problem is not None:
            issues.append(_problem_issue(problem))
        module = state.index.modules.get(relative)
        if module is not None and problem is None:
            rules = selected_rules(state.domain, None)
            issues.extend(run_rules(state.index, [module], rules, state.domain))
        done = time.perf_counter()
        return CheckOutcome(
            issues=issues, parse_ms=(parsed - started) * 1000, rules_ms=(done - parsed) * 1000
        )

    # -- fixes ---------------------------------------------------------------------------------------

    async def quick_fix(
        self, root: Path, relative: str, text: str, buffers: Mapping[str, str], rule_id: str
    ) -> str | None:
        """The buffer's text after `rule_id`'s fixer ran once (None when the fixer changes nothing)."""
        return await self._call(self._quick_fix, root, relative, text, buffers, rule_id)

    def _quick_fix(
        self, root: Path, relative: str, text: str, buffers: Mapping[str, str], rule_id: str
    ) -> str | None:
        rule = RULES.get(rule_id)
        if rule is None or rule.fixer is None or len(text) > MAX_DOMAIN_BYTES:
            return None
        state = self._ensure(root, relative, clean_text(text), buffers)
        module = state.index.modules.get(relative)
        if module is None or relative in state.problems:
            return None
        fixed = rule.fixer(module, state.index).code
        return fixed if fixed != module.source else None

    async def fix_all(self, root: Path, relative: str, buffers: Mapping[str, str]) -> str | None:
        """The buffer's text after every applicable fixer ran until stable (`apply_fixes`, not written)."""
        return await self._call(self._fix_all, root, relative, buffers)

    def _fix_all(self, root: Path, relative: str, buffers: Mapping[str, str]) -> str | None:
        state = self._state(root, buffers)
        ctx = ToolContext(
            workspace=BufferWorkspace(root, buffers=buffers),
            settings=state.settings.model_copy(update={"domain": state.domain}),
        )
        outcome = apply_fixes(ctx, [relative], write=False)
        changed = outcome.changed.get(relative)
        return changed[1] if changed is not None else None

    # -- hover ---------------------------------------------------------------------------------------

    async def hover_facts(
        self,
        root: Path,
        relative: str,
        text: str,
        buffers: Mapping[str, str],
        *,
        word: str,
        line: str,
        column: int,
    ) -> HoverFacts:
        """Component and service facts for `word` under the cursor (`line` is its line, `column` 0-based)."""
        return await self._call(self._hover_facts, root, relative, text, buffers, word, line, column)

    def _hover_facts(
        self,
        root: Path,
        relative: str,
        text: str,
        buffers: Mapping[str, str],
        word: str,
        line: str,
        column: int,
    ) -> HoverFacts:
        if len(text) > MAX_DOMAIN_BYTES:
            return HoverFacts()
        state = self._ensure(root, relative, clean_text(text), buffers)
        module = state.index.modules.get(relative)
        if module is None:
            return HoverFacts()
        service = _service_under_cursor(line, column)
        if service is not None:
            return HoverFacts(service=service, registrations=_registrations_of(state.index, module, service))
        if not word:
            return HoverFacts()
        spec = _component_named(state.index, module, word)
        if spec is None:
            return HoverFacts()
        usages = _usages(state.index).get(spec.qualified_name, [])
        return HoverFacts(component=spec, usages=usages)


def _too_large(relative: str, size: int) -> DomainIssue:
    return DomainIssue(
        rule="file-too-large",
        severity="info",
        message=f"{size:,} characters, over the domain rules' {MAX_DOMAIN_BYTES:,} limit; not checked",
        file=relative,
        line=1,
        column=1,
        end_line=1,
        end_column=1,
    )


def _problem_issue(problem: LoadProblem) -> DomainIssue:
    return DomainIssue(
        rule=problem.rule,
        severity="info",
        message=f"domain rules paused: {problem.message}",
        file=problem.relative,
        line=problem.line,
        column=problem.column,
        end_line=problem.line,
        end_column=problem.column + 1,
    )


_INJECT = re.compile(r"Inject\[\s*([A-Za-z_][\w.]*)")
_GET = re.compile(r"\.a?get(?:_abstract)?\(\s*([A-Za-z_][\w.]*(?:\s*,\s*[A-Za-z_][\w.]*)*)")


def _service_under_cursor(line: str, column: int) -> str | None:
    for pattern in (_INJECT, _GET):
        for match in pattern.finditer(line):
            if match.start() <= column <= match.end():
                if pattern is _INJECT:
                    return match.group(1)
                names = [n.strip() for n in match.group(1).split(",")]
                offset = match.start(1)
                for name in names:
                    at = line.find(name, offset)
                    if at <= column <= at + len(name):
                        return name
                    offset = at + len(name)
                return names[0]
    return None


def _absolute(index: ProjectIndex, module: ModuleContext, name: str) -> str | None:
    facts = module_facts(module)
    head, _, rest = name.partition(".")
    if head in facts.imports:
        return facts.imports[head] + (f".{rest}" if rest else "")
    if head in facts.functions or head in facts.classes:
        return f"{facts.name}.{name}"
    return None


def _registrations_of(index: ProjectIndex, module: ModuleContext, name: str) -> list[ServiceRegistration]:
    qualified = _absolute(index, module, name)
    found = registration_index(index)
    if qualified is not None:
        exact = [r for r in found if r.service_qualified == qualified]
        if exact:
            return exact
    wanted = simple_name(name)
    return [r for r in found if simple_name(r.service_qualified or r.service_type) == wanted]


def _component_named(index: ProjectIndex, module: ModuleContext, word: str) -> ComponentSpec | None:
    components = component_index(index)
    qualified = _absolute(index, module, word)
    if qualified is not None:
        resolved = project_facts(index).resolve(qualified)
        if resolved is not None and resolved in components:
            return components[resolved]
    return None


def _usages(index: ProjectIndex) -> dict[str, list[tuple[str, int, int]]]:
    return index.memo("lsp:component-usages", _compute_usages)


def _compute_usages(index: ProjectIndex) -> dict[str, list[tuple[str, int, int]]]:
    project = project_facts(index)
    found: dict[str, list[tuple[str, int, int]]] = {}
    for module in index.iter_modules():
        for markup, tag in tag_expressions(module, module_facts(module)):
            if tag.kind != "open" or tag.expr is None:
                continue
            spec = project.component_for(module, tag.expr.expression)
            if spec is not None:
                line, column = markup.position(module, tag.start)
                found.setdefault(spec.qualified_name, []).append((module.relative, line, column))
    return found
