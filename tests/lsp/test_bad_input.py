"""Bad input never stops the server: it answers or reports, and keeps serving.

One server for the module, driven in order: requests before `initialize`, unknown URIs, a message that is
not UTF-8, lone surrogates, an enormous document, code half-typed on every keystroke, and ty killed.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
from collections.abc import Callable
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pygls.protocol import JsonRPCProtocol
from pytest_lsp import ClientServerConfig

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


@pytest_lsp.fixture(
    config=ClientServerConfig(
        server_command=punie_lsp_command(), client_factory=make_client, server_env=SERVER_ENV
    ),
    scope="module",
)
async def client(lsp_client: RecordingClient, tmp_path_factory: pytest.TempPathFactory):
    lsp_client.root = copy_shop(tmp_path_factory.mktemp("bad") / "shop")
    yield
    if lsp_client.capabilities is None:  # never initialised: `exit` is the only message it accepts
        lsp_client.exit(None)
    await lsp_client.shutdown_session()


def _hover_params(uri: str, line: int = 0, character: int = 0) -> types.HoverParams:
    return types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        position=types.Position(line=line, character=character),
    )


async def test_requests_before_initialize_are_refused(client: RecordingClient) -> None:
    """A request before `initialize` gets ServerNotInitialized (-32002); afterwards the server works."""
    params = _hover_params(client.root.as_uri() + "/shop/pages.py")
    with pytest.raises(JsonRpcException) as refused:
        # pytest-lsp refuses this on the client side; send it with pygls's plain JSON-RPC protocol.
        await JsonRPCProtocol.send_request_async(client.protocol, types.TEXT_DOCUMENT_HOVER, params)
    assert refused.value.code == -32002
    client.init_result = await client.initialize_session(init_params(client.root, "visual_studio_code"))
    assert client.init_result.server_info is not None


async def test_a_request_with_malformed_params_gets_an_error(client: RecordingClient) -> None:
    """Params that do not match the LSP types are answered with InvalidParams, not left hanging."""
    # pygls's client cannot even encode such params: write the message by hand, await its answer.
    message_id = "malformed-hover"
    answer: asyncio.Future[object] = asyncio.get_running_loop().create_future()
    client.protocol._request_futures[message_id] = answer
    body = json.dumps(
        {"jsonrpc": "2.0", "id": message_id, "method": "textDocument/hover", "params": {"textDocument": {}}}
    ).encode()
    writer = client.protocol.writer
    assert writer is not None
    writer.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
    with pytest.raises(JsonRpcException) as refused:
        await asyncio.wait_for(answer, 30)
    assert refused.value.code == -32602
    assert "position" in str(refused.value)


async def test_unknown_uris_get_empty_answers(client: RecordingClient) -> None:
    """Documents never opened (on disk or not, any scheme) get no hover, no actions and an empty report."""
    for uri in (
        (client.root / "shop" / "pages.py").as_uri(),
        (client.root / "missing.py").as_uri(),
        "untitled:Untitled-1",
    ):
        assert await client.text_document_hover_async(_hover_params(uri)) is None
        actions = await client.text_document_code_action_async(
            types.CodeActionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                range=types.Range(
                    start=types.Position(line=0, character=0), end=types.Position(line=0, character=0)
                ),
                context=types.CodeActionContext(diagnostics=[]),
            )
        )
        assert actions is None
        report = await client.text_document_diagnostic_async(
            types.DocumentDiagnosticParams(text_document=types.TextDocumentIdentifier(uri=uri))
        )
        assert isinstance(report, types.RelatedFullDocumentDiagnosticReport) and report.items == []


async def test_a_message_that_is_not_utf8_is_reported_and_skipped(client: RecordingClient) -> None:
    """Invalid UTF-8 on the wire is logged; the next request is answered as usual."""
    body = (
        b'{"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": '
        b'{"uri": "file:///tmp/x.py", "languageId": "python", "version": 1, "text": "x = \'\xff\xfe\'"}}}'
    )
    writer = client.protocol.writer
    assert writer is not None
    writer.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
    path = client.root / "shop" / "components.py"
    uri = open_file(client, path)
    await diagnostics_for(client, uri, until=lambda d: d == [] and uri in client.diagnostics)
    assert any("malformed message" in m.message for m in client.log_messages)


async def test_lone_surrogates_are_checked_like_any_text(client: RecordingClient) -> None:
    """Text with lone surrogates (invalid UTF-8 escaped in JSON) is validated without crashing."""
    path = client.root / "shop" / "surrogates.py"
    text = 'from tdom import html\n\n\ndef f(x: str) -> str:\n    return html(f"\udcff{x}")\n'
    uri = open_file(client, path, text=text)
    found = await diagnostics_for(client, uri, until=lambda d: len(d) == 1)
    assert found[0].code == "TDOM001"


async def test_an_enormous_document_is_reported_not_parsed(client: RecordingClient) -> None:
    """A 3 MB buffer gets one informational diagnostic instead of a parse."""
    path = client.root / "shop" / "huge.py"
    text = "x = 1  # padding padding padding padding padding padding padding padding\n" * 42_000
    uri = open_file(client, path, text=text)
    found = await diagnostics_for(client, uri, until=lambda d: len(d) == 1)
    assert found[0].code == "file-too-large"
    assert found[0].severity == types.DiagnosticSeverity.Information


async def test_half_typed_code_on_every_keystroke(client: RecordingClient) -> None:
    """Typing a function one character at a time never crashes; the finished code gets its diagnostic."""
    path = client.root / "shop" / "typing.py"
    header = "from tdom import html\n\n\n"
    uri = open_file(client, path, text=header)
    typed = 'def hello(name: str) -> str:\n    return html(f"<p>{name}</p>")\n'
    line, character = 3, 0
    for version, char in enumerate(typed, start=2):
        client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                content_changes=[
                    types.TextDocumentContentChangePartial(
                        range=types.Range(
                            start=types.Position(line=line, character=character),
                            end=types.Position(line=line, character=character),
                        ),
                        text=char,
                    )
                ],
            )
        )
        line, character = (line + 1, 0) if char == "\n" else (line, character + 1)
        await asyncio.sleep(0.005)
    found = await diagnostics_for(client, uri, until=lambda d: [x.code for x in punie_only(d)] == ["TDOM001"])
    assert found[0].range.start.line == 4
    assert not any("internal error" in m.message for m in client.log_messages)


def _children(pid: int) -> list[tuple[int, str]]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        parent = int(stat[stat.rindex(")") + 2 :].split()[1])
        if parent == pid:
            found.append((int(entry.name), name))
    return found


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds ty's process through /proc")
async def test_ty_crashing_is_survived_and_ty_restarts(client: RecordingClient) -> None:
    """Killing ty mid-session: hovers keep working, and ty's part comes back after the restart."""
    path = client.root / "shop" / "pages.py"
    text = path.read_text()
    uri = open_file(client, path)
    line = text[: text.index("def greeting")].count("\n")
    position = _hover_params(uri, line, 6)

    async def hover_text() -> str:
        result = await client.text_document_hover_async(position)
        return (
            result.contents.value
            if result is not None and isinstance(result.contents, types.MarkupContent)
            else ""
        )

    async def until(predicate: Callable[[str], bool]) -> str:
        value = ""
        for _ in range(200):
            value = await hover_text()
            if predicate(value):
                return value
            await asyncio.sleep(0.05)
        raise AssertionError(f"hover never satisfied the check: {value!r}")

    await until(lambda v: "def greeting" in v)
    server = client._server
    assert server is not None
    (ty_pid,) = [pid for pid, name in _children(server.pid) if name == "ty"]
    os.kill(ty_pid, signal.SIGKILL)
    await until(lambda v: True)  # answered while ty is down or restarting
    await until(lambda v: "def greeting" in v)
    assert [name for _, name in _children(server.pid)] == ["ty"]
