from __future__ import annotations

import pytest
from pydantic_ai.messages import ModelResponse, TextPart, ThinkingPart, ToolCallPart
from pydantic_ai.tools import ToolDefinition

from punie_lsp.models import (
    ParsedResponse,
    ToolCallStreamParser,
    malformed_tool_call,
    parse_response,
    render_tool_call,
    retry_prompt,
)

QWEN3_CODER = (
    "I'll check the lint errors first.\n\n<tool_call>\n<function=run_code>\n<parameter=code>\n"
    'result = ruff_check(path="app/views.py")\nfor e in result.errors:\n'
    "    print(e.line, e.code, e.message)\n"
    "</parameter>\n</function>\n</tool_call>"
)
QWEN3_CODER_CODE = (
    'result = ruff_check(path="app/views.py")\nfor e in result.errors:\n    print(e.line, e.code, e.message)'
)
QWEN_JSON = (
    '<tool_call>\n{"name": "run_code", "arguments": {"code": "r = pytest_run(path=\\"tests\\")\\n'
    'print(r.passed, r.failed)"}}\n</tool_call>'
)
QWEN_JSON_STRING_ARGS = (
    'Running it.\n<tool_call>\n{"name": "run_code", "arguments": "{\\"code\\": \\"print(1)\\"}"}'
    "\n</tool_call>"
)
FENCED = 'Here is the check:\n\n```python\nresult = ty_check(path=".")\nprint(result.error_count)\n```\n'

RECORD = ToolDefinition(
    name="record",
    parameters_json_schema={
        "type": "object",
        "properties": {"path": {"type": "string"}, "line": {"type": "integer"}, "fix": {"type": "boolean"}},
    },
)


def _calls(parsed: ParsedResponse) -> list[tuple[str, dict[str, object]]]:
    return [(call.tool_name, call.args_as_dict()) for call in parsed.tool_calls]


def test_qwen3_coder_xml_becomes_run_code_and_keeps_the_text() -> None:
    """Qwen3-Coder's XML call becomes one `run_code` call; the sentence before it stays as text."""
    parsed = parse_response(QWEN3_CODER)
    assert _calls(parsed) == [("run_code", {"code": QWEN3_CODER_CODE})]
    assert parsed.text == "I'll check the lint errors first."
    assert parsed.malformed is None


def test_qwen_json_becomes_the_same_call() -> None:
    """Qwen2.5's JSON inside `<tool_call>` becomes a `run_code` call with the decoded code."""
    parsed = parse_response(QWEN_JSON)
    assert _calls(parsed) == [
        ("run_code", {"code": 'r = pytest_run(path="tests")\nprint(r.passed, r.failed)'})
    ]
    assert parsed.text == ""


def test_json_arguments_given_as_a_string_are_decoded() -> None:
    """`arguments` written as a JSON string (a common Qwen habit) is decoded into the arguments object."""
    parsed = parse_response(QWEN_JSON_STRING_ARGS)
    assert _calls(parsed) == [("run_code", {"code": "print(1)"})]
    assert parsed.text == "Running it."


def test_json_with_raw_newlines_in_strings_is_accepted() -> None:
    """Code with literal newlines inside the JSON string (invalid strict JSON) is still read."""
    parsed = parse_response(
        '<tool_call>{"name": "run_code", "arguments": {"code": "a = 1\nprint(a)"}}</tool_call>'
    )
    assert _calls(parsed) == [("run_code", {"code": "a = 1\nprint(a)"})]


def test_fenced_python_block_is_a_call_only_when_enabled() -> None:
    """A ```python block becomes `run_code` for models configured to answer so, and stays text otherwise."""
    enabled = parse_response(FENCED, fenced_code=True)
    assert _calls(enabled) == [
        ("run_code", {"code": 'result = ty_check(path=".")\nprint(result.error_count)'})
    ]
    assert enabled.text == "Here is the check:"
    disabled = parse_response(FENCED)
    assert disabled.tool_calls == () and disabled.text == FENCED.strip()


def test_other_fences_stay_text() -> None:
    """A fenced block in another language is text even when fenced calls are enabled."""
    text = "Run this:\n```bash\nuv run pytest\n```"
    parsed = parse_response(text, fenced_code=True)
    assert parsed.tool_calls == () and parsed.text == text


def test_bare_function_block_and_missing_closing_tag_are_tolerated() -> None:
    """A bare `<function=…>` block, and a `<tool_call>` that never got its `</tool_call>`, are read."""
    bare = parse_response(
        "<function=run_code>\n<parameter=code>\nx = 1\n</parameter>\n</function>\n</tool_call>"
    )
    unclosed = parse_response(
        "<tool_call>\n<function=run_code>\n<parameter=code>\nx = 1\n</parameter>\n</function>"
    )
    assert _calls(bare) == _calls(unclosed) == [("run_code", {"code": "x = 1"})]
    assert bare.text == unclosed.text == "" and bare.malformed is unclosed.malformed is None


