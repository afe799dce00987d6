"""typecheck and the ruff tools, run for real on the fixture projects."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from punie_lsp.tools.context import ToolContext
from punie_lsp.tools.quality import ruff_check, ruff_fix, ruff_format, typecheck


async def test_typecheck_finds_the_planted_type_errors(copy_fixture: Callable[[str], Path]) -> None:
    """ty reports exactly the two planted errors, with 1-based positions and rule codes."""
    ctx = ToolContext.for_root(copy_fixture("webapp_planted"))
    result = await typecheck(ctx, ".")
    assert result.tool_error is None
    assert not result.success
    assert result.error_count == 2
    assert [(e.file, e.line, e.column, e.code) for e in result.errors] == [
        ("webapp/app.py", 31, 53, "invalid-argument-type"),
        ("webapp/services.py", 27, 16, "invalid-explicit-return"),
    ]
    assert result.python_version == "3.11"


async def test_typecheck_clean_project(copy_fixture: Callable[[str], Path]) -> None:
    """The clean fixture type-checks with no errors."""
    result = await typecheck(ToolContext.for_root(copy_fixture("webapp")))
    assert result.success and result.error_count == 0 and result.tool_error is None


async def test_tstring_code_is_checked_as_314(tmp_path: Path) -> None:
    """Code with t-strings is checked with Python 3.14, so the t-string itself is not an error."""
    (tmp_path / "page.py").write_text('name = "x"\ntemplate = t"<p>{name}</p>"\n')
    result = await typecheck(ToolContext.for_root(tmp_path), "page.py")
    assert result.python_version == "3.14"
    assert result.error_count == 0, result.errors


async def test_ruff_check_finds_planted_violations(copy_fixture: Callable[[str], Path]) -> None:
    """ruff reports the unused import (fixable) and the None comparison."""
    result = await ruff_check(ToolContext.for_root(copy_fixture("webapp_planted")))
    assert result.violation_count == 2
    assert result.fixable_count == 1
    assert [(v.file, v.line, v.code, v.fixable) for v in result.violations] == [
        ("webapp/app.py", 5, "F401", True),
        ("webapp/app.py", 32, "E711", False),
    ]


async def test_ruff_fix_reports_what_changed(copy_fixture: Callable[[str], Path]) -> None:
    """ruff_fix removes the unused import, reports it and its diff, and leaves the rest alone."""
    root = copy_fixture("webapp_planted")
    services_before = (root / "webapp" / "services.py").read_bytes()
    result = await ruff_fix(ToolContext.for_root(root))
    assert [v.code for v in result.fixed] == ["F401"]
    assert result.changed_files == ["webapp/app.py"]
    assert "-import os" in result.diff
    assert [v.code for v in result.remaining] == ["E711"]
    assert "import os" not in (root / "webapp" / "app.py").read_text()
    assert (root / "webapp" / "services.py").read_bytes() == services_before


async def test_ruff_format_check_does_not_write(tmp_path: Path) -> None:
    """Check mode lists the files and a diff but changes nothing; write mode reformats."""
    (tmp_path / "ugly.py").write_text("x=1\n")
    ctx = ToolContext.for_root(tmp_path)
    checked = await ruff_format(ctx, ".", check=True)
    assert checked.files == ["ugly.py"] and not checked.success and "+x = 1" in checked.diff
    assert (tmp_path / "ugly.py").read_text() == "x=1\n"
    written = await ruff_format(ctx, ".", check=False)
    assert written.files == ["ugly.py"] and written.success
    assert (tmp_path / "ugly.py").read_text() == "x = 1\n"


async def test_syntax_error_is_a_finding_not_a_tool_error(tmp_path: Path) -> None:
    """Broken code is reported as a violation; the tool itself ran fine."""
    (tmp_path / "broken.py").write_text("def f(:\n")
    result = await ruff_check(ToolContext.for_root(tmp_path))
    assert result.tool_error is None
    assert result.violations[0].code == "invalid-syntax"


@pytest.mark.parametrize("tool", [typecheck, ruff_check, ruff_fix, ruff_format])
async def test_nonexistent_path_is_a_tool_error(tool: Callable, tmp_path: Path) -> None:
    """A path that does not exist is named in tool_error and nothing runs."""
    result = await tool(ToolContext.for_root(tmp_path), "missing.py")
    assert not result.success
    assert "missing.py" in result.tool_error


async def test_path_outside_workspace_is_refused(tmp_path: Path) -> None:
    """Tools cannot be pointed outside the workspace."""
    (tmp_path / "inner").mkdir()
    result = await ruff_check(ToolContext.for_root(tmp_path / "inner"), "..")
    assert "outside the workspace" in (result.tool_error or "")


@pytest.mark.parametrize(("variable", "tool"), [("PUNIE_RUFF", ruff_check), ("PUNIE_TY", typecheck)])
async def test_missing_binary_is_named(
    variable: str, tool: Callable, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the checker binary is missing, tool_error names it and success is False."""
    (tmp_path / "a.py").write_text("x = 1\n")
    monkeypatch.setenv(variable, str(tmp_path / "no-such-binary"))
    result = await tool(ToolContext.for_root(tmp_path))
    assert not result.success
    assert variable.removeprefix("PUNIE_").lower() in result.tool_error
    assert "not found" in result.tool_error


async def test_crashing_binary_is_a_tool_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A checker that crashes or prints garbage is reported as a tool error, never as clean code."""
    fake = tmp_path / "fake-ruff"
    fake.write_text("#!/bin/sh\necho 'segmentation fault' >&2\nexit 139\n")
    fake.chmod(0o755)
    garbage = tmp_path / "garbage-ruff"
    garbage.write_text("#!/bin/sh\necho 'not json'\nexit 1\n")
    garbage.chmod(0o755)
    (tmp_path / "a.py").write_text("x = 1\n")
    monkeypatch.setenv("PUNIE_RUFF", str(fake))
    crashed = await ruff_check(ToolContext.for_root(tmp_path))
    assert not crashed.success and "exit 139" in crashed.tool_error
    monkeypatch.setenv("PUNIE_RUFF", str(garbage))
    garbled = await ruff_check(ToolContext.for_root(tmp_path))
    assert not garbled.success and "not JSON" in garbled.tool_error
