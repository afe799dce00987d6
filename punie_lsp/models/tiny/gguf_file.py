"""A lean GGUF reader: metadata and memory-mapped tensor views, in well under a second.

`gguf.GGUFReader` builds a numpy view for every element of every metadata array; for Gemma's 262,144-token
vocabulary (tokens, scores and types) that takes 10–30 s and about 700 MB. The converter only needs the
metadata values and each tensor's bytes, so it parses the header itself (GGUF v2/v3, little-endian) and
leaves dequantization to `gguf.quants`. The tests check the result against `GGUFReader`.
"""

from __future__ import annotations

import mmap
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from gguf import GGML_QUANT_SIZES, GGMLQuantizationType

__all__ = ("GGUFFile", "GGUFFormatError", "GGUFTensor", "read_gguf")

_SCALARS: dict[int, tuple[str, int]] = {
    0: ("<B", 1),
    1: ("<b", 1),
    2: ("<H", 2),
    3: ("<h", 2),
    4: ("<I", 4),
    5: ("<i", 4),
    6: ("<f", 4),
    7: ("<?", 1),
    10: ("<Q", 8),
    11: ("<q", 8),
    12: ("<d", 8),
}
_STRING, _ARRAY = 8, 9
_NUMPY = {
    0: "<u1",
    1: "<i1",
    2: "<u2",
    3: "<i2",
    4: "<u4",
    5: "<i4",
    6: "<f4",
    10: "<u8",
    11: "<i8",
    12: "<f8",
}


class GGUFFormatError(ValueError):
    """Not a GGUF file this reader understands."""


@dataclass(frozen=True, kw_only=True)
class GGUFTensor:
    """One tensor: its name, numpy-order shape, type and raw data (rows of blocks for quantized types)."""

    name: str
    shape: tuple[int, ...]
    """numpy order: `reversed` of the GGUF dimensions, so a linear layer's weight is `(out, in)`."""
    tensor_type: GGMLQuantizationType
    data: np.ndarray
    """`float32`/`float16` values, or `uint8` rows of quantized blocks (as `gguf.quants.dequantize` takes)."""

    @property
    def n_elements(self) -> int:
        """The number of values."""
        return int(np.prod(self.shape))


@dataclass(frozen=True, kw_only=True)
class GGUFFile:
    """A parsed GGUF: metadata values and tensors (the tensors view a shared read-only memory map)."""

    metadata: dict[str, Any]
    tensors: list[GGUFTensor]

    def get(self, key: str) -> Any:
        """A metadata value, or `None`."""
        return self.metadata.get(key)


class _Cursor:
    def __init__(self, buffer: mmap.mmap) -> None:
        self.buffer = buffer
        self.offset = 0

    def scalar(self, kind: int) -> Any:
        fmt, size = _SCALARS[kind]
        (value,) = struct.unpack_from(fmt, self.buffer, self.offset)
        self.offset += size
        return value

    def string(self) -> str:
        (length,) = struct.unpack_from("<Q", self.buffer, self.offset)
        start = self.offset + 8
        self.offset = start + length
        return self.buffer[start : self.offset].decode("utf-8", errors="replace")

    def value(self, kind: int) -> Any:
        if kind == _STRING:
            return self.string()
        if kind == _ARRAY:
            item_kind = self.scalar(4)
            count = self.scalar(10)
            if item_kind in _NUMPY:
                array = np.frombuffer(self.buffer, dtype=_NUMPY[item_kind], count=count, offset=self.offset)
                self.offset += array.nbytes
                return array.tolist()
            return [self.value(item_kind) for _ in range(count)]
        if kind not in _SCALARS:
            raise GGUFFormatError(f"unknown GGUF value type {kind}")
        return self.scalar(kind)


def read_gguf(path: Path) -> GGUFFile:
    """Parse a GGUF file's header and map its tensors (nothing is copied or dequantized).

    Raises:
        GGUFFormatError: not a little-endian GGUF v2/v3, or an unknown tensor type.
    """
    with path.open("rb") as handle:
        buffer = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    if buffer[:4] != b"GGUF":
        raise GGUFFormatError(f"`{path}` is not a GGUF file")
    cursor = _Cursor(buffer)
    cursor.offset = 4
    version = cursor.scalar(4)
    if version not in (2, 3):
        raise GGUFFormatError(f"unsupported GGUF version {version} (or a big-endian file)")
    tensor_count, kv_count = cursor.scalar(10), cursor.scalar(10)
    metadata: dict[str, Any] = {}
    for _ in range(kv_count):
        key = cursor.string()
        metadata[key] = cursor.value(cursor.scalar(4))
    infos: list[tuple[str, tuple[int, ...], GGMLQuantizationType, int]] = []
    for _ in range(tensor_count):
        name = cursor.string()
        dims = tuple(cursor.scalar(10) for _ in range(cursor.scalar(4)))
        try:
            kind = GGMLQuantizationType(cursor.scalar(4))
        except ValueError as error:
            raise GGUFFormatError(f"tensor `{name}` has an unknown type") from error
        infos.append((name, dims, kind, cursor.scalar(10)))
    alignment = int(metadata.get("general.alignment", 32))
    start = cursor.offset + (-cursor.offset % alignment)
    tensors = []
    for name, dims, kind, offset in infos:
        block_size, type_size = GGML_QUANT_SIZES[kind]
        shape = tuple(reversed(dims))
        rows = int(np.prod(shape[:-1])) if len(shape) > 1 else 1
        row_bytes = shape[-1] // block_size * type_size
        raw = np.frombuffer(buffer, dtype=np.uint8, count=rows * row_bytes, offset=start + offset)
        if kind == GGMLQuantizationType.F32:
            data = raw.view(np.float32).reshape(shape)
        elif kind == GGMLQuantizationType.F16:
            data = raw.view(np.float16).reshape(shape)
        else:
            data = raw.reshape(rows, row_bytes)
        tensors.append(GGUFTensor(name=name, shape=shape, tensor_type=kind, data=data))
    return GGUFFile(metadata=metadata, tensors=tensors)
