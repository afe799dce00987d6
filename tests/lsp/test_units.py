"""The language server's pure parts: edits and positions, settings, editor configuration."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types
from pygls.workspace.position_codec import PositionCodec

from punie_lsp.config import ProjectSettings
from punie_lsp.lsp import EDITORS, lsp_editor_config
from punie_lsp.lsp._domain import BufferWorkspace
from punie_lsp.lsp._text import LineIndex, apply_edits, clean_text, lsp_lines, minimal_edits
from punie_lsp.lsp.config import LspSettings, parse_settings
from punie_lsp.lsp.editors import NEOVIM_LUA

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "utf-32"])
@pytest.mark.parametrize(
    ("old", "new"),
    [
        ('x = html(f"<p>{a} 👋</p>")\n', 'x = html(t"<p>{a} 👋</p>")\n'),
        ("a\r\nb\r\nc\r\n", "a\r\nB\r\nc\r\nd\r\n"),
        ("à\nb", "à\nb\nc"),
        ("one\ntwo\nthree\n", "zero\none\nthree\n"),
        ("", "new file\n"),
        ("keep 😀 me\n", ""),
    ],
)
def test_minimal_edits_round_trip(old: str, new: str, encoding: str) -> None:
    """Applying the computed edits in any position encoding gives exactly the new text."""
    codec = PositionCodec(encoding)
    edits = minimal_edits(old, new, codec)
    assert apply_edits(old, edits, codec) == new


def test_minimal_edits_are_minimal() -> None:
    """A one-character fix is a one-character edit, with UTF-16 columns after an emoji."""
    (edit,) = minimal_edits('s = "👋"; html(f"x")\n', 's = "👋"; html(t"x")\n', PositionCodec())
    assert edit.new_text == "t"
    assert edit.range == types.Range(
        start=types.Position(line=0, character=15), end=types.Position(line=0, character=16)
    )


def test_positions_clamp_and_follow_lsp_line_breaks() -> None:
    """Domain positions past a line's end clamp to it; form feeds are not line breaks for LSP."""
    assert lsp_lines("a\fb\nc") == ["a\fb\n", "c"]
    index = LineIndex("ab\ncd\n", PositionCodec())
    assert index.position(1, 99) == types.Position(line=0, character=2)
    assert index.position(9, 1) == types.Position(line=2, character=0)
    assert clean_text("a\udcffb") == "a\ufffdb"


def test_settings_accept_wrapped_camel_case_and_report_bad_values() -> None:
    """`{"punie": {...}}` in camelCase parses; a bad value is reported and the rest still applies."""
    settings, problems = parse_settings(
        {
            "punie": {
                "debounceMs": 20,
                "severity": {"TDOM010": "info"},
                "enabled": "TDOM",
                "ty": {"enabled": False},
            }
        }
    )
    assert settings.debounce_ms == 20 and settings.severity == {"TDOM010": "info"} and not settings.ty.enabled
    assert settings.enabled is None
    assert problems and "enabled" in problems[0]
    assert parse_settings([1, 2])[1] == ["settings must be a JSON object, not list"]


def test_settings_merge_and_apply_to_the_project() -> None:
    """Folder settings override the initialization options; severities merge over the project's."""
    base, _ = parse_settings({"severity": {"TDOM001": "warning"}, "model": "replay:a.jsonl"})
    folder, _ = parse_settings({"severity": {"SVC001": "info"}, "disabled": ["LC"]})
    merged = base.merged(folder)
    project = ProjectSettings()
    domain = merged.domain(project)
    assert domain.severity == {"TDOM001": "warning", "SVC001": "info"}
    assert domain.disabled == ["LC"] and domain.enabled == project.domain.enabled
    assert merged.model_spec(project) == "replay:a.jsonl"
    assert LspSettings().model_spec(project) == project.model


def test_buffer_workspace_reads_buffers_and_keeps_writes(tmp_path: Path) -> None:
    """Reads see unsaved buffers; writes stay in memory and are listed; paths stay confined."""
    (tmp_path / "a.py").write_text("disk\n")
    workspace = BufferWorkspace(tmp_path, buffers={"a.py": "buffer\n"})
    assert workspace.read_text_sync("a.py") == "buffer\n"
    workspace.write_text_sync("pkg/new.py", "x = 1\n")
    assert workspace.read_text_sync("pkg/new.py") == "x = 1\n"
    assert workspace.list_files_sync(".", pattern="*.py") == ["a.py", "pkg/new.py"]
    assert (tmp_path / "a.py").read_text() == "disk\n" and not (tmp_path / "pkg").exists()
    with pytest.raises(Exception, match="outside the workspace"):
        workspace.write_text_sync("../escape.py", "")


def test_editor_configs_match_the_files_in_editors() -> None:
    """Every editor has a configuration; the Neovim Lua is the file shipped in `editors/neovim/`."""
    for editor in EDITORS:
        config = lsp_editor_config(editor)
        assert config.files and config.instructions
    assert (REPO / "editors" / "neovim" / "punie.lua").read_text() == NEOVIM_LUA
    assert "punie lsp" in (REPO / "editors" / "jetbrains" / "lsp4ij.md").read_text()
