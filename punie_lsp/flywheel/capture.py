"""The trace collector: every turn of every front-end becomes a trace record.

`TraceCollector` is an `EventHandler`: tee it into whatever renders the agent's events and it builds one
`TurnRecord` per run when `RunFinished` arrives, and hands it to a worker thread that appends it (locked,
fsynced — see `store`) while the agent goes on; `flush()`/`close()` wait for the disk. It never breaks the
agent: a write that fails (full disk, read-only home) or any other capture problem is
reported once and the turn goes on.

Front-ends use `capture_session`, which does the wiring for a `PunieSession` (and does nothing when the
project set `capture = false`):

```python
async with PunieSession(...) as session, capture_session(session, model_spec=spec, front_end="acp") as cap:
    result = await cap.prompt(text, on_event=send_update)  # a traced turn
    reply = await cap.command("/rate 5")                   # a user signal, tied to the last turn
```

A front-end that drives `session.prompt` itself calls `cap.begin_turn(text)` and passes
`cap.tee(on_event)` as the handler. Another process (an editor command, an LSP hook) records a signal
with `record_signal(store, session_id, turn, kind, payload)`.
"""

from __future__ import annotations

import asyncio
import contextlib
import difflib
import logging
import secrets
import time
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Protocol, Self, assert_never, runtime_checkable

import msgspec
from pydantic import BaseModel
from pydantic_ai.messages import ModelMessage, ModelMessagesTypeAdapter, ModelRequest, UserPromptPart
from pydantic_ai.models import Model

from punie_lsp import __version__
from punie_lsp.agent.events import (
    AgentEvent,
    BlockFinished,
    BlockStarted,
    ContextTrimmed,
    EventHandler,
    PermissionNeeded,
    PermissionResolved,
    PlanUpdated,
    RetryScheduled,
    RunFinished,
    TextDelta,
    ThoughtDelta,
    ToolFinished,
    ToolStarted,
)
from punie_lsp.agent.session import PunieSession, TurnResult
from punie_lsp.domain.issues import DomainValidationResult
from punie_lsp.exceptions import UserError
from punie_lsp.flywheel.homegit import HomeRepo
from punie_lsp.flywheel.redact import Redactor
from punie_lsp.flywheel.schema import (
    BlockTrace,
    ModelInfo,
    Outcome,
    PermissionTrace,
    Record,
    RetryTrace,
    SessionEnd,
    SessionHeader,
    SignalKind,
    SignalRecord,
    ToolCallTrace,
    TurnRecord,
    TurnUsage,
    UnknownVersionError,
    ValidationCheck,
    ValidationTrace,
    decode_record,
)
from punie_lsp.flywheel.store import SessionRef, TraceStore, append_records, slug
from punie_lsp.models.chat_format import chat_tools
from punie_lsp.tools.results import RuffResult, TestResult, TypeCheckResult

__all__ = (
    "Capture",
    "HasModelVersion",
    "SignalCommand",
    "TraceCollector",
    "capture_session",
    "detect_feature",
    "detect_project",
    "is_spec_file",
    "new_session_id",
    "parse_signal_command",
    "record_signal",
)

logger = logging.getLogger("punie_lsp.flywheel")

SPEC_NAMES = frozenset(
    {"features.md", "mission.md", "roadmap.md", "tech-stack.md", "plan.md", "shape.md", "references.md"}
)
"""File names of project and feature specs (the spec workflow's documents)."""
_SPEC_DIRS = ("specs", ".punie/specs", "docs/specs", "agent-os")
_FEATURE_FILE = Path(".punie") / "feature"


@runtime_checkable
class HasModelVersion(Protocol):
    """A model that knows its version (a fused adapter's hash, a served model's revision)."""

    @property
    def model_version(self) -> str | None:
        """The version, when known."""
        ...


def now_iso() -> str:
    """The current UTC time, ISO 8601 with milliseconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_session_id() -> str:
    """A sortable, unique session id: `20260105T100000Z-1a2b3c4d`."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(4)}"


