"""What a block produces, the limits it runs under, and the JSON report of `punie code run`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, JsonValue
from pydantic_monty import ResourceLimits

from punie_lsp.sandbox._convert import to_jsonable
from punie_lsp.sandbox._errors import ErrorKind, SandboxErrorInfo
from punie_lsp.sandbox._events import ToolCallFinished

__all__ = ("BlockResult", "CodeRunReport", "ErrorReport", "SandboxLimits", "ToolCallReport")


@dataclass(frozen=True, kw_only=True)
class SandboxLimits:
    """Resource limits of a Code Mode session; each block gets them afresh."""

    cpu_time_s: float = 10.0
    """Seconds of sandbox execution per block (time waiting on tools or the user is not counted)."""
    wall_time_s: float = 600.0
    """Seconds per block, tool calls included and permission waits excluded."""
    memory_bytes: int = 256 * 1024 * 1024
    """Heap of the sandbox."""
    recursion_depth: int = 400
    """Deepest call stack of sandbox functions."""
    max_suspensions: int = 1_000_000
    """External calls (tools, name lookups, refused OS calls) per session before it must be replaced."""
    max_output_chars: int = 20_000
    """Printed output kept per block; the rest is counted and dropped with a note."""
    max_result_chars: int = 100_000
    """JSON size of the block's value beyond which it is replaced by a truncated preview."""
    max_argument_chars: int = 4_000_000
    """Total size of one tool call's arguments."""
    max_block_chars: int = 200_000
    """Longest block accepted (a block is code a model wrote, not data)."""

    def monty(self) -> ResourceLimits:
        """The limits in Monty's terms."""
        return {
            "max_feed_duration_secs": self.cpu_time_s,
            "max_memory": self.memory_bytes,
            "max_recursion_depth": self.recursion_depth,
            "max_suspensions": self.max_suspensions,
        }


@dataclass(frozen=True, kw_only=True)
class BlockResult:
    """What one block produced: its value, output, error and every tool call it made."""

    ok: bool
    """The block ran to the end without an uncaught error."""
    value: JsonValue = None
    """The last expression's value, converted to JSON types (None when there is none or on error)."""
    stdout: str = ""
    """Everything the block printed (capped; a note marks the cut)."""
    error: SandboxErrorInfo | None = None
    """Why it failed, fit to send back to the model."""
    tool_calls: tuple[ToolCallFinished, ...] = ()
    """Every tool call, in order (calls made by generated tools included)."""
    duration_s: float = 0.0
    """Wall time of the whole block."""
    stdout_truncated: bool = False
    """Printed output went over `max_output_chars`."""
    value_truncated: bool = False
    """The value went over `max_result_chars` and `value` holds a preview string."""
    defined_tools: tuple[str, ...] = ()
    """Generated tools registered by this block (callable from the next block)."""

    def report(self) -> CodeRunReport:
        """The JSON contract of `punie code run` (and of the agent's Code Mode tool return)."""
        return CodeRunReport(
            ok=self.ok,
            result=self.value,
            stdout=self.stdout,
            error=None
            if self.error is None
            else ErrorReport(kind=self.error.kind, message=self.error.message, line=self.error.line),
            tool_calls=[
                ToolCallReport(
                    name=call.name,
                    args=_json_dict(call.args),
                    ok=call.ok,
                    duration_ms=round(call.duration_s * 1000, 3),
                )
                for call in self.tool_calls
            ],
        )


def _json_dict(args: Mapping[str, object]) -> dict[str, JsonValue]:
    return {name: to_jsonable(value) for name, value in args.items()}


class ErrorReport(BaseModel):
    """The `error` member of a run report."""

    model_config = ConfigDict(extra="forbid")

    kind: ErrorKind
    """syntax, type, runtime, limit, permission or sandbox."""
    message: str
    """What went wrong."""
    line: int | None
    """1-based line in the block, when known."""


class ToolCallReport(BaseModel):
    """One entry of a run report's `tool_calls`."""

    model_config = ConfigDict(extra="forbid")

    name: str
    """The tool's name."""
    args: dict[str, JsonValue]
    """Arguments by parameter name."""
    ok: bool
    """The call returned a result without `tool_error`."""
    duration_ms: float
    """Milliseconds it took."""


class CodeRunReport(BaseModel):
    """`{"ok", "result", "stdout", "error", "tool_calls"}`: the JSON printed by `punie code run`."""

    model_config = ConfigDict(extra="forbid")

    ok: bool
    """The block ran to the end."""
    result: JsonValue
    """The last expression's value."""
    stdout: str
    """Printed output (capped)."""
    error: ErrorReport | None
    """Why it failed."""
    tool_calls: list[ToolCallReport]
    """Every tool call, in order."""
