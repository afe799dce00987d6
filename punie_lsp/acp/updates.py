"""The agent's event stream as ACP `session/update` notifications.

One `UpdateMapper` per turn turns each `AgentEvent` into the updates a chat panel shows: streamed text
and thoughts, a `tool_call` for each Code Mode block and for every typed tool call nested in it (with its
kind, 1-based locations and raw input), a `tool_call_update` when it ends (a short summary for people,
the whole typed result in `rawOutput`, and `diff` content for edits), and `plan` updates.

Diffs carry whole files, as ACP wants (`oldText` / `newText`): the files a writing tool may touch are
read when the call starts (before the permission question) and again when it ends.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, assert_never

from acp import (
    plan_entry,
    start_tool_call,
    text_block,
    tool_content,
    tool_diff_content,
    tool_terminal_ref,
    update_agent_message_text,
    update_agent_thought_text,
    update_plan,
    update_tool_call,
)
from acp.schema import (
    AgentMessageChunk,
    AgentPlanUpdate,
    AgentThoughtChunk,
    ContentToolCallContent,
    FileEditToolCallContent,
    TerminalToolCallContent,
    ToolCallLocation,
    ToolCallProgress,
    ToolCallStart,
    ToolCallUpdate,
    ToolKind,
)
from pydantic import BaseModel

from punie_lsp._render import render_result
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
from punie_lsp.exceptions import WorkspaceError
from punie_lsp.sandbox import PermissionRequest, to_jsonable
from punie_lsp.terminal import one_line_result
from punie_lsp.tools.catalogue import Risk
from punie_lsp.workspace import Workspace

__all__ = (
    "SessionUpdate",
    "ToolContent",
    "UpdateMapper",
    "permission_tool_call",
    "tool_kind",
    "tool_title",
)

SessionUpdate = AgentMessageChunk | AgentThoughtChunk | ToolCallStart | ToolCallProgress | AgentPlanUpdate
"""The updates a turn produces."""

ToolContent = ContentToolCallContent | FileEditToolCallContent | TerminalToolCallContent
"""Content of a tool call."""

MAX_LOCATIONS = 20
"""Locations listed per tool call (the first findings)."""
MAX_SUMMARY_CHARS = 4000
"""Characters of a result's human summary."""
MAX_SNAPSHOT_FILES = 500
"""Files read before a directory-wide writing tool runs (beyond that, diffs show only the hunks)."""

_KINDS: dict[str, ToolKind] = {
    "file_read": "read",
    "file_write": "edit",
    "file_edit": "edit",
    "file_list": "search",
    "file_search": "search",
    "pytest_run": "execute",
    "typecheck": "execute",
    "ruff_check": "execute",
    "ruff_fix": "edit",
    "ruff_format": "edit",
    "domain_fix": "edit",
    "git_status": "read",
    "git_diff": "read",
    "git_log": "read",
    "tool_docs": "read",
    "load_skill": "read",
    "update_plan": "think",
    "validate_component": "read",
    "validate_service_registration": "read",
    "validate_middleware_chain": "read",
    "check_state_transitions": "read",
    "validate_project": "read",
}
_EDITOR_FILE_TOOLS = frozenset({"file_write", "file_edit"})
"""Tools that write through the workspace (the editor's buffer); others write the disk themselves."""
_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@")
_HUNK_COUNTS = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


def tool_kind(name: str, risk: Risk) -> ToolKind:
    """The ACP kind of a call of tool `name` with `risk` (a writing call is an edit)."""
    if risk == "write":
        return "edit"
    if risk == "high-risk":
        return "execute"
    kind = _KINDS.get(name, "other")
    return "read" if kind == "edit" else kind


def _short(value: object, limit: int = 60) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def tool_title(name: str, args: Mapping[str, object]) -> str:
    """A short human title for a tool call (`Edit app/views.py`)."""
    path = _short(args.get("path", "."))
    match name:
        case "file_read":
            start, end = args.get("start_line"), args.get("end_line")
            lines = f" (lines {start or 1}–{end or 'end'})" if start or end else ""
            return f"Read {path}{lines}"
        case "file_write":
            return f"Write {path}"
        case "file_edit":
            return f"Edit {path}"
        case "file_list":
            return f"List {path} ({_short(args.get('pattern', '*'))})"
        case "file_search":
            return f"Search {_short(args.get('pattern', ''))!r} in {path}"
        case "pytest_run":
            select = args.get("select")
            return f"Run tests in {path}" + (f" ({_short(select)})" if select else "")
        case "typecheck":
            return f"Type-check {path}"
        case "ruff_check":
            return f"Lint {path}"
        case "ruff_fix":
            return f"Fix lint in {path}"
        case "ruff_format":
            return f"{'Check formatting of' if args.get('check', True) else 'Format'} {path}"
        case "update_plan":
            return "Update the plan"
        case _:
            shown = ", ".join(f"{key}={_short(value, 40)}" for key, value in args.items())
            return f"{name}({_short(shown, 100)})"


