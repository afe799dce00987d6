"""Typed git tools on a real repository."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from punie_lsp.tools.context import ToolContext
from punie_lsp.tools.git import git_diff, git_log, git_status


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository with two commits, a modification, a staged file and an untracked file."""
    _git(tmp_path, "init", "-q", "-b", "main")
    _git(tmp_path, "config", "user.email", "dev@example.com")
    _git(tmp_path, "config", "user.name", "Dev")
    (tmp_path / "a.py").write_text("a = 1\n")
    _git(tmp_path, "add", "a.py")
    _git(tmp_path, "commit", "-q", "-m", "Add a")
    (tmp_path / "b.py").write_text("b = 1\n")
    _git(tmp_path, "add", "b.py")
    _git(tmp_path, "commit", "-q", "-m", "Add b")
    (tmp_path / "a.py").write_text("a = 2\nc = 3\n")
    (tmp_path / "staged.py").write_text("s = 1\n")
    _git(tmp_path, "add", "staged.py")
    (tmp_path / "new file.py").write_text("")
    return tmp_path


async def test_status(repo: Path) -> None:
    """Status lists branch, modified, staged-added and untracked files (spaces in names kept)."""
    result = await git_status(ToolContext.for_root(repo))
    assert result.success and result.branch == "main" and not result.clean
    assert {(c.path, c.status, c.staged) for c in result.changes} == {
        ("a.py", "modified", False),
        ("staged.py", "added", True),
        ("new file.py", "untracked", False),
    }


async def test_diff_counts(repo: Path) -> None:
    """The work-tree diff counts lines per file; the staged diff shows the index."""
    ctx = ToolContext.for_root(repo)
    work = await git_diff(ctx)
    assert [(f.path, f.additions, f.deletions) for f in work.files] == [("a.py", 2, 1)]
    assert "+c = 3" in work.diff
    staged = await git_diff(ctx, staged=True)
    assert [f.path for f in staged.files] == ["staged.py"]


async def test_log(repo: Path) -> None:
    """The log is newest first with subjects and authors."""
    result = await git_log(ToolContext.for_root(repo), limit=5)
    assert [c.subject for c in result.commits] == ["Add b", "Add a"]
    assert result.commits[0].author == "Dev" and len(result.commits[0].sha) == 40


async def test_log_limit_is_validated(repo: Path) -> None:
    """An out-of-range limit is a clear tool error."""
    result = await git_log(ToolContext.for_root(repo), limit=0)
    assert not result.success and "between 1 and 500" in result.tool_error


async def test_not_a_repository(tmp_path: Path) -> None:
    """Outside a repository every git tool reports that, instead of crashing."""
    ctx = ToolContext.for_root(tmp_path)
    for result in (await git_status(ctx), await git_diff(ctx), await git_log(ctx)):
        assert not result.success
        assert "not inside a git repository" in result.tool_error
