"""A scripted model (the test double of the models layer): one plain function decides each response.

pydantic-ai's `FunctionModel` needs a separate stream function for streamed requests; `scripted_model()`
derives it from the same script, streaming text in small chunks and tool calls as one delta each.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable

from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart, ToolCallPart
from pydantic_ai.models.function import AgentInfo, DeltaToolCall, DeltaToolCalls, FunctionModel

__all__ = ("Script", "scripted_model")

Script = Callable[[list[ModelMessage], AgentInfo], ModelResponse]
"""Decides the next response from the history and the offered tools."""


def scripted_model(script: Script, *, chunk: int = 4) -> FunctionModel:
    """A `FunctionModel` answering with `script` both with and without streaming."""

    async def stream(messages: list[ModelMessage], info: AgentInfo) -> AsyncIterator[str | DeltaToolCalls]:
        response = script(messages, info)
        for index, part in enumerate(response.parts):
            if isinstance(part, TextPart):
                for start in range(0, len(part.content), chunk):
                    yield part.content[start : start + chunk]
            elif isinstance(part, ToolCallPart):
                args = part.args if isinstance(part.args, str) else json.dumps(part.args)
                yield {
                    index: DeltaToolCall(name=part.tool_name, json_args=args, tool_call_id=part.tool_call_id)
                }

    return FunctionModel(script, stream_function=stream)
