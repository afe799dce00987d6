"""The execution-scored evaluation: run a model through the real agent on held-out fixture tasks.

For each task the harness first runs the task's reference block on a fresh fixture copy to get the
truth, then gives the prompt to a `PunieSession` with the model under test on another fresh copy, and
scores the turn:

- **right tool**: every tool the task needs was called (and none, for a question that needs no tool);
- **code ran**: the last block ran without error;
- **read fields**: a block read a tool-result field by attribute (`r.error_count`, `e.file`);
- **answer true**: the final answer states the truth (the count, the files, the rule IDs...);
- **retries** (failed blocks and unreadable tool calls sent back) and **seconds**.

A task is *fully correct* when all four hold. Given two model specs it reports them side by side.

```text
python -m punie_lsp.flywheel.evaluate --model replay:perfect.jsonl --model punie-tiny --out report.json
```
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import tempfile
import time
from collections.abc import AsyncGenerator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, JsonValue
from pydantic_ai.messages import ModelMessage, ModelResponse
from pydantic_ai.models import Model, ModelRequestParameters, StreamedResponse
from pydantic_ai.models.wrapper import WrapperModel
from pydantic_ai.settings import ModelSettings, merge_model_settings
from pydantic_ai.tools import RunContext
from pydantic_monty import AsyncMonty
from rich.console import Console
from rich.table import Table

from punie_lsp.agent.disclosure import agent_catalogue
from punie_lsp.agent.events import AgentEvent, BlockFinished, BlockStarted, RetryScheduled, ToolFinished
from punie_lsp.agent.session import AgentConfig, HasContextWindow, HasPromptProfile, PunieSession
from punie_lsp.config import default_punie_home
from punie_lsp.flywheel._checks import reads_result_fields
from punie_lsp.flywheel._eval_tasks import EVAL_FIXTURES, EvalTask, eval_tasks
from punie_lsp.flywheel._workspace import FIXTURES_DIR, copy_fixture, fixture_context
from punie_lsp.flywheel.recipes import Outcome
from punie_lsp.flywheel.seed import DEFAULT_OUT, prompt_hash
from punie_lsp.models.chat_format import PromptProfile, render_tool_call
from punie_lsp.models.replay import reset_replay
from punie_lsp.models.spec import ReplaySpec, parse_model_spec, resolve_model
from punie_lsp.sandbox import CodeSandbox

__all__ = (
    "EVAL_FIXTURES",
    "CappedModel",
    "EvalReport",
    "EvalTask",
    "HeldOutCheck",
    "ModelReport",
    "TaskScore",
    "check_held_out",
    "compute_truths",
    "eval_tasks",
    "evaluate",
    "main",
    "write_replay",
)

DEFAULT_MAX_TOKENS = 768
"""Answer length limit per model request during evaluation (a base model may never stop)."""
DEFAULT_TASK_TIMEOUT = 300.0
"""Seconds one task may take before it is cancelled and scored as failed."""
DEFAULT_REQUEST_LIMIT = 8
"""Model requests per task (a model that keeps calling tools without answering stops here)."""


class TaskScore(BaseModel):
    """How one model did on one task."""

    model_config = ConfigDict(extra="forbid")

    task: str
    """The task id."""
    right_tool: bool
    """Called every tool the task needs (none for a plain question)."""
    code_ran: bool
    """The last block ran without error (true when no tool was needed and none was called)."""
    read_fields: bool
    """A block read a tool-result field by attribute (true when no tool was needed)."""
    answer_true: bool
    """The final answer states the truth."""
    fully_correct: bool
    """All four of the above."""
    retries: int
    """Failed blocks and unreadable tool calls sent back to the model."""
    blocks: int
    """Code Mode blocks the model sent."""
    seconds: float
    """Wall time of the turn."""
    tools_called: list[str]
    """Tools called, in order of first call."""
    stop_reason: str
    """How the turn ended (`end_turn`, `error`, `timeout`...)."""
    answer: str
    """The final answer text (trimmed to 2,000 characters)."""
    problem: str | None
    """What went wrong first, when the task is not fully correct."""


class ModelReport(BaseModel):
    """One model's scores."""

    model_config = ConfigDict(extra="forbid")

    model: str
    """The model spec."""
    tasks: list[TaskScore]
    """Per task, in task order."""
    summary: dict[str, float]
    """Rates (0–1) of each criterion, `fully_correct`, mean `retries` and mean `seconds`."""


