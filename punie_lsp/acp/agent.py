"""`punie acp`: the ACP agent, a thin front-end over `PunieSession`.

Each ACP session owns one `PunieSession` (model, sandbox, history, permission policy) and one record on
disk. A prompt runs one agent turn; its events become `session/update` notifications (`updates`), its
permission questions become `session/request_permission` (`permissions`), and file tools go through the
editor's buffers when the client offers `fs` (`workspace`). Slash commands are answered without the
model (`commands`). The record is saved after every turn, so `session/load` and `session/list` work in a
new process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args

from acp import PROTOCOL_VERSION, RequestError
from acp.agent.connection import AgentSideConnection
from acp.helpers import update_available_commands, update_current_mode, update_user_message_text
from acp.interfaces import Agent, Client
from acp.schema import (
    AcpMcpServer,
    AgentCapabilities,
    AgentMessageChunk,
    AudioContentBlock,
    AuthenticateResponse,
    ClientCapabilities,
    CloseSessionResponse,
    ConfigOptionUpdate,
    EmbeddedResourceContentBlock,
    ForkSessionResponse,
    HttpMcpServer,
    ImageContentBlock,
    Implementation,
    InitializeResponse,
    ListSessionsResponse,
    LoadSessionResponse,
    McpServerStdio,
    NewSessionResponse,
    PromptCapabilities,
    PromptResponse,
    ResourceContentBlock,
    ResumeSessionResponse,
    SessionCapabilities,
    SessionCloseCapabilities,
    SessionConfigOptionSelect,
    SessionConfigSelectOption,
    SessionInfo,
    SessionInfoUpdate,
    SessionListCapabilities,
    SessionMode,
    SessionModeState,
    SessionNotification,
    SessionResumeCapabilities,
    SetSessionConfigOptionResponse,
    SetSessionModeResponse,
    SseMcpServer,
    TextContentBlock,
    TextResourceContents,
)
from pydantic import ValidationError
from pydantic_ai.models import Model

from punie_lsp import __version__
from punie_lsp.acp._stdio import open_stdio
from punie_lsp.acp.commands import CommandContext, available_commands, parse_command, run_command
from punie_lsp.acp.permissions import DEFAULT_PERMISSION_TIMEOUT, PermissionBridge
from punie_lsp.acp.store import SessionRecord, SessionStore, TurnRecord, now_iso, valid_session_id
from punie_lsp.acp.terminal import with_terminal_pytest
from punie_lsp.acp.updates import SessionUpdate, UpdateMapper, permission_tool_call
from punie_lsp.acp.workspace import EditorWorkspace
from punie_lsp.agent.disclosure import agent_catalogue
from punie_lsp.agent.events import AgentEvent
from punie_lsp.agent.permissions import MODES, Mode, ModePolicy
from punie_lsp.agent.session import AgentConfig, PunieSession
from punie_lsp.config import default_punie_home, load_settings
from punie_lsp.exceptions import PunieError
from punie_lsp.flywheel.capture import Capture, capture_session
from punie_lsp.models import resolve_model
from punie_lsp.sandbox import PermissionRequest
from punie_lsp.tools.context import ToolContext
from punie_lsp.workspace import Workspace

__all__ = ("DEFAULT_MAX_PROMPT_CHARS", "AcpOptions", "PunieAcpAgent", "run_acp_agent")

logger = logging.getLogger(__name__)

DEFAULT_MAX_PROMPT_CHARS = 400_000
"""The longest prompt accepted, attached files included (about 100k tokens)."""
LIST_PAGE_SIZE = 50
"""Sessions per `session/list` page."""

_MODE_DESCRIPTIONS: dict[Mode, str] = {
    "ask": "Ask before every edit or command",
    "accept-edits": "File edits run; riskier calls still ask",
    "plan": "Read-only: nothing is changed",
    "trust": "Everything runs without asking",
}

McpServer = HttpMcpServer | SseMcpServer | AcpMcpServer | McpServerStdio
PromptBlock = (
    TextContentBlock
    | ImageContentBlock
    | AudioContentBlock
    | ResourceContentBlock
    | EmbeddedResourceContentBlock
)


@dataclass(kw_only=True)
class AcpOptions:
    """How `punie acp` runs."""

    model_spec: str | None = None
    """The model for every session; None: each project's configured model."""
    punie_home: Path = field(default_factory=default_punie_home)
    """Where sessions are kept (`sessions/` below it)."""
    permission_timeout: float = DEFAULT_PERMISSION_TIMEOUT
    """Seconds a permission question waits before the call is denied."""
    max_prompt_chars: int = DEFAULT_MAX_PROMPT_CHARS
    """The longest prompt accepted."""
    agent_config: AgentConfig = field(default_factory=AgentConfig)
    """Retries, limits and Code Mode for every session."""


