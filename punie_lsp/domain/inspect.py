"""`punie domain inspect`: the domain's nouns found in a project.

Components, service registrations, middleware, and the lifecycles of registries and containers.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from punie_lsp.domain.components import ComponentSpec, extract_components
from punie_lsp.domain.lifecycle import ObjectLifecycle, module_lifecycles
from punie_lsp.domain.middleware import MiddlewareSpec, extract_middleware
from punie_lsp.domain.services import ServiceRegistration, extract_registrations
from punie_lsp.domain.validate import build_index, target_files
from punie_lsp.tools.context import ToolContext

__all__ = ("ProjectInspection", "inspect_project", "render_inspection")


class ProjectInspection(BaseModel):
    """Everything the domain tools recognise in a project."""

    model_config = ConfigDict(extra="forbid")

    files_checked: int
    """Python files examined."""
    components: list[ComponentSpec] = Field(default_factory=list)
    """tdom components (function and class)."""
    services: list[ServiceRegistration] = Field(default_factory=list)
    """svcs / svcs-di / Hopscotch registrations."""
    middleware: list[MiddlewareSpec] = Field(default_factory=list)
    """tdom-svcs middleware classes."""
    lifecycles: list[ObjectLifecycle] = Field(default_factory=list)
    """Registries and containers with their state transitions."""
    unparsed: list[str] = Field(default_factory=list)
    """Files that could not be read or parsed (with the reason)."""


def inspect_project(ctx: ToolContext, path: str = ".") -> ProjectInspection:
    """Extract the domain's nouns from the Python files under `path`.

    Raises:
        WorkspaceError: `path` does not exist or leaves the workspace.
    """
    targets = set(target_files(ctx, path))
    index, problems = build_index(ctx)
    modules = [m for m in index.iter_modules() if m.relative in targets]
    return ProjectInspection(
        files_checked=len(targets),
        components=[c for m in modules for c in extract_components(m)],
        services=[s for m in modules for s in extract_registrations(m)],
        middleware=[w for m in modules for w in extract_middleware(m)],
        lifecycles=[lc for m in modules for lc in module_lifecycles(m, index)],
        unparsed=[f"{p.relative}: {p.message}" for p in problems if p.relative in targets],
    )


def render_inspection(found: ProjectInspection) -> str:
    """A readable summary, one line per noun."""
    lines = [f"{found.files_checked} file(s) inspected", "", f"Components ({len(found.components)}):"]
    for c in found.components:
        props = ", ".join(p.name for p in c.props)
        extra = f" injects {', '.join(c.injected)}" if c.injected else ""
        lines.append(f"  {c.name} [{c.kind}] ({props}){extra}  {c.file}:{c.line}")
    lines += ["", f"Services ({len(found.services)}):"]
    for s in found.services:
        ping = f" ping={s.ping}" if s.ping else ""
        cleanup = " cleanup" if s.cleanup else ""
        head = f"  {s.service_type} <- {s.provider} {s.expression} [{s.lifecycle}]"
        lines.append(f"{head}{ping}{cleanup}  {s.file}:{s.line}")
    lines += ["", f"Middleware ({len(found.middleware)}):"]
    for m in found.middleware:
        scope = "global" if m.is_global else ", ".join(m.phases) or "unregistered"
        kind = "async " if m.is_async else ""
        lines.append(f"  {m.name} {kind}priority={m.priority} [{scope}]  {m.file}:{m.line}")
    lines += ["", f"Lifecycles ({len(found.lifecycles)}):"]
    for lc in found.lifecycles:
        events = " → ".join(f"{e.kind}@{e.line}" for e in lc.events)
        owner = lc.name or lc.cls
        lines.append(f"  {lc.kind} {owner} in {lc.scope} ({lc.management}): {events}  {lc.file}")
    if found.unparsed:
        lines += ["", "Not parsed:", *(f"  {line}" for line in found.unparsed)]
    return "\n".join(lines)
