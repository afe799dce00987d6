"""punie-tiny on MLX versus llama.cpp, side by side: prefill and decode tokens/s on the same prompt sizes.

Run: `uv run python -m benchmarks.tiny_runtimes --llama-bench PATH [--prompt-tokens 256] [--decode-tokens 64]`
(`PATH` is a llama.cpp build's `llama-bench`; without it, `llama-bench` on PATH, or MLX alone).

* MLX: the installed float32 model with Punie's in-process OpenBLAS, in a fresh child process
  (`tiny_inference`'s child: prefill is the time to the first new token, decode the rate after it).
* llama.cpp: `llama-bench -t THREADS -p PROMPT -n DECODE -o json` on the package's Q4_K_M GGUF and on the
  installed model exported with `export_gguf` (Q8_0, and F16 unless `--formats` says otherwise), for each
  of `--threads` (default 1 and 2). Both are measured because on a busy machine two threads can be far
  slower than one: every graph node ends in a barrier, so one thread descheduled stalls the other.
* Correctness, once: `llama-simple` (next to `llama-bench`) continues a short prompt greedily on the
  original and on each export, and the texts are printed with their common prefix.

Build llama.cpp from source with `GGML_NATIVE=ON`, but on a CPU that reports AMX inside a VM that does
not enable it, also pass `-mno-amx-tile -mno-amx-int8 -mno-amx-bf16` in `CMAKE_C_FLAGS` and
`CMAKE_CXX_FLAGS`. Otherwise the Q4_K/Q8_0 models crash in `ggml_backend_amx_mul_mat`.

The decision target is at least 30 tok/s decode on 2 cores. The load average is printed before and after:
other jobs on the machine (training) distort every figure here.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, cast, get_args

from benchmarks.tiny_inference import _run as run_mlx
from punie_lsp.config import default_punie_home
from punie_lsp.models.tiny import install_punie_tiny
from punie_lsp.models.tiny.export_gguf import ExportDtype, export_gguf
from punie_lsp.models.tiny.progress import rich_progress
from punie_lsp.models.tiny.source import assemble_gguf

TARGET_DECODE_TPS = 30.0
CHECK_PROMPT = "The capital of France is"
CHECK_TOKENS = 24
EXPORT_FORMATS = ("q8_0", "f16")


def _load() -> str:
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def _llama_bench(
    binary: Path, model: Path, threads: int, options: argparse.Namespace
) -> dict[str, float] | str:
    """Prefill and decode tok/s of one GGUF (llama-bench's averages over its repetitions)."""
    args = [str(binary), "-m", str(model), "-t", str(threads), "-p", str(options.prompt_tokens)]
    args += ["-n", str(options.decode_tokens), "-r", str(options.repetitions), "-o", "json"]
    proc = subprocess.run(args, capture_output=True, text=True)
    if proc.returncode != 0:
        return (proc.stderr.strip().splitlines() or [f"exit {proc.returncode}"])[-1]
    rows: list[dict[str, Any]] = json.loads(proc.stdout)
    result = {"size_mb": rows[0]["model_size"] / 1e6}
    for row in rows:
        key = "prefill_tps" if row["n_prompt"] else "decode_tps"
        result[key] = float(row["avg_ts"])
        result[key.replace("tps", "sd")] = float(row["stddev_ts"])
    return result


def _continuation(binary: Path, model: Path) -> str:
    """llama-simple's greedy continuation of `CHECK_PROMPT` (its stdout is the prompt and the new text)."""
    args = [str(binary), "-m", str(model), "-n", str(CHECK_TOKENS), CHECK_PROMPT]
    proc = subprocess.run(args, capture_output=True, text=True)
    if proc.returncode != 0:
        return f"<failed: {(proc.stderr.strip().splitlines() or [f'exit {proc.returncode}'])[-1]}>"
    return proc.stdout.strip()


def _common_prefix(a: str, b: str) -> int:
    return next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))


def _ggufs(model_dir: Path, work: Path, formats: list[str]) -> dict[str, Path]:
    """The package's GGUF and the exports (reused when `work` already has them)."""
    source = work / "gemma-3-270m-q4_k_m.gguf"
    if not source.exists():
        assemble_gguf(source)
    ggufs = {"Q4_K_M (package)": source}
    for dtype in formats:
        out = work / f"punie-tiny-{dtype}.gguf"
        if not out.exists():
            export_gguf(model_dir, out, reference_gguf=source, dtype=cast(ExportDtype, dtype))
        ggufs[f"{dtype.upper()} (export)"] = out
    return ggufs


