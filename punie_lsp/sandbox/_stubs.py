"""Stub text for Code Mode: plain classes for the result models and one `def` per tool.

The same text is shown to the model and handed to Monty's type checker, so a block that reads
`result.error_cnt` is rejected before it runs. Result models become plain classes (fields flattened,
nested models rendered as their own classes, `Literal` kept) because results cross the sandbox boundary
as `ClassInstance` wrappers that expose exactly those fields.
"""

from __future__ import annotations

import ast
import inspect
import itertools
import keyword
import textwrap
import types
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel

from punie_lsp.tools.catalogue import Catalogue, ToolSpec

__all__ = (
    "StubTool",
    "collect_models",
    "is_valid_identifier",
    "render_annotation",
    "render_function",
    "render_models",
    "render_stubs",
    "stub_header",
    "tool_from_spec",
)

HEADER = '''\
"""Punie tools for Code Mode.

Call the tools below as plain functions (no `await`). Each returns an object whose fields you read by
attribute (`result.error_count`, `for e in result.errors:`). The value of the block's last expression
and everything it prints are returned to you; variables stay defined for your next blocks. Tools marked
"needs permission" ask the user first; when the user says no, the call raises `PermissionError` inside
the block, which you may catch. The code runs in a sandbox with a subset of Python (no class
inheritance, no third-party modules; json, re, math, datetime, collections, itertools, functools and
dataclasses are there) and no file, network or environment access except through these tools.
"""

from typing import Any, Literal


class PermissionError(OSError):
    """Raised inside the block when a tool call is not permitted (denied write, host access)."""
'''


def stub_header() -> str:
    """The fixed preamble of every stub text (imports, the rules of the sandbox, `PermissionError`)."""
    return HEADER


@dataclass(frozen=True, kw_only=True)
class StubTool:
    """What the stub renderer needs to know about one callable tool."""

    name: str
    """The function name the block calls."""
    parameters: tuple[inspect.Parameter, ...]
    """Parameters in order, annotated with real types (the tool context already removed)."""
    result_type: type[BaseModel]
    """The model the call returns."""
    doc: str
    """Docstring shown under the signature."""
    permission: Literal["never", "always", "when-writing"] = "never"
    """Whether the call passes the permission gate."""
    permission_note: str | None = None
    """Replaces the standard permission sentence appended to the docstring."""


def tool_from_spec(spec: ToolSpec) -> StubTool:
    """Describe a catalogue tool for the stub renderer."""
    parameters = tuple(
        param.replace(annotation=spec.hints[param.name]) for param in spec.signature.parameters.values()
    )
    if spec.risk_when is not None:
        permission: Literal["never", "always", "when-writing"] = "when-writing"
    else:
        permission = "never" if spec.risk == "read" else "always"
    return StubTool(
        name=spec.name,
        parameters=parameters,
        result_type=spec.result_type,
        doc=spec.doc,
        permission=permission,
    )


def render_stubs(
    catalogue: Catalogue | Iterable[ToolSpec],
    *,
    extra_tools: Iterable[StubTool] = (),
    field_comments: bool = True,
) -> str:
    """The complete stub text for a set of tools: header, result classes, then the functions.

    Args:
        catalogue: the tools to expose.
        extra_tools: more tools (the sandbox's own `define_tool`, generated tools).
        field_comments: append each field's docstring as a trailing comment (longer, clearer).
    """
    tools = [tool_from_spec(spec) for spec in catalogue] + list(extra_tools)
    parts = [stub_header()]
    models = render_models((tool.result_type for tool in tools), field_comments=field_comments)
    if models:
        parts.append(models)
    parts.extend(render_function(tool) for tool in tools)
    return "\n\n".join(part.rstrip("\n") for part in parts) + "\n"


def render_models(roots: Iterable[type[BaseModel]], *, field_comments: bool = True) -> str:
    """Plain-class stubs for `roots` and every model nested in their fields (dependencies first)."""
    ordered = collect_models(roots)
    return "\n\n".join(_render_model(model, field_comments=field_comments) for model in ordered)


def render_function(tool: StubTool, *, body: str | None = None) -> str:
    """One `def` stub: typed parameters, the result type and the docstring.

    Args:
        tool: the tool to render.
        body: statements for the body instead of `...` (used to declare generated tools in a session).
    """
    params = ", ".join(_render_parameter(param) for param in tool.parameters)
    lines = [f"def {tool.name}({params}) -> {tool.result_type.__name__}:"]
    doc = tool.doc.strip() or tool.name
    match tool.permission:
        case "never":
            pass
        case "always":
            doc += "\n\n" + (tool.permission_note or "Needs permission: the user is asked before it runs.")
        case "when-writing":
            doc += "\n\n" + (tool.permission_note or "Needs permission when the call writes files.")
    lines.append(textwrap.indent(_docstring(doc), "    "))
    lines.append(textwrap.indent(body if body is not None else "...", "    "))
    return "\n".join(lines)


