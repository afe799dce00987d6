"""Two workspace folders, each its own project, each with its own `workspace/configuration` section."""

from __future__ import annotations

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, client_capabilities

from tests.lsp.conftest import (
    SERVER_ENV,
    RecordingClient,
    copy_shop,
    diagnostics_for,
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
    work = tmp_path_factory.mktemp("multi")
    first, second = copy_shop(work / "first"), copy_shop(work / "second")
    lsp_client.root = work
    lsp_client.set_configuration({"punie": {"severity": {"TDOM001": "info"}}}, scope_uri=second.as_uri())
    await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities("visual_studio_code"),
            root_uri=work.as_uri(),
            workspace_folders=[
                types.WorkspaceFolder(uri=first.as_uri(), name="first"),
                types.WorkspaceFolder(uri=second.as_uri(), name="second"),
            ],
            initialization_options={"punie": {"ty": {"enabled": False}}},
        )
    )
    yield
    await lsp_client.shutdown_session()


async def test_each_folder_has_its_own_project_and_settings(client: RecordingClient) -> None:
    """Both folders report their own file; the second folder's section lowers TDOM001 to information."""
    severities = {}
    for name in ("first", "second"):
        uri = open_file(client, client.root / name / "shop" / "pages.py")
        found = punie_only(await diagnostics_for(client, uri, until=lambda d: len(punie_only(d)) == 2))
        severities[name] = {d.severity for d in found}
    assert severities == {
        "first": {types.DiagnosticSeverity.Error},
        "second": {types.DiagnosticSeverity.Information},
    }


async def test_changed_configuration_applies_to_open_files(client: RecordingClient) -> None:
    """After `didChangeConfiguration`, the settings are read again and open files re-checked."""
    client.set_configuration({"punie": {"disabled": ["TDOM"]}}, scope_uri=(client.root / "first").as_uri())
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))
    uri = (client.root / "first" / "shop" / "pages.py").as_uri()
    await diagnostics_for(client, uri, until=lambda d: punie_only(d) == [])
    second = (client.root / "second" / "shop" / "pages.py").as_uri()
    assert len(punie_only(list(client.diagnostics[second]))) == 2
