"""The model spec grammar: one string chooses a backend and a model; `resolve_model` builds it.

```text
mlx:<path or hub id>                 in-process MLX (mlx-lm)
openai-compat:<base_url>#<model>     any OpenAI-compatible chat completions server
mlx-server:[<model>][@host:port]     mlx_lm.server        (default 127.0.0.1:8080)
lmstudio:<model>[@host:port]         LM Studio            (default 127.0.0.1:1234)
ollama:<model>[@host:port]           Ollama               (default 127.0.0.1:11434)
llamacpp:[<model>][@host:port]       llama.cpp server     (default 127.0.0.1:8080)
vllm:<model>[@host:port]             vLLM                 (default 127.0.0.1:8000)
replay:<file>                        recorded turns, JSON Lines
punie-tiny                           the offline default model, once installed under PUNIE_HOME/models
```

Backend modules import their heavy dependencies (mlx-lm, the OpenAI SDK) only when a model is built.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, assert_never

from pydantic_ai.models import Model

from punie_lsp.exceptions import UserError
from punie_lsp.models.mlx import MLXModel
from punie_lsp.models.openai_compat import PRESETS, openai_compat_model
from punie_lsp.models.replay import ReplayModel
from punie_lsp.models.tiny import enable_fast_blas, install_on_first_use
from punie_lsp.models.tiny.convert import refresh_serving_files
from punie_lsp.models.tiny.install import PUNIE_TINY_ADAPTER

__all__ = (
    "PUNIE_TINY_ADAPTER",
    "SPEC_GRAMMAR",
    "MLXSpec",
    "ModelSpec",
    "ModelSpecError",
    "OpenAICompatSpec",
    "PunieTinySpec",
    "ReplaySpec",
    "parse_model_spec",
    "punie_tiny_dir",
    "resolve_model",
)

SPEC_GRAMMAR = """\
  mlx:<path or hub id>                 in-process MLX (mlx-lm)
  openai-compat:<base_url>#<model>     any OpenAI-compatible server, e.g. openai-compat:http://127.0.0.1:8080/v1#qwen3
  mlx-server:[<model>][@host:port]     mlx_lm.server (default 127.0.0.1:8080)
  lmstudio:<model>[@host:port]         LM Studio (default 127.0.0.1:1234)
  ollama:<model>[@host:port]           Ollama (default 127.0.0.1:11434)
  llamacpp:[<model>][@host:port]       llama.cpp server (default 127.0.0.1:8080)
  vllm:<model>[@host:port]             vLLM (default 127.0.0.1:8000)
  replay:<file>                        recorded assistant turns (JSON Lines)
  punie-tiny                           the offline default model, once installed"""
"""The grammar as shown in error messages."""

PUNIE_TINY = "punie-tiny"

_HOST_PORT = re.compile(r"^(?P<host>[A-Za-z0-9.\-]+|\[[0-9A-Fa-f:]+\]):(?P<port>\d{1,5})$")
_OPTIONAL_MODEL = {"mlx-server": "default_model", "llamacpp": "default"}


class ModelSpecError(UserError):
    """A model spec string that does not follow the grammar.

    Attributes:
        spec: the spec as given.
    """

    def __init__(self, message: str, *, spec: str) -> None:
        super().__init__(f"{message}\nA model spec is one of:\n{SPEC_GRAMMAR}")
        self.spec = spec


@dataclass(frozen=True, kw_only=True)
class MLXSpec:
    """`mlx:<path or hub id>`."""

    kind: Literal["mlx"] = "mlx"
    model: str
    """A local directory or a Hugging Face hub id."""


@dataclass(frozen=True, kw_only=True)
class OpenAICompatSpec:
    """`openai-compat:<base_url>#<model>` or a server preset."""

    kind: Literal["openai-compat"] = "openai-compat"
    base_url: str
    """The API base URL (with its `/v1`)."""
    model: str
    """The model name the server expects."""
    preset: str | None = None
    """The preset name (`lmstudio`...), or `None` for a generic server."""


@dataclass(frozen=True, kw_only=True)
class ReplaySpec:
    """`replay:<file>`."""

    kind: Literal["replay"] = "replay"
    path: Path
    """The JSON Lines recording."""


@dataclass(frozen=True, kw_only=True)
class PunieTinySpec:
    """`punie-tiny`: the offline default model."""

    kind: Literal["punie-tiny"] = "punie-tiny"


ModelSpec = MLXSpec | OpenAICompatSpec | ReplaySpec | PunieTinySpec
"""A parsed model spec."""


def _split_host(spec: str, rest: str) -> tuple[str, str | None, int | None]:
    """Split `<model>[@host:port]` into model, host and port."""
    if "@" not in rest:
        return rest, None, None
    model, _, address = rest.rpartition("@")
    match = _HOST_PORT.match(address)
    if match is None:
        raise ModelSpecError(f"`{spec}`: {address!r} is not `host:port`.", spec=spec)
    port = int(match["port"])
    if not 0 < port < 65536:
        raise ModelSpecError(f"`{spec}`: port {port} is out of range.", spec=spec)
    return model, match["host"], port


def parse_model_spec(spec: str) -> ModelSpec:
    """Parse a model spec string (see `SPEC_GRAMMAR`).

    Raises:
        ModelSpecError: the string does not follow the grammar.
    """
    text = spec.strip()
    if text == PUNIE_TINY:
        return PunieTinySpec()
    prefix, colon, rest = text.partition(":")
    if not colon:
        raise ModelSpecError(f"`{spec}` has no backend prefix.", spec=spec)
    rest = rest.strip()
    if prefix == "mlx":
        if not rest:
            raise ModelSpecError(f"`{spec}`: `mlx:` needs a model directory or hub id.", spec=spec)
        return MLXSpec(model=rest)
    if prefix == "replay":
        if not rest:
            raise ModelSpecError(f"`{spec}`: `replay:` needs a file.", spec=spec)
        return ReplaySpec(path=Path(rest).expanduser())
    if prefix == "openai-compat":
        base_url, hash_sign, model = rest.rpartition("#")
        if not hash_sign or not model.strip():
            raise ModelSpecError(f"`{spec}`: `openai-compat:` needs `<base_url>#<model>`.", spec=spec)
        if not re.match(r"^https?://[^/\s]+", base_url):
            raise ModelSpecError(f"`{spec}`: {base_url!r} is not an http(s) URL.", spec=spec)
        return OpenAICompatSpec(base_url=base_url.rstrip("/"), model=model.strip())
    if prefix in PRESETS:
        preset = PRESETS[prefix]
        model, host, port = _split_host(spec, rest)
        model = model.strip() or _OPTIONAL_MODEL.get(prefix, "")
        if not model:
            raise ModelSpecError(f"`{spec}`: `{prefix}:` needs a model name.", spec=spec)
        return OpenAICompatSpec(
            base_url=preset.base_url(host or "127.0.0.1", port), model=model, preset=prefix
        )
    raise ModelSpecError(f"`{spec}`: unknown backend `{prefix}`.", spec=spec)


def punie_tiny_dir(punie_home: Path) -> Path:
    """Where the offline default model lives once installed: `<punie_home>/models/punie-tiny`."""
    return punie_home / "models" / PUNIE_TINY


def resolve_model(
    spec: str, *, punie_home: Path, fenced_code_calls: bool = False, auto_install: bool | None = None
) -> Model:
    """Build the pydantic-ai model a spec names (the one place that maps specs to backends).

    Args:
        spec: the model spec (see `SPEC_GRAMMAR`).
        punie_home: Punie's home directory (`~/.punie` or `PUNIE_HOME`), where `punie-tiny` is installed.
        fenced_code_calls: read ```` ```python ```` blocks as `run_code` calls (for models configured so).
        auto_install: install a missing punie-tiny now (`None`: as `auto_install_allowed` decides).

    Raises:
        ModelSpecError: the spec does not follow the grammar.
        UserError: the spec names a local file or directory that does not exist, or `punie-tiny` is not
            installed and cannot be installed now (see `punie_lsp.models.tiny.install_on_first_use`).
    """
    parsed = parse_model_spec(spec)
    match parsed:
        case PunieTinySpec():
            directory = punie_tiny_dir(punie_home)
            if not (directory / "config.json").is_file():
                try:
                    install_on_first_use(punie_home, allowed=auto_install)
                except UserError as error:
                    raise UserError(
                        f"The offline default model `{PUNIE_TINY}` is not installed "
                        f"(looked in `{directory}`): {error}.\n"
                        f"Or choose a model with `--model`, one of:\n{SPEC_GRAMMAR}"
                    ) from error
            refresh_serving_files(directory)
            enable_fast_blas()
            adapter = PUNIE_TINY_ADAPTER if (PUNIE_TINY_ADAPTER / "adapters.safetensors").is_file() else None
            return MLXModel(directory, fenced_code_calls=fenced_code_calls, adapter=adapter)
        case MLXSpec(model=model):
            path = Path(model).expanduser()
            looks_local = model.startswith(("/", ".", "~")) or path.exists()
            if looks_local and not (path / "config.json").is_file():
                raise UserError(
                    f"No MLX model at `{path}` (a model directory holds `config.json` and weights)."
                )
            enable_fast_blas()
            return MLXModel(path if looks_local else model, fenced_code_calls=fenced_code_calls)
        case OpenAICompatSpec(base_url=base_url, model=model, preset=preset):
            return openai_compat_model(
                base_url,
                model,
                preset=PRESETS[preset] if preset else None,
                fenced_code_calls=fenced_code_calls,
            )
        case ReplaySpec(path=path):
            if not path.is_file():
                raise UserError(f"Replay file `{path}` does not exist.")
            return ReplayModel(path.resolve(), fenced_code_calls=fenced_code_calls)
        case _:
            assert_never(parsed)
