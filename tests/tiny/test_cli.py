"""`punie model install` errors (in process; the real install runs once, in the `tiny_home` fixture)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

import punie_lsp.models.tiny.install as install_module
from punie_lsp.cli import app


def test_install_without_disk_space_fails_cleanly(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Exit 2 with the reason; nothing is installed."""
    monkeypatch.setenv("PUNIE_HOME", str(tmp_path))
    monkeypatch.setattr(install_module, "_free_bytes", lambda path: 10_000_000)
    result = CliRunner().invoke(app, ["model", "install", "punie-tiny"])
    assert result.exit_code == 2
    assert "not enough disk space" in result.output
    assert not (tmp_path / "models" / "punie-tiny").exists()


def test_only_punie_tiny_can_be_installed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Another name is refused with the one that works."""
    monkeypatch.setenv("PUNIE_HOME", str(tmp_path))
    result = CliRunner().invoke(app, ["model", "install", "qwen3"])
    assert result.exit_code == 2 and "`punie-tiny` is the only installable model" in result.output
