"""Keeping the history inside the model's context window, and telling the user when it is trimmed."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic_ai.messages import (
    ModelMessage,
    ModelRequest,
    ModelResponse,
    UserPromptPart,
)

__all__ = ("estimate_tokens", "trim_history", "turn_starts")

CHARS_PER_TOKEN = 3.5
"""A conservative estimate for English and code with BPE tokenizers (measured counts replace it where a
model offers `count_tokens`)."""


def _message_chars(message: ModelMessage) -> int:
    total = 0
    for part in message.parts:
        content = getattr(part, "content", None)
        if isinstance(content, str):
            total += len(content)
        elif content is not None:
            total += len(str(content))
        args = getattr(part, "args", None)
        if args is not None:
            total += len(args) if isinstance(args, str) else len(str(args))
    return total


def estimate_tokens(messages: Sequence[ModelMessage], *, extra_chars: int = 0) -> int:
    """Estimated tokens of `messages` (plus `extra_chars` of system prompt)."""
    return int((sum(_message_chars(m) for m in messages) + extra_chars) / CHARS_PER_TOKEN) + 4 * len(messages)


def turn_starts(messages: Sequence[ModelMessage]) -> list[int]:
    """Indexes of messages that begin a user turn (a request carrying a user prompt)."""
    return [
        index
        for index, message in enumerate(messages)
        if isinstance(message, ModelRequest) and any(isinstance(p, UserPromptPart) for p in message.parts)
    ]


def trim_history(
    messages: list[ModelMessage], *, budget_tokens: int, extra_chars: int = 0
) -> tuple[list[ModelMessage], int]:
    """Drop the oldest whole turns until the history fits `budget_tokens`; returns (messages, dropped).

    Whole turns go together so a tool call is never separated from its return. The current turn is never
    dropped; when it alone is too large, the history is returned as is and the caller reports the error.
    """
    starts = turn_starts(messages)
    if estimate_tokens(messages, extra_chars=extra_chars) <= budget_tokens or len(starts) < 2:
        return messages, 0
    for start in starts[1:]:
        kept = messages[start:]
        if estimate_tokens(kept, extra_chars=extra_chars) <= budget_tokens:
            return kept, start
    last = starts[-1]
    return messages[last:], last


def last_response(messages: Sequence[ModelMessage]) -> ModelResponse | None:
    """The newest model response, if any."""
    for message in reversed(messages):
        if isinstance(message, ModelResponse):
            return message
    return None
