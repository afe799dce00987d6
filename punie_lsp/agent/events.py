"""The one neutral event stream of an agent run.

Every front-end (the CLI, ACP, the LSP commands) and the flywheel's trace collector consume these
events; nothing is shown or captured that did not pass through here. Events are frozen dataclasses with a
`kind` discriminator; consumers `match` on them and end with `assert_never`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel

from punie_lsp.tools.catalogue import Risk

__all__ = (
    "AgentEvent",
    "BlockFinished",
    "BlockStarted",
    "ContextTrimmed",
    "EventHandler",
    "PermissionNeeded",
    "PermissionResolved",
    "PlanEntry",
    "PlanUpdated",
    "RetryScheduled",
    "RunFinished",
    "StopReason",
    "TextDelta",
    "ThoughtDelta",
    "ToolFinished",
    "ToolStarted",
    "Usage",
)

StopReason = Literal["end_turn", "max_tokens", "max_turn_requests", "refusal", "cancelled", "error"]
"""Why a run ended (the ACP stop reasons, plus `error`)."""


@dataclass(frozen=True, kw_only=True)
class TextDelta:
    """A piece of the answer text, streamed as the model produces it."""

    kind: Literal["text_delta"] = "text_delta"
    text: str
    """The new characters."""


@dataclass(frozen=True, kw_only=True)
class ThoughtDelta:
    """A piece of the model's reasoning (`<think>` content), streamed."""

    kind: Literal["thought_delta"] = "thought_delta"
    text: str
    """The new characters."""


@dataclass(frozen=True, kw_only=True)
class BlockStarted:
    """The model sent a Code Mode block (or, without Code Mode, a JSON tool call) that is about to run."""

    kind: Literal["block_started"] = "block_started"
    block_id: str
    """The model's tool-call id."""
    code: str
    """The Python block (empty for a JSON tool call)."""


@dataclass(frozen=True, kw_only=True)
class BlockFinished:
    """A Code Mode block ended."""

    kind: Literal["block_finished"] = "block_finished"
    block_id: str
    """The model's tool-call id."""
    ok: bool
    """Ran to the end without an uncaught error."""
    value: object = None
    """The last expression's value (JSON types)."""
    stdout: str = ""
    """What the block printed."""
    error: str | None = None
    """The retry message sent to the model when it failed."""
    duration_s: float = 0.0
    """Wall time of the block."""


@dataclass(frozen=True, kw_only=True)
class ToolStarted:
    """A typed tool call began (nested in a block, or a direct JSON tool call)."""

    kind: Literal["tool_started"] = "tool_started"
    call_id: str
    """Unique id pairing it with its `ToolFinished`."""
    name: str
    """The tool's name."""
    args: Mapping[str, object]
    """Arguments by name."""
    risk: Risk
    """`read`, `write` or `high-risk`."""
    block_id: str | None = None
    """The Code Mode block it runs in."""


@dataclass(frozen=True, kw_only=True)
class ToolFinished:
    """A typed tool call ended."""

    kind: Literal["tool_finished"] = "tool_finished"
    call_id: str
    """The id of its `ToolStarted`."""
    name: str
    """The tool's name."""
    args: Mapping[str, object]
    """Arguments by name."""
    risk: Risk
    """The call's risk."""
    ok: bool
    """Ran and returned a result without `tool_error`."""
    result: BaseModel | None = None
    """The typed result."""
    error: str | None = None
    """Why it failed."""
    denied: bool = False
    """The permission gate said no."""
    diff: str | None = None
    """Unified diff of the files it changed (edits)."""
    duration_s: float = 0.0
    """Seconds it took."""
    block_id: str | None = None
    """The Code Mode block it ran in."""


@dataclass(frozen=True, kw_only=True)
class PermissionNeeded:
    """A write or high-risk call waits for the user's decision."""

    kind: Literal["permission_needed"] = "permission_needed"
    call_id: str
    """The waiting tool call."""
    tool: str
    """The tool's name."""
    args: Mapping[str, object]
    """Its arguments."""
    risk: Risk
    """`write` or `high-risk`."""
    summary: str
    """One line describing the call."""


@dataclass(frozen=True, kw_only=True)
class PermissionResolved:
    """The user (or the mode) decided a permission request."""

    kind: Literal["permission_resolved"] = "permission_resolved"
    call_id: str
    """The tool call decided."""
    tool: str
    """The tool's name."""
    allowed: bool
    """Whether it may run."""
    remember: bool = False
    """The decision applies to later calls of this tool too (allow/reject always)."""


@dataclass(frozen=True, kw_only=True)
class PlanEntry:
    """One step of a plan."""

    content: str
    """What the step does."""
    status: Literal["pending", "in_progress", "completed"] = "pending"
    """Where it stands."""
    priority: Literal["high", "medium", "low"] = "medium"
    """How important it is."""


@dataclass(frozen=True, kw_only=True)
class PlanUpdated:
    """The whole current plan (each update replaces the previous one)."""

    kind: Literal["plan_updated"] = "plan_updated"
    entries: tuple[PlanEntry, ...]
    """The steps, in order."""


@dataclass(frozen=True, kw_only=True)
class RetryScheduled:
    """A block or call failed and the error goes back to the model for another try."""

    kind: Literal["retry_scheduled"] = "retry_scheduled"
    attempt: int
    """1 for the first retry."""
    message: str
    """What the model is told."""


@dataclass(frozen=True, kw_only=True)
class ContextTrimmed:
    """Older turns were dropped to fit the model's context window; the user is told."""

    kind: Literal["context_trimmed"] = "context_trimmed"
    dropped_messages: int
    """Messages removed from the history sent to the model."""
    estimated_tokens: int
    """Estimated tokens of the history after trimming."""
    budget_tokens: int
    """The budget it had to fit."""


@dataclass(frozen=True, kw_only=True)
class Usage:
    """Token counts of a run."""

    input_tokens: int = 0
    output_tokens: int = 0
    requests: int = 0


@dataclass(frozen=True, kw_only=True)
class RunFinished:
    """The run is over."""

    kind: Literal["run_finished"] = "run_finished"
    stop_reason: StopReason
    """Why it ended."""
    output: str = ""
    """The final answer text."""
    error: str | None = None
    """What went wrong, for `stop_reason == "error"`."""
    usage: Usage = field(default_factory=Usage)
    """Token counts."""
    duration_s: float = 0.0
    """Wall time of the run."""


AgentEvent = (
    TextDelta
    | ThoughtDelta
    | BlockStarted
    | BlockFinished
    | ToolStarted
    | ToolFinished
    | PermissionNeeded
    | PermissionResolved
    | PlanUpdated
    | RetryScheduled
    | ContextTrimmed
    | RunFinished
)
"""Every event of an agent run."""

EventHandler = Callable[[AgentEvent], Awaitable[None]]
"""An async consumer of events (a front-end renderer, the trace collector)."""
