"""A real third-party ACP client, acpx (npm), runs a full turn against `punie acp` with a replayed model.

CI installs acpx into `.ci/node/` (`npm install --prefix .ci/node acpx@0.19.1`); the test fails with
that instruction when it is missing.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.acp.conftest import PUNIE, agent_env, tool_call

pytestmark = pytest.mark.e2e

ACPX = Path(__file__).resolve().parents[2] / ".ci" / "node" / "node_modules" / ".bin" / "acpx"


def test_acpx_runs_a_full_turn(tmp_path: Path, project: Callable[..., Path]) -> None:
    """acpx initializes, opens a session, approves the edit, gets streamed text and `end_turn`."""
    if not ACPX.is_file():
        pytest.fail(f"acpx is not installed at {ACPX}; run `npm install --prefix .ci/node acpx@0.19.1`")
    root = project(
        [tool_call("file_edit('app.py', 'x = 1', 'x = 2')", "Let me fix it."), "Done: x is 2 now."],
        {"app.py": "x = 1\nprint(x)\n"},
    )
    replay = root.parent / f"{root.name}-turns.jsonl"
    env = {**agent_env(tmp_path / "home"), "HOME": str(tmp_path / "user")}
    proc = subprocess.run(
        [
            str(ACPX),
            "--approve-all",
            "--format",
            "json",
            "--cwd",
            str(root),
            "--agent",
            f"{PUNIE} acp --model replay:{replay}",
            "exec",
            "make x two",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
        cwd=os.fspath(root),
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    messages = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    methods = [m.get("method") for m in messages]
    assert {
        "initialize",
        "session/new",
        "session/prompt",
        "session/request_permission",
        "fs/write_text_file",
    } <= set(methods)
    updates = [m["params"]["update"] for m in messages if m.get("method") == "session/update"]
    text = "".join(u["content"]["text"] for u in updates if u["sessionUpdate"] == "agent_message_chunk")
    assert "Done: x is 2 now." in text
    assert any(
        c.get("type") == "diff"
        for u in updates
        if u["sessionUpdate"] == "tool_call_update"
        for c in u.get("content") or []
    )
    assert any(
        m.get("result", {}).get("stopReason") == "end_turn"
        for m in messages
        if isinstance(m.get("result"), dict)
    )
    assert (root / "app.py").read_text() == "x = 2\nprint(x)\n"