def _jsonable_args(args: Mapping[str, object]) -> dict[str, Any]:
    value = to_jsonable(dict(args))
    return value if isinstance(value, dict) else {"arguments": value}


def _code_block(text: str, language: str = "") -> str:
    fence = "```"
    while fence in text:
        fence += "`"
    return f"{fence}{language}\n{text.rstrip()}\n{fence}"


def _text(text: str) -> ContentToolCallContent:
    return tool_content(text_block(text))


def _split_diff(diff: str) -> dict[str, list[str]]:
    """Unified diff text per file (`b/` path, relative to the root): the hunk lines of each."""
    files: dict[str, list[str]] = {}
    lines = diff.splitlines()
    current: list[str] | None = None
    old_left = new_left = 0
    index = 0
    while index < len(lines):
        line = lines[index]
        in_hunk = old_left > 0 or new_left > 0
        following = lines[index + 1] if index + 1 < len(lines) else ""
        if not in_hunk and line.startswith("--- ") and following.startswith("+++ "):
            name = following[4:].split("\t", 1)[0].strip()
            name = name[2:] if name.startswith(("b/", "a/")) else name
            current = files.setdefault(name, [])
            index += 2
            continue
        if current is not None:
            if not in_hunk and (match := _HUNK_COUNTS.match(line)):
                old_left = int(match.group(2)) if match.group(2) is not None else 1
                new_left = int(match.group(4)) if match.group(4) is not None else 1
            elif line.startswith("-"):
                old_left -= 1
            elif line.startswith("+"):
                new_left -= 1
            elif line.startswith(" ") or not line:
                old_left -= 1
                new_left -= 1
            current.append(line)
        index += 1
    return files


def _first_changed_line(hunks: list[str]) -> int | None:
    for line in hunks:
        if match := _HUNK.match(line):
            return max(1, int(match.group(1)))
    return None


def _fragments(hunks: list[str]) -> tuple[str, str]:
    """Old and new text of the hunks alone (when the whole files are not known)."""
    old: list[str] = []
    new: list[str] = []
    for line in hunks:
        if line.startswith("@@"):
            if old or new:
                old.append("…")
                new.append("…")
        elif line.startswith("-"):
            old.append(line[1:])
        elif line.startswith("+"):
            new.append(line[1:])
        elif line.startswith(" "):
            old.append(line[1:])
            new.append(line[1:])
    return "\n".join(old) + "\n", "\n".join(new) + "\n"


@dataclass
class _Call:
    """What the mapper remembers of a running tool call."""

    name: str
    kind: ToolKind
    locations: list[ToolCallLocation]
    before: dict[str, str | None] = field(default_factory=dict)
    """Relative path → text before the call (None: the file did not exist)."""
    terminals: list[str] = field(default_factory=list)
    """Client terminals the call ran in."""


