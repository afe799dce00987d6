"""Every module imports on its own in a fresh interpreter (no import cycles that depend on order)."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import punie_lsp


def test_every_module_imports_first() -> None:
    """Importing any module first, in a fresh process, succeeds."""
    names = [m.name for m in pkgutil.walk_packages(punie_lsp.__path__, "punie_lsp.")]
    script = (
        "import importlib, subprocess, sys\n"
        "bad = []\n"
        "for name in sys.argv[1:]:\n"
        "    r = subprocess.run([sys.executable, '-c', f'import {name}'], capture_output=True, text=True)\n"
        "    if r.returncode:\n"
        "        bad.append(name + ': ' + r.stderr.strip().splitlines()[-1])\n"
        "print('\\n'.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", script, *names], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
    assert len(names) > 10
