"""Slash commands: advertised with `available_commands_update`, answered by Punie without the model.

`/check`, `/fix` and `/test` run the project's checks directly (their tool calls show in the panel like
the model's); `/skills` lists the skills; `/correct`, `/add` and `/rate` record feedback about the latest
answer in the session record, tied to that turn, for the flywheel to capture. Anything else that looks
like a command gets a short list of what exists.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from acp.schema import AvailableCommand, AvailableCommandInput, UnstructuredCommandInput

from punie_lsp.acp.store import FeedbackRecord, SessionRecord
from punie_lsp.agent.events import EventHandler, ToolFinished, ToolStarted
from punie_lsp.agent.session import PunieSession
from punie_lsp.check import run_check
from punie_lsp.exceptions import PunieError
from punie_lsp.flywheel.capture import Capture
from punie_lsp.tools.results import TestResult

__all__ = ("COMMANDS", "CommandContext", "available_commands", "parse_command", "run_command")

_COMMAND = re.compile(r"^/([A-Za-z][A-Za-z0-9_-]*)(?:\s+(.*))?$", re.DOTALL)
MAX_LISTED = 40
"""Diagnostics listed in a `/check` answer."""


@dataclass(frozen=True, kw_only=True)
class _Command:
    name: str
    description: str
    hint: str | None = None


COMMANDS: tuple[_Command, ...] = (
    _Command(name="check", description="Check the project: syntax, ruff, ty, domain rules", hint="[paths]"),
    _Command(name="fix", description="Apply safe auto-fixes (ruff and domain rules)", hint="[path]"),
    _Command(
        name="test", description="Run the tests with the project's interpreter", hint="[path | -k expr]"
    ),
    _Command(name="skills", description="List the skills Punie can load"),
    _Command(
        name="correct", description="Say what the last answer should have been", hint="the correct answer"
    ),
    _Command(name="add", description="Keep the last turn as a good example for training", hint="[note]"),
    _Command(name="rate", description="Rate the last answer from 1 (bad) to 5 (great)", hint="1-5 [comment]"),
    _Command(name="help", description="List Punie's commands"),
)
"""Every slash command, in the order editors list them."""


def available_commands() -> list[AvailableCommand]:
    """The commands as ACP advertises them."""
    return [
        AvailableCommand(
            name=command.name,
            description=command.description,
            input=AvailableCommandInput(root=UnstructuredCommandInput(hint=command.hint))
            if command.hint
            else None,
        )
        for command in COMMANDS
    ]


def parse_command(text: str) -> tuple[str, str] | None:
    """`(name, argument)` when `text` is a slash command; None for a prompt (`/usr/lib …` is a prompt)."""
    match = _COMMAND.match(text.strip())
    if match is None:
        return None
    return match.group(1).lower(), (match.group(2) or "").strip()


@dataclass(kw_only=True)
class CommandContext:
    """What a command may use."""

    session: PunieSession
    """The agent session (its tools, workspace, skills and mode)."""
    record: SessionRecord
    """The session record (feedback is added to it; the caller saves it)."""
    say: Callable[[str], Awaitable[None]]
    """Shows text in the panel (and records it in the turn)."""
    emit: EventHandler
    """Shows a tool call (the same mapping as the model's calls)."""
    capture: Capture | None = None
    """The flywheel trace of the session: feedback is recorded there too, tied to the turn."""


def _help() -> str:
    lines = [f"- `/{c.name}{' ' + c.hint if c.hint else ''}`: {c.description}" for c in COMMANDS]
    return "Punie's commands:\n" + "\n".join(lines)


async def _tool(ctx: CommandContext, name: str, args: Mapping[str, object]) -> object:
    """Run catalogue tool `name` as the user's own action, shown as a tool call."""
    spec = ctx.session.catalogue.get(name)
    validated = spec.validate_arguments(args)
    risk = spec.risk_of(validated)
    call_id = f"cmd-{uuid.uuid4().hex[:12]}"
    await ctx.emit(ToolStarted(call_id=call_id, name=name, args=validated, risk=risk))
    started = time.perf_counter()
    result = await spec.function(ctx.session.ctx, **validated)
    data = result.model_dump()
    tool_error = data.get("tool_error")
    diff = data.get("diff")
    await ctx.emit(
        ToolFinished(
            call_id=call_id,
            name=name,
            args=validated,
            risk=risk,
            ok=tool_error is None,
            result=result,
            error=tool_error,
            diff=diff if isinstance(diff, str) and diff else None,
            duration_s=time.perf_counter() - started,
        )
    )
    return result


async def _check(ctx: CommandContext, argument: str) -> None:
    workspace = ctx.session.ctx.workspace
    try:
        paths = [str(workspace.resolve(p)) for p in argument.split()] or [str(workspace.root)]
        report = await run_check(paths)
    except PunieError as exc:
        await ctx.say(f"`/check` could not run: {exc}")
        return
    counts = {sev: sum(d.severity == sev for d in report.diagnostics) for sev in ("error", "warning", "info")}
    lines = [
        f"Checked {report.files_checked} file(s): {counts['error']} error(s), "
        f"{counts['warning']} warning(s), {counts['info']} info."
    ]
    for d in report.diagnostics[:MAX_LISTED]:
        fixable = " (fixable: `/fix`)" if d.fixable else ""
        lines.append(f"- `{d.path}:{d.line}:{d.column}` {d.severity} **{d.rule}** {d.message}{fixable}")
    if len(report.diagnostics) > MAX_LISTED:
        lines.append(f"- … and {len(report.diagnostics) - MAX_LISTED} more (`punie check` lists them all)")
    await ctx.say("\n".join(lines))


async def _fix(ctx: CommandContext, argument: str) -> None:
    if ctx.session.policy.mode == "plan":
        await ctx.say(
            "`/fix` changes files, and this session is in plan (read-only) mode; switch modes first."
        )
        return
    path = argument or "."
    try:
        await _tool(ctx, "domain_fix", {"path": path, "dry_run": False})
        await _tool(ctx, "ruff_fix", {"path": path})
    except PunieError as exc:
        await ctx.say(f"`/fix` could not run: {exc}")
        return
    await ctx.say(f"Applied the safe fixes in `{path}`; `/check` shows what is left.")


async def _test(ctx: CommandContext, argument: str) -> None:
    args: dict[str, object] = {}
    if argument.startswith("-k "):
        args["select"] = argument[3:].strip()
    elif argument:
        args["path"] = argument
    try:
        result = await _tool(ctx, "pytest_run", args)
    except PunieError as exc:
        await ctx.say(f"`/test` could not run: {exc}")
        return
    assert isinstance(result, TestResult)
    if result.tool_error:
        await ctx.say(f"`/test`: {result.tool_error}")
        return
    verdict = "All tests passed." if result.success else "Some tests failed."
    lines = [
        f"{verdict} {result.passed} passed, {result.failed} failed, {result.errors} errors, "
        f"{result.skipped} skipped ({result.duration:.2f} s)."
    ]
    for case in result.tests:
        if case.outcome in ("failed", "error"):
            first = (case.message or "").strip().splitlines()[:1]
            lines.append(f"- `{case.node_id}`: {first[0] if first else case.outcome}")
    await ctx.say("\n".join(lines))


async def _skills(ctx: CommandContext) -> None:
    skills = ctx.session.skills
    if not skills:
        await ctx.say("No skills found (shipped, `PUNIE_HOME/skills/` or `.punie/skills/`).")
        return
    lines = [f"- **{s.name}** ({s.source}): {s.description}" for s in skills.values()]
    await ctx.say("Skills Punie loads when a task needs them:\n" + "\n".join(lines))


async def _feedback(ctx: CommandContext, name: str, argument: str) -> None:
    turn = ctx.record.last_model_turn()
    if turn is None:
        await ctx.say(f"There is no answer to give feedback on yet; `/{name}` refers to the latest answer.")
        return
    match name:
        case "correct":
            if not argument:
                await ctx.say("Say what the answer should have been: `/correct <the right answer>`.")
                return
            turn.feedback.append(FeedbackRecord(kind="correct", text=argument))
            if ctx.capture is not None:
                await ctx.capture.signal("correct", text=argument)
            await ctx.say("Thanks: the correction is recorded with that answer.")
        case "add":
            if not argument:
                await ctx.say("Say what to add to that answer: `/add <the refinement>`.")
                return
            turn.feedback.append(FeedbackRecord(kind="add", text=argument))
            if ctx.capture is not None:
                await ctx.capture.signal("add", text=argument)
            await ctx.say("Recorded: the refinement is kept with that answer.")
        case "rate":
            score, _, comment = argument.partition(" ")
            if not score.isdigit() or not 1 <= int(score) <= 5:
                await ctx.say("Rate with a number from 1 to 5: `/rate 4 good fix, slow`.")
                return
            turn.feedback.append(FeedbackRecord(kind="rate", rating=int(score), text=comment.strip()))
            if ctx.capture is not None:
                await ctx.capture.signal("rate", rating=int(score), text=comment.strip())
            await ctx.say(f"Recorded: {score}/5 for that answer.")
        case _:
            raise AssertionError(name)


async def run_command(name: str, argument: str, ctx: CommandContext) -> None:
    """Answer one slash command (unknown ones with the list of commands)."""
    match name:
        case "check":
            await _check(ctx, argument)
        case "fix":
            await _fix(ctx, argument)
        case "test":
            await _test(ctx, argument)
        case "skills":
            await _skills(ctx)
        case "correct" | "add" | "rate":
            await _feedback(ctx, name, argument)
        case "help":
            await ctx.say(_help())
        case _:
            await ctx.say(
                f"Unknown command `/{name}`. {_help()}\n\nAnything else you type goes to the model."
            )