class HeldOutCheck(BaseModel):
    """Whether the tasks are really held out of the seed set."""

    model_config = ConfigDict(extra="forbid")

    manifest: str | None
    """The seed manifest checked against (`None` when there was none)."""
    prompt_overlap: list[str]
    """Task ids whose prompt hash is a seed prompt's."""
    fixture_overlap: list[str]
    """Task fixtures that the seed set also uses."""


class EvalReport(BaseModel):
    """The whole evaluation: tasks, truths and each model's scores."""

    model_config = ConfigDict(extra="forbid")

    task_count: int
    """Number of tasks."""
    held_out: HeldOutCheck
    """The held-out check."""
    truths: dict[str, JsonValue]
    """Each task's truth (the reference block's value)."""
    models: list[ModelReport]
    """One report per model, in the order given."""


class CappedModel(WrapperModel):
    """A model with fixed settings merged into every request (an answer length cap for evaluation).

    Args:
        wrapped: the model under test.
        settings: settings that override the request's (for example `{"max_tokens": 768}`).
    """

    def __init__(self, wrapped: Model, *, settings: ModelSettings) -> None:
        super().__init__(wrapped)
        self.cap = settings

    @property
    def context_window(self) -> int | None:
        """The wrapped model's context window, when it knows it."""
        if isinstance(self.wrapped, HasContextWindow):
            return self.wrapped.context_window
        return None

    @property
    def prompt_profile(self) -> PromptProfile | None:
        """The wrapped model's prompt profile, when it names one (punie-tiny: `compact`)."""
        if isinstance(self.wrapped, HasPromptProfile):
            return self.wrapped.prompt_profile
        return None

    async def request(
        self,
        messages: list[ModelMessage],
        model_settings: ModelSettings | None,
        model_request_parameters: ModelRequestParameters,
    ) -> ModelResponse:
        """Request with the capped settings."""
        settings = merge_model_settings(model_settings, self.cap)
        return await super().request(messages, settings, model_request_parameters)

    @asynccontextmanager
    async def request_stream(
        self,
        messages: list[ModelMessage],
        model_settings: ModelSettings | None,
        model_request_parameters: ModelRequestParameters,
        run_context: RunContext[Any] | None = None,
    ) -> AsyncGenerator[StreamedResponse]:
        """Stream with the capped settings."""
        settings = merge_model_settings(model_settings, self.cap)
        async with super().request_stream(
            messages, settings, model_request_parameters, run_context
        ) as stream:
            yield stream


def check_held_out(
    tasks: Sequence[EvalTask], manifest: Path | None = DEFAULT_OUT / "manifest.json"
) -> HeldOutCheck:
    """Compare the tasks with the seed manifest: no shared prompt (normalised hash), no shared fixture."""
    if manifest is None or not manifest.is_file():
        return HeldOutCheck(manifest=None, prompt_overlap=[], fixture_overlap=[])
    data = json.loads(manifest.read_text(encoding="utf-8"))
    hashes = {example["prompt_hash"] for example in data["examples"]}
    fixtures = set(data["fixtures"])
    return HeldOutCheck(
        manifest=str(manifest),
        prompt_overlap=[task.id for task in tasks if prompt_hash(task.prompt) in hashes],
        fixture_overlap=sorted({task.fixture for task in tasks if task.fixture in fixtures}),
    )


