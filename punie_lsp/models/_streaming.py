"""A `StreamedResponse` over plain text chunks, read with Punie's tool-call parser.

Shared by the backends that produce raw text (in-process MLX, replay, and the text fallback of
OpenAI-compatible servers): text and thinking stream as deltas while they are certainly not part of a
call; the calls are added as whole parts when the text ends.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pydantic_ai.messages import FinishReason, ModelResponseStreamEvent
from pydantic_ai.models import StreamedResponse
from pydantic_ai.usage import RequestUsage

from punie_lsp.models.parser import ParsedResponse, StreamDelta, ToolCallStreamParser


@dataclass(kw_only=True)
class StreamOutcome:
    """What the producer of the chunks knows once they end."""

    usage: RequestUsage = field(default_factory=RequestUsage)
    """Tokens in and out (as counted by the backend)."""
    finish_reason: FinishReason | None = "stop"
    """Why generation stopped (`tool_call` replaces it when calls were read)."""


@dataclass
class ParsedTextStreamedResponse(StreamedResponse):
    """Streams `chunks` through a `ToolCallStreamParser`; `outcome()` is read after the last chunk."""

    _model_name: str
    _provider_name: str
    _chunks: AsyncIterator[str]
    _parser: ToolCallStreamParser
    _outcome: Callable[[], StreamOutcome]
    _close: Callable[[], None] = lambda: None
    _timestamp: datetime = field(default_factory=lambda: datetime.now(tz=UTC))
    parsed: ParsedResponse | None = field(default=None, init=False)
    """The parsed answer, once the stream has ended."""

    async def _get_event_iterator(self) -> AsyncIterator[ModelResponseStreamEvent]:
        async for chunk in self._chunks:
            for delta in self._parser.feed(chunk):
                for event in self._delta_events(delta):
                    yield event
        deltas, parsed = self._parser.finish()
        self.parsed = parsed
        for delta in deltas:
            for event in self._delta_events(delta):
                yield event
        for call in parsed.tool_calls:
            yield self._parts_manager.handle_part(vendor_part_id=None, part=call)
        outcome = self._outcome()
        self._usage = outcome.usage
        self.finish_reason = "tool_call" if parsed.tool_calls else outcome.finish_reason
        self.metadata = parsed.metadata()

    def _delta_events(self, delta: StreamDelta) -> Iterator[ModelResponseStreamEvent]:
        if delta.kind == "text":
            yield from self._parts_manager.handle_text_delta(vendor_part_id="text", content=delta.content)
        else:
            yield from self._parts_manager.handle_thinking_delta(
                vendor_part_id="thinking", content=delta.content
            )

    async def close_stream(self) -> None:
        """Stop the producer (for MLX: the generation thread stops at its next token)."""
        self._close()

    @property
    def model_name(self) -> str:
        """The model name."""
        return self._model_name

    @property
    def provider_name(self) -> str:
        """The backend name."""
        return self._provider_name

    @property
    def provider_url(self) -> None:
        """Local backends have no URL."""
        return None

    @property
    def timestamp(self) -> datetime:
        """When the response started."""
        return self._timestamp
