"""One structured error for everything a block can run into, shaped to go back to the model as a retry."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal

from pydantic_monty import (
    MontyCrashedError,
    MontyError,
    MontyRuntimeError,
    MontySyntaxError,
    MontyTypingError,
)

__all__ = ("ErrorKind", "SandboxErrorInfo", "error_from_monty", "typing_error")

ErrorKind = Literal["syntax", "type", "runtime", "limit", "permission", "sandbox"]
"""What went wrong: the code did not parse, did not type-check, raised, broke a limit, was refused
permission (a denied tool call or host access), or the sandbox itself failed."""

MAX_DETAILS = 4000
"""Characters of traceback or diagnostics kept in `details`."""


@dataclass(frozen=True, kw_only=True)
class SandboxErrorInfo:
    """Why a block failed, fit to send to the model as a retry message."""

    kind: ErrorKind
    """The failure family."""
    message: str
    """One or a few lines: `ZeroDivisionError: division by zero`, or the type checker's findings."""
    line: int | None = None
    """1-based line in the block where it failed, when known."""
    details: str = ""
    """Traceback or full diagnostics (capped), for the model or a log."""
    fatal: bool = False
    """The session was replaced: variables from earlier blocks are gone."""

    def for_model(self) -> str:
        """The retry message for the model: kind, line, message and what to do next."""
        where = f" at line {self.line}" if self.line is not None else ""
        if self.details and self.message in self.details:
            text = f"The block failed ({self.kind} error{where}):\n{self.details}"
        else:
            text = f"The block failed ({self.kind} error{where}):\n{self.message}"
            if self.details:
                text += f"\n\n{self.details}"
        match self.kind:
            case "syntax" | "type":
                text += "\n\nNothing ran. Fix the code and send the corrected block."
            case "permission":
                text += (
                    "\n\nThe call was not allowed. Do not repeat it; choose another approach or ask the user."
                )
            case "limit" | "sandbox" | "runtime":
                pass
        if self.fatal:
            text += "\n\nThe sandbox was restarted: variables from earlier blocks are gone."
        return text


def error_from_monty(exc: MontyError, *, innermost: bool = False) -> SandboxErrorInfo:
    """Classify a Monty error raised by a feed.

    An uncaught `PermissionError` is a `permission` error: a denied tool call or refused host access.
    Time, memory and suspension limits are fatal (the session must be replaced); deep recursion is not.

    Args:
        exc: the error.
        innermost: report the line of the innermost frame (where it was raised, wherever that code was
            fed) instead of the innermost line of the failing snippet itself.
    """
    match exc:
        case MontyTypingError():
            found = typing_error(exc)
            return found if found is not None else SandboxErrorInfo(kind="type", message=str(exc))
        case MontySyntaxError():
            frames = exc.traceback()
            return SandboxErrorInfo(
                kind="syntax",
                message=exc.display("type-msg"),
                line=frames[-1].line if frames else None,
                details=_cap(exc.display("traceback")),
            )
        case MontyRuntimeError():
            return _runtime_error(exc, innermost=innermost)
        case MontyCrashedError():
            reason = "it ran past the time limit" if exc.timed_out else f"it stopped ({exc})"
            return SandboxErrorInfo(
                kind="sandbox", message=f"the sandbox worker died: {reason}", fatal=True, details=str(exc)
            )
        case _:
            return SandboxErrorInfo(kind="sandbox", message=f"{type(exc).__name__}: {exc}", fatal=True)


def _runtime_error(exc: MontyRuntimeError, *, innermost: bool) -> SandboxErrorInfo:
    inner = exc.exception()
    message = exc.display("type-msg")
    frames = exc.traceback()
    line: int | None = None
    if frames and innermost:
        line = frames[-1].line
    elif frames:
        block = frames[0].filename
        line = next((f.line for f in reversed(frames) if f.filename == block), frames[0].line)
    details = _cap(exc.display("traceback"))
    text = str(inner)
    match inner:
        case TimeoutError() if "limit" in text:
            return SandboxErrorInfo(
                kind="limit",
                message=f"{message} (the block ran too long; avoid endless loops)",
                line=line,
                details=details,
                fatal=True,
            )
        case MemoryError():
            return SandboxErrorInfo(
                kind="limit",
                message=f"{message} (the block used too much memory)",
                line=line,
                details=details,
                fatal=True,
            )
        case RecursionError():
            return SandboxErrorInfo(
                kind="limit", message=f"{message} (recursion too deep)", line=line, details=details
            )
        case RuntimeError() if "suspension limit" in text:
            return SandboxErrorInfo(
                kind="limit",
                message=f"{message} (too many tool calls in this session)",
                line=line,
                details=details,
                fatal=True,
            )
        case PermissionError():
            return SandboxErrorInfo(kind="permission", message=message, line=line, details=details)
        case _:
            return SandboxErrorInfo(kind="runtime", message=message, line=line, details=details)


def typing_error(exc: MontyTypingError, *, line_offset: int = 0) -> SandboxErrorInfo | None:
    """Turn the checker's JSON diagnostics into one error, lines counted from the block's first line.

    Args:
        exc: the checker's error.
        line_offset: lines fed ahead of the block (earlier blocks); diagnostics there are dropped, since
            that code already passed. None is returned when nothing is left.
    """
    rendered = exc.display()
    try:
        diagnostics = json.loads(rendered)
    except json.JSONDecodeError:
        return SandboxErrorInfo(kind="type", message=_cap(rendered))
    if not isinstance(diagnostics, list):
        return SandboxErrorInfo(kind="type", message=_cap(rendered))
    lines: list[str] = []
    first_line: int | None = None
    syntax = False
    for item in diagnostics:
        if not isinstance(item, dict):
            continue
        location = item.get("location")
        row = location.get("row") if isinstance(location, dict) else None
        if isinstance(row, int):
            if row <= line_offset:
                continue
            row -= line_offset
            first_line = row if first_line is None else first_line
        code = str(item.get("code") or item.get("name") or "error")
        syntax = syntax or code == "invalid-syntax"
        prefix = f"line {row}: " if isinstance(row, int) else ""
        lines.append(f"{prefix}{item.get('message', '')} [{code}]")
    if not lines:
        return None
    return SandboxErrorInfo(
        kind="syntax" if syntax else "type", message=_cap("\n".join(lines)), line=first_line
    )


def _cap(text: str) -> str:
    if len(text) <= MAX_DETAILS:
        return text
    half = MAX_DETAILS // 2
    return f"{text[:half]}\n… [{len(text) - MAX_DETAILS:,} characters cut] …\n{text[-half:]}"
