"""`punie rules`, `punie domain inspect` and `punie check --layers domain` through the real script."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from punie_lsp.domain import RULES

PUNIE = str(Path(sys.executable).parent / "punie")
CATALOGUE = Path(__file__).resolve().parents[3] / "shared" / "design" / "domain-rules.md"


def punie(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the installed script."""
    return subprocess.run([PUNIE, *args], capture_output=True, text=True, timeout=300)


def test_every_catalogue_rule_is_registered_with_docs() -> None:
    """All 55 rule IDs of the specification exist, each with why, bad and good examples."""
    expected = {f"TDOM{n:03}" for n in range(1, 17)} | {f"SVC{n:03}" for n in range(1, 16)}
    expected |= {f"MW{n:03}" for n in range(1, 13)} | {f"LC{n:03}" for n in range(1, 13)}
    assert set(RULES) == expected
    for rule in RULES.values():
        assert rule.why and rule.bad.strip() and rule.good.strip(), rule.id
        assert (rule.fixer is not None) == (rule.fix == "A"), rule.id


def test_severities_and_fixability_match_the_specification() -> None:
    """Severity and A/S fixability follow `domain-rules.md` row by row."""
    if not CATALOGUE.is_file():  # the specification travels beside the checkout
        raise AssertionError(f"missing {CATALOGUE}")
    severity = {"E": "error", "W": "warning", "I": "info"}
    rows = 0
    for line in CATALOGUE.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0] in RULES:
            rows += 1
            rule = RULES[cells[0]]
            assert rule.severity == severity[cells[1]], rule.id
            assert rule.fix == cells[3][0], rule.id
    assert rows == len(RULES)


def test_rules_list_and_show() -> None:
    """`rules list` prints every rule; `rules show` prints the docs; unknown IDs exit 2."""
    listed = punie("rules", "list")
    assert len(listed.stdout.splitlines()) == len(RULES)
    assert punie("rules", "list", "--family", "mw").stdout.count("\n") == 12
    shown = punie("rules", "show", "tdom001")
    assert shown.stdout.startswith("### TDOM001 (error)")
    assert "Bad:" in shown.stdout and "Good:" in shown.stdout
    unknown = punie("rules", "show", "XYZ999")
    assert unknown.returncode == 2 and unknown.stdout == ""


def test_domain_inspect_json_and_text(copy_fixture: Callable[[str], Path]) -> None:
    """Inspect lists the registrations and lifecycles of the svcs fixture app."""
    root = copy_fixture("webapp")
    data = json.loads(punie("domain", "inspect", str(root), "--format", "json").stdout)
    assert [s["service_type"] for s in data["services"]] == ["UserStore", "Greeter"]
    assert {lc["kind"] for lc in data["lifecycles"]} == {"registry", "container"}
    text = punie("domain", "inspect", str(root)).stdout
    assert "UserStore <- factory user_store_factory [app]" in text
    missing = punie("domain", "inspect", str(root / "nope"))
    assert missing.returncode == 2 and "does not exist" in missing.stderr


def test_check_domain_layer_reports_punie_source(copy_fixture: Callable[[str], Path]) -> None:
    """`punie check --layers domain` reports rule IDs with `source: "punie"`."""
    root = copy_fixture("domain/lc_leaky_handlers")
    (root / "expected.json").unlink()
    shutil.rmtree(root / "fixed", ignore_errors=True)
    proc = punie("check", str(root), "--layers", "domain", "--format", "json")
    diagnostics = json.loads(proc.stdout)["diagnostics"]
    assert diagnostics
    assert {d["source"] for d in diagnostics} == {"punie"}
    assert {d["rule"][:2] for d in diagnostics} == {"LC"}
    assert proc.returncode == 1
