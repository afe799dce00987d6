"""Curation rules, near-duplicates, balancing, and the `punie data` views and interactive curate."""

from __future__ import annotations

import json
import random
import subprocess
from pathlib import Path

from typer.testing import CliRunner

from punie_lsp.flywheel.cli import app
from punie_lsp.flywheel.curate import balance, curate, curated_path, read_curated
from punie_lsp.flywheel.dedup import near_duplicate_groups
from punie_lsp.flywheel.schema import Record, SignalRecord, ToolCallTrace, TurnRecord, ValidationTrace
from punie_lsp.flywheel.store import SessionRef, SessionTrace, TraceStore, append_records
from punie_lsp.flywheel.synthetic import synthetic_header, synthetic_session, synthetic_turn

runner = CliRunner()


def _write(home: Path, records: list[Record], *, project: str = "shop", feature: str = "main") -> None:
    session = records[0].session_id
    append_records(TraceStore(home).session_path(project, feature, session), records)


def _session_with_signals(home: Path) -> None:
    """t1 fine; t2 corrected; t3 fixes it; t4 rated 1; t5 edits a file and leaves ruff failing."""
    rng = random.Random(7)
    records: list[Record] = [synthetic_header("s1")]
    history = 0
    prompts = [
        "List the services registered in app.py",
        "Add a health check route to views.py",
        "Use file_edit instead and keep the route name health",
        "Explain the middleware chain in middleware.py",
        "Rename the cache service to store in services.py",
    ]
    for number, prompt in enumerate(prompts, start=1):
        turn, messages = synthetic_turn("s1", number, rng=rng, history_len=history, prompt=prompt)
        if number == 5:
            turn.blocks[0].tool_calls.append(
                ToolCallTrace(
                    call_id="w",
                    name="file_edit",
                    args={"path": "services.py"},
                    risk="write",
                    ok=True,
                    diff="-a\n+b\n",
                )
            )
            turn.validation = [ValidationTrace(check="ruff", tool="ruff_check", passed=False, problems=1)]
        records.append(turn)
        history += len(messages)
    records.append(
        SignalRecord(session_id="s1", turn=2, at="t", kind="correct", text="Use file_edit, not file_write.")
    )
    records.append(SignalRecord(session_id="s1", turn=3, at="t", kind="rate", rating=5))
    records.append(SignalRecord(session_id="s1", turn=4, at="t", kind="rate", rating=1))
    _write(home, records)


def test_curation_keeps_validated_turns_and_builds_negative_examples(tmp_path: Path) -> None:
    """Validated turns are kept; a correction followed by a fix becomes one negative example."""
    _session_with_signals(tmp_path)
    examples, report = curate(TraceStore(tmp_path).load_all())
    assert sorted((e.kind, e.turn) for e in examples) == [("negative", 3), ("positive", 1), ("positive", 3)]
    assert report.dropped == {
        "corrected by the user": 1,
        "rated 1-2": 1,
        "validation failed after an edit": 1,
    }
    negative = next(e for e in examples if e.kind == "negative")
    roles = [m["role"] for m in negative.messages]
    assert roles == [
        "system",
        "user",
        "assistant",
        "tool",
        "assistant",
        "user",
        "assistant",
        "tool",
        "assistant",
    ]
    assert negative.messages[1]["content"] == "Add a health check route to views.py"
    assert negative.messages[5]["content"].startswith("Use file_edit, not file_write.")
    assert negative.turn_start == 5
    fix = next(e for e in examples if e.kind == "positive" and e.turn == 3)
    assert fix.rating == 5 and fix.messages[1]["content"].startswith("Use file_edit instead")  # stands alone
    first = next(e for e in examples if e.turn == 1)
    assert first.messages[0] == {
        "role": "system",
        "content": "You are Punie, working in the project at `/work/shop`.",
    }
    assert "<tool_call>\n<function=run_code>" in first.messages[2]["content"]


def test_near_duplicates_are_detected() -> None:
    """The same request about another file is a near-duplicate; a different request is not."""
    base = (
        "Run ruff_check on the {} module and list every violation with its file, line and rule code, then "
        "fix the ones that ruff can fix safely, run the tests again and tell me what is still failing and why"
    )
    texts = [
        base.format("views"),
        base.format("models"),
        "Explain how the svcs registry builds the database service and when its cleanup runs, and whether "
        "the container caches the service for the whole request or builds a new one on every get call",
        base.format("views"),
    ]
    assert near_duplicate_groups(texts) == [[0, 1, 3], [2]]
    assert near_duplicate_groups(texts, threshold=0.99) == [[0, 3], [1], [2]]


