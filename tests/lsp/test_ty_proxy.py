"""The ty proxy on its own: navigation answers in Punie's shape, restarts, and life without ty."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

from punie_lsp.lsp.ty_proxy import TyProxy
from tests.lsp.conftest import copy_shop


def _where(path: Path, needle: str, offset: int = 0) -> tuple[int, int]:
    text = path.read_text()
    at = text.index(needle) + offset
    return text.count("\n", 0, at) + 1, at - text.rfind("\n", 0, at)


async def test_navigation_through_a_standalone_ty(tmp_path: Path) -> None:
    """Definition, references, hover and symbols come back 1-based, with paths, for the agent's tools."""
    root = copy_shop(tmp_path / "shop")
    pages, services = root / "shop" / "pages.py", root / "shop" / "services.py"
    async with TyProxy.standalone(root) as ty:
        assert ty.available
        line, column = _where(pages, "get(Database)", 4)
        (definition,) = await ty.locate_definition(pages, line, column)
        assert Path(definition.path) == services.resolve()
        assert (definition.line, definition.column) == _where(services, "Database:", 0)
        references = await ty.locate_references(pages, line, column)
        assert {Path(r.path).name for r in references} == {"pages.py", "services.py"}
        assert "Database" in await ty.hover_text(pages, line, column)
        symbols = await ty.document_symbols(services.as_uri())
        assert {s.name for s in symbols} >= {"Database", "make_database", "registry"}


async def test_ty_is_restarted_after_it_dies(tmp_path: Path) -> None:
    """Killing ty makes the proxy start a new one and re-open the documents it mirrors."""
    root = copy_shop(tmp_path / "shop")
    pages = root / "shop" / "pages.py"
    async with TyProxy.standalone(root) as ty:
        ty.did_open(pages.as_uri(), language_id="python", version=1, text=pages.read_text() + "\nlate = 1\n")
        first = ty.process_id()
        assert first is not None
        os.kill(first, signal.SIGKILL)
        for _ in range(200):
            if ty.available and ty.process_id() not in (None, first):
                break
            await asyncio.sleep(0.05)
        assert ty.available and ty.process_id() != first
        line = pages.read_text().count("\n") + 2
        assert "Literal[1]" in await ty.hover_text(pages, line, 1)  # the mirrored buffer, not the disk


async def test_without_ty_every_answer_is_empty(tmp_path: Path) -> None:
    """A missing binary leaves the proxy failed, with a reason, and every request answered empty."""
    root = copy_shop(tmp_path / "shop")
    pages = root / "shop" / "pages.py"
    async with TyProxy.standalone(root, binary=str(tmp_path / "no-ty")) as ty:
        assert ty.state == "failed" and ty.last_error is not None and "no-ty" in ty.last_error
        assert await ty.locate_definition(pages, 1, 1) == []
        assert await ty.hover(pages.as_uri(), ty._to_lsp(pages, 1, 1)) is None
