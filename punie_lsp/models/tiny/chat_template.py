"""Punie's chat format on Gemma's turn markers: the chat template that punie-tiny's tokenizer carries.

Gemma 3's own template ignores `tools` and has no tool-call format, and mlx-lm has no tool parser for it.
So punie-tiny ships this variant of `chat_format.PUNIE_CHAT_TEMPLATE`: the same content (system text, the
Qwen3-Coder-XML tools block and tool calls, `<tool_response>` blocks), framed the Gemma way:

```text
<bos><start_of_turn>user
{system text}{tools block}

{first user message}<end_of_turn>
<start_of_turn>model
{answer, or its <tool_call> blocks}<end_of_turn>
<start_of_turn>user
<tool_response>
{result}
</tool_response>
<end_of_turn>
<start_of_turn>model
```

Differences from the ChatML twin, all following Gemma's conventions:

* Gemma has two roles only, `user` and `model`. The system text (and the tools block) is prepended to the
  first user message, separated by a blank line, as Gemma's template does; when the conversation does not
  open with a user message it becomes a user turn of its own. Later system messages are user turns.
* `<bos>` opens the prompt (Punie encodes prompts without adding special tokens).
* Turns end with `<end_of_turn>` (id 106), which `config.json` lists as an end-of-sequence token.
* The tools block is compact (`render_compact_tools_block`): one line per tool and a short example of the
  call format, about 60 tokens instead of Qwen3-Coder's 450. punie-tiny is a small model served with the
  `compact` prompt profile; it learns the format in training, and every prompt token costs prefill time on
  a CPU and training time on every record.

`render_gemma_chat` is the pure-Python twin (tests keep the two identical). Training data for punie-tiny
must be rendered with this template (through the tokenizer), never with the ChatML one.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from punie_lsp.models.chat_format import (
    DEFAULT_SYSTEM_PROMPT,
    TOOL_CALLS_JINJA,
    ChatMessage,
    ChatTool,
    render_tool_call,
)

__all__ = (
    "BOS",
    "END_OF_TURN",
    "PUNIE_GEMMA_CHAT_TEMPLATE",
    "START_OF_TURN",
    "render_compact_tools_block",
    "render_gemma_chat",
)

BOS = "<bos>"
"""Gemma's beginning-of-sequence token."""
START_OF_TURN = "<start_of_turn>"
"""Opens a turn (followed by `user` or `model` and a newline)."""
END_OF_TURN = "<end_of_turn>"
"""Closes a turn; generation stops on it."""


_TOOLS_HEADING = "\n\n# Tools"
_CALL_FORMAT = (
    "\n\nTo call a tool, reply with only:\n<tool_call>\n<function=NAME>\n<parameter=ARGUMENT>\nvalue\n"
    "</parameter>\n</function>\n</tool_call>"
)


def render_compact_tools_block(tools: Sequence[ChatTool]) -> str:
    """The tools block of punie-tiny's prompt: `- name(params): description` lines and the call format."""
    out = [_TOOLS_HEADING]
    for tool in tools:
        function = tool["function"]
        params = ", ".join(function.get("parameters", {}).get("properties", {}))
        out.append(f"\n- {function['name']}({params})")
        if function["description"].strip():
            out.append(f": {function['description'].strip()}")
    out.append(_CALL_FORMAT)
    return "".join(out)


def _system_prefix(messages: Sequence[ChatMessage], tools: Sequence[ChatTool]) -> tuple[str | None, int]:
    """The system text (with the tools block) and where the conversation proper starts."""
    start = 0
    system: str | None = None
    if messages and messages[0]["role"] == "system":
        system, start = messages[0]["content"], 1
    if system is None and not tools:
        return None, start
    text = system if system is not None else DEFAULT_SYSTEM_PROMPT
    if tools:
        text += render_compact_tools_block(tools)
    return text, start


