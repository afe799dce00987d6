"""Trace capture overhead per turn, and curate/export throughput on 10,000 synthetic turns (issue #9).

Run: `uv run python -m benchmarks.capture_overhead [turns]` (default 10,000 synthetic turns).

Capture overhead is the time a realistic turn's events spend in the collector: recording 60 events and
building, redacting and encoding the turn (a Code Mode block, two nested typed results, 4 new messages).
The append and its `fsync` run in a worker thread that the turn does not wait for; their time is reported
apart (it is the disk's, and varies with it).
"""

from __future__ import annotations

import asyncio
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from pydantic_ai.messages import ModelMessage

from punie_lsp.agent.events import (
    AgentEvent,
    BlockFinished,
    BlockStarted,
    RunFinished,
    TextDelta,
    ToolFinished,
    ToolStarted,
    Usage,
)
from punie_lsp.flywheel.capture import TraceCollector
from punie_lsp.flywheel.curate import curate
from punie_lsp.flywheel.export import export_examples
from punie_lsp.flywheel.redact import Redactor
from punie_lsp.flywheel.schema import encode_record
from punie_lsp.flywheel.store import TraceStore, append_records
from punie_lsp.flywheel.synthetic import synthetic_header, synthetic_session, synthetic_turn
from punie_lsp.tools.results import RuffResult, RuffViolation, TypeCheckResult

TURNS = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
OVERHEAD_TURNS = 300


def _events(rng: random.Random) -> list[AgentEvent]:
    violations = [
        RuffViolation(
            file=f"app/views_{i}.py", line=i, column=1, code="F401", message="`os` imported but unused"
        )
        for i in range(8)
    ]
    ruff = RuffResult(success=False, violation_count=8, violations=violations)
    types = TypeCheckResult(success=True)
    code = "r = ruff_check('.')\nt = typecheck('.')\nfor v in r.violations:\n    print(v.file, v.line)\n"
    events: list[AgentEvent] = [TextDelta(text=f"word{rng.randrange(1000)} ") for _ in range(50)]
    events += [
        BlockStarted(block_id="b1", code=code),
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
        ToolStarted(call_id="c2", name="typecheck", args={"path": "."}, risk="read", block_id="b1"),
        ToolFinished(
            call_id="c2",
            name="typecheck",
            args={"path": "."},
            risk="read",
            ok=True,
            result=types,
            block_id="b1",
        ),
        BlockFinished(
            block_id="b1", ok=True, value=[8, 0], stdout="\n".join(f"app/views_{i}.py {i}" for i in range(8))
        ),
        *[TextDelta(text=f"answer{rng.randrange(1000)} ") for _ in range(5)],
        RunFinished(
            stop_reason="end_turn",
            output="There are 8 unused imports.",
            usage=Usage(input_tokens=900, output_tokens=120, requests=2),
        ),
    ]
    return events


async def capture_overhead(work: Path) -> dict[str, float]:
    """Milliseconds per turn: the turn's added latency, the blocked event loop, and the background append."""
    rng = random.Random(0)
    history: list[ModelMessage] = []
    collector = TraceCollector(
        store=TraceStore(work / "home"),
        header=synthetic_header("bench"),
        redactor=Redactor(),
        history=lambda: history,
    )
    added: list[float] = []
    with_disk: list[float] = []
    for number in range(1, OVERHEAD_TURNS + 1):
        _, messages = synthetic_turn("bench", number, rng=rng, history_len=len(history))
        events = _events(rng)
        history.extend(messages)
        started = time.perf_counter()
        collector.begin_turn("Check the views")
        for event in events:
            await collector(event)
        added.append(time.perf_counter() - started)
        await collector.flush()  # measured apart: the turn does not wait for the disk
        with_disk.append(time.perf_counter() - started)
    # what blocks the event loop: recording the events and building, redacting and encoding the record
    history2: list[ModelMessage] = []
    dry = TraceCollector(
        store=TraceStore(work / "dry"),
        header=synthetic_header("dry"),
        redactor=Redactor(),
        history=lambda: history2,
    )
    in_loop: list[float] = []
    for number in range(1, OVERHEAD_TURNS + 1):
        _, messages = synthetic_turn("dry", number, rng=rng, history_len=len(history2))
        events = _events(rng)
        history2.extend(messages)
        started = time.perf_counter()
        dry.begin_turn("Check the views")
        for event in events[:-1]:
            await dry(event)
        encode_record(dry._record(events[-1])[0])  # build, redact and encode the record; no write
        in_loop.append(time.perf_counter() - started)

    def ms(values: list[float]) -> list[float]:
        return [v * 1000 for v in values[10:]]

    return {
        "added_median": statistics.median(ms(added)),
        "added_p95": statistics.quantiles(ms(added), n=20)[-1],
        "in_loop_median": statistics.median(ms(in_loop)),
        "disk_median": statistics.median(ms(with_disk)),
        "disk_p95": statistics.quantiles(ms(with_disk), n=20)[-1],
    }


def throughput(work: Path, turns: int) -> None:
    """Write `turns` synthetic turns (10 per session), then time curate and export."""
    home = work / "throughput"
    store = TraceStore(home)
    sessions = turns // 10
    started = time.perf_counter()
    for index in range(sessions):
        records = synthetic_session(f"s{index:05d}", turns=10, seed=index, feature=f"f{index % 10}")
        append_records(store.session_path("shop", f"f{index % 10}", f"s{index:05d}"), records)
    write_s = time.perf_counter() - started
    started = time.perf_counter()
    traces = list(store.load_all())
    read_s = time.perf_counter() - started
    started = time.perf_counter()
    examples, report = curate(traces)
    curate_s = time.perf_counter() - started
    started = time.perf_counter()
    result = export_examples(examples, home=home, out=work / "export")
    export_s = time.perf_counter() - started
    total = sessions * 10
    print(f"{total:,} synthetic turns in {sessions:,} sessions ({len(traces)} read back)")
    print(f"  write (append + fsync per session): {write_s:6.2f} s  ({total / write_s:,.0f} turns/s)")
    print(f"  read and group:                     {read_s:6.2f} s  ({total / read_s:,.0f} turns/s)")
    print(f"  curate (rules, MinHash, balance):   {curate_s:6.2f} s  ({total / curate_s:,.0f} turns/s)")
    print(
        f"  export (dedupe, split, write):      {export_s:6.2f} s  ({len(examples) / export_s:,.0f} examples/s)"
    )
    print(f"  {report.summary()}")
    print(f"  exported {sum(result.counts.values()):,} examples: {result.counts}")


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="punie-capture-bench-"))
    try:
        figures = asyncio.run(capture_overhead(work))
        print(f"capture overhead per turn ({OVERHEAD_TURNS} turns, 60 events each, file on {work}):")
        print(
            f"  added to the turn: median {figures['added_median']:.2f} ms, p95 {figures['added_p95']:.2f} ms "
            "(target < 2 ms)"
        )
        print(f"  event loop busy (record, redact, encode): median {figures['in_loop_median']:.2f} ms")
        print(
            f"  until appended and fsynced (background thread): median {figures['disk_median']:.2f} ms, "
            f"p95 {figures['disk_p95']:.2f} ms"
        )
        throughput(work, TURNS)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
