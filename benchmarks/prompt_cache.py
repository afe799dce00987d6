"""Second-turn prefill with vs without the MLX prompt cache (target: with ≤ 0.3× without).

Run: `uv run python -m benchmarks.prompt_cache`. Builds the tiny scripted test model (the same builder as
the tests), plays a Code Mode turn — a system prompt of about 2,000 tokens (with the tiny tokenizer), the user's request, the model's
`run_code` call — then measures the second request of the turn (history + tool result): the time to the
first new token with the session's prompt cache, and with the cache turned off.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
from pathlib import Path

from pydantic_ai.messages import ModelMessage, ModelRequest, ToolCallPart, ToolReturnPart, UserPromptPart
from pydantic_ai.models import ModelRequestParameters, override_allow_model_requests
from pydantic_ai.settings import ModelSettings
from pydantic_ai.tools import ToolDefinition

from punie_lsp.models import GenerationStats, MLXModel
from tests.models.tiny_model import build_tiny_model

REPEAT = 5
RUN_CODE = ToolDefinition(
    name="run_code",
    description="Run a Python block that calls Punie's typed tools.",
    parameters_json_schema={
        "type": "object",
        "properties": {"code": {"type": "string"}},
        "required": ["code"],
    },
)
PARAMS = ModelRequestParameters(function_tools=[RUN_CODE])
SETTINGS = ModelSettings(temperature=0.0, max_tokens=16)
SYSTEM = "\n".join(
    f"- `{name}(path: str) -> {name.title()}Result`: runs {name} on `path` and returns typed findings "
    f"(`.errors`, `.error_count`, `.warnings`); read the fields, never parse the text output."
    for name in ("ruff_check", "ty_check", "pytest_run", "read_file", "write_file", "grep", "git_diff") * 2
)


def _first_turn() -> list[ModelMessage]:
    return [ModelRequest(parts=[UserPromptPart("Fix the lint errors in app/views.py.")], instructions=SYSTEM)]


async def _second_turn(model: MLXModel) -> GenerationStats:
    """Play turn one, then return the stats of the second request (history + tool result)."""
    history = _first_turn()
    response = await model.request(history, SETTINGS, PARAMS)
    call = next(part for part in response.parts if isinstance(part, ToolCallPart))
    result = ModelRequest(
        parts=[ToolReturnPart("run_code", "3 errors fixed", tool_call_id=call.tool_call_id)]
    )
    await model.request([*history, response, result], SETTINGS, PARAMS)
    assert model.last_stats is not None
    return model.last_stats


async def main() -> int:
    with tempfile.TemporaryDirectory() as tmp, override_allow_model_requests(True):
        model_dir = build_tiny_model(Path(tmp) / "tiny")
        cached = MLXModel(model_dir)
        uncached = MLXModel(model_dir, prompt_cache=False)
        await _second_turn(cached)  # warm-up: load, compile
        await _second_turn(uncached)
        with_cache: list[GenerationStats] = []
        without_cache: list[GenerationStats] = []
        for _ in range(REPEAT):
            cached.reset_prompt_cache()
            with_cache.append(await _second_turn(cached))
            without_cache.append(await _second_turn(uncached))
    on = statistics.median(s.prefill_seconds for s in with_cache)
    off = statistics.median(s.prefill_seconds for s in without_cache)
    sample_on, sample_off = with_cache[0], without_cache[0]
    print(f"prompt tokens (second turn):    {sample_on.prompt_tokens}")
    print(
        f"with prompt cache:    {on * 1000:8.2f} ms  "
        f"({sample_on.prefilled_tokens} prefilled, {sample_on.cached_tokens} from cache)"
    )
    print(f"without prompt cache: {off * 1000:8.2f} ms  ({sample_off.prefilled_tokens} prefilled)")
    ratio = on / off
    print(f"ratio: {ratio:.3f}x (target <= 0.3x) -> {'OK' if ratio <= 0.3 else 'MISSED'}")
    return 0 if ratio <= 0.3 else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
