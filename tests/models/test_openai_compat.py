from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from pydantic_ai import Agent, AgentRunResultEvent, ToolOutput
from pydantic_ai.messages import ModelRequest, ModelResponse, TextPart, ToolCallPart, UserPromptPart
from pydantic_ai.models import ModelRequestParameters
from pydantic_ai.tools import ToolDefinition

from punie_lsp.models import ModelBackendError, TextToolCallModel, openai_compat_model, resolve_model
from tests.models.tiny_model import TOOL_CODE

RUN_CODE_TOOL = ToolDefinition(
    name="run_code",
    description="Run a Python block.",
    parameters_json_schema={
        "type": "object",
        "properties": {"code": {"type": "string"}},
        "required": ["code"],
    },
)


def _record(code: str) -> str:
    return code


def _code_agent(model: TextToolCallModel) -> Agent[None, str]:
    """An agent whose only way to answer is the `run_code` output tool (so one request ends the run)."""
    return Agent(model, output_type=ToolOutput(_record, name="run_code"), model_settings={"temperature": 0.0})


async def test_agent_run_through_mlx_server_reads_native_tool_calls(
    mlx_servers: dict[str, str], allow_requests: None, tmp_path: Path
) -> None:
    """A pydantic-ai Agent reaches a real mlx_lm.server through the `mlx-server:` preset and gets its call."""
    port = mlx_servers["native"].rsplit(":", 1)[1].removesuffix("/v1")
    model = resolve_model(f"mlx-server:@127.0.0.1:{port}", punie_home=tmp_path)
    assert isinstance(model, TextToolCallModel)
    result = await _code_agent(model).run("Compute six times seven.")
    assert result.output == TOOL_CODE
    response = result.all_messages()[1]
    assert isinstance(response, ModelResponse)
    assert response.usage.input_tokens > 100 and response.usage.output_tokens > 0


async def test_streamed_agent_run_through_mlx_server(
    mlx_servers: dict[str, str], allow_requests: None
) -> None:
    """Streaming through the server yields the same call and no raw call markup as text."""
    model = openai_compat_model(mlx_servers["native"], "default_model")
    async with _code_agent(model).run_stream_events("Compute six times seven.") as events:
        seen = [event async for event in events]
    texts = [getattr(getattr(e, "part", None), "content", "") for e in seen]
    assert not any("<tool_call>" in str(t) for t in texts)
    last = seen[-1]
    assert isinstance(last, AgentRunResultEvent) and last.result.output == TOOL_CODE


async def test_tool_call_left_as_text_is_parsed(mlx_servers: dict[str, str], allow_requests: None) -> None:
    """When the server's template has no tool support the call arrives as text and Punie's parser reads it."""
    model = openai_compat_model(mlx_servers["text"], "default_model")
    response = await model.request(
        [ModelRequest(parts=[UserPromptPart("Compute.")])],
        {"temperature": 0.0},
        ModelRequestParameters(function_tools=[RUN_CODE_TOOL]),
    )
    calls = [part for part in response.parts if isinstance(part, ToolCallPart)]
    assert [call.args_as_dict() for call in calls] == [{"code": TOOL_CODE}]
    assert not any(isinstance(part, TextPart) for part in response.parts)
    assert response.finish_reason == "tool_call"


async def test_streamed_tool_call_left_as_text_is_parsed(
    mlx_servers: dict[str, str], allow_requests: None
) -> None:
    """Streaming from a text-only server holds the call markup back and ends with the parsed call."""
    model = openai_compat_model(mlx_servers["text"], "default_model")
    result = await _code_agent(model).run("Compute.")
    assert result.output == TOOL_CODE


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_unreachable_server_fails_fast_with_a_clear_error(allow_requests: None, tmp_path: Path) -> None:
    """A server that is not running gives a `ModelBackendError` naming it, within a second."""
    model = resolve_model(f"lmstudio:qwen3-coder@127.0.0.1:{_closed_port()}", punie_home=tmp_path)
    started = time.monotonic()
    with pytest.raises(ModelBackendError, match=r"cannot reach LM Studio at http://127\.0\.0\.1:\d+/v1"):
        await model.request([ModelRequest(parts=[UserPromptPart("hi")])], None, ModelRequestParameters())
    assert time.monotonic() - started < 1.0


class _Garbage(BaseHTTPRequestHandler):
    body: bytes | None = None

    def do_POST(self) -> None:
        if self.body is None:
            self.connection.close()  # drop the connection without answering
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(
    params=[b"<html>not an API</html>", b'{"surprise": true}', None], ids=["html", "json", "drop"]
)
def garbage_server(request: pytest.FixtureRequest) -> Iterator[str]:
    """A loopback HTTP server that answers HTML, unrelated JSON, or drops the connection."""
    handler = type("Handler", (_Garbage,), {"body": request.param})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


async def test_garbage_response_gives_a_clear_error(garbage_server: str, allow_requests: None) -> None:
    """A server that answers garbage or hangs up gives a `ModelBackendError` naming it, not a crash."""
    model = openai_compat_model(garbage_server, "any")
    started = time.monotonic()
    with pytest.raises(
        ModelBackendError, match=r"OpenAI-compatible server at http://127\.0\.0\.1:\d+/v1"
    ) as caught:
        await model.request([ModelRequest(parts=[UserPromptPart("hi")])], None, ModelRequestParameters())
    assert "did not answer with a chat completion" in str(caught.value) or "dropped the connection" in str(
        caught.value
    )
    assert time.monotonic() - started < 5.0


def test_requests_are_refused_without_permission(tmp_path: Path) -> None:
    """With `ALLOW_MODEL_REQUESTS` off (the tests' default) a server model refuses to send anything."""
    model = resolve_model("ollama:qwen3:8b", punie_home=tmp_path)
    with pytest.raises(RuntimeError, match="ALLOW_MODEL_REQUESTS"):
        Agent(model).run_sync("hi")
