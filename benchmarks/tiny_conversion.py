"""punie-tiny's install: wall time, time per stage and peak memory (RSS) of a fresh conversion.

Run: `uv run python -m benchmarks.tiny_conversion`. Installs into a temporary PUNIE_HOME in a child process
(so its peak RSS is the install's alone), then deletes it.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = """
import json, sys, time
from pathlib import Path
from punie_lsp.models.tiny import install_punie_tiny
starts = {}
def progress(event):
    starts.setdefault(event.stage, time.perf_counter())
began = time.perf_counter()
install_punie_tiny(Path(sys.argv[1]), progress=progress)
ends = list(starts.values())[1:] + [time.perf_counter()]
stages = {stage: round(end - start, 2) for (stage, start), end in zip(starts.items(), ends)}
print(json.dumps({"seconds": time.perf_counter() - began, "stages": stages}))
"""


def main() -> int:
    """Convert once and print the figures."""
    with tempfile.TemporaryDirectory(prefix="punie-tiny-bench-") as home:
        started = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", CHILD, home], capture_output=True, text=True)
        wall = time.perf_counter() - started
        if proc.returncode != 0:
            print(proc.stderr, file=sys.stderr)
            return 1
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        size = sum(p.stat().st_size for p in (Path(home) / "models" / "punie-tiny").iterdir())
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        f"install (in process): {result['seconds']:.1f} s; child process wall {wall:.1f} s (imports included)"
    )
    print("stages: " + ", ".join(f"{stage} {seconds:.1f} s" for stage, seconds in result["stages"].items()))
    print(f"peak RSS: {peak_mb:.0f} MB; installed size: {size / 1e9:.2f} GB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
