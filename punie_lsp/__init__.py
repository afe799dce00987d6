"""Punie: a fast, local coding agent for Python web development that lives in the editor.

Front-ends (the CLI, the ACP agent, the language server) import what they need from the layer
subpackages; this top-level module only exposes the version.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("punie-lsp")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"

__all__ = ("__version__",)
