"""User docs stay in step with the code."""

from __future__ import annotations

from pathlib import Path

from punie_lsp.domain.rules import catalogue_markdown

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_rule_reference_is_generated_from_the_registry() -> None:
    """`docs/rules.md` is exactly `punie rules show --all` (regenerate it when a rule changes)."""
    assert (DOCS / "rules.md").read_text() == catalogue_markdown()


def test_index_links_every_page() -> None:
    """Every page under docs/ is reachable from the index."""
    index = (DOCS / "index.md").read_text()
    for page in DOCS.glob("*.md"):
        if page.name != "index.md":
            assert f"({page.name})" in index, page.name
