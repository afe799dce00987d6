"""tdom components as a noun: what a component is, where it is used, and its signature.

A component is found in two ways:

- by *use*: a callable interpolated as a tag, `<{Card} title="x">…</{Card}>` or `<{Card} />`, in a t-string;
- by *shape*: a function annotated `-> Template` (or returning a t-string), or a class whose `__call__`
  returns a `Template`.

`extract_components(mod)` reads one module; `component_index(index)` is the project-wide view keyed by
qualified name (`app.components.Card`), computed once per `ProjectIndex`. The module also holds the small
markup scanner the TDOM rules share: `scan_markup(node)` turns a t-string into tags, attributes and the
places where interpolations sit (raw-text elements, `<!DOCTYPE>`), with offsets that map back to source
positions. Code is analysed with libcst only, never imported.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal

import libcst as cst
from libcst.metadata import GlobalScope
from pydantic import BaseModel, ConfigDict, Field

from punie_lsp.domain.context import ModuleContext, ProjectIndex

__all__ = (
    "INJECT_MARKERS",
    "INJECT_PACKAGES",
    "NODE_NAMES",
    "PLACEHOLDER",
    "TEMPLATE_NAMES",
    "ComponentSpec",
    "MarkupAttr",
    "MarkupTag",
    "ModuleFacts",
    "ProjectFacts",
    "PropSpec",
    "TemplateMarkup",
    "absolute_name",
    "annotation_is",
    "class_spec",
    "component_index",
    "dataclass_fields",
    "decorator_target",
    "extract_components",
    "function_spec",
    "inject_type",
    "is_dataclass_class",
    "method",
    "module_facts",
    "module_name",
    "project_facts",
    "resolve_node",
    "returns_of",
    "returns_template",
    "scan_markup",
    "tag_expressions",
)

INJECT_PACKAGES = ("svcs_di", "svcs_hopscotch", "tdom_svcs")
"""Packages whose `Inject` marks a dependency the container fills."""
INJECT_MARKERS = frozenset({"Inject", "Resource", "Get"})
"""Annotations tdom-svcs fills from the container (`Resource[T]` is the current resource, `Get` a lookup)."""

TEMPLATE_NAMES = frozenset({"string.templatelib.Template", "tdom.ScopedTemplate"})
NODE_NAMES = frozenset(
    f"tdom.{n}" for n in ("Node", "Element", "Fragment", "Text", "Comment", "DocumentType")
)
DATACLASS_DECORATORS = frozenset(
    {"dataclasses.dataclass", "attrs.define", "attrs.frozen", "attrs.mutable", "attr.s", "attr.define"}
)
IGNORED_BASES = frozenset(
    {
        "object",
        "builtins.object",
        "typing.Protocol",
        "typing.Generic",
        "abc.ABC",
        "typing_extensions.Protocol",
    }
)
TRANSPARENT_DECORATORS = frozenset(
    {
        "functools.cache",
        "functools.lru_cache",
        "svcs_di.injectors.injectable",
        "svcs_hopscotch.injectors.injectable",
        "svcs_hopscotch.injectable",
        "tdom_svcs.hookable",
        "tdom_svcs.middleware.hookable",
    }
)
"""Function decorators that keep the signature tdom sees; any other one makes it unknown."""
RAW_TEXT_ELEMENTS = frozenset({"script", "style", "textarea", "title"})

PropKind = Literal["positional_only", "positional_or_keyword", "keyword_only", "field"]

PLACEHOLDER = "\ue000"
"""Stands for one interpolation in a flattened t-string."""


# ---------------------------------------------------------------------------------------------------------
# The noun
# ---------------------------------------------------------------------------------------------------------


class PropSpec(BaseModel):
    """One property of a component: a parameter, a dataclass field or an `__init__` argument."""

    model_config = ConfigDict(extra="forbid")

    name: str
    """The Python name (an attribute `data-id` arrives as `data_id`)."""
    annotation: str | None = None
    """The annotation's source text, if any."""
    default: str | None = None
    """The default's source text, or None when there is none."""
    required: bool = True
    """Whether a caller must supply it (no default, not injected, not `children`)."""
    injected: bool = False
    """Annotated `Inject[T]`: the DI container supplies it."""
    kind: PropKind = "keyword_only"
    """How it is declared; positional-only props can never be supplied by tdom."""


