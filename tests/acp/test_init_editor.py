"""`punie init --editor zed|jetbrains`: the entry is merged; comments and other agents survive."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from punie_lsp.cli import app
from punie_lsp.exceptions import UserError
from punie_lsp.init_editor import agent_entry, init_editor, merge_agent

ZED_SETTINGS = """// Zed settings
{
  "theme": "One Dark", // the best
  /* agents */
  "agent_servers": {
    "Claude": {"command": "claude-acp", "args": []},
  },
}
"""


def test_merge_keeps_comments_and_other_agents(tmp_path: Path) -> None:
    """Zed's JSON with comments: Punie is added next to Claude, the comments and theme stay."""
    config = tmp_path / "settings.json"
    config.write_text(ZED_SETTINGS)
    result = init_editor("zed", config=config, command="/opt/punie")
    text = config.read_text()
    assert result.written and result.backup is not None and result.backup.read_text() == ZED_SETTINGS
    assert "// the best" in text and "/* agents */" in text and text.startswith("// Zed settings")
    assert '"Claude": {"command": "claude-acp", "args": []}' in text
    entry = agent_entry("zed", command="/opt/punie")
    assert entry == {"type": "custom", "command": "/opt/punie", "args": ["acp"], "env": {}}
    again = init_editor("zed", config=config, command="/opt/punie")
    assert not again.changed and not again.written


def test_merge_replaces_an_old_entry_and_creates_missing_files(tmp_path: Path) -> None:
    """An existing Punie entry is updated in place; a missing file is created (JetBrains shape)."""
    old = '{\n  "agent_servers": {\n    "Punie": {"command": "old"},\n    "Other": {"command": "x"}\n  }\n}\n'
    merged = json.loads(merge_agent(old, {"command": "new", "args": ["acp"], "env": {}}))
    assert merged["agent_servers"] == {
        "Punie": {"command": "new", "args": ["acp"], "env": {}},
        "Other": {"command": "x"},
    }
    target = tmp_path / "jb" / "acp.json"
    init_editor("jetbrains", config=target, command="/opt/punie", model="replay:/t.jsonl")
    entry = json.loads(target.read_text())["agent_servers"]["Punie"]
    assert entry == {"command": "/opt/punie", "args": ["acp", "--model", "replay:/t.jsonl"], "env": {}}


@pytest.mark.parametrize("text", ["[1, 2]", '{"agent_servers": [1]}', '{"a": 1', '{"a": /* open'])
def test_unreadable_configs_are_refused_untouched(tmp_path: Path, text: str) -> None:
    """A file that is not a JSON object with comments is never rewritten."""
    config = tmp_path / "settings.json"
    config.write_text(text)
    with pytest.raises(UserError, match="left unchanged"):
        init_editor("zed", config=config, command="/opt/punie")
    assert config.read_text() == text
    assert not list(tmp_path.glob("*.punie-backup"))


def test_cli_dry_run_writes_nothing(tmp_path: Path) -> None:
    """`punie init --editor zed --dry-run` prints the diff and leaves the file alone."""
    config = tmp_path / "settings.json"
    config.write_text(ZED_SETTINGS)
    result = CliRunner().invoke(app, ["init", "--editor", "zed", "--config", str(config), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert '+    "Punie": {' in result.output and "dry run" in result.output
    assert config.read_text() == ZED_SETTINGS


def test_init_for_lsp_only_editors_writes_project_settings(tmp_path: Path) -> None:
    """`punie init --editor neovim|vscode` writes the language-server settings and never rewrites a file."""
    runner = CliRunner()
    result = runner.invoke(app, ["init", "--editor", "vscode", "--cwd", str(tmp_path)])
    assert result.exit_code == 0, result.output
    settings = tmp_path / ".vscode" / "settings.json"
    assert "punie" in settings.read_text()
    settings.write_text('{"keep": true}')
    again = runner.invoke(app, ["init", "--editor", "vscode", "--cwd", str(tmp_path)])
    assert "merge these settings" in again.output
    assert settings.read_text() == '{"keep": true}'
    neovim = runner.invoke(app, ["init", "--editor", "neovim", "--cwd", str(tmp_path), "--dry-run"])
    assert neovim.exit_code == 0 and "punie" in neovim.output
