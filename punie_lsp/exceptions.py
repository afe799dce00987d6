"""The one exception hierarchy of Punie.

Every error Punie raises on purpose derives from `PunieError`. Front-ends turn these into exit codes or
JSON-RPC errors at their edge; the core never formats protocol errors itself.
"""

from __future__ import annotations

__all__ = (
    "PunieError",
    "SandboxError",
    "ToolError",
    "UserError",
    "WorkspaceError",
)


class PunieError(Exception):
    """Root of every error Punie raises deliberately."""


class UserError(PunieError):
    """A usage or configuration mistake the user can fix (bad path, bad option, bad config file)."""


class WorkspaceError(UserError):
    """A path was refused by the workspace: it leaves the project root, is missing, or is not text.

    Attributes:
        path: the path as the caller gave it.
    """

    def __init__(self, message: str, *, path: str) -> None:
        super().__init__(message)
        self.path = path


class ToolError(PunieError):
    """A tool could not run at all (missing binary, timeout, crash, unparseable output).

    Typed tools do not raise this to their callers: they put the message into their result's
    `tool_error` field, so "the code has errors" is never confused with "the checker failed".
    """


class SandboxError(PunieError):
    """The Code Mode sandbox itself failed (not the model's code)."""
