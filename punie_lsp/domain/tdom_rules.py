"""tdom component rules (TDOM001–TDOM016), checked by `validate_component`.

The rules read t-strings through the markup scanner of `punie_lsp.domain.components` and resolve every
name they act on (`html` from jinja2 or markupsafe is not tdom's). Node-era differences are gated on the
project's tdom version: before 0.1.16 `html()` returned a `Node`, so returning `html(...)` from a component,
interpolating `{html(x)}` and the `context=` keyword of the old tdom-svcs were correct there.
"""

from __future__ import annotations

import difflib
import re
import string
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import libcst as cst
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import AddImportsVisitor, RemoveImportsVisitor

from punie_lsp.domain.components import (
    NODE_NAMES,
    PLACEHOLDER,
    TEMPLATE_NAMES,
    ComponentSpec,
    MarkupTag,
    ModuleFacts,
    ProjectFacts,
    TemplateMarkup,
    annotation_is,
    class_spec,
    dataclass_fields,
    decorator_target,
    inject_type,
    is_dataclass_class,
    method,
    module_facts,
    project_facts,
    resolve_node,
    returns_of,
)
from punie_lsp.domain.context import ModuleContext, ProjectIndex
from punie_lsp.domain.issues import DomainIssue
from punie_lsp.domain.metadata import code_children, visit_fast
from punie_lsp.domain.rules import fixer_for, rule

__all__ = ()

TDOM_RENDER = frozenset({"tdom.html", "tdom.svg", "tdom.processor.html", "tdom.processor.svg"})
SVCS_RENDER = frozenset({"tdom_svcs.html", "tdom_svcs.processor.html"})
MARKUP_NAMES = frozenset({"markupsafe.Markup", "tdom.Markup"})
STR_NAMES = frozenset({"builtins.str", "markupsafe.Markup", "tdom.Markup"})
NODE_SHORT = frozenset(n.rsplit(".", 1)[1] for n in NODE_NAMES)
NEWER_API = {"svg": (0, 1, 15), "Scope": (0, 1, 17), "ScopedTemplate": (0, 1, 17)}
"""Names tdom gained after the Node era, and the first version that has them."""
REQUEST_ROOTS = frozenset({"request", "req"})
REQUEST_ATTRS = frozenset({"form", "query_params", "path_params", "GET", "POST", "cookies", "query_string"})
_JINJA_EXPR = re.compile(r"\{\{\s*[A-Za-z_][\w.]*(?:\s*\|\s*\w+)*\s*\}\}")
_JINJA_BLOCK = re.compile(r"\{\{%.*?%\}\}")
_JSX_EVENT = re.compile(r"on[A-Z]\w*$")


# ---------------------------------------------------------------------------------------------------------
# Shared helpers
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Render:
    call: cst.Call
    svcs: bool
    """`tdom_svcs.html` rather than `tdom.html`/`tdom.svg`."""
    name: str


def _renders(mod: ModuleContext) -> list[_Render]:
    """Calls of tdom's `html`/`svg` or tdom-svcs's `html` (resolved, aliases included)."""
    facts = module_facts(mod)
    cached = facts.cache.get("tdom:renders")
    if isinstance(cached, list):
        return cached
    aliases = {local for local, target in facts.imports.items() if target in TDOM_RENDER | SVCS_RENDER}
    aliases |= {"html", "svg"}
    found: list[_Render] = []
    for call in facts.calls:
        func = call.func
        spelled = (isinstance(func, cst.Name) and func.value in aliases) or (
            isinstance(func, cst.Attribute) and func.attr.value in ("html", "svg")
        )
        if not spelled:
            continue
        names = mod.qualified_names(func)
        if names & TDOM_RENDER:
            found.append(_Render(call, False, sorted(names & TDOM_RENDER)[0].rsplit(".", 1)[1]))
        elif names & SVCS_RENDER:
            found.append(_Render(call, True, "html"))
    facts.cache["tdom:renders"] = found
    return found


def _template_arg(call: cst.Call) -> cst.Arg | None:
    for arg in call.args:
        if arg.keyword is None and arg.star == "":
            return arg
        if arg.keyword is not None and arg.keyword.value == "template":
            return arg
    return None


def _keyword(call: cst.Call, *names: str) -> cst.Arg | None:
    return next((a for a in call.args if a.keyword is not None and a.keyword.value in names), None)


def _render_label(render: _Render) -> str:
    return "tdom_svcs.html" if render.svcs else f"tdom.{render.name}"


def _markup_issue(
    mod: ModuleContext,
    rule_id: str,
    markup: TemplateMarkup,
    start: int,
    end: int,
    message: str,
    suggestion: str | None = None,
) -> DomainIssue:
    """An issue at `markup.flat[start:end]`, located precisely inside the t-string."""
    return mod.issue_at(rule_id, markup.span(mod, start, end), message, suggestion=suggestion)


def _modern(index: ProjectIndex) -> bool:
    """tdom ≥ 0.1.16, or an unknown version (treated as current)."""
    return not index.node_era


def _version_text(index: ProjectIndex) -> str:
    version = index.tdom_version
    return (
        "tdom " + ".".join(map(str, version))
        if version
        else "an undeclared tdom version (treated as current)"
    )


def _uses_tdom(facts: ModuleFacts) -> bool:
    return bool(facts.tstrings) or any(
        t.split(".", 1)[0] in ("tdom", "tdom_svcs") for t in facts.imports.values()
    )


class _Replace(cst.CSTTransformer):
    """Replace nodes by identity: a node value replaces outright, a callable maps the updated node."""

    def __init__(self, edits: dict[int, Any]) -> None:
        super().__init__()
        self.edits = edits

    def on_leave(self, original_node: Any, updated_node: Any) -> Any:
        edit = self.edits.get(id(original_node))
        if edit is None:
            return updated_node
        return edit(updated_node) if callable(edit) else edit


def _apply(
    mod: ModuleContext,
    edits: dict[int, Any],
    imports: Iterable[tuple[str, str | None, str | None]] = (),
    *,
    drop_unused: Iterable[tuple[str, str]] = (),
) -> cst.Module:
    """The module with `edits` applied.

    `imports` (module, name, asname) are added where missing; the `drop_unused` imports (module, name)
    are removed when the edits left them unused.
    """
    if not edits:
        return mod.module
    module = mod.module.visit(_Replace(edits))
    needed = list(imports)
    if needed:
        context = CodemodContext()
        for module_name, obj, asname in needed:
            AddImportsVisitor.add_needed_import(context, module_name, obj, asname)
        module = AddImportsVisitor(context).transform_module(module)
    unused = list(drop_unused)
    if unused:
        context = CodemodContext()
        for module_name, obj in unused:
            RemoveImportsVisitor.remove_unused_import(context, module_name, obj)
        module = RemoveImportsVisitor(context).transform_module(module)
    return module


def _edit_tstring(
    markup: TemplateMarkup, edits: Sequence[tuple[int, int, Sequence[str | cst.BaseExpression]]]
) -> cst.TemplatedString:
    """A copy of the t-string with `flat[start:end]` replaced by text and expressions, per edit."""
    atoms: list[str | cst.BaseTemplatedStringContent] = [
        part if isinstance(part, cst.TemplatedStringExpression) else ch
        for ch, (part, _) in zip(markup.flat, markup.atoms, strict=True)
    ]
    for start, end, items in sorted(edits, key=lambda e: e[0], reverse=True):
        new: list[str | cst.BaseTemplatedStringContent] = []
        for item in items:
            if isinstance(item, str):
                new.extend(item)
            else:
                new.append(cst.TemplatedStringExpression(expression=item))
        atoms[start:end] = new
    parts: list[cst.BaseTemplatedStringContent] = []
    text: list[str] = []
    for atom in atoms:
        if isinstance(atom, str):
            text.append(atom)
            continue
        if text:
            parts.append(cst.TemplatedStringText("".join(text)))
            text = []
        parts.append(atom)
    if text:
        parts.append(cst.TemplatedStringText("".join(text)))
    return markup.node.with_changes(parts=parts)


def _render_imports(mod: ModuleContext) -> list[tuple[str, str]]:
    """`(module, name)` of the render functions this module imports (candidates to drop once unused)."""
    found = []
    for target in module_facts(mod).imports.values():
        if target in TDOM_RENDER | SVCS_RENDER:
            module, _, name = target.rpartition(".")
            found.append((module, name))
    return found


def _markups(mod: ModuleContext) -> Iterator[TemplateMarkup]:
    facts = module_facts(mod)
    for node in facts.tstrings:
        yield facts.markup(node)


def _function_of(mod: ModuleContext, node: cst.CSTNode) -> cst.FunctionDef | None:
    """The function whose body holds `node` (through the scope metadata)."""
    owner = getattr(mod.scopes.get(node), "node", None)
    return owner if isinstance(owner, cst.FunctionDef) else None


def _class_of(mod: ModuleContext, node: cst.CSTNode) -> cst.ClassDef | None:
    """The class of the method whose body holds `node`."""
    scope = mod.scopes.get(node)
    parent = getattr(scope, "parent", None)
    owner = getattr(parent, "node", None)
    return owner if isinstance(owner, cst.ClassDef) else None


# ---------------------------------------------------------------------------------------------------------
# Strings that are not templates, and turning them into t-strings
# ---------------------------------------------------------------------------------------------------------


def _leaves(expr: cst.BaseExpression) -> list[cst.BaseExpression]:
    """Operands of a `+` chain or an implicit string concatenation."""
    if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, cst.Add) and not expr.lpar:
        return [*_leaves(expr.left), *_leaves(expr.right)]
    if isinstance(expr, cst.ConcatenatedString):
        return [*_leaves(expr.left), *_leaves(expr.right)]
    return [expr]


def _is_str_literal(expr: cst.BaseExpression) -> bool:
    return isinstance(expr, (cst.SimpleString, cst.FormattedString, cst.ConcatenatedString)) and (
        not isinstance(expr, cst.SimpleString) or "b" not in expr.prefix.lower()
    )


def _string_problem(mod: ModuleContext, expr: cst.BaseExpression) -> str | None:
    """What kind of `str` (not `Template`) an expression builds, or None when it may be a Template."""
    if isinstance(expr, cst.FormattedString):
        return "an f-string"
    if isinstance(expr, cst.SimpleString):
        return "bytes" if "b" in expr.prefix.lower() else "a plain string"
    if isinstance(expr, (cst.ConcatenatedString, cst.BinaryOperation)) and isinstance(
        getattr(expr, "operator", cst.Add()), cst.Add
    ):
        leaves = _leaves(expr)
        if len(leaves) > 1 and any(_is_str_literal(leaf) for leaf in leaves):
            return "a string concatenation"
        return None
    if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, cst.Modulo):
        return "`%` formatting" if isinstance(expr.left, (cst.SimpleString, cst.ConcatenatedString)) else None
    if isinstance(expr, cst.Call):
        func = expr.func
        if (
            isinstance(func, cst.Attribute)
            and func.attr.value in ("format", "join")
            and (
                isinstance(func.value, (cst.SimpleString, cst.ConcatenatedString))
                or mod.refers_to(func.value, "builtins.str")
            )
        ):
            return f"`str.{func.attr.value}()`"
        if mod.refers_to(func, "builtins.str"):
            return "`str(...)`"
    return None


def _escape(text: str) -> str:
    out: list[str] = []
    for ch in text:
        if ch in "{}":
            out.append(ch * 2)
        elif ch in '\\"':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif not ch.isprintable():
            out.append(repr(ch)[1:-1])
        else:
            out.append(ch)
    return "".join(out)


