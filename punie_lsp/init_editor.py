"""`punie init --editor zed|jetbrains`: add Punie to the editor's ACP agents without touching the rest.

Zed keeps agents in `agent_servers` of `~/.config/zed/settings.json` (JSON with comments and trailing
commas); JetBrains AI Assistant in `~/.jetbrains/acp.json` (same shape). The file is edited as text: only
the `Punie` entry is inserted or replaced, so the user's comments, formatting and other agents stay as
they were. A file that cannot be read as JSON with comments is refused with the reason, never rewritten.
The write is atomic and the previous file is kept beside it as `<name>.punie-backup`.
"""

from __future__ import annotations

import contextlib
import difflib
import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from punie_lsp.exceptions import UserError

__all__ = (
    "AGENT_NAME",
    "Editor",
    "InitResult",
    "agent_entry",
    "default_config_path",
    "init_editor",
    "merge_agent",
)

Editor = Literal["zed", "jetbrains"]
AGENT_NAME = "Punie"
"""The entry's name in `agent_servers` (what the editor shows)."""


def default_config_path(editor: Editor) -> Path:
    """Where `editor` keeps its ACP agents for this user."""
    home = Path.home()
    match editor:
        case "zed":
            base = Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config")
            return base / "zed" / "settings.json"
        case "jetbrains":
            return home / ".jetbrains" / "acp.json"


def punie_command() -> str:
    """The absolute path of the `punie` executable that is running (or the one on PATH)."""
    beside = Path(sys.executable).parent / "punie"
    if beside.is_file():
        return str(beside)
    found = shutil.which("punie")
    return str(Path(found).resolve()) if found else "punie"


def agent_entry(editor: Editor, *, command: str, model: str | None = None) -> dict[str, Any]:
    """The `agent_servers` entry that starts `punie acp`."""
    args = ["acp", *(["--model", model] if model else [])]
    entry: dict[str, Any] = {"command": command, "args": args, "env": {}}
    return {"type": "custom", **entry} if editor == "zed" else entry


# -- JSON with comments, edited in place ---------------------------------------------------------------


def _blank_comments(text: str) -> str:
    """`text` with comments and trailing commas replaced by spaces (offsets unchanged), for `json`."""
    out = list(text)
    i, n = 0, len(text)
    last_comma: int | None = None
    while i < n:
        c = text[i]
        if c == '"':
            last_comma = None
            i += 1
            while i < n and text[i] != '"':
                i += 2 if text[i] == "\\" else 1
            i += 1
            continue
        if text.startswith("//", i):
            end = text.find("\n", i)
            end = n if end == -1 else end
            out[i:end] = " " * (end - i)
            i = end
            continue
        if text.startswith("/*", i):
            end = text.find("*/", i + 2)
            if end == -1:
                raise ValueError("a `/*` comment is not closed")
            end += 2
            out[i:end] = [ch if ch == "\n" else " " for ch in text[i:end]]
            i = end
            continue
        if c == ",":
            last_comma = i
        elif c in "}]":
            if last_comma is not None:
                out[last_comma] = " "
            last_comma = None
        elif not c.isspace():
            last_comma = None
        i += 1
    return "".join(out)


@dataclass(frozen=True)
class _Member:
    key: str
    value_start: int
    value_end: int


_decoder = json.JSONDecoder()


def _skip_ws(text: str, i: int) -> int:
    while i < len(text) and text[i].isspace():
        i += 1
    return i


def _members(clean: str, start: int) -> tuple[list[_Member], int]:
    """Members of the object whose `{` is at `start` in comment-free `clean`; and the offset of its `}`."""
    assert clean[start] == "{"
    members: list[_Member] = []
    i = _skip_ws(clean, start + 1)
    if clean[i : i + 1] == "}":
        return members, i
    while True:
        if clean[i : i + 1] != '"':
            raise ValueError(f"expected a key at offset {i}")
        key, i = _decoder.raw_decode(clean, i)
        i = _skip_ws(clean, i)
        if clean[i : i + 1] != ":":
            raise ValueError(f"expected `:` at offset {i}")
        value_start = _skip_ws(clean, i + 1)
        _, value_end = _decoder.raw_decode(clean, value_start)
        members.append(_Member(key, value_start, value_end))
        i = _skip_ws(clean, value_end)
        if clean[i : i + 1] == ",":
            i = _skip_ws(clean, i + 1)
            if clean[i : i + 1] == "}":
                return members, i
            continue
        if clean[i : i + 1] == "}":
            return members, i
        raise ValueError(f"expected `,` or `}}` at offset {i}")


