"""OpenAI-compatible servers (chat completions) through pydantic-ai's `OpenAIChatModel`, honest about quirks.

Each preset is a default base URL plus what the server really does, captured as an `OpenAIModelProfile`:
local servers render a tool's `strict` flag into the prompt rather than enforcing it, several ignore
`tool_choice`, and whether the server turns the model's tool-call text into `tool_calls` depends on the
server (and for llama.cpp and vLLM on how it was started). `TextToolCallModel` wraps every preset: when a
response carries no native tool calls, it reads the text with Punie's parser, so a call the server left as
text still becomes a `run_code` call. Connection failures and garbage answers become `ModelBackendError`
with the server named, within bounded time (a short connect timeout, no SDK retries).
"""

from __future__ import annotations

import os
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, NoReturn

from pydantic_ai.exceptions import (
    ModelAPIError,
    ModelConnectionError,
    ModelHTTPError,
    UnexpectedModelBehavior,
)
from pydantic_ai.messages import (
    ModelMessage,
    ModelResponse,
    ModelResponsePart,
    ModelResponseStreamEvent,
    PartDeltaEvent,
    PartStartEvent,
    TextPart,
    TextPartDelta,
    ThinkingPart,
    ThinkingPartDelta,
    ToolCallPart,
)
from pydantic_ai.models import Model, ModelRequestParameters, StreamedResponse
from pydantic_ai.models.wrapper import WrapperModel
from pydantic_ai.profiles.openai import OpenAIModelProfile
from pydantic_ai.settings import ModelSettings
from pydantic_ai.tools import RunContext

from punie_lsp.models.errors import ModelBackendError
from punie_lsp.models.parser import StreamDelta, ToolCallStreamParser, parse_response

__all__ = (
    "PRESETS",
    "ServerPreset",
    "TextToolCallModel",
    "openai_compat_model",
)

API_KEY_ENV = "PUNIE_OPENAI_API_KEY"
"""Environment variable with the API key sent to OpenAI-compatible servers (local ones ignore it)."""


@dataclass(frozen=True, kw_only=True)
class ServerPreset:
    """An OpenAI-compatible server Punie knows, and what it really does."""

    name: str
    """The spec prefix (`lmstudio`, `ollama`...)."""
    label: str
    """The server's human name."""
    default_port: int
    """The port it listens on by default (host `127.0.0.1`)."""
    native_tool_calls: bool
    """Whether it turns the model's tool-call text into `tool_calls` (else Punie's parser reads the text)."""
    honours_tool_choice: bool
    """Whether `tool_choice: "required"` is enforced (else the model may answer in text anyway)."""
    supports_max_completion_tokens: bool
    """Whether it reads `max_completion_tokens` (else Punie sends `max_tokens`)."""
    notes: str
    """What to know when using it (shown in the docs and `punie model info`)."""
    path: str = "/v1"
    """The API path under the host."""

    def base_url(self, host: str = "127.0.0.1", port: int | None = None) -> str:
        """The base URL for `host:port` (default port when `None`)."""
        return f"http://{host}:{port or self.default_port}{self.path}"

    def profile(self) -> OpenAIModelProfile:
        """The server's quirks as a pydantic-ai profile."""
        return OpenAIModelProfile(
            openai_supports_strict_tool_definition=False,
            supports_forced_tool_choice=self.honours_tool_choice,
            openai_chat_supports_multiple_system_messages=False,
            openai_chat_supports_max_completion_tokens=self.supports_max_completion_tokens,
            openai_chat_supports_web_search=False,
            supports_json_schema_output=False,
        )


PRESETS: Mapping[str, ServerPreset] = {
    preset.name: preset
    for preset in (
        ServerPreset(
            name="mlx-server",
            label="mlx_lm.server",
            default_port=8080,
            native_tool_calls=True,
            honours_tool_choice=False,
            supports_max_completion_tokens=True,
            notes=(
                "Parses tool calls with the parser it infers from the chat template (Qwen3-Coder XML, JSON); "
                "a call it cannot parse is dropped from `tool_calls` with only a server-side warning. "
                "Ignores `tool_choice` and `strict`. `/v1/models` needs HF_HUB_CACHE to be an existing "
                "directory."
            ),
        ),
        ServerPreset(
            name="lmstudio",
            label="LM Studio",
            default_port=1234,
            native_tool_calls=True,
            honours_tool_choice=True,
            supports_max_completion_tokens=False,
            notes="Returns `tool_calls` for models whose template it recognises; others answer in text.",
        ),
        ServerPreset(
            name="ollama",
            label="Ollama",
            default_port=11434,
            native_tool_calls=True,
            honours_tool_choice=False,
            supports_max_completion_tokens=False,
            notes=(
                "Returns `tool_calls` only for models whose Modelfile template supports tools; ignores "
                "`tool_choice`. Model names carry a tag (`qwen3-coder:30b`)."
            ),
        ),
        ServerPreset(
            name="llamacpp",
            label="llama.cpp server",
            default_port=8080,
            native_tool_calls=False,
            honours_tool_choice=True,
            supports_max_completion_tokens=False,
            notes=(
                "Returns `tool_calls` only when started with `--jinja`; otherwise the call arrives as text "
                "and Punie's parser reads it. The model name is ignored (one model per server)."
            ),
        ),
        ServerPreset(
            name="vllm",
            label="vLLM",
            default_port=8000,
            native_tool_calls=False,
            honours_tool_choice=True,
            supports_max_completion_tokens=True,
            notes=(
                "Returns `tool_calls` only when started with `--enable-auto-tool-choice --tool-call-parser "
                "qwen3_coder` (or the model's parser); otherwise Punie's parser reads the text."
            ),
        ),
    )
}
"""The presets, by spec prefix."""

