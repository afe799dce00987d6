"""Text and positions: LSP lines, domain (1-based, code point) positions to client units, and minimal edits.

Every conversion to the client's units goes through pygls's `PositionCodec`, so UTF-16 (the default),
UTF-8 and UTF-32 clients all get correct columns for text beyond ASCII.
"""

from __future__ import annotations

import bisect
import difflib
import re
from collections.abc import Sequence

from lsprotocol import types
from pygls.workspace.position_codec import PositionCodec, ServerTextPosition

__all__ = ("LineIndex", "apply_edits", "clean_text", "lsp_lines", "minimal_edits")

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")
_SURROGATES = re.compile(r"[\ud800-\udfff]")


def clean_text(text: str) -> str:
    """Replace lone surrogates (invalid UTF-8 that reached us as JSON escapes) with U+FFFD.

    Both are one UTF-16 unit and one code point, so every position stays where it was.
    """
    return _SURROGATES.sub("\ufffd", text) if _SURROGATES.search(text) else text


def lsp_lines(text: str) -> list[str]:
    """Split `text` into lines with their endings, on the LSP's terminators only (LF, CRLF, CR)."""
    return _LINE.findall(text)


class LineIndex:
    """One text's lines and line starts, for converting offsets and positions quickly.

    Args:
        text: the document text.
        codec: the position codec negotiated with the client.
    """

    def __init__(self, text: str, codec: PositionCodec) -> None:
        self.text = text
        self.codec = codec
        self.lines = lsp_lines(text)
        self.starts = [0]
        for line in self.lines:
            self.starts.append(self.starts[-1] + len(line))

    def position(self, line: int, column: int) -> types.Position:
        """A 1-based line and 1-based code point column (the domain's convention) in client units."""
        return self.server_position(ServerTextPosition(max(line - 1, 0), max(column - 1, 0)))

    def server_position(self, where: ServerTextPosition) -> types.Position:
        """A 0-based code point position in client units, clamped to the text."""
        if where.line >= len(self.lines):
            if not self.lines:
                return types.Position(line=0, character=0)
            last = self.lines[-1]
            if last.endswith(("\n", "\r")):
                return types.Position(line=len(self.lines), character=0)
            return self.codec.position_to_client_units(
                self.lines, ServerTextPosition(len(self.lines) - 1, len(last))
            )
        content = self.lines[where.line].rstrip("\r\n")
        character = min(where.character, len(content))
        return self.codec.position_to_client_units(self.lines, ServerTextPosition(where.line, character))

    def offset_position(self, offset: int) -> types.Position:
        """A code point offset into the text, in client units."""
        line = bisect.bisect_right(self.starts, offset) - 1
        if line >= len(self.lines):
            return self.server_position(ServerTextPosition(len(self.lines), 0))
        return self.codec.position_to_client_units(
            self.lines, ServerTextPosition(line, offset - self.starts[line])
        )

    def to_server(self, position: types.Position) -> ServerTextPosition:
        """A client position as a 0-based code point position."""
        return self.codec.position_from_client_units(
            self.lines, types.Position(line=position.line, character=position.character)
        )


def minimal_edits(old: str, new: str, codec: PositionCodec) -> list[types.TextEdit]:
    """The smallest edits (line diff, then trimmed to the changed characters) turning `old` into `new`.

    Ranges refer to `old`, never overlap and are in document order, as a `TextDocumentEdit` needs.
    """
    if old == new:
        return []
    index = LineIndex(old, codec)
    old_lines, new_lines = index.lines, lsp_lines(new)
    new_starts = [0]
    for line in new_lines:
        new_starts.append(new_starts[-1] + len(line))
    edits: list[types.TextEdit] = []
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        start, end = index.starts[i1], index.starts[i2]
        new_start, new_end = new_starts[j1], new_starts[j2]
        before, after = old[start:end], new[new_start:new_end]
        prefix = _common_prefix(before, after)
        suffix = _common_suffix(before[prefix:], after[prefix:])
        edits.append(
            types.TextEdit(
                range=types.Range(
                    start=index.offset_position(start + prefix),
                    end=index.offset_position(end - suffix),
                ),
                new_text=after[prefix : len(after) - suffix],
            )
        )
    return edits


def _common_prefix(a: str, b: str) -> int:
    limit = min(len(a), len(b))
    n = 0
    while n < limit and a[n] == b[n]:
        n += 1
    # Never split a "\r\n" pair: an edit starting between them would create a lone "\r".
    if n > 0 and a[n - 1 : n] == "\r" and (a[n : n + 1] == "\n" or b[n : n + 1] == "\n"):
        n -= 1
    return n


def _common_suffix(a: str, b: str) -> int:
    limit = min(len(a), len(b))
    n = 0
    while n < limit and a[len(a) - 1 - n] == b[len(b) - 1 - n]:
        n += 1
    if 0 < n < len(a) and a[len(a) - n] == "\n" and a[len(a) - n - 1] == "\r":
        n -= 1
    return n


def apply_edits(text: str, edits: Sequence[types.TextEdit], codec: PositionCodec) -> str:
    """Apply non-overlapping `edits` (ranges in `text`) the way a client does; used to verify edits."""
    index = LineIndex(text, codec)

    def offset(position: types.Position) -> int:
        if position.line >= len(index.lines):
            return len(text)
        where = index.to_server(position)
        return index.starts[where.line] + where.character

    result = text
    for edit in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True):
        result = result[: offset(edit.range.start)] + edit.new_text + result[offset(edit.range.end) :]
    return result
