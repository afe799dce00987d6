"""Code Mode on Monty: the model writes one Python block that calls typed tools as functions.

Ownership: this layer runs model-written code in Pydantic's Monty sandbox (worker subprocesses with no
file, network or environment access). It derives the stubs from the tool catalogue, type-checks each
block against them before it runs, exposes tool results as attribute-access objects, enforces limits,
pauses at each write or high-risk call for the permission policy, reports every nested tool call as an
event, and validates, registers and persists generated tools. It knows nothing of models or editors:
the agent layer shows `CodeSandbox.stubs` to the model and turns `BlockResult` and the events into
messages.
"""

from punie_lsp.sandbox._convert import to_jsonable
from punie_lsp.sandbox._errors import ErrorKind, SandboxErrorInfo
from punie_lsp.sandbox._events import (
    EventSink,
    PermissionDecision,
    PermissionPolicy,
    PermissionRequest,
    SandboxEvent,
    ToolCallFinished,
    ToolCallStarted,
    allow_all,
    deny_all,
)
from punie_lsp.sandbox._generated import (
    TOOLS_DIR,
    DefineToolResult,
    GeneratedTool,
    GeneratedToolDefinition,
    LoadedTools,
    compile_definition,
    load_generated_tools,
    save_generated_tool,
)
from punie_lsp.sandbox._results import BlockResult, CodeRunReport, ErrorReport, SandboxLimits, ToolCallReport
from punie_lsp.sandbox._runner import CodeSandbox, run_code
from punie_lsp.sandbox._schema import SchemaError, model_from_schema
from punie_lsp.sandbox._stubs import StubTool, render_stubs

__all__ = (
    "TOOLS_DIR",
    "BlockResult",
    "CodeRunReport",
    "CodeSandbox",
    "DefineToolResult",
    "ErrorKind",
    "ErrorReport",
    "EventSink",
    "GeneratedTool",
    "GeneratedToolDefinition",
    "LoadedTools",
    "PermissionDecision",
    "PermissionPolicy",
    "PermissionRequest",
    "SandboxErrorInfo",
    "SandboxEvent",
    "SandboxLimits",
    "SchemaError",
    "StubTool",
    "ToolCallFinished",
    "ToolCallReport",
    "ToolCallStarted",
    "allow_all",
    "compile_definition",
    "deny_all",
    "load_generated_tools",
    "model_from_schema",
    "render_stubs",
    "run_code",
    "save_generated_tool",
    "to_jsonable",
)
