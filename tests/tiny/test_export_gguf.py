"""The converted punie-tiny exported back to GGUF (Q8_0) and checked against the GGUF it came from.

The real install (`tiny_dir`) and the package's Q4_K_M GGUF (`source_gguf`) are the inputs. The export
must have the original's tensor names, shapes and metadata, norms stored as `1 + w` again, and weights
within Q8_0's rounding of the original's dequantized weights.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from gguf import GGMLQuantizationType
from gguf.quants import dequantize
from safetensors.numpy import save_file

from punie_lsp.models.spec import PUNIE_TINY_ADAPTER
from punie_lsp.models.tiny import PUNIE_GEMMA_CHAT_TEMPLATE
from punie_lsp.models.tiny.convert import hf_tensor_name
from punie_lsp.models.tiny.export_gguf import ExportError, export_gguf, gguf_tensor_name
from punie_lsp.models.tiny.gguf_file import GGUFFile, GGUFTensor, read_gguf

pytestmark = pytest.mark.slow

Q8_0 = GGMLQuantizationType.Q8_0


@pytest.fixture(scope="module")
def exported(tiny_dir: Path, source_gguf: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The installed model exported to Q8_0 (about 10 s)."""
    out = tmp_path_factory.mktemp("export") / "punie-tiny-q8_0.gguf"
    assert export_gguf(tiny_dir, out, reference_gguf=source_gguf) == out
    assert [p.name for p in out.parent.iterdir()] == [out.name]  # no temporary file is left
    return out


def _values(tensor: GGUFTensor, rows: slice = slice(None)) -> np.ndarray:
    """The tensor (or some of its rows) as float32, as llama.cpp sees it."""
    data = tensor.data[rows]
    values = data if tensor.tensor_type == GGMLQuantizationType.F32 else dequantize(data, tensor.tensor_type)
    return np.asarray(values, dtype=np.float32).reshape(-1, *tensor.shape[1:])


def _by_name(gguf: GGUFFile) -> dict[str, GGUFTensor]:
    return {t.name: t for t in gguf.tensors}


def test_names_round_trip_through_both_maps(source_gguf: Path) -> None:
    """`gguf_tensor_name` inverts `hf_tensor_name` on every tensor; unknown names are refused."""
    for tensor in read_gguf(source_gguf).tensors:
        assert gguf_tensor_name(hf_tensor_name(tensor.name)) == tensor.name
    with pytest.raises(ExportError, match="lm_head"):
        gguf_tensor_name("lm_head.weight")


def test_tensors_match_the_original(exported: Path, source_gguf: Path) -> None:
    """Same 236 tensors in the same order and shapes; matrices Q8_0, 1-D tensors (norms) float32."""
    original, mine = read_gguf(source_gguf), read_gguf(exported)
    assert [(t.name, t.shape) for t in mine.tensors] == [(t.name, t.shape) for t in original.tensors]
    assert len(mine.tensors) == 236
    for tensor in mine.tensors:
        expected = GGMLQuantizationType.F32 if len(tensor.shape) == 1 else Q8_0
        assert tensor.tensor_type == expected, tensor.name


def test_metadata_is_copied_with_the_new_file_type(exported: Path, source_gguf: Path) -> None:
    """Every key of the original (vocabulary included) is kept; file type Q8_0; the chat template added."""
    original, mine = read_gguf(source_gguf).metadata, read_gguf(exported).metadata
    assert original["general.file_type"] == 15 and mine["general.file_type"] == 7  # Q4_K_M → Q8_0
    assert mine.pop("tokenizer.chat_template") == PUNIE_GEMMA_CHAT_TEMPLATE
    assert "tokenizer.chat_template" not in original
    assert {k: v for k, v in mine.items() if k != "general.file_type"} == {
        k: v for k, v in original.items() if k != "general.file_type"
    }
    assert len(mine["tokenizer.ggml.tokens"]) == 262144


