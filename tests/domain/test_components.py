"""The component noun: signatures, the project-wide index, and the t-string markup scanner."""

from __future__ import annotations

import textwrap
from pathlib import Path

import libcst as cst

import punie_lsp.domain  # registers every rule family (and settles the import order)
from punie_lsp.domain.components import (
    ComponentSpec,
    absolute_name,
    component_index,
    extract_components,
    module_name,
    project_facts,
    scan_markup,
)
from punie_lsp.domain.context import ModuleContext, ProjectIndex
from punie_lsp.domain.validate import build_index
from punie_lsp.tools.context import ToolContext

assert punie_lsp.domain.RULES


def _index(root: Path, files: dict[str, str]) -> ProjectIndex:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
    index, problems = build_index(ToolContext.for_root(root))
    assert problems == []
    return index


def _module(source: str, relative: str = "app/views.py") -> ModuleContext:
    text = textwrap.dedent(source).lstrip("\n")
    return ModuleContext(
        path=Path("/x") / relative, relative=relative, source=text, module=cst.parse_module(text)
    )


def _by_name(specs: list[ComponentSpec]) -> dict[str, ComponentSpec]:
    return {spec.name: spec for spec in specs}


def test_module_and_absolute_names() -> None:
    """Paths map to dotted modules (`src/` dropped) and relative or local names become absolute."""
    assert module_name("src/shop/views.py") == "shop.views"
    assert module_name("shop/__init__.py") == "shop"
    assert absolute_name(".parts.Card", "shop/views.py") == "shop.parts.Card"
    assert absolute_name("..core.Base", "shop/site/views.py") == "shop.core.Base"
    assert absolute_name(".Card", "shop/__init__.py") == "shop.Card"
    assert absolute_name("Card", "shop/views.py") == "shop.views.Card"
    assert absolute_name("tdom.html", "shop/views.py") == "tdom.html"


def test_function_component_signature() -> None:
    """Props carry annotation, default, requiredness and injection; children and **kwargs are flags."""
    mod = _module(
        """
        from string.templatelib import Template
        from typing import Any

        from svcs_di import Inject


        def Link(
            title, /, *, href: str, db: Inject[Db], rel: str = "x", children: Template = t"", **attrs: Any
        ) -> Template:
            return t"<a href={href}>{children}</a>"


        def helper(x):
            return x
        """
    )
    specs = _by_name(extract_components(mod))
    assert list(specs) == ["Link"]
    link = specs["Link"]
    assert (link.kind, link.qualified_name, link.file, link.line, link.column) == (
        "function",
        "app.views.Link",
        "app/views.py",
        7,
        5,
    )
    assert [(p.name, p.kind, p.required, p.injected, p.default, p.annotation) for p in link.props] == [
        ("title", "positional_only", True, False, None, None),
        ("href", "keyword_only", True, False, None, "str"),
        ("db", "keyword_only", False, True, None, "Inject[Db]"),
        ("rel", "keyword_only", False, False, '"x"', "str"),
    ]
    assert link.accepts_children and link.accepts_kwargs and link.requires_positional
    assert link.injected == ["Db"] and link.needs_container and link.by_shape and not link.used_as_tag
    assert link.prop("REL") is not None and link.prop("title") is None


def test_class_component_signatures() -> None:
    """Dataclass fields (ClassVar, KW_ONLY, init=False skipped; InitVar kept) and a plain `__init__`."""
    mod = _module(
        """
        from dataclasses import KW_ONLY, InitVar, dataclass, field
        from string.templatelib import Template
        from typing import ClassVar

        from svcs_di import Inject


        @dataclass
        class Card:
            registry: ClassVar[dict] = {}
            title: str
            cache: dict = field(init=False, default_factory=dict)
            tags: list[str] = field(default_factory=list)
            _: KW_ONLY
            users: InitVar[Inject[Users]]

            def __call__(self) -> Template:
                return t"<h2>{self.title}</h2>"


        class Panel:
            def __init__(self, *, heading: str, children: Template = t"", **rest) -> None:
                self.heading = heading

            def __call__(self):
                return t"<div>{self.heading}</div>"


        class NotAComponent:
            def __call__(self) -> str:
                return "x"
        """
    )
    specs = _by_name(extract_components(mod))
    assert list(specs) == ["Card", "Panel"]
    card, panel = specs["Card"], specs["Panel"]
    assert card.kind == "class" and card.is_dataclass
    assert [(p.name, p.required, p.injected) for p in card.props] == [
        ("title", True, False),
        ("tags", False, False),
        ("users", False, True),
    ]
    assert card.injected == ["Users"] and not card.accepts_children
    assert [p.name for p in panel.props] == ["heading"]
    assert panel.accepts_children and panel.accepts_kwargs and not panel.is_dataclass


