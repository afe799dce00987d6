"""Agent-backed actions through `workspace/executeCommand`: progress, then one `workspace/applyEdit`.

The model is a replay recording named in `initializationOptions`; ty is pointed at a missing binary, so
the same server also shows that Punie works without it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pygls.workspace.position_codec import PositionCodec
from pytest_lsp import ClientServerConfig

from punie_lsp.lsp._text import apply_edits
from tests.lsp.conftest import (
    SERVER_ENV,
    RecordingClient,
    copy_shop,
    diagnostics_for,
    init_params,
    make_client,
    open_file,
    punie_lsp_command,
    punie_only,
)

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]

TURNS = [
    "I will turn the f-string into a t-string.\n<tool_call>\n<function=run_code>\n<parameter=code>\n"
    "r = file_edit('shop/pages.py', 'html(f\"<p>Hello', 'html(t\"<p>Hello')\nr.success\n"
    "</parameter>\n</function>\n</tool_call>",
    "Fixed: `greeting` now passes a t-string to `html()`.",
    "`greeting` renders a paragraph; the f-string pastes `user` in unescaped.",
    "<tool_call>\n<function=run_code>\n<parameter=code>\n"
    "file_write('tests/test_pages.py', 'from shop.pages import greeting\\n')\n"
    "</parameter>\n</function>\n</tool_call>",
    "Added tests/test_pages.py.",
]


@pytest_lsp.fixture(
    config=ClientServerConfig(
        server_command=punie_lsp_command(), client_factory=make_client, server_env=SERVER_ENV
    ),
    scope="module",
)
async def client(lsp_client: RecordingClient, tmp_path_factory: pytest.TempPathFactory):
    work = tmp_path_factory.mktemp("agent")
    root = copy_shop(work / "shop")
    replay = work / "turns.jsonl"
    replay.write_text("".join(json.dumps({"content": turn}) + "\n" for turn in TURNS))
    options = {"punie": {"model": f"replay:{replay}", "ty": {"path": str(work / "no-such-ty")}}}
    lsp_client.root = root
    lsp_client.init_result = await lsp_client.initialize_session(
        init_params(root, "visual_studio_code", options)
    )
    yield
    await lsp_client.shutdown_session()


async def _fix_args(client: RecordingClient) -> tuple[str, str, dict[str, object]]:
    path = client.root / "shop" / "pages.py"
    uri = open_file(client, path)
    found = await diagnostics_for(client, uri, until=lambda d: len(punie_only(d)) == 2)
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=found[0].range,
            context=types.CodeActionContext(diagnostics=[found[0]]),
        )
    )
    command = next(
        a.command
        for a in actions or []
        if isinstance(a, types.CodeAction)
        and a.command is not None
        and a.command.command == "punie.agent.fix"
    )
    (argument,) = command.arguments or []
    return uri, path.read_text(), argument


async def test_fix_with_punie_reports_progress_and_applies_one_edit(client: RecordingClient) -> None:
    """The fix command runs the agent, reports progress, and sends the file edit as a versioned edit."""
    uri, text, argument = await _fix_args(client)
    result = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="punie.agent.fix", arguments=[argument])
    )
    assert result["stopReason"] == "end_turn" and result["applied"] is True
    assert result["files"] == ["shop/pages.py"]
    (applied,) = client.applied_edits
    assert applied.label == "Punie: fixing"
    (change,) = applied.edit.document_changes or []
    assert isinstance(change, types.TextDocumentEdit)
    assert change.text_document.uri == uri and change.text_document.version == 1
    fixed = apply_edits(text, [e for e in change.edits if isinstance(e, types.TextEdit)], PositionCodec())
    assert 'html(t"<p>Hello {user}!</p>")' in fixed and 'html(f"<p>Goodbye' in fixed
    assert (
        'html(f"<p>Hello' in (client.root / "shop" / "pages.py").read_text()
    )  # the editor applies, not Punie
    (reports,) = client.progress_reports.values()
    kinds = [r.kind for r in reports]
    assert kinds[0] == "begin" and kinds[-1] == "end" and "report" in kinds
    assert isinstance(reports[0], types.WorkDoneProgressBegin) and reports[0].title == "Punie: Fixing"
    assert any(isinstance(r, types.WorkDoneProgressReport) and r.message == "file_edit…" for r in reports)
    traces = list((Path(SERVER_ENV["PUNIE_HOME"]) / "training_data").rglob("*.jsonl"))
    assert traces, "agent commands are captured as flywheel traces"
    assert any('"front_end":"lsp"' in t.read_text() for t in traces)


async def test_explain_is_read_only_and_shows_the_answer(client: RecordingClient) -> None:
    """Explain answers with a message and applies no edit."""
    client.applied_edits.clear()
    _, _, argument = await _fix_args(client)
    result = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="punie.agent.explain", arguments=[argument])
    )
    assert result["output"].startswith("`greeting` renders a paragraph")
    assert not result.get("applied") and client.applied_edits == []
    assert any(m.message == result["output"] for m in client.messages)


async def test_write_tests_creates_the_file_through_the_editor(client: RecordingClient) -> None:
    """A new test file arrives as a `CreateFile` plus its text, and is not written by Punie."""
    client.applied_edits.clear()
    _, _, argument = await _fix_args(client)
    result = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="punie.agent.writeTests", arguments=[argument])
    )
    assert result["applied"] is True and result["files"] == ["tests/test_pages.py"]
    (applied,) = client.applied_edits
    create, edit = applied.edit.document_changes or []
    assert isinstance(create, types.CreateFile) and create.uri.endswith("/tests/test_pages.py")
    assert (
        isinstance(edit, types.TextDocumentEdit)
        and edit.edits[0].new_text == "from shop.pages import greeting\n"
    )
    assert not (client.root / "tests" / "test_pages.py").exists()


async def test_works_without_ty(client: RecordingClient) -> None:
    """With ty missing, the server says so once and hovers still carry Punie's part."""
    uri, text, _ = await _fix_args(client)
    assert any("running without ty" in m.message for m in client.log_messages)
    line = text[: text.index('f"<p>Goodbye')].count("\n")
    hover = await client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(line=line, character=20),
        )
    )
    assert hover is not None and isinstance(hover.contents, types.MarkupContent)
    assert hover.contents.value.startswith("**Punie TDOM001**")


async def test_a_bad_model_spec_is_reported_and_progress_ends(client: RecordingClient) -> None:
    """A model spec from `workspace/configuration` that cannot load fails the command cleanly."""
    client.set_configuration({"punie": {"model": "nonsense:model"}})
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))
    client.progress_reports.clear()
    _, _, argument = await _fix_args(client)
    result = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="punie.agent.fix", arguments=[argument])
    )
    assert result["stopReason"] == "error" and "nonsense" in result["error"]
    assert any(m.type == types.MessageType.Error and "nonsense" in m.message for m in client.messages)
    (reports,) = client.progress_reports.values()
    assert [r.kind for r in reports] == ["begin", "end"]
