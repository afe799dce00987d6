"""Fixtures of the punie-tiny tests: one real install per session (through the CLI) and the source GGUF.

The install is the slow part (about 30 s on two cores), so it happens once, in a temporary PUNIE_HOME,
by running `punie model install punie-tiny` as a user would.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from punie_lsp.models import MLXModel, punie_tiny_dir, resolve_model
from punie_lsp.models.tiny.source import assemble_gguf
from tests.tiny.reference import GemmaReference

PUNIE = str(Path(sys.executable).parent / "punie")


def run_punie(
    *args: str, home: Path, timeout: float = 600, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the installed `punie` script with `PUNIE_HOME=home`, no terminal, output captured."""
    env = {**os.environ, "PUNIE_HOME": str(home)}
    env.pop("PUNIE_MODEL", None)
    return subprocess.run(
        [PUNIE, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        cwd=cwd,
    )


@pytest.fixture(scope="session")
def tiny_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A PUNIE_HOME where `punie model install punie-tiny` has run (once per session)."""
    home = tmp_path_factory.mktemp("punie-home")
    proc = run_punie("model", "install", "punie-tiny", home=home)
    assert proc.returncode == 0, proc.stderr
    assert f"punie-tiny installed in {home / 'models' / 'punie-tiny'}" in proc.stdout
    return home


@pytest.fixture(scope="session")
def tiny_dir(tiny_home: Path) -> Path:
    """The installed model directory."""
    return tiny_home / "models" / "punie-tiny"


@pytest.fixture(scope="session")
def source_gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The verified GGUF, assembled from the package (the reference the conversion is checked against)."""
    return assemble_gguf(tmp_path_factory.mktemp("gguf") / "gemma-3-270m-q4_k_m.gguf")


@pytest.fixture(scope="session")
def punie_tiny(tiny_home: Path) -> MLXModel:
    """The converted base model (`mlx:<install dir>`, no adapter), loaded once (about 1.1 GB)."""
    model = resolve_model(f"mlx:{punie_tiny_dir(tiny_home)}", punie_home=tiny_home)
    assert isinstance(model, MLXModel)
    return model


@pytest.fixture(scope="session")
def mlx_tiny(punie_tiny: MLXModel) -> tuple[Any, Any]:
    """The mlx-lm model and tokenizer that `punie_tiny` loaded (`mlx_lm.load` of the install)."""
    loaded = punie_tiny._load_sync()
    return loaded.model, loaded.tokenizer


@pytest.fixture(scope="session")
def gguf_reference(source_gguf: Path) -> GemmaReference:
    """The numpy forward pass and llama.cpp-style tokenizer on the GGUF (about 30 s to dequantize)."""
    return GemmaReference(source_gguf)
