"""`punie check` and `punie tool` as a user runs them: the real console script in a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

PUNIE = str(Path(sys.executable).parent / "punie")


def punie(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the installed `punie` script."""
    return subprocess.run([PUNIE, *args], capture_output=True, text=True, cwd=cwd, timeout=300)


def test_planted_fixture_finds_exactly_the_planted_problems(copy_fixture: Callable[[str], Path]) -> None:
    """The JSON report lists exactly the planted ruff and ty problems, 1-based, and exits 1."""
    root = copy_fixture("webapp_planted")
    proc = punie("check", str(root), "--format", "json")
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    assert report["files_checked"] == 6
    found = [
        (d["source"], d["rule"], d["path"], d["line"], d["column"], d["severity"])
        for d in report["diagnostics"]
    ]
    assert found == [
        ("ruff", "F401", "webapp/app.py", 5, 8, "warning"),
        ("ty", "invalid-argument-type", "webapp/app.py", 31, 53, "error"),
        ("ruff", "E711", "webapp/app.py", 32, 28, "warning"),
        ("ty", "invalid-explicit-return", "webapp/services.py", 27, 16, "error"),
    ]
    first = report["diagnostics"][0]
    assert set(first) == {
        "path",
        "line",
        "column",
        "end_line",
        "end_column",
        "rule",
        "severity",
        "message",
        "source",
        "fixable",
    }
    assert first["fixable"] is True


def test_clean_fixture_exits_zero(copy_fixture: Callable[[str], Path]) -> None:
    """The clean project has no diagnostics at all."""
    proc = punie("check", str(copy_fixture("webapp")), "--format", "json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads(proc.stdout)["diagnostics"] == []


def test_fix_applies_only_safe_fixes_and_nothing_without_it(copy_fixture: Callable[[str], Path]) -> None:
    """Without --fix nothing is modified; with it the unused import goes and the rest is reported."""
    root = copy_fixture("webapp_planted")
    before = {p: p.read_bytes() for p in root.rglob("*.py")}
    punie("check", str(root))
    assert {p: p.read_bytes() for p in root.rglob("*.py")} == before
    proc = punie("check", str(root), "--fix", "--format", "json")
    rules = [d["rule"] for d in json.loads(proc.stdout)["diagnostics"]]
    assert "F401" not in rules and "E711" in rules
    changed = [p.relative_to(root).as_posix() for p in before if p.read_bytes() != before[p]]
    assert changed == ["webapp/app.py"]


def test_layers_select_sources(copy_fixture: Callable[[str], Path]) -> None:
    """`--layers ruff` reports ruff only."""
    proc = punie("check", str(copy_fixture("webapp_planted")), "--layers", "ruff", "--format", "json")
    assert {d["source"] for d in json.loads(proc.stdout)["diagnostics"]} == {"ruff"}
    assert proc.returncode == 0  # ruff findings here are warnings


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda root: root / "missing", "does not exist"),
        (lambda root: (root / "empty").mkdir() or root / "empty", "no Python files"),
        (lambda root: (root / "notes.txt").write_text("hi") and root / "notes.txt", "not a Python file"),
    ],
)
def test_usage_errors_exit_2_with_nothing_on_stdout(tmp_path: Path, setup: Callable, message: str) -> None:
    """Bad paths give exit 2, a message on stderr and nothing on stdout."""
    (tmp_path / "pyproject.toml").write_text("")
    proc = punie("check", str(setup(tmp_path)), "--format", "json")
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert message in proc.stderr


def test_unknown_layer_is_a_usage_error(tmp_path: Path) -> None:
    """An unknown layer name is rejected with the valid names."""
    (tmp_path / "a.py").write_text("x = 1\n")
    proc = punie("check", str(tmp_path), "--layers", "ruff,mypy")
    assert proc.returncode == 2 and "'mypy'" in proc.stderr and proc.stdout == ""


def test_broken_files_are_diagnostics_and_the_rest_is_checked(tmp_path: Path) -> None:
    """Syntax errors, binary and non-UTF-8 files get located diagnostics; good files are still checked."""
    (tmp_path / "pyproject.toml").write_text("[tool.ruff]\n")
    (tmp_path / "broken.py").write_text("x = 1\ndef f(:\n    pass\n")
    (tmp_path / "blob.py").write_bytes(b"\x00\x01binary")
    (tmp_path / "latin.py").write_bytes("s = 'café'\n".encode("latin-1"))
    (tmp_path / "good.py").write_text("import os\n")
    proc = punie("check", str(tmp_path), "--format", "json")
    assert proc.returncode == 1
    found = {(d["path"], d["rule"], d["source"], d["line"]) for d in json.loads(proc.stdout)["diagnostics"]}
    assert found == {
        ("blob.py", "binary-file", "syntax", 1),
        ("broken.py", "syntax-error", "syntax", 2),
        ("latin.py", "encoding", "syntax", 1),
        ("good.py", "F401", "ruff", 1),
    }


def test_text_format(copy_fixture: Callable[[str], Path]) -> None:
    """The text format prints one line per diagnostic and a summary."""
    proc = punie("check", str(copy_fixture("webapp_planted")))
    assert "webapp/services.py:27:16: error invalid-explicit-return (ty)" in proc.stdout
    assert proc.stdout.strip().endswith("Checked 6 file(s): 2 error(s), 2 warning(s), 0 info.")


def test_tool_command_json_and_text(copy_fixture: Callable[[str], Path]) -> None:
    """`punie tool` prints the model's JSON dump, or readable text, with exit 1 when the code has problems."""
    root = copy_fixture("webapp_planted")
    proc = punie("tool", "ruff_check", "path=webapp", "--cwd", str(root))
    assert proc.returncode == 1
    data = json.loads(proc.stdout)
    assert data["violation_count"] == 2 and data["tool_error"] is None
    text = punie("tool", "typecheck", "--cwd", str(root), "--format", "text")
    assert "error_count: 2" in text.stdout
    assert "webapp/services.py:27:16: invalid-explicit-return" in text.stdout


def test_tool_command_bad_arguments(tmp_path: Path) -> None:
    """Unknown tools and bad arguments are usage errors (exit 2, stderr only)."""
    unknown = punie("tool", "typo", "--cwd", str(tmp_path))
    assert unknown.returncode == 2 and "known tools" in unknown.stderr and unknown.stdout == ""
    bad = punie("tool", "git_log", "limit=abc", "--cwd", str(tmp_path))
    assert bad.returncode == 2 and "`limit`" in bad.stderr
    malformed = punie("tool", "git_log", "limit", "--cwd", str(tmp_path))
    assert malformed.returncode == 2 and "KEY=VALUE" in malformed.stderr


def test_tool_error_exits_2_with_json(tmp_path: Path) -> None:
    """A tool that could not run still prints its JSON result, with exit 2."""
    proc = punie("tool", "git_status", "--cwd", str(tmp_path))
    assert proc.returncode == 2
    assert "not inside a git repository" in json.loads(proc.stdout)["tool_error"]


def test_list_and_version() -> None:
    """`punie tool --list` lists tools with risks; `--version` prints the version."""
    listed = punie("tool", "--list")
    assert "file_write" in listed.stdout and "write" in listed.stdout
    assert punie("--version").stdout.startswith("punie ")


def test_cli_import_stays_light() -> None:
    """Importing the CLI (for `--help`, `--version`) loads none of the heavy layers."""
    probe = (
        "import sys, punie_lsp.cli\n"
        "names = ('pydantic_ai', 'libcst', 'acp', 'pygls', 'mlx', 'pydantic_monty')\n"
        "heavy = [m for m in names if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