async def compute_truths(
    tasks: Sequence[EvalTask], *, fixtures_dir: Path = FIXTURES_DIR, scratch: Path
) -> dict[str, Outcome]:
    """Run every task's reference block on a fresh copy of its fixture; the values are the truth.

    Raises:
        RuntimeError: a reference block failed (the task itself is broken).
    """
    truths: dict[str, Outcome] = {}
    home = scratch / "truth-home"
    home.mkdir(parents=True, exist_ok=True)
    by_fixture: dict[str, list[EvalTask]] = {}
    for task in tasks:
        if task.reference is None:
            truths[task.id] = Outcome(value=None, stdout="", params={})
        else:
            by_fixture.setdefault(task.fixture, []).append(task)
    catalogue = agent_catalogue()
    async with AsyncMonty(min_processes=1, max_processes=2) as pool:
        for index, (fixture, fixture_tasks) in enumerate(by_fixture.items()):
            copy = copy_fixture(fixture, scratch / f"truth-{index}", fixtures_dir=fixtures_dir)
            ctx = fixture_context(copy.root, punie_home=home)
            async with CodeSandbox(ctx, catalogue=catalogue, pool=pool) as sandbox:
                for task in fixture_tasks:
                    assert task.reference is not None
                    await sandbox.reset()
                    result = await sandbox.run(task.reference)
                    failed = [call.name for call in result.tool_calls if not call.ok]
                    if not result.ok or failed:
                        problem = result.error.for_model() if result.error else f"tools failed: {failed}"
                        raise RuntimeError(f"the reference block of {task.id} failed: {problem}")
                    truths[task.id] = Outcome(value=result.value, stdout=result.stdout, params={})
    return truths


def write_replay(
    tasks: Sequence[EvalTask], truths: dict[str, Outcome], path: Path, *, broken: bool = False
) -> Path:
    """Write a replay file that answers every task, in order: perfectly, or (with `broken`) badly.

    Perfect: the reference block, then the reference answer. Broken: a block calling a tool that does not
    exist (a type error) or a tool call cut off mid-way (unreadable), alternately, so one retry each, then
    an answer that states nothing. Plain questions get one text turn.
    """
    turns: list[str] = []
    for index, task in enumerate(tasks):
        if broken:
            if task.reference is not None:
                call = render_tool_call("run_code", {"code": "r = no_such_tool()\nr.count"})
                turns.append(call if index % 2 == 0 else call[: call.index("</parameter>")])
            turns.append("I could not find out.")
            continue
        if task.reference is not None:
            turns.append(render_tool_call("run_code", {"code": task.reference}))
        turns.append(task.answer(truths[task.id]))
    path.write_text("".join(json.dumps({"content": turn}) + "\n" for turn in turns), encoding="utf-8")
    return path


class _Recorder:
    def __init__(self) -> None:
        self.codes: list[str] = []
        self.finished: list[bool] = []
        self.tools: list[str] = []
        self.retries = 0

    async def __call__(self, event: AgentEvent) -> None:
        match event:
            case BlockStarted():
                self.codes.append(event.code)
            case BlockFinished():
                self.finished.append(event.ok)
            case ToolFinished():
                if event.name not in self.tools:
                    self.tools.append(event.name)
            case RetryScheduled():
                self.retries += 1
            case _:
                pass


def _score(
    task: EvalTask, truth: Outcome, recorder: _Recorder, *, answer: str, stop: str, seconds: float
) -> TaskScore:
    if task.tools:
        right_tool = all(tool in recorder.tools for tool in task.tools)
        code_ran = bool(recorder.finished) and recorder.finished[-1]
        read_fields = any(
            ok and reads_result_fields(code)
            for code, ok in zip(recorder.codes, recorder.finished, strict=False)
        )
    else:
        right_tool = not recorder.codes
        code_ran = read_fields = True
    verdict = task.judge(answer, truth) if stop == "end_turn" else f"the turn ended with {stop}"
    answer_true = verdict is None
    checks = {
        "right tool": (
            right_tool,
            f"expected {', '.join(task.tools) or 'no tool'}, called {recorder.tools or 'none'}",
        ),
        "code ran": (code_ran, "no block ran to the end"),
        "read fields": (read_fields, "no block read a result field"),
        "answer true": (answer_true, f"answer {verdict}"),
    }
    problem = next((f"{name}: {why}" for name, (ok, why) in checks.items() if not ok), None)
    return TaskScore(
        task=task.id,
        right_tool=right_tool,
        code_ran=code_ran,
        read_fields=read_fields,
        answer_true=answer_true,
        fully_correct=problem is None,
        retries=recorder.retries,
        blocks=len(recorder.codes),
        seconds=round(seconds, 3),
        tools_called=recorder.tools,
        stop_reason=stop,
        answer=answer[:2000],
        problem=problem,
    )


