"""The workspace confines every path to the project root and writes atomically."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from punie_lsp.exceptions import WorkspaceError
from punie_lsp.workspace import Workspace


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    """A workspace with a small tree and a secret file next to it."""
    root = tmp_path / "project"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "mod.py").write_text("x = 1\n")
    (root / ".venv" / "lib").mkdir(parents=True)
    (root / ".venv" / "lib" / "site.py").write_text("")
    (tmp_path / "secret.txt").write_text("top secret\n")
    return Workspace(root)


def test_relative_paths_resolve_inside(ws: Workspace) -> None:
    """A relative path resolves below the root."""
    assert ws.resolve("pkg/mod.py") == ws.root / "pkg" / "mod.py"
    assert ws.relative(ws.root / "pkg" / "mod.py") == "pkg/mod.py"


@pytest.mark.parametrize("path", ["../secret.txt", "pkg/../../secret.txt", "/etc/passwd", "~/.bashrc"])
def test_paths_outside_are_refused(ws: Workspace, path: str) -> None:
    """`..`, absolute and home paths that leave the root are refused with the path named."""
    with pytest.raises(WorkspaceError, match="outside the workspace"):
        ws.resolve(path)


def test_symlink_escape_is_refused(ws: Workspace) -> None:
    """A symlink inside the root that points outside cannot be read through."""
    (ws.root / "link.txt").symlink_to(ws.root.parent / "secret.txt")
    with pytest.raises(WorkspaceError, match="outside the workspace"):
        ws.read_text_sync("link.txt")
    assert "link.txt" not in ws.list_files_sync()


def test_nul_byte_path_is_refused(ws: Workspace) -> None:
    """A NUL byte in a path is a clear error, not an OS exception."""
    with pytest.raises(WorkspaceError, match="NUL"):
        ws.resolve("pkg/\x00mod.py")


def test_binary_and_non_utf8_files_are_refused(ws: Workspace) -> None:
    """Binary and undecodable files give a clear error naming the file."""
    (ws.root / "blob.py").write_bytes(b"\x00\x01\x02")
    (ws.root / "latin.py").write_bytes("café = 1\n".encode("latin-1"))
    with pytest.raises(WorkspaceError, match="binary"):
        ws.read_text_sync("blob.py")
    with pytest.raises(WorkspaceError, match="not valid UTF-8"):
        ws.read_text_sync("latin.py")


def test_missing_file_and_directory_reads(ws: Workspace) -> None:
    """Reading something that is not a file says so."""
    with pytest.raises(WorkspaceError, match="does not exist"):
        ws.read_text_sync("nope.py")
    with pytest.raises(WorkspaceError, match="not a regular file"):
        ws.read_text_sync("pkg")


def test_write_is_atomic_and_keeps_mode(ws: Workspace) -> None:
    """Writes replace the file in one step, keep its permissions and leave no temporary file."""
    target = ws.root / "pkg" / "mod.py"
    os.chmod(target, 0o640)
    ws.write_text_sync("pkg/mod.py", "x = 2\n")
    assert target.read_text() == "x = 2\n"
    assert target.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in target.parent.iterdir()] == ["mod.py"]


def test_write_creates_parents_but_not_outside(ws: Workspace) -> None:
    """New files get their parent directories; writes outside are refused and create nothing."""
    ws.write_text_sync("new/dir/file.py", "")
    assert (ws.root / "new" / "dir" / "file.py").is_file()
    with pytest.raises(WorkspaceError):
        ws.write_text_sync("../evil.py", "")
    assert not (ws.root.parent / "evil.py").exists()


def test_listing_skips_environments_and_caches(ws: Workspace) -> None:
    """Virtual environments are not listed."""
    assert ws.list_files_sync(pattern="*.py") == ["pkg/mod.py"]


def test_root_must_be_a_directory(tmp_path: Path) -> None:
    """A workspace cannot be rooted at a missing directory."""
    with pytest.raises(WorkspaceError, match="not a directory"):
        Workspace(tmp_path / "missing")