def render_annotation(annotation: object) -> str:
    """Python source for a type annotation, with models named by their class name."""
    if annotation is None or annotation is type(None):
        return "None"
    if annotation is Any:
        return "Any"
    origin = get_origin(annotation)
    args = get_args(annotation)
    if origin is Annotated:
        return render_annotation(args[0])
    if origin is Literal:
        return f"Literal[{', '.join(repr(arg) for arg in args)}]"
    if origin is Union or origin is types.UnionType:
        return " | ".join(render_annotation(arg) for arg in args)
    if origin in (list, set, frozenset, tuple, dict):
        assert isinstance(origin, type)
        if not args:
            return origin.__name__
        if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
            return f"tuple[{render_annotation(args[0])}, ...]"
        return f"{origin.__name__}[{', '.join(render_annotation(arg) for arg in args)}]"
    if isinstance(annotation, type):
        return annotation.__name__ if annotation.__module__ == "builtins" or _is_model(annotation) else "Any"
    return "Any"


def _is_model(annotation: object) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _nested_models(annotation: object) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    for arg in get_args(annotation):
        found.extend(_nested_models(arg))
    return found


def collect_models(roots: Iterable[type[BaseModel]]) -> list[type[BaseModel]]:
    """Every model reachable from `roots`, each after the models its fields use."""
    ordered: list[type[BaseModel]] = []
    seen: set[type[BaseModel]] = set()

    def visit(model: type[BaseModel]) -> None:
        if model in seen:
            return
        seen.add(model)
        for info in model.model_fields.values():
            for nested in _nested_models(info.annotation):
                visit(nested)
        ordered.append(model)

    for root in roots:
        visit(root)
    return ordered


def _render_model(model: type[BaseModel], *, field_comments: bool) -> str:
    lines = [f"class {model.__name__}:"]
    doc = inspect.cleandoc(model.__doc__ or "")
    if doc:
        lines.append(textwrap.indent(_docstring(doc.splitlines()[0]), "    "))
    docs = _attribute_docs(model) if field_comments else {}
    if not model.model_fields:
        lines.append("    ...")
    for name, info in model.model_fields.items():
        line = f"    {name}: {render_annotation(info.annotation)}"
        comment = info.description or docs.get(name)
        if comment:
            line += f"  # {comment.strip().splitlines()[0]}"
        lines.append(line)
    return "\n".join(lines)


def _render_parameter(param: inspect.Parameter) -> str:
    text = f"{param.name}: {render_annotation(param.annotation)}"
    if param.default is not inspect.Parameter.empty:
        text += f" = {param.default!r}"
    return text


def _docstring(text: str) -> str:
    text = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    if "\n" not in text:
        return f'"""{text}"""'
    return f'"""{text}\n"""'


@cache
def _attribute_docs(model: type[BaseModel]) -> Mapping[str, str]:
    """Attribute docstrings (the string literal under each field) of `model` and its bases."""
    docs: dict[str, str] = {}
    for klass in reversed(model.__mro__):
        if klass is BaseModel or not (isinstance(klass, type) and issubclass(klass, BaseModel)):
            continue
        docs.update(_class_attribute_docs(klass))
    return docs


def _class_attribute_docs(klass: type) -> dict[str, str]:
    try:
        source = textwrap.dedent(inspect.getsource(klass))
        tree = ast.parse(source)
    except (OSError, TypeError, SyntaxError):
        return {}  # built at run time (create_model) or source unavailable: no attribute docs
    body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
    docs: dict[str, str] = {}
    for current, following in itertools.pairwise(body):
        if (
            isinstance(current, ast.AnnAssign)
            and isinstance(current.target, ast.Name)
            and isinstance(following, ast.Expr)
            and isinstance(following.value, ast.Constant)
            and isinstance(following.value.value, str)
        ):
            docs[current.target.id] = inspect.cleandoc(following.value.value)
    return docs


def is_valid_identifier(name: str) -> bool:
    """Whether `name` can be a function, parameter or field name in a block."""
    return name.isidentifier() and not keyword.iskeyword(name) and not name.startswith("_")