def render_gemma_chat(
    messages: Sequence[ChatMessage], *, tools: Sequence[ChatTool] = (), add_generation_prompt: bool = True
) -> str:
    """Render messages in Punie's format on Gemma's turn markers (the twin of `PUNIE_GEMMA_CHAT_TEMPLATE`).

    Args:
        messages: chat messages from `chat_format.to_chat_messages`.
        tools: tool definitions from `chat_format.chat_tools`.
        add_generation_prompt: end with the opening of a model turn.

    Returns:
        The prompt text, starting with `<bos>`; encode it without adding special tokens.
    """
    prefix, start = _system_prefix(messages, tools)
    rest = list(messages[start:])
    out = [BOS]
    if prefix is not None and (not rest or rest[0]["role"] != "user"):
        out.append(f"{START_OF_TURN}user\n{prefix}{END_OF_TURN}\n")
        prefix = None
    for index, message in enumerate(rest):
        role = message["role"]
        calls = message.get("tool_calls") or []
        if role == "assistant" and calls:
            out.append(f"{START_OF_TURN}model")
            content = message["content"].strip()
            if content:
                out.append(f"\n{content}\n")
            for call in calls:
                out.append("\n" + render_tool_call(call["function"]["name"], call["function"]["arguments"]))
            out.append(f"{END_OF_TURN}\n")
        elif role == "tool":
            if index == 0 or rest[index - 1]["role"] != "tool":
                out.append(f"{START_OF_TURN}user\n")
            out.append(f"<tool_response>\n{message['content']}\n</tool_response>\n")
            if index == len(rest) - 1 or rest[index + 1]["role"] != "tool":
                out.append(f"{END_OF_TURN}\n")
        else:
            content = message["content"]
            if index == 0 and prefix is not None:
                content = f"{prefix}\n\n{content}"
            turn = "model" if role == "assistant" else "user"
            out.append(f"{START_OF_TURN}{turn}\n{content}{END_OF_TURN}\n")
    if add_generation_prompt:
        out.append(f"{START_OF_TURN}model\n")
    return "".join(out)


def _jinja_string(text: str) -> str:
    return json.dumps(text)


_TOOLS_JINJA = (
    "{%- set ns.prefix = ns.prefix ~ " + _jinja_string(_TOOLS_HEADING) + " -%}"
    "{%- for tool in tools -%}{%- set fn = tool.function if tool.function is defined else tool -%}"
    "{%- set ns.params = '' -%}"
    "{%- if fn.parameters and fn.parameters.properties -%}"
    "{%- for pname, param in fn.parameters.properties | items -%}"
    "{%- set ns.params = ns.params ~ (', ' if ns.params else '') ~ pname -%}"
    "{%- endfor -%}{%- endif -%}"
    "{%- set ns.prefix = ns.prefix ~ '\\n- ' ~ fn.name ~ '(' ~ ns.params ~ ')' -%}"
    "{%- if fn.description and fn.description | trim -%}"
    "{%- set ns.prefix = ns.prefix ~ ': ' ~ (fn.description | trim) -%}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- set ns.prefix = ns.prefix ~ " + _jinja_string(_CALL_FORMAT) + " -%}"
)

PUNIE_GEMMA_CHAT_TEMPLATE = (
    "{%- set ns = namespace(prefix=none, params='') -%}"
    "{%- if messages and messages[0].role == 'system' -%}"
    "{%- set ns.prefix = messages[0].content -%}{%- set loop_messages = messages[1:] -%}"
    "{%- else -%}{%- set loop_messages = messages -%}{%- endif -%}"
    "{%- if tools -%}"
    "{%- if ns.prefix is none -%}{%- set ns.prefix = "
    + _jinja_string(DEFAULT_SYSTEM_PROMPT)
    + " -%}{%- endif -%}"
    + _TOOLS_JINJA
    + "{%- endif -%}"
    "{{- bos_token -}}"
    "{%- if ns.prefix is not none and (not loop_messages or loop_messages[0].role != 'user') -%}"
    "{{- '<start_of_turn>user\\n' ~ ns.prefix ~ '<end_of_turn>\\n' -}}{%- set ns.prefix = none -%}"
    "{%- endif -%}"
    "{%- for message in loop_messages -%}"
    "{%- if message.role == 'assistant' and message.tool_calls is defined and message.tool_calls -%}"
    "{{- '<start_of_turn>model' -}}"
    "{%- if message.content and message.content | trim -%}"
    "{{- '\\n' ~ (message.content | trim) ~ '\\n' -}}{%- endif -%}"
    + TOOL_CALLS_JINJA
    + "{{- '<end_of_turn>\\n' -}}"
    "{%- elif message.role == 'tool' -%}"
    "{%- if loop.first or loop.previtem.role != 'tool' -%}{{- '<start_of_turn>user\\n' -}}{%- endif -%}"
    "{{- '<tool_response>\\n' ~ message.content ~ '\\n</tool_response>\\n' -}}"
    "{%- if loop.last or loop.nextitem.role != 'tool' -%}{{- '<end_of_turn>\\n' -}}{%- endif -%}"
    "{%- else -%}"
    "{%- set content = message.content -%}"
    "{%- if loop.first and ns.prefix is not none -%}{%- set content = ns.prefix ~ '\\n\\n' ~ content -%}"
    "{%- endif -%}"
    "{{- '<start_of_turn>' ~ ('model' if message.role == 'assistant' else 'user') ~ '\\n' ~ content"
    " ~ '<end_of_turn>\\n' -}}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- '<start_of_turn>model\\n' -}}{%- endif -%}"
)
"""Jinja twin of `render_gemma_chat`: punie-tiny's `chat_template` (tools included)."""