def _t_parts(parts: Sequence[cst.CSTNode]) -> list[cst.BaseTemplatedStringContent] | None:
    """f-string parts as t-string parts (format specs included)."""
    converted: list[cst.BaseTemplatedStringContent] = []
    for part in parts:
        if isinstance(part, (cst.FormattedStringText, cst.TemplatedStringText)):
            converted.append(cst.TemplatedStringText(part.value))
        elif isinstance(part, cst.FormattedStringExpression):
            spec = _t_parts(part.format_spec) if part.format_spec is not None else None
            converted.append(
                cst.TemplatedStringExpression(
                    expression=part.expression,
                    conversion=part.conversion,
                    format_spec=spec,
                    whitespace_before_expression=part.whitespace_before_expression,
                    whitespace_after_expression=part.whitespace_after_expression,
                    equal=part.equal,
                )
            )
        elif isinstance(part, cst.TemplatedStringExpression):
            converted.append(part)
        else:
            return None
    return converted


def _t_prefix(start: str) -> str:
    prefix = start.rstrip("\"'")
    quote = start[len(prefix) :]
    kept = "".join(c for c in prefix if c in "rR")
    return kept + "t" + quote


def _single_tstring(leaves: Sequence[cst.BaseExpression]) -> cst.TemplatedString | None:
    """One `t"…"` for operands of a concatenation (literals become text, other operands `{…}`)."""
    parts: list[cst.BaseTemplatedStringContent] = []
    for leaf in leaves:
        if isinstance(leaf, cst.SimpleString):
            value = leaf.evaluated_value
            if not isinstance(value, str):
                return None
            parts.append(cst.TemplatedStringText(_escape(value)))
        elif isinstance(leaf, (cst.FormattedString, cst.TemplatedString)):
            prefix = leaf.start.rstrip("\"'")
            if "r" in prefix.lower():
                return None
            converted = _t_parts(leaf.parts)
            if converted is None:
                return None
            for part in converted:
                if isinstance(part, cst.TemplatedStringText):
                    text = re.sub(r'(?<!\\)"', '\\"', part.value).replace("\n", "\\n")
                    parts.append(cst.TemplatedStringText(text))
                else:
                    parts.append(part)
        else:
            parts.append(cst.TemplatedStringExpression(expression=_unwrap_str(leaf)))
    merged: list[cst.BaseTemplatedStringContent] = []
    for part in parts:
        if (
            merged
            and isinstance(part, cst.TemplatedStringText)
            and isinstance(merged[-1], cst.TemplatedStringText)
        ):
            merged[-1] = cst.TemplatedStringText(merged[-1].value + part.value)
        elif not (isinstance(part, cst.TemplatedStringText) and part.value == ""):
            merged.append(part)
    return cst.TemplatedString(parts=merged, start='t"', end='"')


def _unwrap_str(expr: cst.BaseExpression) -> cst.BaseExpression:
    """`str(x)` → `x` (a template interpolation converts to text anyway)."""
    if (
        isinstance(expr, cst.Call)
        and isinstance(expr.func, cst.Name)
        and expr.func.value == "str"
        and len(expr.args) == 1
        and expr.args[0].keyword is None
        and not expr.args[0].star
    ):
        return expr.args[0].value
    return expr


def _format_to_tstring(call: cst.Call) -> cst.TemplatedString | None:
    """`"<p>{}</p>".format(x)` → `t"<p>{x}</p>"` (simple fields only)."""
    func = call.func
    if not isinstance(func, cst.Attribute) or not isinstance(func.value, cst.SimpleString):
        return None
    pattern = func.value.evaluated_value
    if not isinstance(pattern, str) or any(a.star for a in call.args):
        return None
    positional = [a.value for a in call.args if a.keyword is None]
    keywords = {a.keyword.value: a.value for a in call.args if a.keyword is not None}
    parts: list[cst.BaseTemplatedStringContent] = []
    auto = 0
    try:
        fields = list(string.Formatter().parse(pattern))
    except ValueError:
        return None
    for literal, name, spec, conversion in fields:
        if literal:
            parts.append(cst.TemplatedStringText(_escape(literal)))
        if name is None:
            continue
        if name == "":
            if auto >= len(positional):
                return None
            value, auto = positional[auto], auto + 1
        elif name.isdigit() and int(name) < len(positional):
            value = positional[int(name)]
        elif name.isidentifier() and name in keywords:
            value = keywords[name]
        else:
            return None
        if spec and ("{" in spec or "}" in spec):
            return None
        parts.append(
            cst.TemplatedStringExpression(
                expression=value,
                conversion=conversion,
                format_spec=[cst.TemplatedStringText(spec)] if spec else None,
            )
        )
    return cst.TemplatedString(parts=parts, start='t"', end='"')


def _to_template(mod: ModuleContext, expr: cst.BaseExpression) -> cst.BaseExpression | None:
    """The t-string equivalent of a str-building expression, or None when there is no safe rewrite."""
    if isinstance(expr, cst.FormattedString):
        parts = _t_parts(expr.parts)
        if parts is None:
            return None
        return cst.TemplatedString(
            parts=parts, start=_t_prefix(expr.start), end=expr.end, lpar=expr.lpar, rpar=expr.rpar
        )
    if isinstance(expr, cst.SimpleString):
        if "b" in expr.prefix.lower():
            return None
        body = expr.raw_value.replace("{", "{{").replace("}", "}}")
        start = _t_prefix(expr.prefix + expr.quote)
        text = [cst.TemplatedStringText(body)] if body else []
        return cst.TemplatedString(parts=text, start=start, end=expr.quote, lpar=expr.lpar, rpar=expr.rpar)
    if isinstance(expr, (cst.ConcatenatedString, cst.BinaryOperation)):
        if isinstance(expr, cst.BinaryOperation) and not isinstance(expr.operator, cst.Add):
            return None
        return _single_tstring(_leaves(expr))
    if isinstance(expr, cst.Call):
        return _format_to_tstring(expr)
    return None


# ---------------------------------------------------------------------------------------------------------
# TDOM001: html() receives a template
# ---------------------------------------------------------------------------------------------------------


@rule(
    "TDOM001",
    severity="error",
    title="`html()`/`svg()` argument must be a t-string or Template, never an f-string, concatenation or "
    "`str.format`",
    fix="A",
    why=(
        "tdom parses the static parts of a `Template` and escapes each interpolation. A `str` (an f-string, "
        "a concatenation, `.format()`) has already pasted the values in: nothing can be escaped, and "
        'tdom\'s `html()` does not accept it. Pass a t-string: `t"…"`.'
    ),
    bad="""
from tdom import html

def greet(name: str) -> str:
    return html(f"<p>Hello {name}</p>")
""",
    good="""
from tdom import html

def greet(name: str) -> str:
    return html(t"<p>Hello {name}</p>")
""",
    static_note=(
        "Only literal arguments are judged (f-strings, string literals, `+` concatenations, `.format()`, "
        "`%`, `str.join`, `str()`); a variable is assumed to hold a Template. The fix rewrites f-strings, "
        "literals, concatenations and simple `.format()` calls; `%` formatting is reported only."
    ),
)
def tdom001_html_argument(mod: ModuleContext, index: ProjectIndex) -> Iterator[DomainIssue]:
    """`html(f"…")`, `html("…" + x)`, `html("…".format(x))` and friends."""
    for render in _renders(mod):
        arg = _template_arg(render.call)
        if arg is None:
            continue
        problem = _string_problem(mod, arg.value)
        if problem is None:
            continue
        fixed = _to_template(mod, arg.value)
        label = _render_label(render)
        yield mod.issue(
            "TDOM001",
            arg.value,
            f"`{label}()` receives {problem}, a `str` whose values are already pasted in (no escaping, and "
            'tdom needs a `Template`): pass a t-string `t"…"` instead.',
            suggestion=mod.code(fixed) if fixed is not None else 'rewrite the markup as a t-string `t"…"`',
        )


@fixer_for("TDOM001")
def tdom001_fix(mod: ModuleContext, index: ProjectIndex) -> cst.Module:
    """Rewrite the argument as a t-string."""
    edits: dict[int, Any] = {}
    for render in _renders(mod):
        arg = _template_arg(render.call)
        if arg is None or _string_problem(mod, arg.value) is None:
            continue
        fixed = _to_template(mod, arg.value)
        if fixed is not None:
            edits[id(arg.value)] = fixed
    return _apply(mod, edits)


# ---------------------------------------------------------------------------------------------------------
# TDOM002: components return a Template
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Candidate:
    func: cst.FunctionDef
    owner: cst.ClassDef | None
    reason: str
    """`used` (interpolated as a tag), `annotated` (`-> Template`) or `pascal` (an unannotated PascalCase
    function)."""

    @property
    def label(self) -> str:
        return f"{self.owner.name.value}.__call__" if self.owner else self.func.name.value


def _component_candidates(mod: ModuleContext, index: ProjectIndex) -> list[_Candidate]:
    """Functions and `__call__` methods that are components by use, annotation or naming."""
    facts = module_facts(mod)
    project = project_facts(index)
    found: list[_Candidate] = []
    for name, func in facts.functions.items():
        spec = project.components.get(f"{facts.name}.{name}")
        if spec is not None and spec.used_as_tag:
            found.append(_Candidate(func, None, "used"))
        elif annotation_is(mod, func.returns, TEMPLATE_NAMES):
            found.append(_Candidate(func, None, "annotated"))
        elif func.returns is None and name[:1].isupper():
            found.append(_Candidate(func, None, "pascal"))
    for name, klass in facts.classes.items():
        call = method(klass, "__call__")
        if call is None:
            continue
        spec = project.components.get(f"{facts.name}.{name}")
        if spec is not None and spec.used_as_tag:
            found.append(_Candidate(call, klass, "used"))
        elif annotation_is(mod, call.returns, TEMPLATE_NAMES):
            found.append(_Candidate(call, klass, "annotated"))
    return found


def _return_problems(
    mod: ModuleContext, candidate: _Candidate, renders: dict[int, _Render]
) -> list[tuple[cst.Return, str]]:
    problems: list[tuple[cst.Return, str]] = []
    for ret in returns_of(mod, candidate.func):
        value = ret.value
        if value is None:
            continue
        render = renders.get(id(value))
        if render is not None:
            arg = _template_arg(render.call)
            if candidate.reason != "pascal" or (
                arg is not None and isinstance(arg.value, cst.TemplatedString)
            ):
                problems.append((ret, f"`{_render_label(render)}(...)`, which renders to a `str`"))
            continue
        if candidate.reason == "pascal":
            continue
        problem = _string_problem(mod, value)
        if problem is not None:
            problems.append((ret, problem))
    return problems


def _tdom002_findings(
    mod: ModuleContext, index: ProjectIndex
) -> list[tuple[_Candidate, list[tuple[cst.Return, str]], bool]]:
    """(candidate, bad returns, wrong annotation) for each component that breaks TDOM002."""
    if not _modern(index):
        return []
    renders = {id(r.call): r for r in _renders(mod)}
    findings = []
    for candidate in _component_candidates(mod, index):
        problems = _return_problems(mod, candidate, renders)
        wrong_annotation = candidate.reason == "used" and annotation_is(
            mod, candidate.func.returns, STR_NAMES
        )
        if problems or wrong_annotation:
            findings.append((candidate, problems, wrong_annotation))
    return findings


