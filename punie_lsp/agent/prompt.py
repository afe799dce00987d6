"""The system prompt: who Punie is, how Code Mode works, and one line per tool and per skill.

Full tool stubs and skill bodies are *not* in the prompt (progressive disclosure): the model loads them
with `tool_docs(name)` and `load_skill(name)`. Runtime, evaluation and training export all build the
prompt here, so the model is always served the format it was trained on.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Iterable

from punie_lsp.models.chat_format import PROMPT_PROFILES, PromptProfile
from punie_lsp.sandbox import BlockResult
from punie_lsp.skills import Skill
from punie_lsp.tools.catalogue import ToolSpec

__all__ = (
    "CODE_MODE_TOOL",
    "PROMPT_PROFILES",
    "PromptProfile",
    "format_block_result",
    "json_tools_prompt",
    "system_prompt",
    "tool_line",
)

CODE_MODE_TOOL = "run_code"
"""The one tool a Code Mode model calls; its single parameter is `code`."""

_CODE_MODE = """\
You are Punie, a local coding agent for Python web development (tdom, svcs, svcs-di/Hopscotch,
tdom-svcs middleware), working in the project at `{root}`.

Act by calling `run_code` with one Python block. In it, call the tools below as plain functions (no
`await`, no imports) and read their typed results by field: `r = typecheck("src")`, then
`r.error_count`, `for e in r.errors: print(e.file, e.line, e.message)`. You get back what the block
prints and the value of its last expression. Variables persist between blocks. Blocks are type-checked
before they run; a wrong field or argument comes back as an error to fix. The sandbox has no file,
network or environment access but these tools, and supports functions, loops, comprehensions, dicts,
f-strings, `json`, `re` (no class inheritance, generators or `del`). Every result has `success` and
`tool_error` (the tool itself failed). Write tools ask the user; a refusal raises `PermissionError`.

Tools (`tool_docs("name")` shows full signatures and result fields):
{tools}

Skills (`load_skill("name")`, then follow it):
{skills}

Rules:
- Read and check before you change; edit with `file_edit` (exact text), `file_write` for new files.
- After a change, run typecheck, ruff_check, pytest_run and the domain validators; fix what they report.
- Ground claims in tool results (counts, files, lines). If no tool is needed, just answer.
- End with a short summary of what you found or changed."""

_COMPACT_CODE_MODE = """\
You are Punie, a coding agent for the Python web project at `{root}`.

If a request needs no tool, just answer. Otherwise call `run_code` with one Python block that calls the
tools as functions (no imports, no `await`) and reads their typed results by field, e.g.
`r = typecheck("src")` then `r.error_count`. You get back what the block prints and its last expression.
Then answer in a few lines, true to those results.

Tools (`…`: optional arguments; `tool_docs("name")` shows one in full): {tools}"""

_JSON_TOOLS = """\
You are Punie, a local coding agent for Python web development (tdom, svcs, svcs-di/Hopscotch,
tdom-svcs middleware). You work in the project at `{root}`.

Call the tools you are given to inspect, check and change the project; each returns a JSON object with
`success`, `tool_error` (set when the tool itself could not run) and typed fields. Write tools ask the
user first. Ground every claim in tool results, and finish with a short summary.

Skills (call `load_skill` with the name and follow it before such work):
{skills}"""


def _default(value: object) -> str:
    if isinstance(value, str):
        return repr(value).replace("'", '"')
    return repr(value)


def tool_line(spec: ToolSpec) -> str:
    """One prompt line: `- name(required, optional=default) -> Result: summary`."""
    params = []
    for param in spec.signature.parameters.values():
        if param.default is inspect.Parameter.empty:
            params.append(param.name)
        else:
            params.append(f"{param.name}={_default(param.default)}")
    return f"- {spec.name}({', '.join(params)}) -> {spec.result_type.__name__}: {spec.summary}"


def _skill_lines(skills: Iterable[Skill]) -> str:
    lines = [f"- {skill.name}: {skill.description}" for skill in skills]
    return "\n".join(lines) or "- (none)"


def _signature(spec: ToolSpec) -> str:
    """`name(required, …)`: a compact prompt's tool entry (`…` stands for optional parameters)."""
    params = spec.signature.parameters.values()
    shown = [p.name for p in params if p.default is inspect.Parameter.empty]
    if any(p.default is not inspect.Parameter.empty for p in params):
        shown.append("…")
    return f"{spec.name}({', '.join(shown)})"


def system_prompt(
    *, root: str, tools: Iterable[ToolSpec], skills: Iterable[Skill], profile: PromptProfile = "full"
) -> str:
    """The Code Mode system prompt for a project, in the given profile.

    `full` (about 1,400 tokens: every tool with its result type and summary, skills, rules) suits capable
    models; `compact` (about 290 tokens: tool names and required arguments) suits small models such as
    punie-tiny, which learn the result fields in training and would pay for a long prompt on every turn,
    in prefill on a CPU and in training time on every record.
    """
    if profile == "compact":
        return _COMPACT_CODE_MODE.format(root=root, tools=", ".join(_signature(s) for s in tools))
    return _CODE_MODE.format(
        root=root, tools="\n".join(tool_line(s) for s in tools), skills=_skill_lines(skills)
    )


def json_tools_prompt(*, root: str, skills: Iterable[Skill]) -> str:
    """The system prompt for models that call JSON tools instead of writing Code Mode blocks."""
    return _JSON_TOOLS.format(root=root, skills=_skill_lines(skills))


def format_block_result(result: BlockResult) -> str:
    """What the model reads after a successful block: printed output, then the last expression's value.

    Shared by runtime and training export so the model always sees the same shape.
    """
    parts: list[str] = []
    if result.stdout:
        parts.append(f"Output:\n{result.stdout.rstrip()}")
    if result.value is not None:
        value = (
            result.value if isinstance(result.value, str) else json.dumps(result.value, ensure_ascii=False)
        )
        parts.append(f"Result:\n{value}")
    if result.defined_tools:
        parts.append(f"Defined tools: {', '.join(result.defined_tools)}")
    if not parts:
        calls = len(result.tool_calls)
        parts.append(f"The block ran ({calls} tool call{'s' if calls != 1 else ''}) and returned nothing.")
    return "\n\n".join(parts)
