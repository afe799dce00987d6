"""Curation: a feature's traces become a tight dataset of training examples (documented in `docs/data.md`).

Steps, in order:

1. **keep validated turns**: the turn ended normally (`end_turn`), its last Code Mode block succeeded,
   and, when it changed files, the last typecheck/ruff/tests/domain run of the turn passed; the user did
   not correct it, rate it 1-2, or reject its edits or permissions;
2. **corrections become negative examples**: a turn the user corrected with `/correct <text>`, followed
   by a validated turn, becomes one (mistake → correction → fix) conversation;
3. **near-duplicates are dropped** (MinHash over the turn's own text, `dedup`), keeping the best-rated,
   most recent one;
4. **tools are balanced**: no tool (by the first substantive tool a turn calls, or `none`) keeps more than
   `max_per_tool` examples (default: twice the median per-tool count, at least 5).

Each example is a chat conversation in exactly the runtime format (`to_chat_messages` with the session's
recorded instructions) plus the recorded tool definitions, so export writes what the model is served.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import statistics
import warnings
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import msgspec
from pydantic_ai.messages import ModelMessage, ModelMessagesTypeAdapter

from punie_lsp.flywheel.dedup import near_duplicate_groups
from punie_lsp.flywheel.schema import TurnRecord
from punie_lsp.flywheel.store import SessionTrace, TraceWarning, slug
from punie_lsp.models.chat_format import ChatMessage, to_chat_messages

__all__ = (
    "DATASETS",
    "CurateReport",
    "Example",
    "balance",
    "build_examples",
    "content_id",
    "curate",
    "curated_path",
    "dedupe_examples",
    "example_text",
    "read_curated",
    "turn_verdict",
    "write_curated",
)

DATASETS = "datasets"
"""The folder of curated datasets and exports inside `PUNIE_HOME`."""

_META_TOOLS = frozenset({"tool_docs", "load_skill", "update_plan"})
"""Tools that do not characterise a turn (documentation and planning)."""


class Example(msgspec.Struct, kw_only=True):
    """One curated training example."""

    schema_version: int = 1
    """Version of this record's shape."""
    id: str
    """Content hash of the conversation (the system message excluded): the ledger key."""
    kind: Literal["positive", "negative"]
    """A validated turn, or a (mistake → correction → fix) conversation."""
    project: str
    """Project folder."""
    feature: str
    """Feature folder."""
    session_id: str
    """The session it came from."""
    turn: int
    """The turn it teaches (the fixing turn for a negative example)."""
    tool: str
    """Balancing key: the first substantive tool the turn called, or `none`."""
    rating: int | None = None
    """The user's rating of the turn."""
    turn_start: int = 0
    """Index in `messages` where the taught turn begins (earlier messages are context)."""
    messages: list[dict[str, Any]]
    """Chat messages in the runtime format (`to_chat_messages`)."""
    tools: list[dict[str, Any]]
    """Tool definitions the model was served (`chat_tools`)."""
    edited: bool = False
    """The final answer was edited during interactive curation."""

    @property
    def source(self) -> str:
        """`project/feature/session#turn`."""
        return f"{self.project}/{self.feature}/{self.session_id}#{self.turn}"


@dataclass(kw_only=True)
class CurateReport:
    """What curation kept and dropped, and why."""

    sessions: int = 0
    turns: int = 0
    positive: int = 0
    negative: int = 0
    dropped: Counter[str] = field(default_factory=Counter)
    """Reason → number of turns or examples dropped."""
    corrections_without_fix: int = 0
    """Corrected turns with no validated turn after them."""

    def summary(self) -> str:
        """One paragraph for the terminal."""
        reasons = ", ".join(f"{count} {reason}" for reason, count in self.dropped.most_common()) or "none"
        return (
            f"{self.sessions} session(s), {self.turns} turn(s) → {self.positive + self.negative} example(s) "
            f"({self.positive} positive, {self.negative} negative). Dropped: {reasons}."
        )


def content_id(messages: Sequence[Mapping[str, Any]]) -> str:
    """SHA-256 of the conversation without its leading system message (prompt changes do not matter)."""
    body = list(messages[1:] if messages and messages[0].get("role") == "system" else messages)
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _edited(turn: TurnRecord) -> bool:
    return any(
        call.ok and call.risk == "write" and (call.diff or call.name in ("file_write", "file_edit"))
        for call in [*turn.tool_calls, *(c for b in turn.blocks for c in b.tool_calls)]
    )


