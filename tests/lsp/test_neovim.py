"""A real editor as the client: Debian's Neovim (0.7.2), headless, driven by `nvim/driver.lua`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.lsp.conftest import HERE, SERVER_ENV, copy_shop, punie_lsp_command

pytestmark = pytest.mark.e2e

DRIVER = HERE / "nvim" / "driver.lua"
AGENT_TURNS = [
    "<tool_call>\n<function=run_code>\n<parameter=code>\n"
    "file_edit('shop/pages.py', 'html(f\"<p>Goodbye', 'html(t\"<p>Goodbye')\n"
    "</parameter>\n</function>\n</tool_call>",
    "Done.",
]


def _nvim() -> str:
    found = os.environ.get("PUNIE_NVIM") or shutil.which("nvim")
    if found is None:
        pytest.fail(
            "Neovim is required for this end-to-end test and was not found on PATH (or in PUNIE_NVIM): "
            "install Debian's package with `apt-get install -y neovim`."
        )
    return found


def test_neovim_receives_diagnostics_and_applies_fixes(tmp_path: Path) -> None:
    """Neovim shows Punie's diagnostics, applies the quick fix, then applies the agent's workspace edit."""
    nvim = _nvim()
    root = copy_shop(tmp_path / "shop")
    replay = tmp_path / "turns.jsonl"
    replay.write_text("".join(json.dumps({"content": turn}) + "\n" for turn in AGENT_TURNS))
    result = tmp_path / "result.txt"
    env = {
        **SERVER_ENV,
        "PUNIE_CMD": "\t".join(punie_lsp_command()),
        "PUNIE_FILE": str(root / "shop" / "pages.py"),
        "PUNIE_ROOT": str(root),
        "PUNIE_RESULT": str(result),
        "PUNIE_REPLAY": str(replay),
    }
    proc = subprocess.run(
        [nvim, "--headless", "--clean", "-c", f"luafile {DRIVER}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        stdin=subprocess.DEVNULL,
    )
    lines = result.read_text().splitlines() if result.exists() else []
    assert proc.returncode == 0, (lines, proc.stdout[-2000:], proc.stderr[-2000:])
    assert lines[0].startswith("neovim 0.")
    assert lines[1:3] == ["diagnostic punie TDOM001 line 11", "diagnostic punie TDOM001 line 15"]
    assert lines[3].startswith("quick fix Punie: fix TDOM001")
    assert lines[4] == 'fixed line     return html(t"<p>Hello {user}!</p>")'
    assert lines[5:] == [
        "diagnostics after quick fix 1",
        "agent applied true",
        'agent line     return html(t"<p>Goodbye {user}, à bientôt 👋</p>")',
        "diagnostics after agent 0",
    ]
    assert 'html(f"<p>Hello' in (root / "shop" / "pages.py").read_text()  # edits live in the buffer, unsaved
