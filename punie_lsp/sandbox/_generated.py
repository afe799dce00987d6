"""Generated tools: tools the model defines inside a block, validated on samples, optionally persisted.

A generated tool is Monty-compatible Python that defines one function, plus an input and an output
JSON schema. Punie compiles both schemas to strict Pydantic models, runs the code in a fresh sandbox
session on every sample input and checks each output against the output schema. A valid tool is callable
from later blocks like a built-in (typed arguments, attribute access on its result). Its code runs in
its own sandbox session and can call only read tools, so writes and high-risk work stay with the fixed
tools. `persist=True` saves it to `.punie/tools/<name>.json`, from where later sessions load it.
"""

from __future__ import annotations

import builtins
import inspect
import json
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from punie_lsp.exceptions import WorkspaceError
from punie_lsp.sandbox._schema import SchemaError, model_from_schema, pascal_case
from punie_lsp.sandbox._stubs import StubTool, is_valid_identifier, render_function, render_models
from punie_lsp.tools.results import ToolResult
from punie_lsp.workspace import Workspace

__all__ = (
    "DEFINE_TOOL",
    "TOOLS_DIR",
    "DefineToolResult",
    "GeneratedTool",
    "GeneratedToolDefinition",
    "LoadedTools",
    "compile_definition",
    "define_tool_stub",
    "load_generated_tools",
    "save_generated_tool",
)

TOOLS_DIR = ".punie/tools"
"""Where persisted generated tools live, relative to the project root."""
DEFINE_TOOL = "define_tool"
"""The sandbox built-in that defines a generated tool."""
MAX_CODE_CHARS = 20_000
MAX_SAMPLES = 10
_RESERVED_NAMES = frozenset(dir(builtins)) | {DEFINE_TOOL}


class GeneratedToolDefinition(BaseModel):
    """A generated tool as the model defined it and as it is stored in `.punie/tools/<name>.json`."""

    model_config = ConfigDict(extra="forbid")

    format: Literal[1] = 1
    """File format version."""
    name: str
    """Function name (snake_case)."""
    description: str
    """What it does; the first line is its summary."""
    input_schema: dict[str, Any]
    """JSON schema of the arguments (an object schema; each property is a parameter)."""
    output_schema: dict[str, Any]
    """JSON schema of the returned dict (an object schema)."""
    code: str
    """Monty-compatible Python defining `def <name>(...)`, which returns a dict."""
    samples: list[dict[str, Any]] = Field(default_factory=list)
    """Sample arguments it was validated on."""


class DefineToolResult(ToolResult):
    """What `define_tool` found: the tool is registered when `success` is True."""

    name: str = ""
    """The tool's name."""
    signature: str = ""
    """How to call it from the next block (its stub)."""
    problems: list[str] = Field(default_factory=list)
    """Everything wrong with the definition (schemas, code, samples), one line each."""
    sample_outputs: list[dict[str, Any]] = Field(default_factory=list)
    """What each sample call returned."""
    persisted_path: str | None = None
    """Where it was saved (relative to the project root), when `persist=True`."""


@dataclass(frozen=True, kw_only=True)
class GeneratedTool:
    """A compiled generated tool: the definition plus its input and output models."""

    definition: GeneratedToolDefinition
    """The source definition."""
    input_model: type[BaseModel]
    """Validates the arguments."""
    output_model: type[BaseModel]
    """Validates (and types) the result."""

    @property
    def name(self) -> str:
        """The function name."""
        return self.definition.name

    def stub_tool(self) -> StubTool:
        """Describe the tool for the stub renderer."""
        parameters = [
            inspect.Parameter(
                name,
                inspect.Parameter.POSITIONAL_OR_KEYWORD,
                annotation=info.annotation,
                default=inspect.Parameter.empty if info.is_required() else info.default,
            )
            for name, info in self.input_model.model_fields.items()
        ]
        parameters.sort(key=lambda p: p.default is not inspect.Parameter.empty)
        return StubTool(
            name=self.name,
            parameters=tuple(parameters),
            result_type=self.output_model,
            doc=f"{self.definition.description.strip()}\n\n(Generated tool.)",
        )

    def stubs(self) -> str:
        """The model-facing stub: the output classes and the function."""
        return f"{render_models([self.output_model])}\n\n{render_function(self.stub_tool())}\n"


@dataclass(frozen=True, kw_only=True)
class LoadedTools:
    """The generated tools found in a project, and the files that could not be loaded."""

    tools: tuple[GeneratedTool, ...] = ()
    """Valid tools, by file name order."""
    problems: tuple[str, ...] = ()
    """One line per file that was skipped, with the reason."""


