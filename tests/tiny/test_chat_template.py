"""punie-tiny's chat template: Punie's tool format on Gemma's turn markers, Jinja and Python twins agree."""

from __future__ import annotations

import pytest
from transformers.utils.chat_template_utils import render_jinja_template

from punie_lsp.models.chat_format import ChatMessage, ChatTool, render_tool_call
from punie_lsp.models.parser import parse_response
from punie_lsp.models.tiny import PUNIE_GEMMA_CHAT_TEMPLATE, render_gemma_chat

RUN_CODE: ChatTool = {
    "type": "function",
    "function": {
        "name": "run_code",
        "description": "Run Python that calls Punie's typed tools.",
        "parameters": {
            "type": "object",
            "properties": {"code": {"type": "string", "description": "The Python block."}},
            "required": ["code"],
        },
    },
}
CODE = "r = ruff_check('.')\nprint(r.violation_count)"


def _jinja(messages: list[ChatMessage], tools: list[ChatTool], add_generation_prompt: bool = True) -> str:
    rendered = render_jinja_template(
        [[dict(m) for m in messages]],
        tools=[dict(t) for t in tools] or None,
        chat_template=PUNIE_GEMMA_CHAT_TEMPLATE,
        add_generation_prompt=add_generation_prompt,
        bos_token="<bos>",
    )
    text = rendered[0][0] if isinstance(rendered, tuple) else rendered[0]
    assert isinstance(text, str)
    return text


def _turn(style: str) -> list[ChatMessage]:
    """System, user, a `run_code` call (as content or structured), two tool results, an answer, a user."""
    call: ChatMessage
    if style == "content":
        call = {
            "role": "assistant",
            "content": "Let me check.\n\n" + render_tool_call("run_code", {"code": CODE}),
        }
    else:
        call = {
            "role": "assistant",
            "content": "Let me check.",
            "tool_calls": [
                {"type": "function", "function": {"name": "run_code", "arguments": {"code": CODE}}}
            ],
        }
    return [
        {"role": "system", "content": "You are Punie."},
        {"role": "user", "content": "How many ruff violations?"},
        call,
        {"role": "tool", "content": "2", "name": "run_code", "tool_call_id": "a"},
        {"role": "tool", "content": "done", "name": "run_code", "tool_call_id": "b"},
        {"role": "assistant", "content": "There are 2."},
        {"role": "user", "content": "Thanks."},
    ]


CASES: dict[str, tuple[list[ChatMessage], list[ChatTool]]] = {
    "plain": ([{"role": "user", "content": "hi"}], []),
    "system only": ([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}], []),
    "tools, no system": ([{"role": "user", "content": "hi"}], [RUN_CODE]),
    "several tools, several or no parameters": (
        [{"role": "user", "content": "hi"}],
        [
            RUN_CODE,
            {
                "type": "function",
                "function": {
                    "name": "file_edit",
                    "description": "",
                    "parameters": {
                        "type": "object",
                        "properties": {"path": {"type": "string"}, "old": {"type": "string"}},
                    },
                },
            },
            {
                "type": "function",
                "function": {"name": "git_status", "description": "Status.", "parameters": {}},
            },
        ],
    ),
    "tool turn (content)": (_turn("content"), [RUN_CODE]),
    "tool turn (structured)": (_turn("structured"), [RUN_CODE]),
    "system without a user turn": ([{"role": "system", "content": "S"}], [RUN_CODE]),
    "starts with a model turn": (
        [{"role": "system", "content": "S"}, {"role": "assistant", "content": "Hello."}],
        [],
    ),
    "later system message": (
        [
            {"role": "user", "content": "a"},
            {"role": "system", "content": "note"},
            {"role": "user", "content": "b"},
        ],
        [],
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_jinja_template_matches_the_python_twin(name: str) -> None:
    """The tokenizer's template and `render_gemma_chat` render exactly the same text."""
    messages, tools = CASES[name]
    for generation in (True, False):
        assert _jinja(messages, tools, generation) == render_gemma_chat(
            messages, tools=tools, add_generation_prompt=generation
        )


def test_a_tool_call_turn_renders_on_gemma_markers() -> None:
    """System text and tools open the first user turn; calls and results keep Punie's XML format."""
    content = render_gemma_chat(_turn("content"), tools=[RUN_CODE])
    assert content == render_gemma_chat(_turn("structured"), tools=[RUN_CODE])
    assert content.startswith(
        "<bos><start_of_turn>user\nYou are Punie.\n\n# Tools\n"
        "- run_code(code): Run Python that calls Punie's typed tools.\n\nTo call a tool, reply with only:\n"
        "<tool_call>\n<function=NAME>\n<parameter=ARGUMENT>\nvalue\n</parameter>\n</function>\n</tool_call>"
        "\n\nHow many ruff violations?<end_of_turn>\n<start_of_turn>model\nLet me check.\n\n"
    )
    assert "<|im_start|>" not in content
    assert (
        "</tool_call><end_of_turn>\n<start_of_turn>user\n<tool_response>\n2\n</tool_response>\n"
        "<tool_response>\ndone\n</tool_response>\n<end_of_turn>\n"
        "<start_of_turn>model\nThere are 2.<end_of_turn>\n"
    ) in content
    assert content.endswith("<start_of_turn>user\nThanks.<end_of_turn>\n<start_of_turn>model\n")
    model_turn = content.split("<start_of_turn>model\n")[1].split("<end_of_turn>")[0]
    parsed = parse_response(model_turn)
    assert [(c.tool_name, c.args_as_dict()) for c in parsed.tool_calls] == [("run_code", {"code": CODE})]


def test_no_system_and_no_tools_means_no_preamble() -> None:
    """Like Punie's ChatML template: without system text or tools the user turn comes first."""
    assert render_gemma_chat([{"role": "user", "content": "hi"}]) == (
        "<bos><start_of_turn>user\nhi<end_of_turn>\n<start_of_turn>model\n"
    )
