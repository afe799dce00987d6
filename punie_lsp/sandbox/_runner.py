"""The Code Mode runner: one Monty session per agent run, typed tools as functions, limits and gates."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import json
import os
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, JsonValue, ValidationError
from pydantic_monty import (
    AsyncFunctionSnapshot,
    AsyncMonty,
    AsyncMontySession,
    ExternalResult,
    MontyError,
    OSPolicy,
)

from punie_lsp.exceptions import SandboxError
from punie_lsp.sandbox._check import BlockChecker
from punie_lsp.sandbox._convert import plain, size_of, to_jsonable, wrap
from punie_lsp.sandbox._drive import drive
from punie_lsp.sandbox._errors import SandboxErrorInfo, error_from_monty
from punie_lsp.sandbox._events import (
    EventSink,
    PermissionPolicy,
    PermissionRequest,
    SandboxEvent,
    ToolCallFinished,
    ToolCallStarted,
    deny_all,
)
from punie_lsp.sandbox._generated import (
    DEFINE_TOOL,
    DefineToolResult,
    GeneratedTool,
    GeneratedToolDefinition,
    compile_definition,
    define_tool_stub,
    load_generated_tools,
    save_generated_tool,
)
from punie_lsp.sandbox._results import BlockResult, SandboxLimits
from punie_lsp.sandbox._schema import SchemaError
from punie_lsp.sandbox._stubs import collect_models, render_stubs
from punie_lsp.tools.catalogue import Catalogue, Risk, ToolArgumentError, ToolSpec, default_catalogue
from punie_lsp.tools.context import ToolContext
from punie_lsp.tools.results import ToolResult

__all__ = ("CodeSandbox", "run_code")

_OS_POLICY: OSPolicy = {"sleep": "zero"}
"""Sleeps return at once: nothing in a block has anything to wait for, and a sleeping block wastes time."""


class _Output:
    """Printed output of one block, kept up to a cap."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.parts: list[str] = []
        self.kept = 0
        self.dropped = 0

    def __call__(self, stream: str, text: str) -> None:
        del stream  # stdout and stderr are merged, in order
        room = self.cap - self.kept
        if room >= len(text):
            self.parts.append(text)
            self.kept += len(text)
            return
        if room > 0:
            self.parts.append(text[:room])
            self.kept += room
        self.dropped += len(text) - max(room, 0)

    def text(self) -> str:
        joined = "".join(self.parts)
        if self.dropped:
            joined += f"\n[output truncated: {self.dropped:,} more characters not shown]\n"
        return joined


@dataclass(kw_only=True)
class _Block:
    """Mutable state of the block being run."""

    output: _Output
    calls: list[ToolCallFinished] = field(default_factory=list)
    defined: list[GeneratedTool] = field(default_factory=list)
    timeout: asyncio.Timeout | None = None

    def pause_deadline(self) -> float | None:
        """Stop the wall clock (the user is deciding); return the seconds that were left."""
        if self.timeout is None or (when := self.timeout.when()) is None:
            return None
        self.timeout.reschedule(None)
        return when - asyncio.get_running_loop().time()

    def resume_deadline(self, left: float | None) -> None:
        """Restart the wall clock with the seconds that were left when it was paused."""
        if self.timeout is not None and left is not None:
            self.timeout.reschedule(asyncio.get_running_loop().time() + left)


class _CallRefused(Exception):
    """A call was refused before the tool ran; `error` is raised inside the block."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


class _DefineToolArguments(BaseModel):
    """The arguments of `define_tool`, validated like any tool's."""

    model_config = ConfigDict(extra="forbid")

    name: str
    description: str
    input_schema: dict[str, Any]
    output_schema: dict[str, Any]
    code: str
    samples: list[dict[str, Any]]
    persist: bool = False


@dataclass(frozen=True, kw_only=True)
class _Invocation:
    """One call to run through the common pipeline: validate, announce, gate, run, report."""

    name: str
    args: dict[str, object]
    refused: Exception | None
    validate: Callable[[Mapping[str, object]], dict[str, Any]]
    risk: Callable[[dict[str, Any]], Risk]
    execute: Callable[[dict[str, Any]], Awaitable[BaseModel]]
    parent: str | None = None