GENERIC_PROFILE = OpenAIModelProfile(
    openai_supports_strict_tool_definition=False,
    openai_chat_supports_multiple_system_messages=False,
    openai_chat_supports_web_search=False,
)
"""The profile of `openai-compat:` servers: no `strict` tools, one system message."""


def openai_compat_model(
    base_url: str,
    model: str,
    *,
    preset: ServerPreset | None = None,
    fenced_code_calls: bool = False,
    connect_timeout: float = 5.0,
    read_timeout: float = 600.0,
    settings: ModelSettings | None = None,
) -> TextToolCallModel:
    """An `OpenAIChatModel` for a local server, wrapped so that tool calls left as text are parsed.

    Args:
        base_url: the API base URL, with its `/v1`.
        model: the model name the server expects.
        preset: the server's preset (its quirks); `None` for a generic OpenAI-compatible server.
        fenced_code_calls: read ```` ```python ```` blocks in text answers as `run_code` calls.
        connect_timeout: seconds to wait for the connection (an absent server fails this fast).
        read_timeout: seconds to wait for the answer (local models on a CPU can be slow).
        settings: default model settings.
    """
    from openai import AsyncOpenAI, Timeout
    from pydantic_ai.models.openai import OpenAIChatModel
    from pydantic_ai.providers.openai import OpenAIProvider

    client = AsyncOpenAI(
        base_url=base_url,
        api_key=os.environ.get(API_KEY_ENV, "punie"),
        timeout=Timeout(read_timeout, connect=connect_timeout),
        max_retries=0,
    )
    chat = OpenAIChatModel(
        model,
        provider=OpenAIProvider(openai_client=client),
        profile=preset.profile() if preset is not None else GENERIC_PROFILE,
        settings=settings,
    )
    return TextToolCallModel(
        chat,
        server=preset.label if preset else "OpenAI-compatible server",
        fenced_code_calls=fenced_code_calls,
    )


def _read_text_calls(
    parts: list[ModelResponsePart], model_request_parameters: ModelRequestParameters, *, fenced_code: bool
) -> tuple[list[ModelResponsePart], dict[str, Any] | None]:
    """Replace text parts by Punie's reading of them when the server returned no native tool calls."""
    if any(isinstance(part, ToolCallPart) for part in parts):
        return parts, None
    text = "".join(part.content for part in parts if isinstance(part, TextPart))
    parsed = parse_response(text, tools=model_request_parameters.function_tools, fenced_code=fenced_code)
    if not parsed.tool_calls and parsed.malformed is None and parsed.text == text.strip():
        return parts, None
    kept = [part for part in parts if not isinstance(part, TextPart)]
    return [*kept, *parsed.parts()], parsed.metadata()


@dataclass(init=False)
class TextToolCallModel(WrapperModel):
    """Wraps an OpenAI-compatible chat model: parses tool calls left in text, and names server failures.

    Args:
        wrapped: the `OpenAIChatModel`.
        server: the server's human name, used in error messages.
        fenced_code_calls: read ```` ```python ```` blocks in text answers as `run_code` calls.
    """

    server: str
    fenced_code_calls: bool

    def __init__(self, wrapped: Model, *, server: str, fenced_code_calls: bool = False) -> None:
        super().__init__(wrapped)
        self.server = server
        self.fenced_code_calls = fenced_code_calls

    def _fail(self, error: Exception) -> NoReturn:
        raise _backend_error(error, server=self.server, base_url=self.base_url) from error

    async def request(
        self,
        messages: list[ModelMessage],
        model_settings: ModelSettings | None,
        model_request_parameters: ModelRequestParameters,
    ) -> ModelResponse:
        """Ask the server; read any tool call it left in the text."""
        try:
            response = await self.wrapped.request(messages, model_settings, model_request_parameters)
        except (ModelAPIError, UnexpectedModelBehavior, ValueError) as error:
            self._fail(error)
        parts, metadata = _read_text_calls(
            list(response.parts), model_request_parameters, fenced_code=self.fenced_code_calls
        )
        if metadata is None and parts is response.parts:
            return response
        finish = "tool_call" if any(isinstance(p, ToolCallPart) for p in parts) else response.finish_reason
        return replace(
            response,
            parts=parts,
            finish_reason=finish,
            metadata={**(response.metadata or {}), **(metadata or {})},
        )

    @asynccontextmanager
    async def request_stream(
        self,
        messages: list[ModelMessage],
        model_settings: ModelSettings | None,
        model_request_parameters: ModelRequestParameters,
        run_context: RunContext[Any] | None = None,
    ) -> AsyncGenerator[StreamedResponse]:
        """Stream from the server; hold back call markup in text and read it when the stream ends."""
        try:
            opened = self.wrapped.request_stream(
                messages, model_settings, model_request_parameters, run_context
            )
            inner = await opened.__aenter__()
        except (ModelAPIError, UnexpectedModelBehavior, ValueError) as error:
            self._fail(error)
        try:
            yield _TextCallStreamedResponse(
                model_request_parameters=model_request_parameters,
                _inner=inner,
                _owner=self,
                _parser=ToolCallStreamParser(
                    tools=model_request_parameters.function_tools, fenced_code=self.fenced_code_calls
                ),
            )
        except BaseException as error:
            await opened.__aexit__(type(error), error, error.__traceback__)
            raise
        else:
            await opened.__aexit__(None, None, None)


