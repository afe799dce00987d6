"""The trace collector turns an event stream into records on disk, and readers survive bad data."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path

import msgspec
import pytest
from pydantic_ai.messages import ModelMessage, ModelRequest, ModelResponse, TextPart, UserPromptPart

from punie_lsp.agent.events import (
    AgentEvent,
    BlockFinished,
    BlockStarted,
    PermissionNeeded,
    PermissionResolved,
    RetryScheduled,
    RunFinished,
    TextDelta,
    ThoughtDelta,
    ToolFinished,
    ToolStarted,
    Usage,
)
from punie_lsp.exceptions import UserError
from punie_lsp.flywheel import schema
from punie_lsp.flywheel.capture import (
    TraceCollector,
    detect_feature,
    detect_project,
    is_spec_file,
    parse_signal_command,
    record_signal,
)
from punie_lsp.flywheel.redact import Redactor
from punie_lsp.flywheel.schema import SessionEnd, SessionHeader, SignalRecord, TurnRecord, encode_record
from punie_lsp.flywheel.store import TraceStore, TraceWarning, append_records, read_records
from punie_lsp.flywheel.synthetic import synthetic_header
from punie_lsp.tools.results import FileWriteResult, RuffResult, TypeCheckResult

SECRET = "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAB7CDE0F"


def _collector(home: Path, history: list[ModelMessage] | None = None) -> TraceCollector:
    return TraceCollector(
        store=TraceStore(home),
        header=synthetic_header("s1"),
        redactor=Redactor(),
        history=(lambda: history) if history is not None else None,
    )


def _turn_events() -> list[AgentEvent]:
    ruff = RuffResult(success=False, violation_count=2)
    types = TypeCheckResult(success=True)
    write = FileWriteResult(success=True, path="docs/features.md", diff="--- a\n+++ b\n+x\n")
    return [
        ThoughtDelta(text="Let me look."),
        TextDelta(text="Checking."),
        BlockStarted(block_id="b1", code="r = ruff_check('.')\nr.error_cnt"),
        ToolStarted(call_id="c1", name="ruff_check", args={"path": "."}, risk="read", block_id="b1"),
        ToolFinished(
            call_id="c1",
            name="ruff_check",
            args={"path": "."},
            risk="read",
            ok=True,
            result=ruff,
            block_id="b1",
        ),
        BlockFinished(block_id="b1", ok=False, error="AttributeError: error_cnt"),
        RetryScheduled(attempt=1, message="AttributeError: error_cnt"),
        BlockStarted(block_id="b2", code=f"file_write('docs/features.md', 'key {SECRET}')\ntypecheck('.')"),
        PermissionNeeded(
            call_id="c2", tool="file_write", args={"path": "docs/features.md"}, risk="write", summary="write"
        ),
        PermissionResolved(call_id="c2", tool="file_write", allowed=True),
        ToolFinished(
            call_id="c2",
            name="file_write",
            args={"path": "docs/features.md", "content": f"key {SECRET}"},
            risk="write",
            ok=True,
            result=write,
            diff=write.diff,
            block_id="b2",
        ),
        ToolFinished(
            call_id="c3",
            name="typecheck",
            args={"path": "."},
            risk="read",
            ok=True,
            result=types,
            block_id="b2",
        ),
        BlockFinished(block_id="b2", ok=True, value={"ok": True}, stdout="done\n"),
        RunFinished(
            stop_reason="end_turn", output="Fixed.", usage=Usage(input_tokens=10, output_tokens=5, requests=2)
        ),
    ]


async def test_a_turn_becomes_one_complete_record(tmp_path: Path) -> None:
    """Blocks with nested typed results, retries, permissions, validation, usage and signals are recorded."""
    history: list[ModelMessage] = []
    collector = _collector(tmp_path, history)
    collector.begin_turn(f"Fix it, my key is {SECRET}")
    events = _turn_events()
    for event in events[:-1]:
        await collector(event)
    history.extend(
        [
            ModelRequest(parts=[UserPromptPart(content=f"Fix it, my key is {SECRET}")]),
            ModelResponse(parts=[TextPart(content="Fixed.")]),
        ]
    )
    await collector(events[-1])
    await collector.close()
    assert SECRET.encode() not in collector.path.read_bytes()
    records = read_records(collector.path)
    header, turn, *signals, end = records
    assert isinstance(header, SessionHeader) and isinstance(turn, TurnRecord) and isinstance(end, SessionEnd)
    assert turn.turn == 1 and "[REDACTED:openai_key]" in turn.prompt
    assert [b.block_id for b in turn.blocks] == ["b1", "b2"]
    assert turn.blocks[0].tool_calls[0].result == RuffResult(success=False, violation_count=2).model_dump(
        mode="json"
    )
    assert turn.blocks[0].tool_calls[0].result_type == "RuffResult"
    assert [c.name for c in turn.blocks[1].tool_calls] == ["file_write", "typecheck"]
    assert turn.retries[0].block_id == "b1" and turn.retries[0].attempt == 1
    assert turn.permissions[0].allowed is True
    assert {v.check: v.passed for v in turn.validation} == {"ruff": False, "typecheck": True}
    assert turn.thinking == "Let me look." and turn.usage.first_token_s is not None
    assert (turn.usage.input_tokens, turn.usage.output_tokens, turn.usage.requests) == (10, 5, 2)
    assert len(turn.messages) == 2 and turn.history_len == 0
    assert sorted(s.kind for s in signals if isinstance(s, SignalRecord)) == [
        "edit_accepted",
        "permission_allowed",
        "spec_edited",
    ]


async def test_second_turn_records_only_new_messages(tmp_path: Path) -> None:
    """Each turn records the messages it added and where they start in the history."""
    history: list[ModelMessage] = []
    collector = _collector(tmp_path, history)
    for number in (1, 2):
        history.append(ModelRequest(parts=[UserPromptPart(content=f"question {number}")]))
        await collector(RunFinished(stop_reason="end_turn"))
    await collector.flush()
    turns = [r for r in read_records(collector.path) if isinstance(r, TurnRecord)]
    assert [(t.turn, t.history_len, t.prompt) for t in turns] == [(1, 0, "question 1"), (2, 1, "question 2")]


async def test_signals_and_slash_commands(tmp_path: Path) -> None:
    """`/correct`, `/add` and `/rate` parse; signals from this and another caller land on the right turn."""
    assert parse_signal_command("/rate 4") == parse_signal_command(" /RATE 4 ")
    assert parse_signal_command("hello /rate 4") is None
    correction = parse_signal_command("/correct use file_edit")
    assert correction is not None and correction.text == "use file_edit"
    for bad in ("/rate 7", "/rate x", "/correct"):
        with pytest.raises(UserError):
            parse_signal_command(bad)
    collector = _collector(tmp_path, [])
    await collector(RunFinished(stop_reason="end_turn"))
    await collector.signal("rate", rating=5)
    await collector.flush()
    store = TraceStore(tmp_path)
    record_signal(store, "s1", 1, "correct", {"text": f"wrong key {SECRET}", "tool": "file_edit"})
    with pytest.raises(UserError):
        record_signal(store, "s1", 1, "rate", {"rating": 9})
    with pytest.raises(UserError):
        record_signal(store, "nope", 1, "add", {"text": "x"})
    ref = store.find("s1")
    assert ref is not None
    trace = store.load(ref)
    assert [(s.kind, s.turn, s.rating) for s in trace.signals_for(1)] == [
        ("rate", 1, 5),
        ("correct", 1, None),
    ]
    assert SECRET not in trace.signals[1].text and trace.signals[1].payload == {"tool": "file_edit"}


def test_corrupt_torn_and_unknown_version_lines_are_skipped(tmp_path: Path) -> None:
    """A hand-edited line, a future schema version and a torn last line are skipped with warnings."""
    path = tmp_path / "s.jsonl"
    header = synthetic_header("s1")
    future = json.loads(encode_record(header))
    future["schema_version"] = 99
    turn = TurnRecord(
        session_id="s1",
        turn=1,
        started_at="t",
        finished_at="t",
        prompt="p",
        outcome=schema.Outcome(stop_reason="end_turn"),
    )
    path.write_bytes(
        encode_record(header)
        + b"this line was edited by hand\n"
        + json.dumps(future).encode()
        + b"\n"
        + b'{"type": "turn", "schema_version": 1}\n'
        + encode_record(turn)
        + encode_record(turn)[:40]
    )
    with pytest.warns(TraceWarning) as caught:
        records = read_records(path)
    assert records == [header, turn]
    messages = " ".join(str(w.message) for w in caught)
    assert (
        "not a trace record" in messages and "schema version 99" in messages and "torn last line" in messages
    )
    append_records(path, [turn])  # a new writer starts on a fresh line after the torn fragment
    with pytest.warns(TraceWarning):
        assert read_records(path) == [header, turn, turn]


def test_older_schema_versions_are_migrated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A record of an older version goes through the registered migration before it is read."""
    line = encode_record(synthetic_header("s1"))
    monkeypatch.setattr(schema, "SCHEMA_VERSION", 2)
    monkeypatch.setitem(schema.MIGRATIONS, 1, lambda raw: {**raw, "front_end": raw["front_end"].upper()})
    record = schema.decode_record(line)
    assert isinstance(record, SessionHeader) and record.front_end == "ASK" and record.schema_version == 2


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
async def test_full_disk_is_reported_once_and_the_turn_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Writes that fail with ENOSPC (the kernel's /dev/full) are reported once; handlers never raise."""
    collector = _collector(tmp_path, [])
    collector.path.parent.mkdir(parents=True)
    collector.path.symlink_to("/dev/full")
    seen: list[AgentEvent] = []

    async def front_end(event: AgentEvent) -> None:
        seen.append(event)

    handler = collector.tee(front_end)
    with caplog.at_level(logging.WARNING, logger="punie_lsp.flywheel"):
        for _ in range(3):
            await handler(TextDelta(text="hi"))
            await handler(RunFinished(stop_reason="end_turn"))
        await collector.signal("rate", rating=3)
        await collector.flush()
    warnings = [r for r in caplog.records if "trace capture failed" in r.getMessage()]
    assert len(warnings) == 1 and "No space left on device" in warnings[0].getMessage()
    assert len(seen) == 6 and collector.turns_written == 0


def test_project_feature_and_spec_detection(tmp_path: Path) -> None:
    """Project from pyproject, feature from `.punie/feature`, else the git branch, else `default`."""
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "My Shop"\n')
    assert detect_project(tmp_path) == "My-Shop"
    assert detect_feature(tmp_path) == ("default", "default") or detect_feature(tmp_path)[1] == "branch"
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "HEAD").write_text("ref: refs/heads/feature/login-form\n")
    assert detect_feature(tmp_path) == ("feature-login-form", "branch")
    (tmp_path / ".punie").mkdir()
    (tmp_path / ".punie" / "feature").write_text("checkout-flow\n")
    assert detect_feature(tmp_path) == ("checkout-flow", "spec")
    assert is_spec_file("docs/features.md") and is_spec_file("specs/2026-01/plan.md")
    assert not is_spec_file("src/app.py") and not is_spec_file("README.md")


def test_records_round_trip_through_msgspec(tmp_path: Path) -> None:
    """Every record type encodes to one line and decodes to an equal record."""
    records: Sequence[schema.Record] = [
        synthetic_header("s1"),
        SignalRecord(session_id="s1", turn=1, at="t", kind="rate", rating=4),
        SessionEnd(session_id="s1", at="t", turns=1),
    ]
    for record in records:
        line = encode_record(record)
        assert line.count(b"\n") == 1
        assert schema.decode_record(line) == record
    with pytest.raises(msgspec.ValidationError):
        schema.decode_record(b'{"type": "signal", "session_id": "s", "turn": 1, "at": "t", "kind": "love"}')
