"""Export: mlx-lm's own loader reads it in exactly the runtime format; the ledger; store-wide dedupe."""

from __future__ import annotations

import json
import subprocess
import types
from pathlib import Path

import msgspec
import pytest
from mlx_lm.tuner.datasets import ChatDataset, load_local_dataset
from pydantic_ai.messages import ModelMessagesTypeAdapter
from transformers import AutoTokenizer
from typer.testing import CliRunner

from punie_lsp.flywheel.cli import app
from punie_lsp.flywheel.curate import curate, curated_path, read_curated, write_curated
from punie_lsp.flywheel.export import Ledger, export_examples, split_examples
from punie_lsp.flywheel.schema import TurnRecord
from punie_lsp.flywheel.store import TraceStore, append_records
from punie_lsp.flywheel.synthetic import synthetic_session
from punie_lsp.models.chat_format import render_chat, to_chat_messages
from tests.models.tiny_model import TEXT_SCRIPT, build_tiny_model

runner = CliRunner()


def _store(home: Path, sessions: int = 4, turns: int = 3, feature: str = "main") -> TraceStore:
    store = TraceStore(home)
    for index in range(sessions):
        records = synthetic_session(f"{feature}-{index}", turns=turns, seed=index, feature=feature)
        append_records(store.session_path("shop", feature, records[0].session_id), records)
    return store


@pytest.fixture(scope="module")
def tokenizer_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny model whose tokenizer carries Punie's chat template (built offline, as the models tests do)."""
    return build_tiny_model(tmp_path_factory.mktemp("tok") / "tiny", script=TEXT_SCRIPT)


def test_export_loads_through_mlx_lm_in_the_runtime_format(tmp_path: Path, tokenizer_dir: Path) -> None:
    """mlx-lm's `load_local_dataset` reads every split, and each example tokenizes to the runtime prompt."""
    store = _store(tmp_path)
    examples, _ = curate(store.load_all())
    result = export_examples(examples, home=tmp_path, out=tmp_path / "out")
    assert sum(result.counts.values()) == len(examples) == 12
    assert result.counts["valid"] > 0 and result.counts["test"] > 0
    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    assert tokenizer is not None
    # mlx-lm annotates a slow `PreTrainedTokenizer`; it only calls `apply_chat_template`, which this has
    config = types.SimpleNamespace()
    train, valid, test = load_local_dataset(tmp_path / "out", tokenizer, config)  # ty: ignore[invalid-argument-type]
    assert isinstance(train, ChatDataset) and len(train) + len(valid) + len(test) == 12
    for dataset in (train, valid, test):
        for index in range(len(dataset)):
            item = dataset[index]
            tokens, offset = dataset.process(item)
            assert offset == 0
            expected = render_chat(item["messages"], tools=item["tools"], add_generation_prompt=False)
            assert tokenizer.decode(tokens) == expected
    first = json.loads((tmp_path / "out" / "train.jsonl").read_text().splitlines()[0])
    assert set(first) == {"messages", "tools"} and first["tools"][0]["function"]["name"] == "run_code"
    example = next(e for e in examples if e.messages == first["messages"])
    ref = store.find(example.session_id)
    assert ref is not None
    trace = store.load(ref)
    turns: list[TurnRecord] = [t for t in trace.turns if t.turn <= example.turn]
    history = ModelMessagesTypeAdapter.validate_python([m for t in turns for m in t.messages])
    assert trace.header is not None
    assert first["messages"] == to_chat_messages(history, instructions=trace.header.instructions)


def test_ledger_keeps_trained_examples_out(tmp_path: Path) -> None:
    """A second export leaves out what the first took, unless asked; `--no-record` leaves the ledger alone."""
    _store(tmp_path, sessions=3)
    first = runner.invoke(app, ["export", "--home", str(tmp_path), "--out", str(tmp_path / "e1")])
    assert first.exit_code == 0, first.output
    assert "9 example(s)" in first.output and "shop/main was never curated" in first.output
    assert len(Ledger(tmp_path)) == 9
    second = runner.invoke(app, ["export", "--home", str(tmp_path), "--out", str(tmp_path / "e2")])
    assert "0 example(s)" in second.output and "9 already trained" in second.output
    again = runner.invoke(
        app,
        [
            "export",
            "--include-trained",
            "--no-record",
            "--home",
            str(tmp_path),
            "--out",
            str(tmp_path / "e3"),
        ],
    )
    assert "9 example(s)" in again.output
    ledger = json.loads((tmp_path / "trained.json").read_text())
    assert len(ledger["entries"]) == 9
    assert {entry["export"] for entry in ledger["entries"].values()} == {"e1"}
    log = subprocess.run(["git", "log", "--format=%s"], cwd=tmp_path, capture_output=True, text=True).stdout
    assert "export: e1" in log


def test_dedupe_across_the_whole_store(tmp_path: Path) -> None:
    """The same examples curated under two features are kept once, store-wide."""
    _store(tmp_path, sessions=2, feature="main")
    examples, _ = curate(TraceStore(tmp_path).load_all("shop", "main"))
    write_curated(curated_path(tmp_path, "shop", "main"), examples)
    copies = [
        msgspec.structs.replace(e, feature="login", session_id=e.session_id + "-copy") for e in examples
    ]
    write_curated(curated_path(tmp_path, "shop", "login"), copies)
    dry = runner.invoke(app, ["dedupe", "--dry-run", "--home", str(tmp_path)])
    assert f"{len(examples)} near-duplicate(s)" in dry.output
    result = runner.invoke(app, ["dedupe", "--home", str(tmp_path)])
    assert result.exit_code == 0, result.output
    remaining = read_curated(curated_path(tmp_path, "shop", "main")) + read_curated(
        curated_path(tmp_path, "shop", "login")
    )
    assert len(remaining) == len(examples)
    assert sorted(e.id for e in remaining) == sorted(e.id for e in examples)


def test_split_is_deterministic_and_never_leaves_valid_empty(tmp_path: Path) -> None:
    """The same examples always land in the same splits, and two examples already give a valid set."""
    _store(tmp_path, sessions=1, turns=2)
    examples, _ = curate(TraceStore(tmp_path).load_all())
    splits = split_examples(examples)
    assert len(splits["valid"]) == 1 and len(splits["train"]) == 1
    assert split_examples(list(reversed(examples))) == splits
