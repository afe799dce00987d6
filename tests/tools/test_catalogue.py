"""The catalogue defines each tool once; arguments, schemas and risks derive from it."""

from __future__ import annotations

from pathlib import Path

import pytest

from punie_lsp.tools import ToolContext
from punie_lsp.tools.catalogue import ToolArgumentError, default_catalogue
from punie_lsp.tools.results import ToolResult


def test_every_tool_returns_a_tool_result() -> None:
    """Every tool's result type has `success` and `tool_error`, and its doc has a summary line."""
    catalogue = default_catalogue()
    assert {"typecheck", "ruff_check", "ruff_format", "ruff_fix", "pytest_run"} <= set(catalogue.tools)
    for spec in catalogue:
        assert issubclass(spec.result_type, ToolResult), spec.name
        assert spec.summary and spec.summary != spec.name


def test_arguments_are_validated_with_clear_messages() -> None:
    """Unknown, missing and mistyped arguments are all named."""
    spec = default_catalogue().get("file_read")
    with pytest.raises(ToolArgumentError, match=r"`path`: Field required"):
        spec.validate_arguments({})
    with pytest.raises(ToolArgumentError, match=r"`colour`: Extra inputs"):
        spec.validate_arguments({"path": "a.py", "colour": 1})
    with pytest.raises(ToolArgumentError, match=r"`start_line`"):
        spec.validate_arguments({"path": "a.py", "start_line": "ten"})
    assert spec.validate_arguments({"path": "a.py", "start_line": "3"})["start_line"] == 3


def test_json_schema_hides_the_context() -> None:
    """The JSON tool schema lists the model-facing parameters only."""
    schema = default_catalogue().get("pytest_run").json_schema()
    assert schema["function"]["name"] == "pytest_run"
    assert set(schema["function"]["parameters"]["properties"]) == {"path", "select", "timeout"}


def test_risk_depends_on_arguments() -> None:
    """Formatting in check mode reads; formatting for real writes."""
    spec = default_catalogue().get("ruff_format")
    assert spec.risk_of({"check": True}) == "read"
    assert spec.risk_of({"check": False}) == "write"
    assert default_catalogue().get("file_write").risk_of({}) == "write"


def test_unknown_tool_lists_known_ones() -> None:
    """Asking for a tool that does not exist lists the real names."""
    with pytest.raises(Exception, match=r"known tools: .*typecheck"):
        default_catalogue().get("typo_check")


async def test_call_runs_the_tool(tmp_path: Path) -> None:
    """`call` validates and runs."""
    (tmp_path / "a.py").write_text("x = 1\n")
    result = await default_catalogue().get("file_read").call(ToolContext.for_root(tmp_path), {"path": "a.py"})
    assert result.model_dump()["content"] == "x = 1\n"
