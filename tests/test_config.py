"""Settings come from defaults, pyproject, `.punie/config.toml` and the environment, validated."""

from __future__ import annotations

from pathlib import Path

import pytest

from punie_lsp.config import find_project_root, load_settings
from punie_lsp.exceptions import UserError


def test_defaults_and_punie_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without configuration the defaults apply and PUNIE_HOME is honoured."""
    monkeypatch.setenv("PUNIE_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("PUNIE_MODEL", raising=False)
    settings = load_settings(tmp_path)
    assert settings.punie_home == tmp_path / "home"
    assert settings.model == "punie-tiny"
    assert settings.capture is True


def test_home_defaults_to_dot_punie(monkeypatch: pytest.MonkeyPatch) -> None:
    """PUNIE_HOME unset means `~/.punie`."""
    monkeypatch.delenv("PUNIE_HOME", raising=False)
    assert load_settings().punie_home == Path.home() / ".punie"


def test_pyproject_then_local_config_then_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`.punie/config.toml` overrides `[tool.punie]`, and PUNIE_MODEL overrides both."""
    monkeypatch.delenv("PUNIE_MODEL", raising=False)
    (tmp_path / "pyproject.toml").write_text(
        '[tool.punie]\nmodel = "mlx:a"\ncapture = false\n[tool.punie.domain]\ndisabled = ["TDOM010"]\n'
    )
    (tmp_path / ".punie").mkdir()
    (tmp_path / ".punie" / "config.toml").write_text(
        'model = "mlx:b"\n[domain]\nseverity = {TDOM001 = "info"}\n'
    )
    settings = load_settings(tmp_path)
    assert settings.model == "mlx:b"
    assert settings.capture is False
    assert settings.domain.disabled == ["TDOM010"]
    assert settings.domain.severity == {"TDOM001": "info"}
    monkeypatch.setenv("PUNIE_MODEL", "replay:x.json")
    assert load_settings(tmp_path).model == "replay:x.json"


def test_unknown_option_names_file_and_key(tmp_path: Path) -> None:
    """A typo in the configuration is an error naming the file and the option."""
    (tmp_path / "pyproject.toml").write_text("[tool.punie]\nmodle = 'x'\n")
    with pytest.raises(UserError, match=r"pyproject.toml.*modle"):
        load_settings(tmp_path)


def test_malformed_toml_is_a_user_error(tmp_path: Path) -> None:
    """Broken TOML is reported with the file name, not a traceback."""
    (tmp_path / ".punie").mkdir()
    (tmp_path / ".punie" / "config.toml").write_text("model = \n")
    with pytest.raises(UserError, match="not valid TOML"):
        load_settings(tmp_path)


def test_project_root_is_found_upwards(tmp_path: Path) -> None:
    """The nearest directory with a pyproject is the project root."""
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "src" / "pkg").mkdir(parents=True)
    assert find_project_root(tmp_path / "src" / "pkg") == tmp_path
