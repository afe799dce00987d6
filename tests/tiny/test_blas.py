"""The fast BLAS for MLX on Linux: how it is chosen, and that it really is faster (in child processes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from punie_lsp.models.tiny.blas import BLAS_ENV, fast_blas_env, find_fast_blas

FOUND, WHY = find_fast_blas()
linux_only = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="the reference BLAS is Linux-only"
)

GEMM = """
import json, os, sys, time
from punie_lsp.models.tiny.blas import enable_fast_blas
status = enable_fast_blas()
import mlx.core as mx
a, b = mx.random.normal((512, 640)), mx.random.normal((640, 4096))
mx.eval(a @ b)
start = time.perf_counter()
for _ in range(4):
    mx.eval(a @ b)
gflops = 4 * 2 * 512 * 640 * 4096 / (time.perf_counter() - start) / 1e9
maps = open("/proc/self/maps").read()
print(json.dumps({"fast": status.fast, "gflops": gflops, "openblas_mapped": "openblas" in maps}))
"""


def _gemm(env: dict[str, str]) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-c", GEMM], capture_output=True, text=True, env=env, timeout=300, check=True
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


@linux_only
def test_punie_blas_off_and_bad_paths_keep_the_reference(tmp_path: Path) -> None:
    """`PUNIE_BLAS=off` disables it; a path that is not a BLAS library is refused with the reason."""
    assert find_fast_blas({BLAS_ENV: "off"}) == (None, f"disabled by {BLAS_ENV}=off")
    not_blas = tmp_path / "libnot.so"
    not_blas.write_bytes(b"nope")
    path, why = find_fast_blas({BLAS_ENV: str(not_blas)})
    assert path is None and "not a BLAS library" in why
    assert "LD_PRELOAD" not in fast_blas_env({BLAS_ENV: "off", "PATH": "/bin"})


def _require_openblas() -> Path:
    """OpenBLAS must be installed for these tests (`scripts/test` installs it); fail clearly if not."""
    assert FOUND is not None, f"no OpenBLAS here: {WHY}; install Debian's libopenblas0-pthread"
    return FOUND


@linux_only
def test_child_processes_get_it_through_ld_preload() -> None:
    """`fast_blas_env` puts the library first in `LD_PRELOAD`, keeping what was there."""
    _require_openblas()
    env = fast_blas_env({"LD_PRELOAD": "/x/libother.so", "PATH": "/bin"})
    assert env["LD_PRELOAD"] == f"{FOUND}:/x/libother.so"
    assert find_fast_blas({BLAS_ENV: str(FOUND)}) == (FOUND, f"from {BLAS_ENV}")


@pytest.mark.slow
@linux_only
def test_mlx_gemm_is_several_times_faster_with_it() -> None:
    """In a fresh process, `enable_fast_blas()` before MLX makes its GEMM use OpenBLAS: ≥ 3x the reference."""
    _require_openblas()
    base = {k: v for k, v in os.environ.items() if k not in (BLAS_ENV, "LD_PRELOAD")}
    reference = _gemm({**base, BLAS_ENV: "off"})
    fast = _gemm(base)
    assert reference["fast"] is False and fast["fast"] is True and fast["openblas_mapped"] is True
    assert fast["gflops"] >= 3 * reference["gflops"], (reference, fast)
