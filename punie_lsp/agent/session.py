"""An agent session: a pydantic-ai agent whose primary tool is a Code Mode block, with one event stream.

A `PunieSession` owns the model, one sandbox session (so variables persist between blocks and turns),
the conversation history and the permission policy. Each `prompt()` is one user turn; every front-end
consumes the same events (`punie_lsp.agent.events`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Protocol, Self, runtime_checkable

from pydantic import BaseModel
from pydantic_ai import Agent, CancellationToken, ModelRetry, RunContext, Tool, UsageLimits
from pydantic_ai.capabilities.process_history import ProcessHistory
from pydantic_ai.exceptions import (
    AgentRunError,
    ModelHTTPError,
    RunCancelled,
    UnexpectedModelBehavior,
    UsageLimitExceeded,
)
from pydantic_ai.messages import (
    ModelMessage,
    ModelRequest,
    ModelResponse,
    PartDeltaEvent,
    PartStartEvent,
    RetryFeedbackPart,
    TextPart,
    TextPartDelta,
    ThinkingPart,
    ThinkingPartDelta,
)
from pydantic_ai.models import Model
from pydantic_ai.tools import ToolDefinition
from pydantic_ai.toolsets import FunctionToolset

from punie_lsp.agent._history import estimate_tokens, last_response, trim_history
from punie_lsp.agent.disclosure import PlanResult, agent_catalogue
from punie_lsp.agent.events import (
    AgentEvent,
    BlockFinished,
    BlockStarted,
    ContextTrimmed,
    EventHandler,
    PermissionNeeded,
    PermissionResolved,
    PlanEntry,
    PlanUpdated,
    RetryScheduled,
    RunFinished,
    StopReason,
    TextDelta,
    ThoughtDelta,
    ToolFinished,
    ToolStarted,
    Usage,
)
from punie_lsp.agent.permissions import ModePolicy
from punie_lsp.agent.prompt import (
    CODE_MODE_TOOL,
    PromptProfile,
    format_block_result,
    json_tools_prompt,
    system_prompt,
)
from punie_lsp.exceptions import PunieError
from punie_lsp.models import malformed_tool_call, retry_prompt
from punie_lsp.sandbox import (
    BlockResult,
    CodeSandbox,
    PermissionDecision,
    PermissionRequest,
    SandboxEvent,
    SandboxLimits,
    ToolCallFinished,
    ToolCallStarted,
)
from punie_lsp.skills import Skill, discover_skills
from punie_lsp.tools.catalogue import Catalogue, ToolArgumentError, ToolSpec
from punie_lsp.tools.context import ToolContext

__all__ = ("AgentConfig", "ContextOverflowError", "HasContextWindow", "PunieSession", "TurnResult")

DEFAULT_CONTEXT_WINDOW = 32_768
"""Used when the model does not say how large its context is."""


class ContextOverflowError(PunieError):
    """The current prompt alone does not fit the model's context window."""


@runtime_checkable
class HasContextWindow(Protocol):
    """A model that may know its context window (the in-process MLX backend does)."""

    @property
    def context_window(self) -> int | None:
        """Tokens the model can attend to, when known."""
        ...


@runtime_checkable
class HasPromptProfile(Protocol):
    """A model that names the Code Mode prompt profile it was trained with (punie-tiny: `compact`)."""

    @property
    def prompt_profile(self) -> PromptProfile | None:
        """The profile, when the model names one."""
        ...


@dataclass(kw_only=True)
class AgentConfig:
    """How a session runs."""

    code_mode: bool = True
    """Answer with Code Mode blocks (`run_code`); False offers every tool as a JSON tool instead."""
    tool_retries: int = 3
    """Failed blocks (or bad tool calls) sent back to the model per turn before giving up."""
    request_limit: int = 20
    """Model requests per turn."""
    context_window: int | None = None
    """Override the model's context window (tokens)."""
    prompt_profile: PromptProfile | None = None
    """The Code Mode prompt profile; `None`: the one the model names, else `full`."""
    reserve_tokens: int = 2048
    """Tokens kept free for the model's answer."""
    limits: SandboxLimits = field(default_factory=SandboxLimits)
    """Sandbox limits per block."""
    generated_tools: bool = True
    """Let blocks define and persist generated tools."""


