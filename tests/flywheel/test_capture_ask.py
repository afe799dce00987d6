"""End to end: `punie ask` (a real subprocess, a replayed model) leaves a correct trace and a git commit."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic_ai.messages import ModelMessagesTypeAdapter, ModelRequest, ModelResponse, UserPromptPart

from punie_lsp.agent.session import PunieSession
from punie_lsp.flywheel.capture import capture_session
from punie_lsp.flywheel.oneshot import ask_once
from punie_lsp.flywheel.schema import SessionEnd, SessionHeader, TurnRecord
from punie_lsp.flywheel.store import SessionRef, TraceStore, read_records
from punie_lsp.models import resolve_model
from punie_lsp.tools.context import ToolContext

PUNIE = str(Path(sys.executable).parent / "punie")
API_KEY = "sk-proj-Zq8Xw7Ve6Ud5Tc4Sb3Ra2Qp1On0Mm9Ll8Kk7"
ENV_SECRET = "hunter2-Tr0ub4dor-42"
CHECK = (
    "Let me check.\n<tool_call>\n<function=run_code>\n<parameter=code>\n"
    "r = ruff_check('.')\nprint(r.violation_count)\nr.violation_count\n"
    "</parameter>\n</function>\n</tool_call>"
)


def _replay(tmp_path: Path, turns: list[str]) -> str:
    path = tmp_path / "turns.jsonl"
    path.write_text("".join(json.dumps({"content": t}) + "\n" for t in turns))
    return f"replay:{path}"


def _ask(prompt: str, *, root: Path, home: Path, model: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PUNIE_HOME": str(home)}
    env.pop("PUNIE_MODEL", None)
    return subprocess.run(
        [PUNIE, "ask", prompt, "--model", model, "--cwd", str(root)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def _git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout


@pytest.mark.slow
def test_ask_leaves_a_trace_and_a_commit(tmp_path: Path, copy_fixture: Callable[[str], Path]) -> None:
    """One `punie ask` run: header, turn (block, typed tool result, validation, messages), end, commit."""
    root = copy_fixture("webapp_planted")
    (root / ".env").write_text(f"DATABASE_PASSWORD={ENV_SECRET}\n")
    subprocess.run(["git", "init", "-q", "-b", "feature/login-form"], cwd=root, check=True)
    home = tmp_path / "home"
    prompt = f"What is wrong? (my key is {API_KEY}, the db password is {ENV_SECRET})"
    model = _replay(tmp_path, [CHECK, "There are 2 ruff violations."])
    proc = _ask(prompt, root=root, home=home, model=model)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["Let me check.", "There are 2 ruff violations."]
    files = list((home / "training_data").glob("*/*/*.jsonl"))
    assert len(files) == 1
    path = files[0]
    assert path.parent.name == "feature-login-form"
    data = path.read_bytes()
    assert API_KEY.encode() not in data and ENV_SECRET.encode() not in data
    header, turn, end = read_records(path)
    assert isinstance(header, SessionHeader) and isinstance(turn, TurnRecord) and isinstance(end, SessionEnd)
    assert (header.feature, header.feature_source, header.front_end) == (
        "feature-login-form",
        "branch",
        "ask",
    )
    assert header.model.spec == model and header.model.system == "replay"
    assert [t["function"]["name"] for t in header.tools] == ["run_code"]
    assert header.instructions.startswith("You are Punie")
    assert turn.turn == 1 and "[REDACTED:" in turn.prompt and turn.outcome.stop_reason == "end_turn"
    assert turn.outcome.output == "There are 2 ruff violations."
    (block,) = turn.blocks
    assert block.ok and block.value == 2 and "ruff_check('.')" in block.code
    (call,) = block.tool_calls
    assert call.name == "ruff_check" and call.result_type == "RuffResult"
    assert call.result is not None and call.result["violation_count"] == 2
    assert [(v.check, v.passed, v.problems) for v in turn.validation] == [("ruff", False, 2)]
    assert turn.usage.requests == 2 and turn.usage.duration_s > 0
    messages = ModelMessagesTypeAdapter.validate_python(turn.messages)
    assert isinstance(messages[0], ModelRequest) and isinstance(messages[-1], ModelResponse)
    first = messages[0].parts[-1]
    assert isinstance(first, UserPromptPart) and "[REDACTED:" in str(first.content)
    log = _git("log", "--format=%an %s", cwd=home)
    assert f"Punie capture: {header.project}/feature-login-form session {header.session_id}" in log
    assert _git("status", "--porcelain", cwd=home) == ""


async def test_capture_false_opts_a_project_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`capture = false` in `[tool.punie]`: the answer comes, and nothing is recorded."""
    root = tmp_path / "proj"
    root.mkdir()
    (root / "pyproject.toml").write_text('[project]\nname = "quiet"\n\n[tool.punie]\ncapture = false\n')
    home = tmp_path / "home"
    monkeypatch.setenv("PUNIE_HOME", str(home))
    result = await ask_once("hi", cwd=root, model_spec=_replay(tmp_path, ["Hello."]))
    assert result.output == "Hello."
    assert not (home / "training_data").exists()


