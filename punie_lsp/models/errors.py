"""Errors of the models layer.

`ModelBackendError` is raised when a model backend cannot answer at all (server unreachable, garbage on
the wire, weights missing). A reply the model got wrong — a malformed tool call — is not an error here:
it is reported on the response (see `punie_lsp.models.parser.malformed_tool_call`) so the agent can
turn it into a retry.
"""

from __future__ import annotations

from punie_lsp.exceptions import PunieError

__all__ = ("ModelBackendError",)


class ModelBackendError(PunieError):
    """A model backend failed: the server is unreachable or answered garbage, or the model cannot load.

    Attributes:
        backend: the backend that failed, as its spec prefix (`mlx`, `openai-compat`, `replay`...).
    """

    def __init__(self, message: str, *, backend: str) -> None:
        super().__init__(message)
        self.backend = backend