def test_norms_are_stored_as_one_plus_w_again(exported: Path, source_gguf: Path) -> None:
    """The converter's `w = stored - 1` is undone: every norm equals the original float32 values."""
    original, mine = _by_name(read_gguf(source_gguf)), _by_name(read_gguf(exported))
    norms = [name for name in original if name.endswith("norm.weight")]
    assert len(norms) == 109
    for name in norms:
        np.testing.assert_allclose(
            _values(mine[name]), _values(original[name]), rtol=0, atol=1e-6, err_msg=name
        )
    assert float(np.abs(_values(mine["output_norm.weight"]) - 1).max()) > 0.5  # not w alone


@pytest.mark.parametrize(
    ("name", "rows"),
    [
        ("token_embd.weight", slice(24576, 28672)),  # Q8_0 in the original; across export row blocks
        ("token_embd.weight", slice(258048, 262144)),
        ("blk.0.attn_q.weight", slice(None)),  # Q5_0
        ("blk.0.attn_output.weight", slice(None)),  # Q4_K
        ("blk.7.ffn_down.weight", slice(None)),  # Q6_K
        ("blk.17.ffn_up.weight", slice(None)),
    ],
)
def test_weights_are_within_q8_0_rounding_of_the_original(
    exported: Path, source_gguf: Path, name: str, rows: slice
) -> None:
    """Each value is within half a Q8_0 step (plus the f16 scale's rounding) of the original's value."""
    original = _values(_by_name(read_gguf(source_gguf))[name], rows)
    mine = _values(_by_name(read_gguf(exported))[name], rows)
    assert mine.shape == original.shape
    blocks, errors = original.reshape(-1, 32), np.abs(mine - original).reshape(-1, 32)
    step = np.abs(blocks).max(axis=1, keepdims=True) / 127
    assert bool((errors <= 0.57 * step + 1e-12).all()), float((errors / (step + 1e-30)).max())
    assert float(np.sqrt(np.mean((mine - original) ** 2) / np.mean(original**2))) < 0.01


def test_a_directory_that_does_not_match_the_reference_is_refused(tmp_path: Path, source_gguf: Path) -> None:
    """A model lacking tensors is an error, and nothing is written."""
    model = tmp_path / "model"
    model.mkdir()
    save_file({"model.norm.weight": np.zeros(640, dtype=np.float32)}, str(model / "model.safetensors"))
    (model / "config.json").write_text(json.dumps({"model_type": "gemma3_text"}))
    out = tmp_path / "out.gguf"
    with pytest.raises(ExportError, match=r"missing \['blk\.0\.attn_k\.weight'"):
        export_gguf(model, out, reference_gguf=source_gguf)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_punie_model_export_gguf_writes_the_served_model(
    tiny_home: Path, exported: Path, tmp_path: Path
) -> None:
    """`punie model export-gguf`: base + shipped adapter; the LoRA layers changed, the others did not."""
    from tests.tiny.conftest import run_punie

    out = tmp_path / "punie-tiny.gguf"
    proc = run_punie("model", "export-gguf", "--out", str(out), home=tiny_home, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert f"wrote {out}" in proc.stdout and sorted(p.name for p in tmp_path.iterdir()) == [out.name]
    served, base = _by_name(read_gguf(out)), _by_name(read_gguf(exported))
    assert served.keys() == base.keys()
    config = json.loads((PUNIE_TINY_ADAPTER / "adapter_config.json").read_text(encoding="utf-8"))
    top = 18 - config["num_layers"]
    for name in ("blk.17.attn_q.weight", f"blk.{top}.ffn_down.weight"):
        assert not np.array_equal(_values(served[name]), _values(base[name])), name
    for name in ("blk.0.attn_q.weight", f"blk.{top - 1}.ffn_down.weight", "token_embd.weight"):
        assert np.array_equal(_values(served[name], slice(0, 64)), _values(base[name], slice(0, 64))), name


def test_export_gguf_needs_an_install(tmp_path: Path) -> None:
    """Without punie-tiny installed: exit 2 with the install command, nothing written."""
    from tests.tiny.conftest import run_punie

    proc = run_punie("model", "export-gguf", "--out", str(tmp_path / "x.gguf"), home=tmp_path, cwd=tmp_path)
    assert proc.returncode == 2 and "punie model install punie-tiny" in proc.stderr
    assert not (tmp_path / "x.gguf").exists()
