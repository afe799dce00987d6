"""Typed tools against the raw CLI runs they wrap, on the fixture projects (issue #2).

For each tool, the raw side runs exactly the command line(s) the tool issues (same flags, same
machine-readable output), so the ratio is Punie's own overhead: path checks, interpreter discovery,
parsing and validation into Pydantic results. Run: `uv run python benchmarks/tools_vs_cli.py`.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
import tempfile
from pathlib import Path

from benchmarks._timing import interleaved
from punie_lsp.tools._process import find_binary, run_process
from punie_lsp.tools.context import ToolContext
from punie_lsp.tools.git import git_status
from punie_lsp.tools.quality import ruff_check, ruff_fix, ruff_format, typecheck
from punie_lsp.tools.testing import pytest_run

ROOT = Path(__file__).resolve().parent.parent
REPEAT = int(sys.argv[1]) if len(sys.argv) > 1 else 15


async def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="punie-bench-"))
    planted = work / "planted"
    shutil.copytree(ROOT / "fixtures" / "webapp_planted", planted)
    await run_process(["git", "init", "-q"], cwd=planted, timeout=30)
    ctx = ToolContext.for_root(planted)
    ruff, ty = find_binary("ruff"), find_binary("ty")
    py = sys.executable

    async def raw(*args: str) -> None:
        await run_process(list(args), cwd=planted, timeout=300)

    fix_dir = work / "fix"

    def reset_fix() -> None:
        shutil.rmtree(fix_dir, ignore_errors=True)
        shutil.copytree(ROOT / "fixtures" / "webapp_planted", fix_dir)

    reset_fix()
    fix_ctx = ToolContext.for_root(fix_dir)

    async def raw_fix() -> None:
        await run_process(
            [ruff, "check", "--output-format", "json", "--no-cache", str(fix_dir)], cwd=fix_dir, timeout=60
        )
        await run_process(
            [ruff, "check", "--output-format", "json", "--no-cache", "--fix", str(fix_dir)],
            cwd=fix_dir,
            timeout=60,
        )

    junit = work / "junit.xml"
    cases = [
        (
            "typecheck",
            lambda: typecheck(ctx),
            lambda: raw(
                ty,
                "check",
                "--output-format",
                "gitlab",
                "--no-progress",
                "--color",
                "never",
                "--python-version",
                "3.11",
                "--python",
                py,
                "--project",
                str(planted),
                str(planted),
            ),
            None,
        ),
        (
            "ruff_check",
            lambda: ruff_check(ctx),
            lambda: raw(ruff, "check", "--output-format", "json", "--no-cache", str(planted)),
            None,
        ),
        (
            "ruff_format",
            lambda: ruff_format(ctx),
            lambda: raw(ruff, "format", "--diff", "--no-cache", str(planted)),
            None,
        ),
        ("ruff_fix", lambda: ruff_fix(fix_ctx), raw_fix, reset_fix),
        (
            "pytest_run",
            lambda: pytest_run(ctx),
            lambda: raw(
                py,
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                f"--junitxml={junit}",
                "-o",
                "junit_family=xunit1",
                "-o",
                "junit_logging=no",
                "--continue-on-collection-errors",
                ".",
            ),
            None,
        ),
        (
            "git_status",
            lambda: git_status(ctx),
            lambda: raw(
                "git",
                "-c",
                "core.quotepath=off",
                "--no-pager",
                "status",
                "--porcelain=v1",
                "-z",
                "--branch",
                "--untracked-files=all",
            ),
            None,
        ),
    ]
    print(f"Typed tool vs raw CLI, median of {REPEAT} interleaved runs (target ratio <= 1.15)")
    print(f"{'tool':14} {'typed ms':>9} {'raw ms':>9} {'ratio':>7}")
    for name, typed_fn, raw_fn, setup in cases:
        typed_s, raw_s = await interleaved(typed_fn, raw_fn, repeat=REPEAT, setup=setup)
        print(f"{name:14} {typed_s * 1000:9.1f} {raw_s * 1000:9.1f} {typed_s / raw_s:7.2f}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
