"""A child `ty server` for semantic context: hover types, definitions, references and symbols.

The editor talks to Punie; Punie talks to ty through pygls's `LanguageClient`, initialised with the
editor's *real* client capabilities (with empty ones ty answers `Location` instead of `LocationLink`) and
the position encoding Punie negotiated, so positions pass through unchanged. Open documents are mirrored
to ty as full-text changes, which keeps ty's copy exact even across a restart.

Punie never depends on ty: when the binary is missing or ty keeps crashing, every request answers
`None` / `[]` and the editor features work without the semantic extras. When ty dies it is restarted
(with back-off, at most `MAX_RESTARTS` a minute) and every open document is opened again.

Besides the editor proxy, `TyProxy.standalone(root)` starts ty for one project without an editor, and the
1-based `locate_*` / `*_text` helpers answer in the shape Punie's navigation tools use.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import sys
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeVar

from lsprotocol import types
from pygls.lsp.client import LanguageClient
from pygls.uris import from_fs_path, to_fs_path
from pygls.workspace.position_codec import PositionCodec, ServerTextPosition

from punie_lsp.lsp._text import clean_text

__all__ = (
    "MAX_RESTARTS",
    "NavLocation",
    "TyProxy",
    "TyState",
    "find_ty",
    "hover_markdown",
)

logger = logging.getLogger(__name__)

MAX_RESTARTS = 5
"""Restarts allowed within a minute before ty is given up on for the session."""
START_TIMEOUT_S = 20.0
"""How long ty may take to spawn and answer `initialize`."""

TyState = Literal["off", "starting", "ready", "restarting", "failed", "stopped"]
"""`off` before `start()`; `failed` when ty is missing or gave up; `stopped` after `stop()`."""

T = TypeVar("T")


@dataclass(frozen=True, kw_only=True)
class NavLocation:
    """A place in a file, 1-based and in code points (the shape Punie's tools report)."""

    path: str
    """Absolute file path."""
    line: int
    """1-based start line."""
    column: int
    """1-based start column."""
    end_line: int
    """1-based end line."""
    end_column: int
    """1-based end column (exclusive)."""


def find_ty(configured: str | None = None) -> str | None:
    """The `ty` executable: `configured`, `PUNIE_TY`, beside this interpreter, then `PATH`; None if absent."""
    for candidate in (configured, os.environ.get("PUNIE_TY")):
        if candidate:
            return candidate if Path(candidate).is_file() and os.access(candidate, os.X_OK) else None
    beside = Path(sys.executable).parent / "ty"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("ty")


def hover_markdown(hover: types.Hover | None) -> str:
    """The text of a hover result, whatever shape ty chose (markup, marked strings, or a list)."""
    if hover is None:
        return ""
    contents = hover.contents
    items: Sequence[object] = contents if isinstance(contents, list | tuple) else [contents]
    parts: list[str] = []
    for item in items:
        if isinstance(item, str):
            parts.append(item)
        elif isinstance(item, types.MarkupContent):
            parts.append(item.value)
        elif isinstance(item, types.MarkedStringWithLanguage):
            parts.append(f"```{item.language}\n{item.value}\n```")
    return "\n\n".join(p for p in parts if p)


class _TyClient(LanguageClient):
    """pygls's client with the server→client requests ty makes answered, and exits reported."""

    def __init__(self, on_exit: Callable[[int | None], None]) -> None:
        super().__init__("punie-ty-proxy", "1")
        self._on_exit = on_exit
        self._register()

    def _register(self) -> None:
        @self.feature(types.WORKSPACE_CONFIGURATION)
        def configuration(params: types.ConfigurationParams) -> list[None]:
            return [None for _ in params.items]

        @self.feature(types.CLIENT_REGISTER_CAPABILITY)
        def register_capability(params: types.RegistrationParams) -> None:
            del params

        @self.feature(types.CLIENT_UNREGISTER_CAPABILITY)
        def unregister_capability(params: types.UnregistrationParams) -> None:
            del params

        @self.feature(types.WINDOW_WORK_DONE_PROGRESS_CREATE)
        def progress_create(params: types.WorkDoneProgressCreateParams) -> None:
            del params

        @self.feature(types.PROGRESS)
        def progress(params: types.ProgressParams) -> None:
            del params

        @self.feature(types.WORKSPACE_DIAGNOSTIC_REFRESH)
        def diagnostic_refresh(params: None) -> None:
            del params

        @self.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def publish_diagnostics(params: types.PublishDiagnosticsParams) -> None:
            del params  # users run ty's diagnostics natively; Punie publishes only its own

        @self.feature(types.WINDOW_LOG_MESSAGE)
        def log_message(params: types.LogMessageParams) -> None:
            logger.debug("ty: %s", params.message)

        @self.feature(types.WINDOW_SHOW_MESSAGE)
        def show_message(params: types.ShowMessageParams) -> None:
            logger.info("ty: %s", params.message)

    async def server_exit(self, server: asyncio.subprocess.Process) -> None:
        self._on_exit(server.returncode)

    def report_server_error(self, error: Exception, source: object) -> None:
        logger.warning("ty connection error (%s): %s", getattr(source, "__name__", source), error)


@dataclass(kw_only=True)
class _Document:
    language_id: str
    version: int
    text: str


class TyProxy:
    """One `ty server` child, restarted when it dies, mirroring the editor's open documents.

    Args:
        root_uri: the editor's root URI (None for a folder-less session).
        workspace_folders: the editor's workspace folders.
        capabilities: the editor's client capabilities, forwarded as they are.
        position_encoding: the encoding Punie negotiated with the editor (ty is offered only this one).
        binary: the `ty` executable; None looks it up with `find_ty`.
        request_timeout: seconds a forwarded request may take before it is answered without ty.
    """

    def __init__(
        self,
        *,
        root_uri: str | None,
        workspace_folders: Sequence[types.WorkspaceFolder] = (),
        capabilities: types.ClientCapabilities | None = None,
        position_encoding: types.PositionEncodingKind | str = types.PositionEncodingKind.Utf16,
        binary: str | None = None,
        request_timeout: float = 2.0,
    ) -> None:
        self.root_uri = root_uri
        self.workspace_folders = list(workspace_folders)
        self.capabilities = capabilities if capabilities is not None else _standalone_capabilities()
        self.position_encoding = position_encoding
        self.binary = binary
        self.request_timeout = request_timeout
        self.state: TyState = "off"
        self.restarts: list[float] = []
        """Monotonic times of the restarts in the last minute."""
        self.last_error: str | None = None
        """Why ty is not available, when it is not."""
        self._client: _TyClient | None = None
        self._ready: asyncio.Future[bool] | None = None
        self._documents: dict[str, _Document] = {}
        self._restart_task: asyncio.Task[None] | None = None
        self._stderr_task: asyncio.Task[None] | None = None
        self._codec = PositionCodec(position_encoding)

    # -- lifecycle ---------------------------------------------------------------------------------

    @classmethod
    @contextlib.asynccontextmanager
    async def standalone(cls, root: Path, *, binary: str | None = None) -> AsyncGenerator[TyProxy]:
        """Run ty for the project at `root` without an editor (for Punie's own navigation tools)."""
        uri = from_fs_path(str(await asyncio.to_thread(root.resolve)))
        folders = [types.WorkspaceFolder(uri=uri, name=root.name)] if uri else []
        proxy = cls(root_uri=uri, workspace_folders=folders, binary=binary)
        await proxy.start()
        try:
            yield proxy
        finally:
            await proxy.stop()

    @property
    def available(self) -> bool:
        """Whether ty is running and initialised."""
        return self.state == "ready"

    async def start(self) -> None:
        """Spawn ty and initialise it; on failure the proxy is `failed` and every request answers empty."""
        binary = find_ty(self.binary)
        if binary is None:
            self.state = "failed"
            where = f"`{self.binary}` is not an executable" if self.binary else "`ty` was not found"
            self.last_error = f"{where} (set `punie.ty.path` or PUNIE_TY, or install ty)"
            logger.warning("ty proxy: %s", self.last_error)
            return
        self.binary = binary
        self.state = "starting" if self.state == "off" else self.state
        loop = asyncio.get_running_loop()
        self._ready = loop.create_future()
        client = _TyClient(self._exited)
        self._client = client
        try:
            await asyncio.wait_for(self._spawn(client, binary), START_TIMEOUT_S)
        except (OSError, TimeoutError, RuntimeError, Exception) as exc:
            self.last_error = f"ty failed to start: {type(exc).__name__}: {exc}"
            logger.warning("ty proxy: %s", self.last_error)
            await self._kill(client)
            self._client = None
            self.state = "failed"
            if not self._ready.done():
                self._ready.set_result(False)
            return
        for uri, doc in self._documents.items():
            client.text_document_did_open(
                types.DidOpenTextDocumentParams(
                    text_document=types.TextDocumentItem(
                        uri=uri, language_id=doc.language_id, version=doc.version, text=doc.text
                    )
                )
            )
        self.state = "ready"
        self.last_error = None
        if not self._ready.done():
            self._ready.set_result(True)

    async def _spawn(self, client: _TyClient, binary: str) -> None:
        cwd = to_fs_path(self.root_uri) if self.root_uri else None
        usable = cwd is not None and await asyncio.to_thread(os.path.isdir, cwd)
        await client.start_io(binary, "server", cwd=cwd if usable else None)
        process = client._server
        if process is not None and process.stderr is not None:
            self._stderr_task = asyncio.create_task(_drain(process.stderr))
        capabilities = _with_encoding(self.capabilities, self.position_encoding)
        await client.initialize_async(
            types.InitializeParams(
                process_id=os.getpid(),
                root_uri=self.root_uri,
                workspace_folders=self.workspace_folders or None,
                capabilities=capabilities,
                client_info=types.ClientInfo(name="punie", version="lsp-proxy"),
            )
        )
        client.initialized(types.InitializedParams())

    async def stop(self) -> None:
        """Shut ty down politely, then kill it if it does not exit."""
        self.state = "stopped"
        if self._restart_task is not None:
            self._restart_task.cancel()
        client, self._client = self._client, None
        if client is None:
            return
        with contextlib.suppress(Exception):
            await asyncio.wait_for(client.shutdown_async(None), 1.0)
            client.exit(None)
        await self._kill(client)

    async def _kill(self, client: _TyClient) -> None:
        process = client._server
        if process is not None and process.returncode is None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(process.wait(), 1.0)
            if process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(client.stop(), 1.0)
        if self._stderr_task is not None:
            self._stderr_task.cancel()

    def _exited(self, returncode: int | None) -> None:
        if self.state in ("stopped", "failed"):
            return
        logger.warning("ty exited unexpectedly (code %s); restarting", returncode)
        self.last_error = f"ty exited with code {returncode}"
        self.state = "restarting"
        self._client = None
        loop_now = time.monotonic()
        self.restarts = [t for t in self.restarts if loop_now - t < 60]
        if len(self.restarts) >= MAX_RESTARTS:
            self.state = "failed"
            self.last_error = f"ty exited {MAX_RESTARTS} times in a minute; running without it"
            logger.warning("ty proxy: %s", self.last_error)
            return
        self.restarts.append(loop_now)
        self._ready = asyncio.get_running_loop().create_future()
        self._restart_task = asyncio.create_task(self._restart(0.1 * 2 ** (len(self.restarts) - 1)))

    async def _restart(self, delay: float) -> None:
        await asyncio.sleep(delay)
        if self.state == "restarting":
            await self.start()

    def process_id(self) -> int | None:
        """The running ty's process id (tests kill it to check the restart)."""
        process = self._client._server if self._client is not None else None
        return process.pid if process is not None and process.returncode is None else None

    # -- documents ---------------------------------------------------------------------------------

    def did_open(self, uri: str, *, language_id: str, version: int, text: str) -> None:
        """Mirror an opened document."""
        text = clean_text(text)
        self._documents[uri] = _Document(language_id=language_id, version=version, text=text)
        if self._client is not None and self.state == "ready":
            self._client.text_document_did_open(
                types.DidOpenTextDocumentParams(
                    text_document=types.TextDocumentItem(
                        uri=uri, language_id=language_id, version=version, text=text
                    )
                )
            )

    def did_change(self, uri: str, *, version: int, text: str) -> None:
        """Mirror a change as the whole new text."""
        text = clean_text(text)
        doc = self._documents.get(uri)
        if doc is None:
            self.did_open(uri, language_id="python", version=version, text=text)
            return
        doc.version, doc.text = version, text
        if self._client is not None and self.state == "ready":
            self._client.text_document_did_change(
                types.DidChangeTextDocumentParams(
                    text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                    content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
                )
            )

    def did_save(self, uri: str) -> None:
        """Mirror a save."""
        if self._client is not None and self.state == "ready" and uri in self._documents:
            self._client.text_document_did_save(
                types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
            )

    def did_close(self, uri: str) -> None:
        """Mirror a close."""
        if self._documents.pop(uri, None) is None:
            return
        if self._client is not None and self.state == "ready":
            self._client.text_document_did_close(
                types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
            )

    def did_change_folders(self, event: types.WorkspaceFoldersChangeEvent) -> None:
        """Mirror added and removed workspace folders."""
        removed = {f.uri for f in event.removed}
        self.workspace_folders = [f for f in self.workspace_folders if f.uri not in removed]
        self.workspace_folders.extend(event.added)
        if self._client is not None and self.state == "ready":
            self._client.workspace_did_change_workspace_folders(
                types.DidChangeWorkspaceFoldersParams(event=event)
            )

    # -- requests (LSP shapes) -----------------------------------------------------------------------

    async def _client_when_ready(self) -> _TyClient | None:
        ready = self._ready
        if ready is None or self.state in ("failed", "stopped", "off"):
            return None
        if not ready.done():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(ready), self.request_timeout)
        return self._client if self.state == "ready" else None

    async def _ask(self, call: Callable[[_TyClient], Awaitable[T]]) -> T | None:
        client = await self._client_when_ready()
        if client is None:
            return None
        try:
            return await asyncio.wait_for(call(client), self.request_timeout)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # ty crashed mid-request, timed out, or answered garbage: answer without it
            logger.info("ty request failed: %s: %s", type(exc).__name__, exc)
            return None

    async def hover(self, uri: str, position: types.Position) -> types.Hover | None:
        """ty's hover at `position` (LSP coordinates), or None."""
        params = types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=position)
        return await self._ask(lambda c: c.text_document_hover_async(params))

    async def definition(
        self, uri: str, position: types.Position
    ) -> list[types.Location | types.LocationLink]:
        """Where the symbol at `position` is defined."""
        params = types.DefinitionParams(
            text_document=types.TextDocumentIdentifier(uri=uri), position=position
        )
        return _as_list(await self._ask(lambda c: c.text_document_definition_async(params)))

    async def references(
        self, uri: str, position: types.Position, *, include_declaration: bool = True
    ) -> list[types.Location]:
        """Every reference to the symbol at `position`."""
        params = types.ReferenceParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=position,
            context=types.ReferenceContext(include_declaration=include_declaration),
        )
        return _as_list(await self._ask(lambda c: c.text_document_references_async(params)))

    async def document_symbols(self, uri: str) -> list[types.DocumentSymbol | types.SymbolInformation]:
        """The symbols of one document."""
        params = types.DocumentSymbolParams(text_document=types.TextDocumentIdentifier(uri=uri))
        return _as_list(await self._ask(lambda c: c.text_document_document_symbol_async(params)))

    async def workspace_symbols(self, query: str) -> list[types.SymbolInformation | types.WorkspaceSymbol]:
        """Symbols of the whole workspace matching `query`."""
        params = types.WorkspaceSymbolParams(query=query)
        return _as_list(await self._ask(lambda c: c.workspace_symbol_async(params)))

    # -- navigation in Punie's shape (1-based, code points, paths) ------------------------------------

    def _lines(self, path: Path) -> list[str]:
        uri = from_fs_path(str(path)) or ""
        doc = self._documents.get(uri)
        if doc is not None:
            return doc.text.splitlines(keepends=True)
        try:
            return path.read_text(encoding="utf-8", errors="replace").splitlines(keepends=True)
        except OSError:
            return []

    def _to_lsp(self, path: Path, line: int, column: int) -> types.Position:
        lines = self._lines(path)
        return self._codec.position_to_client_units(lines, ServerTextPosition(line - 1, column - 1))

    def _from_lsp(self, uri: str, lsp_range: types.Range) -> NavLocation:
        path = Path(to_fs_path(uri) or uri)
        lines = self._lines(path)
        start = self._codec.position_from_client_units(lines, lsp_range.start)
        end = self._codec.position_from_client_units(lines, lsp_range.end)
        return NavLocation(
            path=str(path),
            line=start.line + 1,
            column=start.character + 1,
            end_line=end.line + 1,
            end_column=end.character + 1,
        )

    async def locate_definition(self, path: Path, line: int, column: int) -> list[NavLocation]:
        """Definitions of the name at `path:line:column` (1-based), as Punie locations."""
        uri = from_fs_path(str(path)) or ""
        found = await self.definition(uri, self._to_lsp(path, line, column))
        return [
            self._from_lsp(f.target_uri, f.target_selection_range)
            if isinstance(f, types.LocationLink)
            else self._from_lsp(f.uri, f.range)
            for f in found
        ]

    async def locate_references(self, path: Path, line: int, column: int) -> list[NavLocation]:
        """References to the name at `path:line:column` (1-based), as Punie locations."""
        uri = from_fs_path(str(path)) or ""
        return [
            self._from_lsp(r.uri, r.range)
            for r in await self.references(uri, self._to_lsp(path, line, column))
        ]

    async def hover_text(self, path: Path, line: int, column: int) -> str:
        """ty's hover (its inferred type and docs) at `path:line:column` (1-based), as Markdown."""
        uri = from_fs_path(str(path)) or ""
        return hover_markdown(await self.hover(uri, self._to_lsp(path, line, column)))


