"""`ModuleContext` metadata equals libcst's providers: scopes, qualified names, parents and positions.

The fast walkers of `punie_lsp.domain.metadata` replace libcst's `ScopeProvider`,
`QualifiedNameProvider`, `ParentNodeProvider` and `PositionProvider`; every rule family reads names
through them, so these tests compare them with libcst's own answers, node by node, on tricky code.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

import libcst as cst
import pytest
from libcst.metadata import (
    MetadataWrapper,
    ParentNodeProvider,
    PositionProvider,
    QualifiedNameProvider,
    Scope,
    ScopeProvider,
)
from libcst.metadata.scope_provider import BuiltinScope

from punie_lsp.domain.context import ModuleContext
from punie_lsp.domain.metadata import FORMATTING, walk

DOMAIN = Path(__file__).parents[2] / "punie_lsp" / "domain"
FIXTURES = Path(__file__).parents[2] / "fixtures"

IMPORTS_AND_ALIASES = """
import os, os.path
import a.b.c as abc_alias
import x.y
from . import sibling
from .mod import X as XX, Y
from ..pkg.sub import Z
from collections import *
import svcs
from svcs import Registry as Reg
from tdom import html as render

print(os.path.join(), x.y.z(), abc_alias.k, XX, Y, Z, sibling, svcs.Registry, Reg().register_factory)
render(t"<p></p>")
svcs.Container(Reg()).get(int)
x.y = 3
"""

SHADOWING = """
import svcs
from tdom import html

x = 1
def shadow():
    print(x)
    x = 2
def shadow2(x, html=None):
    def inner():
        return x, html
    return inner
def params(svcs):
    return svcs.Container
class K:
    x = x
    html = html
    def m(self):
        return x, html
def late():
    return html(t"")
html = str
for html in []:
    pass
"""

NESTED = """
import svcs

def outer(a: "svcs.Registry", b=svcs.Container, *args: "int", c=1, **kw) -> "svcs.Container":
    global G
    G = a
    def middle(d=a):
        nonlocal b
        b = d
        def inner():
            return [b for b in range(3) if b] + [y for y in d], {k: v for k, v in {}.items()}
        return inner
    lam = lambda q, r=b: q + r
    gen = (z for z in svcs.x.y)
    return middle, lam, gen

class C(svcs.Registry, metaclass=type):
    attr: int = 1
    other = attr + 1
    def method(self, p: C) -> "C":
        attr = 2
        return attr, other, C, self.attr
    class Inner:
        z = [attr for _ in range(2)]
    @staticmethod
    def sm():
        return Inner
"""

TYPING = """
from __future__ import annotations
from typing import cast, TypeVar, NewType, Literal, TYPE_CHECKING, Annotated
import typing as t
import typing_extensions
import svcs

T = TypeVar("T", bound="svcs.Registry")
U = t.NewType("U", "svcs.Container")
V = NewType("V", int)

def f(a: "svcs.Registry", b: Literal["svcs", "os"] = 1, *args: "t.List[int]", **kw) -> "Reg":
    x = cast("svcs.Container", b)
    y = t.cast("svcs.Registry", x)
    z: Annotated[int, "svcs.Container", svcs.Registry] = 1
    return x, y, z

if TYPE_CHECKING:
    from foo import Bar
def h(b: Bar, n: "Bar | None" = None, m: "typing.Optional[Bar]" = None, q: "(lambda: x)" = 1): ...
w = t.Optional["Bar"]
u: "List[int]"
v: "not valid python ((("
s: typing_extensions.Literal["svcs"]
"""

STATEMENTS = """
import svcs
for i, (j, *k) in enumerate([]):
    print(i, j, k)
else:
    del i

