"""The terminal front-end of an agent run: renders the event stream and asks permission on stdin.

`punie ask` uses it. Answer text goes to stdout as it streams; tool calls, permissions and notices go to
stderr, so `punie ask ... > answer.md` captures only the answer.
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass, field
from typing import TextIO, assert_never

from rich.console import Console

from punie_lsp.agent.events import (
    AgentEvent,
    BlockFinished,
    BlockStarted,
    ContextTrimmed,
    PermissionNeeded,
    PermissionResolved,
    PlanUpdated,
    RetryScheduled,
    RunFinished,
    TextDelta,
    ThoughtDelta,
    ToolFinished,
    ToolStarted,
)
from punie_lsp.sandbox import PermissionDecision, PermissionRequest

__all__ = ("TerminalRenderer", "ask_in_terminal", "one_line_result")


def one_line_result(event: ToolFinished) -> str:
    """A one-line summary of a tool result: the counts that matter."""
    if event.denied:
        return "denied"
    if event.error:
        return f"error: {event.error.splitlines()[0][:120]}"
    if event.result is None:
        return "done"
    data = event.result.model_dump()
    counts = [
        f"{key.removesuffix('_count').replace('_', ' ')}={value}"
        for key, value in data.items()
        if (key.endswith("_count") or key in ("passed", "failed", "errors", "skipped"))
        and isinstance(value, int)
    ]
    status = "ok" if data.get("success", True) else "problems"
    return f"{status}" + (f" ({', '.join(counts)})" if counts else "")


@dataclass
class TerminalRenderer:
    """Writes events as they come: answer text on `out`, everything else on `err` (rich, dimmed)."""

    out: TextIO = field(default_factory=lambda: sys.stdout)
    err: Console = field(default_factory=lambda: Console(stderr=True, highlight=False))
    show_thoughts: bool = False
    _in_text: bool = False

    def _end_text(self) -> None:
        if self._in_text:
            self.out.write("\n")
            self.out.flush()
            self._in_text = False

    async def __call__(self, event: AgentEvent) -> None:
        """Render one event."""
        match event:
            case TextDelta():
                self.out.write(event.text)
                self.out.flush()
                self._in_text = True
            case ThoughtDelta():
                if self.show_thoughts:
                    self.err.print(event.text, end="", style="dim italic")
            case BlockStarted():
                self._end_text()
                self.err.print("[dim]▶ running a Code Mode block[/dim]")
            case ToolStarted():
                pass
            case ToolFinished():
                args = ", ".join(f"{k}={v!r}" for k, v in event.args.items())
                self.err.print(f"  [cyan]{event.name}[/cyan]({args[:100]}) → {one_line_result(event)}")
            case BlockFinished():
                if not event.ok:
                    self.err.print("[yellow]  block failed; the error goes back to the model[/yellow]")
            case PermissionNeeded() | PermissionResolved():
                pass
            case PlanUpdated():
                marks = {"completed": "✔", "in_progress": "▸", "pending": "·"}
                for entry in event.entries:
                    self.err.print(f"  [magenta]{marks[entry.status]}[/magenta] {entry.content}")
            case RetryScheduled():
                self.err.print(
                    f"[yellow]  retry {event.attempt}: {event.message.splitlines()[0][:160]}[/yellow]"
                )
            case ContextTrimmed():
                self.err.print(
                    "[yellow]Older turns were dropped to fit the context window "
                    f"({event.dropped_messages} messages; ~{event.estimated_tokens:,} of "
                    f"{event.budget_tokens:,} tokens).[/yellow]"
                )
            case RunFinished():
                self._end_text()
                if event.error:
                    self.err.print(f"[red]punie: {event.error}[/red]")
                elif event.stop_reason != "end_turn":
                    self.err.print(f"[yellow]stopped: {event.stop_reason}[/yellow]")
            case _:
                assert_never(event)


async def ask_in_terminal(request: PermissionRequest) -> PermissionDecision:
    """Ask on the terminal before a write or high-risk call; without a terminal the answer is no."""
    if not sys.stdin.isatty():
        sys.stderr.write(
            f"punie: `{request.summary}` needs permission and there is no terminal to ask; "
            "rerun with --yes to allow writes\n"
        )
        return "deny"

    def prompt() -> bool:
        sys.stderr.write(f"Allow {request.risk} call {request.summary}? [y/N] ")
        sys.stderr.flush()
        return sys.stdin.readline().strip().lower() in ("y", "yes")

    return "allow" if await asyncio.to_thread(prompt) else "deny"
