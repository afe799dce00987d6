"""Agent-backed actions: `workspace/executeCommand` → the agent, with `$/progress` → `workspace/applyEdit`.

The agent runs in a `BufferWorkspace`: it reads the editor's unsaved buffers and its writes stay in
memory. When the run ends, every written file becomes part of one `WorkspaceEdit` (versioned for open
buffers, so an edit computed against text the user has since changed is rejected by the client) that the
editor applies, so each change lands in the editor's undo history. Only file tools that write through the
workspace (`file_write`, `file_edit`, `domain_fix`) are allowed; tools that would write to disk behind
the editor's back (`ruff_fix`, formatting) and high-risk tools are refused. "Explain" runs read-only.

Progress is reported with server-initiated work-done progress when the client supports it, and the
client's cancel button cancels the run.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import attrs
from lsprotocol import types
from pygls.uris import from_fs_path

from punie_lsp.agent.events import (
    AgentEvent,
    BlockStarted,
    RetryScheduled,
    RunFinished,
    ToolFinished,
    ToolStarted,
)
from punie_lsp.agent.permissions import Mode, ModePolicy
from punie_lsp.agent.session import AgentConfig, PunieSession
from punie_lsp.domain import RULES
from punie_lsp.exceptions import PunieError
from punie_lsp.flywheel.capture import capture_session
from punie_lsp.lsp._domain import BufferWorkspace
from punie_lsp.lsp._text import minimal_edits
from punie_lsp.lsp.server import PunieLanguageServer
from punie_lsp.lsp.ty_proxy import hover_markdown
from punie_lsp.models import resolve_model
from punie_lsp.sandbox import PermissionDecision, PermissionRequest
from punie_lsp.tools.context import ToolContext

__all__ = ("AGENT_COMMANDS", "AgentActionArgs", "AgentActionResult", "register", "run_agent_action")

logger = logging.getLogger(__name__)

ActionKind = Literal["fix", "explain", "tests"]

AGENT_COMMANDS: dict[ActionKind, str] = {
    "fix": "punie.agent.fix",
    "explain": "punie.agent.explain",
    "tests": "punie.agent.writeTests",
}
"""Command IDs of the agent-backed actions."""

_TITLES: dict[ActionKind, str] = {"fix": "Fixing", "explain": "Explaining", "tests": "Writing tests"}
_MODES: dict[ActionKind, Mode] = {"fix": "ask", "explain": "plan", "tests": "ask"}
BUFFER_WRITE_TOOLS = frozenset({"file_write", "file_edit", "domain_fix"})
"""Write tools whose changes go through the workspace (and so through the editor)."""
EXCERPT_CONTEXT_LINES = 20


@attrs.define(kw_only=True)
class AgentActionArgs:
    """The single argument of every agent command (what the code action attached)."""

    uri: str
    """The document the action was asked in."""
    range: types.Range
    """The diagnostic's range, or the selection."""
    version: int | None = None
    """The document version the action was offered for."""
    rule: str | None = None
    """The Punie rule reported there, if any."""
    message: str | None = None
    """The diagnostic's message, if any."""


@attrs.define(kw_only=True)
class AgentActionResult:
    """What `workspace/executeCommand` answers with."""

    stop_reason: str
    """The agent's stop reason (`end_turn`, `cancelled`, `error`, …)."""
    output: str = ""
    """The agent's final answer."""
    applied: bool = False
    """Whether the client applied the edit."""
    files: list[str] = attrs.field(factory=list)
    """Paths the edit changed or created (relative to the project root)."""
    error: str | None = None
    """What went wrong, if anything."""


async def _buffer_writes_only(request: PermissionRequest) -> PermissionDecision:
    return "allow" if request.tool in BUFFER_WRITE_TOOLS else "deny"


def _excerpt(text: str, start_line: int, end_line: int) -> str:
    lines = text.splitlines()
    first = max(0, start_line - EXCERPT_CONTEXT_LINES)
    last = min(len(lines), end_line + EXCERPT_CONTEXT_LINES + 1)
    return "\n".join(f"{n + 1:>5} | {lines[n]}" for n in range(first, last))


