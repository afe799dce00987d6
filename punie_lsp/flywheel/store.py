"""Trace files at rest: `PUNIE_HOME/training_data/<project>/<feature>/<session>.jsonl`.

Writing is append-only. Each append takes an exclusive `flock` on the file, starts a fresh line if an
earlier writer died mid-line, writes its records with one `write`, and `fsync`s before the lock is
released, so two processes appending at once lose nothing and a crash loses at most the records in
flight. Reading never crashes on bad data: a torn last line, a hand-edited line that is not a record, or
a record from a newer schema is skipped with a `TraceWarning`.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import msgspec

from punie_lsp.flywheel.schema import (
    Record,
    SessionEnd,
    SessionHeader,
    SignalRecord,
    TurnRecord,
    UnknownVersionError,
    decode_record,
    encode_record,
)

__all__ = (
    "SessionRef",
    "SessionTrace",
    "TraceStore",
    "TraceWarning",
    "append_records",
    "read_records",
    "slug",
)

TRAINING_DATA = "training_data"
"""The folder of traces inside `PUNIE_HOME`."""

_SLUG = re.compile(r"[^A-Za-z0-9._-]+")


class TraceWarning(UserWarning):
    """A trace line was skipped (torn, corrupt, or from an unknown schema version)."""


def slug(name: str, *, default: str = "default") -> str:
    """A name safe as one path segment: runs of other characters become `-` (`feature/x` → `feature-x`)."""
    cleaned = _SLUG.sub("-", name).strip("-.")
    return cleaned or default


def append_records(path: Path, records: Sequence[Record]) -> None:
    """Append records to `path` durably, under an exclusive lock.

    Raises:
        OSError: the file cannot be created or written (full disk, read-only file system, …).
    """
    if not records:
        return
    data = b"".join(encode_record(record) for record in records)
    created = not path.exists()
    if created:
        path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            size = os.fstat(fd).st_size
            if size > 0 and os.pread(fd, 1, size - 1) != b"\n":
                data = b"\n" + data  # a writer died mid-line: keep its fragment on a line of its own
            view = memoryview(data)
            try:
                while view:
                    written = os.write(fd, view)
                    if written == 0:
                        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                    view = view[written:]
                _sync(fd)
            except OSError:
                _truncate(fd, size)  # a partial write (a full disk) must not leave half a record behind
                raise
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
    if created:
        _sync_dir(path.parent)


def _truncate(fd: int, size: int) -> None:
    with contextlib.suppress(OSError):  # a device such as /dev/full cannot be truncated: nothing to undo
        os.ftruncate(fd, size)


def _sync(fd: int) -> None:
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno != errno.EINVAL:  #: the target cannot be synced (a device or pipe), nothing to do
            raise


def _sync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems cannot sync a directory; the file itself is already synced
    finally:
        os.close(fd)


def read_records(path: Path) -> list[Record]:
    """Every readable record of a session file; bad lines are skipped with a `TraceWarning`."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        warnings.warn(f"cannot read trace `{path}`: {exc.strerror}", TraceWarning, stacklevel=2)
        return []
    records: list[Record] = []
    lines = data.split(b"\n")
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            records.append(decode_record(line))
        except UnknownVersionError as exc:
            warnings.warn(f"`{path}` line {number} skipped: {exc}", TraceWarning, stacklevel=2)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            torn = number == len(lines) and not data.endswith(b"\n")
            why = "torn last line (a writer stopped mid-line)" if torn else f"not a trace record ({exc})"
            warnings.warn(f"`{path}` line {number} skipped: {why}", TraceWarning, stacklevel=2)
    return records


@dataclass(frozen=True, kw_only=True)
class SessionRef:
    """Where one session's trace lives."""

    project: str
    """Project folder name."""
    feature: str
    """Feature folder name."""
    session_id: str
    """The session id (the file stem)."""
    path: Path
    """The `.jsonl` file."""


@dataclass(kw_only=True)
class SessionTrace:
    """One session file, read and grouped."""

    ref: SessionRef
    """Where it lives."""
    header: SessionHeader | None = None
    """The `session` record (None when it was lost)."""
    turns: list[TurnRecord] = field(default_factory=list)
    """Turns in order (a turn number seen twice keeps its last record)."""
    signals: list[SignalRecord] = field(default_factory=list)
    """User signals."""
    end: SessionEnd | None = None
    """Present when the session closed cleanly."""

    def signals_for(self, turn: int) -> list[SignalRecord]:
        """Signals tied to `turn`."""
        return [s for s in self.signals if s.turn == turn]


class TraceStore:
    """The traces under one `PUNIE_HOME`.

    Args:
        home: `PUNIE_HOME`.
    """

    def __init__(self, home: Path) -> None:
        self.home = home
        self.root = home / TRAINING_DATA

    def session_path(self, project: str, feature: str, session_id: str) -> Path:
        """The file of a session."""
        return self.root / slug(project) / slug(feature) / f"{slug(session_id)}.jsonl"

    def sessions(self, project: str | None = None, feature: str | None = None) -> Iterator[SessionRef]:
        """Session files, sorted, optionally of one project (and one feature)."""
        if not self.root.is_dir():
            return
        for project_dir in sorted(p for p in self.root.iterdir() if p.is_dir()):
            if project is not None and project_dir.name != project:
                continue
            for feature_dir in sorted(p for p in project_dir.iterdir() if p.is_dir()):
                if feature is not None and feature_dir.name != feature:
                    continue
                for path in sorted(feature_dir.glob("*.jsonl")):
                    yield SessionRef(
                        project=project_dir.name, feature=feature_dir.name, session_id=path.stem, path=path
                    )

    def find(self, session_id: str) -> SessionRef | None:
        """The session with this id, wherever it is."""
        for path in sorted(self.root.glob(f"*/*/{slug(session_id)}.jsonl")):
            return SessionRef(
                project=path.parent.parent.name, feature=path.parent.name, session_id=path.stem, path=path
            )
        return None

    def load(self, ref: SessionRef) -> SessionTrace:
        """Read and group one session (bad lines skipped with a warning)."""
        trace = SessionTrace(ref=ref)
        turns: dict[int, TurnRecord] = {}
        for record in read_records(ref.path):
            match record:
                case SessionHeader():
                    trace.header = trace.header or record
                case TurnRecord():
                    turns[record.turn] = record
                case SignalRecord():
                    trace.signals.append(record)
                case SessionEnd():
                    trace.end = record
        trace.turns = [turns[number] for number in sorted(turns)]
        return trace

    def load_all(self, project: str | None = None, feature: str | None = None) -> Iterator[SessionTrace]:
        """Every session (of a project, of a feature), read."""
        for ref in self.sessions(project, feature):
            yield self.load(ref)