def _indent_of(text: str, offset: int) -> str:
    line_start = text.rfind("\n", 0, offset) + 1
    line = text[line_start:offset]
    return line[: len(line) - len(line.lstrip())]


def _render(value: Any, indent: str) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False).replace("\n", "\n" + indent)


def merge_agent(text: str | None, entry: dict[str, Any], *, name: str = AGENT_NAME) -> str:
    """`text` (a settings file, JSON with comments, or None when missing) with `agent_servers.<name>` set.

    Raises:
        ValueError: the text is not a JSON object (with comments), or `agent_servers` is not an object.
    """
    if text is None or not text.strip():
        return json.dumps({"agent_servers": {name: entry}}, indent=2) + "\n"
    clean = _blank_comments(text)
    try:
        parsed = json.loads(clean)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from exc
    if not isinstance(parsed, dict):
        raise ValueError("the top level is not a JSON object")
    top_start = _skip_ws(clean, 0)
    top, _ = _members(clean, top_start)
    servers = next((m for m in top if m.key == "agent_servers"), None)
    if servers is None:
        indent = _indent_of(text, top[0].value_start) if top else "  "
        block = f'\n{indent}"agent_servers": {_render({name: entry}, indent)}{"," if top else ""}'
        if not top:
            block += "\n"
        return text[: top_start + 1] + block + text[top_start + 1 :]
    if clean[servers.value_start] != "{":
        raise ValueError("`agent_servers` is not a JSON object")
    inner, inner_end = _members(clean, servers.value_start)
    existing = next((m for m in inner if m.key == name), None)
    if existing is not None:
        indent = _indent_of(text, existing.value_start)
        return text[: existing.value_start] + _render(entry, indent) + text[existing.value_end :]
    outer_indent = _indent_of(text, servers.value_start)
    indent = _indent_of(text, inner[0].value_start) if inner else outer_indent + "  "
    block = f'\n{indent}"{name}": {_render(entry, indent)}{"," if inner else ""}'
    if not inner:
        block += "\n" + outer_indent
        return text[: servers.value_start + 1] + block + text[inner_end:]
    return text[: servers.value_start + 1] + block + text[servers.value_start + 1 :]


# -- the command -----------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class InitResult:
    """What `punie init` did (or would do)."""

    path: Path
    """The editor's config file."""
    before: str | None
    """Its text before (None when it did not exist)."""
    after: str
    """Its text with Punie's entry."""
    written: bool
    """False for a dry run or when nothing changed."""
    backup: Path | None = None
    """Where the previous file was kept."""

    @property
    def changed(self) -> bool:
        """Whether the entry was missing or different."""
        return self.before != self.after

    def diff(self) -> str:
        """A unified diff of the change."""
        return "".join(
            difflib.unified_diff(
                (self.before or "").splitlines(keepends=True),
                self.after.splitlines(keepends=True),
                str(self.path),
                str(self.path),
            )
        )


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o7777)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def init_editor(
    editor: Editor,
    *,
    config: Path | None = None,
    command: str | None = None,
    model: str | None = None,
    dry_run: bool = False,
) -> InitResult:
    """Add (or update) Punie in `editor`'s agent list.

    Raises:
        UserError: the config file cannot be read or is not JSON with comments; nothing is written.
    """
    path = config if config is not None else default_config_path(editor)
    try:
        before = path.read_text(encoding="utf-8") if path.exists() else None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read `{path}`: {exc}") from exc
    entry = agent_entry(editor, command=command or punie_command(), model=model)
    try:
        after = merge_agent(before, entry)
        check = json.loads(_blank_comments(after))
    except ValueError as exc:
        raise UserError(
            f"`{path}` is left unchanged: {exc}; add the entry by hand (see `editors/{editor}/`)"
        ) from exc
    assert check["agent_servers"][AGENT_NAME] == entry, "the merged file lost the entry"
    if dry_run or before == after:
        return InitResult(path=path, before=before, after=after, written=False)
    backup = None
    if before is not None:
        backup = path.with_name(path.name + ".punie-backup")
        backup.write_text(before, encoding="utf-8")
    _write_atomic(path, after)
    return InitResult(path=path, before=before, after=after, written=True, backup=backup)
