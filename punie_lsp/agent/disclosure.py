"""Progressive disclosure: tools the model calls to load full tool docs and skills on demand, and plans.

The system prompt lists tools and skills with one line each; their full stubs and instructions are
loaded only when the model asks (`tool_docs("typecheck")`, `load_skill("tdom-components")`), which keeps
the prompt small. `update_plan` lets multi-step work show up as a plan in the editor.
"""

from __future__ import annotations

from functools import cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from punie_lsp.sandbox import render_stubs
from punie_lsp.skills import discover_skills
from punie_lsp.tools.catalogue import Catalogue, ToolSpec, default_catalogue
from punie_lsp.tools.context import ToolContext
from punie_lsp.tools.results import ToolResult

__all__ = (
    "PlanResult",
    "PlanStep",
    "SkillResult",
    "ToolDocsResult",
    "agent_catalogue",
    "load_skill",
    "tool_docs",
    "update_plan",
)


class ToolDocsResult(ToolResult):
    """The full documentation of one tool."""

    name: str = ""
    """The tool's name."""
    risk: str = ""
    """`read`, `write` or `high-risk`."""
    stub: str = ""
    """Its signature, docstring and the result classes with every field."""


class SkillResult(ToolResult):
    """A skill's instructions."""

    name: str = ""
    """The skill's name."""
    description: str = ""
    """When to use it."""
    body: str = ""
    """The Markdown instructions."""
    source: str = ""
    """`shipped`, `organisation` or `project`."""
    resources: list[str] = Field(default_factory=list)
    """Other files of the skill (readable with `file_read` when they are in the project)."""


class PlanStep(BaseModel):
    """One step of the plan."""

    model_config = ConfigDict(extra="forbid")

    content: str
    """What the step does."""
    status: Literal["pending", "in_progress", "completed"]
    """Where it stands."""


class PlanResult(ToolResult):
    """The plan as now shown to the user."""

    steps: list[PlanStep] = Field(default_factory=list)
    """Every step in order."""


@cache
def _docs_catalogue() -> Catalogue:
    return agent_catalogue()


async def tool_docs(ctx: ToolContext, name: str) -> ToolDocsResult:
    """Full signature, docs and result fields of a tool."""
    del ctx
    catalogue = _docs_catalogue()
    if name not in catalogue:
        known = ", ".join(sorted(catalogue.tools))
        return ToolDocsResult(success=False, name=name, tool_error=f"no tool named {name!r}; tools: {known}")
    spec = catalogue.get(name)
    stub = render_stubs([spec]).split("class PermissionError(OSError):", 1)[-1]
    stub = stub.split("\n\n", 1)[-1].strip() if "\n\n" in stub else stub
    return ToolDocsResult(success=True, name=name, risk=spec.risk, stub=stub)


async def load_skill(ctx: ToolContext, name: str) -> SkillResult:
    """The instructions of a skill."""
    skills, _ = discover_skills(ctx.workspace.root, ctx.settings.punie_home)
    skill = skills.get(name)
    if skill is None:
        known = ", ".join(skills) or "(none)"
        return SkillResult(success=False, name=name, tool_error=f"no skill named {name!r}; skills: {known}")
    return SkillResult(
        success=True,
        name=skill.name,
        description=skill.description,
        body=skill.body,
        source=skill.source,
        resources=list(skill.resources),
    )


async def update_plan(ctx: ToolContext, steps: list[str], completed: int = 0) -> PlanResult:
    """Show the plan: `steps`, the first `completed` of them done."""
    del ctx
    if not 0 <= completed <= len(steps):
        return PlanResult(success=False, tool_error=f"completed must be between 0 and {len(steps)}")
    entries = [
        PlanStep(
            content=step,
            status="completed" if index < completed else "in_progress" if index == completed else "pending",
        )
        for index, step in enumerate(steps)
    ]
    return PlanResult(success=True, steps=entries)


def agent_catalogue() -> Catalogue:
    """The built-in tools plus the agent's own: `tool_docs`, `load_skill`, `update_plan`."""
    catalogue = default_catalogue()
    for function in (tool_docs, load_skill, update_plan):
        catalogue.add(ToolSpec(name=function.__name__, function=function, category="agent"))
    return catalogue
