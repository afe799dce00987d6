"""punie-tiny's training loop on the real model: the split forward pass and the model-turn targets."""

from __future__ import annotations

import json
from typing import Any

import mlx.core as mx
import pytest

from punie_lsp.models.tiny import render_gemma_chat
from punie_lsp.models.tiny.lora import Example, bottom_then_top, build_examples, with_frozen_inputs
from punie_lsp.models.tiny.train import DEFAULT_DATA_DIR


def _records(count: int) -> list[dict[str, Any]]:
    lines = (DEFAULT_DATA_DIR / "train.jsonl").read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    with_retry = next(r for r in records if sum(m["role"] == "assistant" for m in r["messages"]) > 2)
    return [*records[: count - 1], with_retry]


@pytest.mark.parametrize("split", [0, 9, 17])
def test_bottom_then_top_is_the_models_own_forward_pass(mlx_tiny: tuple[Any, Any], split: int) -> None:
    """Frozen layers first, LoRA layers after: exactly the model's hidden states (600 tokens > window)."""
    model, _ = mlx_tiny
    inputs = mx.random.randint(0, 20_000, (2, 600), key=mx.random.key(split))
    assert mx.array_equal(bottom_then_top(model, inputs, split), model.model(inputs)).item()


def test_targets_are_exactly_the_model_turns(mlx_tiny: tuple[Any, Any]) -> None:
    """The trained tokens spell the assistant messages (each closed by `<end_of_turn>`), nothing else."""
    _, tokenizer = mlx_tiny
    records = _records(4)
    examples = build_examples(records, tokenizer._tokenizer, max_seq_length=4096)
    assert len(examples) == len(records)
    for record, example in zip(records, examples, strict=True):
        text = render_gemma_chat(record["messages"], tools=record["tools"], add_generation_prompt=False)
        assert example.tokens == tokenizer.encode(text, add_special_tokens=False)
        trained = [example.tokens[i + 1] for i, flag in enumerate(example.targets) if flag]
        expected = "".join(
            f"{m['content']}<end_of_turn>" for m in record["messages"] if m["role"] == "assistant"
        )
        assert tokenizer.decode(trained) == expected
        assert 0 < example.trained < len(example.tokens) / 2


def test_truncation_and_records_without_a_model_turn(mlx_tiny: tuple[Any, Any]) -> None:
    """`max_seq_length` cuts records; one left with no model token to train is dropped."""
    _, tokenizer = mlx_tiny
    record = _records(1)[0]
    [cut] = build_examples([record], tokenizer._tokenizer, max_seq_length=600)
    assert len(cut.tokens) == 600
    assert build_examples([record], tokenizer._tokenizer, max_seq_length=20) == []


def test_frozen_inputs_feed_the_top_layers(mlx_tiny: tuple[Any, Any]) -> None:
    """The stored hidden states, run through the top layers, give the full model's output."""
    model, _ = mlx_tiny
    tokens = list(range(1000, 1100))
    [example] = with_frozen_inputs(model, [Example(tokens=tokens, targets=[True] * 100)], split=12)
    assert example.frozen is not None and example.frozen.shape == (1, 99, 640)
    from punie_lsp.models.tiny.lora import run_layers

    top = model.model.norm(run_layers(model, example.frozen, 12, 18))
    assert mx.allclose(top, model.model(mx.array([tokens[:-1]])), atol=1e-5).item()
