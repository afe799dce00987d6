"""The chat half of Punie's one prompt/format module: history to chat messages, tool-call text, templates.

Runtime (the MLX backend, the replay backend, the text fallback of OpenAI-compatible servers), evaluation
and training export all call these functions, so a model is always trained on exactly the text it is later
served. Everything here is pure: no I/O, no global state.

The tool-call format is Qwen3-Coder's XML:

```text
<tool_call>
<function=run_code>
<parameter=code>
print(1)
</parameter>
</function>
</tool_call>
```

By default assistant turns carry their tool calls *inside* their content, rendered in this format, so the
text a model sees for its own earlier turns does not depend on how a tokenizer's template would render
structured `tool_calls` (Gemma's template ignores them, Qwen2.5's renders JSON). `tool_call_style=
"structured"` produces OpenAI/Hugging Face style `tool_calls` instead, for templates that must render them.
For templates in the Qwen3-Coder family both styles give the same prompt text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Literal, NotRequired, Protocol, TypedDict

from pydantic_ai.messages import (
    BinaryContent,
    InstructionPart,
    ModelMessage,
    ModelRequest,
    ModelResponse,
    RetryFeedbackPart,
    SystemPromptPart,
    TextContent,
    TextPart,
    ToolCallPart,
    ToolReturnPart,
    UserPromptPart,
)
from pydantic_ai.models import ModelRequestParameters
from pydantic_ai.tools import ToolDefinition

__all__ = (
    "DEFAULT_SYSTEM_PROMPT",
    "PROMPT_PROFILES",
    "PUNIE_CHAT_TEMPLATE",
    "SERVING_FILE",
    "TOOL_CALLS_JINJA",
    "TOOL_CALL_CLOSE",
    "TOOL_CALL_OPEN",
    "ChatMessage",
    "ChatRole",
    "ChatTool",
    "ChatToolCall",
    "ChatToolCallFunction",
    "ChatToolFunction",
    "PromptProfile",
    "SupportsChatTemplate",
    "ToolCallStyle",
    "apply_chat_template",
    "chat_tools",
    "render_chat",
    "render_tool_call",
    "render_tools_block",
    "request_instructions",
    "to_chat_messages",
)

TOOL_CALL_OPEN = "<tool_call>"
"""Opens a tool call in model output."""
TOOL_CALL_CLOSE = "</tool_call>"
"""Closes a tool call in model output."""

DEFAULT_SYSTEM_PROMPT = "You are Punie, a local coding assistant for Python web development."
"""The system text used when tools are given but the conversation has no system message."""

ChatRole = Literal["system", "user", "assistant", "tool"]
"""Roles of chat-template messages."""

PromptProfile = Literal["full", "compact"]
"""How much the Code Mode system prompt says (see `punie_lsp.agent.prompt`): `full` for capable models,
`compact` for small ones such as punie-tiny. A model directory names its profile in `punie.json`."""
PROMPT_PROFILES: tuple[PromptProfile, ...] = ("full", "compact")
SERVING_FILE = "punie.json"
"""A model directory's note on how Punie serves it: `{"prompt_profile": "compact"}`."""

ToolCallStyle = Literal["content", "structured"]
"""How assistant tool calls reach the template: rendered into `content`, or as structured `tool_calls`."""


class ChatToolCallFunction(TypedDict):
    """The function half of a structured tool call."""

    name: str
    arguments: dict[str, Any]


class ChatToolCall(TypedDict):
    """A structured tool call, as Hugging Face chat templates expect it (arguments as a mapping)."""

    type: Literal["function"]
    function: ChatToolCallFunction


class ChatMessage(TypedDict):
    """One chat-template message."""

    role: ChatRole
    content: str
    tool_calls: NotRequired[list[ChatToolCall]]
    name: NotRequired[str]
    tool_call_id: NotRequired[str]


class ChatToolFunction(TypedDict):
    """The function half of a tool definition as chat templates receive it."""

    name: str
    description: str
    parameters: dict[str, Any]