async def co(registry):
    async with svcs.Container(registry) as (fh, gh):
        async for line in fh:
            yield line
    try:
        pass
    except (OSError, ValueError) as err:
        print(err)
    with open("a") as h, open("b"):
        h += 1
    if (n := 10) > 5:
        print(n)
    match n:
        case {"k": v, **rest}:
            print(v, rest)
        case [first, *others] if first:
            print(others)
        case svcs.Container(attr=aa) | svcs.Registry(other=aa):
            print(aa)
        case str() as s:
            print(s)
        case _:
            pass
    await registry.aclose()

a = b = c = 3
a, b = b, a
(a.b).c = 3
a[b:c] = [1]
print(*[1], **{})
t"<p>{a}</p>"
f"{b!r:>{c}}"
try:
    import json
except* ValueError as eg:
    pass
"""

PEP695 = """
type Alias[K] = dict[K, "Later"]
class Box[T: (int, str), *Ts, **P]:
    def get[S](self, s: S) -> T | S: ...
def generic[A, B = int](a: A) -> B: ...
class Later: ...
[lambda: x for x in range(3)]
"""

SNIPPETS = {
    "imports": IMPORTS_AND_ALIASES,
    "shadowing": SHADOWING,
    "nested": NESTED,
    "typing": TYPING,
    "statements": STATEMENTS,
    "pep695": PEP695,
}


def _context(source: str) -> ModuleContext:
    return ModuleContext(path=Path("/m.py"), relative="m.py", source=source, module=cst.parse_module(source))


def _code(node: cst.CSTNode) -> str:
    return cst.Module(body=[]).code_for_node(node)


def _qualified(value: Any) -> set[str]:
    resolved = value() if callable(value) else value
    return {name.name for name in resolved}


def assert_same_metadata(source: str) -> None:
    """Compare every fast map with libcst's provider on `source`."""
    mod = _context(source)
    wrapper = MetadataWrapper(mod.module, unsafe_skip_copy=True)
    expected_scopes = {k: v for k, v in wrapper.resolve(ScopeProvider).items() if type(k) not in FORMATTING}
    scopes = dict(mod.scopes)
    # Same nodes in the same order; nodes parsed out of string annotations are new objects each time.
    assert len(scopes) == len(expected_scopes)
    same: dict[int, int] = {}
    for theirs, ours in zip(expected_scopes, scopes, strict=True):
        if theirs is not ours:
            assert type(theirs) is type(ours) and _code(theirs) == _code(ours)
            same[id(theirs)] = id(ours)

    def ident(node: object) -> int:
        return same.get(id(node), id(node))

    # Same scope tree, assignments and accesses.
    pairs: dict[int, Scope] = {}

    def match(theirs: Scope, ours: Scope) -> None:
        if id(theirs) in pairs:
            assert pairs[id(theirs)] is ours
            return
        pairs[id(theirs)] = ours
        assert type(theirs) is type(ours)
        if isinstance(theirs, BuiltinScope):
            return
        assert ident(getattr(theirs, "node", None)) == id(getattr(ours, "node", None))
        assert getattr(theirs, "name", None) == getattr(ours, "name", None)
        assert theirs._name_prefix == ours._name_prefix
        assert theirs._assignment_count == ours._assignment_count
        assert _assignments(theirs, ident) == _assignments(ours, id)
        assert _accesses(theirs, ident) == _accesses(ours, id)
        match(theirs.parent, ours.parent)

    for theirs, ours in zip(expected_scopes, scopes, strict=True):
        match(expected_scopes[theirs], scopes[ours])
    # Qualified names of every node libcst's provider knows.
    for node, value in wrapper.resolve(QualifiedNameProvider).items():
        assert mod.qualified_names(node) == _qualified(value), _code(node)
    # Parents and positions.
    parents = {k: v for k, v in wrapper.resolve(ParentNodeProvider).items() if type(k) not in FORMATTING}
    assert dict(mod.parents) == parents
    positions = wrapper.resolve(PositionProvider)
    assert len(mod.positions) == len(positions)
    for node, where in positions.items():
        assert mod.range(node) == where


