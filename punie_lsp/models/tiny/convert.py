"""Gemma 3 GGUF → a Hugging Face / mlx-lm model directory (`gemma3_text`), without torch.

* **Weights.** Every tensor is dequantized with `gguf` (`gguf.quants.dequantize`); the numpy shape
  `reversed(gguf shape)` is already `(out, in)`, the `nn.Linear` layout, so nothing is transposed, and
  Gemma's NEOX rope needs no Q/K permutation. llama.cpp stores every RMSNorm weight as `1 + w` (it
  multiplies by the weight; Hugging Face and mlx-lm compute `x * (1 + w)`), so `1` is subtracted from every
  `*norm.weight`. There is no `output.weight`: the LM head is tied to the embedding. The tensors are
  streamed one at a time (the embedding in row blocks) into one float32 `model.safetensors`, so memory stays
  near the size of the largest block, not the model. float32 because bf16 and quantized matmuls on MLX's
  CPU backend do not use BLAS and are several times slower.
* **Config.** Sizes come from the GGUF metadata; the Gemma 3 constants the GGUF does not carry are fixed
  here (sliding window pattern 6, local rope base 10,000, `query_pre_attn_scalar` 256,
  `gelu_pytorch_tanh`). `eos_token_id` is `[1, 106]` so that `<end_of_turn>` stops generation.
* **Tokenizer.** transformers' GGUF *tokenizer builder* (`transformers.integrations.gguf.
  gguf_tokenizer_mapping`, which does not import torch) turns the vocabulary, scores and token types into a
  `tokenizers` BPE with byte fallback; we add Gemma's `<bos>` post-processor and write `tokenizer.json`, and
  a `tokenizer_config.json` that carries Punie's Gemma-flavoured chat template (`chat_template.py`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from punie_lsp.models.tiny.chat_template import PUNIE_GEMMA_CHAT_TEMPLATE

if TYPE_CHECKING:
    import numpy as np

    from punie_lsp.models.tiny.gguf_file import GGUFFile, GGUFTensor

__all__ = (
    "END_OF_TURN_ID",
    "ConversionError",
    "GemmaParams",
    "convert_gguf",
    "gemma_config",
    "hf_tensor_name",
    "read_params",
    "refresh_serving_files",
    "tokenizer_files",
)

END_OF_TURN_ID = 106
"""`<end_of_turn>`, the second end-of-sequence token."""
ARCHITECTURE = "gemma3"
"""The only GGUF architecture this converter supports."""
SLIDING_WINDOW_PATTERN = 6
ROPE_LOCAL_BASE_FREQ = 10_000.0
QUERY_PRE_ATTN_SCALAR = 256
HIDDEN_ACTIVATION = "gelu_pytorch_tanh"
_ROW_BLOCK_BYTES = 64 << 20
"""Dequantize large tensors in row blocks of about this many output bytes."""

_LAYER_NAMES = {
    "attn_q.weight": "self_attn.q_proj.weight",
    "attn_k.weight": "self_attn.k_proj.weight",
    "attn_v.weight": "self_attn.v_proj.weight",
    "attn_output.weight": "self_attn.o_proj.weight",
    "attn_q_norm.weight": "self_attn.q_norm.weight",
    "attn_k_norm.weight": "self_attn.k_norm.weight",
    "attn_norm.weight": "input_layernorm.weight",
    "post_attention_norm.weight": "post_attention_layernorm.weight",
    "ffn_norm.weight": "pre_feedforward_layernorm.weight",
    "post_ffw_norm.weight": "post_feedforward_layernorm.weight",
    "ffn_gate.weight": "mlp.gate_proj.weight",
    "ffn_up.weight": "mlp.up_proj.weight",
    "ffn_down.weight": "mlp.down_proj.weight",
}
_GLOBAL_NAMES = {"token_embd.weight": "model.embed_tokens.weight", "output_norm.weight": "model.norm.weight"}
_BLOCK = re.compile(r"^blk\.(\d+)\.(.+)$")


class ConversionError(Exception):
    """The GGUF is not a Gemma 3 model this converter understands."""


def hf_tensor_name(gguf_name: str) -> str:
    """The Hugging Face Gemma 3 name of a GGUF tensor (`blk.3.ffn_up.weight` → `model.layers.3.mlp.up_proj…`).

    Raises:
        ConversionError: an unknown tensor (for instance `output.weight`: this converter expects a tied head).
    """
    if gguf_name in _GLOBAL_NAMES:
        return _GLOBAL_NAMES[gguf_name]
    match = _BLOCK.match(gguf_name)
    if match and match[2] in _LAYER_NAMES:
        return f"model.layers.{match[1]}.{_LAYER_NAMES[match[2]]}"
    raise ConversionError(f"unexpected tensor `{gguf_name}` in a Gemma 3 GGUF")


def _is_norm(gguf_name: str) -> bool:
    return gguf_name.endswith("norm.weight")


@dataclass(frozen=True, kw_only=True)
class GemmaParams:
    """The hyperparameters a Gemma 3 GGUF states."""

    hidden_size: int
    num_hidden_layers: int
    intermediate_size: int
    num_attention_heads: int
    num_key_value_heads: int
    head_dim: int
    rms_norm_eps: float
    rope_theta: float
    sliding_window: int
    max_position_embeddings: int
    vocab_size: int
    bos_token_id: int
    eos_token_id: int
    pad_token_id: int
    unk_token_id: int
    add_bos_token: bool


def _field(gguf: GGUFFile, key: str) -> Any:
    value = gguf.get(key)
    if value is None:
        raise ConversionError(f"the GGUF has no `{key}`")
    return value


def read_params(gguf: GGUFFile) -> GemmaParams:
    """Read the hyperparameters from the GGUF metadata.

    Raises:
        ConversionError: not a Gemma 3 GGUF, or a key is missing.
    """
    architecture = _field(gguf, "general.architecture")
    if architecture != ARCHITECTURE:
        raise ConversionError(f"expected a `{ARCHITECTURE}` GGUF, got `{architecture}`")
    embedding = next((t for t in gguf.tensors if t.name == "token_embd.weight"), None)
    if embedding is None:
        raise ConversionError("the GGUF has no `token_embd.weight`")

    def arch(key: str) -> Any:
        return _field(gguf, f"{ARCHITECTURE}.{key}")

    eps = float(arch("attention.layer_norm_rms_epsilon"))
    add_bos = gguf.get("tokenizer.ggml.add_bos_token")
    return GemmaParams(
        hidden_size=int(arch("embedding_length")),
        num_hidden_layers=int(arch("block_count")),
        intermediate_size=int(arch("feed_forward_length")),
        num_attention_heads=int(arch("attention.head_count")),
        num_key_value_heads=int(arch("attention.head_count_kv")),
        head_dim=int(arch("attention.key_length")),
        rms_norm_eps=float(f"{eps:.6g}"),  # stored as float32: 9.99999997e-07
        rope_theta=float(arch("rope.freq_base")),
        sliding_window=int(arch("attention.sliding_window")),
        max_position_embeddings=int(arch("context_length")),
        vocab_size=int(embedding.shape[0]),
        bos_token_id=int(_field(gguf, "tokenizer.ggml.bos_token_id")),
        eos_token_id=int(_field(gguf, "tokenizer.ggml.eos_token_id")),
        pad_token_id=int(_field(gguf, "tokenizer.ggml.padding_token_id")),
        unk_token_id=int(_field(gguf, "tokenizer.ggml.unknown_token_id")),
        add_bos_token=bool(add_bos) if add_bos is not None else True,
    )


def gemma_config(params: GemmaParams) -> dict[str, Any]:
    """`config.json` for `Gemma3ForCausalLM` (transformers) and `gemma3_text` (mlx-lm)."""
    pattern = SLIDING_WINDOW_PATTERN
    return {
        "architectures": ["Gemma3ForCausalLM"],
        "model_type": "gemma3_text",
        "hidden_size": params.hidden_size,
        "num_hidden_layers": params.num_hidden_layers,
        "intermediate_size": params.intermediate_size,
        "num_attention_heads": params.num_attention_heads,
        "num_key_value_heads": params.num_key_value_heads,
        "head_dim": params.head_dim,
        "rms_norm_eps": params.rms_norm_eps,
        "vocab_size": params.vocab_size,
        "max_position_embeddings": params.max_position_embeddings,
        "rope_theta": params.rope_theta,
        "rope_local_base_freq": ROPE_LOCAL_BASE_FREQ,
        "rope_scaling": None,
        "sliding_window": params.sliding_window,
        "sliding_window_pattern": pattern,
        "layer_types": [
            "full_attention" if (i + 1) % pattern == 0 else "sliding_attention"
            for i in range(params.num_hidden_layers)
        ],
        "query_pre_attn_scalar": QUERY_PRE_ATTN_SCALAR,
        "hidden_activation": HIDDEN_ACTIVATION,
        "attn_logit_softcapping": None,
        "final_logit_softcapping": None,
        "attention_bias": False,
        "attention_dropout": 0.0,
        "tie_word_embeddings": True,
        "bos_token_id": params.bos_token_id,
        "eos_token_id": [params.eos_token_id, END_OF_TURN_ID],
        "pad_token_id": params.pad_token_id,
        "torch_dtype": "float32",
        "use_cache": True,
    }


def _dequantized_blocks(tensor: GGUFTensor) -> Iterator[np.ndarray]:
    """The tensor as float32 numpy blocks of whole rows (norms shifted by -1), in order."""
    import numpy as np
    from gguf import GGMLQuantizationType
    from gguf.quants import dequantize

    shape = tensor.shape
    data = tensor.data
    rows = shape[0] if len(shape) > 1 else 1
    row_bytes = 4 * (int(np.prod(shape)) // rows)
    step = max(1, _ROW_BLOCK_BYTES // row_bytes)
    for start in range(0, rows, step):
        block = data[start : start + step] if len(shape) > 1 else data
        if tensor.tensor_type == GGMLQuantizationType.F32:
            values = np.asarray(block, dtype=np.float32)
        else:
            values = np.asarray(dequantize(block, tensor.tensor_type), dtype=np.float32)
        values = values.reshape(-1, *shape[1:]) if len(shape) > 1 else values.reshape(shape)
        if _is_norm(tensor.name):
            values = values - np.float32(1.0)
        yield values


def convert_weights(
    gguf: GGUFFile,
    target: Path,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, tuple[int, ...]]:
    """Stream every tensor, dequantized to float32 and renamed, into one safetensors file.

    Args:
        gguf: the parsed GGUF.
        target: the `model.safetensors` to write.
        progress: called with `(tensors done, tensors total)`.

    Returns:
        The Hugging Face names and shapes written.

    Raises:
        ConversionError: an unknown tensor name, or a tensor of an unexpected size.
    """
    tensors = sorted(((hf_tensor_name(t.name), t) for t in gguf.tensors), key=lambda item: item[0])
    header: dict[str, Any] = {"__metadata__": {"format": "mlx"}}
    offset = 0
    shapes: dict[str, tuple[int, ...]] = {}
    for name, tensor in tensors:
        shape = tensor.shape
        size = 4 * tensor.n_elements
        header[name] = {"dtype": "F32", "shape": list(shape), "data_offsets": [offset, offset + size]}
        shapes[name] = shape
        offset += size
    encoded = json.dumps(header, separators=(",", ":")).encode()
    encoded += b" " * (-len(encoded) % 8)
    if progress is not None:
        progress(0, len(tensors))
    with target.open("wb") as out:
        out.write(len(encoded).to_bytes(8, "little"))
        out.write(encoded)
        for index, (name, tensor) in enumerate(tensors):
            written = 0
            for block in _dequantized_blocks(tensor):
                out.write(block.tobytes())
                written += block.nbytes
            if written != header[name]["data_offsets"][1] - header[name]["data_offsets"][0]:
                raise ConversionError(f"`{tensor.name}` dequantized to {written} bytes, expected more")
            if progress is not None:
                progress(index + 1, len(tensors))
    return shapes


def _tokenizer_dict(gguf: GGUFFile) -> dict[str, Any]:
    return {
        "tokenizer_type": _field(gguf, "tokenizer.ggml.model"),
        "pre_tokenizer_type": _field(gguf, "tokenizer.ggml.pre"),
        "tokens": _field(gguf, "tokenizer.ggml.tokens"),
        "scores": _field(gguf, "tokenizer.ggml.scores"),
        "token_type": _field(gguf, "tokenizer.ggml.token_type"),
    }


def tokenizer_files(gguf: GGUFFile, params: GemmaParams) -> tuple[str, dict[str, Any]]:
    """Build the tokenizer from the GGUF metadata: the `tokenizer.json` text and `tokenizer_config.json`.

    Raises:
        ConversionError: transformers' GGUF tokenizer builder is missing or fails.
    """
    from tokenizers import processors

    try:
        from transformers.integrations.gguf.gguf_tokenizer_mapping import convert_gguf_tokenizer
    except ImportError as error:  # pragma: no cover - depends on the transformers version
        raise ConversionError(f"this transformers has no GGUF tokenizer builder ({error})") from error
    spec = _tokenizer_dict(gguf)
    try:
        tokenizer, _ = convert_gguf_tokenizer(ARCHITECTURE, spec)
    except Exception as error:  # pragma: no cover - depends on the transformers version
        raise ConversionError(f"cannot build the tokenizer from the GGUF: {error}") from error
    tokens = spec["tokens"]
    bos = tokens[params.bos_token_id]
    if params.add_bos_token:
        tokenizer.post_processor = processors.TemplateProcessing(
            single=f"{bos}:0 $A:0",
            pair=f"{bos}:0 $A:0 {bos}:1 $B:1",
            special_tokens=[(bos, params.bos_token_id)],
        )
    config = {
        "tokenizer_class": "GemmaTokenizer",
        "bos_token": bos,
        "eos_token": tokens[params.eos_token_id],
        "unk_token": tokens[params.unk_token_id],
        "pad_token": tokens[params.pad_token_id],
        "add_bos_token": params.add_bos_token,
        "add_eos_token": False,
        "clean_up_tokenization_spaces": False,
        "spaces_between_special_tokens": False,
        "model_max_length": params.max_position_embeddings,
        "padding_side": "left",
        "chat_template": PUNIE_GEMMA_CHAT_TEMPLATE,
    }
    return tokenizer.to_str(), config


SERVING = {"prompt_profile": "compact", "temperature": 0.0, "max_tokens": 512}
"""punie-tiny's `punie.json`: the compact prompt, greedy decoding (a 270M model sampled at the usual 0.7
drifts into junk tokens), and answers capped at 512 tokens (its Code Mode blocks and answers are short)."""


def refresh_serving_files(model_dir: Path) -> bool:
    """Bring a punie-tiny directory's chat template and `punie.json` (prompt profile) up to this version.

    Cheap (two small JSON files), so `resolve_model("punie-tiny")` calls it on every load: a model
    installed by an older Punie is then served in the format this Punie trains and parses.

    Returns:
        Whether a file was rewritten.
    """
    from punie_lsp.models.chat_format import SERVING_FILE

    changed = False
    config_path = model_dir / "tokenizer_config.json"
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        config = None  # not a tokenizer this can fix: loading the model reports it
    if isinstance(config, dict) and config.get("chat_template") != PUNIE_GEMMA_CHAT_TEMPLATE:
        config["chat_template"] = PUNIE_GEMMA_CHAT_TEMPLATE
        _write_atomically(config_path, json.dumps(config, indent=2))
        changed = True
    serving_path = model_dir / SERVING_FILE
    serving = json.dumps(SERVING, indent=2) + "\n"
    try:
        current = serving_path.read_text(encoding="utf-8")
    except OSError:
        current = None
    if current != serving:
        _write_atomically(serving_path, serving)
        changed = True
    return changed


def _write_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)


def convert_gguf(
    gguf_path: Path,
    target: Path,
    *,
    progress: Callable[[str, int, int], None] | None = None,
) -> GemmaParams:
    """Convert a Gemma 3 GGUF into the (existing, empty) directory `target`.

    Writes `model.safetensors`, `config.json`, `generation_config.json`, `tokenizer.json`,
    `tokenizer_config.json` and `punie.json` (served with the `compact` prompt profile).

    Args:
        gguf_path: the GGUF file.
        target: the output directory.
        progress: called with `(stage, done, total)`; stages `read`, `weights` (tensors) and `tokenizer`.

    Returns:
        The hyperparameters read.

    Raises:
        ConversionError: not a Gemma 3 GGUF this converter understands.
    """
    from punie_lsp.models.tiny.gguf_file import GGUFFormatError, read_gguf

    def report(stage: str) -> Callable[[int, int], None] | None:
        if progress is None:
            return None
        return lambda done, total: progress(stage, done, total)

    if progress is not None:
        progress("read", 0, 1)
    try:
        gguf = read_gguf(gguf_path)
    except GGUFFormatError as error:
        raise ConversionError(str(error)) from error
    params = read_params(gguf)
    if progress is not None:
        progress("read", 1, 1)
    shapes = convert_weights(gguf, target / "model.safetensors", progress=report("weights"))
    embed = shapes["model.embed_tokens.weight"]
    if embed != (params.vocab_size, params.hidden_size) or "lm_head.weight" in shapes:
        raise ConversionError(f"unexpected embedding {embed} for a tied-head Gemma 3")
    if progress is not None:
        progress("tokenizer", 0, 1)
    tokenizer_json, tokenizer_config = tokenizer_files(gguf, params)
    (target / "tokenizer.json").write_text(tokenizer_json, encoding="utf-8")
    (target / "tokenizer_config.json").write_text(json.dumps(tokenizer_config, indent=2), encoding="utf-8")
    (target / "config.json").write_text(json.dumps(gemma_config(params), indent=2), encoding="utf-8")
    generation = {
        "bos_token_id": params.bos_token_id,
        "eos_token_id": [params.eos_token_id, END_OF_TURN_ID],
        "pad_token_id": params.pad_token_id,
    }
    (target / "generation_config.json").write_text(json.dumps(generation, indent=2), encoding="utf-8")
    refresh_serving_files(target)
    if progress is not None:
        progress("tokenizer", 1, 1)
    return params
