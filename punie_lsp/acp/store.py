"""Sessions on disk: `PUNIE_HOME/sessions/<id>.json`, one file per session, written atomically.

A record keeps what `session/load` needs to show the whole conversation again (every update sent to
the client, coalesced) and what the model needs to go on (the pydantic-ai message history), plus the
session's mode, its "always" permission answers and the feedback the user gave with `/correct`, `/add`
and `/rate`, each tied to the turn it is about (what the flywheel's capture reads later).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_ai.messages import ModelMessage, ModelMessagesTypeAdapter

from punie_lsp.agent.permissions import Mode
from punie_lsp.exceptions import UserError

__all__ = (
    "FeedbackKind",
    "FeedbackRecord",
    "SessionRecord",
    "SessionStore",
    "TurnRecord",
    "now_iso",
    "valid_session_id",
)

RECORD_VERSION = 1
"""Bumped when the record's shape changes incompatibly."""

_SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

FeedbackKind = Literal["correct", "add", "rate"]
"""`correct`: what the answer should have been; `add`: keep the turn as an example; `rate`: a 1-5 score."""


def now_iso() -> str:
    """The current UTC time in ISO 8601 (what ACP's `updatedAt` carries)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def valid_session_id(session_id: str) -> bool:
    """Whether `session_id` can name a file (letters, digits, `_` and `-`; no paths)."""
    return bool(_SESSION_ID.match(session_id))


class FeedbackRecord(BaseModel):
    """One piece of feedback about a turn, given with a slash command."""

    model_config = ConfigDict(extra="forbid")

    kind: FeedbackKind
    """Which command gave it."""
    text: str = ""
    """The correction, the note, or the rating's comment."""
    rating: int | None = Field(default=None, ge=1, le=5)
    """1-5, for `rate`."""
    created_at: str = Field(default_factory=now_iso)
    """When it was given."""


class TurnRecord(BaseModel):
    """One user turn: a prompt to the model, or a slash command."""

    model_config = ConfigDict(extra="forbid")

    id: str
    """Unique id of the turn (feedback and traces refer to it)."""
    kind: Literal["prompt", "command"]
    """`prompt` went to the model; `command` was a slash command answered by Punie itself."""
    prompt: str
    """What the user sent, as text."""
    started_at: str = Field(default_factory=now_iso)
    """When it began."""
    finished_at: str | None = None
    """When it ended (None while it runs, or when the process died during it)."""
    stop_reason: str | None = None
    """How it ended: an ACP stop reason, or `error`."""
    output: str = ""
    """The final answer text."""
    error: str | None = None
    """What went wrong, for `error`."""
    usage: dict[str, int] = Field(default_factory=dict)
    """Token counts."""
    updates: list[dict[str, Any]] = Field(default_factory=list)
    """Every `session/update` sent during the turn, as JSON (adjacent text chunks merged)."""
    feedback: list[FeedbackRecord] = Field(default_factory=list)
    """Feedback the user gave about this turn."""


class SessionRecord(BaseModel):
    """Everything Punie keeps about one editor session."""

    model_config = ConfigDict(extra="forbid")

    version: int = RECORD_VERSION
    """Shape version of the record."""
    session_id: str
    """The ACP session id (also the file name)."""
    cwd: str
    """The working directory the editor gave (the project root)."""
    title: str | None = None
    """A short title: the first line of the first prompt."""
    created_at: str = Field(default_factory=now_iso)
    """When the session was created."""
    updated_at: str = Field(default_factory=now_iso)
    """When it last changed."""
    model: str = ""
    """The model spec the session ran with."""
    mode: Mode = "ask"
    """The permission mode."""
    always_allow: list[str] = Field(default_factory=list)
    """Tools the user allowed for the rest of the session."""
    always_deny: list[str] = Field(default_factory=list)
    """Tools the user refused for the rest of the session."""
    history: list[dict[str, Any]] = Field(default_factory=list)
    """The model's message history (pydantic-ai `ModelMessagesTypeAdapter`, JSON mode)."""
    turns: list[TurnRecord] = Field(default_factory=list)
    """Every turn, in order."""

    def messages(self) -> list[ModelMessage]:
        """The history as pydantic-ai messages."""
        return ModelMessagesTypeAdapter.validate_python(self.history)

    def set_messages(self, messages: list[ModelMessage]) -> None:
        """Store `messages` as the history."""
        self.history = ModelMessagesTypeAdapter.dump_python(messages, mode="json")

    def last_model_turn(self) -> TurnRecord | None:
        """The latest turn answered by the model (what feedback refers to)."""
        return next((turn for turn in reversed(self.turns) if turn.kind == "prompt"), None)


class SessionStore:
    """The directory of session records.

    Args:
        directory: where the `<id>.json` files live (created on first save).
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path_for(self, session_id: str) -> Path:
        """The file of `session_id`.

        Raises:
            UserError: the id cannot name a session file.
        """
        if not valid_session_id(session_id):
            raise UserError(f"invalid session id {session_id!r}")
        return self.directory / f"{session_id}.json"

    def exists(self, session_id: str) -> bool:
        """Whether a record of `session_id` is on disk."""
        return valid_session_id(session_id) and self.path_for(session_id).is_file()

    def load(self, session_id: str) -> SessionRecord | None:
        """Read the record of `session_id`, or None when there is none.

        Raises:
            UserError: the file exists but is not a valid record (the message names it).
        """
        path = self.path_for(session_id)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise UserError(f"cannot read session file `{path}`: {exc.strerror}") from exc
        try:
            return SessionRecord.model_validate_json(text)
        except ValidationError as exc:
            raise UserError(f"session file `{path}` is damaged: {exc.errors()[0]['msg']}") from exc

    def save_sync(self, record: SessionRecord) -> Path:
        """Write `record` atomically (temporary file, fsync, rename): a crash never leaves half a file."""
        target = self.path_for(record.session_id)
        self.directory.mkdir(parents=True, exist_ok=True)
        data = record.model_dump_json(indent=1)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=self.directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp_name, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp_name)
            raise
        return target

    async def save(self, record: SessionRecord) -> Path:
        """Async twin of `save_sync` (the write runs in a thread); stamps `updated_at`."""
        record.updated_at = now_iso()
        snapshot = record.model_copy(deep=True)
        return await asyncio.to_thread(self.save_sync, snapshot)

    def records(self, *, cwd: str | None = None) -> list[SessionRecord]:
        """Every readable record (of `cwd` only, when given), most recently updated first.

        Damaged files are skipped: one bad file must not hide every other session.
        """
        if not self.directory.is_dir():
            return []
        records: list[SessionRecord] = []
        for path in self.directory.glob("*.json"):
            try:
                record = SessionRecord.model_validate_json(path.read_text(encoding="utf-8"))
            except (OSError, ValidationError):
                continue
            if cwd is None or _same_dir(record.cwd, cwd):
                records.append(record)
        records.sort(key=lambda record: record.updated_at, reverse=True)
        return records


def _same_dir(a: str, b: str) -> bool:
    try:
        return Path(a).resolve() == Path(b).resolve()
    except OSError:
        return a == b