def _invalid(message: str) -> RequestError:
    return RequestError(-32602, message)


def _modes(mode: Mode) -> SessionModeState:
    return SessionModeState(
        current_mode_id=mode,
        available_modes=[
            SessionMode(id=m, name=name, description=_MODE_DESCRIPTIONS[m]) for m, name in MODES.items()
        ],
    )


def _config_options(mode: Mode) -> list[SessionConfigOptionSelect]:
    return [
        SessionConfigOptionSelect(
            id="mode",
            name="Mode",
            description="Who decides edits and commands",
            category="mode",
            type="select",
            current_value=mode,
            options=[
                SessionConfigSelectOption(value=m, name=name, description=_MODE_DESCRIPTIONS[m])
                for m, name in MODES.items()
            ],
        )
    ]


def _as_mode(value: object) -> Mode:
    for mode in get_args(Mode):
        if value == mode:
            return mode
    raise _invalid(f"unknown mode {value!r}; modes: {', '.join(MODES)}")


def _dump(update: SessionUpdate | Any) -> dict[str, Any]:
    return update.model_dump(mode="json", by_alias=True, exclude_none=True)


def _record_update(updates: list[dict[str, Any]], data: dict[str, Any]) -> None:
    """Append `data`, merging adjacent text chunks of the same kind (a replay needs no token boundaries)."""
    kind = data.get("sessionUpdate")
    content = data.get("content")
    if kind in ("agent_message_chunk", "agent_thought_chunk") and isinstance(content, dict):
        last = updates[-1] if updates else None
        if (
            last is not None
            and last.get("sessionUpdate") == kind
            and isinstance(last.get("content"), dict)
            and last["content"].get("type") == "text" == content.get("type")
        ):
            last["content"]["text"] += content.get("text", "")
            return
    updates.append(data)


@dataclass(kw_only=True)
class _Live:
    """An open session."""

    record: SessionRecord
    session: PunieSession
    stack: contextlib.AsyncExitStack
    capture: Capture
    """The flywheel's trace of this session (every turn and feedback signal)."""
    running: asyncio.Task[Any] | None = None
    command: asyncio.Task[None] | None = None
    mapper: UpdateMapper | None = None
    turn: TurnRecord | None = None
    disconnected: bool = False


