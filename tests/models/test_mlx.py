from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from pydantic_ai import Agent, AgentRunResultEvent, ToolOutput
from pydantic_ai.messages import (
    ModelMessage,
    ModelRequest,
    PartDeltaEvent,
    PartStartEvent,
    TextPart,
    TextPartDelta,
    ToolCallPart,
    ToolReturnPart,
    UserPromptPart,
)
from pydantic_ai.models import ModelRequestParameters
from pydantic_ai.settings import ModelSettings
from pydantic_ai.tools import ToolDefinition

from punie_lsp.models import MLXModel, ModelBackendError, resolve_model
from tests.models.tiny_model import CONTEXT_WINDOW, TOOL_CODE

RUN_CODE_TOOL = ToolDefinition(
    name="run_code",
    description="Run a Python block that calls Punie's tools.",
    parameters_json_schema={
        "type": "object",
        "properties": {"code": {"type": "string"}},
        "required": ["code"],
    },
)
PARAMS = ModelRequestParameters(function_tools=[RUN_CODE_TOOL])
GREEDY = ModelSettings(temperature=0.0, max_tokens=32)


def _ask(text: str) -> list[ModelMessage]:
    return [ModelRequest(parts=[UserPromptPart(text)], instructions="You are Punie, answering in Code Mode.")]


async def test_request_parses_the_generated_tool_call(tool_model_dir: Path, allow_requests: None) -> None:
    """The in-process model's Qwen3-Coder XML answer comes back as one `run_code` call, with usage."""
    model = MLXModel(tool_model_dir, settings=GREEDY)
    response = await model.request(_ask("Compute six times seven."), None, PARAMS)
    assert [(p.tool_name, p.args_as_dict()) for p in response.parts if isinstance(p, ToolCallPart)] == [
        ("run_code", {"code": TOOL_CODE})
    ]
    assert response.finish_reason == "tool_call"
    assert model.last_stats is not None
    assert response.usage.input_tokens == model.last_stats.prompt_tokens > 100
    assert response.usage.output_tokens == model.last_stats.generated_tokens == 6  # five script tokens + end


async def test_streaming_sends_text_deltas(text_model_dir: Path, allow_requests: None) -> None:
    """Streaming yields the answer as several text deltas that add up to the final text."""
    agent = Agent(MLXModel(text_model_dir, settings=GREEDY))
    async with agent.run_stream_events("Say hello.") as events:
        seen = [event async for event in events]
    pieces = [e.part.content for e in seen if isinstance(e, PartStartEvent) and isinstance(e.part, TextPart)]
    pieces += [
        e.delta.content_delta
        for e in seen
        if isinstance(e, PartDeltaEvent) and isinstance(e.delta, TextPartDelta)
    ]
    last = seen[-1]
    assert isinstance(last, AgentRunResultEvent)
    assert "".join(pieces) == last.result.output == "Hello from the tiny model."
    assert len(pieces) > 3


async def test_streamed_tool_call_never_shows_markup(tool_model_dir: Path, allow_requests: None) -> None:
    """While streaming a tool call, no `<tool_call>` text reaches the events; the call arrives whole."""
    model = MLXModel(tool_model_dir, settings=GREEDY)
    async with model.request_stream(_ask("Compute."), None, PARAMS) as stream:
        events = [event async for event in stream]
        response = stream.get()
    assert not any(isinstance(e, PartDeltaEvent) and isinstance(e.delta, TextPartDelta) for e in events)
    assert [p.args_as_dict() for p in response.parts if isinstance(p, ToolCallPart)] == [{"code": TOOL_CODE}]
    assert response.usage.output_tokens == 6


async def test_second_turn_prefills_only_the_new_suffix(tool_model_dir: Path, allow_requests: None) -> None:
    """The prompt cache is reused across turns: the second request prefills only the new suffix."""
    model = MLXModel(tool_model_dir, settings=GREEDY)
    first = _ask("Compute six times seven.")
    response = await model.request(first, None, PARAMS)
    first_stats = model.last_stats
    assert first_stats is not None and first_stats.cached_tokens == 0
    call = next(p for p in response.parts if isinstance(p, ToolCallPart))
    result = ModelRequest(parts=[ToolReturnPart("run_code", "42", tool_call_id=call.tool_call_id)])
    second = await model.request([*first, response, result], None, PARAMS)
    stats = model.last_stats
    assert stats is not None
    # The whole first prompt and the model's own answer (end token included) come from the cache.
    assert stats.cached_tokens == first_stats.prompt_tokens + first_stats.generated_tokens
    assert stats.prefilled_tokens < 30
    assert stats.cached_tokens + stats.prefilled_tokens == stats.prompt_tokens
    assert second.usage.cache_read_tokens == stats.cached_tokens
    uncached = MLXModel(tool_model_dir, settings=GREEDY, prompt_cache=False)
    await uncached.request([*first, response, result], None, PARAMS)
    assert uncached.last_stats is not None and uncached.last_stats.prefilled_tokens == stats.prompt_tokens


