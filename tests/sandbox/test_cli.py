"""`punie code run`: the JSON contract, exit codes, permissions and usage errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from punie_lsp.sandbox.cli import app

pytestmark = pytest.mark.timeout(60)

ROOT = Path(__file__).resolve().parents[2]


def _block(tmp_path: Path, code: str) -> Path:
    path = tmp_path / "block.py"
    path.write_text(code)
    return path


def _run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), input=stdin)
    return result.exit_code, result.stdout, result.stderr


def test_json_contract_for_a_successful_block(project: Path, tmp_path: Path) -> None:
    """A good block prints exactly `ok`, `result`, `stdout`, `error` and `tool_calls`, and exits 0."""
    block = _block(tmp_path, "r = file_read('app/util.py')\nprint(r.line_count)\nr.path")
    code, out, _ = _run("run", str(block), "--cwd", str(project))
    assert code == 0
    report = json.loads(out)
    assert list(report) == ["ok", "result", "stdout", "error", "tool_calls"]
    assert report["ok"] is True
    assert report["result"] == "app/util.py"
    assert report["stdout"] == "13\n"
    assert report["error"] is None
    [call] = report["tool_calls"]
    assert list(call) == ["name", "args", "ok", "duration_ms"]
    assert (call["name"], call["args"], call["ok"]) == ("file_read", {"path": "app/util.py"}, True)
    assert call["duration_ms"] > 0


def test_failed_block_exits_1_with_a_structured_error(project: Path, tmp_path: Path) -> None:
    """A type error exits 1 and reports kind, message and line."""
    block = _block(tmp_path, "r = ruff_check('.')\nr.violation_cnt")
    code, out, _ = _run("run", str(block), "--cwd", str(project))
    assert code == 1
    report = json.loads(out)
    assert report["ok"] is False
    assert report["error"]["kind"] == "type"
    assert report["error"]["line"] == 2
    assert "violation_cnt" in report["error"]["message"]
    assert report["tool_calls"] == []


def test_writes_are_denied_without_allow_writes(project: Path, tmp_path: Path) -> None:
    """Without `--allow-writes` a write is a permission error and the file stays as it was."""
    block = _block(tmp_path, "file_write('app/util.py', 'gone')")
    before = (project / "app/util.py").read_text()
    code, out, _ = _run("run", str(block), "--cwd", str(project))
    assert code == 1
    report = json.loads(out)
    assert report["error"]["kind"] == "permission"
    assert report["tool_calls"][0]["ok"] is False
    assert (project / "app/util.py").read_text() == before


def test_allow_writes_lets_the_block_write(project: Path) -> None:
    """With `--allow-writes` the same kind of block writes (block read from stdin with `-`)."""
    code, out, _ = _run(
        "run", "-", "--cwd", str(project), "--allow-writes", stdin="file_write('made.txt', 'hi').created"
    )
    assert code == 0, out
    assert json.loads(out)["result"] is True
    assert (project / "made.txt").read_text() == "hi"


def test_text_format_is_readable(project: Path) -> None:
    """`--format text` prints the output, the result, each tool call and the error for humans."""
    code, out, _ = _run("run", "-", "--cwd", str(project), "--format", "text", stdin="print('hello')\n1 / 0")
    assert code == 1
    assert out.startswith("hello\n")
    assert "The block failed (runtime error at line 2)" in out
    assert "ZeroDivisionError: division by zero" in out


def test_missing_file_is_a_usage_error_with_nothing_on_stdout(project: Path) -> None:
    """A block file that does not exist exits 2 with a message on stderr only."""
    code, out, err = _run("run", str(project / "nope.py"), "--cwd", str(project))
    assert code == 2
    assert out == ""
    assert "is not a file" in err


def test_bad_workspace_is_a_usage_error(tmp_path: Path) -> None:
    """A `--cwd` that is not a directory exits 2 with a message on stderr only."""
    code, out, err = _run("run", "-", "--cwd", str(tmp_path / "missing"), stdin="1")
    assert code == 2
    assert out == ""
    assert "is not a directory" in err


def test_module_runs_as_a_subprocess(project: Path, tmp_path: Path) -> None:
    """`python -m punie_lsp.sandbox.cli run FILE --cwd DIR` prints the JSON report."""
    block = _block(tmp_path, "files = file_list('app').files\nlen(files)")
    proc = subprocess.run(
        [sys.executable, "-m", "punie_lsp.sandbox.cli", "run", str(block), "--cwd", str(project)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["ok"] is True
    assert report["result"] == 4
