from __future__ import annotations

from pathlib import Path

from pydantic_ai import Agent
from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart, ThinkingPart, ToolCallPart
from pydantic_ai.models.function import AgentInfo, FunctionModel
from transformers import AutoTokenizer

from punie_lsp.models import (
    apply_chat_template,
    chat_tools,
    parse_response,
    render_chat,
    render_tool_call,
    request_instructions,
    to_chat_messages,
)


def _scripted_history() -> tuple[list[ModelMessage], AgentInfo]:
    """A real agent history: system prompt, instructions, one Code Mode call, its result, a final answer."""
    seen: list[AgentInfo] = []

    def answer(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        seen.append(info)
        if len(messages) == 1:
            return ModelResponse(
                parts=[
                    ThinkingPart("plan"),
                    TextPart("Checking."),
                    ToolCallPart("run_code", {"code": "print(ruff_check('.').error_count)"}),
                ]
            )
        return ModelResponse(parts=[TextPart("No errors.")])

    agent = Agent(FunctionModel(answer), system_prompt="You are Punie.", instructions="Answer in Code Mode.")

    @agent.tool_plain
    def run_code(code: str) -> str:
        """Run a Python block."""
        return "0"

    result = agent.run_sync("Lint the project.")
    return result.all_messages(), seen[-1]


def test_history_becomes_chat_messages_in_punie_format() -> None:
    """System prompt and instructions merge into one system message; calls render as XML; results as tool."""
    messages, info = _scripted_history()
    chat = to_chat_messages(
        messages[:-1], instructions=request_instructions(messages[:-1], info.model_request_parameters)
    )
    assert [m["role"] for m in chat] == ["system", "user", "assistant", "tool"]
    assert chat[0]["content"] == "You are Punie.\n\nAnswer in Code Mode."
    assert chat[2]["content"] == "Checking.\n\n" + render_tool_call(
        "run_code", {"code": "print(ruff_check('.').error_count)"}
    )
    assert chat[3]["content"] == "0" and chat[3].get("name") == "run_code"


def test_rendered_call_parses_back_to_the_same_call() -> None:
    """What the format module renders, the parser reads back unchanged (training and runtime agree)."""
    code = 'for path in ("a.py", "b.py"):\n    print(ruff_check(path).error_count)\n'
    parsed = parse_response(render_tool_call("run_code", {"code": code}))
    assert [(c.tool_name, c.args_as_dict()) for c in parsed.tool_calls] == [("run_code", {"code": code})]


def test_builtin_renderer_matches_the_jinja_template(tool_model_dir: Path) -> None:
    """`render_chat` and the tokenizer's `PUNIE_CHAT_TEMPLATE` agree, in both tool-call styles."""
    messages, info = _scripted_history()
    tokenizer = AutoTokenizer.from_pretrained(str(tool_model_dir))
    assert tokenizer is not None
    tools = chat_tools(info.function_tools)
    instructions = request_instructions(messages, info.model_request_parameters)
    content = to_chat_messages(messages, instructions=instructions)
    structured = to_chat_messages(messages, instructions=instructions, tool_call_style="structured")
    assert structured[2].get("tool_calls") and "<tool_call>" not in structured[2]["content"]
    expected = render_chat(content, tools=tools)
    assert apply_chat_template(tokenizer, content, tools=tools) == expected
    assert apply_chat_template(tokenizer, structured, tools=tools) == expected
    assert render_chat(structured, tools=tools) == expected
    assert apply_chat_template(None, content, tools=tools) == expected
    assert expected.endswith("No errors.<|im_end|>\n<|im_start|>assistant\n")
    assert (
        "<name>run_code</name>" in expected
        and "<|im_start|>user\n<tool_response>\n0\n</tool_response>" in expected
    )


def test_consecutive_tool_results_share_one_user_turn() -> None:
    """Several tool results in a row are rendered inside one user turn, as Qwen3-Coder's template does."""
    text = render_chat(
        [
            {"role": "user", "content": "go"},
            {"role": "tool", "content": "1"},
            {"role": "tool", "content": "2"},
        ],
        add_generation_prompt=False,
    )
    assert text == (
        "<|im_start|>user\ngo<|im_end|>\n<|im_start|>user\n<tool_response>\n1\n</tool_response>\n"
        "<tool_response>\n2\n</tool_response>\n<|im_end|>\n"
    )