class ChatTool(TypedDict):
    """A tool definition in the OpenAI/Hugging Face `tools` shape."""

    type: Literal["function"]
    function: ChatToolFunction


class SupportsChatTemplate(Protocol):
    """A tokenizer with a Hugging Face style chat template (`transformers` or mlx-lm's `TokenizerWrapper`)."""

    @property
    def chat_template(self) -> Any:
        """The Jinja chat template (a string, or a mapping of named templates), or `None`."""
        ...

    def apply_chat_template(self, conversation: Any, **kwargs: Any) -> Any:
        """Render `conversation` with the template."""
        ...


def _argument_text(value: object) -> str:
    """An argument value as Qwen3-Coder's template writes it (strings raw, containers as JSON)."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping | list | tuple):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def render_tool_call(name: str, arguments: Mapping[str, object]) -> str:
    """Render one tool call in Punie's tool-call format (Qwen3-Coder XML).

    Args:
        name: the tool name, usually `run_code`.
        arguments: the call's arguments; strings are written raw, containers as JSON.

    Returns:
        The `<tool_call>…</tool_call>` block, without surrounding newlines.
    """
    parameters = "".join(
        f"<parameter={key}>\n{_argument_text(value)}\n</parameter>\n" for key, value in arguments.items()
    )
    return f"{TOOL_CALL_OPEN}\n<function={name}>\n{parameters}</function>\n{TOOL_CALL_CLOSE}"


def chat_tools(tools: Sequence[ToolDefinition]) -> list[ChatTool]:
    """Convert pydantic-ai tool definitions to the `tools` list chat templates take."""
    return [
        ChatTool(
            type="function",
            function=ChatToolFunction(
                name=tool.name,
                description=tool.description or "",
                parameters=dict(tool.parameters_json_schema),
            ),
        )
        for tool in tools
    ]


def request_instructions(
    messages: Sequence[ModelMessage], model_request_parameters: ModelRequestParameters | None = None
) -> str | None:
    """The instructions in force for this request, as one string.

    The agent puts them in `model_request_parameters.instruction_parts`; a direct `Model.request` caller
    may only have them on the last `ModelRequest` of the history.
    """
    if model_request_parameters is not None and model_request_parameters.instruction_parts is not None:
        parts = model_request_parameters.instruction_parts
        return InstructionPart.join(parts) if parts else None
    for message in reversed(messages):
        if isinstance(message, ModelRequest) and message.instructions is not None:
            return message.instructions
    return None


def _user_text(part: UserPromptPart) -> str:
    """The text of a user prompt; non-text content becomes a short note (local models here read text)."""
    if isinstance(part.content, str):
        return part.content
    pieces: list[str] = []
    for item in part.content:
        if isinstance(item, str):
            pieces.append(item)
        elif isinstance(item, TextContent):
            pieces.append(item.content)
        elif isinstance(item, BinaryContent):
            pieces.append(f"[{item.media_type} attachment omitted: this model reads text only]")
        else:
            pieces.append(f"[{type(item).__name__} omitted: this model reads text only]")
    return "\n".join(pieces)


def _assistant_message(message: ModelResponse, style: ToolCallStyle) -> ChatMessage | None:
    """One assistant message: its text plus its tool calls (thinking is dropped, as Qwen does)."""
    text = "".join(part.content for part in message.parts if isinstance(part, TextPart)).strip()
    calls = [part for part in message.parts if isinstance(part, ToolCallPart)]
    if not text and not calls:
        return None
    if style == "structured":
        chat = ChatMessage(role="assistant", content=text)
        if calls:
            chat["tool_calls"] = [
                ChatToolCall(
                    type="function",
                    function=ChatToolCallFunction(name=c.tool_name, arguments=c.args_as_dict()),
                )
                for c in calls
            ]
        return chat
    blocks = [render_tool_call(c.tool_name, c.args_as_dict()) for c in calls]
    content = "\n".join(blocks)
    if text:
        content = f"{text}\n\n{content}" if content else text
    return ChatMessage(role="assistant", content=content)


def to_chat_messages(
    messages: Sequence[ModelMessage],
    *,
    instructions: str | None = None,
    tool_call_style: ToolCallStyle = "content",
) -> list[ChatMessage]:
    """Convert a pydantic-ai message history into chat-template messages.

    The leading system prompt parts and the instructions become one system message (many templates accept
    a system message only in first position); later system parts stay in place. Tool results become `tool`
    messages; retries that answer no tool call become user messages.

    Args:
        messages: the history, as the agent passes it to `Model.request`.
        instructions: the instructions in force (see `request_instructions`), appended to the system message.
        tool_call_style: `"content"` renders tool calls into the assistant text in Punie's format;
            `"structured"` passes them as `tool_calls` for the template to render.

    Returns:
        The messages, starting with the system message when there is any system text.
    """
    system_parts: list[str] = []
    chat: list[ChatMessage] = []
    for message in messages:
        if isinstance(message, ModelRequest):
            for part in message.parts:
                if isinstance(part, SystemPromptPart):
                    if chat:
                        chat.append(ChatMessage(role="system", content=part.content))
                    else:
                        system_parts.append(part.content)
                elif isinstance(part, UserPromptPart):
                    chat.append(ChatMessage(role="user", content=_user_text(part)))
                elif isinstance(part, ToolReturnPart):
                    chat.append(
                        ChatMessage(
                            role="tool",
                            content=part.model_response_str(),
                            name=part.tool_name,
                            tool_call_id=part.tool_call_id,
                        )
                    )
                elif isinstance(part, RetryFeedbackPart):
                    chat.append(ChatMessage(role="user", content=part.model_response()))
                # Other parts (availability and settings deltas) record agent state, not conversation.
        else:
            assistant = _assistant_message(message, tool_call_style)
            if assistant is not None:
                chat.append(assistant)
    if instructions:
        system_parts.append(instructions)
    if system_parts:
        chat.insert(0, ChatMessage(role="system", content="\n\n".join(system_parts)))
    return chat


_TOOL_FORMAT_INSTRUCTIONS = (
    "\n\nIf you choose to call a function ONLY reply in the following format with NO suffix:\n\n"
    "<tool_call>\n<function=example_function_name>\n<parameter=example_parameter_1>\nvalue_1\n</parameter>\n"
    "<parameter=example_parameter_2>\nThis is the value for the second parameter\nthat can span\n"
    "multiple lines\n</parameter>\n</function>\n</tool_call>\n\n<IMPORTANT>\nReminder:\n"
    "- Function calls MUST follow the specified format: an inner <function=...></function> block must be "
    "nested within <tool_call></tool_call> XML tags\n"
    "- Required parameters MUST be specified\n"
    "- You may provide optional reasoning for your function call in natural language BEFORE the function "
    "call, but NOT after\n"
    "- If there is no function call available, answer the question like normal with your current knowledge "
    "and do not tell the user about function calls\n</IMPORTANT>"
)


def render_tools_block(tools: Sequence[ChatTool]) -> str:
    """The tool section of the system message, in Qwen3-Coder's layout (starts with a blank line)."""
    out = ["\n\n# Tools\n\nYou have access to the following functions:\n\n<tools>"]
    for tool in tools:
        function = tool["function"]
        out.append(f"\n<function>\n<name>{function['name']}</name>")
        if function["description"].strip():
            out.append(f"\n<description>{function['description'].strip()}</description>")
        out.append("\n<parameters>")
        properties: Mapping[str, Any] = function["parameters"].get("properties", {})
        for param_name, param in properties.items():
            out.append(f"\n<parameter>\n<name>{param_name}</name>")
            if "type" in param:
                kind = param["type"]
                out.append(f"\n<type>{kind if isinstance(kind, str) else json.dumps(kind)}</type>")
            if param.get("description", "").strip():
                out.append(f"\n<description>{param['description'].strip()}</description>")
            out.append("\n</parameter>")
        required = function["parameters"].get("required", [])
        if required:
            out.append(f"\n<required>{json.dumps(required, ensure_ascii=False)}</required>")
        out.append("\n</parameters>\n</function>")
    out.append("\n</tools>")
    out.append(_TOOL_FORMAT_INSTRUCTIONS)
    return "".join(out)


