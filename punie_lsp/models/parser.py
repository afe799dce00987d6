r"""Punie's tolerant tool-call parser: model text in, text + `run_code` calls (+ a malformed report) out.

Three shapes become the same `ToolCallPart`:

* Qwen3-Coder XML: `<tool_call>\\n<function=run_code>\\n<parameter=code>\\n…\\n</parameter>\\n</function>\\n
  </tool_call>` (also a bare `<function=…>…</function>` without the `<tool_call>` wrapper, and an unclosed
  `<tool_call>` whose function is complete: models often stop right after `</function>`);
* JSON in `<tool_call>` (Qwen2.5): `{"name": "run_code", "arguments": {"code": "…"}}`, where `arguments`
  may itself be a JSON string and strings may hold raw newlines;
* a fenced ```` ```python ```` block, only when the caller enables `fenced_code` (for models configured to
  answer that way): it becomes `run_code(code=<block>)`.

Text outside the calls is kept (whitespace around the calls trimmed), an optional leading `<think>…</think>`
becomes thinking, and anything that looks like a call but cannot be read (unclosed, truncated, bad JSON)
is reported in `ParsedResponse.malformed` rather than guessed at: running half a code block is worse than
asking again.

`ToolCallStreamParser` is the incremental form used by streaming backends: it releases text as soon as it
is certainly not part of a call and holds it back from the first character that could open one, so a
front-end never shows raw call markup. `parse_response` is `feed(all) + finish()`, so streamed text and
parsed text are identical by construction.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic_ai.messages import ModelResponse, ModelResponsePart, TextPart, ThinkingPart, ToolCallPart
from pydantic_ai.tools import ToolDefinition

from punie_lsp.models.chat_format import TOOL_CALL_CLOSE, TOOL_CALL_OPEN, render_tool_call

__all__ = (
    "MALFORMED_METADATA_KEY",
    "RUN_CODE",
    "ParsedResponse",
    "StreamDelta",
    "ToolCallStreamParser",
    "malformed_tool_call",
    "parse_response",
    "retry_prompt",
)

RUN_CODE = "run_code"
"""The Code Mode tool: the one a fenced block becomes."""

MALFORMED_METADATA_KEY = "punie_malformed_tool_call"
"""`ModelResponse.metadata` key under which backends record a malformed call (never sent to the model)."""

_FUNCTION_OPEN = "<function="
_FUNCTION_CLOSE = "</function>"
_PARAMETER_CLOSE = "</parameter>"
_THINK_OPEN = "<think>"
_THINK_CLOSE = "</think>"
_FENCE = "```"
_FENCE_OPEN = re.compile(r"```[ \t]*(?:python3?|py)[ \t]*\r?\n")
_FENCE_OPEN_PREFIXES = ("```python\n", "```python3\n", "```py\n")
_FENCE_CLOSE = re.compile(r"(?:^|\n)[ \t]*```")
_NAME = re.compile(r"\s*([^\s<>]+?)\s*>")
_PARAMETER_OPEN = re.compile(r"<parameter=\s*([^\s<>]+?)\s*>")
_EXCERPT = 80

SegmentKind = Literal["tool_call", "function", "fence"]


@dataclass(frozen=True, kw_only=True)
class StreamDelta:
    """A piece of text the stream parser has decided is safe to show."""

    kind: Literal["text", "thinking"]
    """Answer text or thinking text."""
    content: str
    """The new characters."""


@dataclass(frozen=True, kw_only=True)
class ParsedResponse:
    """A model's answer, read: its text, its thinking, its tool calls, and what could not be read."""

    text: str
    """Text outside the calls, stripped; calls in between leave the surrounding text joined as written."""
    thinking: str = ""
    """Text of a leading `<think>…</think>` block, stripped (empty when none)."""
    tool_calls: tuple[ToolCallPart, ...] = ()
    """The calls, in order."""
    malformed: str | None = None
    """Why a call-like part could not be read (the first such problem), or `None` when all was read."""

    def parts(self) -> list[ModelResponsePart]:
        """The response parts: thinking, then text, then the tool calls (empty pieces left out)."""
        parts: list[ModelResponsePart] = []
        if self.thinking:
            parts.append(ThinkingPart(content=self.thinking))
        if self.text:
            parts.append(TextPart(content=self.text))
        parts.extend(self.tool_calls)
        return parts

    def metadata(self) -> dict[str, Any] | None:
        """The `ModelResponse.metadata` that records a malformed call, or `None`."""
        return None if self.malformed is None else {MALFORMED_METADATA_KEY: self.malformed}