@dataclass
class _TextCallStreamedResponse(StreamedResponse):
    """Re-streams a server's stream: text through Punie's parser, native calls and thinking as they are."""

    _inner: StreamedResponse
    _owner: TextToolCallModel
    _parser: ToolCallStreamParser

    async def _get_event_iterator(self) -> AsyncIterator[ModelResponseStreamEvent]:
        try:
            async for event in self._inner:
                for out in self._map(event):
                    yield out
        except (ModelAPIError, UnexpectedModelBehavior, ValueError) as error:
            self._owner._fail(error)
        deltas, parsed = self._parser.finish()
        for delta in deltas:
            for out in self._delta_events(delta):
                yield out
        final = self._inner.get()
        native = [part for part in final.parts if isinstance(part, ToolCallPart)]
        for call in native or list(parsed.tool_calls):
            yield self._parts_manager.handle_part(vendor_part_id=None, part=call)
        self._usage = final.usage
        self.provider_response_id = final.provider_response_id
        self.finish_reason = "tool_call" if native or parsed.tool_calls else final.finish_reason
        if not native:
            self.metadata = parsed.metadata()

    def _map(self, event: ModelResponseStreamEvent) -> list[ModelResponseStreamEvent]:
        part: object = None
        content = ""
        if isinstance(event, PartStartEvent):
            part = event.part
            content = part.content if isinstance(part, TextPart | ThinkingPart) else ""
        elif isinstance(event, PartDeltaEvent):
            delta = event.delta
            if isinstance(delta, TextPartDelta):
                part, content = TextPart(content=""), delta.content_delta
            elif isinstance(delta, ThinkingPartDelta):
                part, content = ThinkingPart(content=""), delta.content_delta or ""
        if isinstance(part, TextPart) and content:
            return [out for delta in self._parser.feed(content) for out in self._delta_events(delta)]
        if isinstance(part, ThinkingPart) and content:
            return list(self._parts_manager.handle_thinking_delta(vendor_part_id="thinking", content=content))
        return []  # tool calls are taken whole from the final response

    def _delta_events(self, delta: StreamDelta) -> list[ModelResponseStreamEvent]:
        if delta.kind == "text":
            return list(self._parts_manager.handle_text_delta(vendor_part_id="text", content=delta.content))
        return list(
            self._parts_manager.handle_thinking_delta(vendor_part_id="thinking", content=delta.content)
        )

    async def close_stream(self) -> None:
        """Close the server's stream."""
        await self._inner.cancel()

    @property
    def model_name(self) -> str:
        """The model name the server reported."""
        return self._inner.model_name

    @property
    def provider_name(self) -> str | None:
        """The provider name."""
        return self._inner.provider_name

    @property
    def provider_url(self) -> str | None:
        """The server's base URL."""
        return self._inner.provider_url

    @property
    def timestamp(self) -> datetime:
        """When the response started."""
        return self._inner.timestamp


def _backend_error(error: Exception, *, server: str, base_url: str | None) -> ModelBackendError:
    """A `ModelBackendError` that names the server and says what to check."""
    where = f"{server} at {base_url.rstrip('/')}" if base_url else server
    if isinstance(error, ModelHTTPError):
        message = (
            f"{where} answered HTTP {error.status_code}: {_first_line(str(error.body or error.message))}"
        )
    elif isinstance(error, ModelAPIError) and _is_connection_error(error):
        message = (
            f"cannot reach {where}, or it dropped the connection ({error.message}). Is the server running "
            "and listening there? Start it, or choose another model with `--model`."
        )
    elif isinstance(error, ModelAPIError | UnexpectedModelBehavior):
        message = f"{where} did not answer with a chat completion: {_first_line(error.message)}"
    else:
        detail = f"{type(error).__name__}: {_first_line(str(error))}"
        message = f"{where} did not answer with a chat completion ({detail})"
    return ModelBackendError(message, backend="openai-compat")


def _first_line(text: str, limit: int = 300) -> str:
    line = text.strip().splitlines()[0] if text.strip() else text
    return line if len(line) <= limit else line[:limit] + "…"


def _is_connection_error(error: ModelAPIError) -> bool:
    return isinstance(error, ModelConnectionError)