@pytest.mark.parametrize("problem", ["conflicts", "not-a-repo"])
async def test_a_broken_punie_home_repository_does_not_stop_capture(
    tmp_path: Path, problem: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A home repository with conflicts, or a `.git` that is not a repository: trace written, told once."""
    root = tmp_path / "proj"
    root.mkdir()
    home = tmp_path / "home"
    home.mkdir()
    if problem == "conflicts":
        env_git = ("-c", "user.name=t", "-c", "user.email=t@t")
        _git("init", "-q", "-b", "main", cwd=home)
        (home / "notes.txt").write_text("base\n")
        _git(*env_git, "add", ".", cwd=home)
        _git(*env_git, "commit", "-qm", "base", cwd=home)
        _git("checkout", "-qb", "other", cwd=home)
        (home / "notes.txt").write_text("other\n")
        _git(*env_git, "commit", "-qam", "other", cwd=home)
        _git("checkout", "-q", "main", cwd=home)
        (home / "notes.txt").write_text("main\n")
        _git(*env_git, "commit", "-qam", "main", cwd=home)
        subprocess.run(["git", *env_git, "merge", "-q", "other"], cwd=home, capture_output=True)
        expected = "unresolved conflicts"
    else:
        (home / ".git").write_text("this is not a repository\n")
        expected = "PUNIE_HOME git:"
    monkeypatch.setenv("PUNIE_HOME", str(home))
    model = _replay(tmp_path, ["Hello.", "Hello again."])
    with caplog.at_level(logging.WARNING, logger="punie_lsp.flywheel"):
        first = await ask_once("hi", cwd=root, model_spec=model)
        second = await ask_once("hi again", cwd=root, model_spec=model)
    assert (first.output, second.output) == ("Hello.", "Hello again.")
    problems = [r.getMessage() for r in caplog.records if expected in r.getMessage()]
    assert len(problems) == 1  # once per process and PUNIE_HOME, not per session, turn or git call
    paths = sorted((home / "training_data").glob("*/*/*.jsonl"))
    assert len(paths) == 2
    for path in paths:
        assert [type(r).__name__ for r in read_records(path)] == ["SessionHeader", "TurnRecord", "SessionEnd"]


async def test_a_front_end_session_with_signals_and_a_user_spec_edit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two traced turns through `capture_session`: a `/rate`, and a spec file the user edits in between."""
    root = tmp_path / "proj"
    (root / "docs").mkdir(parents=True)
    (root / "docs" / "features.md").write_text("# Login\n\n- email and password\n")
    home = tmp_path / "home"
    monkeypatch.setenv("PUNIE_HOME", str(home))
    ctx = ToolContext.for_root(root)
    spec = _replay(tmp_path, ["First answer.", "Second answer."])
    model = resolve_model(spec, punie_home=home)
    async with PunieSession(model=model, ctx=ctx) as session:
        async with capture_session(session, model_spec=spec, front_end="acp") as capture:
            await capture.prompt("Plan the login form")
            assert await capture.command("/rate 4") == "Rating 4 recorded for turn 1."
            assert await capture.command("what next?") is None
            (root / "docs" / "features.md").write_text("# Login\n\n- email and password\n- magic link\n")
            await capture.prompt("Now the magic link")
            path = capture.path
        assert capture.session_id is not None and path is not None
    trace = TraceStore(home).load(
        SessionRef(project="proj", feature="default", session_id=path.stem, path=path)
    )
    assert [t.prompt for t in trace.turns] == ["Plan the login form", "Now the magic link"]
    assert trace.turns[1].history_len == len(trace.turns[0].messages) == 2
    assert [(s.kind, s.turn) for s in trace.signals] == [("rate", 1), ("spec_edited", 1)]
    edit = trace.signals[1].payload
    assert edit["path"] == "docs/features.md" and edit["by"] == "user" and "+- magic link" in edit["diff"]
    assert trace.end is not None and trace.end.turns == 2
