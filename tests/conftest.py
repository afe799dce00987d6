"""Shared fixtures: paths to the fixture projects and a workspace copy per test."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from punie_lsp.models.tiny.blas import enable_fast_blas

enable_fast_blas()  # before anything imports MLX: the tiny-model tests run on OpenBLAS, as users do

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"


@pytest.fixture
def copy_fixture(tmp_path: Path) -> Callable[[str], Path]:
    """Copy `fixtures/<name>` into a fresh temporary directory and return the copy's path."""

    def copy(name: str) -> Path:
        target = tmp_path / Path(name).name
        shutil.copytree(FIXTURES / name, target, ignore=shutil.ignore_patterns("__pycache__", ".venv"))
        return target

    return copy
