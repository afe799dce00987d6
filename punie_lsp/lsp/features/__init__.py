"""One module per LSP method family, each with a `register(server)` that attaches its handlers."""

from punie_lsp.lsp.features import code_actions, commands, diagnostics, hover, lifecycle
from punie_lsp.lsp.server import PunieLanguageServer

__all__ = ("register_all",)


def register_all(server: PunieLanguageServer) -> None:
    """Attach every feature to `server` (capabilities are derived from what is registered)."""
    for module in (lifecycle, diagnostics, hover, code_actions, commands):
        module.register(server)
