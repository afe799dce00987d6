"""The fast tree walkers: libcst's child order, read-only visitors driven in place, the walk."""

from __future__ import annotations

import ast
import inspect
import textwrap
import typing
from pathlib import Path

import libcst as cst
import pytest
from libcst._nodes import op, whitespace

from punie_lsp.domain import metadata
from punie_lsp.domain.metadata import FORMATTING, code_children, visit_fast, walk

SOURCE = (Path(__file__).parents[2] / "punie_lsp" / "domain" / "middleware_rules.py").read_text(
    encoding="utf-8"
)
SAMPLE = """
import svcs
from tdom import html

@decorator(arg)
class C(Base, metaclass=M):
    x: int = 1
    def m(self, a, /, b=2, *args, c: "int" = 3, **kw) -> None:
        with svcs.Container(a) as c, open(b):
            for i in range(3):
                yield [j for j in i if j], {k: v for k, v in kw.items()}, (lambda q=1: q)
        return html(t"<p>{a!r:>{b}}</p>")

def f():
    try:
        pass
    except* ValueError as e:
        raise e from None
    match x:
        case [1, *rest] | {"k": _}:
            del rest
    return f"{x}" + "a" "b"
"""


def _node_classes() -> list[type[cst.CSTNode]]:
    found = {
        c
        for c in vars(cst).values()
        if inspect.isclass(c) and issubclass(c, cst.CSTNode) and not inspect.isabstract(c)
    }
    return sorted(found, key=lambda c: c.__name__)


def _visit_order(kind: type[cst.CSTNode]) -> list[str]:
    """The fields `_visit_and_replace_children` visits, in source order (read from libcst's source)."""
    method = next(
        k.__dict__["_visit_and_replace_children"]
        for k in kind.__mro__
        if "_visit_and_replace_children" in k.__dict__
    )
    calls = [
        node
        for node in ast.walk(ast.parse(textwrap.dedent(inspect.getsource(method))))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id.startswith("visit_")
        and len(node.args) >= 2
        and isinstance(node.args[1], ast.Constant)
    ]
    calls.sort(key=lambda call: (call.lineno, call.col_offset))
    return list(dict.fromkeys(call.args[1].value for call in calls))


def _node_types(annotation: object) -> set[type]:
    if typing.get_origin(annotation) is None:
        return {annotation} if inspect.isclass(annotation) and issubclass(annotation, cst.CSTNode) else set()
    return set().union(*(_node_types(a) for a in typing.get_args(annotation)))


def test_formatting_types_are_whitespace_punctuation_and_operators() -> None:
    """Whitespace, comments, operators, punctuation, brackets and `async` — never `import *`."""
    expected = {c for c in _node_classes() if c.__module__ in (op.__name__, whitespace.__name__)}
    expected |= {
        cst.LeftParen,
        cst.RightParen,
        cst.LeftSquareBracket,
        cst.RightSquareBracket,
        cst.LeftCurlyBrace,
        cst.RightCurlyBrace,
        cst.Asynchronous,
    }
    expected.discard(cst.ImportStar)
    assert expected == FORMATTING


@pytest.mark.parametrize(
    "kind", [c for c in _node_classes() if c not in FORMATTING], ids=lambda c: c.__name__
)
def test_code_fields_follow_libcst(kind: type[cst.CSTNode]) -> None:
    """Each node type's table entry: libcst's visiting order, less the fields that only hold formatting."""
    hints = typing.get_type_hints(kind)
    classes = _node_classes()
    expected = []
    for name in _visit_order(kind):
        concrete = {c for t in _node_types(hints[name]) for c in classes if issubclass(c, t)}
        assert concrete, name
        if not concrete <= FORMATTING:
            expected.append(name)
            assert not concrete & FORMATTING or kind in (cst.ImportFrom, cst.LazyImportFrom), name
    assert metadata._CODE_FIELDS[kind] == tuple(expected)


class _Preorder(cst.CSTVisitor):
    """Records every code node libcst visits (it overrides `on_visit`, so `visit_fast` defers to libcst)."""

    def __init__(self) -> None:
        super().__init__()
        self.nodes: list[cst.CSTNode] = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        if type(node) not in FORMATTING:
            self.nodes.append(node)
        return True


class _Typed(cst.CSTVisitor):
    def __init__(self) -> None:
        super().__init__()
        self.events: list[tuple[str, int]] = []

    def visit_Name(self, node: cst.Name) -> None:
        self.events.append(("name", id(node)))

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        self.events.append(("def", id(node)))
        return not node.name.value.startswith("_")

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.events.append(("end def", id(original_node)))

    def visit_Call(self, node: cst.Call) -> None:
        self.events.append(("call", id(node)))

    def leave_Attribute(self, original_node: cst.Attribute) -> None:
        self.events.append(("attribute", id(original_node)))


@pytest.mark.parametrize("source", [SAMPLE, SOURCE], ids=["sample", "middleware_rules"])
def test_walk_and_visit_fast_follow_libcst(source: str) -> None:
    """Same nodes, same order, same skipping as `CSTNode.visit`, formatting aside."""
    module = cst.parse_module(source)
    preorder = _Preorder()
    module.visit(preorder)
    assert list(walk(module)) == preorder.nodes

    expected, fast = _Typed(), _Typed()
    module.visit(expected)
    visit_fast(module, fast)
    assert fast.events == expected.events


def test_visit_fast_hands_unusual_visitors_to_libcst() -> None:
    """Visitors with `on_visit`, formatting handlers or attribute hooks run through libcst itself."""
    module = cst.parse_module("f(a, b)\n")

    class Commas(cst.CSTVisitor):
        count = 0

        def visit_Comma(self, node: cst.Comma) -> None:
            Commas.count += 1

    class Hook(cst.CSTVisitor):
        seen = 0

        def visit_Call_func(self, node: cst.Call) -> None:
            Hook.seen += 1

    visit_fast(module, Commas())
    visit_fast(module, Hook())
    preorder = _Preorder()
    visit_fast(module, preorder)
    assert Commas.count == 1 and Hook.seen == 1 and len(preorder.nodes) == 9


def test_code_children_of_an_unknown_node_type_come_from_libcst() -> None:
    """A node type missing from the table (a newer libcst) falls back to `children`, formatting dropped."""
    call = cst.parse_expression("f(a, b)")
    assert isinstance(call, cst.Call)
    saved = metadata._CODE_FIELDS.pop(cst.Call)
    try:
        assert code_children(call) == [call.func, *call.args]
    finally:
        metadata._CODE_FIELDS[cst.Call] = saved
