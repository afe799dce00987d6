"""Fixtures of the models tests: tiny MLX models built offline, and real `mlx_lm.server` processes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.models.tiny_model import TEXT_SCRIPT, TOOL_SCRIPT, build_tiny_model

PLAIN_CHATML = (
    "{%- for m in messages -%}{{- '<|im_start|>' ~ m.role ~ '\\n' ~ (m.content or '') ~ '<|im_end|>\\n' -}}"
    "{%- endfor -%}{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}"
)
"""A template without tool support: mlx_lm.server then leaves tool calls in the text."""


@pytest.fixture(scope="session")
def tool_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny scripted model that answers every turn with `run_code(code="print(6 * 7)")` in XML."""
    return build_tiny_model(tmp_path_factory.mktemp("models") / "tiny-tool", script=TOOL_SCRIPT)


@pytest.fixture(scope="session")
def text_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny scripted model that answers every turn with `Hello from the tiny model.`."""
    return build_tiny_model(tmp_path_factory.mktemp("models") / "tiny-text", script=TEXT_SCRIPT)


@pytest.fixture(scope="session")
def random_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny model with purely random weights (it rambles until the token limit)."""
    return build_tiny_model(tmp_path_factory.mktemp("models") / "tiny-random", script=None)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_server(model_dir: Path, work: Path, *extra: str) -> tuple[subprocess.Popen[bytes], str, Path]:
    port = _free_port()
    cache = work / "hf-cache"
    cache.mkdir(exist_ok=True)
    log = work / f"server-{port}.log"
    env = {**os.environ, "HF_HUB_CACHE": str(cache), "HF_HUB_OFFLINE": "1"}
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "mlx_lm.server", "--model", str(model_dir)),
                *("--host", "127.0.0.1", "--port", str(port), "--max-tokens", "64", *extra),
            ],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    return process, f"http://127.0.0.1:{port}/v1", log


def _wait_ready(process: subprocess.Popen[bytes], base_url: str, log: Path, deadline: float) -> None:
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"mlx_lm.server exited: {log.read_text(errors='replace')[-2000:]}")
        try:
            with urllib.request.urlopen(f"{base_url}/models", timeout=1) as reply:
                if reply.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    raise TimeoutError(f"mlx_lm.server at {base_url} not ready")


@pytest.fixture(scope="session")
def mlx_servers(tool_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Two real `mlx_lm.server` processes on free loopback ports, serving the tiny tool-calling model.

    `native`: the model's own template (the server parses its Qwen3-Coder calls into `tool_calls`);
    `text`: a template without tools (the server returns the call as text, for Punie's parser).
    """
    work = tmp_path_factory.mktemp("servers")
    native, native_url, native_log = _start_server(tool_model_dir, work)
    text, text_url, text_log = _start_server(tool_model_dir, work, "--chat-template", PLAIN_CHATML)
    try:
        deadline = time.monotonic() + 60
        _wait_ready(native, native_url, native_log, deadline)
        _wait_ready(text, text_url, text_log, deadline)
        yield {"native": native_url, "text": text_url}
    finally:
        for process in (native, text):
            process.terminate()
        for process in (native, text):
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
