"""punie-tiny's prefill and decode speed on this CPU, per BLAS, side by side (one child process each).

Run: `uv run python -m benchmarks.tiny_inference [--punie-home DIR] [--prompt-tokens 224] [--decode-tokens 64]`.
Installs punie-tiny first if that home has none (about 30 s). Each variant loads the model in a fresh
process, because the BLAS is chosen when MLX is first loaded:

* `reference`: MLX's bundled reference BLAS (`PUNIE_BLAS=off`);
* `LD_PRELOAD`: OpenBLAS preloaded by the environment (`fast_blas_env`, as for child processes);
* `in-process`: Punie's default, `enable_fast_blas()` before MLX is imported (what `resolve_model` does).

Greedy decoding of the converted base model in float32; prefill is the time to the first new token of a
`--prompt-tokens` prompt, decode the rate of the following tokens.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from punie_lsp.config import default_punie_home
from punie_lsp.models.tiny import BLAS_ENV, fast_blas_env, find_fast_blas, install_punie_tiny
from punie_lsp.models.tiny.progress import rich_progress

TEXT = (
    "The Eiffel Tower is a wrought-iron lattice tower on the Champ de Mars in Paris, France. It is named "
    "after the engineer Gustave Eiffel, whose company designed and built the tower from 1887 to 1889.\n\n"
    "def fibonacci(n: int) -> list[int]:\n    values = [0, 1]\n    while len(values) < n:\n"
    "        values.append(values[-1] + values[-2])\n    return values[:n]\n\n"
)
REFERENCE_FIGURES = (
    "reference figures (not measured here; /work/shared/reference/gemma_mlx.md, another 2-core machine):\n"
    "  MLX f32 reference BLAS 11.6 prefill / 4.3 decode tok/s; MLX f32 + OpenBLAS 293 / 9.6;\n"
    "  llama.cpp (llama-cpp-python 0.3.36, same Q4_K_M GGUF, 2 threads) 564-584 / 68-74 tok/s, RSS 400 MB"
)

CHILD = """
import json, resource, sys, time
mode, model_dir, prompt_tokens, decode_tokens, text = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
blas = None
if mode == "in-process":
    from punie_lsp.models.tiny import enable_fast_blas
    blas = enable_fast_blas().detail
import mlx.core as mx
import mlx_lm
from mlx_lm.generate import generate_step
from mlx_lm.sample_utils import make_sampler
started = time.perf_counter()
model, tokenizer = mlx_lm.load(model_dir)
load = time.perf_counter() - started
ids = tokenizer.encode(text * 64)[:prompt_tokens]
greedy = make_sampler(temp=0.0)
for _ in generate_step(mx.array(ids[:8]), model, max_tokens=4, sampler=greedy):
    pass  # warm-up
steps = generate_step(mx.array(ids), model, max_tokens=decode_tokens, sampler=greedy)
begin = time.perf_counter()
next(steps)
first = time.perf_counter()
count = sum(1 for _ in steps)
end = time.perf_counter()
print(json.dumps({
    "load_s": load,
    "prefill_tps": len(ids) / (first - begin),
    "decode_tps": count / (end - first),
    "peak_gb": mx.get_peak_memory() / 1e9,
    "rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6,
    "blas": blas,
}))
"""


def _run(mode: str, model_dir: Path, prompt_tokens: int, decode_tokens: int) -> dict[str, float] | str:
    base = {k: v for k, v in os.environ.items() if k not in (BLAS_ENV, "LD_PRELOAD")}
    if mode == "reference":
        env = {**base, BLAS_ENV: "off"}
    elif mode == "LD_PRELOAD":
        env = fast_blas_env(base)
    else:
        env = base
    args = [sys.executable, "-c", CHILD, mode, str(model_dir), str(prompt_tokens), str(decode_tokens), TEXT]
    proc = subprocess.run(args, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        return proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"exit {proc.returncode}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> int:
    """Measure each BLAS variant and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--punie-home", type=Path, default=None, help="PUNIE_HOME (default: ~/.punie)")
    parser.add_argument("--prompt-tokens", type=int, default=224)
    parser.add_argument("--decode-tokens", type=int, default=64)
    options = parser.parse_args()
    home = options.punie_home or default_punie_home()
    with rich_progress() as progress:
        model_dir = install_punie_tiny(home, progress=progress)  # at once when it is installed
    fast, why = find_fast_blas({})
    modes = ["reference", "LD_PRELOAD", "in-process"] if fast else ["reference"]
    print(f"punie-tiny ({model_dir}), f32, {os.cpu_count()} CPUs; fast BLAS: {fast or why}")
    print(f"prompt {options.prompt_tokens} tokens, decode {options.decode_tokens} tokens, greedy")
    print(
        f"{'BLAS':<12} {'prefill tok/s':>14} {'decode tok/s':>13} {'load s':>7} {'MLX peak GB':>12} {'RSS GB':>7}"
    )
    for mode in modes:
        result = _run(mode, model_dir, options.prompt_tokens, options.decode_tokens)
        if isinstance(result, str):
            print(f"{mode:<12} failed: {result}")
            continue
        print(
            f"{mode:<12} {result['prefill_tps']:>14.1f} {result['decode_tps']:>13.1f} {result['load_s']:>7.1f} "
            f"{result['peak_gb']:>12.2f} {result['rss_gb']:>7.2f}"
        )
    print(REFERENCE_FIGURES)
    return 0


if __name__ == "__main__":
    sys.exit(main())
