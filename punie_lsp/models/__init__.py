"""Model backends (in-process MLX, OpenAI-compatible servers, replay), the chat format, the tool-call parser.

Ownership: this layer turns a model spec string into a pydantic-ai `Model` (`resolve_model`), and owns the
chat half of the prompt/format module (`chat_format`) and the tool-call parser (`parser`) that runtime,
evaluation and training export share. It knows nothing about tools, the sandbox or front-ends: the agent
core passes tool definitions in and gets `ToolCallPart`s out. A malformed tool call is reported on the
response (`malformed_tool_call`) for the agent to turn into a retry; a backend that cannot answer at all
raises `ModelBackendError`.
"""

from __future__ import annotations

from punie_lsp.models.chat_format import (
    PUNIE_CHAT_TEMPLATE,
    ChatMessage,
    ChatTool,
    ToolCallStyle,
    apply_chat_template,
    chat_tools,
    render_chat,
    render_tool_call,
    request_instructions,
    to_chat_messages,
)
from punie_lsp.models.errors import ModelBackendError
from punie_lsp.models.mlx import GenerationStats, MLXModel
from punie_lsp.models.openai_compat import PRESETS, ServerPreset, TextToolCallModel, openai_compat_model
from punie_lsp.models.parser import (
    MALFORMED_METADATA_KEY,
    RUN_CODE,
    ParsedResponse,
    StreamDelta,
    ToolCallStreamParser,
    malformed_tool_call,
    parse_response,
    retry_prompt,
)
from punie_lsp.models.replay import EXHAUSTED_NOTICE, ReplayModel, reset_replay
from punie_lsp.models.spec import (
    SPEC_GRAMMAR,
    MLXSpec,
    ModelSpec,
    ModelSpecError,
    OpenAICompatSpec,
    PunieTinySpec,
    ReplaySpec,
    parse_model_spec,
    punie_tiny_dir,
    resolve_model,
)

__all__ = (
    "EXHAUSTED_NOTICE",
    "MALFORMED_METADATA_KEY",
    "PRESETS",
    "PUNIE_CHAT_TEMPLATE",
    "RUN_CODE",
    "SPEC_GRAMMAR",
    "ChatMessage",
    "ChatTool",
    "GenerationStats",
    "MLXModel",
    "MLXSpec",
    "ModelBackendError",
    "ModelSpec",
    "ModelSpecError",
    "OpenAICompatSpec",
    "ParsedResponse",
    "PunieTinySpec",
    "ReplayModel",
    "ReplaySpec",
    "ServerPreset",
    "StreamDelta",
    "TextToolCallModel",
    "ToolCallStreamParser",
    "ToolCallStyle",
    "apply_chat_template",
    "chat_tools",
    "malformed_tool_call",
    "openai_compat_model",
    "parse_model_spec",
    "parse_response",
    "punie_tiny_dir",
    "render_chat",
    "render_tool_call",
    "request_instructions",
    "reset_replay",
    "resolve_model",
    "retry_prompt",
    "to_chat_messages",
)