def detect_project(root: Path) -> str:
    """The project's name: `[project].name` in `pyproject.toml`, else the root folder's name."""
    try:
        with (root / "pyproject.toml").open("rb") as handle:
            name = tomllib.load(handle).get("project", {}).get("name")
        if isinstance(name, str) and name.strip():
            return slug(name)
    except (OSError, tomllib.TOMLDecodeError, AttributeError):
        pass
    return slug(root.name, default="project")


def _git_dir(root: Path) -> Path | None:
    for candidate in (root, *root.parents):
        dot_git = candidate / ".git"
        if dot_git.is_dir():
            return dot_git
        if dot_git.is_file():  # a worktree or submodule: `gitdir: <path>`
            text = dot_git.read_text(encoding="utf-8", errors="replace").strip()
            if text.startswith("gitdir:"):
                target = Path(text.removeprefix("gitdir:").strip())
                return target if target.is_absolute() else (candidate / target).resolve()
            return None
    return None


def detect_feature(root: Path) -> tuple[str, Literal["spec", "branch", "default"]]:
    """The feature a session belongs to: the active feature spec, else the git branch, else `default`.

    The active feature spec is named on the first line of `.punie/feature` in the project (the spec
    workflow writes it when a feature starts). The branch is read from git's `HEAD` without running git.
    """
    try:
        name = (root / _FEATURE_FILE).read_text(encoding="utf-8").strip().splitlines()
        if name and name[0].strip():
            return slug(name[0].strip()), "spec"
    except OSError:
        pass
    try:
        git_dir = _git_dir(root)
        if git_dir is not None:
            head = (git_dir / "HEAD").read_text(encoding="utf-8").strip()
            if head.startswith("ref: refs/heads/"):
                return slug(head.removeprefix("ref: refs/heads/")), "branch"
            return "detached", "branch"
    except OSError:
        pass
    return "default", "default"


def is_spec_file(path: str | Path, root: Path | None = None) -> bool:
    """Whether `path` is a project or feature spec (`docs/features.md`, `roadmap.md`, `specs/**/*.md`, …)."""
    candidate = Path(path)
    if root is not None and candidate.is_absolute():
        try:
            candidate = candidate.relative_to(root)
        except ValueError:
            return False
    if candidate.suffix != ".md":
        return False
    posix = candidate.as_posix()
    return candidate.name in SPEC_NAMES or any(posix.startswith(f"{d}/") for d in _SPEC_DIRS)


def _validation_of(result: BaseModel | None) -> tuple[ValidationCheck, int] | None:
    match result:
        case TypeCheckResult():
            return "typecheck", result.error_count
        case RuffResult():
            return "ruff", result.violation_count
        case TestResult():
            return "tests", result.failed + result.errors
        case DomainValidationResult():
            return "domain", result.error_count
        case _:
            return None


def _prompt_of(messages: Sequence[ModelMessage]) -> str:
    for message in messages:
        if isinstance(message, ModelRequest):
            for part in message.parts:
                if isinstance(part, UserPromptPart) and isinstance(part.content, str):
                    return part.content
    return ""


@dataclass(kw_only=True)
class _Turn:
    """A turn being built from events."""

    started: float
    started_at: str
    prompt: str = ""
    first_token_s: float | None = None
    thinking: list[str] = field(default_factory=list)
    blocks: dict[str, BlockTrace] = field(default_factory=dict)
    tool_calls: list[ToolCallTrace] = field(default_factory=list)
    open_calls: dict[str, ToolStarted] = field(default_factory=dict)
    retries: list[RetryTrace] = field(default_factory=list)
    permissions: dict[str, PermissionTrace] = field(default_factory=dict)
    plan: list[dict[str, str]] = field(default_factory=list)
    context_trimmed: int = 0
    validation: dict[ValidationCheck, ValidationTrace] = field(default_factory=dict)
    signals: list[tuple[SignalKind, dict[str, Any]]] = field(default_factory=list)
    last_failed_block: str | None = None