def main() -> int:
    """Measure MLX and llama.cpp, print the table, the decode ratios and the correctness check."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--llama-bench", type=Path, default=None, help="llama.cpp's llama-bench binary")
    parser.add_argument("--punie-home", type=Path, default=None, help="PUNIE_HOME (default: ~/.punie)")
    parser.add_argument("--prompt-tokens", type=int, default=256)
    parser.add_argument("--decode-tokens", type=int, default=64)
    parser.add_argument("--threads", default="1,2", help="llama.cpp thread counts, comma-separated")
    parser.add_argument("--repetitions", type=int, default=3, help="llama-bench repetitions")
    parser.add_argument(
        "--formats", default=",".join(EXPORT_FORMATS), help="exports to measure: q8_0,f16,f32"
    )
    parser.add_argument("--work", type=Path, default=None, help="keep the GGUFs here (default: a temp dir)")
    options = parser.parse_args()
    home = options.punie_home or default_punie_home()
    with rich_progress() as progress:
        model_dir = install_punie_tiny(home, progress=progress)  # at once when it is installed
    found = shutil.which("llama-bench")
    bench = options.llama_bench or (Path(found) if found else None)
    formats = [f for f in options.formats.split(",") if f]
    if unknown := set(formats) - set(get_args(ExportDtype)):
        parser.error(f"unknown --formats {sorted(unknown)}: choose from {get_args(ExportDtype)}")

    threads = [int(t) for t in options.threads.split(",") if t]
    print(f"punie-tiny ({model_dir}); {os.cpu_count()} CPUs; {_load()}")
    print(f"prompt {options.prompt_tokens} tokens, decode {options.decode_tokens} tokens")
    rows: list[tuple[str, str, str, dict[str, float] | str]] = []
    mlx = run_mlx("in-process", model_dir, options.prompt_tokens, options.decode_tokens)
    rows.append(("MLX (OpenBLAS)", "F32", "all", mlx))
    texts: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="punie-runtimes-") as scratch:
        work = options.work or Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        if bench is not None:
            ggufs = _ggufs(model_dir, work, formats)
            for label, path in ggufs.items():
                for count in threads:
                    rows.append(("llama.cpp", label, str(count), _llama_bench(bench, path, count, options)))
            simple = bench.parent / "llama-simple"
            if simple.exists():
                texts = {label: _continuation(simple, path) for label, path in ggufs.items()}

    header = f"{'runtime':<15} {'weights':<17} {'threads':>7} {'size MB':>8} {'prefill tok/s':>14}"
    print(f"{header} {'decode tok/s':>13} {'vs MLX':>7} {'≥30':>4}")
    mlx_decode = mlx.get("decode_tps", 0.0) if isinstance(mlx, dict) else 0.0
    for runtime, label, count, result in rows:
        if isinstance(result, str):
            print(f"{runtime:<15} {label:<17} {count:>7} failed: {result}")
            continue
        size = f"{result['size_mb']:.0f}" if "size_mb" in result else "-"
        decode = result.get("decode_tps", 0.0)
        ratio = f"{decode / mlx_decode:.1f}x" if mlx_decode else "-"
        ok = "yes" if decode >= TARGET_DECODE_TPS else "no"
        print(
            f"{runtime:<15} {label:<17} {count:>7} {size:>8} {result.get('prefill_tps', 0.0):>14.1f} "
            f"{decode:>13.1f} {ratio:>7} {ok:>4}"
        )
    if not bench:
        print("llama.cpp: skipped (pass --llama-bench PATH, or put llama-bench on PATH)")
    if texts:
        reference = next(iter(texts.values()))
        print(f"greedy continuation of {CHECK_PROMPT!r}, {CHECK_TOKENS} tokens (llama-simple):")
        for label, text in texts.items():
            same = _common_prefix(reference, text)
            print(f"  {label:<18} [{same}/{len(reference)} chars as Q4_K_M] {text!r}")
    print(_load())
    return 0


if __name__ == "__main__":
    sys.exit(main())