class PunieAcpAgent(Agent):
    """The Agent Client Protocol front-end of Punie.

    Args:
        options: model, storage, limits and timeouts.
    """

    def __init__(self, options: AcpOptions | None = None) -> None:
        self.options = options if options is not None else AcpOptions()
        self.store = SessionStore(self.options.punie_home / "sessions")
        self._client: Client | None = None
        self._caps = ClientCapabilities()
        self._live: dict[str, _Live] = {}
        self._models: dict[str, Model] = {}
        self._background: set[asyncio.Task[None]] = set()

    # -- connection --------------------------------------------------------------------------------

    def on_connect(self, conn: Client) -> None:
        """Remember the client connection (the SDK calls this once)."""
        self._client = conn

    @property
    def client(self) -> Client:
        """The connected client."""
        assert self._client is not None, "not connected"
        return self._client

    async def aclose(self) -> None:
        """Close every open session (their sandboxes stop)."""
        for task in list(self._background):
            task.cancel()
        for session_id in list(self._live):
            await self._close(session_id)

    def _later(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # -- initialize ----------------------------------------------------------------------------------

    async def initialize(
        self,
        protocol_version: int,
        client_capabilities: ClientCapabilities | None = None,
        client_info: Implementation | None = None,
        **kwargs: Any,
    ) -> InitializeResponse:
        """Agree on protocol version 1 and say what Punie offers."""
        del kwargs
        if client_capabilities is not None:
            self._caps = client_capabilities
        if client_info is not None:
            logger.info("client: %s %s", client_info.name, client_info.version)
        return InitializeResponse(
            protocol_version=min(protocol_version, PROTOCOL_VERSION),
            agent_capabilities=AgentCapabilities(
                load_session=True,
                prompt_capabilities=PromptCapabilities(image=False, audio=False, embedded_context=True),
                session_capabilities=SessionCapabilities(
                    list=SessionListCapabilities(),
                    resume=SessionResumeCapabilities(),
                    close=SessionCloseCapabilities(),
                ),
            ),
            agent_info=Implementation(name="punie", title="Punie", version=__version__),
            auth_methods=[],
        )

    async def authenticate(self, method_id: str, **kwargs: Any) -> AuthenticateResponse | None:
        """Punie runs locally and needs no authentication."""
        del kwargs
        raise _invalid(f"Punie needs no authentication (method {method_id!r})")

    # -- sessions ------------------------------------------------------------------------------------

    def _model(self, spec: str, punie_home: Path) -> Model:
        if spec not in self._models:
            self._models[spec] = resolve_model(spec, punie_home=punie_home)
        return self._models[spec]

    async def _open(self, record: SessionRecord, cwd: str) -> _Live:
        """Start the agent session of `record` in `cwd`."""
        root = Path(cwd)
        if not root.is_absolute() or not await asyncio.to_thread(root.is_dir):
            raise _invalid(f"cwd `{cwd}` must be an absolute path to a directory")
        try:
            settings = load_settings(root)
            spec = self.options.model_spec or settings.model
            model = self._model(spec, settings.punie_home)
        except PunieError as exc:
            raise _invalid(str(exc)) from exc
        record.cwd = str(root)
        record.model = spec
        fs = self._caps.fs
        reads = bool(fs and fs.read_text_file)
        writes = bool(fs and fs.write_text_file)
        session_id = record.session_id
        workspace: Workspace = (
            EditorWorkspace(root, client=self.client, session_id=session_id, read=reads, write=writes)
            if reads or writes
            else Workspace(root)
        )
        ctx = ToolContext(workspace=workspace, settings=settings)
        policy = ModePolicy(
            mode=record.mode, always_allow=set(record.always_allow), always_deny=set(record.always_deny)
        )
        catalogue = agent_catalogue()
        holder: dict[str, _Live] = {}

        async def attached(terminal_id: str) -> None:
            live = holder.get("live")
            if live is not None and live.mapper is not None and live.mapper.current_call is not None:
                await self._send(live, live.mapper.attach_terminal(live.mapper.current_call, terminal_id))

        if self._caps.terminal:
            catalogue = with_terminal_pytest(
                catalogue, client=self.client, session_id=session_id, attached=attached
            )

        async def describe(request: PermissionRequest) -> Any:
            return await permission_tool_call(workspace, request)

        def disconnected() -> None:
            live = holder.get("live")
            if live is not None:
                live.disconnected = True
                live.session.cancel()

        policy.ask = PermissionBridge(
            client=self.client,
            session_id=session_id,
            policy=policy,
            describe=describe,
            timeout=self.options.permission_timeout,
            on_disconnect=disconnected,
        )
        session = PunieSession(
            model=model, ctx=ctx, policy=policy, config=self.options.agent_config, catalogue=catalogue
        )
        try:
            session.history = record.messages()
        except ValidationError as exc:
            raise _invalid(
                f"the history of session `{session_id}` cannot be read: {exc.errors()[0]['msg']}"
            ) from exc
        stack = contextlib.AsyncExitStack()
        try:
            await stack.enter_async_context(session)
        except PunieError as exc:
            await stack.aclose()
            raise RequestError(-32603, f"the agent could not start: {exc}") from exc
        spec = self.options.model_spec or ctx.settings.model
        capture = await stack.enter_async_context(
            capture_session(session, model_spec=spec, front_end="acp", session_id=session_id)
        )
        live = _Live(record=record, session=session, stack=stack, capture=capture)
        holder["live"] = live
        self._live[session_id] = live
        return live

    async def _close(self, session_id: str) -> None:
        live = self._live.pop(session_id, None)
        if live is None:
            return
        live.session.cancel()
        if live.command is not None:
            live.command.cancel()
        if live.running is not None and not live.running.done():
            with contextlib.suppress(asyncio.CancelledError, TimeoutError, Exception):
                await asyncio.wait_for(asyncio.shield(live.running), 5)
        await live.stack.aclose()

    async def _announce(self, session_id: str) -> None:
        """Send the slash commands (after the response that told the client the session id)."""
        live = self._live.get(session_id)
        if live is None:
            return
        await self._send(live, update_available_commands(available_commands()))

    def _require(self, session_id: str) -> _Live:
        live = self._live.get(session_id)
        if live is not None:
            return live
        if self.store.exists(session_id):
            raise _invalid(f"session `{session_id}` is not open in this process; load or resume it first")
        raise _invalid(f"unknown session `{session_id}`")

    def _stored(self, session_id: str) -> SessionRecord:
        if not valid_session_id(session_id):
            raise _invalid(f"unknown session `{session_id}`")
        try:
            record = self.store.load(session_id)
        except PunieError as exc:
            raise RequestError(-32603, str(exc)) from exc
        if record is None:
            raise _invalid(f"unknown session `{session_id}`")
        return record

    async def new_session(
        self,
        cwd: str,
        additional_directories: list[str] | None = None,
        mcp_servers: list[McpServer] | None = None,
        **kwargs: Any,
    ) -> NewSessionResponse:
        """Start a session in `cwd` (MCP servers are not used by Punie)."""
        del additional_directories, mcp_servers, kwargs
        record = SessionRecord(session_id=uuid.uuid4().hex, cwd=cwd)
        live = await self._open(record, cwd)
        await self.store.save(live.record)
        self._later(self._announce(record.session_id))
        return NewSessionResponse(
            session_id=record.session_id,
            modes=_modes(record.mode),
            config_options=_config_options(record.mode),
        )

    async def load_session(
        self,
        cwd: str,
        session_id: str,
        mcp_servers: list[McpServer] | None = None,
        additional_directories: list[str] | None = None,
        **kwargs: Any,
    ) -> LoadSessionResponse | None:
        """Reopen a saved session and replay the whole conversation as updates."""
        del mcp_servers, additional_directories, kwargs
        live = self._live.get(session_id)
        if live is None:
            live = await self._open(self._stored(session_id), cwd)
        for turn in live.record.turns:
            for data in turn.updates:
                try:
                    update = SessionNotification.model_validate(
                        {"sessionId": session_id, "update": data}
                    ).update
                except ValidationError:
                    logger.warning("skipping an unreadable update of session %s", session_id)
                    continue
                await self.client.session_update(session_id=session_id, update=update)
        self._later(self._announce(session_id))
        mode = live.session.policy.mode
        return LoadSessionResponse(modes=_modes(mode), config_options=_config_options(mode))

    async def resume_session(
        self,
        session_id: str,
        cwd: str,
        additional_directories: list[str] | None = None,
        mcp_servers: list[McpServer] | None = None,
        **kwargs: Any,
    ) -> ResumeSessionResponse:
        """Reopen a saved session without replaying it (the client still shows it)."""
        del additional_directories, mcp_servers, kwargs
        live = self._live.get(session_id)
        if live is None:
            live = await self._open(self._stored(session_id), cwd)
        self._later(self._announce(session_id))
        mode = live.session.policy.mode
        return ResumeSessionResponse(modes=_modes(mode), config_options=_config_options(mode))

    async def list_sessions(
        self, cwd: str | None = None, cursor: str | None = None, **kwargs: Any
    ) -> ListSessionsResponse:
        """Saved sessions (of `cwd`, when given), most recent first, 50 a page."""
        del kwargs
        start = int(cursor) if cursor and cursor.isdigit() else 0
        records = await asyncio.to_thread(self.store.records, cwd=cwd)
        page = records[start : start + LIST_PAGE_SIZE]
        more = start + LIST_PAGE_SIZE < len(records)
        return ListSessionsResponse(
            sessions=[
                SessionInfo(session_id=r.session_id, cwd=r.cwd, title=r.title, updated_at=r.updated_at)
                for r in page
            ],
            next_cursor=str(start + LIST_PAGE_SIZE) if more else None,
        )

    async def close_session(self, session_id: str, **kwargs: Any) -> CloseSessionResponse | None:
        """Stop a session's agent (its record stays on disk for a later load)."""
        del kwargs
        if session_id not in self._live and not self.store.exists(session_id):
            raise _invalid(f"unknown session `{session_id}`")
        await self._close(session_id)
        return CloseSessionResponse()

    async def fork_session(
        self,
        session_id: str,
        cwd: str,
        additional_directories: list[str] | None = None,
        mcp_servers: list[McpServer] | None = None,
        **kwargs: Any,
    ) -> ForkSessionResponse:
        """Not offered (the capability is not advertised)."""
        del cwd, additional_directories, mcp_servers, kwargs
        raise RequestError.method_not_found(f"session/fork ({session_id})")

    # -- modes ----------------------------------------------------------------------------------------

    async def _set_mode(self, live: _Live, mode: Mode) -> None:
        live.session.policy.mode = mode
        live.record.mode = mode
        await self.store.save(live.record)

    async def set_session_mode(
        self, session_id: str, mode_id: str, **kwargs: Any
    ) -> SetSessionModeResponse | None:
        """Switch the permission mode (takes effect at the next gated call, mid-turn too)."""
        del kwargs
        live = self._require(session_id)
        mode = _as_mode(mode_id)
        await self._set_mode(live, mode)
        self._later(
            self._send(
                live,
                ConfigOptionUpdate(
                    session_update="config_option_update", config_options=_config_options(mode)
                ),
            )
        )
        return SetSessionModeResponse()

    async def set_config_option(
        self, config_id: str, session_id: str, value: str | bool, **kwargs: Any
    ) -> SetSessionConfigOptionResponse | None:
        """Set a config option (`mode` is the only one)."""
        del kwargs
        live = self._require(session_id)
        if config_id != "mode":
            raise _invalid(f"unknown config option {config_id!r}; options: mode")
        mode = _as_mode(value)
        await self._set_mode(live, mode)
        self._later(self._send(live, update_current_mode(mode)))
        return SetSessionConfigOptionResponse(config_options=_config_options(mode))

    # -- turns -----------------------------------------------------------------------------------------

    async def _send(self, live: _Live, update: Any) -> None:
        """Send one update (and record it in the running turn); a closed connection cancels the turn."""
        if live.turn is not None:
            _record_update(live.turn.updates, _dump(update))
        if live.disconnected:
            return
        try:
            await self.client.session_update(session_id=live.record.session_id, update=update)
        except ConnectionError:
            live.disconnected = True
            live.session.cancel()
            if live.command is not None:
                live.command.cancel()

    def _prompt_text(self, blocks: list[PromptBlock]) -> str:
        parts: list[str] = []
        for block in blocks:
            match block:
                case TextContentBlock():
                    parts.append(block.text)
                case ResourceContentBlock():
                    parts.append(f"[{block.name}]({block.uri})")
                case EmbeddedResourceContentBlock():
                    resource = block.resource
                    if isinstance(resource, TextResourceContents):
                        parts.append(f"\n\nContext from `{resource.uri}`:\n```\n{resource.text}\n```\n")
                    else:
                        parts.append(f"[binary attachment {resource.uri} omitted]")
                case ImageContentBlock() | AudioContentBlock():
                    raise _invalid("Punie's model reads text only: images and audio are not accepted")
        text = "".join(parts).strip()
        if not text:
            raise _invalid("the prompt is empty")
        if len(text) > self.options.max_prompt_chars:
            raise _invalid(
                f"the prompt is {len(text):,} characters, over the {self.options.max_prompt_chars:,} limit; "
                "attach less context"
            )
        return text

    async def prompt(self, session_id: str, prompt: list[PromptBlock], **kwargs: Any) -> PromptResponse:
        """Run one turn (or a slash command) and answer with its stop reason."""
        del kwargs
        live = self._require(session_id)
        if live.running is not None:
            raise RequestError(-32600, "a turn is already running in this session; cancel it first")
        text = self._prompt_text(prompt)
        command = parse_command(text)
        turn = TurnRecord(id=uuid.uuid4().hex, kind="command" if command else "prompt", prompt=text)
        record = live.record
        first = record.title is None
        if first:
            record.title = text.strip().splitlines()[0][:80]
        record.turns.append(turn)
        _record_update(turn.updates, _dump(update_user_message_text(text)))
        live.turn = turn
        live.mapper = UpdateMapper(live.session.ctx.workspace)
        live.running = asyncio.current_task()
        try:
            if command is not None:
                stop = await self._command(live, *command)
            else:
                stop = await self._turn(live, text)
        except asyncio.CancelledError:
            turn.stop_reason = "cancelled"
            turn.error = "the client disconnected during the turn"
            turn.finished_at = now_iso()
            await asyncio.shield(self._save(live))
            raise
        finally:
            live.running = None
            live.turn = None
            live.mapper = None
            live.command = None
        if first:
            await self._send(
                live,
                SessionInfoUpdate(
                    session_update="session_info_update", title=record.title, updated_at=record.updated_at
                ),
            )
        if turn.stop_reason == "error":
            raise RequestError(-32603, f"Punie could not finish the turn: {turn.error}")
        return PromptResponse(stop_reason=stop)

    async def _save(self, live: _Live) -> None:
        policy = live.session.policy
        live.record.always_allow = sorted(policy.always_allow)
        live.record.always_deny = sorted(policy.always_deny)
        try:
            await self.store.save(live.record)
        except OSError as exc:
            logger.error("could not save session %s: %s", live.record.session_id, exc)

    async def _turn(self, live: _Live, text: str) -> Any:
        mapper = live.mapper
        assert mapper is not None
        assert live.turn is not None
        turn = live.turn

        async def on_event(event: AgentEvent) -> None:
            try:
                updates = await mapper.updates(event)
            except Exception:  # a display problem must not break the turn
                logger.exception("could not show %s", event.kind)
                return
            for update in updates:
                await self._send(live, update)

        result = await live.capture.prompt(text, on_event=on_event)
        turn.stop_reason = result.stop_reason
        turn.output = result.output
        turn.error = result.error
        turn.usage = {
            "input_tokens": result.usage.input_tokens,
            "output_tokens": result.usage.output_tokens,
            "requests": result.usage.requests,
        }
        turn.finished_at = now_iso()
        if result.stop_reason != "error":
            live.record.set_messages(live.session.history)
        await self._save(live)
        return "end_turn" if result.stop_reason == "error" else result.stop_reason

    async def _command(self, live: _Live, name: str, argument: str) -> Any:
        turn = live.turn
        mapper = live.mapper
        assert turn is not None
        assert mapper is not None

        async def say(text: str) -> None:
            await self._send(
                live,
                AgentMessageChunk(
                    session_update="agent_message_chunk", content=TextContentBlock(type="text", text=text)
                ),
            )

        async def emit(event: AgentEvent) -> None:
            for update in await mapper.updates(event):
                await self._send(live, update)

        context = CommandContext(
            session=live.session, record=live.record, say=say, emit=emit, capture=live.capture
        )
        live.command = asyncio.get_running_loop().create_task(run_command(name, argument, context))
        stop = "end_turn"
        try:
            await live.command
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise
            stop = "cancelled"
        turn.stop_reason = stop
        turn.finished_at = now_iso()
        await self._save(live)
        return stop

    async def cancel(self, session_id: str, **kwargs: Any) -> None:
        """Stop the running turn: the model, the running block and any permission question."""
        del kwargs
        live = self._live.get(session_id)
        if live is None:
            return
        live.session.cancel()
        if live.command is not None:
            live.command.cancel()

    # -- extensions ------------------------------------------------------------------------------------

    async def ext_method(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """No extension methods."""
        del params
        raise RequestError.method_not_found(f"_{method}")

    async def ext_notification(self, method: str, params: dict[str, Any]) -> None:
        """Extension notifications are ignored."""
        del method, params


async def run_acp_agent(options: AcpOptions | None = None) -> None:
    """Serve ACP on stdin/stdout until the client closes the connection."""
    logging.basicConfig(stream=sys.stderr, level=os.environ.get("PUNIE_LOG_LEVEL", "WARNING").upper())
    transport = await open_stdio()
    agent = PunieAcpAgent(options)
    conn = AgentSideConnection(agent, transport, listening=False, use_unstable_protocol=True)
    try:
        await conn.listen()
    finally:
        await agent.aclose()
        await conn.close()
