"""Agent overhead per turn with an instant scripted model, and model turns for a 5-tool task (issue #5).

Run: `uv run python -m benchmarks.agent_overhead [turns]`.
"""

from __future__ import annotations

import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart, ToolCallPart, ToolReturnPart
from pydantic_ai.models.function import AgentInfo, FunctionModel

from punie_lsp.agent.session import AgentConfig, PunieSession
from punie_lsp.models.scripted import scripted_model
from punie_lsp.tools.context import ToolContext

ROOT = Path(__file__).resolve().parent.parent
TURNS = int(sys.argv[1]) if len(sys.argv) > 1 else 200
FIVE_TOOLS = ["ruff_check", "ruff_format", "git_status", "file_list", "file_search"]
FIVE_ARGS: dict[str, dict[str, str]] = {"file_search": {"pattern": "svcs"}}


def _answer(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    return ModelResponse(parts=[TextPart("ok")])


def _code_mode(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    if isinstance(messages[-1].parts[-1], ToolReturnPart):
        return ModelResponse(parts=[TextPart("done")])
    calls = "\n".join(
        f"r{i} = {name}({', '.join(f'{k}={v!r}' for k, v in FIVE_ARGS.get(name, {}).items())})"
        for i, name in enumerate(FIVE_TOOLS)
    )
    return ModelResponse(parts=[ToolCallPart("run_code", {"code": calls + "\n[r0.success, r4.match_count]"})])


def _json_tools(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    done = sum(isinstance(p, ToolReturnPart) for m in messages for p in m.parts)
    if done >= len(FIVE_TOOLS):
        return ModelResponse(parts=[TextPart("done")])
    name = FIVE_TOOLS[done]
    return ModelResponse(parts=[ToolCallPart(name, FIVE_ARGS.get(name, {}))])


async def _turn_times(ctx: ToolContext, model: FunctionModel, turns: int) -> list[float]:
    times: list[float] = []
    async with PunieSession(model=model, ctx=ctx, config=AgentConfig(context_window=10**9)) as session:
        for _ in range(turns + 5):
            session.history = []
            start = time.perf_counter()
            await session.prompt("hi")
            times.append(time.perf_counter() - start)
    return times[5:]


async def _requests(ctx: ToolContext, model: FunctionModel, *, code_mode: bool) -> tuple[int, int, float]:
    async with PunieSession(model=model, ctx=ctx, config=AgentConfig(code_mode=code_mode)) as session:
        start = time.perf_counter()
        result = await session.prompt("Check the project with five tools")
        elapsed = time.perf_counter() - start
    tool_turns = result.usage.requests - 1
    return result.usage.requests, tool_turns, elapsed


async def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="punie-agent-bench-"))
    shutil.copytree(ROOT / "fixtures" / "webapp", work / "webapp")
    await (await asyncio.create_subprocess_exec("git", "init", "-q", cwd=work / "webapp")).wait()
    ctx = ToolContext.for_root(work / "webapp")
    times = await _turn_times(ctx, scripted_model(_answer), TURNS)
    median = statistics.median(times) * 1000
    p95 = statistics.quantiles(times, n=20)[18] * 1000
    print(
        f"Agent overhead per turn, instant scripted model, {TURNS} turns: median {median:.2f} ms, p95 {p95:.2f} ms"
    )
    print("  (target: median < 5 ms)")
    code_requests, code_tool_turns, code_s = await _requests(ctx, scripted_model(_code_mode), code_mode=True)
    json_requests, json_tool_turns, json_s = await _requests(
        ctx, scripted_model(_json_tools), code_mode=False
    )
    print("5-tool task:")
    print(
        f"  Code Mode : {code_tool_turns} tool-calling turn(s), {code_requests} model requests, {code_s * 1000:.0f} ms"
    )
    print(
        f"  JSON tools: {json_tool_turns} tool-calling turn(s), {json_requests} model requests, {json_s * 1000:.0f} ms"
    )
    print(f"  ratio of model requests: {code_requests / json_requests:.2f} (target 1 tool turn vs 5+1)")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