class ComponentSpec(BaseModel):
    """A tdom component: its signature as tdom sees it, and where it is defined."""

    model_config = ConfigDict(extra="forbid")

    name: str
    """The defined name (`Card`)."""
    qualified_name: str
    """Module path plus name (`app.components.Card`)."""
    kind: Literal["function", "class"]
    """A function component, or a class whose instances are called."""
    props: list[PropSpec] = Field(default_factory=list)
    """Named properties (without `children`, `*args`, `**kwargs`)."""
    accepts_children: bool = False
    """Declares a `children` parameter or field."""
    accepts_kwargs: bool = False
    """Takes `**kwargs`, so any attribute is accepted."""
    requires_positional: bool = False
    """Has a required positional-only parameter or `*args` (tdom raises `TypeError`)."""
    injected: list[str] = Field(default_factory=list)
    """Types of the `Inject[T]` dependencies (source text of `T`)."""
    is_dataclass: bool = False
    """Decorated with `@dataclass` (or an attrs equivalent)."""
    bases: list[str] = Field(default_factory=list)
    """Resolved names of the class's bases (empty for functions)."""
    signature_known: bool = True
    """False when part of the signature comes from code outside the project (an unknown base class)."""
    used_as_tag: bool = False
    """Interpolated as `<{…}>` somewhere in the project."""
    by_shape: bool = False
    """Looks like a component on its own (annotated or returning a `Template`)."""
    file: str
    """Relative path of the defining module."""
    line: int
    """1-based line of the name."""
    column: int
    """1-based column of the name."""

    def prop(self, name: str) -> PropSpec | None:
        """The property an attribute named `name` lands on (kebab → snake, case-insensitive)."""
        wanted = name.replace("-", "_").lower()
        return next((p for p in self.props if p.name.lower() == wanted and p.kind != "positional_only"), None)

    @property
    def needs_container(self) -> bool:
        """Whether rendering it needs a DI container (it has `Inject[...]` dependencies)."""
        return bool(self.injected)


# ---------------------------------------------------------------------------------------------------------
# Markup scanning
# ---------------------------------------------------------------------------------------------------------


@dataclass(kw_only=True)
class MarkupAttr:
    """One attribute inside a tag (offsets into `TemplateMarkup.flat`)."""

    name: str | None
    """Static name; None for a spread `{attrs}`."""
    start: int
    end: int
    name_end: int
    value: Literal["none", "text", "expr", "mixed"] = "none"
    """No value, literal text, exactly one interpolation, or text mixed with interpolations."""
    exprs: list[cst.TemplatedStringExpression] = field(default_factory=list)
    """Interpolations in the value (or the spread itself)."""


@dataclass(kw_only=True)
class MarkupTag:
    """An opening or closing tag (offsets into `TemplateMarkup.flat`, `end` exclusive)."""

    kind: Literal["open", "close"]
    start: int
    end: int
    expr: cst.TemplatedStringExpression | None = None
    """The interpolated component of `<{C}>` / `</{C}>`."""
    name: str | None = None
    """The literal tag name of `<div>` / `</Card>`."""
    name_start: int = 0
    name_end: int = 0
    attrs: list[MarkupAttr] = field(default_factory=list)
    self_closing: bool = False
    complete: bool = True
    """The tag's `>` was found."""


@dataclass(kw_only=True)
class TemplateMarkup:
    """A t-string flattened to text with one `PLACEHOLDER` per interpolation, and what is in it."""

    node: cst.TemplatedString
    flat: str
    atoms: list[tuple[cst.CSTNode, int]]
    """For each character of `flat`: the part it comes from and its offset in that part's text."""
    exprs: list[cst.TemplatedStringExpression]
    """Interpolations in order."""
    tags: list[MarkupTag] = field(default_factory=list)
    raw_interpolations: list[tuple[str, cst.TemplatedStringExpression]] = field(default_factory=list)
    """(element, interpolation) inside `<script>`, `<style>`, `<textarea>` or `<title>`."""
    doctype_interpolations: list[cst.TemplatedStringExpression] = field(default_factory=list)
    """Interpolations inside `<!DOCTYPE …>`."""
    raw_spans: list[tuple[int, int]] = field(default_factory=list)
    """Offsets of raw-text element contents (braces there are CSS/JS, not Jinja)."""
    expr_offsets: dict[int, int] = field(default_factory=dict)
    """`id(interpolation)` → its offset in `flat`."""

    def position(self, mod: ModuleContext, offset: int) -> tuple[int, int]:
        """1-based `(line, column)` of the character at `offset` of `flat`."""
        offset = max(0, min(offset, len(self.flat) - 1))
        part, local = self.atoms[offset]
        start = mod.range(part).start
        if not isinstance(part, cst.TemplatedStringText):
            return start.line, start.column + 1
        before = part.value[:local]
        newlines = before.count("\n")
        if newlines == 0:
            return start.line, start.column + local + 1
        return start.line + newlines, local - before.rfind("\n")

    def span(self, mod: ModuleContext, start: int, end: int) -> tuple[int, int, int, int]:
        """1-based `(line, column, end_line, end_column)` of `flat[start:end]`."""
        line, column = self.position(mod, start)
        last = max(start, min(end, len(self.flat)) - 1)
        part, _ = self.atoms[last] if self.atoms else (self.node, 0)
        if isinstance(part, cst.TemplatedStringExpression):
            stop = mod.range(part).end
            return line, column, stop.line, stop.column + 1
        end_line, end_column = self.position(mod, last)
        return line, column, end_line, end_column + 1

    def pairs(self) -> Iterator[tuple[MarkupTag, MarkupTag | None]]:
        """Component-tag pairs `(open, close)` (close None when unclosed), ignoring plain elements."""
        stack: list[MarkupTag] = []
        for tag in self.tags:
            if not self.is_component_tag(tag):
                continue
            if tag.kind == "open":
                if tag.self_closing:
                    yield tag, None
                else:
                    stack.append(tag)
            elif stack:
                yield stack.pop(), tag
        yield from ((tag, None) for tag in reversed(stack))

    def is_component_tag(self, tag: MarkupTag) -> bool:
        """An interpolated tag, or a literal tag spelled like a Python name (`<Card>`)."""
        return tag.expr is not None or (tag.name is not None and tag.name[:1].isupper())


