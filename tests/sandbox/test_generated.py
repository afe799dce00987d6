"""Generated tools: defined in a block, validated on samples, callable later, persisted and reloaded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from punie_lsp.sandbox import (
    CodeSandbox,
    GeneratedToolDefinition,
    SchemaError,
    ToolCallFinished,
    allow_all,
    compile_definition,
    load_generated_tools,
    model_from_schema,
)
from punie_lsp.tools import ToolContext
from punie_lsp.workspace import Workspace

from .conftest import FAST_LIMITS, Recorder

pytestmark = pytest.mark.timeout(60)

COUNT_TODOS = '''
r = define_tool(
    name="count_todos",
    description="Count TODO comments in the Python files under a path.",
    input_schema={
        "type": "object",
        "properties": {"path": {"type": "string", "description": "Where to look."}},
        "required": ["path"],
    },
    output_schema={
        "type": "object",
        "properties": {
            "count": {"type": "integer"},
            "files": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["count", "files"],
    },
    code="""
def count_todos(path: str) -> dict:
    found = file_search("TODO", path=path)
    return {"count": found.match_count, "files": sorted(set(m.file for m in found.matches))}
""",
    samples=[{"path": "."}, {"path": "app"}],
    persist=PERSIST,
)
(r.success, r.problems, r.sample_outputs, r.persisted_path)
'''


def _define(persist: bool) -> str:
    return COUNT_TODOS.replace("PERSIST", repr(persist))


async def test_a_valid_tool_is_validated_and_callable_from_the_next_block(sandbox: CodeSandbox) -> None:
    """`define_tool` runs the samples; the next block calls the tool with typed arguments and result."""
    defined = await sandbox.run(_define(persist=False))
    assert defined.ok, defined.error
    assert defined.value == [
        True,
        [],
        [{"count": 2, "files": ["app/util.py"]}, {"count": 2, "files": ["app/util.py"]}],
        None,
    ]
    assert defined.defined_tools == ("count_todos",)
    assert "def count_todos(path: str) -> CountTodosOutput:" in sandbox.stubs
    used = await sandbox.run("c = count_todos('app')\nprint(c.files)\nc.count")
    assert used.ok, used.error
    assert used.value == 2
    assert [(call.name, call.parent) for call in used.tool_calls] == [
        ("file_search", "count_todos"),
        ("count_todos", None),
    ]
    wrong_field = await sandbox.run("count_todos('app').total")
    assert wrong_field.error is not None and wrong_field.error.kind == "type"
    wrong_arg = await sandbox.run("count_todos(3)")
    assert wrong_arg.error is not None and wrong_arg.error.kind == "type"


async def test_output_that_breaks_the_schema_is_reported_as_a_problem(sandbox: CodeSandbox) -> None:
    """A sample output with the wrong type fails validation and the tool is not registered."""
    code = """
