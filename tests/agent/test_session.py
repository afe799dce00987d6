"""Scripted multi-turn agent runs on the real sandbox and real tools (pydantic-ai FunctionModel)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic_ai.messages import (
    ModelMessage,
    ModelRequest,
    ModelResponse,
    TextPart,
    ToolCallPart,
    ToolReturnPart,
)
from pydantic_ai.models.function import AgentInfo

from punie_lsp.agent.events import (
    AgentEvent,
    BlockFinished,
    ContextTrimmed,
    PermissionNeeded,
    PermissionResolved,
    PlanUpdated,
    RetryScheduled,
    RunFinished,
    TextDelta,
    ToolFinished,
)
from punie_lsp.agent.permissions import ModePolicy
from punie_lsp.agent.session import AgentConfig, PunieSession
from punie_lsp.models.scripted import scripted_model as scripted
from punie_lsp.sandbox import PermissionRequest
from punie_lsp.tools.context import ToolContext


def _last_part(messages: list[ModelMessage]) -> object:
    return messages[-1].parts[-1]


def _call(code: str) -> ModelResponse:
    return ModelResponse(parts=[ToolCallPart("run_code", {"code": code})])


class Recorder:
    """Collects every event of a run."""

    def __init__(self) -> None:
        self.events: list[AgentEvent] = []

    async def __call__(self, event: AgentEvent) -> None:
        self.events.append(event)

    def of(self, kind: type) -> list:
        return [e for e in self.events if isinstance(e, kind)]


@pytest.fixture
def planted(copy_fixture: Callable[[str], Path]) -> ToolContext:
    """The planted fixture project as a workspace."""
    return ToolContext.for_root(copy_fixture("webapp_planted"))


async def test_code_mode_reads_result_fields(planted: ToolContext) -> None:
    """One block calls two tools, reads typed fields, and the model answers from the returned value."""

    def script(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        last = _last_part(messages)
        if isinstance(last, ToolReturnPart):
            return ModelResponse(parts=[TextPart(f"Found: {last.content}")])
        return _call(
            "r = ruff_check('.')\nt = typecheck('.')\n"
            "{'lint': r.violation_count, 'types': t.error_count, 'files': sorted({e.file for e in t.errors})}"
        )

    recorder = Recorder()
    async with PunieSession(model=scripted(script), ctx=planted) as session:
        result = await session.prompt("What is wrong?", on_event=recorder)
    assert result.stop_reason == "end_turn"
    assert '"lint": 2' in result.output and '"types": 2' in result.output
    assert "webapp/services.py" in result.output
    assert [e.name for e in recorder.of(ToolFinished)] == ["ruff_check", "typecheck"]
    assert recorder.of(ToolFinished)[1].result.error_count == 2
    assert "".join(e.text for e in recorder.of(TextDelta)) == result.output
    assert isinstance(recorder.events[-1], RunFinished)
    assert len(result.new_messages) == 4


async def test_type_error_is_rejected_before_running_and_retried(planted: ToolContext) -> None:
    """A misspelt field never runs: the model gets the line and message, retries, and succeeds."""
    seen: list[str] = []

    def script(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        last = _last_part(messages)
        if isinstance(last, ToolReturnPart) and last.outcome == "retried":
            seen.append(str(last.content))
            return _call("r = ruff_check('.')\nr.violation_count")
        if isinstance(last, ToolReturnPart):
            return ModelResponse(parts=[TextPart(f"{last.content}")])
        return _call("r = ruff_check('.')\nr.violation_cnt")

    recorder = Recorder()
    async with PunieSession(model=scripted(script), ctx=planted) as session:
        result = await session.prompt("Count lint problems", on_event=recorder)
    assert result.stop_reason == "end_turn"
    assert "Result:\n2" in result.output
    assert "line 2" in seen[0] and "violation_cnt" in seen[0]
    assert [e.ok for e in recorder.of(BlockFinished)] == [False, True]
    assert recorder.of(RetryScheduled)[0].attempt == 1
    assert [e.name for e in recorder.of(ToolFinished)] == ["ruff_check"]  # the bad block never ran


async def test_permission_denied_leaves_the_file_and_tells_the_model(planted: ToolContext) -> None:
    """A refused write does not happen; the block can catch the error and the model is told."""
    app = planted.workspace.root / "webapp" / "app.py"
    before = app.read_bytes()
    asked: list[PermissionRequest] = []

    async def refuse(request: PermissionRequest) -> str:
        asked.append(request)
        return "deny"

    def script(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        last = _last_part(messages)
        if isinstance(last, ToolReturnPart):
            return ModelResponse(parts=[TextPart(str(last.content))])
        return _call(
            "try:\n    file_edit('webapp/app.py', 'import os\\n', '')\n    outcome = 'edited'\n"
            "except PermissionError as e:\n    outcome = 'refused: ' + str(e)\noutcome"
        )

    recorder = Recorder()
    policy = ModePolicy(mode="ask", ask=refuse)
    async with PunieSession(model=scripted(script), ctx=planted, policy=policy) as session:
        result = await session.prompt("Remove the unused import", on_event=recorder)
    assert app.read_bytes() == before
    assert "refused" in result.output
    assert [r.tool for r in asked] == ["file_edit"]
    assert recorder.of(PermissionNeeded)[0].tool == "file_edit"
    assert recorder.of(PermissionResolved)[0].allowed is False
    assert recorder.of(ToolFinished)[0].denied


async def test_accept_edits_mode_applies_the_edit_with_a_diff(planted: ToolContext) -> None:
    """In accept-edits mode the edit runs without asking and its diff reaches the event stream."""

    def script(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        if isinstance(_last_part(messages), ToolReturnPart):
            return ModelResponse(parts=[TextPart("done")])
        return _call("file_edit('webapp/app.py', 'import os\\n\\n', '').replacements")

    recorder = Recorder()
    async with PunieSession(
        model=scripted(script), ctx=planted, policy=ModePolicy(mode="accept-edits")
    ) as session:
        await session.prompt("Remove the unused import", on_event=recorder)
    finished = recorder.of(ToolFinished)[0]
    assert finished.ok and "-import os" in (finished.diff or "")
    assert "import os" not in (planted.workspace.root / "webapp" / "app.py").read_text()
    assert not recorder.of(PermissionNeeded)


async def test_plan_updates_are_events(planted: ToolContext) -> None:
    """`update_plan` inside a block becomes a plan event."""

    def script(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        if isinstance(_last_part(messages), ToolReturnPart):
            return ModelResponse(parts=[TextPart("planned")])
        return _call("update_plan(['check', 'fix', 'test'], completed=1).success")

    recorder = Recorder()
    async with PunieSession(model=scripted(script), ctx=planted) as session:
        await session.prompt("Plan it", on_event=recorder)
    plan = recorder.of(PlanUpdated)[0]
    assert [(e.content, e.status) for e in plan.entries] == [
        ("check", "completed"),
        ("fix", "in_progress"),
        ("test", "pending"),
    ]


async def test_cancel_stops_a_running_block_promptly(planted: ToolContext) -> None:
    """Cancelling during an endless block ends the turn as cancelled in well under a second."""

    def script(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        return _call("n = 0\nwhile True:\n    n = n + 1\n    r = file_list('.')\n")

    recorder = Recorder()
    config = AgentConfig()
    async with PunieSession(model=scripted(script), ctx=planted, config=config) as session:
        task = asyncio.create_task(session.prompt("loop", on_event=recorder))
        await asyncio.sleep(1.0)
        loop = asyncio.get_running_loop()
        started = loop.time()
        session.cancel()
        result = await asyncio.wait_for(task, 5)
        elapsed = loop.time() - started
    assert result.stop_reason == "cancelled"
    assert elapsed < 1.0
    assert recorder.of(RunFinished)[0].stop_reason == "cancelled"


async def test_json_tools_fallback(planted: ToolContext) -> None:
    """Without Code Mode each catalogue tool is a JSON tool; results come back as JSON."""

    def script(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        assert "run_code" not in {t.name for t in info.function_tools}
        last = _last_part(messages)
        if isinstance(last, ToolReturnPart):
            return ModelResponse(parts=[TextPart(str(last.content)[:200])])
        return ModelResponse(parts=[ToolCallPart("ruff_check", {"path": "webapp"})])

    recorder = Recorder()
    async with PunieSession(
        model=scripted(script), ctx=planted, config=AgentConfig(code_mode=False)
    ) as session:
        result = await session.prompt("lint", on_event=recorder)
    assert '"violation_count":2' in result.output
    assert recorder.of(ToolFinished)[0].name == "ruff_check"


async def test_endless_retries_end_with_a_clear_error(planted: ToolContext) -> None:
    """A model that keeps sending broken blocks stops after the retry budget with an error."""

    def script(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        return _call("this is not python(")

    async with PunieSession(
        model=scripted(script), ctx=planted, config=AgentConfig(tool_retries=2)
    ) as session:
        result = await session.prompt("go")
    assert result.stop_reason == "error"
    assert "retries" in (result.error or "")


async def test_plain_answer_without_tools(planted: ToolContext) -> None:
    """A model that never calls a tool simply answers."""

    def script(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        return ModelResponse(parts=[TextPart("svcs is a service locator.")])

    async with PunieSession(model=scripted(script), ctx=planted) as session:
        first = await session.prompt("What is svcs?")
        second = await session.prompt("And again?")
    assert first.output == second.output == "svcs is a service locator."
    assert len(session.history) == 4


async def test_variables_persist_between_turns(planted: ToolContext) -> None:
    """A variable set in one turn's block is still there in the next turn."""

    def script(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        last = _last_part(messages)
        if isinstance(last, ToolReturnPart):
            return ModelResponse(parts=[TextPart(str(last.content))])
        prompt = messages[-1].parts[-1].content
        return _call("x = 41" if prompt == "set" else "x + 1")

    async with PunieSession(model=scripted(script), ctx=planted) as session:
        await session.prompt("set")
        second = await session.prompt("get")
    assert "42" in second.output


async def test_history_is_trimmed_to_the_context_window(planted: ToolContext) -> None:
    """Old turns are dropped (and the user told) when the history outgrows the context window."""

    def script(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        return ModelResponse(parts=[TextPart("x" * 1500)])

    recorder = Recorder()
    config = AgentConfig(context_window=2600, reserve_tokens=200)
    async with PunieSession(model=scripted(script), ctx=planted, config=config) as session:
        for _ in range(4):
            await session.prompt("talk", on_event=recorder)
    trimmed = recorder.of(ContextTrimmed)
    assert trimmed and trimmed[0].dropped_messages >= 2
    assert trimmed[0].estimated_tokens <= trimmed[0].budget_tokens


async def test_prompt_larger_than_context_is_a_clear_error(planted: ToolContext) -> None:
    """A prompt that cannot fit gives a clear error instead of a model call."""

    def script(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        raise AssertionError("the model must not be called")

    async with PunieSession(
        model=scripted(script), ctx=planted, config=AgentConfig(context_window=3000, reserve_tokens=100)
    ) as session:
        result = await session.prompt("y" * 50_000)
    assert result.stop_reason == "error"
    assert "context window" in (result.error or "")
    assert session.history == []


async def test_request_limit_stops_a_runaway_turn(planted: ToolContext) -> None:
    """A model that calls tools forever is stopped by the request limit."""

    def script(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        return _call("1")

    async with PunieSession(
        model=scripted(script), ctx=planted, config=AgentConfig(request_limit=3)
    ) as session:
        result = await session.prompt("go")
    assert result.stop_reason == "max_turn_requests"


def test_request_and_messages_types() -> None:
    """The scripted model's messages are pydantic-ai's own types (the history round-trips)."""
    assert ModelRequest.__name__ == "ModelRequest"


async def test_malformed_tool_call_is_retried(planted: ToolContext, tmp_path: Path) -> None:
    """A broken tool call from the model (unclosed XML) goes back as a retry with the expected format."""
    from punie_lsp.models import ReplayModel

    turns = [
        "<tool_call>\n<function=run_code>\n<parameter=code>\nr = ruff_check('.')\n",
        "<tool_call>\n<function=run_code>\n<parameter=code>\nruff_check('.').violation_count\n"
        "</parameter>\n</function>\n</tool_call>",
        "Two violations.",
    ]
    replay = tmp_path / "turns.jsonl"
    replay.write_text("".join(json.dumps({"content": t}) + "\n" for t in turns))
    recorder = Recorder()
    async with PunieSession(model=ReplayModel(replay), ctx=planted) as session:
        result = await session.prompt("lint", on_event=recorder)
    assert result.output == "Two violations."
    retry = recorder.of(RetryScheduled)[0]
    assert "could not be read" in retry.message and "<function=run_code>" in retry.message
    assert [e.name for e in recorder.of(ToolFinished)] == ["ruff_check"]
