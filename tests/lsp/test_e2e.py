"""`punie lsp` end to end: a spawned server, a pytest-lsp client with recorded editor capabilities.

One server per capability set for the whole module (spawning costs seconds): VS Code 1.65 gets pushed
diagnostics, Neovim 0.11 pulls them, and both resolve quick-fix edits lazily.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import pytest_lsp
from lsprotocol import types
from pygls.workspace.position_codec import PositionCodec
from pytest_lsp import ClientServerConfig

from punie_lsp.lsp._text import apply_edits
from tests.lsp.conftest import (
    SERVER_ENV,
    RecordingClient,
    change_file,
    copy_shop,
    diagnostics_for,
    init_params,
    make_client,
    open_file,
    punie_lsp_command,
    punie_only,
)

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]

CLIENTS = ["visual_studio_code", "neovim"]


@pytest_lsp.fixture(
    config=ClientServerConfig(
        server_command=punie_lsp_command(), client_factory=make_client, server_env=SERVER_ENV
    ),
    scope="module",
    params=CLIENTS,
)
async def client(
    lsp_client: RecordingClient, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
):
    root = copy_shop(tmp_path_factory.mktemp("e2e") / "shop")
    lsp_client.root = root
    lsp_client.init_result = await lsp_client.initialize_session(init_params(root, request.param))
    yield
    await lsp_client.shutdown_session()


def _root(client: RecordingClient) -> Path:
    return client.root


def _pages(client: RecordingClient) -> tuple[Path, str]:
    path = _root(client) / "shop" / "pages.py"
    return path, path.as_uri()


def _encoding(client: RecordingClient) -> str:
    assert client.init_result is not None
    return str(client.init_result.capabilities.position_encoding or "utf-16")


def _position(client: RecordingClient, text: str, needle: str, offset: int = 0) -> types.Position:
    """The position of `needle` (plus `offset` characters) in `text`, in the negotiated units."""
    at = text.index(needle) + offset
    line = text.count("\n", 0, at)
    column = at - (text.rfind("\n", 0, at) + 1)
    prefix = text.splitlines()[line][:column]
    units = {"utf-8": len(prefix.encode()), "utf-16": len(prefix.encode("utf-16-le")) // 2}
    return types.Position(line=line, character=units.get(_encoding(client), len(prefix)))


def _linked_document(href: str) -> tuple[str, str, str]:
    """The file name, fragment and text of a `file:` link."""
    link = urlparse(href)
    return Path(link.path).name, link.fragment, Path(link.path).read_text()


async def _hover(client: RecordingClient, uri: str, position: types.Position) -> str:
    result = await client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=position)
    )
    assert result is not None
    assert isinstance(result.contents, types.MarkupContent)
    return result.contents.value


async def _open_pages(client: RecordingClient) -> tuple[str, str, list[types.Diagnostic]]:
    path, uri = _pages(client)
    text = path.read_text()
    if uri not in client.opened:
        open_file(client, path)
        client.opened.add(uri)
    found = await diagnostics_for(client, uri, until=lambda d: len(punie_only(d)) == 2)
    return uri, text, punie_only(found)


async def test_initialize_advertises_the_features(client: RecordingClient) -> None:
    """The server names itself and offers hover, code actions with resolve, commands and pull diagnostics."""
    assert client.init_result is not None and client.init_result.server_info is not None
    caps = client.init_result.capabilities
    assert client.init_result.server_info.name == "punie"
    assert caps.hover_provider
    assert isinstance(caps.code_action_provider, types.CodeActionOptions)
    assert caps.code_action_provider.resolve_provider
    assert caps.execute_command_provider is not None
    assert set(caps.execute_command_provider.commands) == {
        "punie.agent.fix",
        "punie.agent.explain",
        "punie.agent.writeTests",
    }
    assert isinstance(caps.diagnostic_provider, types.DiagnosticOptions)


async def test_diagnostics_on_open(client: RecordingClient) -> None:
    """Opening a file reports each TDOM001 with source, code, a doc link and UTF-16 columns."""
    _, text, found = await _open_pages(client)
    assert [d.code for d in found] == ["TDOM001", "TDOM001"]
    assert all(d.severity == types.DiagnosticSeverity.Error for d in found)
    first, second = found
    assert first.range.start == _position(client, text, 'f"<p>Hello')
    # The second f-string holds "à" and "👋": its end is counted in the negotiated units (Neovim 0.11 offers
    # UTF-8 first, VS Code gets UTF-16, where the emoji is two units).
    assert second.range.end == _position(client, text, '")\n\n\ndef catalogue', 1)
    assert first.code_description is not None
    name, fragment, document = _linked_document(first.code_description.href)
    assert name == "rules.md" and fragment.startswith("tdom001-error-")
    assert "\n### TDOM001 " in document


async def test_diagnostics_follow_changes(client: RecordingClient) -> None:
    """After a change adds an f-string, a third diagnostic appears; reverting removes it again."""
    uri, text, _ = await _open_pages(client)
    extra = text + '\n\ndef shout(word: str) -> str:\n    return html(f"<b>{word}</b>")\n'
    change_file(client, uri, extra, version=2)
    found = await diagnostics_for(client, uri, until=lambda d: len(punie_only(d)) == 3)
    assert punie_only(found)[-1].range.start.line == extra.count("\n") - 1
    change_file(client, uri, text, version=3)
    await diagnostics_for(client, uri, until=lambda d: len(punie_only(d)) == 2)


async def test_hover_at_a_diagnostic_merges_ty_and_the_rule(client: RecordingClient) -> None:
    """Hovering an f-string shows ty's type, then the rule's explanation and fix."""
    uri, text, _ = await _open_pages(client)
    value = await _hover(client, uri, _position(client, text, "{user}!", 1))
    ty_part, _, punie_part = value.partition("\n---\n")
    assert "str" in ty_part
    assert "**Punie TDOM001**" in punie_part
    assert "Bad:" in punie_part and "Good:" in punie_part
    assert "A quick fix is available." in punie_part


async def test_hover_on_a_component_shows_props_and_usages(client: RecordingClient) -> None:
    """Hovering a component tag lists its props and where it is used."""
    uri, text, _ = await _open_pages(client)
    value = await _hover(client, uri, _position(client, text, "{Card} title", 2))
    assert "**Component `Card`**" in value
    assert "- `title`: `str` (required)" in value
    assert "accepts children" in value.lower()
    usage_line = text[: text.index("<{Card}")].count("\n") + 1
    assert f"- `shop/pages.py:{usage_line}:" in value


async def test_hover_on_a_resolved_service_shows_its_registration(client: RecordingClient) -> None:
    """Hovering `T` in `container.get(T)` says where `T` is registered, after ty's hover."""
    uri, text, _ = await _open_pages(client)
    value = await _hover(client, uri, _position(client, text, "get(Database)", 5))
    services = (_root(client) / "shop" / "services.py").read_text()
    line = services[: services.index("registry.register_factory")].count("\n") + 1
    assert f"`shop/services.py:{line}`: `make_database` (factory, lifecycle `app`)" in value
    assert "Database" in value.partition("---")[0]  # ty's part names the class


