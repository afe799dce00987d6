"""Sessions that outlive the process, and input no editor should send: each test starts its own agent."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path

import acp
import pytest
from acp.schema import ClientCapabilities

from tests.acp.conftest import PUNIE, EditorClient, agent_env, running_agent, tool_call

pytestmark = pytest.mark.e2e

MakeProject = Callable[..., Path]


def _squash(kinds: list[str]) -> list[str]:
    """Adjacent text chunks merged, as a session record keeps them."""
    return [k for i, k in enumerate(kinds) if not (k.endswith("_chunk") and i and kinds[i - 1] == k)]


async def test_load_after_a_restart_replays_the_conversation(tmp_path: Path, project: MakeProject) -> None:
    """A new process lists the session, replays every turn on load, and the model keeps its history."""
    turns = [tool_call("file_read('app.py')", "Reading."), "It sets x.", "You asked about app.py before."]
    root = project(turns, {"app.py": "x = 1\n"})
    home = tmp_path / "home"
    async with running_agent(home) as first:
        session_id = (await first.conn.new_session(cwd=str(root), mcp_servers=[])).session_id
        await first.conn.prompt(session_id=session_id, prompt=[acp.text_block("What does app.py do?")])
        shown = [u.session_update for s, u in first.client.updates if s == session_id]
    async with running_agent(home) as second:
        listed = await second.conn.list_sessions(cwd=str(root))
        assert [s.session_id for s in listed.sessions] == [session_id]
        assert listed.sessions[0].title == "What does app.py do?"
        response = await second.conn.load_session(cwd=str(root), session_id=session_id, mcp_servers=[])
        assert response is not None and response.modes is not None
        replayed = second.client.updates
        assert replayed[0][1].session_update == "user_message_chunk"
        assert replayed[0][1].content.text == "What does app.py do?"
        kinds = [u.session_update for _, u in replayed]
        live = [k for k in shown if k not in ("available_commands_update", "session_info_update")]
        assert kinds == ["user_message_chunk", *_squash(live)]
        assert "tool_call" in kinds and "tool_call_update" in kinds
        assert second.client.text(session_id) == first.client.text(session_id)
        await second.conn.prompt(session_id=session_id, prompt=[acp.text_block("And before?")])
        record = json.loads((home / "sessions" / f"{session_id}.json").read_text())
        requests = [m for m in record["history"] if m["kind"] == "request"]
        assert any("What does app.py do?" in json.dumps(m) for m in requests)
        assert len(record["turns"]) == 2
        await second.conn.close_session(session_id=session_id)
        before = len(second.client.updates)
        resumed = await second.conn.resume_session(cwd=str(root), session_id=session_id, mcp_servers=[])
        assert resumed.modes is not None
        await second.conn.prompt(session_id=session_id, prompt=[acp.text_block("/help")])
        later = [u.session_update for _, u in second.client.updates[before:]]
        assert "user_message_chunk" not in later and "tool_call" not in later


async def _read_messages(process: asyncio.subprocess.Process, count: int) -> list[dict]:
    assert process.stdout is not None
    messages = []
    while len(messages) < count:
        line = await asyncio.wait_for(process.stdout.readline(), 30)
        assert line, "the agent closed its output"
        messages.append(json.loads(line))
    return messages


async def test_bad_lines_are_answered_and_a_disconnect_mid_turn_ends_cleanly(
    tmp_path: Path, project: MakeProject
) -> None:
    """Raw stdio: bad lines get JSON-RPC errors and the agent serves on; then the client vanishes mid-turn.

    The turn stops, the agent exits 0, and the session record is valid with the turn marked cancelled.
    """
    root = project([tool_call("while True:\n    file_list('.')"), "never"], {"a.py": "0\n"})
    home = tmp_path / "home"
    process = await asyncio.create_subprocess_exec(
        PUNIE, "acp", stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, env=agent_env(home)
    )
    assert process.stdin is not None and process.stdout is not None
    lines = [
        "this is not json",
        "[1, 2, 3]",
        '{"jsonrpc": "2.0", "id": 1, "method": "session/frobnicate", "params": {}}',
        '{"jsonrpc": "2.0", "id": 2, "method": "session/new", "params": {"cwd": 42}}',
        json.dumps(
            {
                "jsonrpc": "2.0",
                "id": 3,
                "method": "session/prompt",
                "params": {"sessionId": "no", "prompt": []},
            }
        ),
        '{"jsonrpc": "2.0", "id": 4, "method": "initialize", "params": {"protocolVersion": 1}}',
        json.dumps(
            {
                "jsonrpc": "2.0",
                "id": 5,
                "method": "session/new",
                "params": {"cwd": str(root), "mcpServers": []},
            }
        ),
    ]
    process.stdin.write(("\n".join(lines) + "\n").encode())
    messages = await _read_messages(process, 7)
    by_id = {m.get("id"): m for m in messages if "id" in m and m["id"] is not None}
    nulls = [m for m in messages if m.get("id") is None and "error" in m]
    assert sorted(m["error"]["code"] for m in nulls) == [-32700, -32600]
    assert by_id[1]["error"]["code"] == -32601
    assert by_id[2]["error"]["code"] == -32602
    assert "unknown session" in by_id[3]["error"]["message"]
    assert by_id[4]["result"]["protocolVersion"] == 1
    session_id = by_id[5]["result"]["sessionId"]
    prompt = {
        "jsonrpc": "2.0",
        "id": 6,
        "method": "session/prompt",
        "params": {"sessionId": session_id, "prompt": [{"type": "text", "text": "loop"}]},
    }
    process.stdin.write((json.dumps(prompt) + "\n").encode())
    seen = 0
    while seen < 5:
        message = json.loads(await asyncio.wait_for(process.stdout.readline(), 30))
        seen += message.get("params", {}).get("update", {}).get("sessionUpdate") == "tool_call"
    process.stdin.close()
    assert await asyncio.wait_for(process.wait(), 15) == 0
    record = json.loads((home / "sessions" / f"{session_id}.json").read_text())
    assert record["turns"][-1]["stop_reason"] == "cancelled"
    assert not list((home / "sessions").glob(".*.tmp"))


async def test_model_flag_permission_timeout_and_no_client_fs(tmp_path: Path) -> None:
    """`--model`, `--permission-timeout` (an unanswered question is a denial) and no client `fs`.

    The model serves a project with no Punie config; without `fs`, files are read and written locally.
    """
    turns = [
        tool_call("file_write('a.py', 'changed\\n')"),
        "Not allowed.",
        tool_call("file_read('a.py').content"),
        "Read.",
    ]
    replay = tmp_path / "turns.jsonl"
    replay.write_text("".join(json.dumps({"content": turn}) + "\n" for turn in turns))
    root = tmp_path / "plain"
    root.mkdir()
    (root / "a.py").write_text("0\n")
    client = EditorClient(answer="never")
    args = ("--model", f"replay:{replay}", "--permission-timeout", "0.5")
    capabilities = ClientCapabilities()
    async with running_agent(tmp_path / "home", *args, client=client, capabilities=capabilities) as agent:
        session_id = (await agent.conn.new_session(cwd=str(root), mcp_servers=[])).session_id
        started = time.monotonic()
        response = await agent.conn.prompt(session_id=session_id, prompt=[acp.text_block("write")])
        assert response.stop_reason == "end_turn"
        assert time.monotonic() - started < 10
        await agent.conn.prompt(session_id=session_id, prompt=[acp.text_block("read")])
    assert (root / "a.py").read_text() == "0\n"
    assert len(client.permission_requests) == 1
    assert client.reads == [] and client.writes == []
    assert client.text(session_id).endswith("Read.")