_NAME_END = re.compile(r"[\s/>" + PLACEHOLDER + r"]")
_ATTR_NAME_END = re.compile(r"[\s=/>" + PLACEHOLDER + r"\"']")
_UNQUOTED_END = re.compile(r"[\s>]")


def _flatten(node: cst.TemplatedString) -> TemplateMarkup:
    chars: list[str] = []
    atoms: list[tuple[cst.CSTNode, int]] = []
    exprs: list[cst.TemplatedStringExpression] = []
    offsets: dict[int, int] = {}
    for part in node.parts:
        if isinstance(part, cst.TemplatedStringText):
            chars.append(part.value)
            atoms.extend((part, i) for i in range(len(part.value)))
        elif isinstance(part, cst.TemplatedStringExpression):
            offsets[id(part)] = len(atoms)
            chars.append(PLACEHOLDER)
            atoms.append((part, 0))
            exprs.append(part)
    return TemplateMarkup(node=node, flat="".join(chars), atoms=atoms, exprs=exprs, expr_offsets=offsets)


def scan_markup(node: cst.TemplatedString) -> TemplateMarkup:
    """Scan a t-string's markup: tags, attributes, raw-text contents and declarations."""
    markup = _flatten(node)
    flat = markup.flat
    expr_at = {markup.expr_offsets[id(e)]: e for e in markup.exprs}
    size = len(flat)
    i = 0
    raw: str | None = None
    while i < size:
        if raw is not None:
            close = re.compile(r"</\s*" + raw + r"\b", re.IGNORECASE).search(flat, i)
            stop = close.start() if close else size
            markup.raw_spans.append((i, stop))
            for offset in range(i, stop):
                if flat[offset] == PLACEHOLDER:
                    markup.raw_interpolations.append((raw, expr_at[offset]))
            raw = None
            i = stop
            continue
        lt = flat.find("<", i)
        if lt < 0 or lt + 1 >= size:
            break
        nxt = flat[lt + 1]
        if flat.startswith("<!--", lt):
            end = flat.find("-->", lt + 4)
            i = size if end < 0 else end + 3
        elif nxt in "!?":
            end = flat.find(">", lt)
            end = size if end < 0 else end
            if flat[lt + 2 : lt + 9].lower() == "doctype":
                markup.doctype_interpolations.extend(
                    expr_at[o] for o in range(lt, end) if flat[o] == PLACEHOLDER
                )
            i = end + 1
        elif nxt == "/":
            i = _scan_close(markup, lt, expr_at)
        elif nxt == PLACEHOLDER or nxt.isalpha():
            tag = _scan_open(markup, lt, expr_at)
            i = tag.end
            if tag.name and tag.name.lower() in RAW_TEXT_ELEMENTS and not tag.self_closing and tag.complete:
                raw = tag.name.lower()
        else:
            i = lt + 1
    return markup


def _scan_close(markup: TemplateMarkup, lt: int, expr_at: dict[int, cst.TemplatedStringExpression]) -> int:
    flat = markup.flat
    j = lt + 2
    while j < len(flat) and flat[j].isspace():
        j += 1
    tag = MarkupTag(kind="close", start=lt, end=j, name_start=j, name_end=j)
    if j < len(flat) and flat[j] == PLACEHOLDER:
        tag.expr = expr_at[j]
        tag.name_end = j + 1
    else:
        match = _NAME_END.search(flat, j)
        tag.name_end = match.start() if match else len(flat)
        tag.name = flat[j : tag.name_end] or None
    gt = flat.find(">", tag.name_end)
    tag.complete = gt >= 0
    tag.end = gt + 1 if gt >= 0 else len(flat)
    markup.tags.append(tag)
    return tag.end


def _scan_open(
    markup: TemplateMarkup, lt: int, expr_at: dict[int, cst.TemplatedStringExpression]
) -> MarkupTag:
    flat = markup.flat
    size = len(flat)
    tag = MarkupTag(kind="open", start=lt, end=size, name_start=lt + 1)
    if flat[lt + 1] == PLACEHOLDER:
        tag.expr = expr_at[lt + 1]
        j = lt + 2
    else:
        match = _NAME_END.search(flat, lt + 1)
        j = match.start() if match else size
        tag.name = flat[lt + 1 : j]
    tag.name_end = j
    tag.complete = False
    while j < size:
        ch = flat[j]
        if ch.isspace():
            j += 1
        elif ch == ">":
            tag.end, tag.complete = j + 1, True
            break
        elif flat.startswith("/>", j):
            tag.end, tag.complete, tag.self_closing = j + 2, True, True
            break
        elif ch == "/":
            j += 1
        elif ch == PLACEHOLDER:
            tag.attrs.append(MarkupAttr(name=None, start=j, end=j + 1, name_end=j + 1, exprs=[expr_at[j]]))
            j += 1
        else:
            j = _scan_attr(markup, tag, j, expr_at)
    markup.tags.append(tag)
    return tag


