"""The language server front-end: `punie lsp` (pygls 2) with a child `ty server` for semantic context.

Ownership: this layer maps LSP to the core and back. It reads documents through pygls's workspace, asks
the domain layer (on one worker thread) for diagnostics, hover facts and fixes, runs the agent only inside
`workspace/executeCommand`, and converts every position with pygls's codec. It never writes to stdout
(the JSON-RPC channel) and nothing below it imports it.

- `server.py`: `PunieLanguageServer`, the one `LanguageServer` subclass, and its protocol.
- `features/`: one module per LSP method family (lifecycle, diagnostics, hover, code actions, commands).
- `ty_proxy.py`: the child `ty server` (restarted when it dies; optional).
- `config.py`: `initializationOptions` and `workspace/configuration`.
- `editors.py`: what each editor needs (`lsp_editor_config`), for `punie init --editor …`.
"""

from punie_lsp.lsp._app import create_server, serve_stdio
from punie_lsp.lsp.config import LspSettings
from punie_lsp.lsp.editors import EDITORS, Editor, EditorFile, EditorLspConfig, lsp_editor_config
from punie_lsp.lsp.server import PunieLanguageServer
from punie_lsp.lsp.ty_proxy import NavLocation, TyProxy

__all__ = (
    "EDITORS",
    "Editor",
    "EditorFile",
    "EditorLspConfig",
    "LspSettings",
    "NavLocation",
    "PunieLanguageServer",
    "TyProxy",
    "create_server",
    "lsp_editor_config",
    "serve_stdio",
)
