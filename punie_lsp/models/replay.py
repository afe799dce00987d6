"""`replay:<file>`: replays recorded assistant turns, for deterministic runs (tests, demos, client checks).

The file is JSON Lines, one turn per line: `{"content": "<text exactly as a model would produce it, tool
calls included>"}`. Turns are consumed in order across the whole process — one cursor per file, shared by
every `ReplayModel` on that file and safe across threads — so a demo that starts several runs, or a
third-party client that opens several sessions, walks through the recording once. Each turn goes through
the same parser as a real model's output, so replayed tool calls become `run_code` calls. When the turns
run out, the turn ends with a short notice text.
"""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic_ai.messages import ModelMessage, ModelResponse
from pydantic_ai.models import Model, ModelRequestParameters, StreamedResponse
from pydantic_ai.profiles import ModelProfile
from pydantic_ai.settings import ModelSettings
from pydantic_ai.tools import RunContext
from pydantic_ai.usage import RequestUsage

from punie_lsp.models._streaming import ParsedTextStreamedResponse, StreamOutcome
from punie_lsp.models.errors import ModelBackendError
from punie_lsp.models.parser import ToolCallStreamParser, parse_response

__all__ = ("EXHAUSTED_NOTICE", "ReplayModel", "reset_replay")

EXHAUSTED_NOTICE = "[replay] No recorded turns are left in {name}; the run ends here."
"""The text of a turn requested after the recording ran out (`{name}` is the file name)."""

_lock = threading.Lock()
_cursors: dict[Path, int] = {}
_turns: dict[Path, tuple[str, ...]] = {}


def reset_replay(path: Path | None = None) -> None:
    """Rewind the cursor of `path` (and forget its cached turns), or of every file when `path` is `None`."""
    with _lock:
        if path is None:
            _cursors.clear()
            _turns.clear()
        else:
            key = path.resolve()
            _cursors.pop(key, None)
            _turns.pop(key, None)


def _load(path: Path) -> tuple[str, ...]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise ModelBackendError(
            f"cannot read replay file `{path}`: {error.strerror}", backend="replay"
        ) from error
    turns: list[str] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise ModelBackendError(
                f"`{path}` line {number} is not JSON ({error.msg}); each line must be "
                '{"content": "<the assistant turn>"}',
                backend="replay",
            ) from error
        if not isinstance(record, dict) or not isinstance(record.get("content"), str):
            raise ModelBackendError(
                f'`{path}` line {number} needs a string "content" field: '
                '{"content": "<the assistant turn>"}',
                backend="replay",
            )
        turns.append(record["content"])
    return tuple(turns)


def _next_turn(path: Path) -> str | None:
    """Take the next turn of `path` (process-wide cursor), or `None` when the recording ran out."""
    key = path.resolve()
    with _lock:
        if key not in _turns:
            _turns[key] = _load(key)
        index = _cursors.get(key, 0)
        turns = _turns[key]
        if index >= len(turns):
            return None
        _cursors[key] = index + 1
        return turns[index]


@dataclass(init=False)
class ReplayModel(Model):
    """A model that answers with the recorded turns of a JSON Lines file, in order.

    Args:
        path: the recording.
        fenced_code_calls: read ```` ```python ```` blocks as `run_code` calls.
        chunk_size: characters per streamed text delta.
    """

    path: Path
    fenced_code_calls: bool
    chunk_size: int

    def __init__(
        self,
        path: Path,
        *,
        fenced_code_calls: bool = False,
        chunk_size: int = 16,
        settings: ModelSettings | None = None,
        profile: ModelProfile | None = None,
    ) -> None:
        super().__init__(settings=settings, profile=profile)
        self.path = path
        self.fenced_code_calls = fenced_code_calls
        self.chunk_size = chunk_size

    @property
    def model_name(self) -> str:
        """`replay:<file name>`."""
        return f"replay:{self.path.name}"

    @property
    def system(self) -> str:
        """The backend name."""
        return "replay"

    def _turn(self) -> tuple[str, bool]:
        """The next turn's text and whether it is recorded (rather than the exhaustion notice)."""
        turn = _next_turn(self.path)
        if turn is None:
            return EXHAUSTED_NOTICE.format(name=self.path.name), False
        return turn, True

    async def request(
        self,
        messages: list[ModelMessage],
        model_settings: ModelSettings | None,
        model_request_parameters: ModelRequestParameters,
    ) -> ModelResponse:
        """Answer with the next recorded turn."""
        model_settings, model_request_parameters = self.prepare_request(
            model_settings, model_request_parameters
        )
        text, recorded = self._turn()
        parsed = parse_response(
            text,
            tools=model_request_parameters.function_tools if recorded else (),
            fenced_code=self.fenced_code_calls and recorded,
        )
        return ModelResponse(
            parts=parsed.parts(),
            usage=RequestUsage(output_tokens=len(text.split())),
            model_name=self.model_name,
            provider_name="replay",
            finish_reason="tool_call" if parsed.tool_calls else "stop",
            metadata=parsed.metadata(),
        )

    @asynccontextmanager
    async def request_stream(
        self,
        messages: list[ModelMessage],
        model_settings: ModelSettings | None,
        model_request_parameters: ModelRequestParameters,
        run_context: RunContext[Any] | None = None,
    ) -> AsyncGenerator[StreamedResponse]:
        """Stream the next recorded turn in chunks of `chunk_size` characters."""
        model_settings, model_request_parameters = self.prepare_request(
            model_settings, model_request_parameters
        )
        text, recorded = self._turn()

        async def chunks() -> AsyncIterator[str]:
            for start in range(0, len(text), self.chunk_size):
                yield text[start : start + self.chunk_size]

        parser = ToolCallStreamParser(
            tools=model_request_parameters.function_tools if recorded else (),
            fenced_code=self.fenced_code_calls and recorded,
        )
        yield ParsedTextStreamedResponse(
            model_request_parameters=model_request_parameters,
            _model_name=self.model_name,
            _provider_name="replay",
            _chunks=chunks(),
            _parser=parser,
            _outcome=lambda: StreamOutcome(usage=RequestUsage(output_tokens=len(text.split()))),
        )
