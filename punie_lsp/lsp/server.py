"""`PunieLanguageServer`: the one pygls `LanguageServer` subclass, and `punie lsp` over stdio.

The server holds the state the features share (settings, the domain service, the ty proxy, what was last
published) and the small helpers that map URIs to project roots. Each LSP method lives in its own module
under `punie_lsp.lsp.features` and is registered by `punie_lsp.lsp.create_server()`.

Nothing here writes to stdout: that is the JSON-RPC channel. Logs go to stderr (and, for what the user
should see, to `window/logMessage`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from cattrs import ClassValidationError, transform_error
from lsprotocol import types
from pygls.exceptions import (
    FeatureRequestError,
    JsonRpcException,
    JsonRpcInvalidParams,
    JsonRpcServerNotInitialized,
    PyglsError,
)
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol
from pygls.uris import to_fs_path
from pygls.workspace import TextDocument
from pygls.workspace.position_codec import PositionCodec

from punie_lsp import __version__
from punie_lsp.config import find_project_root
from punie_lsp.domain import DomainIssue
from punie_lsp.lsp._domain import DomainService
from punie_lsp.lsp.config import LspSettings
from punie_lsp.lsp.ty_proxy import TyProxy

__all__ = ("SERVER_NAME", "Published", "PunieLanguageServer", "PunieProtocol")

logger = logging.getLogger(__name__)

SERVER_NAME = "punie"
"""The name in `serverInfo`, and the `source` of every diagnostic."""

_BEFORE_INIT_ALLOWED = frozenset({types.INITIALIZE, types.EXIT})


class PunieProtocol(LanguageServerProtocol):
    """pygls's protocol, plus two answers pygls leaves out.

    Requests that arrive before `initialize` are answered with `ServerNotInitialized` (-32002);
    notifications are dropped, except `exit`. A request whose params do not match the LSP types is
    answered with `InvalidParams` (pygls only logs it, and the client would wait forever).
    """

    _initialized = False

    def structure_message(self, data: dict[str, Any]) -> Any:
        """pygls's decoding; a request it cannot decode still gets an error response."""
        try:
            return super().structure_message(data)
        except JsonRpcException as exc:
            if "jsonrpc" in data and "id" in data and "method" in data:
                cause = exc.__cause__
                details = (
                    "; ".join(transform_error(cause)) if isinstance(cause, ClassValidationError) else cause
                )
                error = JsonRpcInvalidParams(
                    f"invalid params for `{data['method']}`: {details or exc}"[:1000]
                )
                self._send_response(data["id"], None, error.to_response_error())
            raise

    def _handle_request(self, msg_id: Any, method_name: str, params: Any) -> None:
        if not self._initialized and method_name not in _BEFORE_INIT_ALLOWED:
            error = JsonRpcServerNotInitialized(f"`{method_name}` before `initialize`")
            self._send_response(msg_id, None, error.to_response_error())
            return
        if method_name == types.INITIALIZE:
            self._initialized = True
        super()._handle_request(msg_id, method_name, params)

    def _handle_notification(self, method_name: str, params: Any) -> None:
        if not self._initialized and method_name not in _BEFORE_INIT_ALLOWED:
            logger.info("dropping `%s` received before `initialize`", method_name)
            return
        super()._handle_notification(method_name, params)


@dataclass(kw_only=True)
class Published:
    """What was last computed for one document version (hover and code actions read it)."""

    version: int | None
    """The document version the issues belong to."""
    generation: int
    """`PunieLanguageServer.generation` when computed: cross-file facts may differ in a later one."""
    issues: list[DomainIssue]
    """The domain findings."""
    diagnostics: list[types.Diagnostic]
    """The same findings as LSP diagnostics (in the client's position units)."""
    result_id: str = ""
    """For pull diagnostics: changes whenever the diagnostics change."""


@dataclass(kw_only=True)
class _Timing:
    parse_ms: list[float] = field(default_factory=list)
    rules_ms: list[float] = field(default_factory=list)


