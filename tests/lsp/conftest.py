"""Shared helpers for the language server tests: the spawned `punie lsp`, a client that records edits."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cattrs
from lsprotocol import types
from pygls.protocol import default_converter
from pytest_lsp import LanguageClient, client_capabilities
from pytest_lsp.client import register_lsp_features

HERE = Path(__file__).resolve().parent
SHOP = HERE / "fixtures" / "shop"

SERVER_ENV = {k: v for k, v in os.environ.items() if k not in ("PUNIE_MODEL", "PUNIE_HOME")} | {
    "PUNIE_HOME": tempfile.mkdtemp(prefix="punie-lsp-home-")
}
"""The spawned server's environment: a private, empty PUNIE_HOME and no configured model."""


def punie_lsp_command() -> list[str]:
    """`punie lsp` from this virtual environment (the console script when installed)."""
    script = Path(sys.executable).parent / "punie"
    return [str(script), "lsp"] if script.is_file() else [sys.executable, "-m", "punie_lsp.cli", "lsp"]


def _converter() -> cattrs.Converter:
    """pygls's converter with lsprotocol's Command/CodeAction union fixed.

    lsprotocol structures any object with a `command` key as a bare `Command`, so a `CodeAction` that
    carries a command would lose its title, kind and diagnostics on the client side.
    """
    converter = default_converter()

    def code_action_or_command(obj: Any, _: type) -> types.Command | types.CodeAction:
        is_command = isinstance(obj.get("command"), str)
        return converter.structure(obj, types.Command if is_command else types.CodeAction)

    converter.register_structure_hook(types.Command | types.CodeAction, code_action_or_command)
    return converter


class RecordingClient(LanguageClient):
    """pytest-lsp's client that also answers `workspace/applyEdit` (recording each edit)."""

    def __init__(self) -> None:
        super().__init__(converter_factory=_converter)
        self.applied_edits: list[types.ApplyWorkspaceEditParams] = []
        self.registrations: list[types.Registration] = []
        self.root = Path()
        """The project the test opened."""
        self.init_result: types.InitializeResult | None = None
        self.opened: set[str] = set()
        """URIs the test has sent `didOpen` for."""


def make_client() -> RecordingClient:
    """The client factory for `ClientServerConfig`."""
    client = RecordingClient()
    register_lsp_features(client)

    @client.feature(types.CLIENT_REGISTER_CAPABILITY)
    def register_capability(params: types.RegistrationParams) -> None:
        client.registrations.extend(params.registrations)

    @client.feature(types.WORKSPACE_APPLY_EDIT)
    def apply_edit(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
        client.applied_edits.append(params)
        return types.ApplyWorkspaceEditResult(applied=True)

    return client


def copy_shop(target: Path) -> Path:
    """A fresh copy of the fixture project."""
    shutil.copytree(SHOP, target, ignore=shutil.ignore_patterns("__pycache__", ".ruff_cache"))
    return target


def init_params(
    root: Path, capabilities: str, options: dict[str, Any] | None = None
) -> types.InitializeParams:
    """`initialize` for one workspace folder with recorded client capabilities."""
    return types.InitializeParams(
        capabilities=client_capabilities(capabilities),
        root_uri=root.as_uri(),
        workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name=root.name)],
        initialization_options=options,
    )


def open_file(client: LanguageClient, path: Path, *, version: int = 1, text: str | None = None) -> str:
    """Send `didOpen` for `path` (its disk text unless `text` is given); returns the URI."""
    uri = path.as_uri()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=uri,
                language_id="python",
                version=version,
                text=path.read_text() if text is None else text,
            )
        )
    )
    return uri


def change_file(client: LanguageClient, uri: str, text: str, *, version: int) -> None:
    """Send a full-text `didChange`."""
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
        )
    )


def pulls(client: LanguageClient) -> bool:
    """Whether the client's capabilities make the server use pull diagnostics."""
    caps = client.capabilities
    return bool(caps and caps.text_document and caps.text_document.diagnostic is not None)


async def diagnostics_for(
    client: LanguageClient,
    uri: str,
    *,
    until: Callable[[list[types.Diagnostic]], bool] = lambda _: True,
    timeout: float = 30.0,
) -> list[types.Diagnostic]:
    """The document's diagnostics: pulled, or the pushed ones once `until` accepts them."""

    async def wait() -> list[types.Diagnostic]:
        while True:
            if pulls(client):
                report = await client.text_document_diagnostic_async(
                    types.DocumentDiagnosticParams(text_document=types.TextDocumentIdentifier(uri=uri))
                )
                assert isinstance(report, types.RelatedFullDocumentDiagnosticReport)
                found = list(report.items)
            else:
                found = list(client.diagnostics.get(uri, []))
            if until(found):
                return found
            await asyncio.sleep(0.05)

    return await asyncio.wait_for(wait(), timeout)


def punie_only(diagnostics: list[types.Diagnostic]) -> list[types.Diagnostic]:
    """The diagnostics Punie published (ty's never reach the client through Punie)."""
    return [d for d in diagnostics if d.source == "punie"]
