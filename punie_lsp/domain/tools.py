"""The domain validators as typed tools (registered in the tool catalogue)."""

from __future__ import annotations

import asyncio

from pydantic import Field

from punie_lsp.domain.issues import DomainIssue, DomainValidationResult
from punie_lsp.domain.validate import apply_fixes, target_files, validate, validate_sync
from punie_lsp.exceptions import WorkspaceError
from punie_lsp.tools.context import ToolContext
from punie_lsp.tools.results import ToolResult

__all__ = (
    "DomainFixResult",
    "check_state_transitions",
    "domain_fix",
    "validate_component",
    "validate_middleware_chain",
    "validate_project",
    "validate_service_registration",
)


async def validate_component(ctx: ToolContext, path: str = ".") -> DomainValidationResult:
    """tdom component rules (TDOM001–016): templates, props, children, DI."""
    return await validate(ctx, path, ["TDOM"])


async def validate_service_registration(ctx: ToolContext, path: str = ".") -> DomainValidationResult:
    """svcs / svcs-di / Hopscotch registration rules (SVC001–015)."""
    return await validate(ctx, path, ["SVC"])


async def validate_middleware_chain(ctx: ToolContext, path: str = ".") -> DomainValidationResult:
    """Middleware rules (MW001–012): signatures, priorities, chains."""
    return await validate(ctx, path, ["MW"])


async def check_state_transitions(ctx: ToolContext, path: str = ".") -> DomainValidationResult:
    """Lifecycle rules (LC001–012): registries, containers, props chains."""
    return await validate(ctx, path, ["LC"])


async def validate_project(ctx: ToolContext, path: str = ".") -> DomainValidationResult:
    """Every domain rule, on the whole project by default."""
    return await validate(ctx, path, None)


class DomainFixResult(ToolResult):
    """What `domain_fix` changed."""

    changed_files: list[str] = Field(default_factory=list)
    """Files whose text changed."""
    fixed_rules: list[str] = Field(default_factory=list)
    """Rule IDs whose fixes were applied."""
    remaining: list[DomainIssue] = Field(default_factory=list)
    """Findings still present after fixing."""
    diff: str = ""
    """Unified diff of every change."""


def _fix_sync(ctx: ToolContext, path: str, rules: list[str] | None, dry_run: bool) -> DomainFixResult:
    try:
        targets = target_files(ctx, path)
    except WorkspaceError as exc:
        return DomainFixResult(success=False, tool_error=str(exc))
    outcome = apply_fixes(ctx, targets, rule_ids=rules, write=not dry_run)
    remaining = validate_sync(ctx, path).issues if not dry_run else []
    return DomainFixResult(
        success=not any(i.severity == "error" for i in remaining),
        changed_files=sorted(outcome.changed),
        fixed_rules=sorted(set(outcome.fixed_rules)),
        remaining=remaining,
        diff=outcome.diff,
    )


async def domain_fix(
    ctx: ToolContext, path: str = ".", rules: list[str] | None = None, dry_run: bool = False
) -> DomainFixResult:
    """Apply domain auto-fixes (optionally only `rules`); `dry_run` only diffs."""
    return await asyncio.to_thread(_fix_sync, ctx, path, rules, dry_run)