def render_chat(
    messages: Sequence[ChatMessage], *, tools: Sequence[ChatTool] = (), add_generation_prompt: bool = True
) -> str:
    """Render messages with Punie's built-in ChatML template (Qwen3-Coder layout); `PUNIE_CHAT_TEMPLATE` twin.

    Used when a tokenizer has no chat template of its own. The Jinja twin `PUNIE_CHAT_TEMPLATE` renders the
    same text through a tokenizer, so a model can ship it as its `chat_template`.
    """
    out: list[str] = []
    rest = list(messages)
    system: str | None = None
    if rest and rest[0]["role"] == "system":
        system = rest[0]["content"]
        rest = rest[1:]
    if system is not None or tools:
        out.append("<|im_start|>system\n" + (system if system is not None else DEFAULT_SYSTEM_PROMPT))
        if tools:
            out.append(render_tools_block(tools))
        out.append("<|im_end|>\n")
    for index, message in enumerate(rest):
        role = message["role"]
        calls = message.get("tool_calls") or []
        if role == "assistant" and calls:
            out.append("<|im_start|>assistant")
            content = message["content"].strip()
            if content:
                out.append(f"\n{content}\n")
            for call in calls:
                out.append("\n" + render_tool_call(call["function"]["name"], call["function"]["arguments"]))
            out.append("<|im_end|>\n")
        elif role == "tool":
            if index == 0 or rest[index - 1]["role"] != "tool":
                out.append("<|im_start|>user\n")
            out.append(f"<tool_response>\n{message['content']}\n</tool_response>\n")
            if index == len(rest) - 1 or rest[index + 1]["role"] != "tool":
                out.append("<|im_end|>\n")
        else:
            out.append(f"<|im_start|>{role}\n{message['content']}<|im_end|>\n")
    if add_generation_prompt:
        out.append("<|im_start|>assistant\n")
    return "".join(out)