@rule(
    "TDOM002",
    severity="error",
    title="A component returns a `Template` (not `html(...)`, not a str, not an f-string); annotate "
    "`-> Template`",
    fix="A",
    why=(
        "Since tdom 0.1.16 a component (a function, or a class's `__call__`) must return a "
        "`string.templatelib.Template`; tdom renders it in place. `html(...)` now returns a `str`, so "
        "returning it (or an f-string) makes tdom raise `TypeError: Component callable must return "
        "Template or Callable`."
    ),
    bad="""
from tdom import html

def Badge(*, label: str) -> str:
    return html(t"<b>{label}</b>")
""",
    good="""
from string.templatelib import Template

def Badge(*, label: str) -> Template:
    return t"<b>{label}</b>"
""",
    static_note=(
        "Components are functions or classes interpolated as tags anywhere in the project, functions "
        'annotated `-> Template`, and unannotated PascalCase functions returning `html(t"…")`. Returned '
        "variables are not traced. Not checked on Node-era projects (tdom < 0.1.16), where returning "
        "`html(...)` was correct."
    ),
)
def tdom002_component_returns_template(mod: ModuleContext, index: ProjectIndex) -> Iterator[DomainIssue]:
    """Components returning `html(...)`, f-strings or strings, or annotated `-> str`."""
    for candidate, problems, wrong_annotation in _tdom002_findings(mod, index):
        for ret, problem in problems:
            value = ret.value
            assert value is not None
            yield mod.issue(
                "TDOM002",
                value,
                f"Component `{candidate.label}` returns {problem}; tdom needs the `Template` itself: return "
                'the t-string (`return t"…"`) and annotate `-> Template`.',
                suggestion='return t"…"  # and annotate -> Template',
            )
        if wrong_annotation and candidate.func.returns is not None:
            yield mod.issue(
                "TDOM002",
                candidate.func.returns.annotation,
                f"Component `{candidate.label}` is annotated "
                f"`-> {mod.code(candidate.func.returns.annotation)}`; a component returns a `Template`: "
                "annotate `-> Template` (from `string.templatelib`).",
                suggestion="-> Template",
            )


@fixer_for("TDOM002")
def tdom002_fix(mod: ModuleContext, index: ProjectIndex) -> cst.Module:
    """Return the template itself and annotate `-> Template`."""
    renders = {id(r.call): r for r in _renders(mod)}
    edits: dict[int, Any] = {}
    needs_import = False
    for candidate, problems, _ in _tdom002_findings(mod, index):
        for ret, _problem in problems:
            value = ret.value
            assert value is not None
            render = renders.get(id(value))
            if render is not None:
                arg = _template_arg(render.call)
                if arg is None:
                    continue
                replacement = _to_template(mod, arg.value) if _string_problem(mod, arg.value) else arg.value
            else:
                replacement = _to_template(mod, value)
            if replacement is not None:
                edits[id(value)] = replacement
        returns = candidate.func.returns
        if returns is None or annotation_is(mod, returns, STR_NAMES):
            edits[id(candidate.func)] = lambda node: node.with_changes(
                returns=cst.Annotation(cst.Name("Template"))
            )
            needs_import = True
    imports = [("string.templatelib", "Template", None)] if needs_import else []
    return _apply(mod, edits, imports, drop_unused=_render_imports(mod))


# ---------------------------------------------------------------------------------------------------------
# TDOM003: API of the wrong tdom era
# ---------------------------------------------------------------------------------------------------------


def _tdom_imports(mod: ModuleContext) -> list[tuple[cst.ImportFrom, cst.ImportAlias]]:
    """`from tdom import X` aliases anywhere in the module."""
    found: list[tuple[cst.ImportFrom, cst.ImportAlias]] = []
    for node in module_facts(mod).import_froms:
        module = node.module
        dotted = mod.code(module) if module is not None else ""
        if (
            not node.relative
            and dotted in ("tdom", "tdom.nodes")
            and not isinstance(node.names, cst.ImportStar)
        ):
            found.extend((node, alias) for alias in node.names)
    return found


def _node_references(mod: ModuleContext) -> list[cst.BaseExpression]:
    """Uses (not imports) of tdom's Node-era classes."""
    facts = module_facts(mod)
    aliases = {
        local
        for local, target in facts.imports.items()
        if target in NODE_NAMES
        or (target.startswith("tdom.nodes.") and target.rsplit(".", 1)[1] in NODE_SHORT)
    }
    modules = {local for local, target in facts.imports.items() if target in ("tdom", "tdom.nodes")}
    if not aliases and not modules:
        return []
    wanted = NODE_NAMES | {f"tdom.nodes.{n}" for n in NODE_SHORT}
    found: list[cst.BaseExpression] = []
    inside: set[int] = set()
    for node in mod.scopes:
        if isinstance(node, cst.Attribute):
            if (
                node.attr.value in NODE_SHORT
                and isinstance(node.value, cst.Name)
                and node.value.value in modules
                and mod.qualified_names(node) & wanted
            ):
                found.append(node)
                inside.add(id(node.value))
        elif (
            isinstance(node, cst.Name)
            and node.value in aliases
            and id(node) not in inside
            and mod.qualified_names(node) & wanted
        ):
            found.append(node)
    return found


@rule(
    "TDOM003",
    severity="error",
    title="No Node-era API with tdom ≥ 0.1.16 (`from tdom import Node/Element/Fragment`, `-> Node`)",
    fix="A",
    why=(
        "tdom 0.1.16 dropped its `Node` tree: `Node`, `Element`, `Fragment`, `Text`, `Comment` and "
        "`DocumentType` are gone (importing them raises `ImportError`), `html()` returns a `str`, and "
        "components return a `Template`. The reverse holds too: a project pinned to an older tdom cannot "
        "import names added later (`svg` in 0.1.15, `Scope`/`ScopedTemplate` in 0.1.17)."
    ),
    bad="""
from tdom import Node, html

def Card(*, title: str) -> Node:
    return html(t"<h2>{title}</h2>")
""",
    good="""
from string.templatelib import Template

def Card(*, title: str) -> Template:
    return t"<h2>{title}</h2>"
""",
    static_note=(
        "The tdom version comes from the settings, the project's virtual environment or its "
        "`pyproject.toml`; an unknown version counts as current. The fix rewrites annotations "
        "(`Template` for components and `children`, `str` for rendered HTML) and drops the imports; other "
        "uses (`isinstance(x, Node)`) are reported for a hand fix."
    ),
)
def tdom003_node_era_api(mod: ModuleContext, index: ProjectIndex) -> Iterator[DomainIssue]:
    """Node-era names on current tdom, or newer names on a pinned old tdom."""
    if "tdom" not in mod.source:
        return
    version = index.tdom_version
    if _modern(index):
        for _statement, alias in _tdom_imports(mod):
            name = mod.code(alias.name)
            if name in NODE_SHORT:
                yield mod.issue(
                    "TDOM003",
                    alias,
                    f"`{name}` no longer exists in tdom ≥ 0.1.16 ({_version_text(index)}): `html()` "
                    "returns a `str` and components return a `Template`; drop the import and annotate "
                    "with `Template` (components, `children`) or `str` (rendered HTML).",
                    suggestion=f"remove `{name}` from the import",
                )
        for ref in _node_references(mod):
            yield mod.issue(
                "TDOM003",
                ref,
                f"`{mod.code(ref)}` is Node-era tdom API, gone since 0.1.16 ({_version_text(index)}): use "
                "`Template` for what a component returns or receives as `children`, `str` for what "
                "`html()` returns.",
                suggestion=_node_replacement(mod, ref, index) or "Template",
            )
    elif version is not None:
        for _statement, alias in _tdom_imports(mod):
            name = mod.code(alias.name)
            since = NEWER_API.get(name)
            if since is not None and version < since:
                yield mod.issue(
                    "TDOM003",
                    alias,
                    f"`{name}` does not exist in {_version_text(index)} (added in tdom "
                    f"{'.'.join(map(str, since))}): upgrade tdom (and port the Node-era code) or do without "
                    f"`{name}`.",
                )


def _node_replacement(mod: ModuleContext, ref: cst.BaseExpression, index: ProjectIndex) -> str | None:
    """`Template` or `str` for a Node-era name inside an annotation; None elsewhere."""
    annotation = _enclosing_annotation(mod, ref)
    if annotation is None:
        return None
    holder = mod.parents.get(annotation)
    if isinstance(holder, cst.FunctionDef):
        return "Template" if _is_component_function(mod, holder, index) else "str"
    if isinstance(holder, cst.Param) and holder.name.value == "children":
        return "Template"
    if isinstance(holder, cst.AnnAssign) and mod.code(holder.target) in ("children", "self.children"):
        return "Template"
    return "str"


def _is_component_function(mod: ModuleContext, func: cst.FunctionDef, index: ProjectIndex) -> bool:
    if func.name.value == "__call__" or func.name.value[:1].isupper():
        return True
    facts = module_facts(mod)
    spec = project_facts(index).components.get(f"{facts.name}.{func.name.value}")
    return spec is not None and spec.used_as_tag


