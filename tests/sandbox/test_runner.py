"""The runner: typed results, pre-run checking, retry-shaped errors, persistence, events and output."""

from __future__ import annotations

import asyncio

import pytest

from punie_lsp.exceptions import SandboxError
from punie_lsp.sandbox import (
    CodeSandbox,
    PermissionDecision,
    PermissionRequest,
    SandboxLimits,
    ToolCallFinished,
    ToolCallStarted,
)
from punie_lsp.tools import ToolContext, ToolResult
from punie_lsp.tools.catalogue import Catalogue, ToolSpec
from punie_lsp.tools.results import FileReadResult

from .conftest import Recorder

pytestmark = pytest.mark.timeout(60)


async def test_field_access_and_loops_over_typed_results(sandbox: CodeSandbox) -> None:
    """A block loops over real ruff and ty results and reads their fields by attribute."""
    code = """
lint = ruff_check(".")
types = typecheck("app")
found = []
for v in lint.violations:
    found.append((v.file, v.line, v.code))
for e in types.errors:
    found.append((e.file, e.line, e.code))
print(lint.violation_count, types.error_count)
found
"""
    result = await sandbox.run(code)
    assert result.ok, result.error
    assert result.stdout == "1 1\n"
    assert isinstance(result.value, list)
    found = [tuple(item) for item in result.value if isinstance(item, list)]
    assert ("app/views.py", 3, "F401") in found
    assert any(item[:2] == ("app/views.py", 15) for item in found)


async def test_nested_results_cross_as_objects(sandbox: CodeSandbox) -> None:
    """Nested models (a list of errors inside a result) are attribute-access objects too."""
    result = await sandbox.run(
        "r = typecheck('app/views.py')\ne = r.errors[0]\n(e.severity, e.message[:40], e.end_line)"
    )
    assert result.ok, result.error
    assert isinstance(result.value, list)
    assert result.value[0] == "error"


async def test_wrong_field_is_rejected_before_the_block_runs(
    sandbox: CodeSandbox, recorder: Recorder
) -> None:
    """A misspelt result field fails the type check with its line, and no tool runs."""
    result = await sandbox.run("r = ruff_check('.')\nprint('ran')\nr.violation_cnt")
    assert not result.ok
    assert result.error is not None
    assert result.error.kind == "type"
    assert result.error.line == 3
    assert "violation_cnt" in result.error.message
    assert result.stdout == ""
    assert recorder.events == []
    retry = result.error.for_model()
    assert "line 3" in retry
    assert "Nothing ran" in retry


async def test_wrong_argument_type_is_rejected_before_running(sandbox: CodeSandbox) -> None:
    """Passing an int where a path string is expected is a type error naming the line."""
    result = await sandbox.run("x = 1\nfile_read(123)")
    assert result.error is not None
    assert (result.error.kind, result.error.line) == ("type", 2)
    assert "Expected `str`" in result.error.message


async def test_syntax_errors_are_syntax_kind_with_a_line(sandbox: CodeSandbox) -> None:
    """Unbalanced brackets come back as a syntax error at the right line."""
    result = await sandbox.run("a = 1\nb = [1, 2\nc = 3\n")
    assert result.error is not None
    assert result.error.kind == "syntax"
    assert result.error.line is not None and result.error.line >= 2


async def test_unsupported_syntax_is_caught_at_run_time_with_a_line(sandbox: CodeSandbox) -> None:
    """Syntax the checker accepts but Monty's parser refuses (class inheritance) is still a clear error."""
    result = await sandbox.run("x = 1\nclass Mine(Exception):\n    pass\n")
    assert result.error is not None
    assert result.error.kind in ("syntax", "runtime")
    assert "inheritance" in result.error.message