def turn_verdict(turn: TurnRecord, signals: Iterable[Any]) -> str | None:
    """Why a turn is not a positive example, or None when it is validated.

    Args:
        turn: the turn.
        signals: the `SignalRecord`s tied to it.
    """
    kinds = Counter()
    ratings: list[int] = []
    for signal in signals:
        kinds[signal.kind] += 1
        if signal.kind == "rate" and signal.rating is not None:
            ratings.append(signal.rating)
    if turn.outcome.stop_reason != "end_turn":
        return f"stopped ({turn.outcome.stop_reason})"
    if not turn.messages:
        return "no messages recorded"
    if turn.blocks and not turn.blocks[-1].ok:
        return "last block failed"
    if kinds["correct"]:
        return "corrected by the user"
    if ratings and ratings[-1] <= 2:
        return "rated 1-2"
    if kinds["edit_rejected"] or kinds["permission_denied"]:
        return "edit or permission rejected"
    if _edited(turn) and any(not v.passed for v in turn.validation):
        return "validation failed after an edit"
    return None


def _primary_tool(turn: TurnRecord) -> str:
    for call in [*(c for b in turn.blocks for c in b.tool_calls), *turn.tool_calls]:
        if call.name not in _META_TOOLS:
            return call.name
    return "none"


def _messages(turn: TurnRecord) -> list[ModelMessage]:
    return ModelMessagesTypeAdapter.validate_python(turn.messages)


def build_examples(trace: SessionTrace, report: CurateReport | None = None) -> list[Example]:
    """Positive and negative examples of one session (see the module docstring for the rules)."""
    report = report if report is not None else CurateReport()
    report.sessions += 1
    report.turns += len(trace.turns)
    if trace.header is None:
        report.dropped["session without header"] += len(trace.turns)
        return []
    header = trace.header
    instructions = header.instructions
    examples: list[Example] = []
    history: list[ModelMessage] = []
    clean = True  # every earlier turn was validated, so it may stand as context
    verdicts: list[str | None] = []
    turn_messages: list[list[ModelMessage]] = []
    for turn in trace.turns:
        messages = _messages(turn)
        turn_messages.append(messages)
        verdict = turn_verdict(turn, trace.signals_for(turn.turn))
        verdicts.append(verdict)
        if turn.history_len != len(history) or not clean:
            history = []  # a lost turn or a rejected one: this turn stands alone
        context = to_chat_messages(history, instructions=instructions) if history else []
        chat = to_chat_messages([*history, *messages], instructions=instructions)
        start = len(context) if context else int(bool(chat) and chat[0]["role"] == "system")
        if verdict is None:
            ratings = [s.rating for s in trace.signals_for(turn.turn) if s.rating is not None]
            examples.append(
                Example(
                    id=content_id(chat),
                    kind="positive",
                    project=slug(header.project),
                    feature=slug(header.feature),
                    session_id=header.session_id,
                    turn=turn.turn,
                    tool=_primary_tool(turn),
                    rating=ratings[-1] if ratings else None,
                    turn_start=start,
                    messages=[dict(m) for m in chat],
                    tools=header.tools,
                )
            )
            report.positive += 1
        else:
            report.dropped[verdict] += 1
        history = [*history, *messages]
        clean = verdict is None
    for index, turn in enumerate(trace.turns):
        corrections = [s for s in trace.signals_for(turn.turn) if s.kind == "correct" and s.text]
        if not corrections:
            continue
        if index + 1 >= len(trace.turns) or verdicts[index + 1] is not None:
            report.corrections_without_fix += 1
            continue
        fix = trace.turns[index + 1]
        mistake = to_chat_messages(turn_messages[index], instructions=instructions)
        fixed = to_chat_messages(turn_messages[index + 1])
        text = "\n".join(s.text for s in corrections)
        if fixed and fixed[0]["role"] == "user":
            prompt = fixed[0]["content"]
            content = text if not prompt or prompt in text else f"{text}\n\n{prompt}"
            fixed[0] = ChatMessage(role="user", content=content)
        else:
            fixed.insert(0, ChatMessage(role="user", content=text))
        chat = [*mistake, *fixed]
        examples.append(
            Example(
                id=content_id(chat),
                kind="negative",
                project=slug(header.project),
                feature=slug(header.feature),
                session_id=header.session_id,
                turn=fix.turn,
                tool=_primary_tool(fix),
                turn_start=len(mistake),
                messages=[dict(m) for m in chat],
                tools=header.tools,
            )
        )
        report.negative += 1
    return examples


