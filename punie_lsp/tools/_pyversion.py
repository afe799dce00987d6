"""Which Python version the target project's code is written for."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

__all__ = ("TSTRING_PATTERN", "TSTRING_VERSION", "project_python_version", "uses_tstrings")

TSTRING_VERSION = "3.14"
"""Template strings (PEP 750) need 3.14; code that uses them is checked as 3.14."""

TSTRING_PATTERN = re.compile(r"""(?<![\w.'"])(?:[tT][rR]?|[rR][tT])(?:'''|\"\"\"|'|")""")
_REQUIRES = re.compile(r">=\s*(3\.\d+)")


def uses_tstrings(files: list[Path], *, limit: int = 2000) -> bool:
    """Whether any of `files` seems to contain a t-string literal (a cheap lexical scan)."""
    for path in files[:limit]:
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if TSTRING_PATTERN.search(text):
            return True
    return False


def project_python_version(root: Path, files: list[Path], *, configured: str | None = None) -> str | None:
    """The version to give `ty --python-version`: configured, 3.14 for t-strings, or `requires-python`."""
    if configured:
        return configured
    if uses_tstrings(files):
        return TSTRING_VERSION
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        try:
            data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
            return None
        requires = data.get("project", {}).get("requires-python", "")
        if isinstance(requires, str) and (match := _REQUIRES.search(requires)):
            return match.group(1)
    return None
