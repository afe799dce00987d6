"""The trace schema: what one session leaves on disk, record by record (documented in `docs/traces.md`).

A session file (`PUNIE_HOME/training_data/<project>/<feature>/<session>.jsonl`) holds one JSON record per
line, each tagged by `type`:

- `session`: who, where and with what (project, feature, model, front-end, the system prompt and tool
  definitions the model was served), written with the first turn;
- `turn`: one user turn: the prompt, the messages it added to the history (pydantic-ai's
  `ModelMessagesTypeAdapter` JSON), each Code Mode block with its nested tool calls and their typed
  results, validation outcomes, retries, permissions, the outcome, latency and token counts;
- `signal`: a user signal tied to a turn (`/correct`, `/add`, `/rate`, accepted or rejected edits and
  permissions, spec edits);
- `end`: the session finished cleanly.

Every record carries `schema_version`. Records are msgspec Structs (traces are a boundary, and msgspec
reads and writes them an order of magnitude faster than the alternatives, which keeps capture off the
critical path). Readers migrate older versions they know and skip newer ones with a warning.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import msgspec

__all__ = (
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "BlockTrace",
    "ModelInfo",
    "Outcome",
    "PermissionTrace",
    "Record",
    "RetryTrace",
    "SessionEnd",
    "SessionHeader",
    "SignalKind",
    "SignalRecord",
    "ToolCallTrace",
    "TurnRecord",
    "TurnUsage",
    "UnknownVersionError",
    "ValidationCheck",
    "ValidationTrace",
    "decode_record",
    "encode_record",
)

SCHEMA_VERSION = 1
"""The version written by this code. Bump it (and add a migration) whenever a record's shape changes."""

SignalKind = Literal[
    "correct",
    "add",
    "rate",
    "edit_accepted",
    "edit_rejected",
    "permission_allowed",
    "permission_denied",
    "spec_edited",
]
"""User signals: `correct` (what was wrong and what is right), `add` (a refinement), `rate` (1-5), edits and
permissions the user accepted or rejected, and edits to spec files (the user changed their mind)."""

ValidationCheck = Literal["typecheck", "ruff", "tests", "domain"]
"""The validation families a turn can run: ty, ruff, pytest and the domain validators."""


class ModelInfo(msgspec.Struct, frozen=True, kw_only=True):
    """The model that answered."""

    spec: str
    """The model spec string the user chose (`punie-tiny`, `mlx:…`, `openai:…`, `replay:…`)."""
    name: str
    """The backend's model name."""
    system: str
    """The backend (pydantic-ai's `Model.system`)."""
    version: str | None = None
    """A version or content fingerprint when the backend knows one."""


class _Record(msgspec.Struct, tag_field="type", kw_only=True):
    """Fields shared by every record."""

    schema_version: int = SCHEMA_VERSION
    """The schema version the record was written with."""
    session_id: str
    """The session the record belongs to."""


class SessionHeader(_Record, tag="session", kw_only=True):
    """The first record of a session file."""

    project: str
    """Project name (from `pyproject.toml`, else the root directory name), as used in the path."""
    feature: str
    """Feature: the active feature spec, else the git branch, else `default`; as used in the path."""
    feature_source: Literal["spec", "branch", "default"]
    """Where `feature` came from."""
    front_end: str
    """`ask`, `acp`, `lsp`, … ."""
    root: str
    """The project root."""
    started_at: str
    """ISO 8601 UTC timestamp."""
    punie_version: str
    """The Punie that wrote the trace."""
    model: ModelInfo
    """The model."""
    code_mode: bool
    """Code Mode (`run_code` blocks) or JSON tools."""
    instructions: str
    """The system prompt the model was served (redacted)."""
    tools: list[dict[str, Any]]
    """The tool definitions the model was served, as chat-template `tools` (`chat_tools`)."""


class ToolCallTrace(msgspec.Struct, kw_only=True):
    """One typed tool call (nested in a block, or a direct JSON tool call)."""

    call_id: str
    """Pairs the call with permission records."""
    name: str
    """The tool's name."""
    args: dict[str, Any]
    """Arguments by name (redacted)."""
    risk: str
    """`read`, `write` or `high-risk`."""
    ok: bool
    """Returned a result without `tool_error`."""
    result_type: str | None = None
    """The result model's class name (`TypeCheckResult`, …)."""
    result: dict[str, Any] | None = None
    """The typed result, `model_dump(mode="json")` (redacted)."""
    error: str | None = None
    """Why it failed."""
    denied: bool = False
    """The permission gate said no."""
    diff: str | None = None
    """Unified diff of the files it changed."""
    duration_s: float = 0.0
    """Seconds it took."""


class BlockTrace(msgspec.Struct, kw_only=True):
    """One Code Mode block and the tool calls it made."""

    block_id: str
    """The model's tool-call id for the block."""
    code: str
    """The Python the model wrote (redacted)."""
    ok: bool = False
    """Ran to the end without an uncaught error (False when the turn died mid-block)."""
    value: Any = None
    """The last expression's value (JSON types)."""
    stdout: str = ""
    """What the block printed."""
    error: str | None = None
    """The retry message the model was sent when it failed."""
    duration_s: float = 0.0
    """Wall time of the block."""
    tool_calls: list[ToolCallTrace] = msgspec.field(default_factory=list)
    """Nested tool calls, in order."""


class RetryTrace(msgspec.Struct, kw_only=True):
    """A failed block or call whose error went back to the model."""

    attempt: int
    """1 for the first retry."""
    message: str
    """What the model was told."""
    block_id: str | None = None
    """The block that failed, when it was a block."""