class PunieLanguageServer(LanguageServer):
    """Punie's language server: domain diagnostics, hover, quick fixes and agent actions, ty beside it."""

    def __init__(self) -> None:
        super().__init__(SERVER_NAME, __version__, protocol_cls=PunieProtocol)
        self.domain = DomainService()
        """Domain validation on its worker thread."""
        self.settings = LspSettings()
        """Settings from `initializationOptions`."""
        self.startup_problems: list[str] = []
        """Invalid settings seen during `initialize`, logged once the client can receive logs."""
        self.folder_settings: dict[Path, LspSettings] = {}
        """Per root settings from `workspace/configuration`, merged over `settings`."""
        self.ty: TyProxy | None = None
        """The child `ty server` (None until `initialized`, or when switched off)."""
        self.generation = 0
        """Bumped whenever any buffer, file or setting changes (a cached result is current only if equal)."""
        self.published: dict[str, Published] = {}
        """URI → the last diagnostics computed for it."""
        self.pending: dict[str, asyncio.Task[None]] = {}
        """URI → the debounced validation waiting to run."""
        self.background: set[asyncio.Task[Any]] = set()
        """Fire-and-forget tasks, kept referenced until they finish."""
        self.timing = _Timing()
        """Parse and rule times of recent validations (for `punie lsp` diagnostics and the benchmark)."""

    # -- capabilities --------------------------------------------------------------------------------

    @property
    def codec(self) -> PositionCodec:
        """The position codec negotiated with the client (UTF-16 unless it offered another)."""
        return self.workspace.position_codec

    @property
    def pull_diagnostics(self) -> bool:
        """Whether diagnostics are pulled by the client instead of pushed by us."""
        mode = self.settings.diagnostic_mode
        if mode != "auto":
            return mode == "pull"
        text_document = self.client_capabilities.text_document
        return text_document is not None and text_document.diagnostic is not None

    @property
    def markdown(self) -> bool:
        """Whether the client renders Markdown in hovers."""
        td = self.client_capabilities.text_document
        formats = td.hover.content_format if td is not None and td.hover is not None else None
        return formats is None or types.MarkupKind.Markdown in formats

    @property
    def document_changes(self) -> bool:
        """Whether the client accepts versioned `documentChanges` in a `WorkspaceEdit`."""
        ws = self.client_capabilities.workspace
        edit = ws.workspace_edit if ws is not None else None
        return bool(edit is not None and edit.document_changes)

    @property
    def can_create_files(self) -> bool:
        """Whether a `WorkspaceEdit` may create files."""
        ws = self.client_capabilities.workspace
        edit = ws.workspace_edit if ws is not None else None
        operations = edit.resource_operations if edit is not None else None
        return bool(self.document_changes and operations and types.ResourceOperationKind.Create in operations)

    @property
    def work_done_progress_supported(self) -> bool:
        """Whether the client shows server-initiated `$/progress`."""
        window = self.client_capabilities.window
        return bool(window is not None and window.work_done_progress)

    # -- documents and roots ---------------------------------------------------------------------------

    def open_document(self, uri: str) -> TextDocument | None:
        """The open document at `uri`, or None (unknown URIs are never read from disk implicitly)."""
        documents = self.workspace.text_documents
        return documents.get(uri) or documents.get(unquote(uri))

    def open_documents(self) -> Iterator[TextDocument]:
        """Every open document."""
        return iter(list(self.workspace.text_documents.values()))

    def folder_roots(self) -> list[Path]:
        """The workspace folders as paths (the root URI when the client sent no folders)."""
        roots: list[Path] = []
        for folder in self.workspace.folders.values():
            path = to_fs_path(folder.uri)
            if path:
                roots.append(Path(path).resolve())
        if not roots and self.workspace.root_path:
            roots.append(Path(self.workspace.root_path).resolve())
        return roots

    def locate(self, uri: str) -> tuple[Path, str] | None:
        """(project root, POSIX path relative to it) for a `file:` URI of a Python file; None otherwise.

        The root is the innermost workspace folder holding the file; a file outside every folder gets
        its own project root (the nearest `pyproject.toml`, `.punie` or `.git`).
        """
        if not uri.startswith("file:"):
            return None
        fs_path = to_fs_path(uri)
        if not fs_path:
            return None
        path = Path(fs_path)
        if path.suffix not in (".py", ".pyi"):
            return None
        try:
            path = path.resolve()
        except (OSError, RuntimeError):
            return None
        inside = [root for root in self.folder_roots() if path.is_relative_to(root)]
        root = max(inside, key=lambda r: len(r.parts)) if inside else find_project_root(path)
        if not root.is_dir():
            return None
        return root, path.relative_to(root).as_posix()

    def buffers(self, root: Path) -> dict[str, str]:
        """Relative path → text of every open Python document under `root`."""
        found: dict[str, str] = {}
        for doc in self.open_documents():
            where = self.locate(doc.uri)
            if where is not None and where[0] == root:
                found[where[1]] = doc.source
        return found

    def settings_for(self, root: Path | None) -> LspSettings:
        """The editor settings that apply to `root`: initialization options, then the folder's section."""
        folder = self.folder_settings.get(root) if root is not None else None
        return self.settings.merged(folder) if folder is not None else self.settings

    # -- background work --------------------------------------------------------------------------------

    def spawn(self, coroutine: Any) -> asyncio.Task[Any]:
        """Run `coroutine` in the background; its failure is reported, never raised into the loop."""
        task = asyncio.ensure_future(coroutine)
        self.background.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self.background.discard(task)
        if not task.cancelled() and isinstance(error := task.exception(), Exception):
            self.report_server_error(error, PyglsError)

    def log(self, message: str, kind: types.MessageType = types.MessageType.Info) -> None:
        """Log to stderr and, when connected, to the client's output (`window/logMessage`)."""
        logger.log(logging.WARNING if kind <= types.MessageType.Warning else logging.INFO, "%s", message)
        if self.protocol.writer is not None:
            self.window_log_message(types.LogMessageParams(type=kind, message=message))

    # -- errors ---------------------------------------------------------------------------------------

    def report_server_error(
        self, error: Exception, source: type[PyglsError] | type[JsonRpcException]
    ) -> None:
        """Log every unexpected error to the client's output; never pop up a dialog per keystroke.

        Request errors already reach the client as the response's error; everything else (a bad message,
        a crashed notification handler or background task) becomes a `window/logMessage`.
        """
        where = getattr(source, "__name__", str(source))
        logger.error("%s: %s", where, error, exc_info=error)
        if source is FeatureRequestError or self.protocol.writer is None:
            return
        if source is JsonRpcException:  # the reader could not decode a message (bad JSON, invalid UTF-8)
            message = f"Punie: ignored a malformed message from the editor ({type(error).__name__}: {error})"
        else:
            message = f"Punie: internal error ({where}): {type(error).__name__}: {error}"
        self.window_log_message(types.LogMessageParams(type=types.MessageType.Error, message=message[:2000]))
