"""TDOM001–TDOM016: every rule fires on its violation, stays quiet on correct code, and its fix is exact."""

from __future__ import annotations

import textwrap
from pathlib import Path

import punie_lsp.domain  # registers every rule family
from punie_lsp.domain.rules import RULES
from punie_lsp.domain.validate import apply_fixes, validate_sync
from punie_lsp.tools.context import ToolContext

assert punie_lsp.domain.RULES is RULES

NODE_ERA = '[project]\nname = "old"\nversion = "0"\ndependencies = ["tdom>=0.1.12,<0.1.16"]\n'
CURRENT = '[project]\nname = "new"\nversion = "0"\ndependencies = ["tdom>=0.1.19"]\n'


def _write(root: Path, files: dict[str, str]) -> None:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))


def _found(root: Path, files: dict[str, str], rule: str | None = None) -> list[tuple[str, str, int]]:
    """(rule, file, line) of the TDOM findings (only `rule`'s when given), sorted."""
    _write(root, files)
    result = validate_sync(ToolContext.for_root(root), families=["TDOM"])
    assert result.tool_error is None
    return sorted((i.rule, i.file, i.line) for i in result.issues if rule is None or i.rule == rule)


def _fix(root: Path, files: dict[str, str], target: str, rule: str) -> str:
    """Apply `rule`'s fix to `target`, check it re-validates clean for that rule, and return the new text."""
    _write(root, files)
    apply_fixes(ToolContext.for_root(root), [target], rule_ids=[rule])
    result = validate_sync(ToolContext.for_root(root), families=["TDOM"])
    assert [i for i in result.issues if i.rule == rule] == []
    return (root / target).read_text()


