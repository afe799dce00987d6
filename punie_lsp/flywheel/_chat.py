"""Code Mode conversations as pydantic-ai histories, rendered with the runtime's own format functions.

An example is built exactly as the agent would record it: the user prompt, a `run_code` call, the tool
return the agent makes from the block (`format_block_result` for a block that ran, the block error's
`for_model()` as a retried return for one that failed), and the final text. It is then converted with
`to_chat_messages` under the system prompt from `system_prompt`, and the `run_code` tool definition is
captured from a real `PunieSession`, so a model is trained on the text it is later served.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pydantic_ai.messages import (
    ModelMessage,
    ModelRequest,
    ModelResponse,
    RetryInfo,
    TextPart,
    ToolCallPart,
    ToolReturnPart,
    UserPromptPart,
)
from pydantic_ai.models.function import AgentInfo
from pydantic_ai.tools import ToolDefinition

from punie_lsp.agent.prompt import CODE_MODE_TOOL, format_block_result, system_prompt
from punie_lsp.agent.session import AgentConfig, PunieSession
from punie_lsp.models.chat_format import ChatMessage, ChatTool, PromptProfile, chat_tools, to_chat_messages
from punie_lsp.models.scripted import scripted_model
from punie_lsp.sandbox import BlockResult
from punie_lsp.skills import Skill
from punie_lsp.tools.catalogue import Catalogue
from punie_lsp.tools.context import ToolContext

__all__ = ("Block", "chat_messages", "code_mode_history", "runtime_tools")


@dataclass(frozen=True, kw_only=True)
class Block:
    """One Code Mode block of an example and what it really produced."""

    code: str
    """The block the assistant wrote."""
    result: BlockResult
    """The sandbox's result of running it against the fixture copy."""

    @property
    def tool_return(self) -> str:
        """What the agent sends back to the model for this block."""
        if self.result.ok:
            return format_block_result(self.result)
        assert self.result.error is not None
        return self.result.error.for_model()


def code_mode_history(prompt: str, blocks: Sequence[Block], answer: str) -> list[ModelMessage]:
    """The message history of one turn: prompt, each block and its return, then the final answer.

    A failed block becomes a `retried` tool return carrying the error's model text, as `ModelRetry` in
    the agent's `run_code` tool produces it.
    """
    retries = AgentConfig().tool_retries
    messages: list[ModelMessage] = [ModelRequest(parts=[UserPromptPart(content=prompt)])]
    failures = 0
    for index, block in enumerate(blocks):
        call_id = f"call_{index}"
        messages.append(
            ModelResponse(parts=[ToolCallPart(CODE_MODE_TOOL, {"code": block.code}, tool_call_id=call_id)])
        )
        if block.result.ok:
            part = ToolReturnPart(CODE_MODE_TOOL, block.tool_return, tool_call_id=call_id)
        else:
            failures += 1
            part = ToolReturnPart(
                CODE_MODE_TOOL,
                block.tool_return,
                tool_call_id=call_id,
                outcome="retried",
                retry=RetryInfo("model_retry", attempt=failures, max_retries=retries),
            )
        messages.append(ModelRequest(parts=[part]))
    messages.append(ModelResponse(parts=[TextPart(content=answer)]))
    return messages


def chat_messages(
    history: Sequence[ModelMessage],
    *,
    root: str,
    catalogue: Catalogue,
    skills: Iterable[Skill],
    profile: PromptProfile = "full",
) -> list[ChatMessage]:
    """The chat messages the runtime renders for `history` in a project at `root`, in a prompt profile."""
    instructions = system_prompt(root=root, tools=catalogue, skills=skills, profile=profile)
    return to_chat_messages(history, instructions=instructions)


async def runtime_tools(ctx: ToolContext) -> list[ChatTool]:
    """The tool definitions a Code Mode `PunieSession` offers its model, in chat-template form.

    Captured from a real session (one scripted request) rather than rebuilt, so a change to the agent's
    `run_code` tool reaches the training data.
    """
    captured: list[ToolDefinition] = []

    def script(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        del messages
        captured[:] = info.function_tools
        return ModelResponse(parts=[TextPart(content="ok")])

    async with PunieSession(model=scripted_model(script), ctx=ctx) as session:
        await session.prompt("ping")
    return chat_tools(captured)