@dataclass(kw_only=True)
class TurnResult:
    """The outcome of one user turn."""

    output: str
    """The final answer text."""
    stop_reason: StopReason
    """Why the turn ended."""
    new_messages: list[ModelMessage]
    """Messages this turn added to the history."""
    usage: Usage
    """Token counts of the turn."""
    error: str | None = None
    """What went wrong when `stop_reason == "error"`."""
    blocks: list[BlockResult] = field(default_factory=list)
    """Every Code Mode block run in the turn."""


@dataclass(kw_only=True)
class _Deps:
    session: PunieSession
    block_results: list[BlockResult]


def _diff_of(result: BaseModel | None) -> str | None:
    diff = result.model_dump().get("diff") if result is not None else None
    return diff if isinstance(diff, str) and diff else None


class PunieSession:
    """One conversation with Punie in one workspace.

    Args:
        model: the pydantic-ai model (resolved from a spec by `punie_lsp.models.resolve_model`).
        ctx: workspace and settings the tools run with.
        policy: decides write and high-risk calls; a `ModePolicy` by default (asks, answered "no").
        config: retries, limits, Code Mode or JSON tools.
        catalogue: the tools (default: every built-in tool plus the agent's docs, skills and plan tools).
    """

    def __init__(
        self,
        *,
        model: Model,
        ctx: ToolContext,
        policy: ModePolicy | None = None,
        config: AgentConfig | None = None,
        catalogue: Catalogue | None = None,
    ) -> None:
        self.model = model
        self.ctx = ctx
        self.policy = policy if policy is not None else ModePolicy()
        self.config = config if config is not None else AgentConfig()
        self.catalogue = catalogue if catalogue is not None else agent_catalogue()
        self.history: list[ModelMessage] = []
        self.skills: dict[str, Skill]
        self.skills, self.skill_warnings = discover_skills(ctx.workspace.root, ctx.settings.punie_home)
        self._sandbox = CodeSandbox(
            ctx,
            catalogue=self.catalogue,
            limits=self.config.limits,
            policy=self._gate,
            on_event=self._on_sandbox_event,
            generated_tools=self.config.generated_tools,
        )
        self._handler: EventHandler | None = None
        self._block_id: str | None = None
        self._token: CancellationToken | None = None
        self._task: asyncio.Task[TurnResult] | None = None
        self._entered = False
        self.instructions = (
            system_prompt(
                root=str(ctx.workspace.root),
                tools=self.catalogue,
                skills=self.skills.values(),
                profile=self.prompt_profile,
            )
            if self.config.code_mode
            else json_tools_prompt(root=str(ctx.workspace.root), skills=self.skills.values())
        )
        self._agent = self._build_agent()

    # -- lifecycle ---------------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        await self._sandbox.__aenter__()
        self._entered = True
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._entered = False
        await self._sandbox.__aexit__(exc_type, exc, tb)

    @property
    def tool_definitions(self) -> list[ToolDefinition]:
        """The tool definitions the agent offers the model (what training export renders with)."""
        return [
            tool.tool_def
            for toolset in self._agent.toolsets
            if isinstance(toolset, FunctionToolset)
            for tool in toolset.tools.values()
        ]

    @property
    def prompt_profile(self) -> PromptProfile:
        """The Code Mode prompt profile: the configured one, else the model's, else `full`."""
        if self.config.prompt_profile is not None:
            return self.config.prompt_profile
        if isinstance(self.model, HasPromptProfile) and self.model.prompt_profile is not None:
            return self.model.prompt_profile
        return "full"

    @property
    def context_window(self) -> int:
        """The model's context window in tokens."""
        if self.config.context_window is not None:
            return self.config.context_window
        if isinstance(self.model, HasContextWindow) and isinstance(self.model.context_window, int):
            return self.model.context_window
        return DEFAULT_CONTEXT_WINDOW

    # -- the agent -----------------------------------------------------------------------------------

    def _build_agent(self) -> Agent[_Deps, str]:
        tools: list[Tool[_Deps]] = []
        if self.config.code_mode:
            tools.append(
                Tool(
                    _run_code,
                    name=CODE_MODE_TOOL,
                    takes_ctx=True,
                    max_retries=self.config.tool_retries,
                    description=(
                        "Run one Python block that calls Punie's tools as functions and reads their typed "
                        "results by field. The last expression's value and printed output are returned."
                    ),
                )
            )
        else:
            tools.extend(_json_tool(spec, retries=self.config.tool_retries) for spec in self.catalogue)
        agent: Agent[_Deps, str] = Agent(
            self.model,
            instructions=self.instructions,
            deps_type=_Deps,
            tools=tools,
            retries=self.config.tool_retries,
            capabilities=[ProcessHistory(self._fit_history)],
        )
        return agent

    async def _explain_malformed_calls(self, messages: list[ModelMessage]) -> list[ModelMessage]:
        """Replace pydantic-ai's generic "return text or call a tool" after a broken tool call.

        A backend that could not read the model's tool call leaves a report on the response; the model is
        told exactly what was wrong and shown the expected format, which is what lets it correct itself.
        """
        fixed: list[ModelMessage] = []
        for index, message in enumerate(messages):
            previous = messages[index - 1] if index else None
            report = malformed_tool_call(previous) if isinstance(previous, ModelResponse) else None
            if report is not None and isinstance(message, ModelRequest):
                parts = []
                for part in message.parts:
                    if isinstance(part, RetryFeedbackPart) and part.content != retry_prompt(report):
                        part = dataclasses.replace(part, content=retry_prompt(report))
                        await self._emit(
                            RetryScheduled(
                                attempt=(part.retry.attempt if part.retry else None) or 1,
                                message=retry_prompt(report),
                            )
                        )
                    parts.append(part)
                message = dataclasses.replace(message, parts=parts)
            fixed.append(message)
        return fixed

    async def _fit_history(self, messages: list[ModelMessage]) -> list[ModelMessage]:
        messages = await self._explain_malformed_calls(messages)
        budget = self.context_window - self.config.reserve_tokens
        kept, dropped = trim_history(messages, budget_tokens=budget, extra_chars=len(self.instructions))
        estimated = estimate_tokens(kept, extra_chars=len(self.instructions))
        if estimated > budget:
            raise ContextOverflowError(
                f"the prompt needs about {estimated:,} tokens but the model's context window leaves "
                f"{budget:,}; shorten the prompt or choose a model with a larger context"
            )
        if dropped:
            await self._emit(
                ContextTrimmed(dropped_messages=dropped, estimated_tokens=estimated, budget_tokens=budget)
            )
        return kept

    # -- events ----------------------------------------------------------------------------------------

    async def _emit(self, event: AgentEvent) -> None:
        if self._handler is not None:
            await self._handler(event)

    async def _on_sandbox_event(self, event: SandboxEvent) -> None:
        match event:
            case ToolCallStarted():
                await self._emit(
                    ToolStarted(
                        call_id=event.call_id,
                        name=event.name,
                        args=event.args,
                        risk=event.risk,
                        block_id=self._block_id,
                    )
                )
            case ToolCallFinished():
                await self._emit(
                    ToolFinished(
                        call_id=event.call_id,
                        name=event.name,
                        args=event.args,
                        risk=event.risk,
                        ok=event.ok,
                        result=event.result,
                        error=event.error,
                        denied=event.denied,
                        diff=_diff_of(event.result),
                        duration_s=event.duration_s,
                        block_id=self._block_id,
                    )
                )
                if isinstance(event.result, PlanResult) and event.result.success:
                    await self._emit(
                        PlanUpdated(
                            entries=tuple(
                                PlanEntry(content=s.content, status=s.status) for s in event.result.steps
                            )
                        )
                    )

    async def _gate(self, request: PermissionRequest) -> PermissionDecision:
        preset = self.policy.preset(request)
        if preset is not None:
            return preset
        await self._emit(
            PermissionNeeded(
                call_id=request.call_id,
                tool=request.tool,
                args=request.args,
                risk=request.risk,
                summary=request.summary,
            )
        )
        decision = await self.policy.ask(request)
        await self._emit(
            PermissionResolved(
                call_id=request.call_id,
                tool=request.tool,
                allowed=decision == "allow",
                remember=request.tool in self.policy.always_allow | self.policy.always_deny,
            )
        )
        return decision

    # -- running a turn --------------------------------------------------------------------------------

    async def run_block(self, block_id: str, code: str) -> BlockResult:
        """Run one Code Mode block in this session's sandbox, emitting its events."""
        assert self._entered, "use `async with PunieSession(...)`"
        self._block_id = block_id
        await self._emit(BlockStarted(block_id=block_id, code=code))
        try:
            result = await self._sandbox.run(code)
        finally:
            self._block_id = None
        await self._emit(
            BlockFinished(
                block_id=block_id,
                ok=result.ok,
                value=result.value,
                stdout=result.stdout,
                error=result.error.for_model() if result.error else None,
                duration_s=result.duration_s,
            )
        )
        return result

    async def prompt(self, text: str, *, on_event: EventHandler | None = None) -> TurnResult:
        """Run one user turn to the end (or until `cancel()`); events go to `on_event`."""
        assert self._entered, "use `async with PunieSession(...)`"
        assert self._task is None, "a turn is already running in this session"
        self._handler = on_event
        self._token = CancellationToken()
        self._task = asyncio.current_task()
        try:
            return await self._prompt(text, self._token)
        finally:
            self._handler = None
            self._task = None
            self._token = None

    def cancel(self) -> None:
        """Stop the running turn: the model stops generating and the running block is abandoned."""
        if self._token is not None and not self._token.cancelled:
            self._token.cancel()

    async def _prompt(self, text: str, token: CancellationToken) -> TurnResult:
        started = time.perf_counter()
        deps = _Deps(session=self, block_results=[])
        stop: StopReason = "end_turn"
        error: str | None = None
        output = ""
        messages: list[ModelMessage] = list(self.history)
        new_from = len(messages)
        usage = Usage()
        try:
            async with self._agent.iter(
                text,
                deps=deps,
                message_history=self.history,
                usage_limits=UsageLimits(request_limit=self.config.request_limit),
                cancellation_token=token,
            ) as run:
                async for node in run:
                    if Agent.is_model_request_node(node):
                        async with node.stream(run.ctx) as stream:
                            async for event in stream:
                                await self._stream_event(event)
                messages = list(run.all_messages())
                new_from = len(self.history)
                if run.result is not None:
                    output = str(run.result.output)
                run_usage = run.usage
                usage = Usage(
                    input_tokens=run_usage.input_tokens,
                    output_tokens=run_usage.output_tokens,
                    requests=run_usage.requests,
                )
            response = last_response(messages)
            if response is not None and response.finish_reason == "length":
                stop = "max_tokens"
        except RunCancelled as exc:
            stop = "cancelled"
            messages = list(exc.all_messages())
        except UsageLimitExceeded as exc:
            stop, error = "max_turn_requests", str(exc)
        except ContextOverflowError as exc:
            stop, error = "error", str(exc)
        except UnexpectedModelBehavior as exc:
            stop = "error"
            error = f"the model did not produce a usable answer: {exc.message}"
        except ModelHTTPError as exc:
            stop, error = "error", f"the model server answered {exc.status_code}: {exc.body!r}"[:500]
        except (AgentRunError, PunieError, OSError, ValueError) as exc:
            stop, error = "error", f"{type(exc).__name__}: {exc}"
        if stop != "error":
            self.history = messages
        await self._emit(
            RunFinished(
                stop_reason=stop,
                output=output,
                error=error,
                usage=usage,
                duration_s=time.perf_counter() - started,
            )
        )
        return TurnResult(
            output=output,
            stop_reason=stop,
            new_messages=messages[new_from:] if stop != "error" else [],
            usage=usage,
            error=error,
            blocks=deps.block_results,
        )

    async def _stream_event(self, event: object) -> None:
        match event:
            case PartStartEvent(part=TextPart(content=content)) if content:
                await self._emit(TextDelta(text=content))
            case PartStartEvent(part=ThinkingPart(content=content)) if content:
                await self._emit(ThoughtDelta(text=content))
            case PartDeltaEvent(delta=TextPartDelta(content_delta=delta)) if delta:
                await self._emit(TextDelta(text=delta))
            case PartDeltaEvent(delta=ThinkingPartDelta(content_delta=delta)) if delta:
                await self._emit(ThoughtDelta(text=delta))
            case _:
                pass