TOOL_CALLS_JINJA = (
    "{%- for call in message.tool_calls -%}"
    "{%- set call = call.function if call.function is defined else call -%}"
    "{{- '\\n<tool_call>\\n<function=' ~ call.name ~ '>\\n' -}}"
    "{%- for aname, avalue in call.arguments | items -%}"
    "{{- '<parameter=' ~ aname ~ '>\\n' -}}"
    "{%- if avalue is string -%}{{- avalue -}}"
    "{%- elif avalue is mapping or (avalue is iterable and avalue is not string) -%}{{- avalue | tojson -}}"
    "{%- else -%}{{- avalue | string -}}{%- endif -%}"
    "{{- '\\n</parameter>\\n' -}}"
    "{%- endfor -%}"
    "{{- '</function>\\n</tool_call>' -}}"
    "{%- endfor -%}"
)
"""Renders an assistant message's `tool_calls` in Punie's tool-call format (Qwen3-Coder XML); shared by
every chat template Punie ships, so training text and served text cannot drift apart."""

PUNIE_CHAT_TEMPLATE = (
    "{%- set ns = namespace(system=none) -%}"
    "{%- if messages and messages[0].role == 'system' -%}"
    "{%- set ns.system = messages[0].content -%}{%- set loop_messages = messages[1:] -%}"
    "{%- else -%}{%- set loop_messages = messages -%}{%- endif -%}"
    "{%- if ns.system is not none or tools -%}"
    "{{- '<|im_start|>system\\n' -}}"
    "{%- if ns.system is not none -%}{{- ns.system -}}{%- else -%}{{- '"
    + DEFAULT_SYSTEM_PROMPT
    + "' -}}{%- endif -%}"
    "{%- if tools -%}"
    "{{- '\\n\\n# Tools\\n\\nYou have access to the following functions:\\n\\n<tools>' -}}"
    "{%- for tool in tools -%}{%- set fn = tool.function if tool.function is defined else tool -%}"
    "{{- '\\n<function>\\n<name>' ~ fn.name ~ '</name>' -}}"
    "{%- if fn.description and fn.description | trim -%}"
    "{{- '\\n<description>' ~ (fn.description | trim) ~ '</description>' -}}{%- endif -%}"
    "{{- '\\n<parameters>' -}}"
    "{%- if fn.parameters and fn.parameters.properties -%}"
    "{%- for pname, param in fn.parameters.properties | items -%}"
    "{{- '\\n<parameter>\\n<name>' ~ pname ~ '</name>' -}}"
    "{%- if param.type is defined -%}{%- if param.type is string -%}"
    "{{- '\\n<type>' ~ param.type ~ '</type>' -}}"
    "{%- else -%}{{- '\\n<type>' ~ (param.type | tojson) ~ '</type>' -}}{%- endif -%}{%- endif -%}"
    "{%- if param.description is defined and param.description | trim -%}"
    "{{- '\\n<description>' ~ (param.description | trim) ~ '</description>' -}}{%- endif -%}"
    "{{- '\\n</parameter>' -}}"
    "{%- endfor -%}{%- endif -%}"
    "{%- if fn.parameters and fn.parameters.required -%}"
    "{{- '\\n<required>' ~ (fn.parameters.required | tojson) ~ '</required>' -}}{%- endif -%}"
    "{{- '\\n</parameters>\\n</function>' -}}"
    "{%- endfor -%}"
    "{{- '\\n</tools>' -}}"
    "{{- " + json.dumps(_TOOL_FORMAT_INSTRUCTIONS) + " -}}"
    "{%- endif -%}"
    "{{- '<|im_end|>\\n' -}}"
    "{%- endif -%}"
    "{%- for message in loop_messages -%}"
    "{%- if message.role == 'assistant' and message.tool_calls is defined and message.tool_calls -%}"
    "{{- '<|im_start|>assistant' -}}"
    "{%- if message.content and message.content | trim -%}"
    "{{- '\\n' ~ (message.content | trim) ~ '\\n' -}}{%- endif -%}"
    + TOOL_CALLS_JINJA
    + "{{- '<|im_end|>\\n' -}}"
    "{%- elif message.role == 'tool' -%}"
    "{%- if loop.first or loop.previtem.role != 'tool' -%}{{- '<|im_start|>user\\n' -}}{%- endif -%}"
    "{{- '<tool_response>\\n' ~ message.content ~ '\\n</tool_response>\\n' -}}"
    "{%- if loop.last or loop.nextitem.role != 'tool' -%}{{- '<|im_end|>\\n' -}}{%- endif -%}"
    "{%- else -%}"
    "{{- '<|im_start|>' ~ message.role ~ '\\n' ~ message.content ~ '<|im_end|>\\n' -}}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}"
)
"""Jinja twin of `render_chat`: a tokenizer `chat_template` that renders Punie's format (tools included)."""


def apply_chat_template(
    tokenizer: SupportsChatTemplate | None,
    messages: Sequence[ChatMessage],
    *,
    tools: Sequence[ChatTool] = (),
    add_generation_prompt: bool = True,
) -> str:
    """Render messages to prompt text with the tokenizer's chat template, or Punie's built-in one.

    Args:
        tokenizer: a Hugging Face or mlx-lm tokenizer; `None`, or one without a template, uses `render_chat`.
        messages: chat messages from `to_chat_messages`.
        tools: tool definitions from `chat_tools` (omitted from the template call when empty).
        add_generation_prompt: end with the opening of an assistant turn.

    Returns:
        The prompt text (not tokenized; encode it without adding special tokens).
    """
    if tokenizer is None or not tokenizer.chat_template:
        return render_chat(messages, tools=tools, add_generation_prompt=add_generation_prompt)
    text = tokenizer.apply_chat_template(
        [dict(message) for message in messages],
        tools=[dict(tool) for tool in tools] or None,
        tokenize=False,
        add_generation_prompt=add_generation_prompt,
    )
    assert isinstance(text, str), type(text)
    return text