def _scan_attr(
    markup: TemplateMarkup, tag: MarkupTag, j: int, expr_at: dict[int, cst.TemplatedStringExpression]
) -> int:
    flat = markup.flat
    size = len(flat)
    match = _ATTR_NAME_END.search(flat, j + 1)
    name_end = match.start() if match else size
    attr = MarkupAttr(name=flat[j:name_end], start=j, end=name_end, name_end=name_end)
    tag.attrs.append(attr)
    k = name_end
    while k < size and flat[k].isspace():
        k += 1
    if k >= size or flat[k] != "=":
        return name_end
    k += 1
    while k < size and flat[k].isspace():
        k += 1
    if k >= size:
        return k
    if flat[k] in "\"'":
        close = flat.find(flat[k], k + 1)
        value_end = close + 1 if close >= 0 else size
        body = flat[k + 1 : value_end - 1] if close >= 0 else flat[k + 1 :]
        body_start = k + 1
    elif flat[k] == PLACEHOLDER:
        value_end = k + 1
        body, body_start = flat[k], k
    else:
        found = _UNQUOTED_END.search(flat, k)
        value_end = found.start() if found else size
        body, body_start = flat[k:value_end], k
    attr.exprs = [expr_at[body_start + n] for n, ch in enumerate(body) if ch == PLACEHOLDER]
    if body == PLACEHOLDER:
        attr.value = "expr"
    elif attr.exprs:
        attr.value = "mixed"
    else:
        attr.value = "text"
    attr.end = value_end
    return value_end


# ---------------------------------------------------------------------------------------------------------
# Names
# ---------------------------------------------------------------------------------------------------------


def module_name(relative: str) -> str:
    """Dotted module name of a relative path: `src/app/views.py` → `app.views`, `app/__init__.py` → `app`."""
    parts = relative.removesuffix(".py").split("/")
    if parts and parts[-1] == "__init__":
        parts.pop()
    if len(parts) > 1 and parts[0] == "src":
        parts.pop(0)
    return ".".join(parts)


def absolute_name(qualified: str, relative: str) -> str:
    """Make a libcst qualified name absolute for the module at `relative` (`.x.Card`, or a local `Card`)."""
    module = module_name(relative)
    if not qualified.startswith("."):
        return qualified if "." in qualified else f"{module}.{qualified}"
    dots = len(qualified) - len(qualified.lstrip("."))
    package = module.split(".") if relative.endswith("__init__.py") else module.split(".")[:-1]
    package = package[: max(0, len(package) - (dots - 1))]
    rest = qualified[dots:]
    return ".".join([*package, rest]) if rest else ".".join(package)


def _import_target(module: cst.BaseExpression | None, relative_dots: int, relative: str) -> str:
    dotted = _dotted(module) if module is not None else ""
    return absolute_name("." * relative_dots + dotted, relative) if relative_dots else dotted


def _dotted(node: cst.BaseExpression) -> str:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return f"{_dotted(node.value)}.{node.attr.value}"
    return ""


def resolve_node(mod: ModuleContext, node: cst.CSTNode) -> set[str]:
    """Absolute dotted names `node` may refer to (relative imports and module-local names made absolute)."""
    return {absolute_name(q, mod.relative) for q in mod.qualified_names(node) if "<locals>" not in q}


def decorator_target(decorator: cst.Decorator) -> cst.BaseExpression:
    """The decorator's callable: `dataclass` for both `@dataclass` and `@dataclass(frozen=True)`."""
    inner = decorator.decorator
    return inner.func if isinstance(inner, cst.Call) else inner


def is_dataclass_class(mod: ModuleContext, node: cst.ClassDef) -> cst.Decorator | None:
    """The `@dataclass` (or attrs) decorator of `node`, if it has one."""
    for decorator in node.decorators:
        if mod.refers_to(decorator_target(decorator), *DATACLASS_DECORATORS):
            return decorator
    return None


def inject_type(mod: ModuleContext, annotation: cst.BaseExpression) -> str | None:
    """`T` for an `Inject[T]` (or `Resource[T]`, `Get[T, …]`, `InitVar[Inject[T]]`) annotation, else None."""
    if isinstance(annotation, cst.Subscript) and mod.refers_to(annotation.value, "dataclasses.InitVar"):
        inner = annotation.slice[0].slice if annotation.slice else None
        if isinstance(inner, cst.Index):
            return inject_type(mod, inner.value)
        return None
    if not isinstance(annotation, cst.Subscript):
        return None
    names = mod.qualified_names(annotation.value)
    if not any(
        n.rsplit(".", 1)[-1] in INJECT_MARKERS and n.split(".", 1)[0] in INJECT_PACKAGES for n in names
    ):
        return None
    first = annotation.slice[0].slice if annotation.slice else None
    return mod.code(first.value).strip() if isinstance(first, cst.Index) else None


# ---------------------------------------------------------------------------------------------------------
# Per-module facts
# ---------------------------------------------------------------------------------------------------------


