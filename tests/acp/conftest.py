"""A real ACP client (the SDK's, over stdio) driving the real `punie acp`, and replayed model turns.

`EditorClient` plays the editor: it records every update, answers permission questions as the test
says, serves `fs/*` from in-memory buffers (unsaved edits) or the disk, and runs `terminal/*` commands
as subprocesses. Projects choose their model in `.punie/config.toml`, so one agent process can serve many
tests, each with its own replay file.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import acp
import pytest
import pytest_asyncio
from acp import RequestError
from acp.client.connection import ClientSideConnection
from acp.schema import (
    AllowedOutcome,
    ClientCapabilities,
    CreateTerminalResponse,
    DeniedOutcome,
    EnvVariable,
    FileSystemCapabilities,
    KillTerminalResponse,
    PermissionOption,
    ReadTextFileResponse,
    ReleaseTerminalResponse,
    RequestPermissionResponse,
    TerminalOutputResponse,
    ToolCallUpdate,
    WaitForTerminalExitResponse,
    WriteTextFileResponse,
)

PUNIE = str(Path(sys.executable).parent / "punie")


def tool_call(code: str, text: str = "") -> str:
    """A model turn (Qwen3-Coder XML) that runs `code` as a Code Mode block."""
    return (
        f"{text}\n<tool_call>\n<function=run_code>\n<parameter=code>\n{code}\n"
        "</parameter>\n</function>\n</tool_call>"
    )


def write_turns(path: Path, turns: list[str]) -> Path:
    """Write replay turns (JSON Lines) to `path`."""
    path.write_text("".join(json.dumps({"content": turn}) + "\n" for turn in turns), encoding="utf-8")
    return path


def make_project(root: Path, turns: list[str], files: dict[str, str] | None = None) -> Path:
    """A project directory whose configured model replays `turns`."""
    root.mkdir(parents=True, exist_ok=True)
    (root / ".punie").mkdir(exist_ok=True)
    replay = write_turns(root.parent / f"{root.name}-turns.jsonl", turns)
    (root / ".punie" / "config.toml").write_text(f'model = "replay:{replay}"\n', encoding="utf-8")
    (root / "pyproject.toml").write_text('[project]\nname = "demo"\nversion = "0.1.0"\n', encoding="utf-8")
    for name, text in (files or {}).items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


def agent_env(home: Path) -> dict[str, str]:
    """The environment for `punie acp`: an isolated PUNIE_HOME, no model override."""
    env = {k: v for k, v in os.environ.items() if k != "PUNIE_MODEL"}
    env["PUNIE_HOME"] = str(home)
    return env


@dataclass
class _Terminal:
    process: asyncio.subprocess.Process
    output: bytearray = field(default_factory=bytearray)
    reader: asyncio.Task[None] | None = None


@dataclass
class EditorClient(acp.Client):
    """The editor side of the tests."""

    updates: list[tuple[str, Any]] = field(default_factory=list)
    answer: str = "allow-once"
    """Option id to select, `cancelled`, or `never` (no answer at all)."""
    permission_requests: list[tuple[ToolCallUpdate, list[PermissionOption]]] = field(default_factory=list)
    buffers: dict[str, str] = field(default_factory=dict)
    """Unsaved editor buffers by absolute path."""
    reads: list[str] = field(default_factory=list)
    writes: list[str] = field(default_factory=list)
    terminals: dict[str, _Terminal] = field(default_factory=dict)
    terminal_commands: list[list[str]] = field(default_factory=list)

    def of(self, session_id: str, kind: str) -> list[Any]:
        """Updates of `session_id` whose `sessionUpdate` is `kind`."""
        return [u for s, u in self.updates if s == session_id and u.session_update == kind]

    def text(self, session_id: str, kind: str = "agent_message_chunk") -> str:
        """The text of every `kind` chunk of `session_id`, joined."""
        return "".join(u.content.text for u in self.of(session_id, kind))

    async def session_update(self, session_id: str, update: Any, **kwargs: Any) -> None:
        self.updates.append((session_id, update))

    async def request_permission(
        self, session_id: str, tool_call: ToolCallUpdate, options: list[PermissionOption], **kwargs: Any
    ) -> RequestPermissionResponse:
        self.permission_requests.append((tool_call, options))
        if self.answer == "never":
            await asyncio.Event().wait()
        if self.answer == "cancelled":
            return RequestPermissionResponse(outcome=DeniedOutcome(outcome="cancelled"))
        return RequestPermissionResponse(outcome=AllowedOutcome(outcome="selected", option_id=self.answer))

    async def read_text_file(
        self, session_id: str, path: str, line: int | None = None, limit: int | None = None, **kwargs: Any
    ) -> ReadTextFileResponse:
        self.reads.append(path)
        if path in self.buffers:
            return ReadTextFileResponse(content=self.buffers[path])
        try:
            return ReadTextFileResponse(content=Path(path).read_text(encoding="utf-8"))  # noqa: ASYNC240
        except OSError as exc:
            raise RequestError.resource_not_found(path) from exc

    async def write_text_file(
        self, session_id: str, path: str, content: str, **kwargs: Any
    ) -> WriteTextFileResponse:
        self.writes.append(path)
        self.buffers.pop(path, None)
        Path(path).write_text(content, encoding="utf-8")  # noqa: ASYNC240
        return WriteTextFileResponse()

    async def create_terminal(
        self,
        session_id: str,
        command: str,
        args: list[str] | None = None,
        env: list[EnvVariable] | None = None,
        cwd: str | None = None,
        output_byte_limit: int | None = None,
        **kwargs: Any,
    ) -> CreateTerminalResponse:
        self.terminal_commands.append([command, *(args or [])])
        process = await asyncio.create_subprocess_exec(
            command,
            *(args or []),
            cwd=cwd,
            env={**os.environ, **{v.name: v.value for v in env or []}},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        terminal = _Terminal(process)

        async def pump() -> None:
            assert process.stdout is not None
            while chunk := await process.stdout.read(4096):
                terminal.output.extend(chunk)

        terminal.reader = asyncio.create_task(pump())
        terminal_id = f"term-{len(self.terminals) + 1}"
        self.terminals[terminal_id] = terminal
        return CreateTerminalResponse(terminal_id=terminal_id)

    async def terminal_output(
        self, session_id: str, terminal_id: str, **kwargs: Any
    ) -> TerminalOutputResponse:
        terminal = self.terminals[terminal_id]
        return TerminalOutputResponse(output=terminal.output.decode("utf-8", "replace"), truncated=False)

    async def wait_for_terminal_exit(
        self, session_id: str, terminal_id: str, **kwargs: Any
    ) -> WaitForTerminalExitResponse:
        terminal = self.terminals[terminal_id]
        code = await terminal.process.wait()
        if terminal.reader is not None:
            await terminal.reader
        return WaitForTerminalExitResponse(exit_code=code)

    async def kill_terminal(self, session_id: str, terminal_id: str, **kwargs: Any) -> KillTerminalResponse:
        with contextlib.suppress(ProcessLookupError):
            self.terminals[terminal_id].process.kill()
        return KillTerminalResponse()

    async def release_terminal(
        self, session_id: str, terminal_id: str, **kwargs: Any
    ) -> ReleaseTerminalResponse:
        terminal = self.terminals[terminal_id]
        if terminal.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                terminal.process.kill()
            await terminal.process.wait()
        return ReleaseTerminalResponse()


EDITOR_CAPABILITIES = ClientCapabilities(
    fs=FileSystemCapabilities(read_text_file=True, write_text_file=True), terminal=True
)


@dataclass
class Agent:
    """A running `punie acp` and the client connected to it."""

    conn: ClientSideConnection
    process: asyncio.subprocess.Process
    client: EditorClient
    home: Path


@contextlib.asynccontextmanager
async def running_agent(
    home: Path,
    *args: str,
    client: EditorClient | None = None,
    capabilities: ClientCapabilities = EDITOR_CAPABILITIES,
) -> AsyncIterator[Agent]:
    """Start `punie acp ARGS` with the SDK client and initialize it."""
    editor = client if client is not None else EditorClient()
    async with acp.spawn_agent_process(editor, PUNIE, "acp", *args, env=agent_env(home)) as (conn, process):
        await conn.initialize(protocol_version=1, client_capabilities=capabilities)
        yield Agent(conn=conn, process=process, client=editor, home=home)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def agent(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Agent]:
    """One `punie acp` process shared by the tests of a module (each test opens its own sessions)."""
    home = tmp_path_factory.mktemp("punie-home")
    async with running_agent(home) as running:
        yield running


@pytest.fixture
def project(tmp_path: Path) -> Callable[..., Path]:
    """Make a project in this test's temporary directory: `project(turns, files)`."""

    def make(turns: list[str], files: dict[str, str] | None = None, name: str = "proj") -> Path:
        return make_project(tmp_path / name, turns, files)

    return make
