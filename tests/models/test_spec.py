from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from punie_lsp.exceptions import UserError
from punie_lsp.models import (
    SPEC_GRAMMAR,
    MLXModel,
    MLXSpec,
    ModelSpec,
    ModelSpecError,
    OpenAICompatSpec,
    PunieTinySpec,
    ReplayModel,
    ReplaySpec,
    TextToolCallModel,
    parse_model_spec,
    punie_tiny_dir,
    resolve_model,
)
from punie_lsp.models.spec import PUNIE_TINY_ADAPTER


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (
            "mlx:mlx-community/Qwen3-Coder-30B-A3B-Instruct-5bit",
            MLXSpec(model="mlx-community/Qwen3-Coder-30B-A3B-Instruct-5bit"),
        ),
        ("mlx:./models/tiny", MLXSpec(model="./models/tiny")),
        (
            "openai-compat:http://10.0.0.5:9000/v1#qwen3-coder",
            OpenAICompatSpec(base_url="http://10.0.0.5:9000/v1", model="qwen3-coder"),
        ),
        (
            "mlx-server:",
            OpenAICompatSpec(base_url="http://127.0.0.1:8080/v1", model="default_model", preset="mlx-server"),
        ),
        (
            "mlx-server:/models/q5@127.0.0.1:8765",
            OpenAICompatSpec(base_url="http://127.0.0.1:8765/v1", model="/models/q5", preset="mlx-server"),
        ),
        (
            "lmstudio:qwen3-coder-30b",
            OpenAICompatSpec(base_url="http://127.0.0.1:1234/v1", model="qwen3-coder-30b", preset="lmstudio"),
        ),
        (
            "ollama:qwen3-coder:30b",
            OpenAICompatSpec(base_url="http://127.0.0.1:11434/v1", model="qwen3-coder:30b", preset="ollama"),
        ),
        (
            "ollama:qwen3:8b@gpu-box:11434",
            OpenAICompatSpec(base_url="http://gpu-box:11434/v1", model="qwen3:8b", preset="ollama"),
        ),
        (
            "llamacpp:",
            OpenAICompatSpec(base_url="http://127.0.0.1:8080/v1", model="default", preset="llamacpp"),
        ),
        (
            "vllm:Qwen/Qwen3-Coder-30B-A3B-Instruct",
            OpenAICompatSpec(
                base_url="http://127.0.0.1:8000/v1", model="Qwen/Qwen3-Coder-30B-A3B-Instruct", preset="vllm"
            ),
        ),
        ("replay:turns.jsonl", ReplaySpec(path=Path("turns.jsonl"))),
        ("punie-tiny", PunieTinySpec()),
        ("  punie-tiny  ", PunieTinySpec()),
    ],
)
def test_every_form_parses(spec: str, expected: ModelSpec) -> None:
    """Each form of the grammar parses to its typed spec, with preset defaults filled in."""
    assert parse_model_spec(spec) == expected


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        ("qwen3-coder", "has no backend prefix"),
        ("gpt:4", "unknown backend `gpt`"),
        ("mlx:", "needs a model directory or hub id"),
        ("replay:", "needs a file"),
        ("openai-compat:http://localhost:8080/v1", "needs `<base_url>#<model>`"),
        ("openai-compat:localhost:8080#m", "is not an http(s) URL"),
        ("lmstudio:", "needs a model name"),
        ("ollama:qwen3@nohost", "is not `host:port`"),
        ("vllm:m@127.0.0.1:99999", "out of range"),
    ],
)
def test_bad_specs_raise_a_user_error_with_the_grammar(spec: str, reason: str) -> None:
    """A spec off the grammar raises a `UserError` that says why and lists every form."""
    with pytest.raises(ModelSpecError) as caught:
        parse_model_spec(spec)
    assert isinstance(caught.value, UserError)
    assert reason in str(caught.value) and SPEC_GRAMMAR in str(caught.value)


def test_presets_resolve_to_wrapped_chat_models_with_their_quirks(tmp_path: Path) -> None:
    """A preset resolves to the text-reading wrapper around an OpenAI chat model with the server's profile."""
    model = resolve_model("vllm:qwen3@127.0.0.1:8001", punie_home=tmp_path)
    assert isinstance(model, TextToolCallModel)
    assert model.base_url == "http://127.0.0.1:8001/v1/"
    assert model.model_name == "qwen3"
    assert model.profile.get("openai_supports_strict_tool_definition") is False
    generic = resolve_model("openai-compat:http://127.0.0.1:9/v1#m", punie_home=tmp_path)
    assert isinstance(generic, TextToolCallModel) and generic.server == "OpenAI-compatible server"


def test_mlx_specs_resolve_lazily(tmp_path: Path, tool_model_dir: Path) -> None:
    """`mlx:` resolves without loading anything; a hub id is kept as given, a local path must be a model."""
    hub = resolve_model("mlx:mlx-community/Qwen3-Coder-30B-A3B-Instruct-5bit", punie_home=tmp_path)
    assert isinstance(hub, MLXModel) and hub.model_name == "mlx-community/Qwen3-Coder-30B-A3B-Instruct-5bit"
    local = resolve_model(f"mlx:{tool_model_dir}", punie_home=tmp_path)
    assert isinstance(local, MLXModel) and local.context_window == 4096
    with pytest.raises(UserError, match="No MLX model at"):
        resolve_model(f"mlx:{tmp_path / 'missing'}", punie_home=tmp_path)


def test_punie_tiny_needs_to_be_installed(tmp_path: Path, tool_model_dir: Path) -> None:
    """`punie-tiny` is a clear `UserError` until installed, then the MLX backend on its directory."""
    with pytest.raises(UserError, match="`punie-tiny` is not installed") as caught:
        resolve_model("punie-tiny", punie_home=tmp_path)
    assert "mlx-server:" in str(caught.value)
    shutil.copytree(tool_model_dir, punie_tiny_dir(tmp_path))
    model = resolve_model("punie-tiny", punie_home=tmp_path)
    assert isinstance(model, MLXModel) and Path(model.model_name) == tmp_path / "models" / "punie-tiny"
    # The shipped adapter is fused in at load; the directory is served with the compact prompt.
    assert model.adapter == PUNIE_TINY_ADAPTER and model.prompt_profile == "compact"
    base = resolve_model(f"mlx:{punie_tiny_dir(tmp_path)}", punie_home=tmp_path)
    assert isinstance(base, MLXModel) and base.adapter is None and base.prompt_profile == "compact"
    plain = resolve_model(f"mlx:{tool_model_dir}", punie_home=tmp_path)
    assert isinstance(plain, MLXModel) and plain.prompt_profile is None


def test_replay_spec_needs_an_existing_file(tmp_path: Path) -> None:
    """`replay:` resolves to a `ReplayModel` on the file, and a missing file is a `UserError`."""
    turns = tmp_path / "turns.jsonl"
    turns.write_text('{"content": "hi"}\n')
    model = resolve_model(f"replay:{turns}", punie_home=tmp_path)
    assert isinstance(model, ReplayModel) and model.path == turns
    with pytest.raises(UserError, match="does not exist"):
        resolve_model(f"replay:{tmp_path / 'nope.jsonl'}", punie_home=tmp_path)
