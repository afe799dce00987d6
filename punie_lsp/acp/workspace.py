"""A workspace whose files are the editor's buffers: reads and writes go through ACP `fs/*`.

When the client advertises `fs.readTextFile` / `fs.writeTextFile`, every file tool reads what the user
sees in the editor, unsaved changes included, and writes land in the editor's buffer (where the user can
undo them). Paths are still confined to the project root first, exactly as for the local workspace.
Listing stays local (ACP has no directory listing). Tools that run an external program on the files
(ruff, ty, pytest) read the files on disk: save before running them.

The synchronous twins (`read_text_sync`, `write_text_sync`) are called from worker threads by bulk
scans (search, domain checks); they hand the request to the event loop and wait for the answer. Called
on the event loop's own thread they cannot wait for it, so they fall back to the disk.
"""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path

from acp import RequestError
from acp.interfaces import Client

from punie_lsp.exceptions import WorkspaceError
from punie_lsp.workspace import MAX_READ_BYTES, Workspace

__all__ = ("EditorWorkspace",)

EDITOR_IO_TIMEOUT = 60.0
"""Seconds a synchronous read or write waits for the editor before giving up."""


class EditorWorkspace(Workspace):
    """A `Workspace` that reads and writes through the ACP client.

    Args:
        root: the project root.
        client: the connection to the editor.
        session_id: the ACP session the requests belong to.
        read: the client can read text files (`fs.readTextFile`).
        write: the client can write text files (`fs.writeTextFile`).
    """

    def __init__(
        self, root: str | os.PathLike[str], *, client: Client, session_id: str, read: bool, write: bool
    ) -> None:
        super().__init__(root)
        self.client = client
        self.session_id = session_id
        self.reads_through_editor = read
        self.writes_through_editor = write
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()

    def __repr__(self) -> str:
        return f"EditorWorkspace({str(self.root)!r})"

    async def read_text(self, path: str | os.PathLike[str], *, limit: int = MAX_READ_BYTES) -> str:
        """The editor's text of `path` (its unsaved buffer when open), refused over `limit` bytes."""
        if not self.reads_through_editor:
            return await super().read_text(path, limit=limit)
        target = self.resolve(path)
        if target.is_dir():
            raise WorkspaceError(f"`{path}` is not a regular file", path=os.fspath(path))
        try:
            response = await self.client.read_text_file(session_id=self.session_id, path=str(target))
        except RequestError as exc:
            if not target.exists():
                raise WorkspaceError(f"`{path}` does not exist", path=os.fspath(path)) from exc
            raise WorkspaceError(f"the editor could not read `{path}`: {exc}", path=os.fspath(path)) from exc
        text = response.content
        size = len(text.encode("utf-8"))
        if size > limit:
            raise WorkspaceError(
                f"`{path}` is {size:,} bytes, over the {limit:,} byte limit", path=os.fspath(path)
            )
        return text

    async def write_text(self, path: str | os.PathLike[str], text: str) -> Path:
        """Write `text` to `path` through the editor (it creates the file when needed)."""
        if not self.writes_through_editor:
            return await super().write_text(path, text)
        target = self.resolve(path)
        if target.is_dir():
            raise WorkspaceError(f"`{path}` is a directory", path=os.fspath(path))
        await asyncio.to_thread(target.parent.mkdir, parents=True, exist_ok=True)
        try:
            await self.client.write_text_file(session_id=self.session_id, path=str(target), content=text)
        except RequestError as exc:
            raise WorkspaceError(f"the editor could not write `{path}`: {exc}", path=os.fspath(path)) from exc
        return target

    def _on_loop_thread(self) -> bool:
        return threading.get_ident() == self._loop_thread

    def read_text_sync(self, path: str | os.PathLike[str], *, limit: int = MAX_READ_BYTES) -> str:
        """Blocking twin of `read_text` for worker threads (the disk, on the event loop's thread)."""
        if not self.reads_through_editor or self._on_loop_thread() or self._loop.is_closed():
            return super().read_text_sync(path, limit=limit)
        future = asyncio.run_coroutine_threadsafe(self.read_text(path, limit=limit), self._loop)
        try:
            return future.result(EDITOR_IO_TIMEOUT)
        except TimeoutError as exc:
            future.cancel()
            raise WorkspaceError(
                f"the editor did not answer a read of `{path}`", path=os.fspath(path)
            ) from exc

    def write_text_sync(self, path: str | os.PathLike[str], text: str) -> Path:
        """Blocking twin of `write_text` for worker threads (the disk, on the event loop's thread)."""
        if not self.writes_through_editor or self._on_loop_thread() or self._loop.is_closed():
            return super().write_text_sync(path, text)
        future = asyncio.run_coroutine_threadsafe(self.write_text(path, text), self._loop)
        try:
            return future.result(EDITOR_IO_TIMEOUT)
        except TimeoutError as exc:
            future.cancel()
            raise WorkspaceError(
                f"the editor did not answer a write of `{path}`", path=os.fspath(path)
            ) from exc