def test_several_calls_in_order() -> None:
    """Several calls, XML and JSON mixed, come back in order with the text between them."""
    text = (
        f"First.\n{render_tool_call('run_code', {'code': 'a()'})}\nThen.\n"
        '<tool_call>{"name": "run_code", "arguments": {"code": "b()"}}</tool_call>'
    )
    parsed = parse_response(text)
    assert _calls(parsed) == [("run_code", {"code": "a()"}), ("run_code", {"code": "b()"})]
    assert parsed.text == "First.\n\nThen."


def test_thinking_is_split_from_the_answer() -> None:
    """A leading `<think>…</think>` becomes thinking, before the text and the call."""
    parsed = parse_response(f"<think>\nThe user wants lint.\n</think>\n\n{QWEN3_CODER}")
    assert parsed.thinking == "The user wants lint."
    assert [type(part) for part in parsed.parts()] == [ThinkingPart, TextPart, ToolCallPart]


def test_xml_parameters_follow_the_tool_schema() -> None:
    """XML parameter strings are converted to the types the tool declares (JSON tools fallback)."""
    text = render_tool_call("record", {"path": "a.py", "line": 3, "fix": True})
    assert _calls(parse_response(text, tools=[RECORD])) == [
        ("record", {"path": "a.py", "line": 3, "fix": True})
    ]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("<tool_call>\n<function=run_code>\n<parameter=code>\nfor x in ra", "not closed with `</parameter>`"),
        ('<tool_call>\n{"name": "run_code", "arguments": {"code": "pri', "ended inside `<tool_call>`"),
        ('<tool_call>\n{"name": "run_code", "arguments": {"code": 1+}}\n</tool_call>', "invalid JSON"),
        ('<tool_call>{"arguments": {"code": "x"}}</tool_call>', 'needs a string "name"'),
        (
            '<tool_call>{"name": "run_code", "arguments": "{oops"}</tool_call>',
            '"arguments" is not valid JSON',
        ),
        (
            "<tool_call>\nrun_code(print(1))\n</tool_call>",
            "neither a `<function=NAME>` block nor a JSON object",
        ),
        ("<tool_call>\n<function=>\n</function>\n</tool_call>", "without a `NAME>`"),
        ("<tool_call>\n<function=run_code>\n<paramet", "cut off inside `<function=run_code>`"),
        ("Sure:\n```python\nprint(1)\n", "not closed with ```"),
    ],
    ids=[
        "xml-truncated",
        "json-truncated",
        "bad-json",
        "no-name",
        "bad-string-args",
        "garbage",
        "no-name-xml",
        "xml-cut-in-tag",
        "fence",
    ],
)
def test_malformed_calls_are_reported_not_run(text: str, reason: str) -> None:
    """A call that cannot be read is reported with the reason and never becomes a (half) call."""
    parsed = parse_response(text, fenced_code=True)
    assert parsed.tool_calls == ()
    assert parsed.malformed is not None and reason in parsed.malformed
    assert "<tool_call>" not in parsed.text


def test_malformed_report_travels_on_the_response_metadata() -> None:
    """The report is stored on `ModelResponse.metadata` and read back by `malformed_tool_call`."""
    parsed = parse_response("<tool_call>\n<function=run_code>\n<parameter=code>\nx")
    response = ModelResponse(parts=parsed.parts(), metadata=parsed.metadata())
    report = malformed_tool_call(response)
    assert report is not None and report == parsed.malformed
    assert "<function=run_code>" in retry_prompt(report)
    assert malformed_tool_call(ModelResponse(parts=[TextPart("ok")])) is None


@pytest.mark.parametrize("size", [1, 2, 3, 5, 8])
@pytest.mark.parametrize(
    "text",
    [
        QWEN3_CODER,
        QWEN_JSON_STRING_ARGS,
        FENCED,
        "<think>hm</think> Done `a<b` and <tool not a call",
        "Plain.",
    ],
    ids=["xml", "json", "fence", "near-markers", "plain"],
)
def test_streaming_in_any_chunks_matches_the_whole_parse(text: str, size: int) -> None:
    """Fed in chunks of any size, the stream shows exactly the parsed text, and never any call markup."""
    parser = ToolCallStreamParser(fenced_code=True)
    deltas = [delta for i in range(0, len(text), size) for delta in parser.feed(text[i : i + size])]
    tail, parsed = parser.finish()
    deltas += tail
    whole = parse_response(text, fenced_code=True)
    assert (_calls(parsed), parsed.text, parsed.thinking) == (_calls(whole), whole.text, whole.thinking)
    assert "".join(d.content for d in deltas if d.kind == "text") == parsed.text
    assert "".join(d.content for d in deltas if d.kind == "thinking") == parsed.thinking
    assert not any(
        marker in d.content for d in deltas for marker in ("<tool_call>", "<function=", "```python")
    )


def test_stream_holds_back_a_possible_opener() -> None:
    """Text ending in a prefix of `<tool_call>` is held back until the next chunk decides."""
    parser = ToolCallStreamParser()
    assert [d.content for d in parser.feed("Checking <tool_")] == ["Checking"]
    assert [d.content for d in parser.feed("box> now")] == [" <tool_box> now"]