def compile_definition(
    definition: GeneratedToolDefinition, *, taken_names: frozenset[str] = frozenset()
) -> GeneratedTool:
    """Check a definition's name, schemas and size, and compile its models.

    Raises:
        SchemaError: the definition is invalid; the message says what to change.
    """
    name = definition.name
    if not is_valid_identifier(name) or name != name.lower():
        raise SchemaError(f"name {name!r} must be a snake_case Python identifier not starting with `_`")
    if len(name) > 64:
        raise SchemaError(f"name {name!r} is longer than 64 characters")
    if name in _RESERVED_NAMES or name in taken_names:
        raise SchemaError(f"name {name!r} is taken by a built-in or a fixed tool; choose another")
    if not definition.description.strip():
        raise SchemaError("description must not be empty")
    if len(definition.code) > MAX_CODE_CHARS:
        raise SchemaError(f"code is {len(definition.code):,} characters, over the {MAX_CODE_CHARS:,} limit")
    if f"def {name}(" not in definition.code:
        raise SchemaError(f"code must define the function `def {name}(...)`")
    if len(definition.samples) > MAX_SAMPLES:
        raise SchemaError(f"at most {MAX_SAMPLES} samples")
    base = pascal_case(name)
    input_model = model_from_schema(f"{base}Input", definition.input_schema, where="input_schema")
    output_model = model_from_schema(f"{base}Output", definition.output_schema, where="output_schema")
    return GeneratedTool(definition=definition, input_model=input_model, output_model=output_model)


def define_tool_stub() -> StubTool:
    """The stub of the `define_tool` built-in."""
    parameters = (
        inspect.Parameter("name", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=str),
        inspect.Parameter("description", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=str),
        inspect.Parameter("input_schema", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=dict[str, Any]),
        inspect.Parameter(
            "output_schema", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=dict[str, Any]
        ),
        inspect.Parameter("code", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=str),
        inspect.Parameter(
            "samples", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=list[dict[str, Any]]
        ),
        inspect.Parameter("persist", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=bool, default=False),
    )
    doc = """Define a new read-only tool, callable by name from the next block on.

`code` defines `def <name>(...)` whose parameters are the properties of `input_schema` (a JSON object
schema) and which returns a dict matching `output_schema`. The code runs in its own sandbox and may call
only the read tools above. Punie runs it on every sample input and checks each output; read `problems`
when `success` is False. `persist=True` also saves it to `.punie/tools/<name>.json` for later sessions."""
    return StubTool(
        name=DEFINE_TOOL,
        parameters=parameters,
        result_type=DefineToolResult,
        doc=doc,
        permission="when-writing",
        permission_note="Needs permission when `persist=True` (it writes to the project).",
    )


async def save_generated_tool(workspace: Workspace, definition: GeneratedToolDefinition) -> str:
    """Write a definition to `.punie/tools/<name>.json` through the workspace; return the relative path."""
    path = f"{TOOLS_DIR}/{definition.name}.json"
    await workspace.write_text(path, definition.model_dump_json(indent=2) + "\n")
    return path


async def load_generated_tools(
    workspace: Workspace, *, taken_names: frozenset[str] = frozenset()
) -> LoadedTools:
    """Load every `.punie/tools/*.json` of the project, skipping (and reporting) invalid files."""
    if not workspace.contains(TOOLS_DIR) or not workspace.resolve(TOOLS_DIR).is_dir():
        return LoadedTools()
    try:
        paths = await workspace.list_files(TOOLS_DIR, pattern="*.json", limit=500)
    except WorkspaceError as exc:
        return LoadedTools(problems=(str(exc),))
    tools: list[GeneratedTool] = []
    problems: list[str] = []
    for path in paths:
        try:
            definition = GeneratedToolDefinition.model_validate_json(await workspace.read_text(path))
            tool = compile_definition(definition, taken_names=taken_names)
        except (WorkspaceError, ValidationError, SchemaError, json.JSONDecodeError) as exc:
            problems.append(f"`{path}` skipped: {_first_line(exc)}")
            continue
        if f"{TOOLS_DIR}/{tool.name}.json" != path:
            problems.append(
                f"`{path}` skipped: it defines `{tool.name}`; the file must be named `{tool.name}.json`"
            )
            continue
        tools.append(tool)
    return LoadedTools(tools=tuple(tools), problems=tuple(problems))


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
