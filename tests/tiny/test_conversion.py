"""The real conversion of Gemma 3 270M, checked against the GGUF it came from (slow: one install a session).

The references (`reference.py`) read the GGUF independently of the converter: a llama.cpp-style tokenizer
and a numpy forward pass on the tensors as llama.cpp uses them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic_ai.messages import ModelRequest, UserPromptPart
from pydantic_ai.models import ModelRequestParameters
from pydantic_ai.tools import ToolDefinition
from safetensors import safe_open
from tokenizers import Tokenizer

from punie_lsp.models import MLXModel, chat_tools
from punie_lsp.models.tiny import GGUF_SHA256, is_installed, read_install_record, render_gemma_chat
from punie_lsp.models.tiny.convert import hf_tensor_name
from punie_lsp.models.tiny.gguf_file import read_gguf
from tests.tiny.reference import GemmaReference

pytestmark = pytest.mark.slow

TEXTS = [
    "The capital of France is",
    "def f(x):\n\treturn  x   +1\n",
    "a   hello  world    foo",
    "  leading spaces and trailing   ",
    "<start_of_turn>user\nhi<end_of_turn>\n<start_of_turn>model\n",
    "日本語のテキストと中文, emoji 👩\u200d👩\u200d👧 and ✓",
    "nbsp\u00a0here　full-width ＡＢＣ, ﬁ ligature, é vs e\u0301",
    "https://example.com/a?b=c&d=e#frag <b>bold</b> <table><tr><td>x</td></tr></table>",
    "\n\n\n\n  \t\t  x\r\n",
    "<tool_call>\n<function=run_code>\n<parameter=code>\nprint(ruff_check('.').violation_count)\n"
    "</parameter>\n</function>\n</tool_call>",
    "\x00\x01 control \x7f",
]
PROMPTS = [
    "The capital of France is",
    "def add(a, b):\n    return",
    "<start_of_turn>user\nWrite a Python function that adds two numbers.<end_of_turn>\n"
    "<start_of_turn>model\n",
]


def test_install_layout_and_marker(tiny_home: Path, tiny_dir: Path) -> None:
    """The CLI install leaves exactly the model files, `install.json` last, and no GGUF or staging dirs."""
    assert is_installed(tiny_dir)
    assert sorted(p.name for p in tiny_dir.iterdir()) == [
        "config.json",
        "generation_config.json",
        "install.json",
        "model.safetensors",
        "punie.json",
        "tokenizer.json",
        "tokenizer_config.json",
    ]
    serving = json.loads((tiny_dir / "punie.json").read_text(encoding="utf-8"))
    assert serving == {"prompt_profile": "compact", "temperature": 0.0, "max_tokens": 512}
    assert sorted(p.name for p in (tiny_home / "models").iterdir()) == [".punie-tiny.lock", "punie-tiny"]
    record = read_install_record(tiny_dir)
    assert record is not None and record["source"]["gguf_sha256"] == GGUF_SHA256
    assert max(p.stat().st_mtime for p in tiny_dir.iterdir()) == (tiny_dir / "install.json").stat().st_mtime


def test_config_is_a_tied_gemma3_text(tiny_dir: Path) -> None:
    """Sizes from the GGUF, the family constants, both stop tokens."""
    config = json.loads((tiny_dir / "config.json").read_text())
    assert config["model_type"] == "gemma3_text" and config["architectures"] == ["Gemma3ForCausalLM"]
    assert (config["hidden_size"], config["num_hidden_layers"], config["intermediate_size"]) == (
        640,
        18,
        2048,
    )
    assert (config["num_attention_heads"], config["num_key_value_heads"], config["head_dim"]) == (4, 1, 256)
    assert config["vocab_size"] == 262144 and config["tie_word_embeddings"] is True
    assert (
        config["rms_norm_eps"] == 1e-6
        and config["rope_theta"] == 1e6
        and config["rope_local_base_freq"] == 1e4
    )
    assert config["sliding_window"] == 512 and config["sliding_window_pattern"] == 6
    assert [i for i, t in enumerate(config["layer_types"]) if t == "full_attention"] == [5, 11, 17]
    assert config["query_pre_attn_scalar"] == 256 and config["hidden_activation"] == "gelu_pytorch_tanh"
    assert config["eos_token_id"] == [1, 106] and config["bos_token_id"] == 2


def test_the_lean_gguf_reader_agrees_with_gguf(source_gguf: Path, gguf_reference: GemmaReference) -> None:
    """`gguf_file.read_gguf` (the converter's fast reader) gives `GGUFReader`'s metadata and tensor bytes."""
    reader = gguf_reference.reader
    lean = read_gguf(source_gguf)
    assert set(lean.metadata) == {k for k in reader.fields if not k.startswith("GGUF.")}
    for key, value in lean.metadata.items():
        expected = reader.fields[key].contents()
        assert value == pytest.approx(expected) if isinstance(value, float) else value == expected, key
    assert [t.name for t in lean.tensors] == [t.name for t in reader.tensors]
    for mine, theirs in zip(lean.tensors, reader.tensors, strict=True):
        assert mine.shape == tuple(int(n) for n in reversed(theirs.shape.tolist())), mine.name
        assert mine.tensor_type == theirs.tensor_type and mine.data.tobytes() == theirs.data.tobytes(), (
            mine.name
        )


def test_tensors_are_renamed_shifted_and_dequantized(tiny_dir: Path, gguf_reference: GemmaReference) -> None:
    """236 float32 tensors, HF names and shapes, no LM head, norms = GGUF - 1, values = GGUF dequantized."""
    original = gguf_reference.weights
    with safe_open(str(tiny_dir / "model.safetensors"), framework="numpy") as weights:
        names = set(weights.keys())
        assert len(names) == len(original) == 236 and "lm_head.weight" not in names
        assert {hf_tensor_name(name) for name in original} == names
        layer = "model.layers.3."
        expected_shapes = {
            "model.embed_tokens.weight": (262144, 640),
            "model.norm.weight": (640,),
            layer + "self_attn.q_proj.weight": (1024, 640),
            layer + "self_attn.k_proj.weight": (256, 640),
            layer + "self_attn.v_proj.weight": (256, 640),
            layer + "self_attn.o_proj.weight": (640, 1024),
            layer + "self_attn.q_norm.weight": (256,),
            layer + "mlp.gate_proj.weight": (2048, 640),
            layer + "mlp.down_proj.weight": (640, 2048),
            layer + "pre_feedforward_layernorm.weight": (640,),
        }
        for name, shape in expected_shapes.items():
            tensor = weights.get_slice(name)
            assert tuple(tensor.get_shape()) == shape and tensor.get_dtype() == "F32", name
        for source, values in original.items():
            name = hf_tensor_name(source)
            expected = values - 1 if source.endswith("norm.weight") else values
            if name == "model.embed_tokens.weight":  # Q8_0, converted in row blocks: check across blocks
                embed = weights.get_slice(name)
                for rows in (slice(0, 8), slice(26210, 26220), slice(131000, 131008), slice(262136, 262144)):
                    np.testing.assert_array_equal(embed[rows], expected[rows])
            else:
                np.testing.assert_array_equal(weights.get_tensor(name), expected, err_msg=name)


def test_tokenizer_gives_the_gguf_token_ids(tiny_dir: Path, gguf_reference: GemmaReference) -> None:
    """Both tokenizers give llama.cpp's ids for the GGUF vocabulary (`reference.py`); decoding is exact."""
    from transformers import AutoTokenizer

    raw = Tokenizer.from_file(str(tiny_dir / "tokenizer.json"))
    wrapped = AutoTokenizer.from_pretrained(str(tiny_dir))
    for text in TEXTS:
        expected = gguf_reference.tokenizer.encode(text)
        assert raw.encode(text).ids == expected, text
        assert wrapped(text)["input_ids"] == expected, text
        assert raw.decode(expected[1:], skip_special_tokens=False) == text
    assert raw.encode("The capital of France is").ids == [2, 818, 5279, 529, 7001, 563]
    assert raw.token_to_id("<start_of_turn>") == 105 and raw.token_to_id("<end_of_turn>") == 106


def test_the_chat_template_renders_a_tool_call_turn(tiny_dir: Path) -> None:
    """The converted tokenizer carries Punie's Gemma-flavoured template, tools and tool calls included."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(tiny_dir))
    tools = [
        {
            "type": "function",
            "function": {
                "name": "run_code",
                "description": "Run Python.",
                "parameters": {
                    "type": "object",
                    "properties": {"code": {"type": "string"}},
                    "required": ["code"],
                },
            },
        }
    ]
    messages = [
        {"role": "system", "content": "You are Punie."},
        {"role": "user", "content": "Count."},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {"type": "function", "function": {"name": "run_code", "arguments": {"code": "print(2)"}}}
            ],
        },
        {"role": "tool", "content": "2", "name": "run_code", "tool_call_id": "1"},
    ]
    text = tokenizer.apply_chat_template(messages, tools=tools, tokenize=False, add_generation_prompt=True)
    assert text == render_gemma_chat(messages, tools=tools)  # ty: ignore[invalid-argument-type]
    assert "<start_of_turn>model\n<tool_call>\n<function=run_code>\n<parameter=code>\nprint(2)\n" in text
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    assert ids[:2] == [2, 105] and ids.count(106) == 3 and ids[-3:] == [105, 4368, 107]


def test_mlx_lm_loads_it_and_generates(mlx_tiny: tuple[Any, Any]) -> None:
    """mlx-lm loads it with a tied head and both stop tokens; the greedy text is the known continuation."""
    import mlx_lm

    model, tokenizer = mlx_tiny
    assert model.tie_word_embeddings and set(tokenizer.eos_token_ids) == {1, 106}
    text = mlx_lm.generate(model, tokenizer, "The capital of France is", max_tokens=12)
    assert text.startswith(" the capital of the country of France"), text  # llama.cpp's greedy text too


def test_logits_match_the_gguf_reference(mlx_tiny: tuple[Any, Any], gguf_reference: GemmaReference) -> None:
    """Last-position logits of MLX and of the numpy GGUF forward pass: correlation ≥ 0.99, same top-1."""
    import mlx.core as mx

    model, tokenizer = mlx_tiny
    for prompt in PROMPTS:
        ids = gguf_reference.tokenizer.encode(prompt)
        assert tokenizer.encode(prompt) == ids
        expected = gguf_reference.last_logits(ids)
        actual = np.array(model(mx.array([ids]))[0, -1].astype(mx.float32))
        assert np.corrcoef(expected, actual)[0, 1] >= 0.99, prompt
        assert int(expected.argmax()) == int(actual.argmax()), prompt


def test_punie_resolves_and_runs_it(tiny_dir: Path, punie_tiny: MLXModel, allow_requests: None) -> None:
    """`resolve_model("punie-tiny")` uses the install; prompts are Gemma turns; a request returns text."""
    import asyncio

    model = punie_tiny
    assert Path(model.model_name) == tiny_dir and model.context_window == 32768
    run_code = ToolDefinition(
        name="run_code",
        description="Run Python.",
        parameters_json_schema={"type": "object", "properties": {"code": {"type": "string"}}},
    )
    messages = [ModelRequest(parts=[UserPromptPart(content="The capital of France is")])]
    with_tools = ModelRequestParameters(function_tools=[run_code])
    assert model.render_prompt(messages, with_tools) == render_gemma_chat(
        [{"role": "user", "content": "The capital of France is"}], tools=chat_tools([run_code])
    )
    # A short prompt (no tools block): prefill speed depends on the BLAS this process got.
    plain = ModelRequestParameters()
    response = asyncio.run(model.request(messages, {"max_tokens": 3, "temperature": 0.0}, plain))
    prompt_tokens = model.count_text_tokens(model.render_prompt(messages, plain))
    assert response.usage.input_tokens == prompt_tokens and response.usage.output_tokens == 3


def test_installing_again_is_a_no_op(tiny_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`punie model install punie-tiny` on an installed home says so and changes nothing."""
    from typer.testing import CliRunner

    from punie_lsp.cli import app

    marker = tiny_home / "models" / "punie-tiny" / "install.json"
    before = marker.stat().st_mtime_ns
    monkeypatch.setenv("PUNIE_HOME", str(tiny_home))
    result = CliRunner().invoke(app, ["model", "install", "punie-tiny"])
    assert result.exit_code == 0, result.output
    assert "already installed" in result.output and marker.stat().st_mtime_ns == before
