"""Shared fixtures: paths to the fixture projects and a workspace copy per test."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pydantic_ai.models import override_allow_model_requests

from punie_lsp.models.tiny.blas import enable_fast_blas

enable_fast_blas()  # before anything imports MLX: the tiny-model tests run on OpenBLAS, as users do

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"


@pytest.fixture(autouse=True)
def _no_model_requests() -> Iterator[None]:
    """Refuse real model requests in every test unless it asks for `allow_requests`."""
    with override_allow_model_requests(False):
        yield


@pytest.fixture
def allow_requests(_no_model_requests: None) -> Iterator[None]:
    """Allow real requests: to an in-process MLX model or to a loopback server the test started."""
    with override_allow_model_requests(True):
        yield


@pytest.fixture
def copy_fixture(tmp_path: Path) -> Callable[[str], Path]:
    """Copy `fixtures/<name>` into a fresh temporary directory and return the copy's path."""

    def copy(name: str) -> Path:
        target = tmp_path / Path(name).name
        shutil.copytree(FIXTURES / name, target, ignore=shutil.ignore_patterns("__pycache__", ".venv"))
        return target

    return copy