def test_component_index_spans_modules(tmp_path: Path) -> None:
    """Use as a tag in another module (through a package re-export) marks a component; bases are merged."""
    index = _index(
        tmp_path,
        {
            "ui/__init__.py": "from .widgets import Button, Fancy\n",
            "ui/widgets.py": """
            from dataclasses import dataclass
            from string.templatelib import Template

            from somewhere import External


            def Button(label, kind="button"):
                body = t"<button type={kind}>{label}</button>"
                return body


            @dataclass
            class Base:
                size: int = 1


            @dataclass
            class Fancy(Base):
                color: str = "red"

                def __call__(self) -> Template:
                    return t"<b>{self.color}</b>"


            class Wrapped(External):
                def __call__(self) -> Template:
                    return t"<i></i>"
            """,
            "app/page.py": """
            from tdom import html

            from ui import Button, Fancy


            def page() -> str:
                return html(t"<{Button} label='go' /><{Fancy} />")
            """,
        },
    )
    components = component_index(index)
    assert sorted(components) == ["ui.widgets.Button", "ui.widgets.Fancy", "ui.widgets.Wrapped"]
    assert components["ui.widgets.Button"].used_as_tag and not components["ui.widgets.Button"].by_shape
    fancy = components["ui.widgets.Fancy"]
    assert [p.name for p in fancy.props] == ["size", "color"] and fancy.signature_known
    assert fancy.bases == ["ui.widgets.Base"]
    wrapped = components["ui.widgets.Wrapped"]
    assert not wrapped.signature_known and not wrapped.used_as_tag
    assert component_index(index) is components


def test_needs_container_follows_rendered_components(tmp_path: Path) -> None:
    """A component rendering an `Inject[...]` component needs the container too; others do not."""
    index = _index(
        tmp_path,
        {
            "app/parts.py": """
            from string.templatelib import Template

            from svcs_di import Inject


            def Clock(*, now: Inject[Now]) -> Template:
                return t"<time>{now}</time>"


            def Footer() -> Template:
                return t"<footer><{Clock} /></footer>"


            def Page(*, children: Template) -> Template:
                return t"<main>{children}<{Footer} /></main>"


            def Plain() -> Template:
                return t"<p>plain</p>"
            """,
        },
    )
    assert project_facts(index).needs_container == {"app.parts.Clock", "app.parts.Footer", "app.parts.Page"}


def test_scan_markup_tags_attributes_and_raw_text() -> None:
    """The scanner finds component and element tags, attribute kinds, raw-text and doctype interpolations."""
    node = cst.parse_expression(
        "t'''<!DOCTYPE {kind}><!-- <{Ignored}> --><{Card} title=\"a {b}\" n={n} data-x=x {spread} flag>"
        "<script>var x = {data};</script><br/></{Card}>'''"
    )
    assert isinstance(node, cst.TemplatedString)
    markup = scan_markup(node)
    assert [(t.kind, t.name, t.expr is not None, t.self_closing) for t in markup.tags] == [
        ("open", None, True, False),
        ("open", "script", False, False),
        ("close", "script", False, False),
        ("open", "br", False, True),
        ("close", None, True, False),
    ]
    card = markup.tags[0]
    assert [(a.name, a.value, len(a.exprs)) for a in card.attrs] == [
        ("title", "mixed", 1),
        ("n", "expr", 1),
        ("data-x", "text", 0),
        (None, "none", 1),
        ("flag", "none", 0),
    ]
    assert [
        (element, cst.ensure_type(e.expression, cst.Name).value) for element, e in markup.raw_interpolations
    ] == [("script", "data")]
    assert [cst.ensure_type(e.expression, cst.Name).value for e in markup.doctype_interpolations] == ["kind"]
    assert [(o.expr is not None, c is not None) for o, c in markup.pairs()] == [(True, True)]


def test_markup_positions_map_back_to_source() -> None:
    """Offsets inside a multi-line t-string map to the right 1-based line and column."""
    mod = _module('X = t"""<div>\n  <{Card} title="x" />\n</div>"""\n')
    node = next(n for n in mod.scopes if isinstance(n, cst.TemplatedString))
    markup = scan_markup(node)
    card = next(t for t in markup.tags if t.expr is not None)
    assert markup.span(mod, card.start, card.end) == (2, 3, 2, 23)
    title = card.attrs[0]
    assert markup.span(mod, title.start, title.name_end) == (2, 11, 2, 16)
