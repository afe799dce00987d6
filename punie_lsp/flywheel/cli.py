"""`punie data …`: look at captured traces, curate them into datasets, export them for training.

The lead mounts `app` as `punie data` (`app.add_typer(data_app, name="data")`). Every command reads
`PUNIE_HOME` (the environment, or `--home`). Data problems (a torn line, a hand-edited record, an unknown
schema version) are reported as warnings on stderr and never stop a command. Exit codes: 0 success, 2 usage
or I/O error.
"""

from __future__ import annotations

import importlib
import json
import statistics
import sys
import warnings
from collections import Counter
from collections.abc import Generator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Annotated, Literal

import click
import msgspec
import typer

from punie_lsp.config import default_punie_home
from punie_lsp.flywheel.homegit import HomeRepo
from punie_lsp.flywheel.store import SessionTrace, TraceStore, TraceWarning

if TYPE_CHECKING:
    from punie_lsp.flywheel.curate import Example

__all__ = ("app",)


def _curate_module() -> ModuleType:
    """`punie_lsp.flywheel.curate`, imported on first use (it loads the chat format and pydantic-ai)."""
    return importlib.import_module("punie_lsp.flywheel.curate")


def _export_module() -> ModuleType:
    """`punie_lsp.flywheel.export`, imported on first use."""
    return importlib.import_module("punie_lsp.flywheel.export")