@fixer_for("TDOM003")
def tdom003_fix(mod: ModuleContext, index: ProjectIndex) -> cst.Module:
    """Annotate with `Template`/`str` instead of Node-era classes and drop their imports."""
    if not _modern(index):
        return mod.module
    edits: dict[int, Any] = {}
    needs_template = False
    unfixed: set[str] = set()
    for ref in _node_references(mod):
        replacement = _node_replacement(mod, ref, index)
        annotation = _enclosing_annotation(mod, ref)
        if replacement is None or annotation is None:
            unfixed.add(ref.value if isinstance(ref, cst.Name) else "")
            continue
        needs_template |= replacement == "Template"
        edits[id(annotation)] = annotation.with_changes(annotation=cst.Name(replacement))
    by_statement: dict[int, tuple[cst.ImportFrom, list[cst.ImportAlias]]] = {}
    for statement, alias in _tdom_imports(mod):
        local = alias.asname.name if alias.asname else alias.name
        if mod.code(alias.name) in NODE_SHORT and not (
            isinstance(local, cst.Name) and local.value in unfixed
        ):
            by_statement.setdefault(id(statement), (statement, []))[1].append(alias)
    for statement, dropped in by_statement.values():
        assert not isinstance(statement.names, cst.ImportStar)
        kept = [a for a in statement.names if a not in dropped]
        if kept:
            kept[-1] = kept[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
            edits[id(statement)] = statement.with_changes(names=kept)
        else:
            edits[id(statement)] = cst.RemovalSentinel.REMOVE
    _remove_empty_lines(mod, edits)
    return _apply(mod, edits, [("string.templatelib", "Template", None)] if needs_template else [])


def _enclosing_annotation(mod: ModuleContext, node: cst.CSTNode) -> cst.Annotation | None:
    current: cst.CSTNode | None = node
    while current is not None and not isinstance(current, cst.BaseStatement):
        if isinstance(current, cst.Annotation):
            return current
        current = mod.parents.get(current)
    return None


def _remove_empty_lines(mod: ModuleContext, edits: dict[int, Any]) -> None:
    """Remove a whole statement line when every small statement on it is being removed."""

    class Visitor(cst.CSTVisitor):
        def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> bool:
            if node.body and all(edits.get(id(s)) is cst.RemovalSentinel.REMOVE for s in node.body):
                edits[id(node)] = cst.RemovalSentinel.REMOVE
            return False

    visit_fast(mod.module, Visitor())


# ---------------------------------------------------------------------------------------------------------
# TDOM004: interpolating rendered HTML
# ---------------------------------------------------------------------------------------------------------


def _nested_renders(mod: ModuleContext) -> list[tuple[cst.TemplatedStringExpression, _Render]]:
    renders = {id(r.call): r for r in _renders(mod)}
    if not renders:
        return []
    found = []
    for markup in _markups(mod):
        for expr in markup.exprs:
            render = renders.get(id(expr.expression))
            if render is not None:
                found.append((expr, render))
    return found


@rule(
    "TDOM004",
    severity="warning",
    title="Do not interpolate rendered HTML (`{html(body)}`); interpolate the template",
    fix="A",
    why=(
        "`html()` returns a `str`; interpolating that str into another template escapes it again, so "
        "the page shows `&lt;p&gt;` instead of markup. A nested `Template` is rendered in place: "
        "interpolate the template itself."
    ),
    bad="""
body = t"<p>{text}</p>"
page = html(t"<main>{html(body)}</main>")
""",
    good="""
body = t"<p>{text}</p>"
page = html(t"<main>{body}</main>")
""",
    static_note="Not checked on Node-era projects (tdom < 0.1.16), where `html()` returned a `Node`.",
)
def tdom004_nested_html(mod: ModuleContext, index: ProjectIndex) -> Iterator[DomainIssue]:
    """`{html(x)}` inside a t-string."""
    if not _modern(index):
        return
    for expr, render in _nested_renders(mod):
        arg = _template_arg(render.call)
        inner = mod.code(arg.value) if arg is not None else "…"
        yield mod.issue(
            "TDOM004",
            expr.expression,
            f"`{mod.code(expr.expression)}` renders to a `str` that the outer template escapes again: "
            f"interpolate the template itself, `{{{inner}}}`.",
            suggestion=f"{{{inner}}}",
        )


@fixer_for("TDOM004")
def tdom004_fix(mod: ModuleContext, index: ProjectIndex) -> cst.Module:
    """Interpolate the template instead of its rendering."""
    if not _modern(index):
        return mod.module
    edits: dict[int, Any] = {}
    for expr, render in _nested_renders(mod):
        arg = _template_arg(render.call)
        if arg is not None:
            edits[id(expr.expression)] = arg.value
    return _apply(mod, edits, drop_unused=_render_imports(mod))


# ---------------------------------------------------------------------------------------------------------
# TDOM005: positional parameters
# ---------------------------------------------------------------------------------------------------------


def _positional_targets(
    mod: ModuleContext, index: ProjectIndex
) -> list[tuple[str, cst.FunctionDef, bool, list[cst.CSTNode]]]:
    """(component, signature function, is a method, offending params) for components needing positionals."""
    facts = module_facts(mod)
    project = project_facts(index)
    found = []
    for name, func in facts.functions.items():
        spec = project.components.get(f"{facts.name}.{name}")
        if (
            spec is None
            or not spec.signature_known
            or not (spec.used_as_tag or (spec.by_shape and name[:1].isupper()))
        ):
            continue
        bad = _positional_params(func.params, skip_self=False)
        if bad:
            found.append((name, func, False, bad))
    for name, klass in facts.classes.items():
        spec = project.components.get(f"{facts.name}.{name}")
        init = method(klass, "__init__")
        if spec is None or not spec.used_as_tag or init is None:
            continue
        bad = _positional_params(init.params, skip_self=True)
        if bad:
            found.append((name, init, True, bad))
    return found


def _positional_params(params: cst.Parameters, *, skip_self: bool) -> list[cst.CSTNode]:
    posonly = list(params.posonly_params)
    if skip_self and posonly:
        posonly = posonly[1:]
    bad: list[cst.CSTNode] = [p for p in posonly if p.default is None]
    if isinstance(params.star_arg, cst.Param):
        bad.append(params.star_arg)
    return bad


@rule(
    "TDOM005",
    severity="error",
    title="No required positional-only parameters or `*args` in a component",
    fix="A",
    why=(
        "tdom passes attributes as keywords only; it cannot know which value a positional parameter "
        "wants, so a component with a required positional-only parameter or `*args` raises "
        "`TypeError: Component callables cannot have required positional arguments`."
    ),
    bad="""
def Card(title: str, /) -> Template:
    return t"<h2>{title}</h2>"
""",
    good="""
def Card(*, title: str) -> Template:
    return t"<h2>{title}</h2>"
""",
    static_note=(
        "Checks functions and classes interpolated as tags, and PascalCase functions returning a "
        "`Template`. The fix makes positional-only parameters keyword-only and drops an unused `*args`."
    ),
)
def tdom005_positional_params(mod: ModuleContext, index: ProjectIndex) -> Iterator[DomainIssue]:
    """Required positional-only parameters and `*args` on components."""
    for name, _func, _is_method, bad in _positional_targets(mod, index):
        for param in bad:
            assert isinstance(param, cst.Param)
            label = f"*{param.name.value}" if _is_star(param) else param.name.value
            yield mod.issue(
                "TDOM005",
                param,
                f"Component `{name}` takes `{label}` positionally, but tdom passes attributes only as "
                "keywords (and raises `TypeError`): make it keyword-only (`*, name`)"
                + (" and drop `*args`." if _is_star(param) else "."),
                suggestion=f"def {name}(*, …)",
            )


def _is_star(param: cst.Param) -> bool:
    return param.star == "*"


def _uses_name(node: cst.CSTNode, name: str) -> bool:
    class Visitor(cst.CSTVisitor):
        found = False

        def visit_Name(self, node: cst.Name) -> None:
            if node.value == name:
                Visitor.found = True

    visit_fast(node, Visitor())
    return Visitor.found


@fixer_for("TDOM005")
def tdom005_fix(mod: ModuleContext, index: ProjectIndex) -> cst.Module:
    """Make positional-only parameters keyword-only; drop an unused `*args`."""
    edits: dict[int, Any] = {}
    for _name, func, is_method, _bad in _positional_targets(mod, index):
        params = func.params
        posonly = list(params.posonly_params)
        keep = posonly[:1] if is_method and posonly else []
        moved = posonly[1:] if is_method and posonly else posonly
        star = params.star_arg
        if isinstance(star, cst.Param) and _uses_name(func.body, star.name.value):
            new_star: Any = star.with_changes(comma=cst.MaybeSentinel.DEFAULT)
        else:
            new_star = cst.MaybeSentinel.DEFAULT
        kwonly = [p.with_changes(comma=cst.MaybeSentinel.DEFAULT) for p in (*moved, *params.kwonly_params)]
        if kwonly and not isinstance(new_star, cst.Param):
            new_star = cst.ParamStar()
        regular = [p.with_changes(comma=cst.MaybeSentinel.DEFAULT) for p in (*keep, *params.params)]
        new_params = params.with_changes(
            posonly_params=[],
            posonly_ind=cst.MaybeSentinel.DEFAULT,
            params=regular,
            star_arg=new_star,
            kwonly_params=kwonly,
            star_kwarg=params.star_kwarg.with_changes(comma=cst.MaybeSentinel.DEFAULT)
            if params.star_kwarg is not None
            else None,
        )
        edits[id(params)] = new_params
    return _apply(mod, edits)


# ---------------------------------------------------------------------------------------------------------
# Component tags (TDOM006, TDOM007, TDOM008)
# ---------------------------------------------------------------------------------------------------------


def _tag_uses(
    mod: ModuleContext, index: ProjectIndex
) -> Iterator[tuple[TemplateMarkup, MarkupTag, ComponentSpec]]:
    """Opening component tags whose component is one of the project's."""
    project = project_facts(index)
    for markup in _markups(mod):
        for tag in markup.tags:
            if tag.kind == "open" and tag.expr is not None:
                spec = project.component_for(mod, tag.expr.expression)
                if spec is not None:
                    yield markup, tag, spec


def _has_spread(tag: MarkupTag) -> bool:
    """A spread `{attrs}` or an expanded `data={…}`/`aria={…}` (names unknown statically)."""
    return any(a.name is None or (a.name in ("data", "aria") and a.value == "expr") for a in tag.attrs)


@rule(
    "TDOM006",
    severity="error",
    title="`children` is a declared keyword parameter; never passed as an attribute",
    fix="S",
    why=(
        "The content between `<{C}>` and `</{C}>` reaches a component only through a declared `children` "
        "parameter (a `Template`). Passing `children=` as an attribute raises `ValueError: The children "
        "attribute is reserved`, and content given to a component that declares no `children` is dropped "
        "without a word."
    ),
    bad="""
html(t"<{Card} children={body} />")
""",
    good="""
def Card(*, children: Template) -> Template:
    return t"<section>{children}</section>"

html(t"<{Card}>{body}</{Card}>")
""",
    static_note="Dropped children are reported only for components whose signature is known in the project.",
)
def tdom006_children(mod: ModuleContext, index: ProjectIndex) -> Iterator[DomainIssue]:
    """`children=` attributes, and content passed to components without `children`."""
    modern = _modern(index)
    for markup in _markups(mod):
        for tag in markup.tags:
            if tag.kind != "open" or tag.expr is None:
                continue
            for attr in tag.attrs:
                if attr.name is not None and attr.name.lower() == "children":
                    yield _markup_issue(
                        mod,
                        "TDOM006",
                        markup,
                        attr.start,
                        attr.end,
                        f"`children` passed as an attribute of `<{{{mod.code(tag.expr.expression)}}}>`: tdom "
                        "reserves it for the content between the tags; put the content between "
                        "`<{C}>` and `</{C}>` instead.",
                        suggestion="<{C}>…</{C}>",
                    )
    project = project_facts(index)
    for markup in _markups(mod):
        for opener, closer in markup.pairs():
            if closer is None or opener.expr is None:
                continue
            spec = project.component_for(mod, opener.expr.expression)
            if spec is None or not spec.signature_known or spec.accepts_children:
                continue
            if not modern and spec.accepts_kwargs:
                continue
            if not markup.flat[opener.end : closer.start].strip():
                continue
            yield _markup_issue(
                mod,
                "TDOM006",
                markup,
                opener.start,
                opener.end,
                f"`{spec.name}` receives content between its tags but declares no `children` parameter, so "
                f"tdom drops the content: add `children: Template` to `{spec.name}` or use "
                f"`<{{{spec.name}}} />`.",
                suggestion='children: Template = t""',
            )


@rule(
    "TDOM007",
    severity="error",
    title="Attributes used in a tag match the component's parameters (kebab → snake) unless it takes "
    "`**kwargs`; required parameters are supplied",
    fix="S",
    why=(
        "tdom turns each attribute into a keyword argument (`data-id` → `data_id`). An attribute with no "
        "matching parameter raises `ValueError: Unexpected attribute` (unless the component takes "
        "`**kwargs`), and a required parameter left out raises `TypeError: Missing required parameters`."
    ),
    bad="""
def Link(*, href: str, children: Template) -> Template:
    return t'<a href="{href}">{children}</a>'

html(t'<{Link} url="/">Home</{Link}>')
""",
    good="""
html(t'<{Link} href="/">Home</{Link}>')
""",
    static_note=(
        "Only components defined in the project are checked, across files. Spread attributes (`{attrs}`, "
        "`data={…}`) and unknown base classes switch the checks off for that tag. `Inject[...]` parameters "
        "are supplied by the container. On Node-era tdom (< 0.1.16) unknown attributes were ignored, so "
        "only missing parameters are reported there."
    ),
)
def tdom007_attributes(mod: ModuleContext, index: ProjectIndex) -> Iterator[DomainIssue]:
    """Unknown attributes and missing required parameters on component tags."""
    modern = _modern(index)
    for markup, tag, spec in _tag_uses(mod, index):
        if not spec.signature_known:
            continue
        supplied: set[str] = set()
        for attr in tag.attrs:
            if attr.name is None or PLACEHOLDER in attr.name:
                continue
            snake = attr.name.replace("-", "_").lower()
            supplied.add(snake)
            if snake == "children" or not modern or spec.accepts_kwargs or spec.prop(attr.name) is not None:
                continue
            if any(p.kind == "positional_only" and p.name.lower() == snake for p in spec.props):
                continue  # TDOM005 reports the positional-only parameter itself
            if attr.name in ("data", "aria") and attr.value == "expr":
                continue
            names = [p.name for p in spec.props if p.kind != "positional_only"]
            close = difflib.get_close_matches(snake, names, n=1)
            hint = f"did you mean `{close[0]}`? " if close else ""
            yield _markup_issue(
                mod,
                "TDOM007",
                markup,
                attr.start,
                attr.name_end,
                f"`{spec.name}` has no parameter `{snake}` for attribute `{attr.name}` (tdom raises "
                f"`ValueError: Unexpected attribute`): {hint}its parameters are "
                f"{', '.join(f'`{n}`' for n in names) or 'none'}; or accept `**kwargs`.",
                suggestion=f"{close[0]}=…" if close else None,
            )
        if _has_spread(tag):
            continue
        missing = [
            p.name
            for p in spec.props
            if p.required and p.kind != "positional_only" and p.name.lower() not in supplied
        ]
        if missing:
            listed = ", ".join(f"`{m}`" for m in missing)
            yield _markup_issue(
                mod,
                "TDOM007",
                markup,
                tag.start,
                tag.name_end,
                f"`<{{{spec.name}}}>` does not supply required parameter(s) {listed} (tdom raises "
                "`TypeError: Missing required parameters`): add the attribute(s) or give the parameter(s) "
                "defaults.",
                suggestion=" ".join(f'{m.replace("_", "-")}="…"' for m in missing),
            )


@dataclass(frozen=True)
class _TagProblem:
    kind: str
    """`bare-open`, `bare-close`, `mismatch`, `stray` or `unclosed`."""
    tag: MarkupTag
    opener: MarkupTag | None = None


def _bare_component(facts: ModuleFacts, project: ProjectFacts, name: str | None) -> bool:
    """A literal tag name that is a Python component bound in this module (`<Card>`)."""
    if not name or not name[:1].isupper() or not name.isidentifier():
        return False
    qualified = facts.imports.get(name)
    if qualified is None and (name in facts.functions or name in facts.classes):
        qualified = f"{facts.name}.{name}"
    if qualified is None:
        return False
    resolved = project.resolve(qualified)
    return resolved in project.components if resolved else name in facts.imports


def _tag_problems(mod: ModuleContext, project: ProjectFacts, markup: TemplateMarkup) -> list[_TagProblem]:
    facts = module_facts(mod)
    problems: list[_TagProblem] = []
    stack: list[MarkupTag] = []
    for tag in markup.tags:
        bare = tag.expr is None and _bare_component(facts, project, tag.name)
        if tag.kind == "open":
            if tag.expr is None and not bare:
                continue
            if bare:
                problems.append(_TagProblem("bare-open", tag))
            if tag.complete and not tag.self_closing:
                stack.append(tag)
            continue
        if tag.expr is None and not bare:
            top = stack[-1] if stack else None
            if top is None or top.expr is None or tag.name != _last_segment(mod, top.expr.expression):
                continue
        if not stack:
            problems.append(_TagProblem("stray", tag))
            continue
        opener = stack.pop()
        if tag.expr is None:
            problems.append(_TagProblem("bare-close", tag, opener))
        elif (opener.expr is not None and not opener.expr.expression.deep_equals(tag.expr.expression)) or (
            opener.expr is None and mod.code(tag.expr.expression) != opener.name
        ):
            problems.append(_TagProblem("mismatch", tag, opener))
    problems.extend(_TagProblem("unclosed", tag) for tag in stack)
    return problems


def _last_segment(mod: ModuleContext, expr: cst.BaseExpression) -> str:
    return mod.code(expr).rsplit(".", 1)[-1]


def _tag_label(mod: ModuleContext, tag: MarkupTag) -> str:
    inner = f"{{{mod.code(tag.expr.expression)}}}" if tag.expr is not None else (tag.name or "")
    return f"</{inner}>" if tag.kind == "close" else f"<{inner}>"


@rule(
    "TDOM008",
    severity="error",
    title="Tag syntax `<{C}>…</{C}>` or `<{C} />`; the closing tag repeats the same component",
    fix="A",
    why=(
        "A component tag interpolates the callable: `<{Card}>`. A bare `<Card>` is an unknown HTML "
        "element, so the component never runs; a closing tag must repeat the same interpolation "
        "(`</{Card}>`), otherwise tdom raises on mismatched or unclosed tags."
    ),
    bad="""
html(t"<{Card} title='x'>body</Card>")
""",
    good="""
html(t"<{Card} title='x'>body</{Card}>")
""",
    static_note=(
        "Bare `<Card>` is recognised when `Card` is a component bound in the module. Unclosed and stray "
        "component tags are reported for a hand fix."
    ),
)
def tdom008_tag_syntax(mod: ModuleContext, index: ProjectIndex) -> Iterator[DomainIssue]:
    """Bare component tags, mismatched, stray and unclosed component tags."""
    project = project_facts(index)
    for markup in _markups(mod):
        for problem in _tag_problems(mod, project, markup):
            tag = problem.tag
            label = _tag_label(mod, tag)
            opener = _tag_label(mod, problem.opener) if problem.opener else ""
            expected = f"</{{{_opener_code(mod, problem.opener)}}}>" if problem.opener else ""
            messages = {
                "bare-open": (
                    f"`{label}` is a literal tag, not the component `{tag.name}`: interpolate it, "
                    f"`<{{{tag.name}}} …>`.",
                    f"<{{{tag.name}}}",
                ),
                "bare-close": (
                    f"`{label}` does not close `{opener}`: the closing tag repeats the interpolation, "
                    f"`{expected}`.",
                    expected,
                ),
                "mismatch": (
                    f"`{label}` closes `{opener}` with a different component (tdom raises): "
                    f"write `{expected}`.",
                    expected,
                ),
                "stray": (f"`{label}` closes a component tag that was never opened: remove it.", None),
                "unclosed": (
                    f"`{label}` is never closed: add `</{{{_opener_code(mod, tag)}}}>` after its content, or "
                    "self-close it with `/>`.",
                    None,
                ),
            }
            message, suggestion = messages[problem.kind]
            yield _markup_issue(mod, "TDOM008", markup, tag.start, tag.end, message, suggestion)


def _opener_code(mod: ModuleContext, tag: MarkupTag | None) -> str:
    if tag is None:
        return ""
    return mod.code(tag.expr.expression) if tag.expr is not None else tag.name or ""


@fixer_for("TDOM008")
def tdom008_fix(mod: ModuleContext, index: ProjectIndex) -> cst.Module:
    """Interpolate bare component tags and make closing tags repeat their opening component."""
    project = project_facts(index)
    edits: dict[int, Any] = {}
    for markup in _markups(mod):
        changes: list[tuple[int, int, Sequence[str | cst.BaseExpression]]] = []
        for problem in _tag_problems(mod, project, markup):
            tag, opener = problem.tag, problem.opener
            if problem.kind == "bare-open" and tag.name:
                changes.append((tag.name_start, tag.name_end, [cst.Name(tag.name)]))
            elif problem.kind in ("bare-close", "mismatch") and opener is not None:
                target = opener.expr.expression if opener.expr is not None else cst.Name(opener.name or "")
                changes.append((tag.name_start, tag.name_end, [target.deep_clone()]))
        if changes:
            edits[id(markup.node)] = _edit_tstring(markup, changes)
    return _apply(mod, edits)


# ---------------------------------------------------------------------------------------------------------
# TDOM009: class components
# ---------------------------------------------------------------------------------------------------------


def _inherited_call(project: ProjectFacts, spec: ComponentSpec, seen: set[str]) -> bool | None:
    """Whether a project base class defines `__call__` (None when a base is unknown)."""
    for base in spec.bases:
        resolved = project.resolve(base)
        found = project.class_definition(resolved)
        if found is None:
            return None
        base_mod, klass = found
        if method(klass, "__call__") is not None:
            return True
        qualified = f"{module_facts(base_mod).name}.{klass.name.value}"
        if qualified in seen:
            continue
        inherited = _inherited_call(project, class_spec(base_mod, klass), seen | {qualified})
        if inherited is None or inherited:
            return inherited
    return False


@rule(
    "TDOM009",
    severity="error",
    title="A class component's `__call__` takes only `self` and returns a Template",
    fix="S",
    why=(
        "tdom builds a class component with the attributes as constructor keywords, then calls the "
        "instance with no arguments: `Card(title='x')()`. A class without `__call__`, a `__call__` "
        "needing more arguments, an `async def __call__` or one that returns nothing makes tdom raise."
    ),
    bad="""
@dataclass
class Greeting:
    name: str

    def __call__(self, request) -> Template:
        return t"<p>Hello {self.name}</p>"
""",
    good="""
@dataclass
class Greeting:
    name: str
    request: Inject[Request]

    def __call__(self) -> Template:
        return t"<p>Hello {self.name}</p>"
""",
    static_note="Checks classes interpolated as tags somewhere in the project.",
)
def tdom009_class_call(mod: ModuleContext, index: ProjectIndex) -> Iterator[DomainIssue]:
    """Class components without a usable `__call__(self) -> Template`."""
    facts = module_facts(mod)
    project = project_facts(index)
    for name, klass in facts.classes.items():
        spec = project.components.get(f"{facts.name}.{name}")
        if spec is None or not spec.used_as_tag:
            continue
        call = method(klass, "__call__")
        if call is None:
            if _inherited_call(project, spec, {spec.qualified_name}) is False:
                yield mod.issue(
                    "TDOM009",
                    klass.name,
                    f"Class component `{name}` has no `__call__`: tdom instantiates it and then calls the "
                    "instance, so add `def __call__(self) -> Template`.",
                    suggestion="def __call__(self) -> Template: ...",
                )
            continue
        if call.asynchronous is not None:
            yield mod.issue(
                "TDOM009",
                call.name,
                f"`{name}.__call__` is `async`: tdom calls it synchronously and gets a coroutine; make it a "
                "plain `def __call__(self) -> Template` and load data before rendering.",
            )
        params = call.params
        extra = [*params.posonly_params, *params.params][1:] + list(params.kwonly_params)
        for param in extra:
            if param.default is None:
                yield mod.issue(
                    "TDOM009",
                    param,
                    f"`{name}.__call__` requires `{param.name.value}`, but tdom calls the instance with no "
                    f"arguments: make `{param.name.value}` a field (a prop, or `Inject[...]` for a service).",
                    suggestion="def __call__(self) -> Template",
                )
        if (
            not any(r.value is not None for r in returns_of(mod, call))
            and id(call) not in module_facts(mod).yields
        ):
            yield mod.issue(
                "TDOM009",
                call.name,
                f'`{name}.__call__` returns nothing; tdom needs a `Template`: `return t"…"`.',
                suggestion='return t"…"',
            )


# ---------------------------------------------------------------------------------------------------------
# TDOM010: JSX and Jinja habits
# ---------------------------------------------------------------------------------------------------------

_JSX_RENAMES = {"className": "class", "htmlFor": "for"}


def _habits(mod: ModuleContext) -> Iterator[tuple[TemplateMarkup, int, int, str, str | None]]:
    """(markup, start, end, message, replacement attribute name) for each JSX/Jinja habit."""
    for markup in _markups(mod):
        if not markup.tags:
            continue
        for tag in markup.tags:
            if tag.kind != "open" or tag.expr is not None or markup.is_component_tag(tag):
                continue
            for attr in tag.attrs:
                name = attr.name
                if name is None:
                    continue
                if name in _JSX_RENAMES:
                    yield (
                        markup,
                        attr.start,
                        attr.name_end,
                        f"`{name}` is JSX; in HTML the attribute is `{_JSX_RENAMES[name]}`.",
                        _JSX_RENAMES[name],
                    )
                elif attr.value == "expr" and (
                    _JSX_EVENT.match(name) or (name.lower().startswith("on") and _is_lambda(attr.exprs[0]))
                ):
                    yield (
                        markup,
                        attr.start,
                        attr.end,
                        f"`{name}={{…}}` is a JSX event handler: tdom renders the value as text and binds no "
                        'Python function; write JavaScript in a lowercase attribute (`onclick="…"`) or '
                        "use a script.",
                        None,
                    )
        spans = _text_spans(markup)
        for start, end in spans:
            segment = markup.flat[start:end]
            for pattern, what in ((_JINJA_EXPR, "expression"), (_JINJA_BLOCK, "block")):
                for match in pattern.finditer(segment):
                    yield (
                        markup,
                        start + match.start(),
                        start + match.end(),
                        f"`{match.group(0)}` is a Jinja {what}, which a t-string renders literally: use a "
                        "single-brace interpolation `{value}`, and Python (a comprehension, a conditional "
                        "expression) for loops and branches.",
                        None,
                    )


def _is_lambda(expr: cst.TemplatedStringExpression) -> bool:
    return isinstance(expr.expression, cst.Lambda)


def _text_spans(markup: TemplateMarkup) -> list[tuple[int, int]]:
    """Offsets of the flat text outside raw-text element contents."""
    spans: list[tuple[int, int]] = []
    position = 0
    for start, end in sorted(markup.raw_spans):
        if start > position:
            spans.append((position, start))
        position = max(position, end)
    if position < len(markup.flat):
        spans.append((position, len(markup.flat)))
    return spans


@rule(
    "TDOM010",
    severity="warning",
    title="No JSX or Jinja habits in templates: `className`, `onClick=`, `{{ x }}`, `{% … %}`",
    fix="A",
    why=(
        "tdom templates are HTML with Python interpolations. `className` and `htmlFor` are React's names "
        "for `class` and `for`; `onClick={handler}` binds nothing (the function is rendered as text); "
        "`{{ x }}` and `{{% for %}}` in a t-string are literal braces, not Jinja."
    ),
    bad="""
t'<button className="primary" onClick={save}>{{ label }}</button>'
""",
    good="""
t'<button class="primary" onclick="save()">{label}</button>'
""",
    static_note="Only `className`/`htmlFor` are fixed automatically; the rest needs a hand rewrite.",
)
def tdom010_jsx_jinja(mod: ModuleContext, index: ProjectIndex) -> Iterator[DomainIssue]:
    """JSX attribute names, JSX event handlers and Jinja syntax in t-strings."""
    for markup, start, end, message, replacement in _habits(mod):
        yield _markup_issue(mod, "TDOM010", markup, start, end, message, replacement)


@fixer_for("TDOM010")
def tdom010_fix(mod: ModuleContext, index: ProjectIndex) -> cst.Module:
    """Rename `className` → `class` and `htmlFor` → `for`."""
    changes: dict[int, tuple[TemplateMarkup, list[tuple[int, int, Sequence[str | cst.BaseExpression]]]]] = {}
    for markup, start, end, _message, replacement in _habits(mod):
        if replacement is not None:
            changes.setdefault(id(markup.node), (markup, []))[1].append((start, end, [replacement]))
    edits = {key: _edit_tstring(markup, items) for key, (markup, items) in changes.items()}
    return _apply(mod, edits)


# ---------------------------------------------------------------------------------------------------------
# TDOM011: raw-text elements and declarations
# ---------------------------------------------------------------------------------------------------------


def _template_like(mod: ModuleContext, expr: cst.BaseExpression) -> str | None:
    """How `expr` is a Template or a list (None when it may be a plain value)."""
    if isinstance(expr, cst.TemplatedString):
        return "a t-string"
    if isinstance(expr, (cst.List, cst.ListComp, cst.GeneratorExp, cst.Tuple, cst.Set, cst.SetComp)):
        return "a list"
    if isinstance(expr, cst.Name):
        return _name_is_template(mod, expr)
    if (
        isinstance(expr, cst.Attribute)
        and isinstance(expr.value, cst.Name)
        and expr.value.value == "self"
        and (klass := _class_of(mod, expr)) is not None
    ):
        for small, _spec in dataclass_fields(mod, klass):
            if mod.code(small.target) == expr.attr.value and annotation_is(
                mod, small.annotation, TEMPLATE_NAMES
            ):
                return f"`self.{expr.attr.value}`, a `Template`"
    return None


def _name_is_template(mod: ModuleContext, name: cst.Name) -> str | None:
    scope = mod.scopes.get(name)
    if scope is None:
        return None
    assignments = list(scope[name.value])
    if not assignments:
        return None
    for assignment in assignments:
        node = getattr(assignment, "node", None)
        if isinstance(node, cst.Param):
            if not annotation_is(mod, node.annotation, TEMPLATE_NAMES):
                return None
            continue
        parent = mod.parents.get(node) if node is not None else None
        holder = mod.parents.get(parent) if isinstance(parent, cst.AssignTarget) else parent
        if isinstance(holder, cst.Assign) and isinstance(holder.value, cst.TemplatedString):
            continue
        if isinstance(holder, cst.AnnAssign) and annotation_is(mod, holder.annotation, TEMPLATE_NAMES):
            continue
        return None
    return f"`{name.value}`, a `Template`"


@rule(
    "TDOM011",
    severity="error",
    title="No Template or list interpolation inside `<script>`/`<style>`/`<textarea>`/`<title>`, none in "
    "`<!DOCTYPE>`",
    fix="S",
    why=(
        "The content of `<script>`, `<style>`, `<textarea>` and `<title>` is raw text: tdom accepts only "
        "plain values there and raises `Recursive includes are not supported` for a nested `Template` or "
        "a list. An interpolation inside `<!DOCTYPE …>` raises `ValueError`."
    ),
    bad="""
t"<title>{t'<b>{name}</b>'}</title>"
""",
    good="""
t"<title>{name}</title>"
""",
    static_note=(
        "Values are judged by their literal form, a `Template` annotation, or a t-string assignment in "
        "the same scope; other variables are assumed to be plain values."
    ),
)
def tdom011_raw_text(mod: ModuleContext, index: ProjectIndex) -> Iterator[DomainIssue]:
    """Templates or lists in raw-text elements; interpolations in `<!DOCTYPE>`."""
    for markup in _markups(mod):
        for element, expr in markup.raw_interpolations:
            what = _template_like(mod, expr.expression)
            if what is not None:
                yield mod.issue(
                    "TDOM011",
                    expr.expression,
                    f"`{{{mod.code(expr.expression)}}}` puts {what} inside `<{element}>`, whose content is "
                    "raw text (tdom raises): interpolate a plain string there.",
                )
        for expr in markup.doctype_interpolations:
            yield mod.issue(
                "TDOM011",
                expr.expression,
                f"`{{{mod.code(expr.expression)}}}` inside `<!DOCTYPE>`: tdom rejects interpolations in "
                "declarations; write the doctype literally (`<!DOCTYPE html>`).",
                suggestion="<!DOCTYPE html>",
            )


# ---------------------------------------------------------------------------------------------------------
# TDOM012: trusted markup
# ---------------------------------------------------------------------------------------------------------


def _request_data(mod: ModuleContext, expr: cst.BaseExpression) -> str | None:
    """The request-derived part of `expr` (`request.form`), if any."""
    for node in _walk(expr):
        if isinstance(node, cst.Attribute) and node.attr.value in REQUEST_ATTRS:
            return mod.code(node)
        if isinstance(node, cst.Name) and node.value in REQUEST_ROOTS:
            return node.value
    return None


def _walk(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """`node` and its descendants, depth first (small expressions only)."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(code_children(current)))


@rule(
    "TDOM012",
    severity="warning",
    title="`:safe` / `Markup()` only on trusted constants, not on request data",
    fix="S",
    why=(
        "`{value:safe}` and `Markup(value)` switch escaping off: whatever the value holds reaches the page "
        "as markup. On request data (query strings, form fields, cookies) that is cross-site scripting."
    ),
    bad="""
t"<div>{request.args['bio']:safe}</div>"
""",
    good="""
t"<div>{request.args['bio']}</div>"
""",
    static_note=(
        "Request data is recognised by name: values built from `request`/`req` or from `.form`, "
        "`.query_params`, `.path_params`, `.GET`, `.POST`, `.cookies`, `.query_string`. Values reaching a "
        "function through other parameters cannot be traced statically."
    ),
)
def tdom012_trusted_markup(mod: ModuleContext, index: ProjectIndex) -> Iterator[DomainIssue]:
    """`:safe` or `Markup()` applied to request data."""
    facts = module_facts(mod)
    if not _uses_tdom(facts):
        return
    for markup in _markups(mod):
        for expr in markup.exprs:
            spec = expr.format_spec
            if not spec or len(spec) != 1 or not isinstance(spec[0], cst.TemplatedStringText):
                continue
            if spec[0].value != "safe":
                continue
            source = _request_data(mod, expr.expression)
            if source is not None:
                yield mod.issue(
                    "TDOM012",
                    expr.expression,
                    f"`{{{mod.code(expr.expression)}:safe}}` trusts request data (`{source}`) as HTML: drop "
                    "`:safe` so tdom escapes it, or sanitise it first.",
                    suggestion=f"{{{mod.code(expr.expression)}}}",
                )
    markup_aliases = {local for local, target in facts.imports.items() if target in MARKUP_NAMES} | {"Markup"}
    for call in facts.calls:
        func = call.func
        spelled = (isinstance(func, cst.Name) and func.value in markup_aliases) or (
            isinstance(func, cst.Attribute) and func.attr.value == "Markup"
        )
        if not spelled or not call.args or not mod.refers_to(func, *MARKUP_NAMES):
            continue
        source = _request_data(mod, call.args[0].value)
        if source is not None:
            yield mod.issue(
                "TDOM012",
                call,
                f"`Markup(...)` marks request data (`{source}`) as safe HTML: pass the plain value and let "
                "tdom escape it, or sanitise it first.",
            )


# ---------------------------------------------------------------------------------------------------------
# TDOM013, TDOM014: rendering DI components
# ---------------------------------------------------------------------------------------------------------


def _di_renders(mod: ModuleContext, index: ProjectIndex) -> list[tuple[_Render, ComponentSpec]]:
    """Render calls that are missing the DI side: `tdom.html`, or `tdom_svcs.html` without a container."""
    project = project_facts(index)
    if not project.needs_container:
        return []
    keywords = ("container", "context")  # a legacy `context=` is TDOM014's finding
    found = []
    for render in _renders(mod):
        arg = _template_arg(render.call)
        if arg is None or not isinstance(arg.value, cst.TemplatedString):
            continue
        if render.svcs and _keyword(render.call, *keywords) is not None:
            continue
        markup = module_facts(mod).markup(arg.value)
        for tag in markup.tags:
            if tag.kind != "open" or tag.expr is None:
                continue
            spec = project.component_for(mod, tag.expr.expression)
            if spec is not None and spec.qualified_name in project.needs_container:
                found.append((render, spec))
                break
    return found


@rule(
    "TDOM013",
    severity="error",
    title="A component with `Inject[...]` is rendered with `tdom_svcs.html(..., container=…)`",
    fix="A",
    why=(
        "Only tdom-svcs's `html(template, container=…)` fills `Inject[T]` fields and parameters from the "
        "svcs container. tdom's own `html()`, or tdom-svcs without a container, calls the component without "
        "them and fails with `TypeError` naming the missing dependency."
    ),
    bad="""
from tdom import html

html(t"<{Dashboard} />")
""",
    good="""
from tdom_svcs import html

with Container(registry) as container:
    html(t"<{Dashboard} />", container=container)
""",
    static_note=(
        "Follows components rendered by components across the project. The fix switches the import to "
        "`tdom_svcs` and adds `container=` when exactly one container is in scope (a parameter or variable "
        "named `container`/`svcs_container`, or one built from `Container`/`HopscotchContainer`)."
    ),
)
def tdom013_di_rendering(mod: ModuleContext, index: ProjectIndex) -> Iterator[DomainIssue]:
    """DI components rendered by `tdom.html`, or by `tdom_svcs.html` without a container."""
    for render, spec in _di_renders(mod, index):
        keyword = "container" if _modern(index) else "context"
        deps = (
            ", ".join(f"`Inject[{t}]`" for t in spec.injected) or "it renders components with `Inject[...]`"
        )
        if render.svcs:
            message = (
                f"`{spec.name}` needs the DI container ({deps}), but `tdom_svcs.html` is called without "
                f"`{keyword}=`: pass the request's container, `html(..., {keyword}=container)`."
            )
        else:
            message = (
                f"`{spec.name}` needs the DI container ({deps}), but `{_render_label(render)}` cannot "
                f"inject: render with `tdom_svcs.html(..., {keyword}=container)`."
            )
        yield mod.issue("TDOM013", render.call.func, message, suggestion=f"html(..., {keyword}=container)")


def _container_candidates(mod: ModuleContext, call: cst.Call) -> set[str]:
    """Names of containers visible in the function around `call`."""
    func = _function_of(mod, call)
    if func is None:
        return set()
    names: set[str] = set()
    params = func.params
    for param in (*params.posonly_params, *params.params, *params.kwonly_params):
        if param.name.value in ("container", "svcs_container") or (
            param.annotation is not None and _is_container_type(mod, param.annotation.annotation)
        ):
            names.add(param.name.value)

    class Visitor(cst.CSTVisitor):
        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            return node is func

        def visit_WithItem(self, node: cst.WithItem) -> None:
            if (
                node.asname is not None
                and isinstance(node.asname.name, cst.Name)
                and isinstance(node.item, cst.Call)
                and _is_container_type(mod, node.item.func)
            ):
                names.add(node.asname.name.value)

        def visit_Assign(self, node: cst.Assign) -> None:
            if isinstance(node.value, cst.Call) and _is_container_type(mod, node.value.func):
                for target in node.targets:
                    if isinstance(target.target, cst.Name):
                        names.add(target.target.value)

    visit_fast(func, Visitor())
    return names


def _is_container_type(mod: ModuleContext, node: cst.BaseExpression) -> bool:
    return any(
        name == "svcs.Container" or name.endswith(".HopscotchContainer") for name in mod.qualified_names(node)
    )


@fixer_for("TDOM013")
def tdom013_fix(mod: ModuleContext, index: ProjectIndex) -> cst.Module:
    """Render through `tdom_svcs.html` and pass the container in scope."""
    edits: dict[int, Any] = {}
    imports: list[tuple[str, str | None, str | None]] = []
    keyword = "container" if _modern(index) else "context"
    import_edits: dict[int, tuple[cst.ImportFrom, set[str]]] = {}
    for render, _spec in _di_renders(mod, index):
        call = render.call
        func = call.func
        new_func: cst.BaseExpression = func
        if not render.svcs:
            if isinstance(func, cst.Name):
                statement = _import_binding(mod, func.value)
                if statement is None:
                    continue
                import_edits.setdefault(id(statement), (statement, set()))[1].add(func.value)
            else:
                new_func = cst.Attribute(value=cst.Name("tdom_svcs"), attr=cst.Name("html"))
                imports.append(("tdom_svcs", None, None))
        candidates = _container_candidates(mod, call)
        if _keyword(call, "container", "context") is None and len(candidates) == 1:
            args = list(call.args)
            if args and args[-1].comma is cst.MaybeSentinel.DEFAULT:
                args[-1] = args[-1].with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
            args.append(
                cst.Arg(
                    keyword=cst.Name(keyword),
                    value=cst.Name(next(iter(candidates))),
                    equal=cst.AssignEqual(
                        whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")
                    ),
                )
            )
            edits[id(call)] = call.with_changes(func=new_func, args=args)
        elif new_func is not func:
            edits[id(call)] = call.with_changes(func=new_func)
    for statement, locals_ in import_edits.values():
        assert not isinstance(statement.names, cst.ImportStar)
        moved = [a for a in statement.names if _alias_local(a) in locals_]
        kept = [a for a in statement.names if _alias_local(a) not in locals_]
        if not kept:
            edits[id(statement)] = statement.with_changes(module=cst.Name("tdom_svcs"))
            continue
        kept[-1] = kept[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        edits[id(statement)] = statement.with_changes(names=kept)
        for alias in moved:
            local = _alias_local(alias)
            imports.append(("tdom_svcs", "html", local if local != "html" else None))
    return _apply(mod, edits, imports)


def _alias_local(alias: cst.ImportAlias) -> str:
    local = alias.asname.name if alias.asname else alias.name
    return local.value if isinstance(local, cst.Name) else ""


def _import_binding(mod: ModuleContext, local: str) -> cst.ImportFrom | None:
    """The `from tdom import html [as local]` statement binding `local`."""
    for statement, alias in _tdom_imports(mod):
        if _alias_local(alias) == local and mod.code(alias.name) in ("html", "svg"):
            return statement
    return None


def _legacy_keywords(mod: ModuleContext, index: ProjectIndex) -> list[tuple[_Render, cst.Arg]]:
    if not _modern(index):
        return []
    found = []
    for render in _renders(mod):
        if not render.svcs:
            continue
        for arg in render.call.args:
            if arg.keyword is not None and arg.keyword.value in ("context", "config"):
                found.append((render, arg))
    return found


@rule(
    "TDOM014",
    severity="error",
    title="`tdom_svcs.html` takes `container=`, not the legacy `context=`/`config=`",
    fix="A",
    why=(
        "tdom-svcs's `html()` was `html(template, *, config=None, context=None)` in its Node-era releases; "
        "it is now `html(template, *, container=None)`. The old keywords raise `TypeError: unexpected "
        "keyword argument`."
    ),
    bad="""
from tdom_svcs import html

html(t"<{Dashboard} />", context=container)
""",
    good="""
from tdom_svcs import html

html(t"<{Dashboard} />", container=container)
""",
    static_note="Not checked on Node-era projects (tdom < 0.1.16), where `context=` was the keyword.",
)
def tdom014_legacy_keyword(mod: ModuleContext, index: ProjectIndex) -> Iterator[DomainIssue]:
    """`context=`/`config=` on `tdom_svcs.html`."""
    for _render, arg in _legacy_keywords(mod, index):
        assert arg.keyword is not None
        yield mod.issue(
            "TDOM014",
            arg.keyword,
            f"`tdom_svcs.html(..., {arg.keyword.value}=…)` is the legacy signature; the keyword is now "
            "`container=` (the svcs container).",
            suggestion=f"container={mod.code(arg.value)}",
        )


@fixer_for("TDOM014")
def tdom014_fix(mod: ModuleContext, index: ProjectIndex) -> cst.Module:
    """Rename `context=` to `container=`; drop `config=` when a container is already passed."""
    edits: dict[int, Any] = {}
    calls: dict[int, cst.Call] = {}
    for render, _arg in _legacy_keywords(mod, index):
        calls[id(render.call)] = render.call
    for call in calls.values():
        has_container = _keyword(call, "container", "context") is not None
        args: list[cst.Arg] = []
        for arg in call.args:
            name = arg.keyword.value if arg.keyword is not None else None
            if name == "context" or (name == "config" and not has_container):
                args.append(arg.with_changes(keyword=cst.Name("container")))
                has_container = True
            elif name != "config":
                args.append(arg)
        if args and call.args and call.args[-1].comma is cst.MaybeSentinel.DEFAULT:
            args[-1] = args[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        edits[id(call)] = call.with_changes(args=args)
    return _apply(mod, edits)


# ---------------------------------------------------------------------------------------------------------
# TDOM015: dataclass field order
# ---------------------------------------------------------------------------------------------------------


def _kw_only(decorator: cst.Decorator) -> bool:
    inner = decorator.decorator
    return isinstance(inner, cst.Call) and _keyword_true(inner, "kw_only")


@dataclass(frozen=True)
class _OrderProblem:
    klass: cst.ClassDef
    field: cst.AnnAssign
    after: str
    """The defaulted field it follows (`Base.title` for an inherited one)."""
    inherited: bool


def _field_order_problems(mod: ModuleContext, index: ProjectIndex) -> list[_OrderProblem]:
    facts = module_facts(mod)
    problems: list[_OrderProblem] = []
    for klass in facts.classes.values():
        decorator = is_dataclass_class(mod, klass)
        if decorator is None or _kw_only(decorator):
            continue
        fields = _positional_fields(mod, klass)
        if not any(inject_type(mod, a.annotation.annotation) for a, _ in fields):
            continue
        inherited_after = _inherited_default(mod, index, klass)
        after = inherited_after
        for small, spec in fields:
            if spec.default is not None:
                after = after or spec.name
            elif after is not None:
                problems.append(_OrderProblem(klass, small, after, after == inherited_after))
    return problems


def _positional_fields(mod: ModuleContext, klass: cst.ClassDef) -> list[tuple[cst.AnnAssign, Any]]:
    """Fields before any `KW_ONLY` sentinel, without `field(kw_only=True)`."""
    fields = []
    body = klass.body.body if isinstance(klass.body, cst.IndentedBlock) else ()
    sentinel_seen = False
    field_specs = {id(a): s for a, s in dataclass_fields(mod, klass)}
    for statement in body:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if not isinstance(small, cst.AnnAssign):
                continue
            if mod.refers_to(small.annotation.annotation, "dataclasses.KW_ONLY"):
                sentinel_seen = True
            if sentinel_seen or id(small) not in field_specs:
                continue
            value = small.value
            if isinstance(value, cst.Call) and any(
                a.keyword is not None and a.keyword.value == "kw_only" for a in value.args
            ):
                continue
            fields.append((small, field_specs[id(small)]))
    return fields


def _inherited_default(mod: ModuleContext, index: ProjectIndex, klass: cst.ClassDef) -> str | None:
    """`Base.field` when a project dataclass base has a defaulted positional field."""
    project = project_facts(index)
    for arg in klass.bases:
        for name in sorted(_resolved(mod, arg.value)):
            resolved = project.resolve(name)
            found = project.class_definition(resolved)
            if found is None:
                continue
            base_mod, base = found
            decorator = is_dataclass_class(base_mod, base)
            if decorator is None or _kw_only(decorator):
                continue
            for _small, spec in _positional_fields(base_mod, base):
                if spec.default is not None:
                    return f"{base.name.value}.{spec.name}"
    return None


def _resolved(mod: ModuleContext, node: cst.BaseExpression) -> set[str]:
    return resolve_node(mod, node)


@rule(
    "TDOM015",
    severity="error",
    title="Dataclass field order: `Inject[T]` fields without defaults before defaulted props (or "
    "`kw_only=True`)",
    fix="A",
    why=(
        "A dataclass cannot have a field without a default after one with a default: the class "
        "definition itself raises `TypeError: non-default argument follows default argument`. DI "
        "components hit this when an `Inject[T]` field is added below the defaulted props."
    ),
    bad="""
@dataclass
class Header:
    title: str = "Home"
    users: Inject[Users]
""",
    good="""
@dataclass
class Header:
    users: Inject[Users]
    title: str = "Home"
""",
    static_note=(
        "Checks dataclasses with `Inject[...]` fields, including defaults inherited from project "
        "dataclasses. The fix moves the fields without defaults up; with an inherited default it adds "
        "`kw_only=True` instead."
    ),
)
def tdom015_field_order(mod: ModuleContext, index: ProjectIndex) -> Iterator[DomainIssue]:
    """Non-default fields after defaulted ones in DI dataclasses."""
    for problem in _field_order_problems(mod, index):
        name = mod.code(problem.field.target)
        yield mod.issue(
            "TDOM015",
            problem.field,
            f"Field `{name}` has no default but follows the defaulted `{problem.after}` in dataclass "
            f"`{problem.klass.name.value}` (class creation raises `TypeError`): move `{name}` above the "
            "defaulted fields, or use `@dataclass(kw_only=True)`.",
            suggestion="@dataclass(kw_only=True)" if problem.inherited else f"move `{name}` up",
        )


@fixer_for("TDOM015")
def tdom015_fix(mod: ModuleContext, index: ProjectIndex) -> cst.Module:
    """Move fields without defaults above the defaulted ones (or add `kw_only=True` when inherited)."""
    edits: dict[int, Any] = {}
    classes: dict[int, tuple[cst.ClassDef, bool]] = {}
    for problem in _field_order_problems(mod, index):
        previous = classes.get(id(problem.klass))
        classes[id(problem.klass)] = (
            problem.klass,
            problem.inherited or (previous is not None and previous[1]),
        )
    for klass, inherited in classes.values():
        decorator = is_dataclass_class(mod, klass)
        assert decorator is not None
        if inherited:
            edits[id(decorator)] = _with_kw_only(decorator)
            continue
        body = klass.body
        if not isinstance(body, cst.IndentedBlock):
            continue
        field_ids = {id(a) for a, _ in _positional_fields(mod, klass)}
        slots = [
            i
            for i, s in enumerate(body.body)
            if isinstance(s, cst.SimpleStatementLine) and len(s.body) == 1 and id(s.body[0]) in field_ids
        ]
        if len(slots) != len(field_ids):
            edits[id(decorator)] = _with_kw_only(decorator)
            continue
        statements = [body.body[i] for i in slots]
        ordered = sorted(statements, key=lambda s: _field_has_default(s))
        new_body = list(body.body)
        for slot, statement in zip(slots, ordered, strict=True):
            original = body.body[slot]
            assert isinstance(statement, cst.SimpleStatementLine)
            assert isinstance(original, cst.SimpleStatementLine)
            # Blank lines stay with the slot, comments travel with their field.
            blanks = [line for line in original.leading_lines if line.comment is None]
            comments = [line for line in statement.leading_lines if line.comment is not None]
            new_body[slot] = statement.with_changes(leading_lines=[*blanks, *comments])
        edits[id(body)] = body.with_changes(body=new_body)
    return _apply(mod, edits)


def _field_has_default(statement: cst.BaseStatement) -> bool:
    assert isinstance(statement, cst.SimpleStatementLine)
    small = statement.body[0]
    assert isinstance(small, cst.AnnAssign)
    value = small.value
    if value is None:
        return False
    if isinstance(value, cst.Call) and isinstance(value.func, (cst.Name, cst.Attribute)):
        func = value.func.value if isinstance(value.func, cst.Name) else value.func.attr.value
        if func == "field":
            return any(
                a.keyword is not None and a.keyword.value in ("default", "default_factory")
                for a in value.args
            )
    return True


def _with_kw_only(decorator: cst.Decorator) -> cst.Decorator:
    inner = decorator.decorator
    keyword = cst.Arg(
        keyword=cst.Name("kw_only"),
        value=cst.Name("True"),
        equal=cst.AssignEqual(
            whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")
        ),
    )
    if isinstance(inner, cst.Call):
        args = list(inner.args)
        if args and args[-1].comma is cst.MaybeSentinel.DEFAULT:
            args[-1] = args[-1].with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
        return decorator.with_changes(decorator=inner.with_changes(args=[*args, keyword]))
    return decorator.with_changes(decorator=cst.Call(func=inner, args=[keyword]))


# ---------------------------------------------------------------------------------------------------------
# TDOM016: override subclasses
# ---------------------------------------------------------------------------------------------------------


def _injectable(mod: ModuleContext, klass: cst.ClassDef) -> cst.Decorator | None:
    for decorator in klass.decorators:
        names = mod.qualified_names(decorator_target(decorator))
        if any(
            n.endswith(".injectable") and n.split(".", 1)[0] in ("svcs_di", "svcs_hopscotch") for n in names
        ):
            return decorator
    return None


@dataclass(frozen=True)
class _OverrideProblem:
    klass: cst.ClassDef
    kind: str
    """`fields` (adds or overrides fields without `@dataclass`) or `for_` (target is not a base)."""
    node: cst.CSTNode
    detail: str
    base_decorator: cst.Decorator | None = None
    target: cst.BaseExpression | None = None
    fixable: bool = True


def _override_problems(mod: ModuleContext, index: ProjectIndex) -> list[_OverrideProblem]:
    facts = module_facts(mod)
    project = project_facts(index)
    problems: list[_OverrideProblem] = []
    for klass in facts.classes.values():
        injectable = _injectable(mod, klass)
        if is_dataclass_class(mod, klass) is None:
            problem = _missing_dataclass(mod, project, klass, injectable)
            if problem is not None:
                problems.append(problem)
        if injectable is not None and isinstance(injectable.decorator, cst.Call):
            problem = _for_target_not_base(mod, project, klass, injectable.decorator)
            if problem is not None:
                problems.append(problem)
    return problems


def _base_classes(mod: ModuleContext, project: ProjectFacts, klass: cst.ClassDef) -> list[tuple[str, Any]]:
    """(qualified name, (module, ClassDef) or None) for each base."""
    found: list[tuple[str, Any]] = []
    for arg in klass.bases:
        if arg.keyword is not None:
            continue
        names = sorted(_resolved(mod, arg.value))
        resolved = next((r for n in names if (r := project.resolve(n))), None)
        found.append(
            (
                resolved or (names[0] if names else mod.code(arg.value)),
                project.class_definition(resolved),
            )
        )
    return found


def _missing_dataclass(
    mod: ModuleContext, project: ProjectFacts, klass: cst.ClassDef, injectable: cst.Decorator | None
) -> _OverrideProblem | None:
    for qualified, found in _base_classes(mod, project, klass):
        if found is None:
            continue
        base_mod, base = found
        base_decorator = is_dataclass_class(base_mod, base)
        if base_decorator is None:
            continue
        if injectable is None and qualified not in project.components:
            continue
        base_fields = {s.name for _, s in dataclass_fields(base_mod, base)}
        changed = _changed_fields(mod, klass, base_fields)
        if changed:
            return _OverrideProblem(
                klass,
                "fields",
                klass.name,
                f"`{klass.name.value}` subclasses dataclass `{base.name.value}` and sets "
                f"{', '.join(f'`{c}`' for c in changed)} without `@dataclass`, so the generated `__init__` "
                f"of `{base.name.value}` ignores them: decorate the subclass with `@dataclass` too.",
                base_decorator=base_decorator,
            )
    return None


def _changed_fields(mod: ModuleContext, klass: cst.ClassDef, base_fields: set[str]) -> list[str]:
    changed: list[str] = []
    body = klass.body.body if isinstance(klass.body, cst.IndentedBlock) else ()
    for statement in body:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name):
                annotation = small.annotation.annotation
                target = annotation.value if isinstance(annotation, cst.Subscript) else annotation
                if not mod.refers_to(target, "typing.ClassVar"):
                    changed.append(small.target.value)
            elif isinstance(small, cst.Assign):
                changed.extend(
                    t.target.value
                    for t in small.targets
                    if isinstance(t.target, cst.Name) and t.target.value in base_fields
                )
    return changed


def _for_target_not_base(
    mod: ModuleContext, project: ProjectFacts, klass: cst.ClassDef, call: cst.Call
) -> _OverrideProblem | None:
    arg = _keyword(call, "for_")
    if arg is None:
        return None
    names = sorted(_resolved(mod, arg.value))
    target = next((r for n in names if (r := project.resolve(n))), None)
    found = project.class_definition(target)
    if target is None or found is None:
        return None
    target_mod, target_class = found
    if any(
        mod_name in ("typing.Protocol", "typing_extensions.Protocol")
        for mod_name in _base_names(target_mod, target_class)
    ):
        return None
    ancestry = _ancestry(mod, project, klass, set())
    if ancestry is None or target in ancestry:
        return None
    return _OverrideProblem(
        klass,
        "for_",
        arg,
        f"`@injectable(for_={mod.code(arg.value)})` on `{klass.name.value}`, which does not subclass "
        f"`{target_class.name.value}`: an override replaces the base, so subclass it "
        f"(`class {klass.name.value}({mod.code(arg.value)})`) to keep its fields and interface.",
        target=arg.value,
        fixable=not klass.bases and _flavour(mod, klass) == _flavour(target_mod, target_class),
    )


def _flavour(mod: ModuleContext, klass: cst.ClassDef) -> str | None:
    """`None` for a plain class, else `frozen` or `mutable` (a dataclass cannot mix the two with its base)."""
    decorator = is_dataclass_class(mod, klass)
    if decorator is None:
        return None
    inner = decorator.decorator
    frozen = isinstance(inner, cst.Call) and _keyword_true(inner, "frozen")
    return "frozen" if frozen or mod.refers_to(decorator_target(decorator), "attrs.frozen") else "mutable"


def _keyword_true(call: cst.Call, name: str) -> bool:
    return any(
        a.keyword is not None
        and a.keyword.value == name
        and isinstance(a.value, cst.Name)
        and a.value.value == "True"
        for a in call.args
    )


def _base_names(mod: ModuleContext, klass: cst.ClassDef) -> set[str]:
    names: set[str] = set()
    for arg in klass.bases:
        names |= mod.qualified_names(arg.value)
    return names


def _ancestry(
    mod: ModuleContext, project: ProjectFacts, klass: cst.ClassDef, seen: set[str]
) -> set[str] | None:
    """Qualified names of all project ancestors (None when one cannot be followed)."""
    ancestors: set[str] = set()
    for qualified, found in _base_classes(mod, project, klass):
        ancestors.add(qualified)
        if qualified in seen:
            continue
        if found is None:
            if qualified.split(".", 1)[0] in ("builtins", "typing", "abc"):
                continue
            return None
        base_mod, base = found
        more = _ancestry(base_mod, project, base, seen | {qualified})
        if more is None:
            return None
        ancestors |= more
    return ancestors


@rule(
    "TDOM016",
    severity="warning",
    title="An override subclass that adds fields repeats `@dataclass`; `for_=` names a base class",
    fix="A",
    why=(
        "A subclass of a dataclass is not a dataclass by itself: fields it adds or defaults it changes are "
        "ignored by the inherited `__init__`, so the override silently renders the base's values. An "
        "override registered with `@injectable(for_=Base)` stands in for `Base`, so it should subclass it."
    ),
    bad="""
@injectable(for_=Greeting)
class FrenchGreeting(Greeting):
    salutation: str = "Bonjour"
""",
    good="""
@injectable(for_=Greeting)
@dataclass
class FrenchGreeting(Greeting):
    salutation: str = "Bonjour"
""",
    static_note=(
        "Needs the base class in the project. `for_=` naming a Protocol is accepted (structural typing). "
        "The `for_=` fix adds the base only to a class that has no bases."
    ),
)
def tdom016_override_subclass(mod: ModuleContext, index: ProjectIndex) -> Iterator[DomainIssue]:
    """Override subclasses without `@dataclass`, and `for_=` targets that are not bases."""
    for problem in _override_problems(mod, index):
        suggestion = "@dataclass" if problem.kind == "fields" else f"class {problem.klass.name.value}(…)"
        yield mod.issue("TDOM016", problem.node, problem.detail, suggestion=suggestion)


@fixer_for("TDOM016")
def tdom016_fix(mod: ModuleContext, index: ProjectIndex) -> cst.Module:
    """Add `@dataclass` (as the innermost decorator) or the missing base class."""
    edits: dict[int, Any] = {}
    imports: list[tuple[str, str | None, str | None]] = []
    facts = module_facts(mod)
    dataclasses_module = next(
        (local for local, target in facts.imports.items() if target == "dataclasses"), None
    )
    has_dataclass_name = facts.imports.get("dataclass") == "dataclasses.dataclass"
    for problem in _override_problems(mod, index):
        klass = problem.klass
        if problem.kind == "fields":
            if has_dataclass_name or dataclasses_module is None:
                func: cst.BaseExpression = cst.Name("dataclass")
                if not has_dataclass_name:
                    imports.append(("dataclasses", "dataclass", None))
            else:
                func = cst.Attribute(value=cst.Name(dataclasses_module), attr=cst.Name("dataclass"))
            base = problem.base_decorator
            inner: cst.BaseExpression = func
            if base is not None and isinstance(base.decorator, cst.Call) and base.decorator.args:
                inner = cst.Call(func=func, args=[a.deep_clone() for a in base.decorator.args])
            decorator = cst.Decorator(decorator=inner)
            previous = edits.get(id(klass))
            edits[id(klass)] = _chain(
                previous, lambda node, d=decorator: node.with_changes(decorators=[*node.decorators, d])
            )
        elif problem.target is not None and problem.fixable:
            target = problem.target.deep_clone()
            previous = edits.get(id(klass))
            edits[id(klass)] = _chain(
                previous,
                lambda node, t=target: node.with_changes(
                    bases=[cst.Arg(value=t)], lpar=cst.LeftParen(), rpar=cst.RightParen()
                ),
            )
    return _apply(mod, edits, imports)


def _chain(first: Callable[[Any], Any] | None, second: Callable[[Any], Any]) -> Callable[[Any], Any]:
    if first is None:
        return second
    return lambda node: second(first(node))