def example_text(example: Example) -> str:
    """The text of the taught turn only (its prompt, answers and tool calls), for near-duplicate checks."""
    return "\n".join(m.get("content", "") for m in example.messages[example.turn_start :])


def _priority(example: Example) -> tuple[int, str, int]:
    return (example.rating or 0, example.session_id, example.turn)


def dedupe_examples(
    examples: Sequence[Example], *, threshold: float = 0.8
) -> tuple[list[Example], list[Example]]:
    """Drop exact and near-duplicate examples of the same kind, keeping the best of each group.

    A negative example and the positive example of its fixing turn share most of their text on purpose;
    they are compared only with examples of their own kind.

    Returns:
        `(kept, dropped)`, `kept` in the original order.
    """
    keep: set[int] = set()
    for kind in ("positive", "negative"):
        indices = [i for i, e in enumerate(examples) if e.kind == kind]
        groups = near_duplicate_groups([example_text(examples[i]) for i in indices], threshold=threshold)
        for group in groups:
            keep.add(max((indices[g] for g in group), key=lambda i: _priority(examples[i])))
    kept = [e for i, e in enumerate(examples) if i in keep]
    dropped = [e for i, e in enumerate(examples) if i not in keep]
    return kept, dropped


def balance(
    examples: Sequence[Example], *, max_per_tool: int | None = None, factor: float = 2.0, minimum: int = 5
) -> tuple[list[Example], list[Example]]:
    """Cap the examples per tool so that no tool dominates the dataset.

    Args:
        examples: the examples.
        max_per_tool: the cap; by default `max(minimum, ceil(factor × median count per tool))`.
        factor: see `max_per_tool`.
        minimum: see `max_per_tool`.

    Returns:
        `(kept, dropped)`; the best-rated and most recent examples of a tool are kept.
    """
    by_tool: dict[str, list[int]] = {}
    for index, example in enumerate(examples):
        by_tool.setdefault(example.tool, []).append(index)
    if not by_tool:
        return [], []
    cap = max_per_tool
    if cap is None:
        cap = max(minimum, math.ceil(factor * statistics.median(len(v) for v in by_tool.values())))
    keep: set[int] = set()
    for indices in by_tool.values():
        ranked = sorted(indices, key=lambda i: _priority(examples[i]), reverse=True)
        keep.update(ranked[:cap])
    return [e for i, e in enumerate(examples) if i in keep], [
        e for i, e in enumerate(examples) if i not in keep
    ]


def curate(
    traces: Iterable[SessionTrace],
    *,
    threshold: float = 0.8,
    max_per_tool: int | None = None,
) -> tuple[list[Example], CurateReport]:
    """Curate sessions automatically: validated turns, negative examples, deduplicated, balanced."""
    report = CurateReport()
    examples: list[Example] = []
    for trace in traces:
        examples.extend(build_examples(trace, report))
    kept, duplicates = dedupe_examples(examples, threshold=threshold)
    if duplicates:
        report.dropped["near-duplicate"] += len(duplicates)
    kept, surplus = balance(kept, max_per_tool=max_per_tool)
    if surplus:
        report.dropped["over the per-tool cap"] += len(surplus)
    return kept, report


def curated_path(home: Path, project: str, feature: str) -> Path:
    """`PUNIE_HOME/datasets/<project>/<feature>/curated.jsonl`."""
    return home / DATASETS / slug(project) / slug(feature) / "curated.jsonl"


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(Example)


def write_curated(path: Path, examples: Sequence[Example]) -> None:
    """Replace a curated dataset atomically (written to a temporary file, synced, renamed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".jsonl.tmp")
    with temporary.open("wb") as handle:
        for example in examples:
            handle.write(_encoder.encode(example) + b"\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def read_curated(path: Path) -> list[Example]:
    """Read a curated dataset (unreadable lines are skipped with a `TraceWarning`)."""
    examples: list[Example] = []
    try:
        lines = path.read_bytes().splitlines()
    except OSError as exc:
        warnings.warn(f"cannot read `{path}`: {exc.strerror}", TraceWarning, stacklevel=2)
        return examples
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            examples.append(_decoder.decode(line))
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            warnings.warn(f"`{path}` line {number} skipped: {exc}", TraceWarning, stacklevel=2)
    return examples