def test_curate_drops_near_duplicate_turns_across_sessions(tmp_path: Path) -> None:
    """Two sessions asking the same thing yield one example, the better-rated one."""
    for session, rating in (("s1", 2), ("s2", 4)):
        turn, _ = synthetic_turn(
            session,
            1,
            rng=random.Random(1),
            prompt="Check the views with ruff and typecheck",
            tool="ruff_check",
        )
        turn.outcome.output = "All clean."
        turn.messages[-1]["parts"][0]["content"] = "All clean."
        signal = SignalRecord(session_id=session, turn=1, at="t", kind="rate", rating=rating + 1)
        _write(tmp_path, [synthetic_header(session), turn, signal])
    examples, report = curate(TraceStore(tmp_path).load_all())
    assert [(e.session_id, e.rating) for e in examples] == [("s2", 5)]
    assert report.dropped["near-duplicate"] == 1


def test_balance_caps_each_tool() -> None:
    """The default cap is twice the median count per tool (at least 5)."""
    rng = random.Random(2)
    examples = []
    for index, tool in enumerate(["ruff_check"] * 40 + ["typecheck"] * 4 + ["git_status"] * 4):
        turn, _ = synthetic_turn("s", index + 1, rng=rng, tool=tool)
        examples.extend(curate([_trace(turn)], max_per_tool=1000, threshold=1.1)[0])
    assert len(examples) == 48
    kept, dropped = balance(examples)
    counts = {tool: sum(e.tool == tool for e in kept) for tool in ("ruff_check", "typecheck", "git_status")}
    assert counts == {"ruff_check": 8, "typecheck": 4, "git_status": 4} and len(dropped) == 32
    kept, _ = balance(examples, max_per_tool=2)
    assert len(kept) == 6


def _trace(turn: TurnRecord) -> SessionTrace:
    return SessionTrace(
        ref=SessionRef(project="shop", feature="main", session_id="s", path=Path("s.jsonl")),
        header=synthetic_header("s"),
        turns=[turn],
    )


def test_stats_list_and_show(tmp_path: Path) -> None:
    """The views report turns, pass rate, ratings and corrections, and show a session in full."""
    _session_with_signals(tmp_path)
    _write(tmp_path, synthetic_session("s2", turns=3), feature="login")
    result = runner.invoke(app, ["stats", "--home", str(tmp_path), "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = {(r["project"], r["feature"]): r for r in json.loads(result.output)}
    main = rows["shop", "main"]
    assert (main["turns"], main["validated"], main["corrections"], main["ratings"]) == (5, 2, 1, 2)
    assert main["pass_rate"] == 0.4 and rows["shop", "login"]["turns"] == 3
    listing = runner.invoke(app, ["list", "shop/main", "--home", str(tmp_path)])
    assert listing.output.startswith("s1  shop/main") and "5 turn(s), 2 validated" in listing.output
    shown = runner.invoke(app, ["show", "s1", "--turn", "2", "--home", str(tmp_path)])
    assert (
        "turn 2  [corrected by the user]" in shown.output and "signal correct: Use file_edit" in shown.output
    )
    missing = runner.invoke(app, ["show", "nope", "--home", str(tmp_path)])
    assert missing.exit_code == 2


def test_interactive_curate_reads_choices_from_stdin(tmp_path: Path) -> None:
    """accept, skip, then edit the final answer: two examples are written, one edited, and committed."""
    _session_with_signals(tmp_path)
    result = runner.invoke(
        app, ["curate", "shop/main", "--home", str(tmp_path)], input="a\ns\ne\nA better answer.\n.\n"
    )
    assert result.exit_code == 0, result.output
    examples = read_curated(curated_path(tmp_path, "shop", "main"))
    assert len(examples) == 2
    assert [(e.kind, e.turn) for e in examples] == [("positive", 1), ("negative", 3)]
    edited = examples[1]
    assert edited.edited and edited.messages[-1] == {"role": "assistant", "content": "A better answer."}
    log = subprocess.run(["git", "log", "--format=%s"], cwd=tmp_path, capture_output=True, text=True).stdout
    assert "curate: shop/main (1 positive, 1 negative)" in log
    auto = runner.invoke(app, ["curate", "shop/main", "--auto", "--home", str(tmp_path)])
    assert auto.exit_code == 0 and len(read_curated(curated_path(tmp_path, "shop", "main"))) == 3
    bad = runner.invoke(app, ["curate", "shop", "--home", str(tmp_path)])
    assert bad.exit_code == 2
