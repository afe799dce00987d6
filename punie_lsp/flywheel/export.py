"""Export: curated examples become mlx-lm chat JSONL (`train`/`valid`/`test`), and the trained ledger.

Each line is `{"messages": [...], "tools": [...]}`: the chat messages exactly as the runtime renders them
(`to_chat_messages`, recorded at capture time with the system prompt in force) and the tool definitions
the model was served (`chat_tools`). mlx-lm's `ChatDataset` passes both to the tokenizer's chat template,
which for Punie's models is `PUNIE_CHAT_TEMPLATE`, the Jinja twin of the runtime renderer, so the model
is trained on the very text it is later served.

`PUNIE_HOME/trained.json` is the ledger: the content hash of every example already exported for
training, with where it came from and which export took it. Export leaves out ledgered examples unless
asked (`include_trained`), so nothing is trained on twice.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec

from punie_lsp.flywheel.curate import DATASETS, Example, dedupe_examples

__all__ = ("LEDGER", "ExportResult", "Ledger", "LedgerEntry", "export_examples", "split_examples")

LEDGER = "trained.json"
"""The ledger file inside `PUNIE_HOME`."""


class LedgerEntry(msgspec.Struct, kw_only=True):
    """One example already used for training."""

    source: str
    """`project/feature/session#turn`."""
    export: str
    """The export that took it."""
    at: str
    """ISO 8601 UTC."""


class _LedgerFile(msgspec.Struct, kw_only=True):
    schema_version: int = 1
    entries: dict[str, LedgerEntry] = msgspec.field(default_factory=dict)


class Ledger:
    """`PUNIE_HOME/trained.json`: content hashes of examples already trained on.

    Args:
        home: `PUNIE_HOME`.
    """

    def __init__(self, home: Path) -> None:
        self.path = home / LEDGER
        self.entries: dict[str, LedgerEntry] = {}
        if self.path.exists():
            try:
                self.entries = msgspec.json.decode(self.path.read_bytes(), type=_LedgerFile).entries
            except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                raise ValueError(f"`{self.path}` is not a Punie ledger ({exc}); fix or move it away") from exc

    def __contains__(self, content_hash: object) -> bool:
        return content_hash in self.entries

    def __len__(self) -> int:
        return len(self.entries)

    def add(self, examples: Iterable[Example], *, export: str) -> None:
        """Record examples as trained by `export`."""
        at = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        for example in examples:
            self.entries.setdefault(example.id, LedgerEntry(source=example.source, export=export, at=at))

    def save(self) -> None:
        """Write the ledger atomically (sorted, indented, so git diffs read well)."""
        data = msgspec.json.format(
            msgspec.json.encode(_LedgerFile(entries=dict(sorted(self.entries.items()))))
        )
        temporary = self.path.with_suffix(".json.tmp")
        temporary.write_bytes(data + b"\n")
        os.replace(temporary, self.path)


def split_examples(
    examples: Sequence[Example], *, valid: float = 0.1, test: float = 0.1
) -> dict[str, list[Example]]:
    """Split deterministically by content hash (an example always lands in the same split).

    With at least 2 examples `valid` is never empty, and with at least 3 `test` is never empty (mlx-lm
    needs a validation set to train).
    """
    splits: dict[str, list[Example]] = {"train": [], "valid": [], "test": []}
    for example in sorted(examples, key=lambda e: e.id):
        bucket = int(example.id[:8], 16) / 0xFFFFFFFF
        name = "test" if bucket < test else "valid" if bucket < test + valid else "train"
        splits[name].append(example)
    total = len(examples)
    if not splits["valid"] and total >= 2:
        donor = "test" if splits["test"] and (total < 3 or len(splits["test"]) > 1) else "train"
        if len(splits[donor]) > (1 if donor == "train" else 0):
            splits["valid"].append(splits[donor].pop())
    if not splits["test"] and total >= 3:
        donor = "train" if len(splits["train"]) > 1 else "valid"
        if len(splits[donor]) > 1:
            splits["test"].append(splits[donor].pop())
    return splits


@dataclass(kw_only=True)
class ExportResult:
    """What an export wrote."""

    out: Path
    """The folder with `train.jsonl`, `valid.jsonl`, `test.jsonl` and `manifest.json`."""
    counts: dict[str, int] = field(default_factory=dict)
    """Examples per split."""
    already_trained: int = 0
    """Examples left out because the ledger has them."""
    duplicates: int = 0
    """Near-duplicates across features left out."""
    examples: list[Example] = field(default_factory=list)
    """Everything written."""


def _line(example: Example) -> bytes:
    record: dict[str, Any] = {"messages": example.messages}
    if example.tools:
        record["tools"] = example.tools
    return json.dumps(record, ensure_ascii=False).encode() + b"\n"


def export_examples(
    examples: Sequence[Example],
    *,
    home: Path,
    out: Path | None = None,
    include_trained: bool = False,
    record: bool = True,
    valid: float = 0.1,
    test: float = 0.1,
    threshold: float = 0.8,
) -> ExportResult:
    """Write examples as mlx-lm chat JSONL and (unless `record=False`) add them to the ledger.

    Args:
        examples: curated examples (of one or many features).
        home: `PUNIE_HOME`.
        out: the output folder (default `PUNIE_HOME/datasets/exports/<timestamp>`).
        include_trained: export examples the ledger already has, too.
        record: add the exported examples to the ledger.
        valid: share of examples for validation.
        test: share of examples for test.
        threshold: near-duplicate similarity across the selected examples.
    """
    name = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = out if out is not None else home / DATASETS / "exports" / name
    ledger = Ledger(home)
    unique: dict[str, Example] = {}
    for example in examples:
        unique.setdefault(example.id, example)
    fresh = [e for e in unique.values() if include_trained or e.id not in ledger]
    kept, dropped = dedupe_examples(fresh, threshold=threshold)
    result = ExportResult(out=out, already_trained=len(unique) - len(fresh), duplicates=len(dropped))
    splits = split_examples(kept, valid=valid, test=test)
    out.mkdir(parents=True, exist_ok=True)
    for split, items in splits.items():
        (out / f"{split}.jsonl").write_bytes(b"".join(_line(e) for e in items))
        result.counts[split] = len(items)
    manifest = {
        "export": out.name,
        "counts": result.counts,
        "already_trained": result.already_trained,
        "duplicates": result.duplicates,
        "format": "mlx-lm chat JSONL: {messages, tools}; train with the model's Punie chat template",
        "examples": {split: [e.source for e in items] for split, items in splits.items()},
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    result.examples = kept
    if record and kept:
        ledger.add(kept, export=out.name)
        ledger.save()
    return result
