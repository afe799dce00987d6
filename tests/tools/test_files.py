"""File tools read, write, edit, list and search through the workspace only."""

from __future__ import annotations

from pathlib import Path

import pytest

from punie_lsp.tools.context import ToolContext
from punie_lsp.tools.files import file_edit, file_list, file_read, file_search, file_write


@pytest.fixture
def ctx(tmp_path: Path) -> ToolContext:
    """A workspace with two modules and a file outside it."""
    root = tmp_path / "proj"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "a.py").write_text("def hello():\n    return 'hi'\n\n\ndef bye():\n    return 'hi'\n")
    (root / "pkg" / "b.py").write_text("import a\n")
    (tmp_path / "outside.txt").write_text("secret")
    return ToolContext.for_root(root)


async def test_read_whole_and_range(ctx: ToolContext) -> None:
    """Reading returns the text, or a 1-based inclusive window of lines."""
    whole = await file_read(ctx, "pkg/a.py")
    assert whole.success and whole.line_count == 6 and whole.content.startswith("def hello")
    window = await file_read(ctx, "pkg/a.py", start_line=5, end_line=6)
    assert window.content == "def bye():\n    return 'hi'\n"
    assert (window.start_line, window.end_line) == (5, 6)


async def test_read_outside_is_refused(ctx: ToolContext) -> None:
    """Traversal out of the workspace is a tool error; nothing is read."""
    result = await file_read(ctx, "../outside.txt")
    assert not result.success and "outside the workspace" in result.tool_error
    assert result.content == ""


async def test_write_creates_and_diffs(ctx: ToolContext) -> None:
    """A write creates the file and returns a diff."""
    result = await file_write(ctx, "pkg/c.py", "c = 1\n")
    assert result.success and result.created and "+c = 1" in result.diff
    assert (ctx.workspace.root / "pkg" / "c.py").read_text() == "c = 1\n"


async def test_write_outside_creates_nothing(ctx: ToolContext) -> None:
    """Writes outside the workspace are refused."""
    result = await file_write(ctx, "../evil.py", "x")
    assert not result.success
    assert not (ctx.workspace.root.parent / "evil.py").exists()


async def test_edit_requires_a_unique_exact_match(ctx: ToolContext) -> None:
    """An ambiguous edit changes nothing; a unique one replaces exactly once."""
    path = ctx.workspace.root / "pkg" / "a.py"
    before = path.read_text()
    ambiguous = await file_edit(ctx, "pkg/a.py", "return 'hi'", "return 'bye'")
    assert not ambiguous.success and "occurs 2 times" in ambiguous.tool_error
    assert path.read_text() == before
    missing = await file_edit(ctx, "pkg/a.py", "nope", "x")
    assert not missing.success and "not found" in missing.tool_error
    unique = await file_edit(ctx, "pkg/a.py", "def bye():\n    return 'hi'", "def bye():\n    return 'bye'")
    assert unique.success and unique.replacements == 1
    assert path.read_text().endswith("return 'bye'\n")
    every = await file_edit(ctx, "pkg/a.py", "def ", "async def ", replace_all=True)
    assert every.replacements == 2


async def test_list_and_search(ctx: ToolContext) -> None:
    """Listing filters by glob; search reports 1-based lines and columns."""
    listed = await file_list(ctx, "pkg", pattern="*.py")
    assert listed.files == ["pkg/a.py", "pkg/b.py"]
    found = await file_search(ctx, "return")
    assert [(m.file, m.line, m.column) for m in found.matches] == [("pkg/a.py", 2, 5), ("pkg/a.py", 6, 5)]
    regex = await file_search(ctx, r"def \w+\(", regex=True)
    assert regex.match_count == 2
    bad = await file_search(ctx, "(", regex=True)
    assert not bad.success and "invalid regular expression" in bad.tool_error


async def test_oversized_write_is_refused(ctx: ToolContext) -> None:
    """A giant write is refused before touching the disk."""
    result = await file_write(ctx, "big.py", "x" * 3_000_000)
    assert not result.success and "limit" in result.tool_error
    assert not (ctx.workspace.root / "big.py").exists()