app = typer.Typer(
    help="Captured traces: stats, list, show, curate, export, dedupe.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

HomeOption = Annotated[
    Path | None,
    typer.Option("--home", help="PUNIE_HOME (default: $PUNIE_HOME or ~/.punie).", show_default=False),
]
OutputFormat = Literal["text", "json"]


def _home(home: Path | None) -> Path:
    return (home or default_punie_home()).expanduser()


def _fail(message: str) -> typer.Exit:
    typer.echo(f"punie: error: {message}", err=True)
    return typer.Exit(2)


@contextmanager
def _warnings_to_stderr() -> Generator[None]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", TraceWarning)
        yield
    for warning in caught:
        typer.echo(f"punie: warning: {warning.message}", err=True)


def _scope(scope: str | None) -> tuple[str | None, str | None]:
    if not scope:
        return None, None
    project, _, feature = scope.strip("/").partition("/")
    return project or None, feature or None


def _commit(home: Path, paths: list[Path], message: str) -> None:
    HomeRepo(home, on_problem=lambda text: typer.echo(f"punie: warning: {text}", err=True)).commit(
        paths, message
    )


# -- stats, list, show ---------------------------------------------------------------------------------


def _turn_stats(traces: list[SessionTrace]) -> dict[str, float | int | None]:
    turns = [t for trace in traces for t in trace.turns]
    validated = sum(
        _curate_module().turn_verdict(turn, trace.signals_for(turn.turn)) is None
        for trace in traces
        for turn in trace.turns
    )
    signals = Counter(s.kind for trace in traces for s in trace.signals)
    ratings = [s.rating for trace in traces for s in trace.signals if s.rating is not None]
    return {
        "sessions": len(traces),
        "turns": len(turns),
        "validated": validated,
        "pass_rate": round(validated / len(turns), 3) if turns else None,
        "ratings": len(ratings),
        "mean_rating": round(statistics.fmean(ratings), 2) if ratings else None,
        "corrections": signals["correct"],
        "additions": signals["add"],
        "edits_accepted": signals["edit_accepted"],
        "edits_rejected": signals["edit_rejected"],
        "retries": sum(len(t.retries) for t in turns),
        "input_tokens": sum(t.usage.input_tokens for t in turns),
        "output_tokens": sum(t.usage.output_tokens for t in turns),
    }


@app.command()
def stats(
    scope: Annotated[
        str | None, typer.Argument(help="PROJECT or PROJECT/FEATURE (default: everything).")
    ] = None,
    home: HomeOption = None,
    output_format: Annotated[OutputFormat, typer.Option("--format", help="Output format.")] = "text",
) -> None:
    """Per project and feature: sessions, turns, pass rate, ratings, corrections, curated, trained."""
    root = _home(home)
    store = TraceStore(root)
    project, feature = _scope(scope)
    grouped: dict[tuple[str, str], list[SessionTrace]] = {}
    with _warnings_to_stderr():
        for trace in store.load_all(project, feature):
            grouped.setdefault((trace.ref.project, trace.ref.feature), []).append(trace)
        ledger = _export_module().Ledger(root)
        rows = []
        for (p, f), traces in sorted(grouped.items()):
            curated = _curate_module().curated_path(root, p, f)
            row = {"project": p, "feature": f, **_turn_stats(traces)}
            row["curated"] = len(_curate_module().read_curated(curated)) if curated.exists() else 0
            row["trained"] = sum(e.source.startswith(f"{p}/{f}/") for e in ledger.entries.values())
            rows.append(row)
    if output_format == "json":
        typer.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        typer.echo(f"No traces under {store.root}.")
        return
    for row in rows:
        rate = f"{row['pass_rate']:.0%}" if row["pass_rate"] is not None else "-"
        rating = f"{row['mean_rating']} ({row['ratings']})" if row["ratings"] else "-"
        typer.echo(
            f"{row['project']}/{row['feature']}: {row['sessions']} session(s), {row['turns']} turn(s), "
            f"pass rate {rate}, rating {rating}, {row['corrections']} correction(s), "
            f"{row['additions']} addition(s), edits +{row['edits_accepted']}/-{row['edits_rejected']}, "
            f"{row['curated']} curated, {row['trained']} trained"
        )


@app.command("list")
def list_sessions(
    scope: Annotated[
        str | None, typer.Argument(help="PROJECT or PROJECT/FEATURE (default: everything).")
    ] = None,
    home: HomeOption = None,
) -> None:
    """List sessions: id, project/feature, start, turns, validated turns, model."""
    store = TraceStore(_home(home))
    project, feature = _scope(scope)
    with _warnings_to_stderr():
        for trace in store.load_all(project, feature):
            header = trace.header
            validated = sum(
                _curate_module().turn_verdict(t, trace.signals_for(t.turn)) is None for t in trace.turns
            )
            started = header.started_at if header else "?"
            model = header.model.spec if header else "?"
            closed = "" if trace.end else " (unfinished)"
            typer.echo(
                f"{trace.ref.session_id}  {trace.ref.project}/{trace.ref.feature}  {started}  "
                f"{len(trace.turns)} turn(s), {validated} validated  {model}{closed}"
            )


def _show_text(trace: SessionTrace, only: int | None) -> None:
    header = trace.header
    if header is not None:
        typer.echo(
            f"session {header.session_id}  {header.project}/{header.feature} ({header.feature_source})  "
            f"via {header.front_end}  model {header.model.spec}  started {header.started_at}"
        )
    for turn in trace.turns:
        if only is not None and turn.turn != only:
            continue
        verdict = _curate_module().turn_verdict(turn, trace.signals_for(turn.turn))
        typer.echo(f"\n── turn {turn.turn}  [{verdict or 'validated'}]  {turn.started_at}")
        typer.echo(f"user: {turn.prompt}")
        for block in turn.blocks:
            typer.echo(f"block {block.block_id} ({'ok' if block.ok else 'failed'}, {block.duration_s:.2f}s):")
            typer.echo("  " + block.code.replace("\n", "\n  "))
            for call in block.tool_calls:
                state = "denied" if call.denied else "ok" if call.ok else f"error: {call.error}"
                typer.echo(
                    f"    → {call.name}({', '.join(f'{k}={v!r}' for k, v in call.args.items())}) {state}"
                )
            if block.error:
                typer.echo(f"  error: {block.error}")
        for call in turn.tool_calls:
            typer.echo(f"tool {call.name} {'ok' if call.ok else 'failed'}")
        for retry in turn.retries:
            typer.echo(f"retry {retry.attempt}: {retry.message.splitlines()[0] if retry.message else ''}")
        for check in turn.validation:
            typer.echo(
                f"validation {check.check}: {'passed' if check.passed else f'{check.problems} problem(s)'}"
            )
        typer.echo(f"answer: {turn.outcome.output}")
        usage = turn.usage
        typer.echo(
            f"{turn.outcome.stop_reason}, {usage.duration_s:.2f}s, {usage.input_tokens} in / "
            f"{usage.output_tokens} out tokens, {usage.requests} request(s)"
        )
        for signal in trace.signals_for(turn.turn):
            detail = (
                signal.text or (f"{signal.rating}/5" if signal.rating else "") or json.dumps(signal.payload)
            )
            typer.echo(f"signal {signal.kind}: {detail}")


@app.command()
def show(
    session_id: Annotated[str, typer.Argument(help="A session id (see `punie data list`).")],
    turn: Annotated[int | None, typer.Option("--turn", help="Only this turn.")] = None,
    home: HomeOption = None,
    output_format: Annotated[OutputFormat, typer.Option("--format", help="Output format.")] = "text",
) -> None:
    """Show a session: prompts, blocks, tool calls, validation, answers, signals."""
    store = TraceStore(_home(home))
    ref = store.find(session_id)
    if ref is None:
        raise _fail(f"no session `{session_id}` under `{store.root}`")
    with _warnings_to_stderr():
        trace = store.load(ref)
    if output_format == "json":
        turns = [t for t in trace.turns if turn is None or t.turn == turn]
        signals = [s for s in trace.signals if turn is None or s.turn == turn]
        typer.echo(
            msgspec.json.format(msgspec.json.encode([trace.header, *turns, *signals, trace.end])).decode()
        )
        return
    _show_text(trace, turn)


# -- curate ---------------------------------------------------------------------------------------------


def _read_choice(prompt: str) -> str:
    typer.echo(prompt, nl=False)
    line = sys.stdin.readline()
    return line.strip() if line else "q"


def _read_replacement(current: str) -> str | None:
    if sys.stdin.isatty():
        return click.edit(current)
    typer.echo("New final answer; end with a line holding only `.`:")
    lines: list[str] = []
    for line in sys.stdin:
        if line.rstrip("\n") == ".":
            break
        lines.append(line)
    return "".join(lines).rstrip("\n") or None


def _edit(example: Example) -> Example | None:
    last = next(
        (i for i in range(len(example.messages) - 1, -1, -1) if example.messages[i]["role"] == "assistant"),
        None,
    )
    if last is None:
        typer.echo("  (no assistant message to edit)")
        return None
    text = _read_replacement(str(example.messages[last].get("content", "")))
    if text is None:
        return None
    messages = list(example.messages)
    messages[last] = {**messages[last], "content": text}
    return msgspec.structs.replace(
        example, messages=messages, id=_curate_module().content_id(messages), edited=True
    )


def _preview(example: Example, index: int, total: int) -> None:
    rating = f", rated {example.rating}" if example.rating else ""
    typer.echo(f"\n[{index}/{total}] {example.kind} · {example.tool} · {example.source}{rating}")
    for message in example.messages[example.turn_start :]:
        content = str(message.get("content", ""))
        if len(content) > 800:
            content = content[:800] + " …"
        typer.echo(f"  {message['role']}: " + content.replace("\n", "\n    "))


def _review(examples: list[Example]) -> list[Example]:
    accepted: list[Example] = []
    accept_rest = False
    for index, example in enumerate(examples, start=1):
        if accept_rest:
            accepted.append(example)
            continue
        _preview(example, index, len(examples))
        while True:
            choice = _read_choice("accept [a], skip [s], edit [e], accept all the rest [A], quit [q]? ")
            if choice in ("a", "", "y"):
                accepted.append(example)
            elif choice == "A":
                accepted.append(example)
                accept_rest = True
            elif choice == "e":
                edited = _edit(example)
                if edited is None:
                    continue
                accepted.append(edited)
            elif choice == "q":
                typer.echo(f"Stopped: {len(examples) - index + 1} example(s) left unreviewed are skipped.")
                return accepted
            elif choice != "s":
                typer.echo("  please answer a, s, e, A or q")
                continue
            break
    return accepted


@app.command("curate")
def curate_command(
    scope: Annotated[str, typer.Argument(help="PROJECT/FEATURE to curate.")],
    auto: Annotated[
        bool, typer.Option("--auto", help="Accept every example the rules keep (no questions).")
    ] = False,
    threshold: Annotated[float, typer.Option("--threshold", help="Near-duplicate similarity (0-1).")] = 0.8,
    max_per_tool: Annotated[
        int | None, typer.Option("--max-per-tool", help="Cap per tool (default: 2× the median, at least 5).")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Report only; write nothing.")] = False,
    home: HomeOption = None,
) -> None:
    """Consolidate a feature's traces into a tight dataset (datasets/PROJECT/FEATURE/curated.jsonl)."""
    project, feature = _scope(scope)
    if project is None or feature is None:
        raise _fail(f"curate takes PROJECT/FEATURE, not {scope!r} (see `punie data stats`)")
    root = _home(home)
    store = TraceStore(root)
    with _warnings_to_stderr():
        traces = list(store.load_all(project, feature))
        if not traces:
            raise _fail(f"no traces for `{project}/{feature}` under `{store.root}`")
        examples, report = _curate_module().curate(traces, threshold=threshold, max_per_tool=max_per_tool)
    typer.echo(report.summary())
    if report.corrections_without_fix:
        typer.echo(f"{report.corrections_without_fix} correction(s) had no validated fix after them.")
    if not auto and not dry_run and examples:
        examples = _review(examples)
    if dry_run:
        return
    path = _curate_module().curated_path(root, project, feature)
    _curate_module().write_curated(path, examples)
    typer.echo(f"{len(examples)} example(s) → {path}")
    counts = Counter(e.kind for e in examples)
    _commit(
        root,
        [path],
        f"curate: {project}/{feature} ({counts['positive']} positive, {counts['negative']} negative)\n\n"
        f"{report.summary()}",
    )


# -- export and dedupe ------------------------------------------------------------------------------------


def _curated_sets(root: Path) -> list[tuple[str, str, Path]]:
    base = root / _curate_module().DATASETS
    return [
        (path.parent.parent.name, path.parent.name, path)
        for path in sorted(base.glob("*/*/curated.jsonl"))
        if path.parent.parent.name != "exports"
    ]


@app.command("export")
def export_command(
    scopes: Annotated[
        list[str] | None,
        typer.Argument(help="PROJECT or PROJECT/FEATURE to export (default: every curated set)."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Output folder (default: datasets/exports/<time>).")
    ] = None,
    include_trained: Annotated[
        bool, typer.Option("--include-trained", help="Also export examples the ledger says were trained on.")
    ] = False,
    no_record: Annotated[
        bool, typer.Option("--no-record", help="Do not add the examples to trained.json.")
    ] = False,
    valid: Annotated[float, typer.Option("--valid", help="Share for valid.jsonl.")] = 0.1,
    test: Annotated[float, typer.Option("--test", help="Share for test.jsonl.")] = 0.1,
    home: HomeOption = None,
) -> None:
    """Write mlx-lm chat JSONL (train/valid/test) from curated sets (uncurated features: automatic rules)."""
    root = _home(home)
    wanted = [_scope(s) for s in scopes or []]

    def selected(project: str, feature: str) -> bool:
        return not wanted or any(p == project and f in (None, feature) for p, f in wanted)

    examples: list[Example] = []
    with _warnings_to_stderr():
        curated = {(p, f): path for p, f, path in _curated_sets(root) if selected(p, f)}
        for path in curated.values():
            examples.extend(_curate_module().read_curated(path))
        store = TraceStore(root)
        features = sorted({(r.project, r.feature) for r in store.sessions()})
        for project, feature in features:
            if (project, feature) in curated or not selected(project, feature):
                continue
            auto, _ = _curate_module().curate(store.load_all(project, feature))
            typer.echo(
                f"{project}/{feature} was never curated: {len(auto)} example(s) by the automatic rules"
            )
            examples.extend(auto)
        try:
            result = _export_module().export_examples(
                examples,
                home=root,
                out=out,
                include_trained=include_trained,
                record=not no_record,
                valid=valid,
                test=test,
            )
        except (OSError, ValueError) as exc:
            raise _fail(str(exc)) from None
    typer.echo(
        f"{sum(result.counts.values())} example(s) → {result.out} "
        f"(train {result.counts['train']}, valid {result.counts['valid']}, test {result.counts['test']}); "
        f"{result.already_trained} already trained, {result.duplicates} near-duplicate(s) left out"
    )
    if not no_record and result.examples and result.out.resolve().is_relative_to(root.resolve()):
        _commit(
            root,
            [result.out, root / "trained.json"],
            f"export: {result.out.name} ({len(result.examples)} examples)",
        )
    elif not no_record and result.examples:
        _commit(root, [root / "trained.json"], f"export: {result.out} ({len(result.examples)} examples)")


@app.command()
def dedupe(
    threshold: Annotated[float, typer.Option("--threshold", help="Near-duplicate similarity (0-1).")] = 0.8,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Report only; rewrite nothing.")] = False,
    home: HomeOption = None,
) -> None:
    """Drop near-duplicate examples across every curated set of the store (the best of each group stays)."""
    root = _home(home)
    with _warnings_to_stderr():
        sets = _curated_sets(root)
        loaded = {path: _curate_module().read_curated(path) for _, _, path in sets}
    everything = [e for examples in loaded.values() for e in examples]
    kept, dropped = _curate_module().dedupe_examples(everything, threshold=threshold)
    typer.echo(
        f"{len(everything)} example(s) in {len(sets)} curated set(s): {len(dropped)} near-duplicate(s)"
    )
    for example in dropped:
        typer.echo(f"  duplicate: {example.source}")
    if dry_run or not dropped:
        return
    keep = {id(e) for e in kept}
    changed = []
    for path, examples in loaded.items():
        remaining = [e for e in examples if id(e) in keep]
        if len(remaining) != len(examples):
            _curate_module().write_curated(path, remaining)
            changed.append(path)
    _commit(root, changed, f"dedupe: {len(dropped)} near-duplicate example(s) dropped")
