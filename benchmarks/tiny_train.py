"""punie-tiny LoRA cost per record: mlx-lm's loss against Punie's loop, side by side on the same records.

Both train LoRA (rank 8) on the top `--layers` layers of the same model, in one process, on the same seed
records (batch 1, interleaved so machine noise hits both alike):

* **mlx-lm**: what `mlx_lm.lora` computes: the whole model forward, logits for every position over the
  262,144-token vocabulary, the loss on every token (its default; `--mask-prompt` would keep only the last
  message);
* **punie**: `punie_lsp.models.tiny.lora`: the frozen layers' outputs computed once per record (reported
  separately: paid once per run, not per epoch), then per step only the LoRA layers, and the tied LM head
  only at the positions whose next token is in a model turn.

    uv run python -m benchmarks.tiny_train [--records 8] [--layers 6] [--home DIR]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from punie_lsp.models import punie_tiny_dir
from punie_lsp.models.tiny import enable_fast_blas, install_punie_tiny, is_installed
from punie_lsp.models.tiny.train import DEFAULT_DATA_DIR


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=8, help="seed records timed (batch 1)")
    parser.add_argument("--layers", type=int, default=6, help="top layers with LoRA")
    parser.add_argument(
        "--home", type=Path, default=None, help="a PUNIE_HOME with punie-tiny (else a temp one)"
    )
    args = parser.parse_args(argv)
    blas = enable_fast_blas()
    import mlx.core as mx
    import mlx.nn as nn
    import mlx.optimizers as optim
    from mlx_lm import load
    from mlx_lm.tuner.utils import linear_to_lora_layers

    from punie_lsp.models.tiny import lora

    with tempfile.TemporaryDirectory(prefix="punie-bench-") as scratch:
        home = args.home or Path(scratch)
        if not is_installed(punie_tiny_dir(home)):
            install_punie_tiny(home)
        loaded: tuple[Any, ...] = load(str(punie_tiny_dir(home)))
    model, tokenizer = loaded[0], loaded[1]
    lines = (DEFAULT_DATA_DIR / "train.jsonl").read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines[: args.records]]
    examples = lora.build_examples(records, tokenizer._tokenizer, max_seq_length=4096)
    split = len(model.model.layers) - args.layers
    model.freeze()
    linear_to_lora_layers(model, args.layers, {"rank": 8, "scale": 20.0, "dropout": 0.0})
    optimizer = optim.Adam(learning_rate=1e-5)

    def mlx_lm_loss(model: Any, inputs: mx.array, targets: mx.array) -> mx.array:
        return nn.losses.cross_entropy(model(inputs), targets, reduction="mean")

    full_step = nn.value_and_grad(model, mlx_lm_loss)
    punie_step = nn.value_and_grad(model, lora.model_turn_loss)
    timings: dict[str, list[float]] = {"mlx-lm": [], "punie": [], "punie once": []}
    for number, example in enumerate(examples):
        inputs, targets = mx.array([example.tokens[:-1]]), mx.array([example.tokens[1:]])
        index = mx.array([i for i, flag in enumerate(example.targets[:-1]) if flag])
        started = time.perf_counter()
        frozen = lora.run_layers(model, lora.embed(model, inputs), 0, split)
        mx.eval(frozen)
        once = time.perf_counter() - started
        for name, step, step_args in (
            ("mlx-lm", full_step, (inputs, targets)),
            ("punie", punie_step, (frozen, targets, index, split)),
        ):
            started = time.perf_counter()
            loss, grads = step(model, *step_args)
            optimizer.update(model, grads)
            mx.eval(loss, model.parameters(), optimizer.state)
            if number:  # the first record warms up
                timings[name].append(time.perf_counter() - started)
        if number:
            timings["punie once"].append(once)
    tokens = statistics.mean(len(e.tokens) for e in examples[1:])
    full, punie, once = (statistics.median(timings[name]) for name in ("mlx-lm", "punie", "punie once"))
    print(f"BLAS: {blas.detail}")
    print(f"{len(examples) - 1} records timed (after one warm-up), {tokens:.0f} tokens each on average")
    print(f"LoRA on the top {args.layers} of {len(model.model.layers)} layers, batch 1")
    print(f"mlx-lm loss (all positions, full vocabulary): {full:.2f} s per record step")
    print(f"punie loop: {punie:.2f} s per record step + {once:.2f} s once per record (frozen layers)")
    print(f"per step: punie/mlx-lm = {punie / full:.2f} ({full / punie:.1f}x faster)")
    for epochs in (1, 2):
        print(
            f"{epochs} epoch(s) of 385 records: mlx-lm {385 * epochs * full / 60:.1f} min, "
            f"punie {385 * (epochs * punie + once) / 60:.1f} min"
        )


if __name__ == "__main__":
    main()