def _golden(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def test_every_tdom_rule_is_registered_with_docs() -> None:
    """All sixteen TDOM rules are registered, documented, and fixable exactly where the catalogue says A."""
    ids = [f"TDOM{n:03d}" for n in range(1, 17)]
    assert [r for r in RULES if r.startswith("TDOM")] == ids
    auto = {"TDOM001", "TDOM002", "TDOM003", "TDOM004", "TDOM005", "TDOM008", "TDOM010"}
    auto |= {"TDOM013", "TDOM014", "TDOM015", "TDOM016"}
    for rule_id in ids:
        registered = RULES[rule_id]
        assert registered.why and registered.bad.strip() and registered.good.strip()
        assert (registered.fixer is not None) == (rule_id in auto) == (registered.fix == "A")
        assert registered.validator == "validate_component"


# --------------------------------------------------------------------------------------------------- TDOM001


HTML_ARGS = """
from tdom import html
from tdom import html as h
import tdom


def views(name: str, items: list[str]) -> list[str]:
    return [
        html(f"<p>{name}</p>"),
        html("<p>" + name + "</p>"),
        html("<li>{}</li>".format(name)),
        html("<p>%s</p>" % name),
        h("<hr>"),
        tdom.html(F'<b>{name!r}</b>'),
        html(t"<p>{name}</p>"),
    ]
"""


def test_tdom001_flags_strings_passed_to_html(tmp_path: Path) -> None:
    """f-strings, concatenations, `.format`, `%` and plain strings passed to tdom's html are errors."""
    found = _found(tmp_path, {"app/views.py": HTML_ARGS})
    assert found == [("TDOM001", "app/views.py", line) for line in (8, 9, 10, 11, 12, 13)]


def test_tdom001_quiet_on_templates_and_foreign_html(tmp_path: Path) -> None:
    """t-strings, Template variables and a non-tdom `html` (markupsafe, a local helper) are not flagged."""
    files = {
        "app/ok.py": """
        from string.templatelib import Template
        from tdom import html

        def render(body: Template, name: str) -> str:
            return html(body) + html(t"<p>{name}</p>")
        """,
        "app/other.py": """
        from markupsafe import Markup as html

        def local(name: str) -> str:
            return html(f"<b>{name}</b>")
        """,
        "app/mine.py": """
        def html(text: str) -> str:
            return text

        def page(name: str) -> str:
            return html(f"<p>{name}</p>")
        """,
    }
    assert _found(tmp_path, files) == []


def test_tdom001_fix_rewrites_arguments_as_tstrings(tmp_path: Path) -> None:
    """The fix turns each string form into the equivalent t-string; `%` formatting is left for a hand fix."""
    fixed = _fix(
        tmp_path,
        {"app/views.py": HTML_ARGS.replace('        html("<p>%s</p>" % name),\n', "")},
        "app/views.py",
        "TDOM001",
    )
    assert fixed == _golden(
        """
        from tdom import html
        from tdom import html as h
        import tdom


        def views(name: str, items: list[str]) -> list[str]:
            return [
                html(t"<p>{name}</p>"),
                html(t"<p>{name}</p>"),
                html(t"<li>{name}</li>"),
                h(t"<hr>"),
                tdom.html(t'<b>{name!r}</b>'),
                html(t"<p>{name}</p>"),
            ]
        """
    )


def test_tdom001_fix_doubles_literal_braces(tmp_path: Path) -> None:
    """Braces in a plain string become literal braces of the t-string, not interpolations."""
    files = {"app/css.py": 'from tdom import html\n\nSTYLE = html("<style>p { color: red }</style>")\n'}
    fixed = _fix(tmp_path, files, "app/css.py", "TDOM001")
    assert fixed == 'from tdom import html\n\nSTYLE = html(t"<style>p {{ color: red }}</style>")\n'


# --------------------------------------------------------------------------------------------------- TDOM002

COMPONENTS_RETURNING_STR = """
from string.templatelib import Template
from tdom import html


def Price(*, amount: float) -> str:
    return html(t"<b>{amount}</b>")


def Tag(*, label: str):
    return f"<em>{label}</em>"


def Helper(name: str) -> Template:
    return "<i>" + name + "</i>"


class Panel:
    def __call__(self) -> Template:
        return html(t"<div></div>")


def page() -> str:
    return html(t"<{Price} amount={1} /><{Tag} label='x' /><{Panel} />")
"""


def test_tdom002_flags_components_returning_strings(tmp_path: Path) -> None:
    """Components returning html() or f-strings, `-> str` components and `-> Template` str returns."""
    found = _found(tmp_path, {"app/parts.py": COMPONENTS_RETURNING_STR})
    assert found == [("TDOM002", "app/parts.py", line) for line in (5, 6, 10, 14, 19)]


def test_tdom002_quiet_on_templates_render_functions_and_node_era(tmp_path: Path) -> None:
    """A t-string return is right; render functions and Node-era components may return html()."""
    clean = """
    from string.templatelib import Template
    from tdom import html

    def Card(*, title: str) -> Template:
        return t"<h2>{title}</h2>"

    def render(title: str) -> str:
        return html(t"<{Card} title={title} />")
    """
    assert _found(tmp_path / "a", {"app/ok.py": clean}) == []
    legacy = {"pyproject.toml": NODE_ERA, "app/parts.py": COMPONENTS_RETURNING_STR}
    assert _found(tmp_path / "b", legacy, "TDOM002") == []


def test_tdom002_fix_returns_templates_and_annotates(tmp_path: Path) -> None:
    """The fix returns the t-string, annotates `-> Template` and drops the now unused html import."""
    files = {
        "app/parts.py": """
        from tdom import html


        def Badge(*, label: str) -> str:
            return html(t"<b>{label}</b>")


        def Tag(*, label: str):
            return f"<em>{label}</em>"
        """,
        "app/page.py": """
        from tdom import html

        from app.parts import Badge, Tag


        def page() -> str:
            return html(t"<{Badge} label='a' /><{Tag} label='b' />")
        """,
    }
    assert _fix(tmp_path, files, "app/parts.py", "TDOM002") == _golden(
        """
        from string.templatelib import Template


        def Badge(*, label: str) -> Template:
            return t"<b>{label}</b>"


        def Tag(*, label: str) -> Template:
            return t"<em>{label}</em>"
        """
    )


# --------------------------------------------------------------------------------------------------- TDOM003

NODE_CODE = """
from dataclasses import dataclass

from tdom import Element, Node, html


@dataclass
class Layout:
    children: Node

    def __call__(self) -> Node:
        return html(t"<main>{self.children}</main>")


def render() -> Node:
    node = html(t"<{Layout}><p>x</p></{Layout}>")
    assert isinstance(node, Element)
    return node
"""


def test_tdom003_flags_node_api_on_current_or_unknown_tdom(tmp_path: Path) -> None:
    """Imports and uses of Node-era classes are errors on tdom ≥ 0.1.16 and on an undeclared version."""
    expected = [("TDOM003", "app/layout.py", line) for line in (3, 3, 8, 10, 14, 16)]
    assert _found(tmp_path / "a", {"app/layout.py": NODE_CODE}, "TDOM003") == expected
    pinned = {"pyproject.toml": CURRENT, "app/layout.py": NODE_CODE}
    assert _found(tmp_path / "b", pinned, "TDOM003") == expected


def test_tdom003_node_era_allows_node_and_flags_newer_names(tmp_path: Path) -> None:
    """A project pinned below 0.1.16 may use Node but not `Scope` (0.1.17) or `svg` (0.1.15)."""
    files = {
        "pyproject.toml": NODE_ERA,
        "app/layout.py": NODE_CODE,
        "app/extra.py": "from tdom import Scope, html, svg\n\nX = (Scope, html, svg)\n",
    }
    assert _found(tmp_path, files) == [("TDOM003", "app/extra.py", 1), ("TDOM003", "app/extra.py", 1)]


def test_tdom003_exclusive_upper_pin_is_node_era(tmp_path: Path) -> None:
    """`tdom<0.1.16` means an older tdom, so Node-era code is not flagged there."""
    pinned = {"pyproject.toml": NODE_ERA.replace(">=0.1.12,<0.1.16", "<0.1.16"), "app/layout.py": NODE_CODE}
    assert _found(tmp_path, pinned) == []


def test_tdom003_fix_rewrites_annotations_and_imports(tmp_path: Path) -> None:
    """Annotations become `Template`/`str` and the Node import goes; `isinstance` uses keep their import."""
    source = NODE_CODE.replace("    assert isinstance(node, Element)\n", "")
    fixed = _fix(tmp_path, {"app/layout.py": source.replace("Element, ", "")}, "app/layout.py", "TDOM003")
    assert fixed == _golden(
        """
        from dataclasses import dataclass

        from tdom import html
        from string.templatelib import Template


        @dataclass
        class Layout:
            children: Template

            def __call__(self) -> Template:
                return html(t"<main>{self.children}</main>")


        def render() -> str:
            node = html(t"<{Layout}><p>x</p></{Layout}>")
            return node
        """
    )


# --------------------------------------------------------------------------------------------------- TDOM004

NESTED = """
from tdom import html


def page(text: str) -> str:
    body = t"<p>{text}</p>"
    return html(t"<main>{html(body)}</main>")
"""


def test_tdom004_flags_interpolated_renderings(tmp_path: Path) -> None:
    """`{html(x)}` inside a template is reported; interpolating the template itself is not."""
    assert _found(tmp_path / "a", {"app/page.py": NESTED}) == [("TDOM004", "app/page.py", 6)]
    clean = NESTED.replace("{html(body)}", "{body}")
    assert _found(tmp_path / "b", {"app/page.py": clean}) == []


def test_tdom004_quiet_in_node_era(tmp_path: Path) -> None:
    """Node-era html() returned a Node, which interpolates as markup."""
    assert _found(tmp_path, {"pyproject.toml": NODE_ERA, "app/page.py": NESTED}) == []


def test_tdom004_fix_interpolates_the_template(tmp_path: Path) -> None:
    """The fix replaces `{html(body)}` by `{body}`."""
    assert _fix(tmp_path, {"app/page.py": NESTED}, "app/page.py", "TDOM004") == _golden(
        NESTED.replace("{html(body)}", "{body}")
    )


# --------------------------------------------------------------------------------------------------- TDOM005

POSITIONAL = """
from string.templatelib import Template
from tdom import html


def Card(title: str, /, *, body: str = "") -> Template:
    return t"<h2>{title}</h2>{body}"


def List(*items: str) -> Template:
    return t"<ul>{[t'<li>{i}</li>' for i in items]}</ul>"


def row(label: str, value: str, /) -> Template:
    return t"<tr><th>{label}</th><td>{value}</td></tr>"


def Optional(size: int = 1, /) -> Template:
    return t"<hr size={size}>"


def page() -> str:
    return html(t"<{Card} title='x' /><{List} /><{Optional} />{row('a', 'b')}")
"""


def test_tdom005_flags_positional_parameters(tmp_path: Path) -> None:
    """Required positional-only parameters and `*args` of components are errors; helpers are not."""
    found = _found(tmp_path, {"app/parts.py": POSITIONAL})
    assert found == [("TDOM005", "app/parts.py", 5), ("TDOM005", "app/parts.py", 9)]


def test_tdom005_fix_makes_parameters_keyword_only(tmp_path: Path) -> None:
    """The fix moves positional-only parameters behind `*` and drops an unused `*args`."""
    source = """
    from string.templatelib import Template
    from tdom import html


    def Card(title: str, /, *, body: str = "") -> Template:
        return t"<h2>{title}</h2>{body}"


    def Stars(*args, count: int = 3) -> Template:
        return t"<span>{'*' * count}</span>"


    def page() -> str:
        return html(t"<{Card} title='x' /><{Stars} />")
    """
    fixed = _fix(tmp_path, {"app/parts.py": source}, "app/parts.py", "TDOM005")
    expected = source.replace("title: str, /, *, body", "*, title: str, body").replace(
        "*args, count", "*, count"
    )
    assert fixed == _golden(expected)


# --------------------------------------------------------------------------------------------------- TDOM006


CHILDREN = """
from string.templatelib import Template
from tdom import html


def Card(*, title: str, children: Template = t"") -> Template:
    return t"<section><h2>{title}</h2>{children}</section>"


def Badge(*, label: str) -> Template:
    return t"<b>{label}</b>"


def page(body: Template) -> str:
    return html(
        t'''<{Card} title="a" children={body} />
<{Badge} label="x">new</{Badge}>
<{Card} title="b">{body}</{Card}>
<{Badge} label="y">  </{Badge}>'''
    )
"""


def test_tdom006_flags_children_attribute_and_dropped_children(tmp_path: Path) -> None:
    """`children=` as an attribute and content given to a component without `children` are reported."""
    found = _found(tmp_path, {"app/page.py": CHILDREN})
    assert found == [("TDOM006", "app/page.py", 15), ("TDOM006", "app/page.py", 16)]


def test_tdom006_quiet_when_children_declared(tmp_path: Path) -> None:
    """Content for a component declaring `children`, and whitespace-only content, are fine."""
    clean = CHILDREN.replace(" children={body} />", " />").replace('<{Badge} label="x">new</{Badge}>', "")
    assert _found(tmp_path, {"app/page.py": clean}) == []


# --------------------------------------------------------------------------------------------------- TDOM007

ATTRS = {
    "app/parts.py": """
    from string.templatelib import Template
    from typing import Any

    from svcs_di import Inject


    class Db:
        pass


    def Link(*, href: str, children: Template = t"") -> Template:
        return t'<a href="{href}">{children}</a>'


    def Button(*, kind: str = "button", **attrs: Any) -> Template:
        return t"<button type={kind} {attrs}>x</button>"


    def Avatar(*, user_name: str, db: Inject[Db]) -> Template:
        return t"<img alt={user_name} />"
    """,
    "app/page.py": """
    from tdom_svcs import html

    from app.parts import Avatar, Button, Link


    def page(extra: dict[str, str], container: object) -> str:
        return html(
            t'''<{Link} url="/">Home</{Link}>
    <{Link} href="/" class="nav">Home</{Link}>
    <{Avatar} username="ada" />
    <{Avatar} user-name="ada" />
    <{Button} class="primary" data-x="1" />
    <{Link} {extra} />''',
            container=container,
        )
    """,
}


def test_tdom007_flags_unknown_and_missing_attributes_across_files(tmp_path: Path) -> None:
    """Unknown attributes and missing required parameters are found with the component in another module."""
    found = _found(tmp_path, ATTRS)
    assert found == [
        ("TDOM007", "app/page.py", 8),
        ("TDOM007", "app/page.py", 8),
        ("TDOM007", "app/page.py", 9),
        ("TDOM007", "app/page.py", 10),
        ("TDOM007", "app/page.py", 10),
    ]


def test_tdom007_messages_name_the_parameter(tmp_path: Path) -> None:
    """The message for a misspelt attribute suggests the closest parameter."""
    _write(tmp_path, ATTRS)
    result = validate_sync(ToolContext.for_root(tmp_path), families=["TDOM"])
    messages = [i.message for i in result.issues if i.line == 10]
    assert any("did you mean `user_name`" in m for m in messages)
    assert any("required parameter(s) `user_name`" in m for m in messages)


def test_tdom007_quiet_when_a_decorator_may_change_the_signature(tmp_path: Path) -> None:
    """A component wrapped by an unknown decorator has an unknown signature, so its tags are not judged."""
    source = """
    from string.templatelib import Template
    from tdom import html

    from mylib import wrap


    @wrap
    def Card(*, title: str) -> Template:
        return t"<h2>{title}</h2>"


    def page() -> str:
        return html(t"<{Card} heading='x' />")
    """
    assert _found(tmp_path / "a", {"app/page.py": source}) == []
    plain = source.replace("    @wrap\n", "")
    assert _found(tmp_path / "b", {"app/page.py": plain}) == [("TDOM007", "app/page.py", 12)] * 2


def test_tdom007_node_era_reports_only_missing_parameters(tmp_path: Path) -> None:
    """Node-era tdom ignored unknown attributes, so only the missing ones are errors there."""
    files = {**ATTRS, "pyproject.toml": NODE_ERA}
    assert _found(tmp_path, files) == [("TDOM007", "app/page.py", 8), ("TDOM007", "app/page.py", 10)]


# --------------------------------------------------------------------------------------------------- TDOM008

TAGS = """
from string.templatelib import Template
from tdom import html


def Card(*, children: Template = t"") -> Template:
    return t"<section>{children}</section>"


def Note(*, children: Template = t"") -> Template:
    return t"<aside>{children}</aside>"


def page() -> str:
    return html(
        t'''<{Card}>one</Card>
<Card>two</{Card}>
<{Card}>three</{Note}>
<{Card}><{Card}>nested</{Card}></{Card}>
<div><Card /></div>'''
    )
"""


def test_tdom008_flags_bare_and_mismatched_tags(tmp_path: Path) -> None:
    """Bare component tags and closing tags naming another component are reported; nesting is fine."""
    found = _found(tmp_path, {"app/page.py": TAGS})
    assert found == [("TDOM008", "app/page.py", line) for line in (15, 16, 17, 19)]


def test_tdom008_flags_unclosed_and_stray_tags(tmp_path: Path) -> None:
    """An opening component tag without its close, and a close without an opening, are reported."""
    source = """
    from string.templatelib import Template
    from tdom import html


    def Card(*, children: Template = t"") -> Template:
        return t"<section>{children}</section>"


    def page() -> str:
        opened = html(t"<div><{Card}>never closed</div>")
        stray = html(t"<p>text</{Card}></p>")
        return opened + stray
    """
    assert _found(tmp_path, {"app/page.py": source}) == [
        ("TDOM008", "app/page.py", 10),
        ("TDOM008", "app/page.py", 11),
    ]


def test_tdom008_fix_repeats_the_component(tmp_path: Path) -> None:
    """The fix interpolates bare tags and makes each closing tag repeat its opening component."""
    fixed = _fix(tmp_path, {"app/page.py": TAGS}, "app/page.py", "TDOM008")
    expected = (
        TAGS.replace("one</Card>", "one</{Card}>")
        .replace("<Card>two", "<{Card}>two")
        .replace("three</{Note}>", "three</{Card}>")
        .replace("<div><Card /></div>", "<div><{Card} /></div>")
    )
    assert fixed == _golden(expected)


# --------------------------------------------------------------------------------------------------- TDOM009

CLASSES = """
from dataclasses import dataclass
from string.templatelib import Template

from tdom import html


class NoCall:
    def __init__(self, *, title: str = "") -> None:
        self.title = title


@dataclass
class NeedsRequest:
    def __call__(self, request) -> Template:
        return t"<p>{request}</p>"


@dataclass
class Lazy:
    async def __call__(self) -> Template:
        return t"<p>later</p>"


@dataclass
class Silent:
    def __call__(self) -> Template:
        print("nothing")


@dataclass
class Good:
    name: str = "x"

    def __call__(self, verbose: bool = False) -> Template:
        return t"<p>{self.name}</p>"


def page() -> str:
    return html(t"<{NoCall} /><{NeedsRequest} /><{Lazy} /><{Silent} /><{Good} />")
"""


def test_tdom009_flags_unusable_class_components(tmp_path: Path) -> None:
    """Missing `__call__`, required extra parameters, `async` and returning nothing are reported."""
    found = _found(tmp_path, {"app/page.py": CLASSES})
    assert found == [("TDOM009", "app/page.py", line) for line in (7, 14, 20, 26)]


def test_tdom009_quiet_on_classes_not_used_as_components(tmp_path: Path) -> None:
    """A callable class never interpolated as a tag is not a component."""
    source = CLASSES.replace("<{NoCall} /><{NeedsRequest} /><{Lazy} /><{Silent} />", "")
    assert _found(tmp_path, {"app/page.py": source}) == []


# --------------------------------------------------------------------------------------------------- TDOM010

HABITS = """
from tdom import html


def save() -> None:
    pass


def page(name: str) -> str:
    return html(
        t'''<div className="box">
  <label htmlFor="n">Name</label>
  <button onClick={save}>Save</button>
  <button onclick="save()">Save</button>
  <p>{{ name }}</p>
  <ul>{{% for x in items %}}<li>x</li>{{% endfor %}}</ul>
  <style>p {{ margin: 0 }}</style>
</div>'''
    )
"""


def test_tdom010_flags_jsx_and_jinja_habits(tmp_path: Path) -> None:
    """`className`, `htmlFor`, JSX handlers and Jinja syntax are reported; CSS braces in `<style>` are not."""
    found = _found(tmp_path, {"app/page.py": HABITS})
    assert found == [("TDOM010", "app/page.py", line) for line in (10, 11, 12, 14, 15, 15)]


def test_tdom010_quiet_outside_templates(tmp_path: Path) -> None:
    """Jinja syntax in plain strings (a Jinja template) is not tdom's business."""
    source = 'TEMPLATE = "<p className=x>{{ name }}</p>{% if x %}y{% endif %}"\n'
    assert _found(tmp_path, {"app/jinja.py": source}) == []


def test_tdom010_fix_renames_jsx_attributes(tmp_path: Path) -> None:
    """The fix renames `className` to `class` and `htmlFor` to `for`, leaving the rest for a hand fix."""
    source = 'from tdom import html\n\nX = html(t\'<div className="a"><label htmlFor="n">N</label></div>\')\n'
    fixed = _fix(tmp_path, {"app/page.py": source}, "app/page.py", "TDOM010")
    assert fixed == 'from tdom import html\n\nX = html(t\'<div class="a"><label for="n">N</label></div>\')\n'


# --------------------------------------------------------------------------------------------------- TDOM011

RAW = """
from string.templatelib import Template

from tdom import html


def page(title: str, children: Template, data: str, kind: str) -> str:
    heading = t"<b>{title}</b>"
    return html(
        t'''<!DOCTYPE {kind}>
<html>
  <head>
    <title>{heading}</title>
    <title>{title}</title>
    <script>const data = {data};</script>
    <script>{[t"x"]}</script>
  </head>
  <body><textarea>{children}</textarea></body>
</html>'''
    )
"""


def test_tdom011_flags_templates_in_raw_text_and_doctype(tmp_path: Path) -> None:
    """Templates or lists inside raw-text elements and any interpolation in `<!DOCTYPE>` are errors."""
    found = _found(tmp_path, {"app/page.py": RAW})
    assert found == [("TDOM011", "app/page.py", line) for line in (9, 12, 15, 17)]


# --------------------------------------------------------------------------------------------------- TDOM012

SAFE = """
from markupsafe import Markup
from tdom import html

BANNER = "<b>Sale</b>"


def page(request, bio: str) -> str:
    return html(
        t'''<div>{request.args["q"]:safe}</div>
<div>{BANNER:safe}</div>
<div>{bio:safe}</div>
{Markup(request.cookies["note"])}
{Markup("<hr>")}'''
    )
"""


def test_tdom012_flags_trusting_request_data(tmp_path: Path) -> None:
    """`:safe` and `Markup()` on request data are warnings; on constants they are not."""
    found = _found(tmp_path, {"app/page.py": SAFE})
    assert found == [("TDOM012", "app/page.py", 9), ("TDOM012", "app/page.py", 12)]


# --------------------------------------------------------------------------------------------------- TDOM013

DI_PARTS = """
from dataclasses import dataclass
from string.templatelib import Template

from svcs_di import Inject


class Users:
    pass


@dataclass
class Dashboard:
    users: Inject[Users]

    def __call__(self) -> Template:
        return t"<div>{self.users}</div>"


def Page(*, title: str) -> Template:
    return t"<main><h1>{title}</h1><{Dashboard} /></main>"


def Plain(*, title: str) -> Template:
    return t"<h1>{title}</h1>"
"""

DI_VIEWS = """
import tdom_svcs
from svcs import Container, Registry
from tdom import html

from app.parts import Dashboard, Page, Plain

registry = Registry()


def home() -> str:
    with Container(registry) as container:
        return html(t"<{Page} title='Home' />")


def dash(container: Container) -> str:
    return tdom_svcs.html(t"<{Dashboard} />")


def plain() -> str:
    return html(t"<{Plain} title='x' />")


def good(container: Container) -> str:
    return tdom_svcs.html(t"<{Dashboard} />", container=container)
"""


def test_tdom013_flags_di_components_rendered_without_container(tmp_path: Path) -> None:
    """tdom's html, or tdom_svcs.html without `container=`, cannot render (nested) DI components."""
    found = _found(tmp_path, {"app/parts.py": DI_PARTS, "app/views.py": DI_VIEWS})
    assert found == [("TDOM013", "app/views.py", 12), ("TDOM013", "app/views.py", 16)]


def test_tdom013_fix_switches_import_and_passes_container(tmp_path: Path) -> None:
    """The fix imports html from tdom_svcs and passes the one container in scope."""
    files = {"app/parts.py": DI_PARTS, "app/views.py": DI_VIEWS}
    fixed = _fix(tmp_path, files, "app/views.py", "TDOM013")
    expected = (
        DI_VIEWS.replace("from tdom import html", "from tdom_svcs import html")
        .replace(
            "html(t\"<{Page} title='Home' />\")", "html(t\"<{Page} title='Home' />\", container=container)"
        )
        .replace(
            'tdom_svcs.html(t"<{Dashboard} />")\n',
            'tdom_svcs.html(t"<{Dashboard} />", container=container)\n',
        )
    )
    assert fixed == _golden(expected)


# --------------------------------------------------------------------------------------------------- TDOM014

LEGACY = """
from tdom_svcs import html


def page(container, config) -> str:
    first = html(t"<p>a</p>", context=container)
    second = html(t"<p>b</p>", config=config, context=container)
    return first + second + html(t"<p>c</p>", container=container)
"""


def test_tdom014_flags_legacy_keywords(tmp_path: Path) -> None:
    """`context=` and `config=` on tdom_svcs.html are errors on current tdom, and allowed in the Node era."""
    assert _found(tmp_path / "a", {"app/page.py": LEGACY}) == [
        ("TDOM014", "app/page.py", 5),
        ("TDOM014", "app/page.py", 6),
        ("TDOM014", "app/page.py", 6),
    ]
    assert _found(tmp_path / "b", {"pyproject.toml": NODE_ERA, "app/page.py": LEGACY}) == []


def test_tdom014_fix_renames_to_container(tmp_path: Path) -> None:
    """The fix renames `context=` to `container=` and drops a redundant `config=`."""
    fixed = _fix(tmp_path, {"app/page.py": LEGACY}, "app/page.py", "TDOM014")
    assert fixed == _golden(
        LEGACY.replace(
            'html(t"<p>a</p>", context=container)', 'html(t"<p>a</p>", container=container)'
        ).replace("config=config, context=container", "container=container")
    )


# --------------------------------------------------------------------------------------------------- TDOM015

ORDER = """
from dataclasses import KW_ONLY, dataclass, field
from string.templatelib import Template

from svcs_di import Inject


class Users:
    pass


@dataclass
class Header:
    title: str = "Home"
    users: Inject[Users]

    def __call__(self) -> Template:
        return t"<h1>{self.title}</h1>"


@dataclass(kw_only=True)
class KwOnly:
    title: str = "Home"
    users: Inject[Users]


@dataclass
class Sentinel:
    title: str = "Home"
    _: KW_ONLY
    users: Inject[Users]


@dataclass
class PerField:
    title: str = "Home"
    users: Inject[Users] = field(kw_only=True)


@dataclass
class Base:
    theme: str = "light"


@dataclass
class Derived(Base):
    users: Inject[Users]
"""


def test_tdom015_flags_injected_fields_after_defaults(tmp_path: Path) -> None:
    """An `Inject` field without default after a defaulted one (here or in a base) is an error."""
    found = _found(tmp_path, {"app/parts.py": ORDER})
    assert found == [("TDOM015", "app/parts.py", 14), ("TDOM015", "app/parts.py", 46)]


def test_tdom015_fix_reorders_or_goes_keyword_only(tmp_path: Path) -> None:
    """The fix moves fields up within a class, and adds `kw_only=True` when the default is inherited."""
    fixed = _fix(tmp_path, {"app/parts.py": ORDER}, "app/parts.py", "TDOM015")
    expected = ORDER.replace(
        'class Header:\n    title: str = "Home"\n    users: Inject[Users]\n',
        'class Header:\n    users: Inject[Users]\n    title: str = "Home"\n',
    ).replace("@dataclass\nclass Derived(Base):", "@dataclass(kw_only=True)\nclass Derived(Base):")
    assert fixed == _golden(expected)


# --------------------------------------------------------------------------------------------------- TDOM016

OVERRIDES = {
    "app/parts.py": """
    from dataclasses import dataclass
    from string.templatelib import Template
    from typing import Protocol


    @dataclass(frozen=True)
    class Greeting:
        salutation: str = "Hello"

        def __call__(self) -> Template:
            return t"<h1>{self.salutation}</h1>"


    class Greeter(Protocol):
        def __call__(self) -> Template: ...


    class Widget:
        def __call__(self) -> Template:
            return t"<hr>"
    """,
    "app/site.py": """
    from dataclasses import dataclass
    from string.templatelib import Template

    from svcs_hopscotch.injectors import injectable

    from app.parts import Greeter, Greeting, Widget


    @injectable(for_=Greeting)
    class French(Greeting):
        salutation: str = "Bonjour"


    @injectable(for_=Widget)
    class Plain:
        def __call__(self) -> Template:
            return t"<h1>Hi</h1>"


    @injectable(for_=Greeting)
    @dataclass(frozen=True)
    class German(Greeting):
        salutation: str = "Hallo"


    @injectable(for_=Greeting)
    class Template2(Greeting):
        def __call__(self) -> Template:
            return t"<h2>{self.salutation}</h2>"


    @injectable(for_=Greeter)
    class Structural:
        def __call__(self) -> Template:
            return t"<h1>Hey</h1>"
    """,
}


def test_tdom016_flags_overrides_without_dataclass_or_base(tmp_path: Path) -> None:
    """Overrides changing fields without `@dataclass`, and `for_=` targets that are not bases, are found."""
    assert _found(tmp_path, OVERRIDES) == [("TDOM016", "app/site.py", 10), ("TDOM016", "app/site.py", 14)]


def test_tdom016_fix_adds_dataclass_and_base(tmp_path: Path) -> None:
    """The fix repeats the base's `@dataclass(...)` innermost and subclasses the `for_=` target."""
    fixed = _fix(tmp_path, OVERRIDES, "app/site.py", "TDOM016")
    expected = (
        textwrap.dedent(OVERRIDES["app/site.py"])
        .replace(
            "@injectable(for_=Greeting)\nclass French(Greeting):",
            "@injectable(for_=Greeting)\n@dataclass(frozen=True)\nclass French(Greeting):",
        )
        .replace("class Plain:", "class Plain(Widget):")
    )
    assert fixed == expected.lstrip("\n")


def test_tdom016_leaves_incompatible_bases_to_a_hand_fix(tmp_path: Path) -> None:
    """A plain class cannot subclass a frozen dataclass: the finding stays and the base is not added."""
    site = OVERRIDES["app/site.py"].replace("@injectable(for_=Widget)", "@injectable(for_=Greeting)")
    files = {"app/parts.py": OVERRIDES["app/parts.py"], "app/site.py": site}
    assert _found(tmp_path, files) == [("TDOM016", "app/site.py", 10), ("TDOM016", "app/site.py", 14)]
    apply_fixes(ToolContext.for_root(tmp_path), ["app/site.py"], rule_ids=["TDOM016"])
    assert "class Plain:" in (tmp_path / "app/site.py").read_text()
    assert _found(tmp_path, {}) == [("TDOM016", "app/site.py", 15)]
