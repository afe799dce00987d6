"""`punie acp` through the SDK's client over stdio: streaming, tool calls, permissions, modes, commands.

One agent process serves the whole module; each test opens its own session in its own project, whose
`.punie/config.toml` names the replay file the model answers from.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path

import acp
import pytest
from acp import RequestError

from punie_lsp.flywheel.schema import SignalRecord
from punie_lsp.flywheel.store import read_records
from tests.acp.conftest import EDITOR_CAPABILITIES, Agent, tool_call

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]

MakeProject = Callable[..., Path]


async def _session(agent: Agent, root: Path) -> str:
    response = await agent.conn.new_session(cwd=str(root), mcp_servers=[])
    return response.session_id


async def _prompt(agent: Agent, session_id: str, text: str) -> str:
    response = await agent.conn.prompt(session_id=session_id, prompt=[acp.text_block(text)])
    return response.stop_reason


def _record(agent: Agent, session_id: str) -> dict:
    return json.loads((agent.home / "sessions" / f"{session_id}.json").read_text())


async def _wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        await asyncio.sleep(0.01)


async def test_initialize_is_honest(agent: Agent) -> None:
    """Capabilities: load, list, resume, close and embedded context; no images or audio."""
    response = await agent.conn.initialize(protocol_version=1, client_capabilities=EDITOR_CAPABILITIES)
    caps = response.agent_capabilities
    assert response.protocol_version == 1
    assert caps is not None and caps.load_session
    assert caps.prompt_capabilities is not None
    assert caps.prompt_capabilities.embedded_context
    assert not caps.prompt_capabilities.image and not caps.prompt_capabilities.audio
    sessions = caps.session_capabilities
    assert sessions is not None and sessions.list and sessions.resume and sessions.close
    assert response.agent_info is not None and response.agent_info.name == "punie"


async def test_new_session_offers_modes_config_options_and_commands(
    agent: Agent, project: MakeProject
) -> None:
    """Modes and the `mode` config option match; the slash commands are advertised after the response."""
    root = project(["Hi."])
    response = await agent.conn.new_session(cwd=str(root), mcp_servers=[])
    assert response.modes is not None
    assert response.modes.current_mode_id == "ask"
    assert [m.id for m in response.modes.available_modes] == ["ask", "accept-edits", "plan", "trust"]
    assert response.config_options is not None
    option = response.config_options[0]
    assert option.id == "mode" and option.current_value == "ask"
    await _wait_for(lambda: bool(agent.client.of(response.session_id, "available_commands_update")))
    names = [
        c.name
        for c in agent.client.of(response.session_id, "available_commands_update")[0].available_commands
    ]
    assert {"check", "fix", "test", "skills", "correct", "add", "rate"} <= set(names)


async def test_answer_streams_in_chunks(agent: Agent, project: MakeProject) -> None:
    """The answer arrives as several `agent_message_chunk`s; thoughts as `agent_thought_chunk`."""
    answer = "Punie streams this answer token by token, so the panel fills as the model writes."
    root = project([f"<think>Short thought.</think>{answer}"])
    session_id = await _session(agent, root)
    assert await _prompt(agent, session_id, "hello") == "end_turn"
    chunks = agent.client.of(session_id, "agent_message_chunk")
    assert len(chunks) > 2
    assert agent.client.text(session_id).strip() == answer
    assert "Short thought." in agent.client.text(session_id, "agent_thought_chunk")


async def test_tool_calls_kinds_locations_raw_output_and_unsaved_buffers(
    agent: Agent, project: MakeProject
) -> None:
    """Nested calls show with kinds, absolute 1-based locations and typed raw output; reads see buffers."""
    code = "r = file_read('app.py', start_line=2)\ns = file_search('needle', path='.')\nr.content"
    root = project(
        [tool_call(code), "Found it."],
        {"app.py": "a = 1\nb = 2\n", "lib.py": "x = 0\n# needle here\n"},
    )
    agent.client.buffers[str(root / "app.py")] = "a = 1\nb = 'unsaved'\n"
    session_id = await _session(agent, root)
    assert await _prompt(agent, session_id, "look") == "end_turn"
    starts = {u.tool_call_id: u for u in agent.client.of(session_id, "tool_call")}
    ends = {u.tool_call_id: u for u in agent.client.of(session_id, "tool_call_update") if u.status}
    kinds = sorted(u.kind for u in starts.values())
    assert kinds == ["other", "read", "search"]
    read = next(u for u in starts.values() if u.kind == "read")
    assert read.locations[0].path == str(root / "app.py") and read.locations[0].line == 2
    assert ends[read.tool_call_id].raw_output["content"] == "b = 'unsaved'\n"
    search = next(u for u in starts.values() if u.kind == "search")
    found = ends[search.tool_call_id]
    assert found.raw_output["match_count"] == 1
    assert [(loc.path, loc.line) for loc in found.locations] == [(str(root / "lib.py"), 2)]
    assert "match=1" in found.content[0].content.text
    assert str(root / "app.py") in agent.client.reads


async def test_edit_asks_and_shows_a_diff(agent: Agent, project: MakeProject) -> None:
    """An edit asks with four options and a diff preview, writes through the editor, and shows the diff."""
    root = project(
        [tool_call("file_edit('app.py', 'x = 1', 'x = 2')"), "Changed."], {"app.py": "x = 1\nprint(x)\n"}
    )
    session_id = await _session(agent, root)
    before = len(agent.client.permission_requests)
    agent.client.answer = "allow-once"
    assert await _prompt(agent, session_id, "edit") == "end_turn"
    request, options = agent.client.permission_requests[before]
    assert [o.kind for o in options] == ["allow_once", "allow_always", "reject_once", "reject_always"]
    assert request.content[-1].type == "diff" and request.content[-1].new_text == "x = 2\nprint(x)\n"
    assert (root / "app.py").read_text() == "x = 2\nprint(x)\n"
    assert str(root / "app.py") in agent.client.writes
    edit = next(
        u
        for u in agent.client.of(session_id, "tool_call_update")
        if u.status == "completed" and u.content and any(c.type == "diff" for c in u.content)
    )
    diff = next(c for c in edit.content if c.type == "diff")
    assert diff.path == str(root / "app.py")
    assert (diff.old_text, diff.new_text) == ("x = 1\nprint(x)\n", "x = 2\nprint(x)\n")
    assert edit.locations[0].line == 1


@pytest.mark.parametrize("answer", ["reject-once", "cancelled", "no-such-option"])
async def test_a_rejection_is_honoured(agent: Agent, project: MakeProject, answer: str) -> None:
    """A selected reject (or a cancelled or unknown answer) leaves the file as it was; the model is told."""
    root = project(
        [tool_call("file_write('app.py', 'gone\\n')"), "I could not write it."], {"app.py": "keep\n"}
    )
    session_id = await _session(agent, root)
    agent.client.answer = answer
    try:
        assert await _prompt(agent, session_id, "write") == "end_turn"
    finally:
        agent.client.answer = "allow-once"
    assert (root / "app.py").read_text() == "keep\n"
    failed = [u for u in agent.client.of(session_id, "tool_call_update") if u.status == "failed"]
    assert any("Not run" in u.content[0].content.text for u in failed if u.content)
    assert "permission denied" in json.dumps(_record(agent, session_id)["history"])


async def test_always_answers_are_remembered(agent: Agent, project: MakeProject) -> None:
    """`reject always` refuses later calls of that tool without asking again."""
    turns = [
        tool_call("file_write('a.py', '1\\n')"),
        "no",
        tool_call("file_write('a.py', '2\\n')"),
        "still no",
    ]
    root = project(turns, {"a.py": "0\n"})
    session_id = await _session(agent, root)
    before = len(agent.client.permission_requests)
    agent.client.answer = "reject-always"
    try:
        await _prompt(agent, session_id, "one")
        await _prompt(agent, session_id, "two")
    finally:
        agent.client.answer = "allow-once"
    assert len(agent.client.permission_requests) == before + 1
    assert (root / "a.py").read_text() == "0\n"
    assert _record(agent, session_id)["always_deny"] == ["file_write"]


async def test_modes_switch_mid_session(agent: Agent, project: MakeProject) -> None:
    """Plan mode refuses writes without asking; accept-edits (set as a config option) lets them run."""
    turns = [
        tool_call("file_write('a.py', 'plan\\n')"),
        "refused",
        tool_call("file_write('a.py', 'ok\\n')"),
        "done",
    ]
    root = project(turns, {"a.py": "0\n"})
    session_id = await _session(agent, root)
    before = len(agent.client.permission_requests)
    await agent.conn.set_session_mode(session_id=session_id, mode_id="plan")
    await _prompt(agent, session_id, "try")
    assert (root / "a.py").read_text() == "0\n"
    response = await agent.conn.set_config_option(
        config_id="mode", session_id=session_id, value="accept-edits"
    )
    assert response.config_options[0].current_value == "accept-edits"
    await _prompt(agent, session_id, "again")
    assert (root / "a.py").read_text() == "ok\n"
    assert len(agent.client.permission_requests) == before
    await _wait_for(lambda: bool(agent.client.of(session_id, "current_mode_update")))
    assert agent.client.of(session_id, "current_mode_update")[-1].current_mode_id == "accept-edits"
    assert agent.client.of(session_id, "config_option_update")[-1].config_options[0].current_value == "plan"
    with pytest.raises(RequestError):
        await agent.conn.set_session_mode(session_id=session_id, mode_id="yolo")


async def test_cancel_stops_the_turn_within_a_second(agent: Agent, project: MakeProject) -> None:
    """`session/cancel` during an endless block answers the prompt with `cancelled` in under a second."""
    root = project([tool_call("while True:\n    file_list('.')"), "never reached"], {"a.py": "0\n"})
    session_id = await _session(agent, root)
    task = asyncio.create_task(_prompt(agent, session_id, "loop"))
    await _wait_for(lambda: len(agent.client.of(session_id, "tool_call")) > 3)
    started = time.monotonic()
    await agent.conn.cancel(session_id=session_id)
    stop = await asyncio.wait_for(task, 5)
    elapsed = time.monotonic() - started
    assert stop == "cancelled"
    assert elapsed < 1.0
    assert _record(agent, session_id)["turns"][-1]["stop_reason"] == "cancelled"


async def test_plan_updates(agent: Agent, project: MakeProject) -> None:
    """`update_plan` shows as a complete `plan` update with statuses."""
    root = project([tool_call("update_plan(['read', 'fix', 'test'], completed=1)"), "Planned."])
    session_id = await _session(agent, root)
    await _prompt(agent, session_id, "plan it")
    plan = agent.client.of(session_id, "plan")[-1]
    assert [(e.content, e.status) for e in plan.entries] == [
        ("read", "completed"),
        ("fix", "in_progress"),
        ("test", "pending"),
    ]


async def test_slash_commands(agent: Agent, project: MakeProject) -> None:
    """/skills, /help, unknown commands, /check, /test (in the client's terminal) and /fix answer directly."""
    files = {
        "app.py": "import os\n\n\ndef add(a: int, b: int) -> int:\n    return a + b\n",
        "test_app.py": "from app import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n",
    }
    root = project(["unused"], files)
    session_id = await _session(agent, root)

    async def ask(text: str) -> str:
        before = len(agent.client.of(session_id, "agent_message_chunk"))
        assert await _prompt(agent, session_id, text) == "end_turn"
        return "".join(u.content.text for u in agent.client.of(session_id, "agent_message_chunk")[before:])

    assert "tdom" in (await ask("/skills")).lower()
    assert "/rate" in await ask("/help")
    unknown = await ask("/frobnicate now")
    assert "Unknown command `/frobnicate`" in unknown and "/check" in unknown
    assert "F401" in await ask("/check")
    assert "1 passed, 0 failed" in await ask("/test")
    assert agent.client.terminal_commands[-1][1:3] == ["-m", "pytest"]
    terminal_calls = [
        u
        for u in agent.client.of(session_id, "tool_call_update")
        if u.content and any(c.type == "terminal" for c in u.content)
    ]
    assert terminal_calls
    await agent.conn.set_session_mode(session_id=session_id, mode_id="plan")
    assert "read-only" in await ask("/fix")
    assert "import os" in (root / "app.py").read_text()
    await agent.conn.set_session_mode(session_id=session_id, mode_id="ask")
    assert "Applied" in await ask("/fix")
    assert "import os" not in (root / "app.py").read_text()
    assert any(
        c.type == "diff"
        for u in agent.client.of(session_id, "tool_call_update")
        if u.content
        for c in u.content
    )


async def test_feedback_is_recorded_with_its_turn(agent: Agent, project: MakeProject) -> None:
    """/correct, /add and /rate are stored on disk with the id of the answer they are about."""
    root = project(["The answer is 41."])
    session_id = await _session(agent, root)
    assert await _prompt(agent, session_id, "/rate 5") == "end_turn"
    assert "no answer" in agent.client.text(session_id)
    await _prompt(agent, session_id, "what is 6 * 7?")
    for text in ("/correct It is 42.", "/add good question", "/rate 9", "/rate 2 wrong sum"):
        assert await _prompt(agent, session_id, text) == "end_turn"
    record = _record(agent, session_id)
    answered = next(t for t in record["turns"] if t["kind"] == "prompt")
    feedback = [(f["kind"], f["text"], f["rating"]) for f in answered["feedback"]]
    assert feedback == [
        ("correct", "It is 42.", None),
        ("add", "good question", None),
        ("rate", "wrong sum", 2),
    ]
    assert "from 1 to 5" in agent.client.text(session_id)
    traces = [p for p in (agent.home / "training_data").rglob(f"{session_id}.jsonl")]
    assert len(traces) == 1, "the turn and its feedback are captured for the flywheel"
    signals = [r for r in read_records(traces[0]) if isinstance(r, SignalRecord)]
    assert [(s.kind, s.text, s.rating) for s in signals] == [
        ("correct", "It is 42.", None),
        ("add", "good question", None),
        ("rate", "wrong sum", 2),
    ]


async def test_list_sessions_and_close(agent: Agent, project: MakeProject) -> None:
    """Sessions are listed with titles (filtered by cwd); a closed session is no longer open."""
    root = project(["One.", "Two."], name="listed")
    session_id = await _session(agent, root)
    await _prompt(agent, session_id, "Title line\nmore")
    listed = await agent.conn.list_sessions(cwd=str(root))
    assert [(s.session_id, s.title) for s in listed.sessions] == [(session_id, "Title line")]
    assert any(s.session_id == session_id for s in (await agent.conn.list_sessions()).sessions)
    await agent.conn.close_session(session_id=session_id)
    with pytest.raises(RequestError, match="not open"):
        await _prompt(agent, session_id, "again")


async def test_bad_requests_are_errors_not_crashes(agent: Agent, project: MakeProject) -> None:
    """Unknown sessions, bad ids, images, oversized prompts, bad cwds, busy sessions: JSON-RPC errors."""
    root = project([tool_call("while True:\n    file_list('.')"), "ok"])
    with pytest.raises(RequestError, match="unknown session"):
        await _prompt(agent, "0" * 32, "hi")
    with pytest.raises(RequestError, match="unknown session"):
        await agent.conn.load_session(cwd=str(root), session_id="../../etc/passwd", mcp_servers=[])
    with pytest.raises(RequestError, match="unknown session"):
        await agent.conn.close_session(session_id="nope")
    with pytest.raises(RequestError, match="absolute path"):
        await agent.conn.new_session(cwd="relative/dir", mcp_servers=[])
    session_id = await _session(agent, root)
    with pytest.raises(RequestError, match="text only"):
        await agent.conn.prompt(session_id=session_id, prompt=[acp.image_block("aGk=", "image/png")])
    with pytest.raises(RequestError, match="over the"):
        await _prompt(agent, session_id, "x" * 500_000)
    with pytest.raises(RequestError, match="context window"):
        await _prompt(agent, session_id, "word " * 60_000)
    with pytest.raises(RequestError, match=r"Method not found"):
        await agent.conn.ext_method("punie/nothing", {})
    running = asyncio.create_task(_prompt(agent, session_id, "loop"))
    await _wait_for(lambda: bool(agent.client.of(session_id, "tool_call")))
    with pytest.raises(RequestError, match="already running"):
        await _prompt(agent, session_id, "second")
    await agent.conn.cancel(session_id=session_id)
    assert await running == "cancelled"
    assert agent.process.returncode is None


async def test_cancel_during_a_permission_question(agent: Agent, project: MakeProject) -> None:
    """A cancel while a permission question is open ends the turn as cancelled; nothing is written."""
    root = project([tool_call("file_write('a.py', 'changed\\n')"), "never reached"], {"a.py": "0\n"})
    session_id = await _session(agent, root)
    before = len(agent.client.permission_requests)
    agent.client.answer = "never"
    try:
        task = asyncio.create_task(_prompt(agent, session_id, "write"))
        await _wait_for(lambda: len(agent.client.permission_requests) > before)
        started = time.monotonic()
        await agent.conn.cancel(session_id=session_id)
        assert await asyncio.wait_for(task, 5) == "cancelled"
        assert time.monotonic() - started < 1.0
    finally:
        agent.client.answer = "allow-once"
    assert (root / "a.py").read_text() == "0\n"