async def test_context_window_and_token_count(tool_model_dir: Path) -> None:
    """The context window comes from the config before loading; text is counted with the tokenizer."""
    model = MLXModel(tool_model_dir)
    assert model.context_window == CONTEXT_WINDOW
    assert 0 < model.count_text_tokens("You are Punie, a coding agent.") < 30
    usage = await model.count_tokens(_ask("hi"), None, PARAMS)
    assert usage.input_tokens > model.count_text_tokens("hi")


def _echo(code: str) -> str:
    return code


async def test_agent_run_with_the_mlx_spec(
    tool_model_dir: Path, allow_requests: None, tmp_path: Path
) -> None:
    """`mlx:<dir>` resolves to the in-process backend and an agent run gets the model's `run_code` call."""
    model = resolve_model(f"mlx:{tool_model_dir}", punie_home=tmp_path)
    agent = Agent(model, output_type=ToolOutput(_echo, name="run_code"), model_settings=GREEDY)
    result = await agent.run("Compute six times seven.")
    assert result.output == TOOL_CODE


async def test_cancelling_stops_generation_promptly(random_model_dir: Path, allow_requests: None) -> None:
    """Cancelling the awaiting task stops a long generation at once; the model answers the next request."""
    # Sampled, not greedy: a random model decoding greedily loops, and loops are cut short (below).
    model = MLXModel(random_model_dir, settings=ModelSettings(temperature=1.0, seed=0, max_tokens=1_000_000))
    await model.load()
    deltas = 0

    async def generate() -> None:
        nonlocal deltas
        async with model.request_stream(_ask("Ramble."), None, ModelRequestParameters()) as stream:
            async for _ in stream:
                deltas += 1

    task = asyncio.create_task(generate())
    await asyncio.sleep(1.0)
    assert not task.done(), task.exception() or model.last_stats
    assert deltas > 0
    started = time.monotonic()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await model.request(_ask("Again."), ModelSettings(max_tokens=4), ModelRequestParameters())
    assert time.monotonic() - started < 1.0
    assert model.last_stats is not None and model.last_stats.generated_tokens == 4


async def test_missing_model_fails_with_a_backend_error(tmp_path: Path, allow_requests: None) -> None:
    """A directory without weights fails on load with a `ModelBackendError` naming it."""
    (tmp_path / "config.json").write_text('{"model_type": "qwen3"}')
    model = MLXModel(tmp_path)
    with pytest.raises(ModelBackendError, match="cannot load MLX model"):
        await model.request(_ask("hi"), None, PARAMS)


def test_requests_are_refused_without_permission(tool_model_dir: Path) -> None:
    """With `ALLOW_MODEL_REQUESTS` off (the tests' default) the in-process model refuses to generate."""
    with pytest.raises(RuntimeError, match="ALLOW_MODEL_REQUESTS"):
        asyncio.run(MLXModel(tool_model_dir).request(_ask("hi"), None, PARAMS))


async def test_a_generation_that_loops_is_cut_short(random_model_dir: Path, allow_requests: None) -> None:
    """Greedy decoding of a random model falls into a loop; it stops long before the token limit."""
    model = MLXModel(random_model_dir, settings=ModelSettings(temperature=0.0, max_tokens=5_000))
    await model.request(_ask("Ramble."), None, ModelRequestParameters())
    stats = model.last_stats
    assert stats is not None and stats.finish_reason == "length"
    assert 32 <= stats.generated_tokens < 1_000


def test_loop_detection_needs_four_verbatim_repeats() -> None:
    """Four repeats of an 8–80-token span count as a loop; three do not, nor under 32 repeated tokens."""
    from punie_lsp.models.mlx import _looping

    prompt = [7] * 50
    assert _looping([*prompt, 1, *list(range(10)) * 4], start=50)
    assert not _looping([*prompt, *list(range(10)) * 3], start=50)
    assert not _looping([*prompt, *[1, 2, 3] * 10], start=50)
    assert not _looping(list(range(10)) * 4, start=20)  # the repeats reach into the prompt