async def _actions(client: RecordingClient, uri: str, diagnostic: types.Diagnostic) -> list[Any]:
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=diagnostic.range,
            context=types.CodeActionContext(diagnostics=[diagnostic]),
        )
    )
    assert actions is not None
    return list(actions)


async def _edits_of(client: RecordingClient, action: types.CodeAction) -> list[types.TextEdit]:
    if action.edit is None:
        action = await client.code_action_resolve_async(action)
    assert action.edit is not None
    if action.edit.document_changes:
        (change,) = action.edit.document_changes
        assert isinstance(change, types.TextDocumentEdit)
        return [e for e in change.edits if isinstance(e, types.TextEdit)]
    assert action.edit.changes is not None
    (edits,) = action.edit.changes.values()
    return list(edits)


async def test_quick_fix_changes_only_its_own_diagnostic(client: RecordingClient) -> None:
    """The preferred quick fix of the second TDOM001 turns that f-string (with an emoji) into a t-string."""
    uri, text, found = await _open_pages(client)
    actions = await _actions(client, uri, found[1])
    fix = next(
        a for a in actions if isinstance(a, types.CodeAction) and a.kind == types.CodeActionKind.QuickFix
    )
    assert fix.is_preferred and fix.title.startswith("Punie: fix TDOM001")
    fixed = apply_edits(text, await _edits_of(client, fix), PositionCodec(_encoding(client)))
    assert 'html(t"<p>Goodbye {user}, à bientôt 👋</p>")' in fixed
    assert 'html(f"<p>Hello {user}!</p>")' in fixed  # the other diagnostic keeps its own fix


async def test_fix_all_and_agent_actions(client: RecordingClient) -> None:
    """Fix-all fixes both f-strings; the agent actions are commands, so nothing runs until chosen."""
    uri, text, found = await _open_pages(client)
    actions = await _actions(client, uri, found[0])
    fix_all = next(a for a in actions if isinstance(a, types.CodeAction) and a.kind == "source.fixAll.punie")
    fixed = apply_edits(text, await _edits_of(client, fix_all), PositionCodec(_encoding(client)))
    assert 'html(f"' not in fixed and fixed.count('html(t"<p>') == 2
    agent = {
        a.command.command: a for a in actions if isinstance(a, types.CodeAction) and a.command is not None
    }
    assert set(agent) == {"punie.agent.fix", "punie.agent.explain", "punie.agent.writeTests"}
    (argument,) = agent["punie.agent.fix"].command.arguments or []
    assert argument["uri"] == uri and argument["rule"] == "TDOM001"
    assert client.applied_edits == []