class UpdateMapper:
    """Turns one turn's events into ACP updates.

    Args:
        workspace: the session's workspace (edits are read back through it).
    """

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self._calls: dict[str, _Call] = {}
        self.current_call: str | None = None
        """The tool call running now (a block runs its calls one at a time)."""

    def attach_terminal(self, call_id: str, terminal_id: str) -> ToolCallProgress:
        """Record that `call_id` runs in client terminal `terminal_id`; the update that shows it."""
        call = self._calls.get(call_id)
        if call is not None:
            call.terminals.append(terminal_id)
        return update_tool_call(call_id, content=[tool_terminal_ref(terminal_id)])

    async def updates(self, event: AgentEvent) -> list[SessionUpdate]:
        """The updates that show `event` (often one, sometimes none)."""
        match event:
            case TextDelta():
                return [update_agent_message_text(event.text)]
            case ThoughtDelta():
                return [update_agent_thought_text(event.text)]
            case BlockStarted():
                if not event.code:
                    return []
                return [
                    start_tool_call(
                        event.block_id,
                        "Run a Code Mode block",
                        kind="other",
                        status="in_progress",
                        content=[_text(_code_block(event.code, "python"))],
                        raw_input={"code": event.code},
                    )
                ]
            case BlockFinished():
                return [self._block_finished(event)]
            case ToolStarted():
                return [await self._tool_started(event)]
            case ToolFinished():
                return [await self._tool_finished(event)]
            case PermissionNeeded() | PermissionResolved():
                return []
            case PlanUpdated():
                return [
                    update_plan(
                        [plan_entry(e.content, priority=e.priority, status=e.status) for e in event.entries]
                    )
                ]
            case RetryScheduled():
                first = event.message.strip().splitlines()[0] if event.message.strip() else ""
                return [update_agent_thought_text(f"\n[retry {event.attempt}] {_short(first, 300)}\n")]
            case ContextTrimmed():
                return [
                    update_agent_thought_text(
                        f"\n[older turns dropped to fit the context window: {event.dropped_messages} "
                        f"messages; ~{event.estimated_tokens:,} of {event.budget_tokens:,} tokens]\n"
                    )
                ]
            case RunFinished():
                return []
            case _:
                assert_never(event)

    # -- blocks ------------------------------------------------------------------------------------

    def _block_finished(self, event: BlockFinished) -> ToolCallProgress:
        parts: list[str] = []
        if event.stdout:
            parts.append("Output:\n" + _code_block(event.stdout[:MAX_SUMMARY_CHARS]))
        if event.ok and event.value is not None:
            parts.append("Value:\n" + _code_block(_short(repr(event.value), MAX_SUMMARY_CHARS)))
        if event.error:
            parts.append("Failed (the error goes back to the model):\n" + _code_block(event.error))
        return update_tool_call(
            event.block_id,
            status="completed" if event.ok else "failed",
            content=[_text("\n\n".join(parts))] if parts else None,
            raw_output=to_jsonable(
                {
                    "ok": event.ok,
                    "value": event.value,
                    "stdout": event.stdout,
                    "error": event.error,
                    "duration_s": round(event.duration_s, 3),
                }
            ),
        )

    # -- tool calls ----------------------------------------------------------------------------------

    def _location(self, path: object, line: object = None) -> ToolCallLocation | None:
        if not isinstance(path, str) or not path:
            return None
        try:
            absolute = self.workspace.resolve(path)
        except WorkspaceError:
            return None
        if absolute.is_dir():
            return None  # a location is a place in a file the editor can follow
        number = line if isinstance(line, int) and line >= 1 else None
        return ToolCallLocation(path=str(absolute), line=number)

    async def _snapshot(self, name: str, args: Mapping[str, object]) -> dict[str, str | None]:
        """The text of every file the writing call may change, before it runs."""
        path = args.get("path", ".")
        if not isinstance(path, str):
            return {}
        try:
            target = self.workspace.resolve(path)
            rel = self.workspace.relative(path)
        except WorkspaceError:
            return {}
        if name in _EDITOR_FILE_TOOLS:
            try:
                return {rel: await self.workspace.read_text(path)}
            except WorkspaceError:
                return {rel: None}
        return await asyncio.to_thread(self._disk_snapshot, target)

    def _disk_snapshot(self, target: Path) -> dict[str, str | None]:
        try:
            if target.is_file():
                names = [self.workspace.relative(target)]
            else:
                names = self.workspace.list_files_sync(target, pattern="*.py*", limit=MAX_SNAPSHOT_FILES + 1)
                if len(names) > MAX_SNAPSHOT_FILES:
                    return {}
            snapshot: dict[str, str | None] = {}
            for name in names:
                try:
                    snapshot[name] = Workspace.read_text_sync(self.workspace, name)
                except WorkspaceError:
                    continue
            return snapshot
        except WorkspaceError:
            return {}

    async def _tool_started(self, event: ToolStarted) -> ToolCallStart:
        kind = tool_kind(event.name, event.risk)
        location = self._location(event.args.get("path"), event.args.get("start_line"))
        call = _Call(name=event.name, kind=kind, locations=[location] if location else [])
        if event.risk == "write":
            call.before = await self._snapshot(event.name, event.args)
        self._calls[event.call_id] = call
        self.current_call = event.call_id
        return start_tool_call(
            event.call_id,
            tool_title(event.name, event.args),
            kind=kind,
            status="in_progress",
            locations=call.locations or None,
            raw_input=_jsonable_args(event.args),
        )

    async def _diffs(
        self, call: _Call, diff: str
    ) -> tuple[list[FileEditToolCallContent], list[ToolCallLocation]]:
        contents: list[FileEditToolCallContent] = []
        locations: list[ToolCallLocation] = []
        for rel, hunks in _split_diff(diff).items():
            try:
                absolute = str(self.workspace.resolve(rel))
            except WorkspaceError:
                continue
            line = _first_changed_line(hunks)
            locations.append(ToolCallLocation(path=absolute, line=line))
            if rel in call.before:
                try:
                    if call.name in _EDITOR_FILE_TOOLS:
                        new = await self.workspace.read_text(rel)
                    else:
                        new = await asyncio.to_thread(Workspace.read_text_sync, self.workspace, rel)
                except WorkspaceError:
                    new = None
                if new is not None:
                    contents.append(tool_diff_content(absolute, new, call.before[rel]))
                    continue
            old, new_fragment = _fragments(hunks)
            contents.append(tool_diff_content(absolute, new_fragment, old))
        return contents, locations

    def _result_locations(self, result: BaseModel) -> list[ToolCallLocation]:
        """Places a result points at: findings, matches, failing tests (1-based lines)."""
        found: list[ToolCallLocation] = []
        data = result.model_dump()
        for value in data.values():
            if not isinstance(value, list):
                continue
            for item in value:
                if not isinstance(item, dict) or not isinstance(item.get("file"), str):
                    continue
                if item.get("outcome") in ("passed", "skipped"):
                    continue
                location = self._location(item["file"], item.get("line"))
                if location is not None and location not in found:
                    found.append(location)
                if len(found) >= MAX_LOCATIONS:
                    return found
        return found

    async def _tool_finished(self, event: ToolFinished) -> ToolCallProgress:
        call = self._calls.pop(event.call_id, None)
        if call is None:
            call = _Call(name=event.name, kind=tool_kind(event.name, event.risk), locations=[])
        if self.current_call == event.call_id:
            self.current_call = None
        content: list[ToolContent] = []
        locations = list(call.locations)
        if event.denied:
            content.append(_text(f"Not run: {event.error or 'permission denied'}"))
        elif event.error and event.result is None:
            content.append(_text(f"Failed: {event.error}"))
        else:
            summary = f"**{event.name}**: {one_line_result(event)}"
            if event.diff:
                diffs, diff_locations = await self._diffs(call, event.diff)
                content.append(_text(summary))
                content.extend(diffs)
                locations = diff_locations or locations
            else:
                rendered = render_result(event.result) if event.result is not None else ""
                if rendered:
                    summary += "\n\n" + _code_block(_short(rendered, MAX_SUMMARY_CHARS))
                content.append(_text(summary))
            if event.result is not None:
                locations = (locations + self._result_locations(event.result))[:MAX_LOCATIONS]
        content.extend(tool_terminal_ref(terminal) for terminal in call.terminals)
        raw_output: dict[str, Any]
        if event.result is not None:
            raw_output = event.result.model_dump(mode="json")
        else:
            raw_output = {"ok": False, "error": event.error, "denied": event.denied}
        return update_tool_call(
            event.call_id,
            status="completed" if event.ok else "failed",
            content=content,
            locations=locations or None,
            raw_output=raw_output,
        )


