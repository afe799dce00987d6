"""The workspace: every file a tool reads or writes goes through here, confined to the project root.

Paths are resolved (symlinks and `..` included) before use; anything that would leave the root is
refused with a `WorkspaceError` naming the path. Writes are atomic (temporary file plus rename) so a
crash never leaves a half-written file. The I/O primitives are methods so an editor-backed workspace
(ACP `fs/*`, which sees unsaved buffers) can override them.
"""

from __future__ import annotations

import asyncio
import fnmatch
import os
import tempfile
from pathlib import Path

from punie_lsp.exceptions import WorkspaceError

__all__ = ("IGNORED_DIRS", "MAX_READ_BYTES", "Workspace")

IGNORED_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".venv",
        "venv",
        "__pycache__",
        "node_modules",
        ".mypy_cache",
        ".ruff_cache",
        ".pytest_cache",
        ".tox",
        ".nox",
        "build",
        "dist",
        ".punie-bench",
    }
)
"""Directory names never listed or searched: VCS data, environments, caches and build output."""

MAX_READ_BYTES = 8 * 1024 * 1024
"""Files larger than this are refused by `read_text` (8 MiB): a source file is never that large."""


class Workspace:
    """A project root and the only door to the files below it.

    Args:
        root: the project root; it must exist and be a directory.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        resolved = Path(root).expanduser().resolve()
        if not resolved.is_dir():
            raise WorkspaceError(f"workspace root `{root}` is not a directory", path=str(root))
        self.root = resolved

    def __repr__(self) -> str:
        return f"Workspace({str(self.root)!r})"

    def resolve(self, path: str | os.PathLike[str] = ".") -> Path:
        """Return the absolute, symlink-free path for `path` (relative to the root), or refuse it.

        Raises:
            WorkspaceError: the path is malformed or resolves outside the root.
        """
        text = os.fspath(path)
        if "\x00" in text:
            raise WorkspaceError(f"path {text!r} contains a NUL byte", path=text)
        if len(text) > 4096:
            raise WorkspaceError(f"path of {len(text)} characters is too long", path=text[:80] + "…")
        candidate = Path(text).expanduser()
        if not candidate.is_absolute():
            candidate = self.root / candidate
        resolved = candidate.resolve()
        if resolved != self.root and not resolved.is_relative_to(self.root):
            raise WorkspaceError(
                f"path `{text}` resolves to `{resolved}`, outside the workspace `{self.root}`", path=text
            )
        return resolved

    def relative(self, path: str | os.PathLike[str]) -> str:
        """Return `path` relative to the root, in POSIX form (`.` for the root itself)."""
        return self.resolve(path).relative_to(self.root).as_posix() or "."

    def contains(self, path: str | os.PathLike[str]) -> bool:
        """Whether `path` resolves inside the workspace."""
        try:
            self.resolve(path)
        except WorkspaceError:
            return False
        return True

    # -- reading -----------------------------------------------------------------------------------

    def read_bytes_sync(self, path: str | os.PathLike[str], *, limit: int = MAX_READ_BYTES) -> bytes:
        """Read a file's bytes, refusing directories, missing files and files over `limit` bytes."""
        target = self.resolve(path)
        if not target.exists():
            raise WorkspaceError(f"`{path}` does not exist", path=os.fspath(path))
        if not target.is_file():
            raise WorkspaceError(f"`{path}` is not a regular file", path=os.fspath(path))
        size = target.stat().st_size
        if size > limit:
            raise WorkspaceError(
                f"`{path}` is {size:,} bytes, over the {limit:,} byte limit", path=os.fspath(path)
            )
        return target.read_bytes()

    def read_text_sync(self, path: str | os.PathLike[str], *, limit: int = MAX_READ_BYTES) -> str:
        """Read a UTF-8 text file; binary or undecodable files are refused with the offending offset."""
        data = self.read_bytes_sync(path, limit=limit)
        if b"\x00" in data[:8192]:
            raise WorkspaceError(f"`{path}` is a binary file, not text", path=os.fspath(path))
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise WorkspaceError(
                f"`{path}` is not valid UTF-8 (byte {exc.start}: {data[exc.start : exc.start + 1]!r})",
                path=os.fspath(path),
            ) from exc

    async def read_text(self, path: str | os.PathLike[str], *, limit: int = MAX_READ_BYTES) -> str:
        """Async twin of `read_text_sync` (file I/O runs in a thread)."""
        return await asyncio.to_thread(self.read_text_sync, path, limit=limit)

    # -- writing -----------------------------------------------------------------------------------

    def write_text_sync(self, path: str | os.PathLike[str], text: str) -> Path:
        """Atomically write UTF-8 text, creating parent directories inside the workspace."""
        target = self.resolve(path)
        if target.is_dir():
            raise WorkspaceError(f"`{path}` is a directory", path=os.fspath(path))
        target.parent.mkdir(parents=True, exist_ok=True)
        mode = target.stat().st_mode & 0o7777 if target.exists() else None
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".punie-tmp", dir=target.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            if mode is not None:
                os.chmod(tmp_name, mode)
            os.replace(tmp_name, target)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        return target

    async def write_text(self, path: str | os.PathLike[str], text: str) -> Path:
        """Async twin of `write_text_sync`."""
        return await asyncio.to_thread(self.write_text_sync, path, text)

    # -- listing -----------------------------------------------------------------------------------

    def list_files_sync(
        self, path: str | os.PathLike[str] = ".", *, pattern: str = "*", limit: int = 10_000
    ) -> list[str]:
        """List files under `path` whose name matches `pattern`, relative to the root and sorted.

        Ignored directories (`IGNORED_DIRS`) and symlinks that leave the root are skipped.
        """
        base = self.resolve(path)
        if base.is_file():
            return [self.relative(base)] if fnmatch.fnmatch(base.name, pattern) else []
        if not base.exists():
            raise WorkspaceError(f"`{path}` does not exist", path=os.fspath(path))
        found: list[str] = []
        for dirpath, dirnames, filenames in os.walk(base, followlinks=False):
            dirnames[:] = sorted(d for d in dirnames if d not in IGNORED_DIRS and not d.endswith(".egg-info"))
            for name in sorted(filenames):
                if not fnmatch.fnmatch(name, pattern):
                    continue
                full = Path(dirpath) / name
                if full.is_symlink() and not self.contains(full):
                    continue
                found.append(full.relative_to(self.root).as_posix())
                if len(found) >= limit:
                    return sorted(found)
        return sorted(found)

    async def list_files(
        self, path: str | os.PathLike[str] = ".", *, pattern: str = "*", limit: int = 10_000
    ) -> list[str]:
        """Async twin of `list_files_sync`."""
        return await asyncio.to_thread(self.list_files_sync, path, pattern=pattern, limit=limit)