async def test_runtime_errors_carry_the_failing_line_and_traceback(sandbox: CodeSandbox) -> None:
    """A runtime error reports the line inside the block, the exception and a traceback."""
    code = "def half(n: int) -> float:\n    return n / 0\n\nvalue = 1\nhalf(value)\n"
    result = await sandbox.run(code)
    assert result.error is not None
    assert result.error.kind == "runtime"
    assert result.error.line == 2
    assert result.error.message == "ZeroDivisionError: division by zero"
    assert "line 5" in result.error.details
    assert "ZeroDivisionError" in result.error.for_model()


async def test_variables_persist_between_blocks(sandbox: CodeSandbox) -> None:
    """Variables, functions and results from one block are usable, and type-checked, in the next."""
    first = await sandbox.run(
        "r = file_read('app/util.py')\ndef lines(text: str) -> int:\n    return len(text.splitlines())"
    )
    assert first.ok, first.error
    second = await sandbox.run("lines(r.content) == r.line_count")
    assert second.ok, second.error
    assert second.value is True
    third = await sandbox.run("r.line_cnt")
    assert third.error is not None and third.error.kind == "type"


async def test_rebinding_a_variable_across_blocks_type_checks(sandbox: CodeSandbox) -> None:
    """`n = 1` then `n = n + 1` and a loop variable reused with another type pass, as in plain Python."""
    for code in ("n = 1", "n = n + 1", "for i in range(3):\n    pass", "for i in ['a']:\n    pass", "n"):
        result = await sandbox.run(code)
        assert result.ok, (code, result.error)
    assert result.value == 2
    rejected = await sandbox.run("n.upper()")
    assert rejected.error is not None and rejected.error.kind == "type"


async def test_a_block_that_failed_at_run_time_keeps_what_it_bound(sandbox: CodeSandbox) -> None:
    """Names bound before a runtime error stay usable (and known to the checker) in the next block."""
    failed = await sandbox.run("kept = file_list('app')\n1 / 0")
    assert failed.error is not None and failed.error.kind == "runtime"
    again = await sandbox.run("kept.file_count")
    assert again.ok, again.error
    assert again.value == 4


async def test_events_pair_started_and_finished_with_typed_results(
    sandbox: CodeSandbox, recorder: Recorder
) -> None:
    """Every nested call emits a started and a finished event carrying arguments, result and duration."""
    result = await sandbox.run(
        "a = file_read('app/util.py', start_line=1, end_line=2)\nb = file_read(path='README.md')"
    )
    assert result.ok, result.error
    started = [e for e in recorder.events if isinstance(e, ToolCallStarted)]
    finished = [e for e in recorder.events if isinstance(e, ToolCallFinished)]
    assert [e.name for e in started] == ["file_read", "file_read"]
    assert [e.call_id for e in started] == [e.call_id for e in finished]
    assert started[0].args == {"path": "app/util.py", "start_line": 1, "end_line": 2}
    assert all(e.ok and e.duration_s > 0 and e.risk == "read" for e in finished)
    assert isinstance(finished[0].result, FileReadResult)
    assert finished[0].result.end_line == 2
    assert result.tool_calls == tuple(finished)
    assert [event.kind for event in recorder.events] == [
        "tool_call_started",
        "tool_call_finished",
        "tool_call_started",
        "tool_call_finished",
    ]


async def test_tool_errors_are_results_not_exceptions(sandbox: CodeSandbox) -> None:
    """A tool that cannot do its job returns `tool_error`; the call is reported as not ok."""
    result = await sandbox.run("r = file_read('missing.py')\n(r.success, r.tool_error)")
    assert result.ok, result.error
    assert result.value == [False, "`missing.py` does not exist"]
    assert [(c.name, c.ok, c.error) for c in result.tool_calls] == [
        ("file_read", False, "`missing.py` does not exist")
    ]