@dataclass(frozen=True)
class _Segment:
    kind: SegmentKind
    body: str
    closed: bool


@dataclass
class _Emitter:
    """Releases text with surrounding whitespace trimmed, exactly as `str.strip` on the whole would."""

    kind: Literal["text", "thinking"]
    started: bool = False
    pending_ws: str = ""
    pieces: list[str] = field(default_factory=list)

    def emit(self, text: str, out: list[StreamDelta]) -> None:
        combined = self.pending_ws + text
        if not self.started:
            combined = combined.lstrip()
        body = combined.rstrip()
        self.pending_ws = combined[len(body) :]
        if body:
            self.started = True
            self.pieces.append(body)
            out.append(StreamDelta(kind=self.kind, content=body))


def _partial_suffix(text: str, markers: Sequence[str]) -> int:
    """Length of the longest suffix of `text` that is a proper prefix of one of `markers`."""
    best = 0
    for marker in markers:
        for length in range(min(len(marker) - 1, len(text)), best, -1):
            if text.endswith(marker[:length]):
                best = length
                break
    return best


class ToolCallStreamParser:
    """Incremental tool-call parser: `feed` text deltas, then `finish` for the `ParsedResponse`.

    Args:
        tools: the request's tool definitions, used to convert XML parameter strings to the declared types.
        fenced_code: read ```` ```python ```` blocks as `run_code` calls.
        thinking: the prompt already opened a `<think>` block (the output starts inside it).
    """

    def __init__(
        self, *, tools: Sequence[ToolDefinition] = (), fenced_code: bool = False, thinking: bool = False
    ) -> None:
        self._tools = {tool.name: tool for tool in tools}
        self._fenced_code = fenced_code
        self._state: Literal["start", "text", "thinking", "call"] = "thinking" if thinking else "start"
        self._buffer = ""
        self._call_kind: SegmentKind = "tool_call"
        self._segments: list[_Segment] = []
        self._text = _Emitter("text")
        self._thinking = _Emitter("thinking")
        self._finished = False
        openers = [TOOL_CALL_OPEN, _FUNCTION_OPEN, TOOL_CALL_CLOSE]
        if fenced_code:
            openers.append(_FENCE)
        self._openers = tuple(openers)

    def feed(self, delta: str) -> list[StreamDelta]:
        """Add model output; return the text and thinking now safe to show."""
        assert not self._finished, "feed() after finish()"
        self._buffer += delta
        return self._advance(final=False)

    def finish(self) -> tuple[list[StreamDelta], ParsedResponse]:
        """End of output: return the last safe deltas and the whole parsed response."""
        assert not self._finished, "finish() twice"
        out = self._advance(final=True)
        self._finished = True
        calls: list[ToolCallPart] = []
        malformed: str | None = None
        for segment in self._segments:
            parsed, problem = self._read_segment(segment)
            calls.extend(parsed)
            if problem is not None and malformed is None:
                malformed = problem
        return out, ParsedResponse(
            text="".join(self._text.pieces),
            thinking="".join(self._thinking.pieces),
            tool_calls=tuple(calls),
            malformed=malformed,
        )

    # --- scanning ---------------------------------------------------------------------------------------

    def _advance(self, *, final: bool) -> list[StreamDelta]:
        out: list[StreamDelta] = []
        while True:
            if self._state == "start":
                stripped = self._buffer.lstrip()
                if stripped.startswith(_THINK_OPEN):
                    self._buffer = stripped[len(_THINK_OPEN) :]
                    self._state = "thinking"
                elif not final and _THINK_OPEN.startswith(stripped):
                    return out
                else:
                    self._state = "text"
            elif self._state == "thinking":
                index = self._buffer.find(_THINK_CLOSE)
                if index >= 0:
                    self._thinking.emit(self._buffer[:index], out)
                    self._buffer = self._buffer[index + len(_THINK_CLOSE) :]
                    self._state = "text"
                    continue
                keep = 0 if final else _partial_suffix(self._buffer, (_THINK_CLOSE,))
                self._thinking.emit(self._buffer[: len(self._buffer) - keep], out)
                self._buffer = self._buffer[len(self._buffer) - keep :]
                return out
            elif self._state == "text":
                if not self._scan_text(out, final=final):
                    return out
            else:
                if not self._scan_call(final=final):
                    return out

    def _scan_text(self, out: list[StreamDelta], *, final: bool) -> bool:
        """Release text up to the next opener; return whether the state changed (scan again)."""
        found = [(i, marker) for marker in self._openers if (i := self._buffer.find(marker)) >= 0]
        if not found:
            keep = 0 if final else _partial_suffix(self._buffer, (*self._openers, *_FENCE_OPEN_PREFIXES))
            self._text.emit(self._buffer[: len(self._buffer) - keep], out)
            self._buffer = self._buffer[len(self._buffer) - keep :]
            return False
        index, marker = min(found)
        if marker == _FENCE:
            match = _FENCE_OPEN.match(self._buffer, index)
            if match is None:
                rest = self._buffer[index:]
                if not final and any(p.startswith(rest) for p in _FENCE_OPEN_PREFIXES):
                    self._text.emit(self._buffer[:index], out)
                    self._buffer = rest
                    return False
                # Another language's fence: plain text.
                self._text.emit(self._buffer[: index + len(_FENCE)], out)
                self._buffer = self._buffer[index + len(_FENCE) :]
                return True
            self._text.emit(self._buffer[:index], out)
            self._buffer = self._buffer[match.end() :]
            self._call_kind = "fence"
            self._state = "call"
            return True
        self._text.emit(self._buffer[:index], out)
        self._buffer = self._buffer[index + len(marker) :]
        if marker == TOOL_CALL_CLOSE:
            return True  # a stray closing tag (after a bare `<function=…>` call): dropped
        self._call_kind = "tool_call" if marker == TOOL_CALL_OPEN else "function"
        self._state = "call"
        return True

    def _scan_call(self, *, final: bool) -> bool:
        """Close the current call segment when its end marker arrives; return whether it closed."""
        if self._call_kind == "fence":
            match = _FENCE_CLOSE.search(self._buffer)
            end = (match.start(), match.end()) if match else None
        else:
            marker = TOOL_CALL_CLOSE if self._call_kind == "tool_call" else _FUNCTION_CLOSE
            index = self._buffer.find(marker)
            end = (index, index + len(marker)) if index >= 0 else None
        if end is None:
            if final:
                self._segments.append(_Segment(self._call_kind, self._buffer, closed=False))
                self._buffer = ""
                self._state = "text"
            return False
        self._segments.append(_Segment(self._call_kind, self._buffer[: end[0]], closed=True))
        self._buffer = self._buffer[end[1] :]
        self._state = "text"
        return True

    # --- reading call segments --------------------------------------------------------------------------

    def _read_segment(self, segment: _Segment) -> tuple[list[ToolCallPart], str | None]:
        match segment.kind:
            case "fence":
                if not segment.closed:
                    return [], _problem("the ```python block is not closed with ```", segment.body)
                return [ToolCallPart(tool_name=RUN_CODE, args={"code": segment.body.rstrip("\n")})], None
            case "function":
                call, problem = self._read_function(segment.body, function_closed=segment.closed)
                return ([call] if call else []), problem
            case "tool_call":
                body = segment.body.strip()
                if body.startswith("{"):
                    return self._read_json(body, closed=segment.closed)
                if _FUNCTION_OPEN in body:
                    return self._read_xml(body)
                if not segment.closed:
                    return [], _problem(f"the answer ended inside `{TOOL_CALL_OPEN}`", body)
                return [], _problem(
                    f"`{TOOL_CALL_OPEN}` holds neither a `<function=NAME>` block nor a JSON object", body
                )

    def _read_xml(self, body: str) -> tuple[list[ToolCallPart], str | None]:
        calls: list[ToolCallPart] = []
        chunks = body.split(_FUNCTION_OPEN)
        if chunks[0].strip():
            return [], _problem("text before `<function=` inside `<tool_call>`", body)
        for chunk in chunks[1:]:
            index = chunk.find(_FUNCTION_CLOSE)
            content = chunk if index < 0 else chunk[:index]
            call, problem = self._read_function(content, function_closed=index >= 0)
            if problem is not None:
                return calls, problem
            assert call is not None
            calls.append(call)
        return calls, None

    def _read_function(
        self, content: str, *, function_closed: bool
    ) -> tuple[ToolCallPart | None, str | None]:
        """Read `NAME>` + parameters (the text after `<function=`)."""
        name_match = _NAME.match(content)
        if name_match is None:
            return None, _problem("`<function=` without a `NAME>`", content)
        name = name_match.group(1)
        arguments: dict[str, Any] = {}
        position = name_match.end()
        while (opener := _PARAMETER_OPEN.search(content, position)) is not None:
            param = opener.group(1)
            close = content.find(_PARAMETER_CLOSE, opener.end())
            if close < 0:
                if not function_closed:
                    return None, _problem(
                        f"parameter `{param}` of `{name}` is not closed with `{_PARAMETER_CLOSE}` "
                        "(the answer was cut off)",
                        content,
                    )
                following = _PARAMETER_OPEN.search(content, opener.end())
                close = following.start() if following else len(content)
                position = close
            else:
                position = close + len(_PARAMETER_CLOSE)
            value = content[opener.end() : close]
            value = value.removeprefix("\n")
            value = value.removesuffix("\n")
            arguments[param] = self._convert(name, param, value)
        if not function_closed and (content[position:].strip() or not arguments):
            return None, _problem(f"the answer was cut off inside `<function={name}>`", content)
        return ToolCallPart(tool_name=name, args=arguments), None

    def _convert(self, tool_name: str, param: str, value: str) -> object:
        """Convert an XML parameter string to the type the tool declares (strings stay as written)."""
        tool = self._tools.get(tool_name)
        if tool is None:
            return value
        properties: Mapping[str, Any] = tool.parameters_json_schema.get("properties", {})
        kind = properties.get(param, {}).get("type", "string")
        if kind == "string":
            return value
        if kind == "boolean" and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value

    def _read_json(self, body: str, *, closed: bool) -> tuple[list[ToolCallPart], str | None]:
        decoder = json.JSONDecoder(strict=False)
        calls: list[ToolCallPart] = []
        position = 0
        while position < len(body):
            try:
                obj, end = decoder.raw_decode(body, position)
            except json.JSONDecodeError as error:
                reason = (
                    "the answer ended inside `<tool_call>`" if not closed else f"invalid JSON ({error.msg})"
                )
                return calls, _problem(reason, body)
            position = end
            while position < len(body) and body[position] in " \t\r\n,":
                position += 1
            if not isinstance(obj, dict) or not isinstance(obj.get("name"), str):
                return calls, _problem('a JSON tool call needs a string "name"', body)
            arguments = obj.get("arguments", obj.get("parameters", {}))
            if isinstance(arguments, str):
                try:
                    arguments = decoder.decode(arguments) if arguments.strip() else {}
                except json.JSONDecodeError as error:
                    return calls, _problem(f'"arguments" is not valid JSON ({error.msg})', body)
            if not isinstance(arguments, dict):
                return calls, _problem('"arguments" must be a JSON object', body)
            calls.append(ToolCallPart(tool_name=obj["name"], args=arguments))
        return calls, None