async def _drain(stream: asyncio.StreamReader) -> None:
    """Read ty's stderr so a chatty ty never blocks on a full pipe."""
    while line := await stream.readline():
        logger.debug("ty stderr: %s", line.decode("utf-8", "replace").rstrip())


def _as_list(value: object) -> list:  # type: ignore[type-arg]  # element type follows the request
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return list(value)
    return [value]


def _with_encoding(
    capabilities: types.ClientCapabilities, encoding: types.PositionEncodingKind | str
) -> types.ClientCapabilities:
    general = capabilities.general or types.GeneralClientCapabilities()
    return types.ClientCapabilities(
        workspace=capabilities.workspace,
        text_document=capabilities.text_document,
        notebook_document=capabilities.notebook_document,
        window=capabilities.window,
        general=types.GeneralClientCapabilities(
            stale_request_support=general.stale_request_support,
            regular_expressions=general.regular_expressions,
            markdown=general.markdown,
            position_encodings=[encoding],
        ),
        experimental=capabilities.experimental,
    )


def _standalone_capabilities() -> types.ClientCapabilities:
    """What a plain navigation client needs: Markdown hovers, definition links, hierarchical symbols."""
    return types.ClientCapabilities(
        text_document=types.TextDocumentClientCapabilities(
            hover=types.HoverClientCapabilities(content_format=[types.MarkupKind.Markdown]),
            definition=types.DefinitionClientCapabilities(link_support=True),
            document_symbol=types.DocumentSymbolClientCapabilities(hierarchical_document_symbol_support=True),
            # Advertising pull diagnostics keeps ty from pushing diagnostics nobody reads.
            diagnostic=types.DiagnosticClientCapabilities(),
        ),
    )