@dataclass(kw_only=True)
class ModuleFacts:
    """What one module holds, gathered in a single walk."""

    module: cst.Module
    name: str
    """The dotted module name."""
    tstrings: list[cst.TemplatedString]
    """Every t-string, outermost first."""
    calls: list[cst.Call]
    """Every call."""
    import_froms: list[cst.ImportFrom]
    """Every `from … import …`, at any depth."""
    returns: dict[int, list[cst.Return]]
    """`id(FunctionDef)` → the `return` statements of that function itself."""
    yields: set[int]
    """`id(FunctionDef)` of generator functions."""
    functions: dict[str, cst.FunctionDef]
    """Module-level functions by name."""
    classes: dict[str, cst.ClassDef]
    """Module-level classes by name."""
    imports: dict[str, str]
    """Module-level imported names → absolute targets (`Card` → `app.components.Card`)."""
    cache: dict[str, object] = field(default_factory=dict)
    """Per-module results the rules compute once (keyed by the rule family's own names)."""
    _markup: dict[int, TemplateMarkup] = field(default_factory=dict)

    def markup(self, node: cst.TemplatedString) -> TemplateMarkup:
        """The scanned markup of a t-string of this module (scanned once)."""
        found = self._markup.get(id(node))
        if found is None:
            found = self._markup[id(node)] = scan_markup(node)
        return found


def _collect(mod: ModuleContext) -> ModuleFacts:
    # The scope metadata (which every rule resolving a name needs anyway) maps every expression and
    # statement to its scope, in tree order: walking its keys is far cheaper than another tree visit.
    scopes = mod.scopes
    tstrings: list[cst.TemplatedString] = []
    calls: list[cst.Call] = []
    import_froms: list[cst.ImportFrom] = []
    returns: dict[int, list[cst.Return]] = {}
    yields: set[int] = set()
    for node in scopes:
        if isinstance(node, cst.Call):
            calls.append(node)
        elif isinstance(node, cst.TemplatedString):
            tstrings.append(node)
        elif isinstance(node, (cst.Return, cst.Yield)):
            owner = getattr(scopes[node], "node", None)
            if isinstance(owner, cst.FunctionDef):
                if isinstance(node, cst.Return):
                    returns.setdefault(id(owner), []).append(node)
                else:
                    yields.add(id(owner))
        elif isinstance(node, cst.ImportFrom):
            import_froms.append(node)
    functions: dict[str, cst.FunctionDef] = {}
    classes: dict[str, cst.ClassDef] = {}
    imports: dict[str, str] = {}
    for statement in mod.module.body:
        if isinstance(statement, cst.FunctionDef):
            functions[statement.name.value] = statement
        elif isinstance(statement, cst.ClassDef):
            classes[statement.name.value] = statement
        elif isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                _record_import(small, mod.relative, imports)
    return ModuleFacts(
        module=mod.module,
        name=module_name(mod.relative),
        tstrings=tstrings,
        calls=calls,
        import_froms=import_froms,
        returns=returns,
        yields=yields,
        functions=functions,
        classes=classes,
        imports=imports,
    )


def _record_import(small: cst.BaseSmallStatement, relative: str, imports: dict[str, str]) -> None:
    if isinstance(small, cst.ImportFrom) and not isinstance(small.names, cst.ImportStar):
        base = _import_target(small.module, len(small.relative), relative)
        for alias in small.names:
            name = _dotted(alias.name)
            local = alias.asname.name if alias.asname else alias.name
            if isinstance(local, cst.Name):
                imports[local.value] = f"{base}.{name}" if base else name
    elif isinstance(small, cst.Import):
        for alias in small.names:
            dotted = _dotted(alias.name)
            if alias.asname and isinstance(alias.asname.name, cst.Name):
                imports[alias.asname.name.value] = dotted
            else:
                imports[dotted.split(".")[0]] = dotted.split(".")[0]


_FACTS: dict[int, tuple[weakref.ref[ModuleContext], ModuleFacts]] = {}
"""`id(ModuleContext)` → its facts; an entry lives exactly as long as its module context."""


def module_facts(mod: ModuleContext) -> ModuleFacts:
    """The module's facts, computed once per module context (and dropped with it)."""
    key = id(mod)
    cached = _FACTS.get(key)
    if cached is not None and cached[0]() is mod and cached[1].module is mod.module:
        return cached[1]
    facts = _collect(mod)
    _FACTS[key] = (weakref.ref(mod), facts)
    weakref.finalize(mod, _FACTS.pop, key, None)
    return facts


# ---------------------------------------------------------------------------------------------------------
# Signatures
# ---------------------------------------------------------------------------------------------------------


def returns_of(mod: ModuleContext, func: cst.FunctionDef) -> list[cst.Return]:
    """The `return` statements of `func` itself (not of nested functions or classes)."""
    return module_facts(mod).returns.get(id(func), [])


def method(node: cst.ClassDef, name: str) -> cst.FunctionDef | None:
    """The method `name` defined directly in the class body."""
    body = node.body.body if isinstance(node.body, cst.IndentedBlock) else ()
    return next((s for s in body if isinstance(s, cst.FunctionDef) and s.name.value == name), None)