class TraceCollector:
    """Builds and writes the trace of one session from its event stream.

    Args:
        store: where traces go.
        header: the session's header record (written with the first turn).
        redactor: applied to every string before it is written.
        history: returns the session's full message history (`lambda: session.history`); each turn
            records the messages added since the previous turn. Without it turns carry no messages.
        on_problem: told once about the first capture failure (default: a log warning).
        first_turn: the number of the first turn (to continue a resumed session).
    """

    def __init__(
        self,
        *,
        store: TraceStore,
        header: SessionHeader,
        redactor: Redactor,
        history: Callable[[], Sequence[ModelMessage]] | None = None,
        on_problem: Callable[[str], None] | None = None,
        first_turn: int = 1,
    ) -> None:
        self.store = store
        self.header = header
        self.redactor = redactor
        self.path = store.session_path(header.project, header.feature, header.session_id)
        self._history = history
        self._history_len = len(history()) if history is not None else 0
        self._on_problem = on_problem
        self._header_written = self.path.exists()
        self._turn: _Turn | None = None
        self.turn = first_turn - 1
        """The number of the last turn recorded (or begun)."""
        self.turns_written = 0
        """Turns written to disk by this collector."""
        self.problem: str | None = None
        """The first capture problem, if any."""
        self._reported = False
        self._pending: asyncio.Task[None] | None = None

    @property
    def session_id(self) -> str:
        """The session's id."""
        return self.header.session_id

    # -- problems --------------------------------------------------------------------------------

    def _report(self, message: str) -> None:
        self.problem = self.problem or message
        if self._reported:
            return
        self._reported = True
        text = f"trace capture failed ({message}); Punie keeps working without recording this session"
        if self._on_problem is not None:
            self._on_problem(text)
        else:
            logger.warning(text)

    # -- the handler -----------------------------------------------------------------------------------

    def begin_turn(self, prompt: str) -> None:
        """Start a turn (optional: the first event starts one too; this one also knows the prompt)."""
        self._turn = _Turn(started=time.perf_counter(), started_at=now_iso(), prompt=prompt)

    def tee(self, downstream: EventHandler | None) -> EventHandler:
        """An event handler that records each event, then passes it on to `downstream`."""
        if downstream is None:
            return self

        async def handler(event: AgentEvent) -> None:
            await self(event)
            await downstream(event)

        return handler

    async def __call__(self, event: AgentEvent) -> None:
        """Record one event; a `RunFinished` writes the turn."""
        try:
            records = self._record(event)
        except Exception as exc:  # capture must never break the agent's turn; the problem is reported once
            self._report(f"{type(exc).__name__}: {exc}")
            self._turn = None
            return
        if records:
            await self._write(records)

    def _current(self) -> _Turn:
        if self._turn is None:
            self._turn = _Turn(started=time.perf_counter(), started_at=now_iso())
        return self._turn

    def _call_trace(self, event: ToolFinished) -> ToolCallTrace:
        redact = self.redactor.redact_value
        result = event.result
        return ToolCallTrace(
            call_id=event.call_id,
            name=event.name,
            args=_as_dict(redact(dict(event.args))),
            risk=event.risk,
            ok=event.ok,
            result_type=type(result).__name__ if result is not None else None,
            result=_as_dict(redact(result.model_dump(mode="json"))) if result is not None else None,
            error=self.redactor.redact(event.error) if event.error else None,
            denied=event.denied,
            diff=self.redactor.redact(event.diff) if event.diff else None,
            duration_s=event.duration_s,
        )

    def _record(self, event: AgentEvent) -> list[Record]:
        turn = self._current()
        redact = self.redactor.redact
        match event:
            case TextDelta() | ThoughtDelta():
                if turn.first_token_s is None:
                    turn.first_token_s = time.perf_counter() - turn.started
                if isinstance(event, ThoughtDelta):
                    turn.thinking.append(event.text)
            case BlockStarted():
                turn.blocks[event.block_id] = BlockTrace(block_id=event.block_id, code=redact(event.code))
            case BlockFinished():
                block = turn.blocks.setdefault(event.block_id, BlockTrace(block_id=event.block_id, code=""))
                block.ok = event.ok
                block.value = self.redactor.redact_value(event.value)
                block.stdout = redact(event.stdout)
                block.error = redact(event.error) if event.error else None
                block.duration_s = event.duration_s
                turn.last_failed_block = None if event.ok else event.block_id
            case ToolStarted():
                turn.open_calls[event.call_id] = event
            case ToolFinished():
                turn.open_calls.pop(event.call_id, None)
                trace = self._call_trace(event)
                block = turn.blocks.get(event.block_id) if event.block_id is not None else None
                (block.tool_calls if block is not None else turn.tool_calls).append(trace)
                self._classify(turn, event)
            case PermissionNeeded():
                turn.permissions[event.call_id] = PermissionTrace(
                    call_id=event.call_id, tool=event.tool, risk=event.risk, summary=redact(event.summary)
                )
            case PermissionResolved():
                permission = turn.permissions.setdefault(
                    event.call_id,
                    PermissionTrace(call_id=event.call_id, tool=event.tool, risk="", summary=""),
                )
                permission.allowed = event.allowed
                permission.remember = event.remember
                turn.signals.append(
                    (
                        "permission_allowed" if event.allowed else "permission_denied",
                        {"tool": event.tool, "call_id": event.call_id, "remember": event.remember},
                    )
                )
            case PlanUpdated():
                turn.plan = [
                    {"content": redact(e.content), "status": e.status, "priority": e.priority}
                    for e in event.entries
                ]
            case RetryScheduled():
                turn.retries.append(
                    RetryTrace(
                        attempt=event.attempt, message=redact(event.message), block_id=turn.last_failed_block
                    )
                )
            case ContextTrimmed():
                turn.context_trimmed += event.dropped_messages
            case RunFinished():
                return self._finish(turn, event)
            case _:
                assert_never(event)
        return []

    def _classify(self, turn: _Turn, event: ToolFinished) -> None:
        found = _validation_of(event.result)
        if found is not None and event.result is not None:
            check, problems = found
            passed = event.ok and bool(event.result.model_dump().get("success", False))
            turn.validation[check] = ValidationTrace(
                check=check, tool=event.name, passed=passed, problems=problems
            )
        path = event.args.get("path")
        payload: dict[str, Any] = {"tool": event.name, "call_id": event.call_id}
        if isinstance(path, str):
            payload["path"] = path
        if event.denied and event.risk == "write":
            turn.signals.append(("edit_rejected", payload))
        elif event.ok and event.diff:
            asked = turn.permissions.get(event.call_id)
            if asked is not None and asked.allowed:
                turn.signals.append(("edit_accepted", payload))
            if isinstance(path, str) and is_spec_file(path):
                turn.signals.append(
                    ("spec_edited", {**payload, "by": "agent", "diff": self.redactor.redact(event.diff)})
                )

    def _finish(self, turn: _Turn, event: RunFinished) -> list[Record]:
        self._turn = None
        self.turn += 1
        messages: list[ModelMessage] = []
        history_len = self._history_len
        if self._history is not None:
            history = list(self._history())
            if len(history) < history_len:  # the history was reset or replaced
                history_len = 0
            messages = history[history_len:]
            self._history_len = len(history)
        for call in turn.open_calls.values():  # cancelled or crashed mid-call
            unfinished = ToolCallTrace(
                call_id=call.call_id,
                name=call.name,
                args=_as_dict(self.redactor.redact_value(dict(call.args))),
                risk=call.risk,
                ok=False,
                error="did not finish",
            )
            block = turn.blocks.get(call.block_id) if call.block_id is not None else None
            (block.tool_calls if block is not None else turn.tool_calls).append(unfinished)
        prompt = turn.prompt or _prompt_of(messages)
        record = TurnRecord(
            session_id=self.session_id,
            turn=self.turn,
            started_at=turn.started_at,
            finished_at=now_iso(),
            prompt=self.redactor.redact(prompt),
            history_len=history_len,
            messages=_as_list(
                self.redactor.redact_value(ModelMessagesTypeAdapter.dump_python(messages, mode="json"))
            ),
            thinking=self.redactor.redact("".join(turn.thinking)),
            blocks=list(turn.blocks.values()),
            tool_calls=turn.tool_calls,
            retries=turn.retries,
            permissions=list(turn.permissions.values()),
            plan=turn.plan,
            context_trimmed=turn.context_trimmed,
            validation=list(turn.validation.values()),
            outcome=Outcome(
                stop_reason=event.stop_reason,
                output=self.redactor.redact(event.output),
                error=self.redactor.redact(event.error) if event.error else None,
            ),
            usage=TurnUsage(
                duration_s=event.duration_s,
                first_token_s=turn.first_token_s,
                input_tokens=event.usage.input_tokens,
                output_tokens=event.usage.output_tokens,
                requests=event.usage.requests,
            ),
        )
        records: list[Record] = [record]
        for kind, payload in turn.signals:
            records.append(
                SignalRecord(
                    session_id=self.session_id,
                    turn=self.turn,
                    at=record.finished_at,
                    kind=kind,
                    payload=payload,
                )
            )
        return records

    async def _write(self, records: list[Record]) -> None:
        # The append (and its fsync) runs in a worker thread, chained after the previous one so records keep
        # their order; the turn does not wait for the disk. `flush()` (and `close()`) wait for it.
        self._pending = asyncio.create_task(self._append_after(self._pending, records))

    async def _append_after(self, previous: asyncio.Task[None] | None, records: list[Record]) -> None:
        if previous is not None:
            await previous
        if not self._header_written:
            records = [self.header, *records]
        try:
            await asyncio.to_thread(append_records, self.path, records)
        except (OSError, ValueError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            self._report(f"cannot write `{self.path}`: {reason}")
            return
        self._header_written = True
        self.turns_written += sum(isinstance(r, TurnRecord) for r in records)

    async def flush(self) -> None:
        """Wait until every record handed to the collector so far is written and synced."""
        while self._pending is not None:
            pending = self._pending
            await pending
            if self._pending is pending:
                self._pending = None

    # -- signals ----------------------------------------------------------------------------------------

    async def signal(
        self,
        kind: SignalKind,
        *,
        text: str = "",
        rating: int | None = None,
        payload: Mapping[str, object] | None = None,
        turn: int | None = None,
    ) -> SignalRecord:
        """Record a user signal tied to `turn` (default: the last turn).

        Raises:
            UserError: a rating outside 1-5, or a `rate` signal without one.
        """
        record = _signal_record(
            self.session_id,
            self.turn if turn is None else turn,
            kind,
            text=text,
            rating=rating,
            payload=payload,
            redactor=self.redactor,
        )
        await self._write([record])
        return record

    async def close(self) -> None:
        """Write the end record (only when a turn was recorded) and wait for every write."""
        await self.flush()
        if self.turns_written or self._header_written:
            await self._write([SessionEnd(session_id=self.session_id, at=now_iso(), turns=self.turn)])
            await self.flush()


def _as_dict(value: object) -> dict[str, Any]:
    assert isinstance(value, dict)
    return value


def _as_list(value: object) -> list[Any]:
    assert isinstance(value, list)
    return value


def _signal_record(
    session_id: str,
    turn: int,
    kind: SignalKind,
    *,
    text: str,
    rating: int | None,
    payload: Mapping[str, object] | None,
    redactor: Redactor,
) -> SignalRecord:
    if kind == "rate" and rating is None:
        raise UserError("a `rate` signal needs a rating from 1 to 5")
    if rating is not None and not 1 <= rating <= 5:
        raise UserError(f"a rating is 1 to 5, not {rating!r}")
    return SignalRecord(
        session_id=session_id,
        turn=turn,
        at=now_iso(),
        kind=kind,
        text=redactor.redact(text),
        rating=rating,
        payload=_as_dict(redactor.redact_value(dict(payload or {}))),
    )


def record_signal(
    store: TraceStore,
    session_id: str,
    turn: int,
    kind: SignalKind,
    payload: Mapping[str, object] | None = None,
) -> SignalRecord:
    """Record a user signal for a session from anywhere (another process included).

    Args:
        store: the trace store (`TraceStore(settings.punie_home)`).
        session_id: the session (its trace file must exist: it is created with the first turn).
        turn: the turn the signal refers to.
        kind: what kind of signal.
        payload: details; `text` (a correction or addition) and `rating` (1-5) are lifted into their
            fields, the rest is kept as is (for example `{"path": "src/app.py", "tool": "file_edit"}`).

    Raises:
        UserError: the session has no trace, or the rating is missing or outside 1-5.
    """
    ref = store.find(session_id)
    if ref is None:
        raise UserError(f"no trace for session `{session_id}` under `{store.root}`")
    details = dict(payload or {})
    text = details.pop("text", "")
    rating = details.pop("rating", None)
    if rating is not None and (not isinstance(rating, int) or isinstance(rating, bool)):
        raise UserError(f"a rating is an integer from 1 to 5, not {rating!r}")
    root = None
    for record in _header_of(ref.path):
        root = Path(record.root)
    redactor = Redactor.for_project(root) if root is not None and root.is_dir() else Redactor()
    record = _signal_record(
        session_id, turn, kind, text=str(text), rating=rating, payload=details, redactor=redactor
    )
    append_records(ref.path, [record])
    return record


def _header_of(path: Path) -> list[SessionHeader]:
    try:
        with path.open("rb") as handle:
            first = handle.readline()
        record = decode_record(first)
    except (OSError, msgspec.DecodeError, msgspec.ValidationError, UnknownVersionError):
        # the header is only a hint for `.env` redaction; a session whose header was lost still takes signals
        return []
    return [record] if isinstance(record, SessionHeader) else []


# -- slash commands ----------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class SignalCommand:
    """A parsed `/correct`, `/add` or `/rate` command."""

    kind: Literal["correct", "add", "rate"]
    """Which command."""
    text: str = ""
    """The correction or addition."""
    rating: int | None = None
    """The rating, for `/rate`."""


def parse_signal_command(text: str) -> SignalCommand | None:
    """Parse `/correct <text>`, `/add <text>` or `/rate 1-5`; None for anything else.

    Raises:
        UserError: a recognised command with a missing or bad argument.
    """
    stripped = text.strip()
    if not stripped.startswith("/"):
        return None
    command, _, rest = stripped.partition(" ")
    rest = rest.strip()
    match command.lower():
        case "/correct" | "/add":
            kind: Literal["correct", "add"] = "correct" if command.lower() == "/correct" else "add"
            if not rest:
                raise UserError(f"`{command}` needs a text: `{command} <what is wrong and what is right>`")
            return SignalCommand(kind=kind, text=rest)
        case "/rate":
            if not rest.isdigit() or not 1 <= int(rest) <= 5:
                raise UserError(f"`/rate` takes a number from 1 to 5, not {rest!r}")
            return SignalCommand(kind="rate", rating=int(rest))
        case _:
            return None


# -- the front-end helper ------------------------------------------------------------------------------


class _SpecWatch:
    """Snapshots of the project's spec files, to notice the user editing them between turns."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.files: dict[str, tuple[int, str]] = self._snapshot()

    def _paths(self) -> list[Path]:
        found: list[Path] = []
        for name in SPEC_NAMES:
            found.extend(p for p in (self.root / name, self.root / "docs" / name) if p.is_file())
        for folder in _SPEC_DIRS:
            base = self.root / folder
            if base.is_dir():
                found.extend(p for p in base.rglob("*.md") if p.is_file())
        return found

    def _snapshot(self) -> dict[str, tuple[int, str]]:
        snapshot: dict[str, tuple[int, str]] = {}
        for path in self._paths():
            try:
                stat = path.stat()
                if stat.st_size <= 256_000:
                    snapshot[path.relative_to(self.root).as_posix()] = (
                        stat.st_mtime_ns,
                        path.read_text(encoding="utf-8", errors="replace"),
                    )
            except OSError:
                continue
        return snapshot

    def changes(self) -> list[tuple[str, str]]:
        """`(path, unified diff)` of spec files changed since the last call."""
        current = self._snapshot()
        changed: list[tuple[str, str]] = []
        for path in sorted(set(current) | set(self.files)):
            before = self.files.get(path)
            after = current.get(path)
            if before is not None and after is not None and before[0] == after[0]:
                continue
            old = before[1] if before else ""
            new = after[1] if after else ""
            if old != new:
                diff = "".join(
                    difflib.unified_diff(
                        old.splitlines(keepends=True), new.splitlines(keepends=True), f"a/{path}", f"b/{path}"
                    )
                )
                changed.append((path, diff))
        self.files = current
        return changed


def _tool_definitions(session: PunieSession) -> list[dict[str, Any]]:
    return [dict(tool) for tool in chat_tools(session.tool_definitions)]


def _model_info(model: Model, spec: str) -> ModelInfo:
    version = model.model_version if isinstance(model, HasModelVersion) else None
    return ModelInfo(spec=spec, name=model.model_name, system=model.system, version=version)


class Capture:
    """Trace capture for one `PunieSession`, for any front-end; a no-op when capture is off.

    Build it with `capture_session`. Use it as an async context manager (or call `aclose()`): closing
    writes the end record and commits the session to `PUNIE_HOME`'s git repository.
    """

    def __init__(
        self,
        session: PunieSession,
        collector: TraceCollector | None,
        *,
        repo: HomeRepo | None = None,
    ) -> None:
        self.session = session
        self.collector = collector
        """None when capture is off for the project."""
        self._repo = repo
        self._specs = _SpecWatch(session.ctx.workspace.root) if collector is not None else None
        self._closed = False

    @property
    def enabled(self) -> bool:
        """Whether this session is captured."""
        return self.collector is not None

    @property
    def session_id(self) -> str | None:
        """The trace's session id (None when capture is off)."""
        return self.collector.session_id if self.collector is not None else None

    @property
    def path(self) -> Path | None:
        """The trace file (None when capture is off)."""
        return self.collector.path if self.collector is not None else None

    def tee(self, on_event: EventHandler | None) -> EventHandler | None:
        """The handler to give `session.prompt`: records, then forwards to `on_event`."""
        return self.collector.tee(on_event) if self.collector is not None else on_event

    async def begin_turn(self, prompt: str) -> None:
        """Call before `session.prompt(prompt, on_event=cap.tee(...))` when driving the session yourself."""
        if self.collector is None:
            return
        if self._specs is not None and self.collector.turn > 0:
            try:
                changes = await asyncio.to_thread(self._specs.changes)
            except OSError:
                changes = []
            for path, diff in changes:
                await self.collector.signal("spec_edited", payload={"path": path, "by": "user", "diff": diff})
        self.collector.begin_turn(prompt)

    async def prompt(self, text: str, *, on_event: EventHandler | None = None) -> TurnResult:
        """Run one traced turn: `session.prompt(text)` with the collector teed into `on_event`."""
        await self.begin_turn(text)
        result = await self.session.prompt(text, on_event=self.tee(on_event))
        if self._specs is not None:
            with contextlib.suppress(OSError):  # the agent's own spec edits are not the user's: absorb them
                await asyncio.to_thread(self._specs.changes)
        return result

    async def signal(
        self,
        kind: SignalKind,
        *,
        text: str = "",
        rating: int | None = None,
        payload: Mapping[str, object] | None = None,
        turn: int | None = None,
    ) -> None:
        """Record a user signal for the last turn (or `turn`); nothing when capture is off."""
        if self.collector is not None:
            await self.collector.signal(kind, text=text, rating=rating, payload=payload, turn=turn)

    async def command(self, text: str) -> str | None:
        """Handle `/correct`, `/add` or `/rate` typed by the user; None when `text` is not one of them.

        Returns:
            A one-line confirmation to show the user.

        Raises:
            UserError: the command's argument is missing or bad.
        """
        parsed = parse_signal_command(text)
        if parsed is None:
            return None
        await self.signal(parsed.kind, text=parsed.text, rating=parsed.rating)
        if self.collector is None:
            return "Noted (capture is off for this project, so nothing was recorded)."
        what = {"correct": "Correction", "add": "Addition", "rate": f"Rating {parsed.rating}"}[parsed.kind]
        return f"{what} recorded for turn {self.collector.turn}."

    async def aclose(self) -> None:
        """Finish the session: the end record, then a commit in `PUNIE_HOME` (once)."""
        if self._closed or self.collector is None:
            return
        self._closed = True
        collector = self.collector
        await collector.close()
        if self._repo is not None and collector.turns_written and collector.path.exists():
            header = collector.header
            message = (
                f"capture: {header.project}/{header.feature} session {header.session_id}\n\n"
                f"{collector.turn} turn(s) via `punie {header.front_end}` with {header.model.spec}."
            )
            await asyncio.to_thread(self._repo.commit, [collector.path], message)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


def capture_session(
    session: PunieSession,
    *,
    model_spec: str,
    front_end: str,
    session_id: str | None = None,
    on_problem: Callable[[str], None] | None = None,
) -> Capture:
    """Set up capture for `session` (a no-op `Capture` when the project's settings say `capture = false`).

    Args:
        session: the agent session (its workspace root names the project; its settings give `PUNIE_HOME`).
        model_spec: the model spec string the session was resolved from.
        front_end: `ask`, `acp`, `lsp`, … (recorded, and used in the commit message).
        session_id: reuse an id (to continue a session's trace); a new one by default.
        on_problem: told once about the first capture or git problem (default: a log warning).
    """
    settings = session.ctx.settings
    if not settings.capture:
        return Capture(session, None)
    try:
        return _start(
            session, model_spec=model_spec, front_end=front_end, session_id=session_id, on_problem=on_problem
        )
    except OSError as exc:  # an unreadable project or home must not stop the agent
        message = f"trace capture is off for this session: {exc}"
        if on_problem is not None:
            on_problem(message)
        else:
            logger.warning(message)
        return Capture(session, None)


def _start(
    session: PunieSession,
    *,
    model_spec: str,
    front_end: str,
    session_id: str | None,
    on_problem: Callable[[str], None] | None,
) -> Capture:
    settings = session.ctx.settings
    root = session.ctx.workspace.root
    feature, source = detect_feature(root)
    header = SessionHeader(
        session_id=session_id or new_session_id(),
        project=detect_project(root),
        feature=feature,
        feature_source=source,
        front_end=front_end,
        root=str(root),
        started_at=now_iso(),
        punie_version=__version__,
        model=_model_info(session.model, model_spec),
        code_mode=session.config.code_mode,
        instructions=session.instructions,
        tools=_tool_definitions(session),
    )
    redactor = Redactor.for_project(root)
    header.instructions = redactor.redact(header.instructions)
    store = TraceStore(settings.punie_home)
    first_turn = 1
    existing = store.session_path(header.project, header.feature, header.session_id)
    if existing.exists():
        trace = store.load(
            SessionRef(
                project=header.project, feature=header.feature, session_id=header.session_id, path=existing
            )
        )
        first_turn = (trace.turns[-1].turn + 1) if trace.turns else 1
    collector = TraceCollector(
        store=store,
        header=header,
        redactor=redactor,
        history=lambda: session.history,
        on_problem=on_problem,
        first_turn=first_turn,
    )
    return Capture(session, collector, repo=HomeRepo(settings.punie_home, on_problem=on_problem))
