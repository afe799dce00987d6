"""The domain runner: crash isolation, bad files, settings overrides."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import libcst as cst
import pytest

import punie_lsp.domain  # noqa: F401 - registers every rule family
from punie_lsp.domain.context import ModuleContext
from punie_lsp.domain.rules import RULES, rule
from punie_lsp.domain.validate import (
    _ParseCache,
    build_index,
    clear_parse_cache,
    collector_paused,
    validate_sync,
)
from punie_lsp.tools.context import ToolContext


@pytest.fixture
def crashing_rule() -> Iterator[str]:
    """A rule that always raises, registered for one test only."""

    @rule("TDOM999", severity="error", title="crashes", fix="S", why="test", bad="x", good="y")
    def crash(mod, index):
        raise RuntimeError("boom")

    yield "TDOM999"
    del RULES["TDOM999"]


def test_a_crashing_rule_is_reported_and_others_still_run(tmp_path: Path, crashing_rule: str) -> None:
    """One rule's bug becomes a warning on the file; the other rules' findings are still there."""
    (tmp_path / "app.py").write_text(
        "import svcs\n\ndef handle(registry):\n    c = svcs.Container(registry)\n    return c.get(int)\n"
    )
    result = validate_sync(ToolContext.for_root(tmp_path))
    rules = {i.rule for i in result.issues}
    assert "internal-error" in rules
    assert "LC001" in rules
    crash = next(i for i in result.issues if i.rule == "internal-error")
    assert "TDOM999 crashed" in crash.message and "boom" in crash.message


def test_bad_files_are_reported_not_fatal(tmp_path: Path) -> None:
    """Unparseable, non-UTF-8, empty and huge files each get an issue or nothing; the rest is checked."""
    (tmp_path / "broken.py").write_text("def f(:\n")
    (tmp_path / "latin.py").write_bytes("x = 'é'\n".encode("latin-1"))
    (tmp_path / "empty.py").write_text("")
    (tmp_path / "huge.py").write_text("x = 1\n" * 400_000)
    (tmp_path / "ok.py").write_text(
        "import svcs\n\ndef h(r):\n    c = svcs.Container(r)\n    return c.get(int)\n"
    )
    result = validate_sync(ToolContext.for_root(tmp_path))
    by_file = {(i.file, i.rule) for i in result.issues}
    assert ("broken.py", "syntax-error") in by_file
    assert ("latin.py", "unreadable-file") in by_file
    assert ("huge.py", "unreadable-file") in by_file
    assert ("ok.py", "LC001") in by_file
    assert not any(f == "empty.py" for f, _ in by_file)
    assert result.files_checked == 5


def test_severity_override_and_disabled_rules(tmp_path: Path) -> None:
    """Project settings change a rule's severity or switch it off."""
    (tmp_path / "ok.py").write_text(
        "import svcs\n\ndef h(r):\n    c = svcs.Container(r)\n    return c.get(int)\n"
    )
    (tmp_path / "pyproject.toml").write_text('[tool.punie.domain]\nseverity = {LC001 = "info"}\n')
    assert {
        i.severity for i in validate_sync(ToolContext.for_root(tmp_path)).issues if i.rule == "LC001"
    } == {"info"}
    (tmp_path / "pyproject.toml").write_text('[tool.punie.domain]\ndisabled = ["LC"]\n')
    assert not [i for i in validate_sync(ToolContext.for_root(tmp_path)).issues if i.rule.startswith("LC")]


def test_unchanged_files_are_not_parsed_again(tmp_path: Path) -> None:
    """A file whose text did not change keeps its parsed module; an edit or a cleared cache parses anew."""
    (tmp_path / "a.py").write_text("import svcs\n")
    (tmp_path / "b.py").write_text("x = 1\n")
    ctx = ToolContext.for_root(tmp_path)
    first, _ = build_index(ctx)
    second, _ = build_index(ctx)
    assert second.modules["a.py"] is first.modules["a.py"]
    (tmp_path / "a.py").write_text("import svcs\nimport tdom\n")
    third, _ = build_index(ctx)
    assert third.modules["a.py"] is not first.modules["a.py"]
    assert third.modules["a.py"].source.endswith("import tdom\n")
    assert third.modules["b.py"] is first.modules["b.py"]
    edited, _ = build_index(ctx, overrides={"b.py": "x = 2\n"})
    assert edited.modules["b.py"].source == "x = 2\n"
    clear_parse_cache()
    fourth, _ = build_index(ctx)
    assert fourth.modules["a.py"] is not third.modules["a.py"]
    assert fourth.modules["b.py"].source == "x = 1\n"


def test_the_parse_cache_drops_the_least_recently_used() -> None:
    """The cache keeps at most `limit` characters of source."""
    cache = _ParseCache(limit=10)

    def context(name: str, source: str) -> ModuleContext:
        path = Path("/p") / name
        return ModuleContext(path=path, relative=name, source=source, module=cst.parse_module(source))

    a, b, c = context("a.py", "a = 1\n"), context("b.py", "b=2\n"), context("c.py", "c=3\n")
    cache.put(a)
    cache.put(b)
    assert cache.get(a.path, "a.py", a.source) is a  # a is now the most recently used
    cache.put(c)
    assert cache.get(b.path, "b.py", b.source) is None
    assert cache.get(a.path, "a.py", a.source) is a
    assert cache.get(a.path, "a.py", "a = 2\n") is None
    cache.put(context("big.py", "x" * 11))
    assert cache.size <= 10


def test_the_collector_pause_nests_and_restores() -> None:
    """The collector is off inside (nested) pauses and back to its earlier state after the outermost one."""
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
