"""Domain validation speed (issue #3): one 1,000-line module, a 200-file project, and the ratio to ruff.

Run: `uv run python -m benchmarks.domain_speed [repeat]`.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import punie_lsp.domain  # noqa: F401 - registers the rules
from punie_lsp.domain.validate import clear_parse_cache, validate_sync
from punie_lsp.tools._process import find_binary
from punie_lsp.tools.context import ToolContext

REPEAT = int(sys.argv[1]) if len(sys.argv) > 1 else 9

HEADER = '''"""Generated module mixing components, services and middleware."""

from dataclasses import dataclass
from string.templatelib import Template

import svcs
from tdom import html
'''

BLOCK = '''

@dataclass
class Settings{n}:
    """Settings number {n}."""

    title: str = "Site {n}"
    debug: bool = False


def card{n}(*, title: str, children: Template | None = None) -> Template:
    """A card component."""
    return t"<section class='card'><h2>{{title}}</h2>{{children}}</section>"


def page{n}(*, items: list[str]) -> Template:
    """A page using the card component."""
    return t"<main><{{card{n}}} title='Items {n}'><ul>{{[t'<li>{{i}}</li>' for i in items]}}</ul></{{card{n}}}></main>"


def settings_factory{n}() -> Settings{n}:
    """Build settings."""
    return Settings{n}()


def register{n}(registry: svcs.Registry) -> None:
    """Register the services of part {n}."""
    registry.register_factory(Settings{n}, settings_factory{n})


def render{n}(registry: svcs.Registry) -> str:
    """Render a page in a request-scoped container."""
    with svcs.Container(registry) as container:
        settings = container.get(Settings{n})
        return html(t"<body>{{page{n}(items=[settings.title])}}</body>")
'''


def module_text(lines: int) -> str:
    text = HEADER
    n = 0
    while text.count("\n") < lines:
        text += BLOCK.format(n=n)
        n += 1
    return text


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="punie-domain-bench-"))
    single = work / "single"
    single.mkdir()
    (single / "pyproject.toml").write_text('[project]\nname = "bench"\ndependencies = ["tdom>=0.1.20"]\n')
    text = module_text(1000)
    (single / "big.py").write_text(text)
    ctx = ToolContext.for_root(single)
    validate_sync(ctx)  # warm imports
    times = []
    for _ in range(REPEAT):
        clear_parse_cache()  # cold: the module is parsed and analysed from scratch
        start = time.perf_counter()
        result = validate_sync(ctx)
        times.append(time.perf_counter() - start)
    print(
        f"One {text.count(chr(10))}-line module: median {statistics.median(times) * 1000:.0f} ms "
        f"(min {min(times) * 1000:.0f} ms, {result.issue_count} findings; target < 50 ms)"
    )
    times = []
    for _ in range(REPEAT):
        start = time.perf_counter()
        result = validate_sync(ctx)
        times.append(time.perf_counter() - start)
    print(
        f"  again, text unchanged (parsed module reused): median {statistics.median(times) * 1000:.0f} ms "
        f"(min {min(times) * 1000:.0f} ms, {result.issue_count} findings)"
    )

    project = work / "project"
    (project / "app").mkdir(parents=True)
    (project / "pyproject.toml").write_text('[project]\nname = "bench"\ndependencies = ["tdom>=0.1.20"]\n')
    small = module_text(60)
    for index in range(200):
        (project / "app" / f"part_{index:03}.py").write_text(small)
    ctx = ToolContext.for_root(project)
    clear_parse_cache()
    start = time.perf_counter()
    result = validate_sync(ctx)
    domain_s = time.perf_counter() - start
    start = time.perf_counter()
    validate_sync(ctx)
    again_s = time.perf_counter() - start
    ruff = find_binary("ruff")
    ruff_times = []
    for _ in range(3):
        start = time.perf_counter()
        subprocess.run(
            [ruff, "check", "--no-cache", "--output-format", "json", "app"], cwd=project, capture_output=True
        )
        ruff_times.append(time.perf_counter() - start)
    ruff_s = statistics.median(ruff_times)
    print(
        f"200-file project ({200 * small.count(chr(10))} lines): {domain_s:.2f} s "
        f"({result.issue_count} findings; target < 5 s on 2 cores)"
    )
    print(f"  again, texts unchanged (parsed modules reused): {again_s:.2f} s")
    print(f"ruff check on the same files: {ruff_s * 1000:.0f} ms; domain / ruff = {domain_s / ruff_s:.0f}x")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
