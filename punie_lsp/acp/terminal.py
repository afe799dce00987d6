"""`pytest_run` in the editor's terminal, when the client advertises `terminal`.

The same command `pytest_run` would start (the project's interpreter, a JUnit report in a temporary
directory) runs through ACP `terminal/create`; the terminal is embedded in the tool call so the user
watches the run live, and the result is read from the JUnit report exactly as the local tool does. The
replacement keeps `pytest_run`'s name, signature and docs, so the model and its stubs see no difference.

Only pytest goes to the terminal: ruff and ty are machine-readable checks whose output the user does not
need to watch, and they stay local subprocesses.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable
from pathlib import Path

from acp import RequestError
from acp.interfaces import Client
from acp.schema import EnvVariable

from punie_lsp.exceptions import WorkspaceError
from punie_lsp.tools.catalogue import Catalogue
from punie_lsp.tools.context import ToolContext
from punie_lsp.tools.results import TestResult
from punie_lsp.tools.testing import parse_junit, pytest_command, pytest_run

__all__ = ("TERMINAL_OUTPUT_LIMIT", "TerminalAttached", "with_terminal_pytest")

TERMINAL_OUTPUT_LIMIT = 1_000_000
"""Bytes of output the client keeps for the terminal."""

TerminalAttached = Callable[[str], Awaitable[None]]
"""Called with the terminal id once the run started (to embed it in the running tool call)."""


def _terminal_pytest(
    client: Client, session_id: str, attached: TerminalAttached
) -> Callable[..., Awaitable[TestResult]]:
    @functools.wraps(pytest_run)
    async def run(
        ctx: ToolContext, path: str = ".", select: str | None = None, timeout: float | None = None
    ) -> TestResult:
        limit = timeout if timeout is not None else ctx.settings.test_timeout
        with tempfile.TemporaryDirectory(prefix="punie-pytest-") as tmp:
            report = Path(tmp) / "junit.xml"
            try:
                command = pytest_command(ctx, path, select=select, report=report)
            except WorkspaceError as exc:
                return TestResult(success=False, tool_error=str(exc))
            shown = " ".join(command[: command.index("-m")])
            try:
                created = await client.create_terminal(
                    session_id=session_id,
                    command=command[0],
                    args=command[1:],
                    cwd=str(ctx.workspace.root),
                    env=[EnvVariable(name="PYTHONDONTWRITEBYTECODE", value="1")],
                    output_byte_limit=TERMINAL_OUTPUT_LIMIT,
                )
            except RequestError as exc:
                return TestResult(
                    success=False, interpreter=shown, tool_error=f"the editor's terminal failed: {exc}"
                )
            terminal = created.terminal_id
            try:
                await attached(terminal)
                try:
                    async with asyncio.timeout(limit):
                        exit_status = await client.wait_for_terminal_exit(
                            session_id=session_id, terminal_id=terminal
                        )
                except TimeoutError:
                    await client.kill_terminal(session_id=session_id, terminal_id=terminal)
                    return TestResult(
                        success=False,
                        timed_out=True,
                        interpreter=shown,
                        tool_error=f"pytest timed out after {limit:g} s and was stopped",
                    )
                if exit_status.exit_code in (3, 4) or not report.is_file():
                    output = await client.terminal_output(session_id=session_id, terminal_id=terminal)
                    detail = " | ".join(output.output.strip().splitlines()[-3:])[:500]
                    return TestResult(
                        success=False,
                        interpreter=shown,
                        exit_code=exit_status.exit_code,
                        tool_error=f"pytest could not run (exit {exit_status.exit_code}): {detail}",
                    )
                try:
                    result = parse_junit(report.read_text(encoding="utf-8", errors="replace"))
                except ET.ParseError as exc:
                    return TestResult(
                        success=False,
                        interpreter=shown,
                        tool_error=f"pytest's JUnit report is malformed: {exc}",
                    )
                return result.model_copy(update={"interpreter": shown, "exit_code": exit_status.exit_code})
            except RequestError as exc:
                return TestResult(
                    success=False, interpreter=shown, tool_error=f"the editor's terminal failed: {exc}"
                )
            finally:
                with contextlib.suppress(RequestError, ConnectionError):
                    await asyncio.shield(client.release_terminal(session_id=session_id, terminal_id=terminal))

    return run


def with_terminal_pytest(
    catalogue: Catalogue, *, client: Client, session_id: str, attached: TerminalAttached
) -> Catalogue:
    """`catalogue` with `pytest_run` running in the editor's terminal (other tools unchanged)."""
    replaced = Catalogue()
    for spec in catalogue:
        if spec.name == "pytest_run":
            spec = dataclasses.replace(spec, function=_terminal_pytest(client, session_id, attached))
        replaced.add(spec)
    return replaced
