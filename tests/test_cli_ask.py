"""`punie ask`, `punie model` and `punie doctor` as a user runs them (real subprocesses, replay model)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

PUNIE = str(Path(sys.executable).parent / "punie")

TURNS = [
    "Let me check.\n<tool_call>\n<function=run_code>\n<parameter=code>\n"
    "r = ruff_check('.')\nt = typecheck('.')\n[r.violation_count, t.error_count]\n"
    "</parameter>\n</function>\n</tool_call>",
    "There are 2 ruff violations and 2 type errors.",
]


def _replay(tmp_path: Path, turns: list[str]) -> Path:
    path = tmp_path / "turns.jsonl"
    path.write_text("".join(json.dumps({"content": t}) + "\n" for t in turns))
    return path


def punie(
    *args: str, home: Path, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the installed script with an isolated PUNIE_HOME and no terminal on stdin."""
    env = {**os.environ, "PUNIE_HOME": str(home), **(env or {})}
    env.pop("PUNIE_MODEL", None)
    return subprocess.run(
        [PUNIE, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )


def test_ask_runs_a_code_mode_turn_end_to_end(tmp_path: Path, copy_fixture: Callable[[str], Path]) -> None:
    """A replayed model's block runs real tools; the answer streams to stdout and tool lines to stderr."""
    root = copy_fixture("webapp_planted")
    proc = punie(
        "ask",
        "What is wrong?",
        "--model",
        f"replay:{_replay(tmp_path, TURNS)}",
        "--cwd",
        str(root),
        home=tmp_path / "home",
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["Let me check.", "There are 2 ruff violations and 2 type errors."]
    assert "ruff_check(path='.') → problems (violation=2, fixable=1)" in proc.stderr
    assert "typecheck(path='.') → problems (error=2, warning=0)" in proc.stderr


def test_ask_json_output(tmp_path: Path, copy_fixture: Callable[[str], Path]) -> None:
    """The JSON format reports the answer, the stop reason and every tool call."""
    root = copy_fixture("webapp_planted")
    proc = punie(
        "ask",
        "What is wrong?",
        "--model",
        f"replay:{_replay(tmp_path, TURNS)}",
        "--cwd",
        str(root),
        "--format",
        "json",
        home=tmp_path / "home",
    )
    data = json.loads(proc.stdout)
    assert data["ok"] and data["stop_reason"] == "end_turn"
    assert [c["name"] for c in data["tool_calls"]] == ["ruff_check", "typecheck"]
    assert data["usage"]["requests"] == 2


def test_ask_without_terminal_denies_writes(tmp_path: Path, copy_fixture: Callable[[str], Path]) -> None:
    """Without --yes and without a terminal, a write is refused and the file is untouched."""
    root = copy_fixture("webapp_planted")
    turns = [
        "<tool_call>\n<function=run_code>\n<parameter=code>\n"
        "try:\n    file_write('new.py', 'x = 1\\n')\n    'written'\nexcept PermissionError:\n    'refused'\n"
        "</parameter>\n</function>\n</tool_call>",
        "I was not allowed to write.",
    ]
    proc = punie(
        "ask",
        "Write a file",
        "--model",
        f"replay:{_replay(tmp_path, turns)}",
        "--cwd",
        str(root),
        home=tmp_path / "home",
    )
    assert proc.returncode == 0, proc.stderr
    assert not (root / "new.py").exists()
    assert "no terminal to ask" in proc.stderr
    allowed = punie(
        "ask",
        "Write a file",
        "--yes",
        "--model",
        f"replay:{_replay(tmp_path, turns)}",
        "--cwd",
        str(root),
        home=tmp_path / "home",
    )
    assert allowed.returncode == 0
    assert (root / "new.py").read_text() == "x = 1\n"


def test_no_model_installed_gives_a_first_run_message(tmp_path: Path) -> None:
    """Default model missing, `PUNIE_AUTO_INSTALL=0`: how to install or choose one (exit 2, no stdout)."""
    (tmp_path / "proj").mkdir()
    proc = punie(
        "ask", "hi", "--cwd", str(tmp_path / "proj"), home=tmp_path / "home", env={"PUNIE_AUTO_INSTALL": "0"}
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "not installed" in proc.stderr and "replay:<file>" in proc.stderr


def test_unreachable_server_fails_fast_with_a_clear_message(tmp_path: Path) -> None:
    """A server that is not there ends the run with an error, not a hang."""
    (tmp_path / "proj").mkdir()
    proc = punie(
        "ask",
        "hi",
        "--model",
        "openai-compat:http://127.0.0.1:9#m",
        "--cwd",
        str(tmp_path / "proj"),
        home=tmp_path / "home",
    )
    assert proc.returncode == 1
    assert "127.0.0.1:9" in proc.stderr or "connect" in proc.stderr.lower()


def test_model_use_info_list_and_doctor(tmp_path: Path) -> None:
    """`model use` persists the default, `info` and `list` show it, `doctor` reports it."""
    home = tmp_path / "home"
    replay = _replay(tmp_path, TURNS)
    used = punie("model", "use", f"replay:{replay}", home=home)
    assert used.returncode == 0
    assert f'model = "replay:{replay}"' in (home / "config.toml").read_text()
    info = punie("model", "info", home=home, cwd=tmp_path)
    assert "backend: replay" in info.stdout and "available: yes" in info.stdout
    assert f"active: replay:{replay}" in punie("model", "list", home=home, cwd=tmp_path).stdout
    doctor = punie("doctor", "--cwd", str(tmp_path), home=home)
    assert doctor.returncode == 0
    assert "ruff" in doctor.stdout and "skills" in doctor.stdout and f"replay:{replay}" in doctor.stdout
    bad = punie("model", "use", "nonsense:x", home=home)
    assert bad.returncode == 2 and "unknown backend" in bad.stderr