class PermissionTrace(msgspec.Struct, kw_only=True):
    """A permission question and its answer."""

    call_id: str
    """The gated tool call."""
    tool: str
    """The tool's name."""
    risk: str
    """`write` or `high-risk`."""
    summary: str
    """The one-line description shown to the user."""
    allowed: bool | None = None
    """The answer (None when the turn ended before it)."""
    remember: bool = False
    """The answer applies to later calls too."""


class ValidationTrace(msgspec.Struct, kw_only=True):
    """The last outcome of one validation family in a turn."""

    check: ValidationCheck
    """`typecheck`, `ruff`, `tests` or `domain`."""
    tool: str
    """The tool that ran it."""
    passed: bool
    """The result's `success` and no `tool_error`."""
    problems: int = 0
    """Errors, violations or failed tests it reported."""


class Outcome(msgspec.Struct, kw_only=True):
    """How the turn ended."""

    stop_reason: str
    """`end_turn`, `max_tokens`, `max_turn_requests`, `refusal`, `cancelled` or `error`."""
    output: str = ""
    """The final answer text (redacted)."""
    error: str | None = None
    """What went wrong for `error`."""


class TurnUsage(msgspec.Struct, kw_only=True):
    """Latency and token counts of a turn."""

    duration_s: float = 0.0
    """Wall time of the run (from `RunFinished`)."""
    first_token_s: float | None = None
    """Seconds from the turn's start to its first streamed text or thought."""
    input_tokens: int = 0
    """Prompt tokens over every request of the turn."""
    output_tokens: int = 0
    """Generated tokens."""
    requests: int = 0
    """Model requests."""


class TurnRecord(_Record, tag="turn", kw_only=True):
    """One user turn."""

    turn: int
    """1 for the first turn of the session."""
    started_at: str
    """ISO 8601 UTC."""
    finished_at: str
    """ISO 8601 UTC."""
    prompt: str
    """The user's prompt (redacted; empty when unknown)."""
    history_len: int = 0
    """Messages in the history before this turn (the session's earlier turns hold them)."""
    messages: list[Any] = msgspec.field(default_factory=list)
    """The messages this turn added, as pydantic-ai `ModelMessagesTypeAdapter` JSON (redacted)."""
    thinking: str = ""
    """The model's streamed reasoning."""
    blocks: list[BlockTrace] = msgspec.field(default_factory=list)
    """Code Mode blocks, in order."""
    tool_calls: list[ToolCallTrace] = msgspec.field(default_factory=list)
    """Direct (JSON) tool calls outside any block."""
    retries: list[RetryTrace] = msgspec.field(default_factory=list)
    """Errors sent back to the model."""
    permissions: list[PermissionTrace] = msgspec.field(default_factory=list)
    """Permission questions."""
    plan: list[dict[str, str]] = msgspec.field(default_factory=list)
    """The last plan (`content`, `status`, `priority`)."""
    context_trimmed: int = 0
    """Messages dropped from the model's view to fit its context."""
    validation: list[ValidationTrace] = msgspec.field(default_factory=list)
    """The last outcome of each validation family run in the turn."""
    outcome: Outcome
    """How it ended."""
    usage: TurnUsage = msgspec.field(default_factory=TurnUsage)
    """Latency and tokens."""


class SignalRecord(_Record, tag="signal", kw_only=True):
    """A user signal tied to a turn."""

    turn: int
    """The turn it refers to (0 when the session has none yet)."""
    at: str
    """ISO 8601 UTC."""
    kind: SignalKind
    """What kind of signal."""
    text: str = ""
    """The correction or addition (redacted)."""
    rating: int | None = None
    """1-5 for `rate`."""
    payload: dict[str, Any] = msgspec.field(default_factory=dict)
    """Details: the tool and call id of an edit or permission, a spec file's path and diff, … ."""


class SessionEnd(_Record, tag="end", kw_only=True):
    """The session closed cleanly."""

    at: str
    """ISO 8601 UTC."""
    turns: int
    """Turns recorded."""


Record = SessionHeader | TurnRecord | SignalRecord | SessionEnd
"""Any line of a session file."""

MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}
"""`version -> function` turning a record of that version into one of the next version."""

_encoder = msgspec.json.Encoder()


def encode_record(record: Record) -> bytes:
    """One JSON line (with its newline); msgspec escapes newlines inside strings, so it is one line."""
    return _encoder.encode(record) + b"\n"


class UnknownVersionError(ValueError):
    """A record was written by a newer Punie (or a hand edit set an unknown version)."""


def decode_record(line: bytes | str) -> Record:
    """Decode one line, migrating an older schema version.

    Raises:
        msgspec.DecodeError: the line is not JSON.
        msgspec.ValidationError: it is JSON but not a record of this schema.
        UnknownVersionError: its `schema_version` is newer than this code or has no migration.
    """
    raw = msgspec.json.decode(line)
    if not isinstance(raw, dict):
        raise msgspec.ValidationError("a record must be a JSON object")
    version = raw.get("schema_version", SCHEMA_VERSION)
    if not isinstance(version, int) or isinstance(version, bool):
        raise msgspec.ValidationError("`schema_version` must be an integer")
    while version < SCHEMA_VERSION:
        migrate = MIGRATIONS.get(version)
        if migrate is None:
            raise UnknownVersionError(f"no migration from schema version {version}")
        raw = migrate(raw)
        version += 1
        raw["schema_version"] = version
    if version > SCHEMA_VERSION:
        raise UnknownVersionError(f"schema version {version} is newer than this Punie ({SCHEMA_VERSION})")
    return msgspec.convert(raw, Record)