r = define_tool(
    name="half",
    description="Half of n.",
    input_schema={"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]},
    output_schema={"type": "object", "properties": {"half": {"type": "integer"}}, "required": ["half"]},
    code="def half(n: int) -> dict:\\n    return {'half': n / 2}\\n",
    samples=[{"n": 3}],
)
(r.success, r.problems)
"""
    result = await sandbox.run(code)
    assert result.ok, result.error
    assert result.value == [
        False,
        ["sample 1 output does not match output_schema: `half`: Input should be a valid integer"],
    ]
    assert "half" not in sandbox.generated


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"input_schema": {"type": "string"}}, 'input_schema: must have "type": "object"'),
        (
            {"output_schema": {"type": "object", "properties": {"x": {"type": "date"}}}},
            "unsupported type 'date'",
        ),
        ({"name": "file_read"}, "taken by a built-in"),
        ({"name": "Bad-Name"}, "snake_case"),
        ({"samples": []}, "at least one sample"),
        ({"samples": [{"path": 3}]}, "sample 1 does not match input_schema"),
        (
            {"code": "def count_todos(path: str) -> dict:\n    return {'count': len(path.nope)}\n"},
            "type error",
        ),
        (
            {"code": "def count_todos(path: str) -> dict:\n    return {'count': 1 // 0, 'files': []}\n"},
            "line 2",
        ),
        ({"code": "x = 1\n"}, "must define the function"),
    ],
)
async def test_bad_definitions_list_their_problems(
    sandbox: CodeSandbox, changes: dict[str, object], problem: str
) -> None:
    """Schemas, names, samples and code that do not work each come back as a readable problem."""
    arguments: dict[str, object] = {
        "name": "count_todos",
        "description": "Count things.",
        "input_schema": {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]},
        "output_schema": {
            "type": "object",
            "properties": {
                "count": {"type": "integer"},
                "files": {"type": "array", "items": {"type": "string"}},
            },
        },
        "code": "def count_todos(path: str) -> dict:\n    return {'count': 1, 'files': []}\n",
        "samples": [{"path": "."}],
    } | changes
    args = ", ".join(f"{key}={value!r}" for key, value in arguments.items())
    result = await sandbox.run(f"r = define_tool({args})\n(r.success, r.problems)")
    assert result.ok, result.error
    assert isinstance(result.value, list)
    success, problems = result.value
    assert success is False
    assert isinstance(problems, list)
    assert any(problem in str(p) for p in problems), problems
    assert "count_todos" not in sandbox.generated


async def test_generated_code_cannot_write(sandbox: CodeSandbox, project: Path) -> None:
    """Write tools are not in a generated tool's stubs, so code that writes is rejected up front."""
    code = """
r = define_tool(
    name='scribble',
    description='Writes.',
    input_schema={'type': 'object', 'properties': {}},
    output_schema={'type': 'object', 'properties': {}},
    code="def scribble() -> dict:\\n    file_write('x.txt', 'hi')\\n    return {}\\n",
    samples=[{}],
)
r.problems
"""
    result = await sandbox.run(code)
    assert result.ok, result.error
    assert result.value == [
        "code (type error) line 2: Name `file_write` used when not defined [unresolved-reference]"
    ]
    assert not (project / "x.txt").exists()


async def test_a_persisted_tool_that_tries_to_write_is_refused_at_run_time(
    ctx: ToolContext, project: Path
) -> None:
    """A hand-edited tool file whose code writes fails inside its sandbox; nothing is written."""
    definition = GeneratedToolDefinition(
        name="sneaky",
        description="Tries to write.",
        input_schema={"type": "object", "properties": {}},
        output_schema={"type": "object", "properties": {"ok": {"type": "boolean"}}},
        code="def sneaky():\n    file_write('owned.txt', 'x')\n    return {'ok': True}\n",
    )
    (project / ".punie/tools").mkdir(parents=True)
    (project / ".punie/tools/sneaky.json").write_text(definition.model_dump_json())
    async with CodeSandbox(ctx, limits=FAST_LIMITS, policy=allow_all) as box:
        result = await box.run("sneaky().ok")
    assert result.error is not None and result.error.kind == "runtime"
    assert "generated tools may only call read tools" in result.error.message
    assert not (project / "owned.txt").exists()


async def test_persist_saves_the_tool_and_a_new_session_loads_it(ctx: ToolContext, project: Path) -> None:
    """`persist=True` writes `.punie/tools/<name>.json` (after permission); a later sandbox calls it."""
    recorder = Recorder(decision="allow")
    async with CodeSandbox(ctx, limits=FAST_LIMITS, policy=recorder.policy) as box:
        defined = await box.run(_define(persist=True))
    assert defined.ok, defined.error
    assert isinstance(defined.value, list) and defined.value[3] == ".punie/tools/count_todos.json"
    assert [(r.tool, r.risk) for r in recorder.requests] == [("define_tool", "write")]
    saved = json.loads((project / ".punie/tools/count_todos.json").read_text())
    assert saved["name"] == "count_todos" and saved["samples"] == [{"path": "."}, {"path": "app"}]

    async with CodeSandbox(ctx, limits=FAST_LIMITS) as later:
        assert "def count_todos(path: str) -> CountTodosOutput:" in later.stubs
        result = await later.run("count_todos(path='app').count")
    assert result.ok, result.error
    assert result.value == 2


async def test_persisting_without_permission_is_denied(sandbox: CodeSandbox, project: Path) -> None:
    """With the default deny policy `persist=True` raises `PermissionError` and writes nothing."""
    result = await sandbox.run(_define(persist=True))
    assert result.error is not None and result.error.kind == "permission"
    assert not (project / ".punie").exists()


async def test_loader_reports_broken_files_and_keeps_good_ones(project: Path) -> None:
    """Invalid JSON, bad schemas and misnamed files are skipped with a reason."""
    tools = project / ".punie/tools"
    tools.mkdir(parents=True)
    good = GeneratedToolDefinition(
        name="answer",
        description="The answer.",
        input_schema={"type": "object", "properties": {}},
        output_schema={"type": "object", "properties": {"value": {"type": "integer"}}, "required": ["value"]},
        code="def answer():\n    return {'value': 42}\n",
    )
    (tools / "answer.json").write_text(good.model_dump_json())
    (tools / "broken.json").write_text("{not json")
    (tools / "other.json").write_text(good.model_dump_json())
    loaded = await load_generated_tools(Workspace(project))
    assert [tool.name for tool in loaded.tools] == ["answer"]
    assert len(loaded.problems) == 2
    assert any("broken.json" in p for p in loaded.problems)
    assert any("must be named `answer.json`" in p for p in loaded.problems)


def test_schema_compiler_builds_strict_nested_models() -> None:
    """Nested objects, arrays, enums and optional fields compile to strict Pydantic models."""
    model = model_from_schema(
        "Shape",
        {
            "type": "object",
            "properties": {
                "kind": {"enum": ["circle", "square"]},
                "size": {"type": "number"},
                "tags": {"type": "array", "items": {"type": "string"}},
                "origin": {"type": "object", "properties": {"x": {"type": "integer"}}, "required": ["x"]},
                "note": {"type": ["string", "null"]},
            },
            "required": ["kind", "size"],
        },
    )
    shape = model.model_validate({"kind": "circle", "size": 2, "origin": {"x": 1}})
    assert shape.model_dump() == {
        "kind": "circle",
        "size": 2.0,
        "tags": None,
        "origin": {"x": 1},
        "note": None,
    }
    with pytest.raises(ValueError, match="Input should be a valid integer"):
        model.model_validate({"kind": "circle", "size": 1, "origin": {"x": "1"}})
    with pytest.raises(SchemaError, match="unsupported keywords"):
        model_from_schema("Bad", {"type": "object", "properties": {"a": {"type": "string", "pattern": "x"}}})


def test_compile_definition_refuses_reserved_property_names() -> None:
    """Property names that would shadow Pydantic's own attributes are refused with a clear message."""
    definition = GeneratedToolDefinition(
        name="dumper",
        description="d",
        input_schema={"type": "object", "properties": {"model_dump": {"type": "string"}}},
        output_schema={"type": "object", "properties": {}},
        code="def dumper(model_dump):\n    return {}\n",
    )
    with pytest.raises(SchemaError, match="reserved"):
        compile_definition(definition)


async def test_events_of_nested_calls_name_the_generated_tool(
    sandbox: CodeSandbox, recorder: Recorder
) -> None:
    """Calls made by a generated tool's code are reported with `parent` set to the tool."""
    assert (await sandbox.run(_define(persist=False))).ok
    recorder.events.clear()
    assert (await sandbox.run("count_todos('.')")).ok
    finished = [e for e in recorder.events if isinstance(e, ToolCallFinished)]
    assert [(e.name, e.parent) for e in finished] == [("file_search", "count_todos"), ("count_todos", None)]


async def test_output_class_names_may_not_clash(sandbox: CodeSandbox) -> None:
    """A second tool whose output class would share a name with a registered tool's is refused."""
    assert (await sandbox.run(_define(persist=False))).ok
    clash = _define(persist=False).replace('name="count_todos"', 'name="count__todos"')
    clash = clash.replace("def count_todos(", "def count__todos(")
    result = await sandbox.run(clash)
    assert result.ok, result.error
    assert isinstance(result.value, list)
    assert result.value[0] is False
    assert "clash" in str(result.value[1])
