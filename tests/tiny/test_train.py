"""`train_tiny`: a short real LoRA run on punie-tiny through fuse to a model that loads and answers.

One run (3 iterations of 2 records, 1 LoRA layer, a handful of seed records) is shared by the tests of
this module; it takes about 40 s on two cores, on top of the session's punie-tiny install.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from pydantic_ai.messages import ModelRequest, UserPromptPart
from pydantic_ai.models import ModelRequestParameters

from punie_lsp.models import MLXModel, resolve_model
from punie_lsp.models.tiny import (
    PUNIE_GEMMA_CHAT_TEMPLATE,
    is_installed,
    read_install_record,
    render_gemma_chat,
)
from punie_lsp.models.tiny.train import DEFAULT_DATA_DIR, TrainError, TrainProgress, TrainSummary, train_tiny

pytestmark = pytest.mark.slow

ITERS = 3


@pytest.fixture(scope="module")
def trained(
    tiny_home: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[TrainSummary, list[TrainProgress]]:
    """A short run on 4 train and 2 valid seed records, fused into a temporary directory."""
    data = tmp_path_factory.mktemp("seed-subset")
    for split, count in (("train", 4), ("valid", 2)):
        lines = (DEFAULT_DATA_DIR / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()[:count]
        (data / f"{split}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    events: list[TrainProgress] = []
    summary = train_tiny(
        tiny_home,
        data_dir=data,
        iters=ITERS,
        batch_size=2,
        num_layers=1,
        max_seq_length=1024,
        val_batches=1,
        out_dir=tmp_path_factory.mktemp("out") / "tuned",
        progress=events.append,
    )
    return summary, events


def test_run_reports_progress_and_a_summary(trained: tuple[TrainSummary, list[TrainProgress]]) -> None:
    """Every iteration reports its loss and time; validation runs before and after; the summary adds up."""
    summary, events = trained
    stages = [event.stage for event in events]
    assert stages[0] == "load" and stages[-2:] == ["fuse", "finish"]
    assert stages[stages.index("prepare") + 1] == "valid" and set(stages[1 : stages.index("prepare")]) <= {
        "preparing"
    }
    train = [event for event in events if event.stage == "train"]
    assert [event.iteration for event in train] == list(range(1, ITERS + 1))
    assert all(event.seconds_per_iteration and event.seconds_per_iteration > 0 for event in train)
    assert summary.train_losses == tuple(event.train_loss for event in train)
    assert all(0 < loss < 20 for loss in summary.train_losses)
    assert [iteration for iteration, _ in summary.valid_losses] == [0, ITERS]
    assert summary.prepare_seconds > 0 and summary.batch_size == 2 and summary.num_layers == 1
    assert summary.train_examples == 4 and summary.valid_examples == 2 and summary.trained_tokens > 0
    assert 0 < summary.seconds_per_iteration < summary.seconds and summary.peak_memory_gb > 0
    json.dumps(summary.to_dict())


def test_fused_model_is_installed_with_punies_template(
    trained: tuple[TrainSummary, list[TrainProgress]], tiny_dir: Path
) -> None:
    """The fused directory is marked installed, keeps the base tokenizer files, and has the adapter."""
    summary, _ = trained
    model_dir = summary.model_dir
    assert is_installed(model_dir)
    record = read_install_record(model_dir)
    assert record is not None and record["training"]["iters"] == ITERS
    for name in ("tokenizer.json", "tokenizer_config.json"):
        assert (model_dir / name).read_bytes() == (tiny_dir / name).read_bytes()
    assert not (model_dir / "chat_template.jinja").exists()
    config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    assert 106 in config["eos_token_id"]
    assert (summary.adapter_dir / "adapters.safetensors").is_file()
    assert not list(model_dir.parent.glob(f".{model_dir.name}.partial-*"))


def test_training_renders_records_with_punies_gemma_template(
    trained: tuple[TrainSummary, list[TrainProgress]],
) -> None:
    """mlx-lm loads the fused model; its tokenizer renders a seed record as `render_gemma_chat` does."""
    from mlx_lm import load

    summary, _ = trained
    _, tokenizer = load(str(summary.model_dir))[:2]
    assert tokenizer.chat_template == PUNIE_GEMMA_CHAT_TEMPLATE
    record = json.loads((DEFAULT_DATA_DIR / "train.jsonl").read_text(encoding="utf-8").splitlines()[0])
    text = tokenizer.apply_chat_template(record["messages"], tools=record["tools"], tokenize=False)
    assert text == render_gemma_chat(record["messages"], tools=record["tools"], add_generation_prompt=False)
    assert text.startswith("<bos><start_of_turn>user\n") and "<tool_call>" in text
    # What the trainer trains on: the same text, tokenized with a single <bos>.
    tokens = tokenizer.apply_chat_template(record["messages"], tools=record["tools"], return_dict=False)
    assert list(tokens) == tokenizer.encode(text, add_special_tokens=False) and tokens.count(2) == 1


def test_fused_model_answers_a_request(
    trained: tuple[TrainSummary, list[TrainProgress]], tiny_home: Path, allow_requests: None
) -> None:
    """`resolve_model("mlx:<dir>")` serves the fused model."""
    summary, _ = trained
    model = resolve_model(f"mlx:{summary.model_dir}", punie_home=tiny_home)
    assert isinstance(model, MLXModel)
    messages = [ModelRequest(parts=[UserPromptPart(content="Anything uncommitted?")])]
    response = asyncio.run(
        model.request(messages, {"max_tokens": 3, "temperature": 0.0}, ModelRequestParameters())
    )
    assert response.usage.output_tokens >= 1


def test_training_needs_an_install(tmp_path: Path) -> None:
    """Without punie-tiny installed, a clear error and nothing written."""
    with pytest.raises(TrainError, match="not installed"):
        train_tiny(tmp_path, iters=1)
    assert not (tmp_path / "models" / "punie-tiny-tuned").exists()


def test_the_adapter_fuses_at_load_as_mlx_lm_fuse_does(
    trained: tuple[TrainSummary, list[TrainProgress]], tiny_dir: Path
) -> None:
    """The base model plus the adapter (as `punie-tiny` loads the shipped one) is the fused model."""
    import mlx.core as mx

    summary, _ = trained
    ids = mx.array([[2, 105, 2364, 107, 3048, 563]])
    with_adapter = MLXModel(tiny_dir, adapter=summary.adapter_dir)._load_sync().model(ids)
    fused = MLXModel(summary.model_dir)._load_sync().model(ids)
    base = MLXModel(tiny_dir)._load_sync().model(ids)
    assert mx.allclose(with_adapter, fused, atol=1e-3).item()
    assert not mx.allclose(with_adapter, base, atol=1e-3).item()
