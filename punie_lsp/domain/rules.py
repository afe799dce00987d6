"""The rule registry: one `Rule` per catalogue ID, with its docs, checker and optional fixer.

Rule families (`tdom_rules`, `svcs_rules`, `middleware_rules`, `lifecycle_rules`) register their rules
with `@rule(...)` at import time. The same docs serve `punie rules show`, the editor's hover and the
model's on-demand documentation.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import libcst as cst

from punie_lsp.domain.issues import DomainIssue, Severity

if TYPE_CHECKING:
    from punie_lsp.domain.context import ModuleContext, ProjectIndex

__all__ = (
    "RULES",
    "Checker",
    "Family",
    "Fixer",
    "Rule",
    "catalogue_markdown",
    "fixer_for",
    "rule",
    "rules_in",
)

Family = Literal["TDOM", "SVC", "MW", "LC"]
Checker = Callable[["ModuleContext", "ProjectIndex"], Iterable[DomainIssue]]
Fixer = Callable[["ModuleContext", "ProjectIndex"], cst.Module]
"""Returns the fixed module (the same object when nothing applies)."""


@dataclass(frozen=True, kw_only=True)
class Rule:
    """One rule of the catalogue (`../shared/design/domain-rules.md`)."""

    id: str
    """`TDOM001` …"""
    severity: Severity
    """Default severity (settings may override)."""
    title: str
    """The catalogue's one-line rule."""
    fix: Literal["A", "S"]
    """`A` auto-fixable by a libcst transformer, `S` suggestion only."""
    why: str
    """Why the rule exists (what breaks at run time, or which convention it keeps)."""
    bad: str
    """A short violating example."""
    good: str
    """The same example, corrected."""
    checker: Checker
    """Finds violations in one module (with the project index for cross-file facts)."""
    fixer: Fixer | None = None
    """The libcst transformer step for rules marked A."""
    static_note: str | None = None
    """Where the rule cannot be fully decided statically: what is and is not detected."""

    @property
    def family(self) -> Family:
        """The rule's family: the ID without its number."""
        return self.id.rstrip("0123456789")  # ty: ignore[invalid-explicit-return]

    @property
    def validator(self) -> str:
        """The typed tool that reports this rule."""
        return {
            "TDOM": "validate_component",
            "SVC": "validate_service_registration",
            "MW": "validate_middleware_chain",
            "LC": "check_state_transitions",
        }[self.family]

    def docs_markdown(self) -> str:
        """The rule's documentation as Markdown: what, why, bad → good, and the fix."""
        sev = {"error": "error", "warning": "warning", "info": "info"}[self.severity]
        fix = "automatic (`punie check --fix`)" if self.fix == "A" else "suggestion (fix by hand)"
        parts = [
            f"### {self.id} ({sev}): {self.title}",
            "",
            self.why,
            "",
            "Bad:",
            "```python",
            self.bad.strip("\n"),
            "```",
            "Good:",
            "```python",
            self.good.strip("\n"),
            "```",
            f"Fix: {fix}.",
        ]
        if self.static_note:
            parts += ["", f"Static limits: {self.static_note}"]
        return "\n".join(parts)


RULES: dict[str, Rule] = {}
"""Every registered rule by ID, in registration order."""


def rule(
    id: str,
    *,
    severity: Severity,
    title: str,
    fix: Literal["A", "S"],
    why: str,
    bad: str,
    good: str,
    static_note: str | None = None,
) -> Callable[[Checker], Checker]:
    """Register the decorated checker as rule `id`. Attach a fixer later with `fixer_for(id)`."""

    def register(checker: Checker) -> Checker:
        assert id not in RULES, f"rule {id} registered twice"
        RULES[id] = Rule(
            id=id,
            severity=severity,
            title=title,
            fix=fix,
            why=why,
            bad=bad,
            good=good,
            checker=checker,
            static_note=static_note,
        )
        return checker

    return register


def fixer_for(id: str) -> Callable[[Fixer], Fixer]:
    """Attach the decorated function as the auto-fix of rule `id` (registered before)."""

    def attach(fixer: Fixer) -> Fixer:
        existing = RULES[id]
        assert existing.fix == "A", f"rule {id} is not marked auto-fixable"
        RULES[id] = dataclasses.replace(existing, fixer=fixer)
        return fixer

    return attach


_FAMILY_TITLES = {
    "TDOM": "Components (`validate_component`)",
    "SVC": "Service registration (`validate_service_registration`)",
    "MW": "Middleware chain (`validate_middleware_chain`)",
    "LC": "Lifecycle / state transitions (`check_state_transitions`)",
}


def catalogue_markdown() -> str:
    """Every rule's documentation as one Markdown document (the source of `docs/rules.md`)."""
    parts = [
        "# Domain rule reference",
        "",
        "Generated from the rule registry by `punie rules show --all`; the same text serves",
        "`punie rules show ID`, the editor's hover and the model's on-demand docs.",
    ]
    for family, title in _FAMILY_TITLES.items():
        parts += ["", f"## {title}", ""]
        parts += [r.docs_markdown() + "\n" for r in RULES.values() if r.family == family]
    return "\n".join(parts).rstrip("\n") + "\n"


def rules_in(selection: Iterable[str]) -> list[Rule]:
    """Rules whose ID or family is in `selection` (`["TDOM", "SVC004"]`)."""
    wanted = set(selection)
    return [r for r in RULES.values() if r.id in wanted or r.family in wanted]