def _assignments(scope: Scope, ident: Callable[[object], int]) -> dict[str, list[tuple[Any, ...]]]:
    return {
        name: sorted(
            (
                type(a).__name__,
                ident(getattr(a, "node", None)),
                a._index,
                sorted((ident(r.node), r._index) for r in a.references),
            )
            for a in found
        )
        for name, found in scope._assignments.items()
        if found
    }


def _accesses(scope: Scope, ident: Callable[[object], int]) -> dict[str, list[tuple[Any, ...]]]:
    def key(found: Collection[Any]) -> list[tuple[Any, ...]]:
        return sorted(
            (
                ident(a.node),
                a.is_annotation,
                a.is_type_hint,
                a._index,
                sorted((type(r).__name__, ident(getattr(r, "node", None)), r._index) for r in a.referents),
            )
            for a in found
        )

    return {name: key(found) for name, found in scope._accesses_by_name.items()}


@pytest.mark.parametrize("name", sorted(SNIPPETS))
def test_metadata_matches_libcst_on_tricky_code(name: str) -> None:
    """Aliases, relative imports, shadowing, nested scopes, class bodies, comprehensions, string types."""
    assert_same_metadata(SNIPPETS[name])


def test_metadata_matches_libcst_on_real_code() -> None:
    """Some of the domain package's own sources, and every tdom / svcs / middleware fixture project."""
    paths = [DOMAIN / name for name in ("context.py", "metadata.py", "middleware_rules.py", "validate.py")]
    paths += sorted(FIXTURES.glob("**/*.py"))
    assert len(paths) > 50
    for path in paths:
        assert_same_metadata(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("snippet", "spelled", "expected"),
    [
        ("from tdom import html as h\nh(t'')\n", "h", {"tdom.html"}),
        ("import svcs\nsvcs.Registry()\n", "svcs.Registry", {"svcs.Registry"}),
        ("import a.b\na.b.c\n", "a.b.c", {"a.b.c"}),
        ("from .mod import X\nX\n", "X", {".mod.X"}),
        ("from ..pkg import mod\nmod.Y\n", "mod.Y", {"..pkg.mod.Y"}),
        ("int\n", "int", {"builtins.int"}),
        ("def f():\n    def g():\n        pass\n    g\n", "g", {"f.<locals>.g"}),
        ("class C:\n    def m(self):\n        pass\n    m\n", "m", {"C.m"}),
        ("from tdom import html\ndef f(html):\n    html\n", "html", {"f.<locals>.html"}),
        ("from tdom import html\nhtml = str\nhtml\n", "html", {"html", "tdom.html"}),
        (
            "from tdom import html\nclass C:\n    html = 1\n    def m(self):\n        html\n",
            "html",
            {"tdom.html"},
        ),
        ("from jinja2 import html\nhtml\n", "html", {"jinja2.html"}),
    ],
)
def test_qualified_names(snippet: str, spelled: str, expected: set[str]) -> None:
    """The last expression statement spelled `spelled` resolves to `expected`, as libcst says."""
    mod = _context(snippet)
    expression = [n for n in walk(mod.module) if isinstance(n, cst.Expr)][-1]
    node = expression.value.func if isinstance(expression.value, cst.Call) else expression.value
    assert mod.code(node) == spelled
    assert mod.qualified_names(node) == expected
    qualified = MetadataWrapper(mod.module, unsafe_skip_copy=True).resolve(QualifiedNameProvider)
    assert _qualified(qualified[node]) == expected


def test_names_inside_string_annotations_have_no_qualified_names() -> None:
    """Nodes parsed out of a string annotation carry a scope, but libcst gives them no qualified name."""
    mod = _context("import svcs\nx: 'svcs.Registry' = 1\n")
    parsed = [n for n in mod.scopes if isinstance(n, cst.Attribute)]
    assert len(parsed) == 1  # only the one inside the string
    assert mod.qualified_names(parsed[0]) == set()
    string = next(n for n in mod.scopes if isinstance(n, cst.SimpleString))
    assert mod.qualified_names(string) == {"svcs"}  # libcst resolves the string's first name only
