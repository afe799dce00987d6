"""Build the server with every feature, and run it on stdio (`punie lsp`)."""

from __future__ import annotations

import logging
import sys

from punie_lsp.lsp.features import register_all
from punie_lsp.lsp.server import PunieLanguageServer

__all__ = ("create_server", "serve_stdio")


def create_server() -> PunieLanguageServer:
    """A new server with every feature registered."""
    server = PunieLanguageServer()
    register_all(server)
    return server


def serve_stdio() -> None:
    """Run the language server on stdin/stdout until the client says `exit` (what `punie lsp` does)."""
    logging.basicConfig(
        stream=sys.stderr, level=logging.WARNING, format="punie-lsp %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("pygls").setLevel(logging.WARNING)  # pygls logs every message at INFO
    create_server().start_io()
