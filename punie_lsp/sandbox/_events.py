"""Events of nested tool calls, and the permission gate's request and policy types."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel

from punie_lsp.tools.catalogue import Risk

__all__ = (
    "EventSink",
    "PermissionDecision",
    "PermissionPolicy",
    "PermissionRequest",
    "SandboxEvent",
    "ToolCallFinished",
    "ToolCallStarted",
    "allow_all",
    "deny_all",
)


@dataclass(frozen=True, kw_only=True)
class ToolCallStarted:
    """A block called a tool; emitted before the permission gate and before the tool runs."""

    kind: Literal["tool_call_started"] = "tool_call_started"
    """Discriminator."""
    call_id: str
    """Unique id pairing this event with its `ToolCallFinished`."""
    name: str
    """The tool's name."""
    args: Mapping[str, object]
    """Arguments by parameter name, as the block passed them."""
    risk: Risk
    """The risk of this call (`read` calls never ask permission)."""
    parent: str | None = None
    """The generated tool whose code made this call; None for a call made by the block itself."""


@dataclass(frozen=True, kw_only=True)
class ToolCallFinished:
    """A tool call ended: it returned, raised, was denied, or its arguments were refused."""

    kind: Literal["tool_call_finished"] = "tool_call_finished"
    """Discriminator."""
    call_id: str
    """The id of the matching `ToolCallStarted`."""
    name: str
    """The tool's name."""
    args: Mapping[str, object]
    """Arguments by parameter name, as the block passed them."""
    risk: Risk
    """The risk of this call."""
    ok: bool
    """The tool ran and returned a result without `tool_error` (findings in the code still count as ok)."""
    result: BaseModel | None = None
    """The typed result; None when the call was denied, refused or raised."""
    error: str | None = None
    """Why the call failed, as raised inside the block (or the result's `tool_error`)."""
    denied: bool = False
    """The permission gate said no."""
    duration_s: float = 0.0
    """Seconds from the call to its answer, the permission wait excluded."""
    parent: str | None = None
    """The generated tool whose code made this call; None for a call made by the block itself."""


SandboxEvent = ToolCallStarted | ToolCallFinished
"""Everything the sandbox reports while a block runs."""

EventSink = Callable[[SandboxEvent], Awaitable[None]]
"""An async callback receiving every event in order (the agent's event stream)."""


@dataclass(frozen=True, kw_only=True)
class PermissionRequest:
    """A write or high-risk tool call waiting at the gate; the sandbox is paused at the call."""

    call_id: str
    """The id of the call's `ToolCallStarted` event."""
    tool: str
    """The tool's name."""
    args: Mapping[str, object]
    """The validated arguments."""
    risk: Risk
    """`write` or `high-risk`."""
    summary: str
    """One line for a prompt: `file_write(path='app.py', content=<120 characters>)`."""


PermissionDecision = Literal["allow", "deny"]
"""The gate's answer. "Ask" is a policy that awaits the user's choice before answering."""

PermissionPolicy = Callable[[PermissionRequest], Awaitable[PermissionDecision]]
"""An async callback deciding each gated call; it may take as long as the user needs."""


async def allow_all(request: PermissionRequest) -> PermissionDecision:
    """A policy that allows every call (`punie code run --allow-writes`, trusted scripts)."""
    del request
    return "allow"


async def deny_all(request: PermissionRequest) -> PermissionDecision:
    """A policy that denies every gated call: the default, so nothing writes without a decision."""
    del request
    return "deny"
