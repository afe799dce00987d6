"""Real processes: a writer killed mid-write, two writers at once, and a genuinely full disk."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from punie_lsp.flywheel.schema import SignalRecord, TurnRecord
from punie_lsp.flywheel.store import TraceWarning, read_records

WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from punie_lsp.flywheel.schema import Outcome, TurnRecord
    from punie_lsp.flywheel.store import append_records

    path, name, count, pad = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    for number in range(1, count + 1):
        record = TurnRecord(
            session_id=name,
            turn=number,
            started_at="t",
            finished_at="t",
            prompt=f"turn {number}",
            thinking=name * pad,  # large records: far beyond what one write is atomic for on a pipe
            outcome=Outcome(stop_reason="end_turn"),
        )
        append_records(path, [record])
        print(number, flush=True)
    """
)


def _writer(path: Path, name: str, count: int, pad: int = 1) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), name, str(count), str(pad)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_killed_writer_loses_at_most_the_turn_in_flight(tmp_path: Path) -> None:
    """SIGKILL while appending: every turn the writer reported synced is on disk, and reading works."""
    path = tmp_path / "s.jsonl"
    writer = _writer(path, "a", 100_000, pad=20_000)
    assert writer.stdout is not None
    reported = 0
    deadline = time.monotonic() + 30
    while reported < 40 and time.monotonic() < deadline:
        reported = int(writer.stdout.readline())
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    records = read_records(path)
    numbers = [r.turn for r in records if isinstance(r, TurnRecord)]
    assert numbers[:reported] == list(range(1, reported + 1))
    assert len(numbers) >= reported


def test_torn_line_from_a_killed_writer_is_recovered(tmp_path: Path) -> None:
    """A writer that dies after writing half a record leaves a torn line; readers skip it, writers go on."""
    path = tmp_path / "s.jsonl"
    script = WRITER + textwrap.dedent(
        """
        import os, signal
        from punie_lsp.flywheel.schema import encode_record
        line = encode_record(record)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND)
        os.write(fd, line[: len(line) // 2])
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, str(path), "a", "3", "1"], capture_output=True, timeout=60
    )
    assert proc.returncode == -signal.SIGKILL
    with pytest.warns(TraceWarning, match="torn last line"):
        assert [r.turn for r in read_records(path) if isinstance(r, TurnRecord)] == [1, 2, 3]
    again = subprocess.run(
        [sys.executable, "-c", WRITER, str(path), "b", "2", "1"], capture_output=True, timeout=60
    )
    assert again.returncode == 0, again.stderr
    with pytest.warns(TraceWarning, match="not a trace record"):
        turns = [(r.session_id, r.turn) for r in read_records(path) if isinstance(r, TurnRecord)]
    assert turns == [("a", 1), ("a", 2), ("a", 3), ("b", 1), ("b", 2)]


def test_two_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    """Two processes appending large records to one file at once: every record arrives whole."""
    path = tmp_path / "s.jsonl"
    count = 100
    writers = [_writer(path, name, count, pad=20_000) for name in ("a", "b")]
    for writer in writers:
        _, err = writer.communicate(timeout=120)
        assert writer.returncode == 0, err
    records = read_records(path)  # no warning: no line is torn or interleaved
    for name in ("a", "b"):
        assert [r.turn for r in records if isinstance(r, TurnRecord) and r.session_id == name] == list(
            range(1, count + 1)
        )
    assert path.read_bytes().count(b"\n") == 2 * count


FULL_DISK = textwrap.dedent(
    """
    import asyncio, logging, sys
    from pathlib import Path
    from punie_lsp.agent.events import RunFinished, TextDelta
    from punie_lsp.flywheel.capture import TraceCollector
    from punie_lsp.flywheel.redact import Redactor
    from punie_lsp.flywheel.store import TraceStore
    from punie_lsp.flywheel.synthetic import synthetic_header

    logging.basicConfig(level=logging.WARNING, format="WARN %(message)s")

    async def main():
        store = TraceStore(Path(sys.argv[1]))
        collector = TraceCollector(store=store, header=synthetic_header("s1"), redactor=Redactor())
        for n in range(60):
            collector.begin_turn("x" * 4000)
            await collector(TextDelta(text="hi"))
            await collector(RunFinished(stop_reason="end_turn", output="y" * 4000))
        await collector.flush()
        print("turns", collector.turn, "written", collector.turns_written, flush=True)

    asyncio.run(main())
    """
)


def test_a_genuinely_full_disk(tmp_path: Path) -> None:
    """On a 64 KiB tmpfs (a user+mount namespace), capture fills it, reports once, and the run finishes."""
    unshare = shutil.which("unshare")
    if unshare is None or sys.platform != "linux":
        pytest.skip("needs util-linux `unshare` on Linux")
    mount = tmp_path / "tiny"
    mount.mkdir()
    probe = subprocess.run([unshare, "-rm", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"user namespaces are not available: {probe.stderr.decode().strip()}")
    script = tmp_path / "full.py"
    script.write_text(FULL_DISK)
    command = f"mount -t tmpfs -o size=64k tmpfs {mount} && exec {sys.executable} {script} {mount}/home"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.run(
        [unshare, "-rm", "sh", "-c", command], capture_output=True, text=True, timeout=60, env=env
    )
    assert proc.returncode == 0, proc.stderr
    assert "turns 60" in proc.stdout
    written = int(proc.stdout.split("written")[1])
    assert 0 < written < 60
    warnings = [line for line in proc.stderr.splitlines() if line.startswith("WARN")]
    assert len(warnings) == 1 and "No space left on device" in warnings[0]


def test_signal_records_survive_concurrent_turn_writes(tmp_path: Path) -> None:
    """A signal appended by another process while turns are written lands whole in the same file."""
    path = tmp_path / "s.jsonl"
    writer = _writer(path, "a", 40, pad=10_000)
    signals = textwrap.dedent(
        """
        import sys
        from pathlib import Path
        from punie_lsp.flywheel.schema import SignalRecord
        from punie_lsp.flywheel.store import append_records
        for n in range(40):
            record = SignalRecord(session_id="a", turn=n, at="t", kind="rate", rating=4)
            append_records(Path(sys.argv[1]), [record])
        """
    )
    other = subprocess.run([sys.executable, "-c", signals, str(path)], capture_output=True, timeout=60)
    writer.communicate(timeout=60)
    assert other.returncode == 0 and writer.returncode == 0
    records = read_records(path)
    assert sum(isinstance(r, SignalRecord) for r in records) == 40
    assert sum(isinstance(r, TurnRecord) for r in records) == 40
