"""Every case under `fixtures/domain/` finds exactly its expected findings, and fixes match the goldens.

A case is a directory `fixtures/domain/<case>/` holding a small project (Python files, optionally a
`pyproject.toml` declaring the tdom version) plus:

- `expected.json`: `{"findings": [{"rule": "TDOM001", "file": "app/views.py", "line": 12}, ...]}`, the
  exact set of domain findings (an empty list for negative controls);
- `fixed/` (optional): for every file that `--fix` changes, the golden fixed text at the same relative path.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from punie_lsp.domain import RULES
from punie_lsp.domain.validate import apply_fixes, validate_sync
from punie_lsp.tools.context import ToolContext

CASES_DIR = Path(__file__).resolve().parents[2] / "fixtures" / "domain"
CASES = (
    sorted(p.name for p in CASES_DIR.iterdir() if (p / "expected.json").is_file())
    if CASES_DIR.is_dir()
    else []
)


def _copy_case(name: str, tmp_path: Path) -> Path:
    target = tmp_path / name
    shutil.copytree(
        CASES_DIR / name, target, ignore=shutil.ignore_patterns("fixed", "expected.json", "__pycache__")
    )
    return target


def _findings(root: Path) -> set[tuple[str, str, int]]:
    result = validate_sync(ToolContext.for_root(root))
    assert result.tool_error is None
    return {(i.rule, i.file, i.line) for i in result.issues}


@pytest.mark.parametrize("case", CASES)
def test_case_findings(case: str, tmp_path: Path) -> None:
    """The validators report exactly the findings listed in the case's `expected.json`."""
    expected = json.loads((CASES_DIR / case / "expected.json").read_text())["findings"]
    root = _copy_case(case, tmp_path)
    assert _findings(root) == {(f["rule"], f["file"], f["line"]) for f in expected}


@pytest.mark.parametrize("case", [c for c in CASES if (CASES_DIR / c / "fixed").is_dir()])
def test_case_fix_matches_golden_and_revalidates(case: str, tmp_path: Path) -> None:
    """Auto-fixes produce the golden files byte for byte, touch nothing else, and leave no fixable finding."""
    root = _copy_case(case, tmp_path)
    ctx = ToolContext.for_root(root)
    originals = {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}
    apply_fixes(ctx, [rel for rel in originals if rel.endswith(".py")])
    golden_dir = CASES_DIR / case / "fixed"
    goldens = {
        p.relative_to(golden_dir).as_posix(): p.read_bytes() for p in golden_dir.rglob("*") if p.is_file()
    }
    for rel, before in originals.items():
        after = (root / rel).read_bytes()
        assert after == goldens.get(rel, before), rel
    remaining = _findings(root)
    assert not [f for f in remaining if f[0] in RULES and RULES[f[0]].fixer is not None]


def test_there_are_at_least_twenty_cases() -> None:
    """The issue asks for at least 20 realistic fixture files or packages."""
    assert len(CASES) >= 20
