"""pytest_run runs the target project's tests with its own interpreter and parses JUnit XML."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from punie_lsp.tools.context import ToolContext
from punie_lsp.tools.testing import project_interpreter, pytest_run


async def test_clean_fixture_passes(copy_fixture: Callable[[str], Path]) -> None:
    """All four tests of the clean fixture pass, each with a node id and duration."""
    result = await pytest_run(ToolContext.for_root(copy_fixture("webapp")))
    assert result.success and result.tool_error is None
    assert (result.passed, result.failed, result.errors, result.skipped) == (4, 0, 0, 0)
    assert "tests/test_app.py::test_health_counts_users" in {t.node_id for t in result.tests}
    assert all(t.file == "tests/test_app.py" and t.line for t in result.tests)


async def test_planted_failures_carry_messages(copy_fixture: Callable[[str], Path]) -> None:
    """Failing tests are reported with their assertion messages."""
    result = await pytest_run(ToolContext.for_root(copy_fixture("webapp_planted")))
    assert not result.success
    assert (result.passed, result.failed) == (2, 2)
    failed = {t.node_id: t.message for t in result.tests if t.outcome == "failed"}
    assert "ok: 4 users" in failed["tests/test_app.py::test_health_counts_users"]
    assert result.exit_code == 1


async def test_select_by_node_id_and_keyword(copy_fixture: Callable[[str], Path]) -> None:
    """`select` takes a node id or a -k expression."""
    ctx = ToolContext.for_root(copy_fixture("webapp"))
    one = await pytest_run(ctx, select="tests/test_app.py::test_bad_id_is_400")
    assert [t.node_id for t in one.tests] == ["tests/test_app.py::test_bad_id_is_400"]
    keyword = await pytest_run(ctx, select="health or unknown")
    assert keyword.passed == 2


async def test_skips_errors_and_no_tests(tmp_path: Path) -> None:
    """Skips, setup errors and collection errors are counted separately."""
    (tmp_path / "test_mixed.py").write_text(
        "import pytest\n\n@pytest.fixture\ndef broken():\n    raise RuntimeError('db down')\n\n"
        "def test_skip():\n    pytest.skip('later')\n\ndef test_err(broken):\n    pass\n"
    )
    (tmp_path / "test_bad_import.py").write_text("import not_a_module_anywhere\n")
    result = await pytest_run(ToolContext.for_root(tmp_path))
    assert result.skipped == 1
    assert result.errors == 2
    assert not result.success


async def test_hanging_suite_times_out(tmp_path: Path) -> None:
    """A suite that hangs is stopped at the timeout and reported as timed out."""
    (tmp_path / "test_hang.py").write_text("import time\n\ndef test_forever():\n    time.sleep(600)\n")
    result = await pytest_run(ToolContext.for_root(tmp_path), timeout=3)
    assert result.timed_out and not result.success
    assert "timed out after 3 s" in result.tool_error


async def test_project_venv_is_used(tmp_path: Path) -> None:
    """A project with its own `.venv` is tested with that interpreter."""
    subprocess.run(
        [sys.executable, "-m", "venv", "--system-site-packages", str(tmp_path / ".venv")], check=True
    )
    (tmp_path / "test_where.py").write_text(
        "import sys\n\ndef test_where():\n    assert sys.prefix.endswith('.venv')\n"
    )
    assert project_interpreter(tmp_path) == [str(tmp_path / ".venv" / "bin" / "python")]
    result = await pytest_run(ToolContext.for_root(tmp_path))
    assert result.passed == 1, result
    assert result.interpreter.endswith(".venv/bin/python")


@pytest.mark.slow
async def test_missing_pytest_is_a_tool_error(tmp_path: Path) -> None:
    """A project interpreter without pytest gives a tool error naming pytest, not zero tests."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(tmp_path / ".venv")], check=True)
    (tmp_path / "test_a.py").write_text("def test_a():\n    pass\n")
    result = await pytest_run(ToolContext.for_root(tmp_path))
    assert not result.success
    assert "pytest is not installed" in result.tool_error


async def test_uv_project_runs_through_uv(tmp_path: Path) -> None:
    """A project with a uv.lock and no venv is run with `uv run`."""
    (tmp_path / "uv.lock").write_text("")
    assert project_interpreter(tmp_path)[1:3] == ["run", "--frozen"]


async def test_path_may_be_a_node_id(copy_fixture: Callable[[str], Path]) -> None:
    """A node id given as `path` runs just that test."""
    ctx = ToolContext.for_root(copy_fixture("webapp"))
    result = await pytest_run(ctx, "tests/test_app.py::test_bad_id_is_400")
    assert [t.node_id for t in result.tests] == ["tests/test_app.py::test_bad_id_is_400"]