def _problem(reason: str, raw: str) -> str:
    excerpt = raw.strip()
    if len(excerpt) > _EXCERPT:
        excerpt = excerpt[:_EXCERPT] + "…"
    return f"{reason}: {excerpt!r}"


def parse_response(
    text: str, *, tools: Sequence[ToolDefinition] = (), fenced_code: bool = False, thinking: bool = False
) -> ParsedResponse:
    """Parse a whole model answer (see `ToolCallStreamParser` for the arguments)."""
    parser = ToolCallStreamParser(tools=tools, fenced_code=fenced_code, thinking=thinking)
    parser.feed(text)
    return parser.finish()[1]


def malformed_tool_call(response: ModelResponse) -> str | None:
    """The malformed-call report a Punie backend left on `response`, or `None`.

    The agent core turns it into a retry (for instance from an output validator raising `ModelRetry` with
    `retry_prompt(report)`), since a model that wrote a broken call meant to call a tool.
    """
    if not response.metadata:
        return None
    report = response.metadata.get(MALFORMED_METADATA_KEY)
    return report if isinstance(report, str) else None


def retry_prompt(report: str) -> str:
    """The message that asks the model to write a malformed call again, with the expected format."""
    example = render_tool_call(RUN_CODE, {"code": "..."})
    return (
        f"Your tool call could not be read ({report}). Write the whole call again in this format:\n{example}"
    )
