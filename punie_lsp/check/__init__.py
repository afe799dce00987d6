"""`punie check`: layered validation (syntax → ruff → ty → domain) with one diagnostic contract.

Ownership: this package orchestrates the tools and domain layers for the CLI and, later, the editor; it
owns the diagnostic shape and the exit-code policy, not the checks themselves.
"""

from punie_lsp.check.diagnostics import CheckReport, Diagnostic
from punie_lsp.check.layer import CheckFile, Layer, LayerOutcome
from punie_lsp.check.runner import ALL_LAYERS, parse_layers, run_check

__all__ = (
    "ALL_LAYERS",
    "CheckFile",
    "CheckReport",
    "Diagnostic",
    "Layer",
    "LayerOutcome",
    "parse_layers",
    "run_check",
)