def build_prompt(kind: ActionKind, *, relative: str, text: str, args: AgentActionArgs, type_info: str) -> str:
    """The user prompt of one action: the task, the place, the diagnostic, ty's type context, the code."""
    start, end = args.range.start.line + 1, args.range.end.line + 1
    where = f"`{relative}` lines {start}-{end}" if end != start else f"`{relative}` line {start}"
    task = {
        "fix": f"Fix the problem at {where}. Edit the file with `file_edit` (or `domain_fix` for Punie rules "
        "that fix automatically), then validate the result.",
        "explain": f"Explain the code at {where}: what it does and, if a problem is reported there, why it "
        "is a problem and how to fix it. Do not change any file.",
        "tests": f"Write pytest tests for the code at {where}. Put them in the project's tests folder with "
        "`file_write` (or add to an existing test module with `file_edit`).",
    }[kind]
    parts = [task]
    if args.rule:
        rule = RULES.get(args.rule)
        title = f" ({rule.title})" if rule is not None else ""
        parts.append(f"Reported there: Punie {args.rule}{title}: {args.message or ''}".rstrip())
    elif args.message:
        parts.append(f"Reported there: {args.message}")
    if type_info:
        parts.append(f"ty's hover at that position:\n{type_info}")
    parts.append(f"The code around it:\n```python\n{_excerpt(text, start - 1, end - 1)}\n```")
    return "\n\n".join(parts)


@dataclass(kw_only=True)
class _Progress:
    ls: PunieLanguageServer
    token: str | None = None
    last: str = ""
    steps: list[str] = field(default_factory=list)

    async def begin(self, title: str) -> None:
        if not self.ls.work_done_progress_supported:
            return
        token = f"punie-{uuid.uuid4()}"
        try:
            await self.ls.work_done_progress.create_async(token)
        except Exception as exc:  # the client refused the token: run without progress
            logger.info("progress token refused: %s", exc)
            return
        self.token = token
        self.ls.work_done_progress.begin(
            token, types.WorkDoneProgressBegin(title=title, cancellable=True, message="starting")
        )

    def report(self, message: str) -> None:
        self.steps.append(message)
        if self.token is not None and message != self.last:
            self.last = message
            self.ls.work_done_progress.report(
                token=self.token, value=types.WorkDoneProgressReport(message=message)
            )

    def end(self, message: str) -> None:
        if self.token is not None:
            self.ls.work_done_progress.end(self.token, types.WorkDoneProgressEnd(message=message))
            self.ls.work_done_progress.tokens.pop(self.token, None)
            self.token = None

    def on_cancel(self, callback: Callable[[], None]) -> None:
        if self.token is None:
            return
        future = self.ls.work_done_progress.tokens.get(self.token)
        if future is not None:
            future.add_done_callback(lambda f: callback() if f.cancelled() else None)


def _describe(event: AgentEvent) -> str | None:
    if isinstance(event, ToolStarted):
        return f"{event.name}…"
    if isinstance(event, ToolFinished):
        return f"{event.name} {'done' if event.ok else 'failed'}"
    if isinstance(event, BlockStarted):
        return "running a code block"
    if isinstance(event, RetryScheduled):
        return "retrying"
    if isinstance(event, RunFinished):
        return f"finished ({event.stop_reason})"
    return None


def _workspace_edit(
    ls: PunieLanguageServer, root: Path, workspace: BufferWorkspace, versions: dict[str, int | None]
) -> tuple[types.WorkspaceEdit | None, list[str]]:
    """The agent's in-memory writes as one edit: text edits for existing files, creations for new ones."""
    document_changes: list[types.TextDocumentEdit | types.CreateFile] = []
    changes: dict[str, list[types.TextEdit]] = {}
    files: list[str] = []
    for relative, new in sorted(workspace.written.items()):
        path = root / relative
        uri = from_fs_path(str(path))
        if uri is None:
            continue
        old = workspace.buffers.get(relative)
        if old is None and path.is_file():
            old = path.read_text(encoding="utf-8", errors="replace")
        if old is None:
            if not ls.can_create_files:
                logger.info("client cannot create files; `%s` left out", relative)
                continue
            document_changes.append(
                types.CreateFile(uri=uri, options=types.CreateFileOptions(ignore_if_exists=True))
            )
            edits = [
                types.TextEdit(
                    range=types.Range(
                        start=types.Position(line=0, character=0), end=types.Position(line=0, character=0)
                    ),
                    new_text=new,
                )
            ]
            version: int | None = None
        else:
            edits = minimal_edits(old, new, ls.codec)
            version = versions.get(relative)
        if not edits:
            continue
        files.append(relative)
        document_changes.append(
            types.TextDocumentEdit(
                text_document=types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=version),
                edits=list(edits),
            )
        )
        changes[uri] = list(edits)
    if not files:
        return None, []
    if ls.document_changes:
        return types.WorkspaceEdit(document_changes=document_changes), files
    return types.WorkspaceEdit(changes=changes), files