def annotation_is(mod: ModuleContext, annotation: cst.Annotation | None, names: Collection[str]) -> bool:
    """Whether an annotation resolves to one of `names` (string annotations are read by spelling)."""
    if annotation is None:
        return False
    value = annotation.annotation
    if isinstance(value, cst.SimpleString):
        text = value.evaluated_value
        return isinstance(text, str) and any(text == n.rsplit(".", 1)[-1] for n in names)
    return mod.refers_to(value, *names)


def returns_template(mod: ModuleContext, func: cst.FunctionDef) -> bool:
    """Annotated `-> Template`, or returns a t-string."""
    if annotation_is(mod, func.returns, TEMPLATE_NAMES):
        return True
    return any(isinstance(r.value, cst.TemplatedString) for r in returns_of(mod, func))


def _param_props(
    mod: ModuleContext, params: cst.Parameters, *, skip_self: bool
) -> tuple[list[PropSpec], bool]:
    """Props of a parameter list and whether it requires positional arguments."""
    props: list[PropSpec] = []
    requires_positional = isinstance(params.star_arg, cst.Param)
    groups: list[tuple[Sequence[cst.Param], PropKind]] = [
        (params.posonly_params, "positional_only"),
        (params.params, "positional_or_keyword"),
        (params.kwonly_params, "keyword_only"),
    ]
    first = True
    for group, kind in groups:
        for param in group:
            if skip_self and first and kind != "keyword_only":
                first = False
                continue
            first = False
            props.append(_prop(mod, param.name.value, param.annotation, param.default, kind))
            if kind == "positional_only" and param.default is None:
                requires_positional = True
    return props, requires_positional


def _prop(
    mod: ModuleContext,
    name: str,
    annotation: cst.Annotation | None,
    default: cst.BaseExpression | None,
    kind: PropKind,
) -> PropSpec:
    injected = annotation is not None and inject_type(mod, annotation.annotation) is not None
    return PropSpec(
        name=name,
        annotation=mod.code(annotation.annotation) if annotation else None,
        default=mod.code(default) if default is not None else None,
        required=default is None and not injected and name != "children",
        injected=injected,
        kind=kind,
    )


def dataclass_fields(mod: ModuleContext, node: cst.ClassDef) -> list[tuple[cst.AnnAssign, PropSpec]]:
    """The `__init__` fields of a dataclass body, in order (ClassVar, `KW_ONLY` and `init=False` skipped)."""
    fields: list[tuple[cst.AnnAssign, PropSpec]] = []
    body = node.body.body if isinstance(node.body, cst.IndentedBlock) else ()
    for statement in body:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if not isinstance(small, cst.AnnAssign) or not isinstance(small.target, cst.Name):
                continue
            annotation = small.annotation.annotation
            target = annotation.value if isinstance(annotation, cst.Subscript) else annotation
            if mod.refers_to(target, "typing.ClassVar", "dataclasses.KW_ONLY"):
                continue
            default = small.value
            if isinstance(default, cst.Call) and mod.refers_to(
                default.func, "dataclasses.field", "attrs.field"
            ):
                if _keyword_is(default, "init", "False"):
                    continue
                has_default = any(
                    a.keyword and a.keyword.value in ("default", "default_factory", "factory")
                    for a in default.args
                )
                default = default if has_default else None
            fields.append((small, _prop(mod, small.target.value, small.annotation, default, "field")))
    return fields


def _keyword_is(call: cst.Call, keyword: str, value: str) -> bool:
    return any(
        a.keyword and a.keyword.value == keyword and isinstance(a.value, cst.Name) and a.value.value == value
        for a in call.args
    )


def _spec_position(mod: ModuleContext, node: cst.FunctionDef | cst.ClassDef) -> tuple[int, int]:
    where = mod.range(node.name).start
    return where.line, where.column + 1


def function_spec(mod: ModuleContext, node: cst.FunctionDef, *, used: bool = False) -> ComponentSpec:
    """The component signature of a function."""
    props, requires_positional = _param_props(mod, node.params, skip_self=False)
    line, column = _spec_position(mod, node)
    name = node.name.value
    return ComponentSpec(
        name=name,
        qualified_name=f"{module_name(mod.relative)}.{name}",
        kind="function",
        props=[p for p in props if p.name != "children"],
        accepts_children=any(p.name == "children" and p.kind != "positional_only" for p in props),
        accepts_kwargs=isinstance(node.params.star_kwarg, cst.Param),
        requires_positional=requires_positional,
        injected=_injected(mod, node.params),
        signature_known=all(
            mod.refers_to(decorator_target(d), *TRANSPARENT_DECORATORS) for d in node.decorators
        ),
        used_as_tag=used,
        by_shape=returns_template(mod, node),
        file=mod.relative,
        line=line,
        column=column,
    )


def _injected(mod: ModuleContext, params: cst.Parameters) -> list[str]:
    found = []
    for param in (*params.posonly_params, *params.params, *params.kwonly_params):
        if param.annotation is not None and (inner := inject_type(mod, param.annotation.annotation)):
            found.append(inner)
    return found


