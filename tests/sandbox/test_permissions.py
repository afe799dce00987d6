"""The permission gate: write and high-risk calls pause the block until the policy answers."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from punie_lsp.sandbox import (
    CodeSandbox,
    PermissionDecision,
    PermissionRequest,
    ToolCallFinished,
    ToolCallStarted,
    allow_all,
)
from punie_lsp.tools import ToolContext

from .conftest import FAST_LIMITS, Recorder

pytestmark = pytest.mark.timeout(60)


async def test_denied_write_raises_in_the_block_and_leaves_the_file_untouched(
    sandbox: CodeSandbox, recorder: Recorder, project: Path
) -> None:
    """A denied `file_write` is a `permission` error at its line, and the file keeps its text."""
    before = (project / "app/util.py").read_text()
    result = await sandbox.run("x = 1\nfile_write('app/util.py', 'oops')\nprint('after')")
    assert result.error is not None
    assert (result.error.kind, result.error.line) == ("permission", 2)
    assert "permission denied" in result.error.message
    assert result.stdout == ""
    assert (project / "app/util.py").read_text() == before
    assert [(r.tool, r.risk) for r in recorder.requests] == [("file_write", "write")]
    assert recorder.requests[0].summary == "file_write(path='app/util.py', content='oops')"
    finished = [e for e in recorder.events if isinstance(e, ToolCallFinished)]
    assert [(e.name, e.ok, e.denied) for e in finished] == [("file_write", False, True)]


async def test_the_block_may_catch_a_denial_and_carry_on(sandbox: CodeSandbox, project: Path) -> None:
    """`except PermissionError` inside the block sees the denial and the block completes."""
    code = """
try:
    file_edit('app/util.py', old='shout', new='yell')
    outcome = 'edited'
except PermissionError as exc:
    outcome = 'denied: ' + str(exc)
outcome
"""
    result = await sandbox.run(code)
    assert result.ok, result.error
    assert isinstance(result.value, str) and result.value.startswith("denied: permission denied")
    assert "def shout" in (project / "app/util.py").read_text()


async def test_allowed_write_runs_and_reports_the_diff(ctx: ToolContext, project: Path) -> None:
    """With a policy that allows, the write happens and its typed result is readable."""
    recorder = Recorder(decision="allow")
    async with CodeSandbox(
        ctx, limits=FAST_LIMITS, policy=recorder.policy, on_event=recorder.on_event
    ) as box:
        result = await box.run(
            "w = file_write('app/new.py', 'X = 1\\n')\n(w.created, w.path, w.diff.count('+X = 1'))"
        )
    assert result.ok, result.error
    assert result.value == [True, "app/new.py", 1]
    assert (project / "app/new.py").read_text() == "X = 1\n"
    assert len(recorder.requests) == 1


async def test_reads_never_ask_and_argument_dependent_risk_is_gated(
    sandbox: CodeSandbox, recorder: Recorder
) -> None:
    """`ruff_format(check=True)` is a read and passes freely; `check=False` writes and is gated."""
    result = await sandbox.run(
        "a = ruff_format('app', check=True)\nb = file_list('.')\nruff_format('app', check=False)"
    )
    assert result.error is not None and result.error.kind == "permission"
    assert [(r.tool, r.args) for r in recorder.requests] == [("ruff_format", {"path": "app", "check": False})]
    started = [e for e in recorder.events if isinstance(e, ToolCallStarted)]
    assert [(e.name, e.risk) for e in started] == [
        ("ruff_format", "read"),
        ("file_list", "read"),
        ("ruff_format", "write"),
    ]


async def test_ask_policy_pauses_the_block_until_the_user_decides(ctx: ToolContext, project: Path) -> None:
    """An "ask" policy awaits a decision made elsewhere; the block stays paused at the call meanwhile."""
    pending: asyncio.Queue[tuple[PermissionRequest, asyncio.Future[PermissionDecision]]] = asyncio.Queue()

    async def ask(request: PermissionRequest) -> PermissionDecision:
        decision: asyncio.Future[PermissionDecision] = asyncio.get_running_loop().create_future()
        await pending.put((request, decision))
        return await decision

    async with CodeSandbox(ctx, limits=FAST_LIMITS, policy=ask) as box:
        run = asyncio.create_task(
            box.run("print('before')\nfile_write('notes.txt', 'hi')\nprint('after')\n'done'")
        )
        request, decision = await asyncio.wait_for(pending.get(), timeout=10)
        assert request.tool == "file_write"
        assert not (project / "notes.txt").exists()
        await asyncio.sleep(0.6)  # longer than the CPU limit: waiting for the user is not execution time
        assert not run.done()
        decision.set_result("allow")
        result = await run
    assert result.ok, result.error
    assert result.stdout == "before\nafter\n"
    assert result.value == "done"
    assert (project / "notes.txt").read_text() == "hi"


async def test_a_failing_policy_denies(ctx: ToolContext, project: Path) -> None:
    """A policy that raises never lets the call through; the block sees a denial naming the failure."""

    async def broken(request: PermissionRequest) -> PermissionDecision:
        raise ConnectionError("editor went away")

    async with CodeSandbox(ctx, limits=FAST_LIMITS, policy=broken) as box:
        result = await box.run("file_write('x.txt', 'data')")
    assert result.error is not None and result.error.kind == "permission"
    assert "editor went away" in result.error.message
    assert not (project / "x.txt").exists()


async def test_allow_all_policy_lets_high_risk_fixes_run(ctx: ToolContext, project: Path) -> None:
    """`allow_all` permits `ruff_fix`, which removes the unused import for real."""
    async with CodeSandbox(ctx, limits=FAST_LIMITS, policy=allow_all) as box:
        result = await box.run("f = ruff_fix('app')\n(f.fixed_count, f.changed_files)")
    assert result.ok, result.error
    assert result.value == [1, ["app/views.py"]]
    assert "import os" not in (project / "app/views.py").read_text()


async def test_cancelling_a_paused_block_leaves_a_usable_sandbox(ctx: ToolContext, project: Path) -> None:
    """A run cancelled while it waits at the gate writes nothing; the next block runs in a fresh session."""
    asked = asyncio.Event()

    async def never_answers(request: PermissionRequest) -> PermissionDecision:
        asked.set()
        await asyncio.Event().wait()
        return "allow"

    async with CodeSandbox(ctx, limits=FAST_LIMITS, policy=never_answers) as box:
        assert (await box.run("kept = 1")).ok
        run = asyncio.create_task(box.run("file_write('late.txt', 'x')"))
        await asyncio.wait_for(asked.wait(), timeout=10)
        run.cancel()
        with pytest.raises(asyncio.CancelledError):
            await run
        after = await box.run("file_list('app').file_count")
        forgotten = await box.run("kept")
    assert after.ok, after.error
    assert after.value == 4
    assert forgotten.error is not None and forgotten.error.kind == "type"
    assert not (project / "late.txt").exists()