async def test_last_expression_value_is_converted_to_json(sandbox: CodeSandbox) -> None:
    """Models, tuples, sets and bytes in the last expression become JSON types."""
    result = await sandbox.run("r = file_list('app')\n{'r': r, 't': (1, 2), 's': {3}, 'b': b'hi', 'f': 1.5}")
    assert result.ok, result.error
    assert result.value == {
        "r": {
            "success": True,
            "tool_error": None,
            "files": ["app/__init__.py", "app/models.py", "app/util.py", "app/views.py"],
            "file_count": 4,
            "truncated": False,
        },
        "t": [1, 2],
        "s": [3],
        "b": "aGk=",
        "f": 1.5,
    }
    report = result.report()
    assert report.ok and report.result == result.value
    assert report.tool_calls[0].name == "file_list"


async def test_tool_names_can_be_used_as_values(sandbox: CodeSandbox) -> None:
    """A tool bound to another name (`read = file_read`) still calls through the host."""
    result = await sandbox.run("read = file_read\n[read(p).line_count for p in ['app/util.py', 'README.md']]")
    assert result.ok, result.error
    assert result.value == [13, 4]


async def test_reset_forgets_variables(sandbox: CodeSandbox) -> None:
    """After `reset()` earlier variables are unknown to the checker and the runtime."""
    assert (await sandbox.run("x = 41")).ok
    await sandbox.reset()
    result = await sandbox.run("x + 1")
    assert result.error is not None and result.error.kind == "type"


async def test_concurrent_blocks_in_one_session_are_refused(sandbox: CodeSandbox) -> None:
    """Running two blocks at once in one session is a usage error, not a corrupted session."""
    first = asyncio.create_task(sandbox.run("x = 0\nfor i in range(200000):\n    x = x + i\nx"))
    await asyncio.sleep(0)
    with pytest.raises(SandboxError, match="already running"):
        await sandbox.run("1")
    assert (await first).ok


async def test_type_checking_can_be_turned_off(ctx: ToolContext) -> None:
    """With `type_check=False` a wrong field is only found at run time, as an AttributeError."""
    async with CodeSandbox(ctx, type_check=False) as box:
        result = await box.run("r = file_read('README.md')\nr.contents")
    assert result.error is not None
    assert result.error.kind == "runtime"
    assert "AttributeError" in result.error.message


class NapResult(ToolResult):
    """How long the nap was."""

    slept: float = 0.0
    """Seconds slept."""


async def nap(ctx: ToolContext, seconds: float) -> NapResult:
    """Sleep on the host for `seconds` (a slow tool)."""
    del ctx
    await asyncio.sleep(seconds)
    return NapResult(success=True, slept=seconds)


async def test_wall_clock_limit_covers_slow_tools(ctx: ToolContext) -> None:
    """A block whose tool calls run past the wall-clock limit is stopped; the next block runs."""
    catalogue = Catalogue()
    catalogue.add(ToolSpec(name="nap", function=nap))
    limits = SandboxLimits(wall_time_s=0.3)
    async with CodeSandbox(ctx, catalogue=catalogue, limits=limits) as box:
        quick = await box.run("nap(0.01).slept")
        assert quick.ok, quick.error
        assert quick.value == 0.01
        slow = await box.run("nap(0.1)\nnap(5.0)")
        assert slow.error is not None
        assert (slow.error.kind, slow.error.fatal) == ("limit", True)
        assert "longer than 0.3 s" in slow.error.message
        assert slow.duration_s < 2
        after = await box.run("nap(0.01).success")
        assert after.ok, after.error
        assert after.value is True


async def test_waiting_for_permission_does_not_count_against_the_wall_clock(ctx: ToolContext) -> None:
    """A user taking longer than the wall-clock limit to decide does not make the block time out."""

    async def slow_user(request: PermissionRequest) -> PermissionDecision:
        await asyncio.sleep(0.5)
        return "allow"

    catalogue = Catalogue()
    catalogue.add(ToolSpec(name="gated_nap", function=nap, risk="write"))
    async with CodeSandbox(
        ctx, catalogue=catalogue, limits=SandboxLimits(wall_time_s=0.3), policy=slow_user
    ) as box:
        result = await box.run("gated_nap(0.01).slept")
    assert result.ok, result.error
    assert result.value == 0.01
    assert result.duration_s >= 0.5