async def _run_task(
    model: Model,
    task: EvalTask,
    truth: Outcome,
    *,
    scratch: Path,
    fixtures_dir: Path,
    config: AgentConfig,
    timeout: float,
) -> TaskScore:
    copy = copy_fixture(task.fixture, scratch, fixtures_dir=fixtures_dir)
    home = scratch / "home"
    home.mkdir(exist_ok=True)
    ctx = fixture_context(copy.root, punie_home=home)
    recorder = _Recorder()
    started = time.perf_counter()
    async with PunieSession(model=model, ctx=ctx, config=config) as session:
        turn = asyncio.ensure_future(session.prompt(task.prompt, on_event=recorder))
        try:
            result = await asyncio.wait_for(asyncio.shield(turn), timeout)
        except TimeoutError:
            session.cancel()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(turn, 30)
            return _score(
                task, truth, recorder, answer="", stop="timeout", seconds=time.perf_counter() - started
            )
    return _score(
        task,
        truth,
        recorder,
        answer=result.output,
        stop=result.stop_reason,
        seconds=time.perf_counter() - started,
    )


def _summary(scores: Sequence[TaskScore]) -> dict[str, float]:
    total = len(scores) or 1
    dumped = [score.model_dump() for score in scores]
    rates = {
        name: round(sum(bool(score[name]) for score in dumped) / total, 4)
        for name in ("fully_correct", "right_tool", "code_ran", "read_fields", "answer_true")
    }
    rates["retries"] = round(sum(score.retries for score in scores) / total, 3)
    rates["seconds"] = round(sum(score.seconds for score in scores) / total, 3)
    return rates


async def evaluate(
    specs: Sequence[str],
    *,
    tasks: Sequence[EvalTask] | None = None,
    fixtures_dir: Path = FIXTURES_DIR,
    punie_home: Path | None = None,
    manifest: Path | None = DEFAULT_OUT / "manifest.json",
    max_tokens: int = DEFAULT_MAX_TOKENS,
    task_timeout: float = DEFAULT_TASK_TIMEOUT,
    config: AgentConfig | None = None,
    progress: Callable[[str], None] | None = None,
) -> EvalReport:
    """Score each model spec on the tasks through the real agent.

    Args:
        specs: model specs (`punie-tiny`, `mlx:<dir>`, `replay:<file>`...), reported side by side.
        tasks: the tasks (default: `eval_tasks()`).
        fixtures_dir: where the fixture projects live.
        punie_home: where installed models live (default: `PUNIE_HOME` or `~/.punie`).
        manifest: the seed manifest for the held-out check (`None` to skip it).
        max_tokens: answer length limit per model request.
        task_timeout: seconds per task before it is cancelled.
        config: the agent configuration (default: `AgentConfig` with `DEFAULT_REQUEST_LIMIT` requests).
        progress: receives one line per task.

    Returns:
        The report: truths, the held-out check, and each model's scores.
    """
    chosen = list(tasks) if tasks is not None else eval_tasks(fixtures_dir)
    say = progress or (lambda line: None)
    home = punie_home if punie_home is not None else default_punie_home()
    agent_config = config if config is not None else AgentConfig(request_limit=DEFAULT_REQUEST_LIMIT)
    reports: list[ModelReport] = []
    with tempfile.TemporaryDirectory(prefix="punie-eval-") as scratch_dir:
        scratch = Path(scratch_dir)
        truths = await compute_truths(chosen, fixtures_dir=fixtures_dir, scratch=scratch / "truth")
        for spec_index, spec in enumerate(specs):
            parsed = parse_model_spec(spec)
            if isinstance(parsed, ReplaySpec):
                reset_replay(parsed.path)
            model = CappedModel(resolve_model(spec, punie_home=home), settings={"max_tokens": max_tokens})
            scores: list[TaskScore] = []
            for index, task in enumerate(chosen):
                score = await _run_task(
                    model,
                    task,
                    truths[task.id],
                    scratch=scratch / f"model-{spec_index}" / f"task-{index}",
                    fixtures_dir=fixtures_dir,
                    config=agent_config,
                    timeout=task_timeout,
                )
                verdict = "ok" if score.fully_correct else score.problem
                say(f"{spec}  {task.id}: {verdict} ({score.seconds:.1f}s)")
                scores.append(score)
            reports.append(ModelReport(model=spec, tasks=scores, summary=_summary(scores)))
    return EvalReport(
        task_count=len(chosen),
        held_out=check_held_out(chosen, manifest),
        truths={task_id: truth.value for task_id, truth in truths.items()},
        models=reports,
    )


