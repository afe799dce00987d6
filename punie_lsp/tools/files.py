"""File tools: read, write, edit (exact-match replacement), list and search, all through the workspace."""

from __future__ import annotations

import asyncio
import difflib
import re

from punie_lsp.exceptions import WorkspaceError
from punie_lsp.tools.context import ToolContext
from punie_lsp.tools.results import (
    FileListResult,
    FileReadResult,
    FileWriteResult,
    SearchMatch,
    SearchResult,
)

__all__ = ("file_edit", "file_list", "file_read", "file_search", "file_write", "unified_diff")

MAX_WRITE_CHARS = 2_000_000
"""The largest text a write or edit may produce (2 M characters)."""
SEARCH_LIMIT = 500


def unified_diff(path: str, old: str, new: str) -> str:
    """A unified diff of one file's change, with `a/` and `b/` prefixes."""
    return "".join(
        difflib.unified_diff(
            old.splitlines(keepends=True), new.splitlines(keepends=True), f"a/{path}", f"b/{path}"
        )
    )


async def file_read(
    ctx: ToolContext, path: str, start_line: int | None = None, end_line: int | None = None
) -> FileReadResult:
    """Read a text file, or lines `start_line`..`end_line` (1-based)."""
    try:
        text = await ctx.workspace.read_text(path)
        rel = ctx.workspace.relative(path)
    except WorkspaceError as exc:
        return FileReadResult(success=False, path=path, tool_error=str(exc))
    lines = text.splitlines(keepends=True)
    first = max(1, start_line or 1)
    last = min(len(lines), end_line if end_line is not None else len(lines))
    if start_line is not None and end_line is not None and end_line < start_line:
        return FileReadResult(
            success=False, path=rel, tool_error=f"end_line {end_line} is before start_line {start_line}"
        )
    content = "".join(lines[first - 1 : last]) if (start_line or end_line) else text
    return FileReadResult(
        success=True, path=rel, content=content, line_count=len(lines), start_line=first, end_line=last
    )


async def file_write(ctx: ToolContext, path: str, content: str) -> FileWriteResult:
    """Create or overwrite a text file (atomic)."""
    if len(content) > MAX_WRITE_CHARS:
        return FileWriteResult(
            success=False,
            path=path,
            tool_error=f"content of {len(content):,} characters is over the {MAX_WRITE_CHARS:,} limit",
        )
    try:
        target = ctx.workspace.resolve(path)
        old = await ctx.workspace.read_text(path) if target.is_file() else None
        await ctx.workspace.write_text(path, content)
        rel = ctx.workspace.relative(path)
    except WorkspaceError as exc:
        return FileWriteResult(success=False, path=path, tool_error=str(exc))
    return FileWriteResult(
        success=True, path=rel, created=old is None, diff=unified_diff(rel, old or "", content)
    )


async def file_edit(
    ctx: ToolContext, path: str, old: str, new: str, replace_all: bool = False
) -> FileWriteResult:
    """Replace the exact text `old` with `new` in a file.

    `old` must occur exactly once unless `replace_all` is True; otherwise nothing is written and
    `tool_error` says how many matches there were.
    """
    if not old:
        return FileWriteResult(success=False, path=path, tool_error="`old` must not be empty")
    try:
        text = await ctx.workspace.read_text(path)
        rel = ctx.workspace.relative(path)
    except WorkspaceError as exc:
        return FileWriteResult(success=False, path=path, tool_error=str(exc))
    count = text.count(old)
    if count == 0:
        return FileWriteResult(
            success=False, path=rel, tool_error=f"`old` text not found in `{rel}`; nothing changed"
        )
    if count > 1 and not replace_all:
        return FileWriteResult(
            success=False,
            path=rel,
            tool_error=f"`old` text occurs {count} times in `{rel}`; give more context or replace_all=True",
        )
    updated = text.replace(old, new) if replace_all else text.replace(old, new, 1)
    if len(updated) > MAX_WRITE_CHARS:
        return FileWriteResult(
            success=False, path=rel, tool_error="the edited file would be over the size limit"
        )
    try:
        await ctx.workspace.write_text(path, updated)
    except WorkspaceError as exc:
        return FileWriteResult(success=False, path=rel, tool_error=str(exc))
    return FileWriteResult(
        success=True,
        path=rel,
        replacements=count if replace_all else 1,
        diff=unified_diff(rel, text, updated),
    )


async def file_list(
    ctx: ToolContext, path: str = ".", pattern: str = "*", limit: int = 1000
) -> FileListResult:
    """List files matching a glob (VCS data, venvs and caches skipped)."""
    bounded = max(1, min(limit, 10_000))
    try:
        files = await ctx.workspace.list_files(path, pattern=pattern, limit=bounded + 1)
    except WorkspaceError as exc:
        return FileListResult(success=False, tool_error=str(exc))
    truncated = len(files) > bounded
    files = files[:bounded]
    return FileListResult(success=True, files=files, file_count=len(files), truncated=truncated)


def _search_sync(
    ctx: ToolContext, pattern: str, path: str, glob: str, regex: bool, limit: int
) -> SearchResult:
    try:
        compiled = re.compile(pattern if regex else re.escape(pattern))
    except re.error as exc:
        return SearchResult(success=False, tool_error=f"invalid regular expression {pattern!r}: {exc}")
    matches: list[SearchMatch] = []
    for rel in ctx.workspace.list_files_sync(path, pattern=glob):
        try:
            text = ctx.workspace.read_text_sync(rel)
        except WorkspaceError:
            continue  # binary, undecodable or huge files are not searched
        for number, line in enumerate(text.splitlines(), start=1):
            if found := compiled.search(line):
                matches.append(SearchMatch(file=rel, line=number, column=found.start() + 1, text=line[:300]))
                if len(matches) >= limit:
                    return SearchResult(
                        success=True, matches=matches, match_count=len(matches), truncated=True
                    )
    return SearchResult(success=True, matches=matches, match_count=len(matches))


async def file_search(
    ctx: ToolContext, pattern: str, path: str = ".", glob: str = "*.py", regex: bool = False, limit: int = 200
) -> SearchResult:
    """Find lines containing `pattern` (text, or a regex with `regex=True`)."""
    if not pattern:
        return SearchResult(success=False, tool_error="`pattern` must not be empty")
    try:
        return await asyncio.to_thread(
            _search_sync, ctx, pattern, path, glob, regex, max(1, min(limit, SEARCH_LIMIT))
        )
    except WorkspaceError as exc:
        return SearchResult(success=False, tool_error=str(exc))
