"""LoRA seconds per iteration for punie-tiny on this CPU (OpenBLAS preloaded, `train_tiny`'s defaults).

Installs punie-tiny into a temporary PUNIE_HOME (or uses `--home`), trains a few iterations on the seed
set with the default layers and sequence length, fuses, and prints seconds per iteration and the peak
RSS of the training child (`ru_maxrss` of the children).

    uv run --frozen python -m benchmarks.tiny_train [--iters 4] [--home DIR]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
from pathlib import Path

from punie_lsp.models.tiny import install_punie_tiny
from punie_lsp.models.tiny.train import TrainProgress, train_tiny


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iters", type=int, default=4)
    parser.add_argument(
        "--home", type=Path, default=None, help="a PUNIE_HOME with punie-tiny (else a temp one)"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="punie-bench-") as scratch:
        home = args.home or Path(scratch)
        install_punie_tiny(home)

        def report(event: TrainProgress) -> None:
            if event.stage == "train":
                print(
                    f"iter {event.iteration}/{event.iters}: loss {event.train_loss:.3f}, "
                    f"{event.seconds_per_iteration:.2f} s/iter, {event.tokens_per_second:.0f} tok/s",
                    file=sys.stderr,
                )

        summary = train_tiny(
            home, iters=args.iters, val_batches=1, out_dir=Path(scratch) / "tuned", progress=report
        )
    rss_gb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1e6
    print(f"BLAS: {summary.blas or 'reference (none preloaded)'}")
    print(
        f"settings: batch {summary.batch_size}, {summary.num_layers} LoRA layers, "
        f"max_seq_length {summary.max_seq_length}, {summary.iters} iterations"
    )
    print(f"tokens per iteration: {summary.trained_tokens / summary.iters:.0f}")
    print(f"first iteration: {summary.first_iteration_seconds:.2f} s")
    print(f"seconds per iteration (after the first): {summary.seconds_per_iteration:.2f}")
    print(f"train loss: {' '.join(f'{loss:.3f}' for loss in summary.train_losses)}")
    print(
        f"train {summary.train_seconds:.1f} s, fuse {summary.fuse_seconds:.1f} s, total {summary.seconds:.1f} s"
    )
    print(f"MLX peak memory {summary.peak_memory_gb:.2f} GB, peak child RSS {rss_gb:.2f} GB")


if __name__ == "__main__":
    main()
