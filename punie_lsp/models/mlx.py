"""`mlx:<path or hub id>`: an in-process mlx-lm model as a pydantic-ai `Model`, with a session prompt cache.

Generation runs on one dedicated worker thread per model (mlx-lm is not re-entrant and the KV cache is
shared state); tokens travel to the event loop through an `asyncio.Queue`. Cancelling the awaiting task, or
closing the stream, sets a stop flag that the worker checks at every token and between prefill chunks, so
generation stops promptly.

The prompt (KV) cache is kept across the requests of a session together with the token ids it holds. The
next request's prompt is compared with those ids: the cache is trimmed to the longest common prefix and
only the new suffix is prefilled. An agent turn re-sends the whole history plus a tool result, so the
second request of a turn prefills only the tool result. Because the assistant turn is re-rendered in the
same tool-call format the model wrote it in, the prefix usually runs through the model's own answer too.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import AsyncGenerator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic_ai.messages import FinishReason, ModelMessage, ModelResponse
from pydantic_ai.models import Model, ModelRequestParameters, StreamedResponse, check_allow_model_requests
from pydantic_ai.profiles import ModelProfile
from pydantic_ai.settings import ModelSettings
from pydantic_ai.tools import RunContext
from pydantic_ai.usage import RequestUsage

from punie_lsp.models._streaming import ParsedTextStreamedResponse, StreamOutcome
from punie_lsp.models.chat_format import (
    PROMPT_PROFILES,
    SERVING_FILE,
    PromptProfile,
    ToolCallStyle,
    apply_chat_template,
    chat_tools,
    request_instructions,
    to_chat_messages,
)
from punie_lsp.models.errors import ModelBackendError
from punie_lsp.models.parser import ToolCallStreamParser, parse_response

if TYPE_CHECKING:
    from mlx_lm.tokenizer_utils import TokenizerWrapper

__all__ = ("GenerationStats", "MLXModel")

logger = logging.getLogger(__name__)

_CONTEXT_KEYS = ("max_position_embeddings", "max_sequence_length", "max_seq_len", "seq_length", "n_positions")
_INSTALL_HINT = "install mlx-lm (on Linux with `mlx[cpu]`), which Punie's default dependencies include"
_DONE = object()


class _Stopped(Exception):
    """Raised inside the worker when the request was cancelled."""


def _import_mlx() -> tuple[Any, Any, Any]:
    """Import the mlx-lm pieces lazily, with a clear message when they are missing."""
    try:
        import mlx.core as mx
        import mlx_lm
        from mlx_lm.models import cache
    except ImportError as error:  # pragma: no cover - exercised only where mlx is absent
        raise ModelBackendError(
            f"the `mlx` backend needs mlx-lm: {_INSTALL_HINT} ({error})", backend="mlx"
        ) from error
    return mx, mlx_lm, cache


@dataclass(frozen=True, kw_only=True)
class GenerationStats:
    """What one request cost, for benchmarks, logs and tests of the prompt cache."""

    prompt_tokens: int
    """Tokens in the whole prompt."""
    cached_tokens: int
    """Prompt tokens reused from the cache (not prefilled again)."""
    prefilled_tokens: int
    """Prompt tokens prefilled by this request (`prompt_tokens - cached_tokens`)."""
    prefill_seconds: float
    """Time from the start of generation to the first new token (prefill plus one decode step)."""
    generated_tokens: int
    """Tokens generated (the stop token included)."""
    total_seconds: float
    """Wall time of the whole generation."""
    finish_reason: FinishReason
    """`stop` (end of turn), `length` (max tokens) or `error` (cancelled)."""


@dataclass
class _Loaded:
    model: Any
    tokenizer: TokenizerWrapper
    config: dict[str, Any]


@dataclass
class _Session:
    """The prompt cache and the token ids it holds."""

    cache: list[Any] | None = None
    tokens: list[int] = field(default_factory=list)


@dataclass(init=False)
class MLXModel(Model):
    """An mlx-lm model in this process, with streaming and a prompt cache reused across turns.

    Args:
        model: a local model directory or a Hugging Face hub id (hub ids download on first load).
        prompt_cache: keep the KV cache between requests (turn off to measure its effect).
        fenced_code_calls: read ```` ```python ```` blocks as `run_code` calls.
        tool_call_style: how earlier tool calls reach the chat template (see `chat_format`).
        prefill_step_size: prompt tokens per prefill chunk (cancellation is checked between chunks).
        default_max_tokens: the answer length limit when the settings give none.
        settings: default model settings (`temperature`, `top_p`, `top_k`, `max_tokens`, `seed`,
            `stop_sequences`).
        profile: a model profile to merge over the defaults.
        adapter: a LoRA adapter directory (`adapters.safetensors`, `adapter_config.json`), fused into the
            weights when the model loads (punie-tiny's shipped adapter).
    """

    model_ref: str
    adapter: Path | None
    prompt_cache: bool
    fenced_code_calls: bool
    tool_call_style: ToolCallStyle
    prefill_step_size: int
    default_max_tokens: int
    last_stats: GenerationStats | None

    def __init__(
        self,
        model: str | Path,
        *,
        prompt_cache: bool = True,
        fenced_code_calls: bool = False,
        tool_call_style: ToolCallStyle = "content",
        prefill_step_size: int = 512,
        default_max_tokens: int = 4096,
        settings: ModelSettings | None = None,
        profile: ModelProfile | None = None,
        adapter: Path | None = None,
    ) -> None:
        super().__init__(settings=settings, profile=profile)
        self.model_ref = str(model)
        self.adapter = adapter
        self.prompt_cache = prompt_cache
        self.fenced_code_calls = fenced_code_calls
        self.tool_call_style = tool_call_style
        self.prefill_step_size = prefill_step_size
        self.default_max_tokens = default_max_tokens
        self.last_stats = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="punie-mlx")
        self._loaded: _Loaded | None = None
        self._load_lock = threading.Lock()
        self._session = _Session()

    @property
    def model_name(self) -> str:
        """The model path or hub id as given."""
        return self.model_ref

    @property
    def system(self) -> str:
        """The backend name."""
        return "mlx"

    # --- loading ----------------------------------------------------------------------------------------

    def _load_sync(self) -> _Loaded:
        with self._load_lock:
            if self._loaded is None:
                _, mlx_lm, _ = _import_mlx()
                started = time.perf_counter()
                try:
                    model, tokenizer, config = mlx_lm.load(
                        self.model_ref,
                        adapter_path=None if self.adapter is None else str(self.adapter),
                        return_config=True,
                    )
                    if self.adapter is not None:
                        _fuse_lora(model)
                except (OSError, ValueError) as error:
                    raise ModelBackendError(
                        f"cannot load MLX model `{self.model_ref}`: {error}", backend="mlx"
                    ) from error
                except Exception as error:
                    # Hub lookups fail with huggingface_hub's own error types (offline, unknown repo).
                    raise ModelBackendError(
                        f"cannot load MLX model `{self.model_ref}` ({type(error).__name__}: {error})",
                        backend="mlx",
                    ) from error
                logger.info("loaded MLX model %s in %.2fs", self.model_ref, time.perf_counter() - started)
                self._loaded = _Loaded(model=model, tokenizer=tokenizer, config=config)
            return self._loaded

    async def load(self) -> None:
        """Load the weights and tokenizer now (on the worker thread), instead of on the first request."""
        await asyncio.get_running_loop().run_in_executor(self._executor, self._load_sync)

    @property
    def context_window(self) -> int | None:
        """The model's context length, from its config (`max_position_embeddings` or similar)."""
        config = self._loaded.config if self._loaded is not None else self._read_local_config()
        if config is None:
            return super().context_window
        for scope in (config, config.get("text_config") or {}):
            for key in _CONTEXT_KEYS:
                value = scope.get(key)
                if isinstance(value, int) and value > 0:
                    return value
        return super().context_window

    @property
    def prompt_profile(self) -> PromptProfile | None:
        """The Code Mode prompt profile the model directory's `punie.json` names (punie-tiny: `compact`)."""
        profile = self._serving().get("prompt_profile")
        return profile if profile in PROMPT_PROFILES else None

    def _serving(self) -> dict[str, Any]:
        """The model directory's `punie.json`: how Punie serves it (prompt profile, sampling defaults)."""
        path = Path(self.model_ref).expanduser() / SERVING_FILE
        try:
            serving = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return {}
        return serving if isinstance(serving, dict) else {}

    def _default(self, key: str, fallback: float) -> float:
        """A sampling default from `punie.json` (punie-tiny decodes greedily), else `fallback`."""
        value = self._serving().get(key)
        return value if isinstance(value, int | float) and not isinstance(value, bool) else fallback

    def _read_local_config(self) -> dict[str, Any] | None:
        path = Path(self.model_ref).expanduser() / "config.json"
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return None

    def count_text_tokens(self, text: str) -> int:
        """Tokens of `text` with this model's tokenizer (loads the model on first use: blocking)."""
        return len(self._load_sync().tokenizer.encode(text, add_special_tokens=False))

    def reset_prompt_cache(self) -> None:
        """Forget the cached prompt (the next request prefills everything)."""
        self._session = _Session()

    # --- prompts ----------------------------------------------------------------------------------------

    def render_prompt(
        self, messages: list[ModelMessage], model_request_parameters: ModelRequestParameters
    ) -> str:
        """The prompt text this model would generate from (requires the tokenizer: loads the model)."""
        loaded = self._load_sync()
        chat = to_chat_messages(
            messages,
            instructions=request_instructions(messages, model_request_parameters),
            tool_call_style=self.tool_call_style,
        )
        return apply_chat_template(
            loaded.tokenizer, chat, tools=chat_tools(model_request_parameters.function_tools)
        )

    async def count_tokens(
        self,
        messages: list[ModelMessage],
        model_settings: ModelSettings | None,
        model_request_parameters: ModelRequestParameters,
    ) -> RequestUsage:
        """Count the prompt tokens of a request without generating (for `UsageLimits` checks)."""
        model_settings, model_request_parameters = self.prepare_request(
            model_settings, model_request_parameters
        )
        loop = asyncio.get_running_loop()

        def count() -> int:
            prompt = self.render_prompt(messages, model_request_parameters)
            return len(self._load_sync().tokenizer.encode(prompt, add_special_tokens=False))

        return RequestUsage(input_tokens=await loop.run_in_executor(self._executor, count))

    # --- generation (worker thread) ---------------------------------------------------------------------

    def _generate_sync(
        self,
        messages: list[ModelMessage],
        model_request_parameters: ModelRequestParameters,
        settings: ModelSettings,
        emit: Callable[[str], None],
        stop: threading.Event,
    ) -> GenerationStats:
        mx, _, cache_module = _import_mlx()
        from mlx_lm.generate import generate_step
        from mlx_lm.sample_utils import make_sampler

        loaded = self._load_sync()
        tokenizer = loaded.tokenizer
        prompt_text = self.render_prompt(messages, model_request_parameters)
        prompt = list(tokenizer.encode(prompt_text, add_special_tokens=False))
        started = time.perf_counter()

        session = self._session if self.prompt_cache else _Session()
        if session.cache is None:
            session.cache = cache_module.make_prompt_cache(loaded.model)
            session.tokens = []
        reused = _common_prefix(session.tokens, prompt)
        if reused == len(prompt):
            reused -= 1  # at least one token must be processed to get logits
        surplus = len(session.tokens) - reused
        if surplus > 0:
            if cache_module.can_trim_prompt_cache(session.cache):
                cache_module.trim_prompt_cache(session.cache, surplus)
            else:
                session.cache = cache_module.make_prompt_cache(loaded.model)
                reused = 0
        session.tokens = prompt[:reused]

        if "seed" in settings:
            mx.random.seed(settings["seed"])
        sampler = make_sampler(
            temp=settings.get("temperature", self._default("temperature", 0.7)),
            top_p=settings.get("top_p", 1.0),
            top_k=settings.get("top_k", 0),
        )
        max_tokens = settings.get("max_tokens", int(self._default("max_tokens", self.default_max_tokens)))
        stop_sequences = settings.get("stop_sequences") or []

        def progress(done: int, total: int) -> None:
            if stop.is_set():
                raise _Stopped

        steps = generate_step(
            mx.array(prompt[reused:]),
            loaded.model,
            max_tokens=max_tokens,
            sampler=sampler,
            prompt_cache=session.cache,
            prefill_step_size=self.prefill_step_size,
            prompt_progress_callback=progress,
        )
        detokenizer = tokenizer.detokenizer
        detokenizer.reset()
        eos = set(tokenizer.eos_token_ids)
        generated = 0
        first_token_at = started
        finish: FinishReason = "length"
        text = ""
        try:
            for token, _ in steps:
                token = int(token)
                if generated == 0:
                    first_token_at = time.perf_counter()
                    session.tokens = list(prompt)
                session.tokens.append(token)  # generate_step feeds each token to the cache before yielding it
                generated += 1
                if token in eos:
                    finish = "stop"
                    break
                if _looping(session.tokens, start=len(prompt)):
                    logger.info("stopped a generation that repeats itself after %d tokens", generated)
                    break
                detokenizer.add_token(token)
                if segment := detokenizer.last_segment:
                    text += segment
                    emit(segment)
                if stop.is_set():
                    finish = "error"
                    break
                if stop_sequences and any(text.endswith(s) for s in stop_sequences):
                    finish = "stop"
                    break
            detokenizer.finalize()
            if segment := detokenizer.last_segment:
                emit(segment)
        except _Stopped:
            session.cache, session.tokens = None, []
            finish = "error"
        except BaseException:
            session.cache, session.tokens = None, []
            raise
        finally:
            steps.close()
        stats = GenerationStats(
            prompt_tokens=len(prompt),
            cached_tokens=reused,
            prefilled_tokens=len(prompt) - reused,
            prefill_seconds=first_token_at - started,
            generated_tokens=generated,
            total_seconds=time.perf_counter() - started,
            finish_reason=finish,
        )
        self.last_stats = stats
        logger.debug("mlx generation: %s", stats)
        return stats

    async def _chunks(
        self,
        messages: list[ModelMessage],
        model_request_parameters: ModelRequestParameters,
        settings: ModelSettings,
        stop: threading.Event,
        stats: list[GenerationStats],
    ) -> AsyncGenerator[str]:
        """Run generation on the worker thread and yield its text as it comes."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[object] = asyncio.Queue()

        def put(item: object) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, item)

        def work() -> None:
            try:
                stats.append(self._generate_sync(messages, model_request_parameters, settings, put, stop))
            except BaseException as error:
                put(error)
            finally:
                put(_DONE)

        loop.run_in_executor(self._executor, work)
        try:
            while (item := await queue.get()) is not _DONE:
                if isinstance(item, BaseException):
                    raise item
                assert isinstance(item, str)
                yield item
        finally:
            stop.set()

    # --- pydantic-ai interface --------------------------------------------------------------------------

    def _parser(self, model_request_parameters: ModelRequestParameters) -> ToolCallStreamParser:
        return ToolCallStreamParser(
            tools=model_request_parameters.function_tools, fenced_code=self.fenced_code_calls
        )

    async def request(
        self,
        messages: list[ModelMessage],
        model_settings: ModelSettings | None,
        model_request_parameters: ModelRequestParameters,
    ) -> ModelResponse:
        """Generate a whole answer and parse its tool calls."""
        check_allow_model_requests()
        model_settings, model_request_parameters = self.prepare_request(
            model_settings, model_request_parameters
        )
        stop = threading.Event()
        stats: list[GenerationStats] = []
        text = "".join(
            [
                chunk
                async for chunk in self._chunks(
                    messages, model_request_parameters, model_settings or {}, stop, stats
                )
            ]
        )
        parsed = parse_response(
            text, tools=model_request_parameters.function_tools, fenced_code=self.fenced_code_calls
        )
        outcome = _outcome(stats)
        return ModelResponse(
            parts=parsed.parts(),
            usage=outcome.usage,
            model_name=self.model_name,
            provider_name="mlx",
            finish_reason="tool_call" if parsed.tool_calls else outcome.finish_reason,
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
        """Stream text deltas as they are generated; tool calls are parsed when the answer ends."""
        check_allow_model_requests()
        model_settings, model_request_parameters = self.prepare_request(
            model_settings, model_request_parameters
        )
        stop = threading.Event()
        stats: list[GenerationStats] = []
        chunks = self._chunks(messages, model_request_parameters, model_settings or {}, stop, stats)
        try:
            yield ParsedTextStreamedResponse(
                model_request_parameters=model_request_parameters,
                _model_name=self.model_name,
                _provider_name="mlx",
                _chunks=chunks,
                _parser=self._parser(model_request_parameters),
                _outcome=lambda: _outcome(stats),
                _close=stop.set,
            )
        finally:
            stop.set()
            await chunks.aclose()


_LOOP_PERIODS = range(8, 81)
"""Lengths (tokens) of a repeated span that `_looping` looks for."""
_LOOP_REPEATS = 4


def _looping(tokens: list[int], *, start: int) -> bool:
    """Whether the generated tail (`tokens[start:]`) is one span of 8–80 tokens repeated 4 times in a row.

    Small models decoding greedily fall into such loops (the same list line over and over) and would run
    to the length limit; real answers do not repeat a span of this size four times verbatim.
    """
    generated = len(tokens) - start
    for period in _LOOP_PERIODS:
        span = period * _LOOP_REPEATS
        if span > generated:
            return False
        tail = tokens[-period:]
        if all(tokens[-(k + 1) * period : -k * period] == tail for k in range(1, _LOOP_REPEATS)):
            return True
    return False


def _fuse_lora(model: Any) -> None:
    """Fold loaded LoRA layers into their base weights, as `mlx_lm fuse` does, in memory.

    One small matmul per layer at load time; generation then runs at the base model's speed.
    """
    from mlx.utils import tree_unflatten

    fused = [(name, module.fuse()) for name, module in model.named_modules() if hasattr(module, "fuse")]
    if fused:
        model.update_modules(tree_unflatten(fused))


def _outcome(stats: list[GenerationStats]) -> StreamOutcome:
    if not stats:
        return StreamOutcome(finish_reason="error")
    last = stats[-1]
    return StreamOutcome(
        usage=RequestUsage(
            input_tokens=last.prompt_tokens,
            cache_read_tokens=last.cached_tokens,
            output_tokens=last.generated_tokens,
        ),
        finish_reason=last.finish_reason,
    )


def _common_prefix(a: list[int], b: list[int]) -> int:
    """Length of the longest common prefix of two token lists."""
    limit = min(len(a), len(b))
    for index in range(limit):
        if a[index] != b[index]:
            return index
    return limit
