"""What a rule sees: one parsed module (`ModuleContext`) and the whole project (`ProjectIndex`).

Names are resolved, not spelled: `ModuleContext.qualified_names(node)` answers what libcst's
`QualifiedNameProvider` answers, so `html` imported from jinja2 is not tdom's `html`, and aliases work.
Metadata is resolved lazily, once per module, because most modules trigger few rules, and by the fast
walkers of `punie_lsp.domain.metadata`, which build libcst's own scope objects without libcst's
node-rebuilding visits.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

import libcst as cst
from libcst.metadata import CodeRange, MetadataWrapper

from punie_lsp.domain.issues import DomainIssue
from punie_lsp.domain.metadata import PositionMap, ScopeData, parent_map, position_map, scope_map
from punie_lsp.domain.rules import RULES

__all__ = ("ModuleContext", "ProjectIndex", "parse_version")

T = TypeVar("T")


@dataclass(kw_only=True)
class ModuleContext:
    """One parsed Python module and helpers for locating and naming its nodes."""

    path: Path
    """Absolute path."""
    relative: str
    """Path relative to the workspace root (POSIX); what issues report."""
    source: str
    """The decoded text."""
    module: cst.Module
    """The concrete syntax tree (t-strings parse on any host Python)."""

    @cached_property
    def wrapper(self) -> MetadataWrapper:
        """libcst metadata wrapper sharing `module`'s nodes (no copy), for providers not offered here."""
        return MetadataWrapper(self.module, unsafe_skip_copy=True)

    @cached_property
    def positions(self) -> PositionMap:
        """Node → `CodeRange` (1-based lines, 0-based columns), as libcst's `PositionProvider` gives."""
        return position_map(self.module)

    @cached_property
    def _scope_data(self) -> ScopeData:
        return scope_map(self.module, self.source)

    @property
    def scopes(self) -> Mapping[cst.CSTNode, Any]:
        """Node → libcst `Scope`, as libcst's `ScopeProvider` gives (formatting nodes left out)."""
        return self._scope_data.scopes

    @cached_property
    def _names(self) -> dict[cst.CSTNode, frozenset[str]]:
        return {}

    @cached_property
    def parents(self) -> Mapping[cst.CSTNode, cst.CSTNode]:
        """Node → its parent node, as libcst's `ParentNodeProvider` gives (formatting nodes left out)."""
        return parent_map(self.module)

    def qualified_names(self, node: cst.CSTNode) -> set[str]:
        """Fully resolved dotted names `node` may refer to (`{"tdom.html"}`); empty when unknown.

        The answer of libcst's `QualifiedNameProvider`, which asks the node's scope.
        """
        known = self._names.get(node)
        if known is None:
            data = self._scope_data
            scope = data.scopes.get(node)
            if scope is None or node in data.foreign:
                known = frozenset()
            else:
                known = frozenset(name.name for name in scope.get_qualified_names_for(node))
            self._names[node] = known
        return set(known)

    def refers_to(self, node: cst.CSTNode, *qualified: str) -> bool:
        """Whether `node` resolves to one of the `qualified` dotted names."""
        return not self.qualified_names(node).isdisjoint(qualified)

    def range(self, node: cst.CSTNode) -> CodeRange:
        """The node's position (libcst convention: 1-based lines, 0-based columns)."""
        return self.positions[node]

    def location(self, node: cst.CSTNode) -> tuple[int, int, int, int]:
        """`(line, column, end_line, end_column)`, all 1-based, end exclusive."""
        where = self.range(node)
        return where.start.line, where.start.column + 1, where.end.line, where.end.column + 1

    def issue(
        self, rule_id: str, node: cst.CSTNode, message: str, *, suggestion: str | None = None
    ) -> DomainIssue:
        """Build an issue for `rule_id` at `node`, taking severity and fixability from the registry."""
        return self.issue_at(rule_id, self.location(node), message, suggestion=suggestion)

    def issue_at(
        self,
        rule_id: str,
        where: tuple[int, int, int, int],
        message: str,
        *,
        suggestion: str | None = None,
    ) -> DomainIssue:
        """Build an issue at an explicit `(line, column, end_line, end_column)` span (1-based)."""
        registered = RULES[rule_id]
        line, column, end_line, end_column = where
        return DomainIssue(
            rule=rule_id,
            severity=registered.severity,
            message=message,
            file=self.relative,
            line=line,
            column=column,
            end_line=end_line,
            end_column=end_column,
            suggestion=suggestion,
            fixable=registered.fixer is not None,
        )

    def code(self, node: cst.CSTNode) -> str:
        """The source text of `node`."""
        return self.module.code_for_node(node)


_VERSION = re.compile(r"(\d+)\.(\d+)(?:\.(\d+))?")


def parse_version(text: str) -> tuple[int, int, int] | None:
    """`"0.1.16"` → `(0, 1, 16)`; None when no version number is in `text`."""
    match = _VERSION.search(text)
    if match is None:
        return None
    major, minor, patch = match.groups()
    return int(major), int(minor), int(patch or 0)


@dataclass(kw_only=True)
class ProjectIndex:
    """The project as a whole: every parsed module plus facts computed once and shared by rules."""

    root: Path
    """The workspace root."""
    modules: dict[str, ModuleContext] = field(default_factory=dict)
    """Every module that parsed, by relative path."""
    tdom_version_override: str | None = None
    """A configured tdom version that wins over what the project declares."""
    _memo: dict[str, Any] = field(default_factory=dict, repr=False)

    def memo(self, key: str, compute: Callable[[ProjectIndex], T]) -> T:
        """Compute a project-wide fact once (families keep their own facts under their own keys)."""
        if key not in self._memo:
            self._memo[key] = compute(self)
        return self._memo[key]

    def iter_modules(self) -> Iterable[ModuleContext]:
        """Every module, in path order."""
        return (self.modules[name] for name in sorted(self.modules))

    @cached_property
    def tdom_version(self) -> tuple[int, int, int] | None:
        """The tdom version in use: configured, installed in the venv, or declared; None if unknown."""
        if self.tdom_version_override:
            return parse_version(self.tdom_version_override)
        for site in sorted(self.root.glob(".venv/lib/python*/site-packages")):
            for dist in site.glob("tdom-*.dist-info"):
                if version := parse_version(dist.name.removeprefix("tdom-")):
                    return version
        pyproject = self.root / "pyproject.toml"
        if pyproject.is_file():
            try:
                data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
                return None
            requirements = list(data.get("project", {}).get("dependencies", []))
            for group in data.get("dependency-groups", {}).values():
                requirements.extend(r for r in group if isinstance(r, str))
            for requirement in requirements:
                name = re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0].lower()
                if name == "tdom":
                    spec = requirement[len(name) :]
                    version = parse_version(spec)
                    # `tdom<0.1.16` names the first version *not* allowed: the project runs on an older one.
                    if version is not None and re.match(r"\s*<(?!=)", spec) and version[2] > 0:
                        return version[0], version[1], version[2] - 1
                    return version
        return None

    @property
    def node_era(self) -> bool:
        """True when the project pins a tdom older than 0.1.16, where `html()` returned a `Node`."""
        version = self.tdom_version
        return version is not None and version < (0, 1, 16)