class CodeSandbox:
    """A Code Mode session: blocks run in one Monty session, so variables persist between them.

    Use it as an async context manager. `stubs` is the text to show the model; the same text is the
    type checker's context, so a misspelt result field is rejected before the block runs. Each block is
    checked together with the earlier blocks of the session (see `_check`), then runs in the runtime
    session, where every tool call pauses the sandbox until the host answers it.

    Args:
        ctx: the workspace and settings every tool runs with.
        catalogue: the tools (default: every built-in tool).
        limits: resource limits per block.
        policy: decides write and high-risk calls (default: deny them all).
        on_event: receives `ToolCallStarted` / `ToolCallFinished` for every nested call.
        pool: a shared `AsyncMonty` pool (entered by the caller); by default the sandbox owns one.
        type_check: check each block against the stubs before it runs.
        generated_tools: offer `define_tool` and load the project's `.punie/tools/`.
    """

    def __init__(
        self,
        ctx: ToolContext,
        *,
        catalogue: Catalogue | None = None,
        limits: SandboxLimits | None = None,
        policy: PermissionPolicy = deny_all,
        on_event: EventSink | None = None,
        pool: AsyncMonty | None = None,
        type_check: bool = True,
        generated_tools: bool = True,
    ) -> None:
        self.ctx = ctx
        self.catalogue = catalogue if catalogue is not None else default_catalogue()
        self.limits = limits if limits is not None else SandboxLimits()
        self.policy = policy
        self.on_event = on_event
        self.type_check = type_check
        self.generated_tools_enabled = generated_tools
        self._pool = pool
        self._owns_pool = pool is None
        self._session: AsyncMontySession | None = None
        self._checker: BlockChecker | None = None
        self._generated: dict[str, GeneratedTool] = {}
        self._load_problems: tuple[str, ...] = ()
        self._dirty = False
        self._running = False
        self._id = uuid.uuid4().hex[:8]
        self._calls = itertools.count(1)
        self._parameter_names: dict[str, list[str]] = {}
        self._stubs: str | None = None

    # -- lifecycle ---------------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        if self._pool is None:
            self._pool = AsyncMonty(min_processes=1, max_processes=max(4, os.cpu_count() or 1))
            await self._pool.__aenter__()
        if self.generated_tools_enabled:
            loaded = await load_generated_tools(
                self.ctx.workspace, taken_names=frozenset(self.catalogue.tools)
            )
            self._generated = {tool.name: tool for tool in loaded.tools}
            self._load_problems = loaded.problems
        if self.type_check:
            self._checker = BlockChecker(self._pool, self.stubs)
        await self._open_session()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._close_session()
        if self._checker is not None:
            await self._checker.close()
            self._checker = None
        if self._owns_pool and self._pool is not None:
            await self._pool.__aexit__(exc_type, exc, tb)
            self._pool = None

    async def reset(self) -> None:
        """Start a fresh session: variables are forgotten, generated tools stay registered."""
        await self._close_session()
        await self._open_session()

    async def _open_session(self) -> None:
        assert self._pool is not None, "use CodeSandbox as an async context manager"
        session = self._pool.checkout(
            script_name="block.py", limits=self.limits.monty(), os_policy=_OS_POLICY
        )
        await session.__aenter__()
        self._session = session
        self._dirty = False
        if self._checker is not None:
            self._checker.forget()

    async def _close_session(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            with contextlib.suppress(MontyError):  # the worker is already gone; the pool replaces it
                await session.__aexit__(None, None, None)

    # -- what the model sees ----------------------------------------------------------------------

    @property
    def stubs(self) -> str:
        """The tool stubs: show this text to the model (it is also the type checker's context).

        It grows when a block defines a generated tool (`BlockResult.defined_tools`).
        """
        if self._stubs is None:
            extra = [tool.stub_tool() for tool in self._generated.values()]
            if self.generated_tools_enabled:
                extra.insert(0, define_tool_stub())
            self._stubs = render_stubs(self.catalogue, extra_tools=extra)
        return self._stubs

    @functools.cached_property
    def _read_stubs(self) -> str:
        """Stubs for generated tools' code: every tool that can run read-only (writing calls are refused)."""
        return render_stubs(
            spec for spec in self.catalogue if spec.risk == "read" or spec.risk_when is not None
        )

    @property
    def generated(self) -> Mapping[str, GeneratedTool]:
        """Generated tools callable in this session (loaded from the project or defined by blocks)."""
        return dict(self._generated)

    @property
    def load_problems(self) -> tuple[str, ...]:
        """Files under `.punie/tools/` that could not be loaded, with the reason."""
        return self._load_problems

    # -- running a block --------------------------------------------------------------------------

    async def run(self, code: str) -> BlockResult:
        """Type-check and run one block; never raises for problems in the code.

        Raises:
            SandboxError: a block is already running in this session.
        """
        if self._running:
            raise SandboxError("a block is already running in this sandbox session")
        self._running = True
        try:
            return await self._run(code)
        finally:
            self._running = False

    async def _run(self, code: str) -> BlockResult:
        started = time.perf_counter()
        if self._dirty or self._session is None:
            await self.reset()
        session = self._session
        assert session is not None
        if len(code) > self.limits.max_block_chars:
            too_long = SandboxErrorInfo(
                kind="limit",
                message=(
                    f"the block is {len(code):,} characters, over the {self.limits.max_block_chars:,} "
                    "limit; read data with the tools instead of pasting it into the code"
                ),
            )
            return BlockResult(ok=False, error=too_long, duration_s=time.perf_counter() - started)
        if self._checker is not None:
            try:
                checked = await self._checker.check(code)
            except MontyError as exc:
                broken = SandboxErrorInfo(kind="sandbox", message=f"the type checker failed: {exc}")
                return BlockResult(ok=False, error=broken, duration_s=time.perf_counter() - started)
            if isinstance(checked, SandboxErrorInfo):
                return BlockResult(ok=False, error=checked, duration_s=time.perf_counter() - started)
            if checked == "passed":
                self._checker.commit(code)
        block = _Block(output=_Output(self.limits.max_output_chars))
        error: SandboxErrorInfo | None = None
        output: object = None
        try:
            async with asyncio.timeout(self.limits.wall_time_s) as timeout:
                block.timeout = timeout
                output = await drive(
                    session,
                    code,
                    on_call=lambda snapshot: self._on_call(block, snapshot, parent=None),
                    callable_names=self._is_callable,
                    printer=block.output,
                )
        except TimeoutError:
            if block.timeout is None or not block.timeout.expired():
                raise  # not the wall clock: a bug to surface, not a limit to report
            error = SandboxErrorInfo(
                kind="limit",
                message=f"the block ran longer than {self.limits.wall_time_s:g} s (tool calls included)",
                fatal=True,
            )
        except MontyError as exc:
            error = error_from_monty(exc)
        except Exception as exc:  # a failure of the sandbox machinery, not of the block's code
            error = SandboxErrorInfo(kind="sandbox", message=f"{type(exc).__name__}: {exc}", fatal=True)
        except BaseException:
            self._dirty = True  # cancelled mid-feed: the session is paused at a call and unusable
            raise
        if error is not None and error.fatal:
            self._dirty = True
        if block.defined and self._checker is not None:
            await self._checker.restub(self.stubs)
        value, value_truncated = self._block_value(output)
        return BlockResult(
            ok=error is None,
            value=value,
            stdout=block.output.text(),
            error=error,
            tool_calls=tuple(block.calls),
            duration_s=time.perf_counter() - started,
            stdout_truncated=block.output.dropped > 0,
            value_truncated=value_truncated,
            defined_tools=tuple(tool.name for tool in block.defined),
        )

    def _block_value(self, output: object) -> tuple[JsonValue, bool]:
        value = to_jsonable(output)
        if isinstance(value, None | bool | int | float):
            return value, False
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        cap = self.limits.max_result_chars
        if len(text) <= cap:
            return value, False
        return f"{text[:cap]}\n[result truncated: {len(text) - cap:,} more characters not shown]", True

    def _is_callable(self, name: str) -> bool:
        return name in self.catalogue or name in self._generated

    # -- external calls ---------------------------------------------------------------------------

    async def _on_call(
        self, block: _Block, snapshot: AsyncFunctionSnapshot, *, parent: str | None
    ) -> ExternalResult:
        """Answer one external call of a block (`parent` is None) or of a generated tool's code."""
        name = str(snapshot.function_name)
        args, kwargs = tuple(snapshot.args), dict(snapshot.kwargs)
        read_only = parent is not None
        if not read_only and self.generated_tools_enabled:
            if name == DEFINE_TOOL:
                return await self._invoke(block, self._define_tool_invocation(block, args, kwargs))
            if name in self._generated:
                return await self._invoke(
                    block, self._generated_invocation(block, self._generated[name], args, kwargs)
                )
        spec = self.catalogue.tools.get(name)
        if spec is None:
            return {"exception": NameError(f"name {name!r} is not defined")}
        return await self._invoke(block, self._spec_invocation(spec, args, kwargs, parent=parent))

    def _spec_invocation(
        self, spec: ToolSpec, args: tuple[object, ...], kwargs: dict[str, object], *, parent: str | None
    ) -> _Invocation:
        names = self._parameter_names.get(spec.name)
        if names is None:
            names = self._parameter_names[spec.name] = list(spec.signature.parameters)
        named, refused = _bind(spec.name, names, args, kwargs)

        async def execute(validated: dict[str, Any]) -> BaseModel:
            return await spec.function(self.ctx, **validated)

        def risk(validated: dict[str, Any]) -> Risk:
            level = spec.risk_of(validated)
            if parent is not None and level != "read":
                raise _CallRefused(
                    PermissionError(
                        f"generated tools may only call read tools; this `{spec.name}` call would "
                        f"{_level_verb(level)}"
                    )
                )
            return level

        return _Invocation(
            name=spec.name,
            args=named,
            refused=refused,
            validate=spec.validate_arguments,
            risk=risk,
            execute=execute,
            parent=parent,
        )

    def _generated_invocation(
        self, block: _Block, tool: GeneratedTool, args: tuple[object, ...], kwargs: dict[str, object]
    ) -> _Invocation:
        named, refused = _bind(tool.name, [p.name for p in tool.stub_tool().parameters], args, kwargs)

        def validate(arguments: Mapping[str, object]) -> dict[str, Any]:
            try:
                return tool.input_model.model_validate(dict(arguments)).model_dump()
            except ValidationError as exc:
                raise ToolArgumentError(f"bad arguments for `{tool.name}`: {_problems(exc)}") from exc

        async def execute(validated: dict[str, Any]) -> BaseModel:
            return await self._run_generated(block, tool, validated)

        return _Invocation(
            name=tool.name,
            args=named,
            refused=refused,
            validate=validate,
            risk=lambda validated: "read",
            execute=execute,
        )

    def _define_tool_invocation(
        self, block: _Block, args: tuple[object, ...], kwargs: dict[str, object]
    ) -> _Invocation:
        stub = define_tool_stub()
        named, refused = _bind(DEFINE_TOOL, [p.name for p in stub.parameters], args, kwargs)

        def validate(arguments: Mapping[str, object]) -> dict[str, Any]:
            try:
                model = _DefineToolArguments.model_validate(dict(arguments))
            except ValidationError as exc:
                raise ToolArgumentError(f"bad arguments for `{DEFINE_TOOL}`: {_problems(exc)}") from exc
            return {"arguments": model}

        async def execute(validated: dict[str, Any]) -> BaseModel:
            arguments = validated["arguments"]
            assert isinstance(arguments, _DefineToolArguments)
            return await self._define_tool(block, arguments)

        def risk(validated: dict[str, Any]) -> Risk:
            arguments = validated["arguments"]
            assert isinstance(arguments, _DefineToolArguments)
            return "write" if arguments.persist else "read"

        return _Invocation(
            name=DEFINE_TOOL,
            args=named,
            refused=refused,
            validate=validate,
            risk=risk,
            execute=execute,
        )

    def _validate(self, call: _Invocation) -> dict[str, Any]:
        """Check a call's arguments (binding, size, types) before anything is announced as running."""
        if call.refused is not None:
            raise _CallRefused(call.refused)
        size = size_of(call.args, limit=self.limits.max_argument_chars)
        if size > self.limits.max_argument_chars:
            raise _CallRefused(
                ValueError(
                    f"the arguments of `{call.name}` are over {self.limits.max_argument_chars:,} characters; "
                    "pass smaller pieces"
                )
            )
        try:
            return call.validate(call.args)
        except ToolArgumentError as exc:
            raise _CallRefused(TypeError(str(exc))) from exc

    async def _invoke(self, block: _Block, call: _Invocation) -> ExternalResult:
        """Validate, announce, gate, run and report one call; its answer resumes the sandbox."""
        call_id = f"{self._id}-{next(self._calls)}"
        try:
            validated = self._validate(call)
            risk = call.risk(validated)
        except _CallRefused as refused:
            await self._emit(
                ToolCallStarted(
                    call_id=call_id, name=call.name, args=call.args, risk="read", parent=call.parent
                )
            )
            await self._finish(block, call, call_id, "read", ok=False, error=str(refused.error))
            return {"exception": refused.error}
        await self._emit(
            ToolCallStarted(call_id=call_id, name=call.name, args=call.args, risk=risk, parent=call.parent)
        )
        if risk != "read":
            denial = await self._ask(block, call, call_id, risk)
            if denial is not None:
                await self._finish(block, call, call_id, risk, ok=False, error=denial, denied=True)
                return {"exception": PermissionError(denial)}
        started = time.perf_counter()
        try:
            result = await call.execute(validated)
        except Exception as exc:  # a tool's own bug, or a generated tool's code failing
            message = str(exc) if isinstance(exc, _GeneratedToolFailed) else f"`{call.name}` failed: {exc}"
            await self._finish(
                block, call, call_id, risk, ok=False, error=message, duration=time.perf_counter() - started
            )
            return {"exception": RuntimeError(message)}
        tool_error = result.tool_error if isinstance(result, ToolResult) else None
        await self._finish(
            block,
            call,
            call_id,
            risk,
            ok=tool_error is None,
            error=tool_error,
            result=result,
            duration=time.perf_counter() - started,
        )
        return {"return_value": wrap(result)}

    async def _ask(self, block: _Block, call: _Invocation, call_id: str, risk: Risk) -> str | None:
        """Pass the permission gate; return the denial message, or None when allowed."""
        request = PermissionRequest(
            call_id=call_id, tool=call.name, args=call.args, risk=risk, summary=_summary(call.name, call.args)
        )
        left = block.pause_deadline()
        try:
            decision = await self.policy(request)
        except Exception as exc:  # a broken policy must not let the call through
            decision = "deny"
            reason = f"the permission check failed ({type(exc).__name__}: {exc})"
        else:
            reason = "the user did not allow it"
        finally:
            block.resume_deadline(left)
        if decision == "allow":
            return None
        return f"permission denied: `{request.summary}` ({risk}) was not run: {reason}"

    async def _finish(
        self,
        block: _Block,
        call: _Invocation,
        call_id: str,
        risk: Risk,
        *,
        ok: bool,
        error: str | None = None,
        result: BaseModel | None = None,
        denied: bool = False,
        duration: float = 0.0,
    ) -> None:
        event = ToolCallFinished(
            call_id=call_id,
            name=call.name,
            args=call.args,
            risk=risk,
            ok=ok,
            result=result,
            error=error,
            denied=denied,
            duration_s=duration,
            parent=call.parent,
        )
        block.calls.append(event)
        await self._emit(event)

    async def _emit(self, event: SandboxEvent) -> None:
        if self.on_event is not None:
            await self.on_event(event)

    # -- generated tools --------------------------------------------------------------------------

    async def _run_generated(
        self, block: _Block, tool: GeneratedTool, arguments: dict[str, Any]
    ) -> BaseModel:
        """Run a generated tool's code in its own session (read tools only) and validate its output."""
        assert self._pool is not None
        async with self._pool.checkout(
            script_name=f"{tool.name}.py", limits=self.limits.monty(), os_policy=_OS_POLICY
        ) as session:
            output = await self._call_generated_code(block, session, tool, arguments)
        try:
            return tool.output_model.model_validate(plain(output))
        except ValidationError as exc:
            raise _GeneratedToolFailed(
                f"generated tool `{tool.name}` returned a value that does not match its output schema: "
                f"{_problems(exc)}"
            ) from exc

    async def _call_generated_code(
        self,
        block: _Block,
        session: AsyncMontySession,
        tool: GeneratedTool,
        arguments: dict[str, Any],
        *,
        define: bool = True,
    ) -> object:
        def on_call(snapshot: AsyncFunctionSnapshot) -> Awaitable[ExternalResult]:
            return self._on_call(block, snapshot, parent=tool.name)

        def is_read_tool(name: str) -> bool:
            return name in self.catalogue

        try:
            if define:
                await drive(
                    session,
                    tool.definition.code,
                    on_call=on_call,
                    callable_names=is_read_tool,
                    printer=block.output,
                )
            return await drive(
                session,
                f"{tool.name}(**__punie_arguments)",
                inputs={"__punie_arguments": arguments},
                on_call=on_call,
                callable_names=is_read_tool,
                printer=block.output,
                skip_type_check=True,
            )
        except MontyError as exc:
            info = error_from_monty(exc, innermost=True)
            where = f" (line {info.line} of its code)" if info.line is not None else ""
            raise _GeneratedToolFailed(f"generated tool `{tool.name}` failed{where}: {info.message}") from exc

    def _class_clashes(self, tool: GeneratedTool) -> list[str]:
        """Stub class names of `tool` already used by another tool's classes."""
        others = [spec.result_type for spec in self.catalogue] + [DefineToolResult]
        others += [other.output_model for other in self._generated.values() if other.name != tool.name]
        taken = {model.__name__ for model in collect_models(others)}
        return sorted(
            model.__name__ for model in collect_models([tool.output_model]) if model.__name__ in taken
        )

    async def _define_tool(self, block: _Block, arguments: _DefineToolArguments) -> DefineToolResult:
        definition = GeneratedToolDefinition(
            name=arguments.name,
            description=arguments.description,
            input_schema=arguments.input_schema,
            output_schema=arguments.output_schema,
            code=arguments.code,
            samples=arguments.samples,
        )
        failed = DefineToolResult(success=False, name=arguments.name)
        try:
            tool = compile_definition(definition, taken_names=frozenset(self.catalogue.tools))
        except SchemaError as exc:
            return failed.model_copy(update={"problems": [str(exc)]})
        if not definition.samples:
            return failed.model_copy(update={"problems": ["give at least one sample input in `samples`"]})
        if clashes := self._class_clashes(tool):
            problem = f"the output classes {clashes} clash with existing classes; choose another tool name"
            return failed.model_copy(update={"problems": [problem]})
        problems: list[str] = []
        outputs: list[dict[str, Any]] = []
        inputs: list[dict[str, Any]] = []
        for number, sample in enumerate(definition.samples, start=1):
            try:
                inputs.append(tool.input_model.model_validate(sample).model_dump())
            except ValidationError as exc:
                problems.append(f"sample {number} does not match input_schema: {_problems(exc)}")
        if problems:
            return failed.model_copy(update={"problems": problems})
        assert self._pool is not None
        async with self._pool.checkout(
            script_name=f"{tool.name}.py",
            limits=self.limits.monty(),
            type_check=self.type_check,
            type_check_stubs=self._read_stubs if self.type_check else None,
            type_check_format="json",
            os_policy=_OS_POLICY,
        ) as session:
            try:
                await drive(
                    session,
                    tool.definition.code,
                    on_call=lambda snapshot: self._on_call(block, snapshot, parent=tool.name),
                    callable_names=lambda name: name in self.catalogue,
                    printer=block.output,
                )
            except MontyError as exc:
                info = error_from_monty(exc, innermost=True)
                where = (
                    f"line {info.line}: "
                    if info.line is not None and info.kind not in ("syntax", "type")
                    else ""
                )
                return failed.model_copy(
                    update={"problems": [f"code ({info.kind} error) {where}{info.message}"]}
                )
            for number, sample in enumerate(inputs, start=1):
                try:
                    output = await self._call_generated_code(block, session, tool, sample, define=False)
                    validated = tool.output_model.model_validate(plain(output))
                except _GeneratedToolFailed as exc:
                    problems.append(f"sample {number}: {exc}")
                    continue
                except ValidationError as exc:
                    problems.append(f"sample {number} output does not match output_schema: {_problems(exc)}")
                    continue
                dumped = to_jsonable(validated)
                outputs.append(dumped if isinstance(dumped, dict) else {"value": dumped})
        if problems:
            return failed.model_copy(update={"problems": problems, "sample_outputs": outputs})
        persisted: str | None = None
        if arguments.persist:
            persisted = await save_generated_tool(self.ctx.workspace, definition)
        self._generated[tool.name] = tool
        self._stubs = None
        block.defined.append(tool)
        return DefineToolResult(
            success=True,
            name=tool.name,
            signature=tool.stubs(),
            sample_outputs=outputs,
            persisted_path=persisted,
        )


class _GeneratedToolFailed(Exception):
    """A generated tool's code failed or returned a value outside its output schema."""


def _level_verb(risk: Risk) -> str:
    """`write` → "write files"; `high-risk` → "do high-risk work"."""
    return "write files" if risk == "write" else "do high-risk work"


def _bind(
    name: str, names: list[str], args: tuple[object, ...], kwargs: dict[str, object]
) -> tuple[dict[str, object], Exception | None]:
    """Name positional arguments after the tool's parameters; a mismatch is returned as a `TypeError`.

    Unknown keyword arguments pass through: the tool's validation names them.
    """
    named: dict[str, object] = dict(zip(names, args, strict=False))
    if len(args) > len(names):
        named["*args"] = list(args[len(names) :])
        return named, TypeError(f"{name}() takes {len(names)} arguments but {len(args)} were given")
    for key, value in kwargs.items():
        if key in named:
            return named, TypeError(f"{name}() got multiple values for argument {key!r}")
        named[key] = value
    return named, None


def _problems(exc: ValidationError) -> str:
    return "; ".join(
        f"`{'.'.join(str(p) for p in err['loc']) or 'value'}`: {err['msg']}"
        for err in exc.errors(include_url=False)
    )


def _summary(name: str, args: Mapping[str, object]) -> str:
    parts = []
    for key, value in args.items():
        if isinstance(value, str) and len(value) > 60:
            shown = f"<{len(value):,} characters>"
        else:
            shown = repr(value)
            if len(shown) > 60:
                shown = shown[:57] + "…"
        parts.append(f"{key}={shown}")
    return f"{name}({', '.join(parts)})"


async def run_code(
    code: str,
    ctx: ToolContext,
    *,
    policy: PermissionPolicy = deny_all,
    limits: SandboxLimits | None = None,
    on_event: EventSink | None = None,
    catalogue: Catalogue | None = None,
) -> BlockResult:
    """Run one block in a fresh sandbox (the `punie code run` path)."""
    async with CodeSandbox(
        ctx, catalogue=catalogue, limits=limits, policy=policy, on_event=on_event
    ) as sandbox:
        return await sandbox.run(code)
