"""Stub generation: the text the model sees and the type checker enforces."""

from __future__ import annotations

import ast

from punie_lsp.sandbox import CodeSandbox, render_stubs
from punie_lsp.sandbox._stubs import render_annotation
from punie_lsp.tools import ToolContext
from punie_lsp.tools.catalogue import default_catalogue
from punie_lsp.tools.results import GitFileChange, TypeCheckError, TypeCheckResult


def _classes(text: str) -> dict[str, ast.ClassDef]:
    return {node.name: node for node in ast.parse(text).body if isinstance(node, ast.ClassDef)}


def _functions(text: str) -> dict[str, ast.FunctionDef]:
    return {node.name: node for node in ast.parse(text).body if isinstance(node, ast.FunctionDef)}


def test_every_tool_has_a_typed_function_stub_without_the_context() -> None:
    """Each catalogue tool becomes one `def` with its parameters typed and no `ctx`."""
    catalogue = default_catalogue()
    functions = _functions(render_stubs(catalogue))
    assert set(functions) == {spec.name for spec in catalogue}
    file_read = functions["file_read"]
    assert [a.arg for a in file_read.args.args] == ["path", "start_line", "end_line"]
    assert ast.unparse(file_read.args.args[1].annotation or ast.Name("")) == "int | None"
    assert ast.unparse(file_read.returns or ast.Name("")) == "FileReadResult"


def test_every_result_model_and_nested_model_is_a_plain_class_with_typed_fields() -> None:
    """Result models, and models nested in their fields, become plain classes with flattened fields."""
    classes = _classes(render_stubs(default_catalogue()))
    for name in ("TypeCheckResult", "TypeCheckError", "RuffResult", "RuffViolation", "GitFileChange"):
        assert name in classes
        assert classes[name].bases == []  # plain: no inheritance in the stubs
    fields = {
        node.target.id: ast.unparse(node.annotation)
        for node in classes["TypeCheckResult"].body
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
    }
    assert fields["errors"] == "list[TypeCheckError]"
    assert fields["error_count"] == "int"
    assert fields["tool_error"] == "str | None"  # inherited from ToolResult, flattened
    names = list(classes)
    assert names.index("TypeCheckError") < names.index("TypeCheckResult")  # dependencies first


def test_literal_types_are_kept() -> None:
    """`Literal` fields keep their values so the checker can compare against them."""
    status = render_annotation(GitFileChange.model_fields["status"].annotation)
    assert status.startswith("Literal['modified', 'added'")
    assert render_annotation(TypeCheckError.model_fields["severity"].annotation) == (
        "Literal['error', 'warning', 'info']"
    )


def test_field_docstrings_become_comments_and_can_be_left_out() -> None:
    """Attribute docstrings appear as trailing comments unless `field_comments=False`."""
    full = render_stubs([default_catalogue().get("typecheck")])
    assert "error_count: int  # Number of error-severity diagnostics." in full
    compact = render_stubs([default_catalogue().get("typecheck")], field_comments=False)
    assert "error_count: int\n" in compact
    assert len(compact) < len(full)
    assert TypeCheckResult.__name__ in compact


def test_write_tools_say_they_need_permission() -> None:
    """The docstring of a write tool tells the model that the user is asked first."""
    functions = _functions(render_stubs(default_catalogue()))
    assert "Needs permission" in (ast.get_docstring(functions["file_write"]) or "")
    assert "Needs permission when" in (ast.get_docstring(functions["ruff_format"]) or "")
    assert "Needs permission" not in (ast.get_docstring(functions["file_read"]) or "")


async def test_sandbox_stubs_add_define_tool_and_type_check_a_valid_block(ctx: ToolContext) -> None:
    """The sandbox's stubs include `define_tool`, and a block using result fields passes the checker."""
    async with CodeSandbox(ctx) as box:
        assert "def define_tool(" in box.stubs
        assert "class DefineToolResult:" in box.stubs
        result = await box.run("r = file_list('.')\n[f for f in r.files if f.endswith('.py')]")
    assert result.ok, result.error
    assert isinstance(result.value, list)
    assert "app/views.py" in result.value