def class_spec(mod: ModuleContext, node: cst.ClassDef, *, used: bool = False) -> ComponentSpec:
    """The component signature of a class (its own body only; bases are merged by `component_index`)."""
    decorator = is_dataclass_class(mod, node)
    init = method(node, "__init__")
    injected: list[str] = []
    accepts_kwargs = False
    requires_positional = False
    if init is not None:
        props, requires_positional = _param_props(mod, init.params, skip_self=True)
        accepts_kwargs = isinstance(init.params.star_kwarg, cst.Param)
        injected = _injected(mod, init.params)
    elif decorator is not None:
        fields = dataclass_fields(mod, node)
        props = [spec for _, spec in fields]
        injected = [t for a, _ in fields if (t := inject_type(mod, a.annotation.annotation))]
    else:
        props = []
    bases = [_base_name(mod, arg.value) for arg in node.bases if arg.keyword is None]
    call = method(node, "__call__")
    line, column = _spec_position(mod, node)
    name = node.name.value
    return ComponentSpec(
        name=name,
        qualified_name=f"{module_name(mod.relative)}.{name}",
        kind="class",
        props=[p for p in props if p.name != "children"],
        accepts_children=any(p.name == "children" for p in props),
        accepts_kwargs=accepts_kwargs,
        requires_positional=requires_positional,
        injected=injected,
        is_dataclass=decorator is not None,
        bases=[b for b in bases if b not in IGNORED_BASES],
        used_as_tag=used,
        by_shape=call is not None and returns_template(mod, call),
        file=mod.relative,
        line=line,
        column=column,
    )


def _base_name(mod: ModuleContext, node: cst.BaseExpression) -> str:
    target = node.value if isinstance(node, cst.Subscript) else node
    names = sorted(resolve_node(mod, target))
    return names[0] if names else mod.code(target)


def extract_components(mod: ModuleContext, used: Collection[str] = ()) -> list[ComponentSpec]:
    """Components defined at module level in `mod`: by shape, or because their qualified name is in `used`.

    `used` holds qualified names interpolated as tags anywhere (the project index passes them); tags in
    this module itself always count.
    """
    facts = module_facts(mod)
    used_here = set(used) | _tags_used(mod, facts)
    specs: list[ComponentSpec] = []
    for name, func in facts.functions.items():
        if f"{facts.name}.{name}" in used_here or returns_template(mod, func):
            specs.append(function_spec(mod, func, used=f"{facts.name}.{name}" in used_here))
    for name, klass in facts.classes.items():
        call = method(klass, "__call__")
        if f"{facts.name}.{name}" in used_here or (call is not None and returns_template(mod, call)):
            specs.append(class_spec(mod, klass, used=f"{facts.name}.{name}" in used_here))
    return specs


def tag_expressions(mod: ModuleContext, facts: ModuleFacts) -> Iterator[tuple[TemplateMarkup, MarkupTag]]:
    """Every interpolated component tag (`<{C}>`, `</{C}>`) in the module's t-strings."""
    for node in facts.tstrings:
        markup = facts.markup(node)
        for tag in markup.tags:
            if tag.expr is not None:
                yield markup, tag


def _tags_used(mod: ModuleContext, facts: ModuleFacts) -> set[str]:
    cached = facts.cache.get("components:tags_used")
    if isinstance(cached, set):
        return cached
    used: set[str] = set()
    for _, tag in tag_expressions(mod, facts):
        if tag.kind == "open" and tag.expr is not None:
            used |= resolve_node(mod, tag.expr.expression)
    facts.cache["components:tags_used"] = used
    return used


# ---------------------------------------------------------------------------------------------------------
# The project
# ---------------------------------------------------------------------------------------------------------


@dataclass(kw_only=True)
class ProjectFacts:
    """Project-wide component facts (one per `ProjectIndex`, through `index.memo`)."""

    modules: dict[str, ModuleContext]
    """Dotted module name → module."""
    facts: dict[str, ModuleFacts]
    """Dotted module name → its facts."""
    components: dict[str, ComponentSpec]
    """Qualified name → component."""
    needs_container: set[str]
    """Components that need a DI container to render, directly or through the components they render."""

    def resolve(self, qualified: str) -> str | None:
        """Follow re-exports (`from .card import Card` in a package) to a module-level definition."""
        for _ in range(8):
            module, _, name = qualified.rpartition(".")
            facts = self.facts.get(module)
            if facts is None:
                return None
            if name in facts.functions or name in facts.classes:
                return qualified
            target = facts.imports.get(name)
            if target is None or target == qualified:
                return None
            qualified = target
        return None

    def definition(self, qualified: str) -> tuple[ModuleContext, cst.FunctionDef | cst.ClassDef] | None:
        """The module and node defining `qualified` (after re-exports)."""
        found = self.resolve(qualified)
        if found is None:
            return None
        module, _, name = found.rpartition(".")
        facts = self.facts[module]
        node = facts.functions.get(name) or facts.classes.get(name)
        return (self.modules[module], node) if node is not None else None

    def class_definition(self, qualified: str | None) -> tuple[ModuleContext, cst.ClassDef] | None:
        """The module and class defining `qualified` (None when it is not a project class)."""
        found = self.definition(qualified) if qualified else None
        if found is None:
            return None
        mod, node = found
        return (mod, node) if isinstance(node, cst.ClassDef) else None

    def component_for(self, mod: ModuleContext, node: cst.CSTNode) -> ComponentSpec | None:
        """The component an expression in `mod` refers to, if it is one of the project's."""
        for name in sorted(resolve_node(mod, node)):
            resolved = self.resolve(name)
            if resolved is not None and resolved in self.components:
                return self.components[resolved]
        return None