async def _run_code(ctx: RunContext[_Deps], code: str) -> str:
    """The Code Mode tool: run the block; a failed block goes back to the model as a retry."""
    session = ctx.deps.session
    result = await session.run_block(ctx.tool_call_id or f"block-{len(ctx.deps.block_results)}", code)
    ctx.deps.block_results.append(result)
    if not result.ok:
        assert result.error is not None
        message = result.error.for_model()
        await session._emit(RetryScheduled(attempt=ctx.retry + 1, message=message))
        raise ModelRetry(message)
    return format_block_result(result)


def _json_tool(spec: ToolSpec, *, retries: int) -> Tool[_Deps]:
    """Offer one catalogue tool as a plain JSON tool (for models that cannot do Code Mode)."""

    async def call(ctx: RunContext[_Deps], **arguments: Any) -> str:
        session = ctx.deps.session
        try:
            validated = spec.validate_arguments(arguments)
        except ToolArgumentError as exc:
            raise ModelRetry(str(exc)) from exc
        call_id = ctx.tool_call_id or spec.name
        risk = spec.risk_of(validated)
        await session._emit(ToolStarted(call_id=call_id, name=spec.name, args=validated, risk=risk))
        started = time.perf_counter()
        if risk != "read":
            summary = f"{spec.name}({', '.join(f'{k}={v!r}'[:80] for k, v in validated.items())})"
            request = PermissionRequest(
                call_id=call_id, tool=spec.name, args=validated, risk=risk, summary=summary
            )
            if await session._gate(request) == "deny":
                await session._emit(
                    ToolFinished(
                        call_id=call_id,
                        name=spec.name,
                        args=validated,
                        risk=risk,
                        ok=False,
                        denied=True,
                        error="denied by the user",
                    )
                )
                return f"The user did not allow `{spec.name}`; it did not run. Do not repeat it."
        result = await spec.function(session.ctx, **validated)
        tool_error = result.model_dump().get("tool_error")
        await session._emit(
            ToolFinished(
                call_id=call_id,
                name=spec.name,
                args=validated,
                risk=risk,
                ok=tool_error is None,
                result=result,
                error=tool_error,
                diff=_diff_of(result),
                duration_s=time.perf_counter() - started,
            )
        )
        return result.model_dump_json()

    schema = spec.arguments_model.model_json_schema()
    schema.pop("title", None)
    tool = Tool.from_schema(call, name=spec.name, description=spec.doc, json_schema=schema, takes_ctx=True)
    tool.max_retries = retries
    return tool
