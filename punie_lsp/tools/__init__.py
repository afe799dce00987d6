"""Typed tools: the quality triad, files and git, and the catalogue that defines them once.

Ownership: this layer runs external tools and reads the workspace; it knows nothing of models, sandboxes
or editors. Domain validators live in `punie_lsp.domain` and register into the same catalogue.
"""

from punie_lsp.tools.catalogue import Catalogue, Risk, ToolArgumentError, ToolSpec, default_catalogue
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
    "Catalogue",
    "FixResult",
    "FormatResult",
    "Risk",
    "RuffResult",
    "TestResult",
    "ToolArgumentError",
    "ToolContext",
    "ToolResult",
    "ToolSpec",
    "TypeCheckResult",
    "default_catalogue",
)