def project_facts(index: ProjectIndex) -> ProjectFacts:
    """The project's component facts, computed once per index."""
    return index.memo("tdom:project", _compute_project)


def component_index(index: ProjectIndex) -> dict[str, ComponentSpec]:
    """Every component of the project, keyed by qualified name (`app.components.Card`)."""
    return project_facts(index).components


def _compute_project(index: ProjectIndex) -> ProjectFacts:
    modules: dict[str, ModuleContext] = {}
    facts: dict[str, ModuleFacts] = {}
    for mod in index.iter_modules():
        name = module_name(mod.relative)
        modules.setdefault(name, mod)
        facts.setdefault(name, module_facts(mod))
    project = ProjectFacts(modules=modules, facts=facts, components={}, needs_container=set())
    used: set[str] = set()
    for name, mod in modules.items():
        for qualified in _tags_used(mod, facts[name]):
            resolved = project.resolve(qualified)
            if resolved is not None:
                used.add(resolved)
    for mod in modules.values():
        for spec in extract_components(mod, used):
            project.components[spec.qualified_name] = spec
    for qualified, spec in list(project.components.items()):
        if spec.kind == "class" and spec.bases:
            project.components[qualified] = _merge_bases(project, spec, set())
    project.needs_container = _needs_container(project)
    return project


def _class_spec_any(project: ProjectFacts, qualified: str) -> ComponentSpec | None:
    """A class's spec whether or not it is a component (bases need not be components)."""
    if qualified in project.components:
        return project.components[qualified]
    found = project.class_definition(qualified)
    return class_spec(*found) if found is not None else None


def _merge_bases(project: ProjectFacts, spec: ComponentSpec, seen: set[str]) -> ComponentSpec:
    if spec.qualified_name in seen:
        return spec
    seen = seen | {spec.qualified_name}
    own = {p.name for p in spec.props}
    found = project.class_definition(spec.qualified_name)
    has_init = found is not None and method(found[1], "__init__") is not None
    inherited: list[PropSpec] = []
    known = spec.signature_known
    children, kwargs, positional = spec.accepts_children, spec.accepts_kwargs, spec.requires_positional
    injected = list(spec.injected)
    for base in spec.bases:
        resolved = project.resolve(base)
        base_spec = _class_spec_any(project, resolved) if resolved else None
        if base_spec is None:
            known = False
            continue
        base_spec = _merge_bases(project, base_spec, seen)
        known = known and base_spec.signature_known
        if has_init or (not spec.is_dataclass and spec.props):
            continue
        inherited.extend(
            p for p in base_spec.props if p.name not in own and p.name not in {q.name for q in inherited}
        )
        children = children or base_spec.accepts_children
        kwargs = kwargs or base_spec.accepts_kwargs
        positional = positional or base_spec.requires_positional
        injected.extend(t for t in base_spec.injected if t not in injected)
    return spec.model_copy(
        update={
            "props": [*inherited, *spec.props],
            "signature_known": known,
            "accepts_children": children,
            "accepts_kwargs": kwargs,
            "requires_positional": positional,
            "injected": injected,
        }
    )


def _needs_container(project: ProjectFacts) -> set[str]:
    """Components with `Inject[...]`, plus those whose templates render such components (a fixpoint)."""
    needs = {q for q, spec in project.components.items() if spec.injected}
    if not needs:
        return needs
    renders: dict[str, set[str]] = {}
    for name, mod in project.modules.items():
        facts = project.facts[name]
        for tstring in facts.tstrings:
            owner = _top_level_owner(mod, tstring)
            if owner is None or f"{name}.{owner}" not in project.components:
                continue
            for tag in facts.markup(tstring).tags:
                if tag.kind == "open" and tag.expr is not None:
                    spec = project.component_for(mod, tag.expr.expression)
                    if spec is not None:
                        renders.setdefault(f"{name}.{owner}", set()).add(spec.qualified_name)
    changed = True
    while changed:
        changed = False
        for qualified, targets in renders.items():
            if qualified not in needs and targets & needs:
                needs.add(qualified)
                changed = True
    return needs


def _top_level_owner(mod: ModuleContext, node: cst.CSTNode) -> str | None:
    """The name of the module-level function or class whose body holds `node`."""
    scope = mod.scopes.get(node)
    owner = None
    while scope is not None and scope.parent is not scope:
        owner = getattr(scope, "node", None)
        scope = scope.parent
        if isinstance(scope, GlobalScope):
            break
    return owner.name.value if isinstance(owner, (cst.FunctionDef, cst.ClassDef)) else None
