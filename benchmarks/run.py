"""Run every benchmark in turn (not part of the test suite): `uv run python benchmarks/run.py`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

if __name__ == "__main__":
    scripts = sorted(p for p in HERE.glob("*.py") if not p.name.startswith("_") and p.name != "run.py")
    failed = 0
    for script in scripts:
        print(f"\n== {script.name}", flush=True)
        failed += (
            subprocess.run([sys.executable, "-m", f"benchmarks.{script.stem}"], cwd=HERE.parent).returncode
            != 0
        )
    sys.exit(1 if failed else 0)
