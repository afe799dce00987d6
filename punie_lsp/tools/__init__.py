"""Typed tools: the quality triad, files and git; `punie_lsp.tools.catalogue` defines them all once.

Ownership: this layer runs external tools and reads the workspace; it knows nothing of models, sandboxes
or editors. Domain validators live in `punie_lsp.domain`; the catalogue (which gathers both) is imported
from `punie_lsp.tools.catalogue` rather than re-exported here, so the domain layer can use the result
types without an import cycle.
"""

from punie_lsp.tools.context import ToolContext
from punie_lsp.tools.results import (
    FixResult,
    FormatResult,
    RuffResult,
    TestResult,
    ToolResult,
    TypeCheckResult,
)

__all__ = (
    "FixResult",
    "FormatResult",
    "RuffResult",
    "TestResult",
    "ToolContext",
    "ToolResult",
    "TypeCheckResult",
)