def _mark(score: TaskScore) -> str:
    marks = "".join(
        "✓" if ok else "·" for ok in (score.right_tool, score.code_ran, score.read_fields, score.answer_true)
    )
    return f"{'[green]' if score.fully_correct else '[red]'}{marks}[/] r{score.retries} {score.seconds:.1f}s"


def report_tables(report: EvalReport) -> tuple[Table, Table]:
    """A per-task table (tool, code, fields and answer marks, retries, seconds) and a summary table."""
    tasks = Table(
        title=f"{report.task_count} held-out tasks (✓ = right tool, code ran, read fields, answer true)"
    )
    tasks.add_column("task")
    for model in report.models:
        tasks.add_column(model.model)
    first = report.models[0].tasks if report.models else []
    for index, score in enumerate(first):
        tasks.add_row(score.task, *(_mark(model.tasks[index]) for model in report.models))
    summary = Table(title="summary")
    summary.add_column("metric")
    for model in report.models:
        summary.add_column(model.model, justify="right")
    for metric in (
        "fully_correct",
        "right_tool",
        "code_ran",
        "read_fields",
        "answer_true",
        "retries",
        "seconds",
    ):
        rate = metric not in ("retries", "seconds")
        summary.add_row(
            metric.replace("_", " "),
            *(f"{m.summary[metric]:.0%}" if rate else f"{m.summary[metric]:.2f}" for m in report.models),
        )
    return tasks, summary


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m punie_lsp.flywheel.evaluate --model SPEC [--model SPEC2] --out report.json`."""
    parser = argparse.ArgumentParser(
        prog="python -m punie_lsp.flywheel.evaluate", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--model", action="append", required=True, help="a model spec (repeat to compare)")
    parser.add_argument("--out", type=Path, default=Path("eval-report.json"), help="the JSON report")
    parser.add_argument("--fixtures", type=Path, default=FIXTURES_DIR, help="the fixture projects")
    parser.add_argument("--only", action="append", default=[], help="run only tasks whose id contains this")
    parser.add_argument("--max-tokens", type=int, default=DEFAULT_MAX_TOKENS, help="answer length limit")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TASK_TIMEOUT, help="seconds per task")
    parser.add_argument(
        "--request-limit", type=int, default=DEFAULT_REQUEST_LIMIT, help="model requests per task"
    )
    parser.add_argument(
        "--write-replay",
        type=Path,
        default=None,
        help="write a perfect replay of the tasks to this file and exit",
    )
    args = parser.parse_args(argv)
    console = Console(stderr=True)
    tasks = eval_tasks(args.fixtures)
    if args.only:
        tasks = [task for task in tasks if any(part in task.id for part in args.only)]
    if args.write_replay is not None:

        async def reference() -> None:
            with tempfile.TemporaryDirectory(prefix="punie-eval-") as scratch:
                truths = await compute_truths(tasks, fixtures_dir=args.fixtures, scratch=Path(scratch))
            write_replay(tasks, truths, args.write_replay)

        asyncio.run(reference())
        console.print(f"wrote a perfect replay of {len(tasks)} tasks to {args.write_replay}")
        return 0
    report = asyncio.run(
        evaluate(
            args.model,
            tasks=tasks,
            fixtures_dir=args.fixtures,
            max_tokens=args.max_tokens,
            task_timeout=args.timeout,
            config=AgentConfig(request_limit=args.request_limit),
            progress=lambda line: console.print(f"[dim]{line}[/dim]"),
        )
    )
    args.out.write_text(report.model_dump_json(indent=1) + "\n", encoding="utf-8")
    out = Console()
    for table in report_tables(report):
        out.print(table)
    if report.held_out.prompt_overlap or report.held_out.fixture_overlap:
        console.print(f"[yellow]warning: tasks overlap the seed set: {report.held_out}[/yellow]")
    console.print(f"report written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
