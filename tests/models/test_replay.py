from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic_ai import Agent
from pydantic_ai.messages import (
    ModelMessage,
    ModelRequest,
    PartDeltaEvent,
    TextPart,
    TextPartDelta,
    ToolCallPart,
    UserPromptPart,
)
from pydantic_ai.models import ModelRequestParameters

from punie_lsp.models import EXHAUSTED_NOTICE, ModelBackendError, ReplayModel, render_tool_call, resolve_model

CALL = render_tool_call("run_code", {"code": "print(ruff_check('.').error_count)"})


def _recording(path: Path, *turns: str) -> Path:
    path.write_text("".join(json.dumps({"content": turn}) + "\n" for turn in turns), encoding="utf-8")
    return path


def _ask() -> list[ModelMessage]:
    return [ModelRequest(parts=[UserPromptPart("go")])]


async def test_turns_are_consumed_in_order_across_models(tmp_path: Path) -> None:
    """Two models on the same file share one cursor: the turns come out once, in file order."""
    path = _recording(tmp_path / "turns.jsonl", "one", "two", "three")
    first, second = ReplayModel(path), ReplayModel(path)
    texts = []
    for model in (first, second, first):
        response = await model.request(_ask(), None, ModelRequestParameters())
        part = response.parts[0]
        assert isinstance(part, TextPart)
        texts.append(part.content)
    assert texts == ["one", "two", "three"]


async def test_exhausted_recording_ends_with_a_notice(tmp_path: Path) -> None:
    """After the last turn, a request gets the short notice text and no tool call."""
    path = _recording(tmp_path / "short.jsonl", "only")
    model = ReplayModel(path)
    await model.request(_ask(), None, ModelRequestParameters())
    response = await model.request(_ask(), None, ModelRequestParameters())
    assert response.parts == [TextPart(EXHAUSTED_NOTICE.format(name="short.jsonl"))]


async def test_agent_run_replays_a_code_mode_call_then_the_answer(tmp_path: Path) -> None:
    """A replayed tool call becomes a `run_code` call the agent runs; the next turn is the final answer."""
    path = _recording(tmp_path / "run.jsonl", f"Let me check.\n\n{CALL}", "There are no errors.")
    agent = Agent(resolve_model(f"replay:{path}", punie_home=tmp_path))
    ran: list[str] = []

    @agent.tool_plain
    def run_code(code: str) -> str:
        """Run a Python block."""
        ran.append(code)
        return "0"

    result = await agent.run("Lint the project.")
    assert ran == ["print(ruff_check('.').error_count)"]
    assert result.output == "There are no errors."


async def test_streaming_chunks_text_and_parses_calls(tmp_path: Path) -> None:
    """Streaming sends the text in chunks, holds the call markup back, and ends with the call."""
    path = _recording(tmp_path / "stream.jsonl", f"A longer sentence before the call.\n{CALL}")
    model = ReplayModel(path, chunk_size=4)
    async with model.request_stream(_ask(), None, ModelRequestParameters()) as stream:
        events = [event async for event in stream]
        response = stream.get()
    deltas = [
        e.delta.content_delta
        for e in events
        if isinstance(e, PartDeltaEvent) and isinstance(e.delta, TextPartDelta)
    ]
    assert len(deltas) > 3 and not any("<" in delta for delta in deltas)
    assert response.parts[0] == TextPart("A longer sentence before the call.")
    assert isinstance(response.parts[1], ToolCallPart) and response.finish_reason == "tool_call"


async def test_malformed_replayed_call_is_reported(tmp_path: Path) -> None:
    """A replayed turn with a truncated call is reported on the response metadata, not run."""
    path = _recording(tmp_path / "bad.jsonl", CALL[:40])
    response = await ReplayModel(path).request(_ask(), None, ModelRequestParameters())
    assert not any(isinstance(part, ToolCallPart) for part in response.parts)
    assert response.metadata and "cut off" in response.metadata["punie_malformed_tool_call"]


@pytest.mark.parametrize(
    ("line", "reason"), [("not json", "is not JSON"), ('{"text": "x"}', 'needs a string "content"')]
)
async def test_bad_recording_lines_name_the_line(tmp_path: Path, line: str, reason: str) -> None:
    """A line that is not `{"content": …}` raises a `ModelBackendError` naming the file and line."""
    path = tmp_path / "broken.jsonl"
    path.write_text('{"content": "ok"}\n' + line + "\n")
    with pytest.raises(ModelBackendError, match=f"line 2 {reason}"):
        await ReplayModel(path).request(_ask(), None, ModelRequestParameters())