async def permission_tool_call(workspace: Workspace, request: PermissionRequest) -> ToolCallUpdate:
    """The tool call shown with a permission question: its title, kind and, for edits, the diff to come."""
    content: list[ToolContent] = [_text(f"`{request.summary}` ({request.risk})")]
    path = request.args.get("path")
    if request.tool in _EDITOR_FILE_TOOLS and isinstance(path, str):
        try:
            absolute = str(workspace.resolve(path))
            try:
                old: str | None = await workspace.read_text(path)
            except WorkspaceError:
                old = None
            new: str | None = None
            if request.tool == "file_write" and isinstance(request.args.get("content"), str):
                new = str(request.args["content"])
            elif (
                old is not None
                and isinstance(request.args.get("old"), str)
                and isinstance(request.args.get("new"), str)
            ):
                before, after = str(request.args["old"]), str(request.args["new"])
                if before and before in old:
                    new = (
                        old.replace(before, after)
                        if request.args.get("replace_all")
                        else old.replace(before, after, 1)
                    )
            if new is not None:
                content.append(tool_diff_content(absolute, new, old))
        except WorkspaceError:
            pass
    location = None
    if isinstance(path, str):
        try:
            location = ToolCallLocation(path=str(workspace.resolve(path)))
        except WorkspaceError:
            location = None
    return ToolCallUpdate(
        tool_call_id=request.call_id,
        title=tool_title(request.tool, request.args),
        kind=tool_kind(request.tool, request.risk),
        status="pending",
        content=content,
        locations=[location] if location else None,
        raw_input=_jsonable_args(request.args),
    )