async def run_agent_action(
    ls: PunieLanguageServer, kind: ActionKind, args: AgentActionArgs
) -> AgentActionResult:
    """Run the agent for one action, reporting progress, and apply what it wrote as one workspace edit."""
    doc = ls.open_document(args.uri)
    where = ls.locate(args.uri)
    if doc is None or where is None:
        return AgentActionResult(stop_reason="error", error=f"`{args.uri}` is not an open Python file")
    root, relative = where
    text = doc.source
    progress = _Progress(ls=ls)
    await progress.begin(f"Punie: {_TITLES[kind]}")
    try:
        outcome = await _run(ls, kind, args, root=root, relative=relative, text=text, progress=progress)
    except PunieError as exc:
        outcome = AgentActionResult(stop_reason="error", error=str(exc))
        ls.window_show_message(types.ShowMessageParams(type=types.MessageType.Error, message=f"Punie: {exc}"))
    finally:
        progress.end("stopped")  # a no-op when `_run` ended it with its summary
    return outcome


async def _run(
    ls: PunieLanguageServer,
    kind: ActionKind,
    args: AgentActionArgs,
    *,
    root: Path,
    relative: str,
    text: str,
    progress: _Progress,
) -> AgentActionResult:
    project = ls.domain.project_settings(root)
    editor = ls.settings_for(root)
    buffers = ls.buffers(root)
    versions = {
        rel: d.version
        for d in ls.open_documents()
        if (w := ls.locate(d.uri)) is not None and w[0] == root and (rel := w[1]) in buffers
    }
    type_info = ""
    if ls.ty is not None:
        type_info = hover_markdown(await ls.ty.hover(args.uri, args.range.start))
    model = resolve_model(editor.model_spec(project), punie_home=project.punie_home)
    workspace = BufferWorkspace(root, buffers=buffers)
    ctx = ToolContext(
        workspace=workspace, settings=project.model_copy(update={"domain": editor.domain(project)})
    )
    policy = ModePolicy(mode=_MODES[kind], ask=_buffer_writes_only)
    prompt = build_prompt(kind, relative=relative, text=text, args=args, type_info=type_info)

    async def on_event(event: AgentEvent) -> None:
        if (message := _describe(event)) is not None:
            progress.report(message)

    spec = editor.model_spec(project)
    async with (
        PunieSession(
            model=model, ctx=ctx, policy=policy, config=AgentConfig(generated_tools=False)
        ) as session,
        capture_session(session, model_spec=spec, front_end="lsp") as capture,
    ):
        progress.on_cancel(session.cancel)
        result = await capture.prompt(prompt, on_event=on_event)
    outcome = AgentActionResult(stop_reason=result.stop_reason, output=result.output, error=result.error)
    edit, files = _workspace_edit(ls, root, workspace, versions)
    if edit is not None and result.stop_reason != "cancelled":
        response = await ls.workspace_apply_edit_async(
            types.ApplyWorkspaceEditParams(edit=edit, label=f"Punie: {_TITLES[kind].lower()}")
        )
        outcome.applied = bool(response.applied)
        outcome.files = files
        if not response.applied:
            outcome.error = response.failure_reason or "the editor did not apply the edit"
    progress.end(_summary(outcome))
    if kind == "explain" and result.output:
        ls.window_show_message(types.ShowMessageParams(type=types.MessageType.Info, message=result.output))
    elif outcome.error:
        ls.window_show_message(
            types.ShowMessageParams(type=types.MessageType.Warning, message=f"Punie: {outcome.error}")
        )
    return outcome


def _summary(outcome: AgentActionResult) -> str:
    if outcome.applied:
        return f"changed {', '.join(outcome.files)}"
    if outcome.error:
        return f"failed: {outcome.error}"[:200]
    return outcome.stop_reason


async def fix(ls: PunieLanguageServer, args: AgentActionArgs) -> AgentActionResult:
    """`punie.agent.fix`: let the agent fix the problem at the range."""
    return await run_agent_action(ls, "fix", args)


async def explain(ls: PunieLanguageServer, args: AgentActionArgs) -> AgentActionResult:
    """`punie.agent.explain`: explain the code (read-only)."""
    return await run_agent_action(ls, "explain", args)


async def write_tests(ls: PunieLanguageServer, args: AgentActionArgs) -> AgentActionResult:
    """`punie.agent.writeTests`: write tests for the code at the range."""
    return await run_agent_action(ls, "tests", args)


def register(ls: PunieLanguageServer) -> None:
    """Register the agent commands (`workspace/executeCommand`)."""
    ls.command(AGENT_COMMANDS["fix"])(fix)
    ls.command(AGENT_COMMANDS["explain"])(explain)
    ls.command(AGENT_COMMANDS["tests"])(write_tests)
