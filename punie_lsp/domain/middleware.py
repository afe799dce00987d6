"""The middleware noun: tdom-svcs middleware classes and the project-wide facts about their chains.

tdom-svcs middleware is a class with an int `priority` and `__call__(self, target, props, context)`
returning the (possibly new) props or `None` to halt the chain. It is *global* when decorated with
`@middleware` (and then scanned) or registered with `register_middleware(registry, Cls)`, and *per
target* when listed in a `@hookable(middleware={"phase": [Cls, ...]})` map. Global middleware runs
only through `execute_middleware` / `execute_middleware_async`, per-target middleware only through
`execute_target_middleware(target, props, container, phase=...)`; rendering runs neither.

`extract_middleware(mod)` reads what one module says on its own; `middleware_index(index)` joins
every module of the project (memoised on the `ProjectIndex`) so that rules can follow a class from
its definition to the hookable maps, registrations, scans and `execute_*` calls elsewhere. Nothing
is imported: everything is read from the libcst trees, with names resolved as libcst's
`QualifiedNameProvider` resolves them (aliases and shadowing included).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from dataclasses import fields as dataclass_fields
from functools import cached_property
from typing import Any, Literal

import libcst as cst
from pydantic import BaseModel, ConfigDict, Field

from punie_lsp.domain.context import ModuleContext, ProjectIndex

__all__ = (
    "ClassRecord",
    "ExecuteCall",
    "FieldInfo",
    "HookableMap",
    "MapEntry",
    "MiddlewareIndex",
    "MiddlewareSpec",
    "ModuleFacts",
    "PhaseKey",
    "PriorityInfo",
    "RegisterCall",
    "ScanCall",
    "build_middleware_index",
    "call_method",
    "child_nodes",
    "class_fields",
    "classify",
    "extract_middleware",
    "is_inject_annotation",
    "iter_nodes",
    "literal_value",
    "middleware_context",
    "middleware_index",
    "module_facts",
    "module_name",
    "own_priority",
)

_PACKAGES = ("tdom_svcs", "svcs_hopscotch", "svcs_di")
"""Modules whose names a module must spell for any of its names to resolve into this domain."""


def _tdom(*names: str) -> frozenset[str]:
    return frozenset(f"{module}.{name}" for name in names for module in ("tdom_svcs", "tdom_svcs.middleware"))


MIDDLEWARE_DECORATOR = _tdom("middleware")
HOOKABLE_DECORATOR = _tdom("hookable")
REGISTER_MIDDLEWARE = _tdom("register_middleware")
REGISTER_HOOKABLE = _tdom("register_hookable")
EXECUTE_SYNC = _tdom("execute_middleware")
EXECUTE_ASYNC = _tdom("execute_middleware_async")
EXECUTE_TARGET = _tdom("execute_target_middleware")
PROTOCOLS = _tdom("Middleware", "AsyncMiddleware") | frozenset(
    {"tdom_svcs.types.Middleware", "tdom_svcs.types.AsyncMiddleware"}
)
SCAN = frozenset(
    {
        "tdom_svcs.scan",
        "tdom_svcs.scanning.scan",
        "svcs_hopscotch.scan",
        "svcs_hopscotch.injectors.scan",
        "svcs_hopscotch.injectors.scanning.scan",
        "svcs_di.injectors.scan",
        "svcs_di.injectors.scanning.scan",
    }
)
REGISTRIES = frozenset(
    {
        "svcs.Registry",
        "svcs_hopscotch.HopscotchRegistry",
        "svcs_hopscotch.injectors.HopscotchRegistry",
        "svcs_di.injectors.HopscotchRegistry",
        "svcs_di.injectors.hopscotch.HopscotchRegistry",
    }
)
DATACLASS_DECORATORS = frozenset(
    {
        "dataclasses.dataclass",
        "pydantic.dataclasses.dataclass",
        "attr.s",
        "attr.attrs",
        "attr.define",
        "attr.frozen",
        "attrs.define",
        "attrs.frozen",
        "attrs.mutable",
    }
)
NEUTRAL_BASES = PROTOCOLS | frozenset(
    {"builtins.object", "typing.Protocol", "typing_extensions.Protocol", "typing.Generic", "abc.ABC"}
)
"""Bases that give a middleware neither a `priority` value nor a working `__call__`."""
PROTOCOL_BASES = frozenset({"typing.Protocol", "typing_extensions.Protocol"})


class MiddlewareSpec(BaseModel):
    """One middleware class as the project declares it (read statically, never imported)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    """The class name (`LoggingMiddleware`)."""
    qualified_name: str
    """Dotted module path plus class name (`app.middleware.LoggingMiddleware`)."""
    priority: int | None = None
    """The literal `priority` value when it is an int literal (own or inherited); None otherwise."""
    priority_text: str | None = None
    """The source text of the `priority` value (`-10`, `"high"`, `LOW`); None when there is none."""
    phases: list[str] = Field(default_factory=list)
    """Phase names of the `@hookable(middleware={...})` maps that list this class, sorted."""
    targets: list[str] = Field(default_factory=list)
    """The hookable targets whose maps list this class, sorted."""
    is_global: bool = False
    """Global middleware: decorated with `@middleware` or registered with `register_middleware`."""
    categories: list[str] | None = None
    """String-literal `categories=` of its `@middleware(...)` or `register_middleware(...)`; None if unset."""
    is_async: bool = False
    """Whether `__call__` is `async def` (own or inherited)."""
    injected: list[str] = Field(default_factory=list)
    """Names of the fields or `__init__` parameters annotated `Inject[...]`."""
    file: str
    """Path of the defining module, relative to the workspace root."""
    line: int
    """1-based line of the class name."""
    column: int
    """1-based column of the class name."""


@dataclass(frozen=True, kw_only=True)
class PriorityInfo:
    """Where and how a class defines `priority`."""

    statement: cst.CSTNode
    """The defining statement (`AnnAssign`, `Assign`, property `FunctionDef`, or a `self.priority =`)."""
    target: cst.CSTNode
    """The `priority` name node (what findings point at)."""
    annotation: cst.BaseExpression | None
    """The annotation (`int`), when the definition is annotated."""
    value: cst.BaseExpression | None
    """The assigned value (`0`, `field(default=0)` unwrapped to `0`); None when there is no default."""
    dynamic: bool = False
    """True when the value is computed (a property, an `__init__` assignment): not checked further."""


@dataclass(kw_only=True)
class ClassRecord:
    """A class defined in a project module, with the marks that make it middleware."""

    facts: ModuleFacts
    """The facts of the defining module."""
    node: cst.ClassDef
    """The class definition."""
    name: str
    """The class name."""
    key: str
    """Dotted module name plus class name."""
    top_level: bool
    """Defined at module level (scans see only module-level names)."""
    decorated_global: bool = False
    """Decorated with tdom-svcs `@middleware` (bare or called)."""
    categories: cst.BaseExpression | None = None
    """The `categories=` argument of its `@middleware(...)` / `@hookable(...)` decorator."""
    protocol_subclass: bool = False
    """Lists tdom-svcs `Middleware` / `AsyncMiddleware` among its bases."""
    is_protocol: bool = False
    """Lists `typing.Protocol` among its bases (a protocol, not an implementation)."""
    bases: list[str] = field(default_factory=list)
    """Absolute qualified names of the bases (`"?"` for one that does not resolve)."""
    is_dataclass: bool = False
    """Decorated with `@dataclass` (or attrs / pydantic dataclasses): annotations are fields."""
    kw_only: bool = False
    """`@dataclass(kw_only=True)`: field order does not matter."""
    hookable_map: cst.BaseExpression | None = None
    """The `middleware=` argument of its `@hookable(...)` decorator."""
    classified: bool = False
    """Whether `classify` has resolved the fields above (done lazily outside the domain's modules)."""


@dataclass(kw_only=True)
class PhaseKey:
    """A phase name as written: a literal, or a (possibly imported) string constant resolved project-wide."""

    name: str | None
    """The phase; None while (or when) it cannot be resolved to a string."""
    node: cst.BaseExpression | None = None
    """The key or argument node (None for the implicit `"before"`)."""
    ref: str | None = None
    """Absolute qualified name of the constant the node names, resolved when the index is built."""


@dataclass(frozen=True, kw_only=True)
class MapEntry:
    """One item of a hookable map (`{"phase": [Cls, ...]}`), classified by shape."""

    facts: ModuleFacts
    """The module holding the map."""
    node: cst.BaseExpression
    """The item expression (`Aria`, `Aria()`, `"Aria"`), or the whole value when it is not a list."""
    kind: Literal["class", "instance", "string", "instance_var"]
    """What the item is: a class reference, an instance, a string, or a name bound to an instance."""
    bare: bool
    """True when the phase maps straight to the item instead of to a list of items."""
    ref: str | None
    """Absolute qualified name of the class the item names (for strings: the resolved module name)."""
    key: PhaseKey
    """The phase this item is listed under."""
    target: str
    """The hookable target (class or function name, or the source of `register_hookable`'s target)."""

    @property
    def phase(self) -> str | None:
        """The phase name; None when the key is not a resolvable string."""
        return self.key.name


@dataclass(frozen=True, kw_only=True)
class HookableMap:
    """A `middleware=` argument of `@hookable(...)` or `register_hookable(...)`."""

    facts: ModuleFacts
    """The module holding the map."""
    node: cst.BaseExpression
    """The `middleware=` value."""
    target: str
    """The hookable target's name."""
    shape: Literal["dict", "sequence", "dynamic"]
    """A dict literal, a list/tuple given instead of a dict, or something not literal."""
    phases: tuple[PhaseKey, ...] = ()
    """Every key of a dict literal."""
    entries: tuple[MapEntry, ...] = ()
    """Every class-position item of the map."""


@dataclass(kw_only=True)
class ExecuteCall:
    """A call of `execute_middleware`, `execute_middleware_async` or `execute_target_middleware`."""

    facts: ModuleFacts
    """The calling module."""
    node: cst.Call
    """The call."""
    kind: Literal["sync", "async", "target"]
    """Which runner."""
    phase: PhaseKey | None = None
    """For `execute_target_middleware`: the phase (`"before"` when omitted)."""


@dataclass(frozen=True, kw_only=True)
class RegisterCall:
    """A `register_middleware(registry, Cls, categories=...)` call."""

    facts: ModuleFacts
    """The calling module."""
    node: cst.Call
    """The call."""
    ref: str | None
    """Absolute qualified name of the registered class; None when not a plain name."""
    categories: cst.BaseExpression | None
    """The `categories` argument, when given."""


@dataclass(frozen=True, kw_only=True)
class ScanCall:
    """A `scan(registry, ...)` call: which modules it covers."""

    facts: ModuleFacts
    """The calling module."""
    node: cst.Call
    """The call."""
    modules: tuple[str, ...]
    """Dotted names of the scanned packages or modules (submodules of a package are covered too)."""
    scans_locals: bool = False
    """`locals_dict=globals()` / `locals()`: every class and import of the calling module is covered."""
    dynamic: bool = False
    """True when an argument does not resolve to a module name: coverage cannot be decided."""


@dataclass(kw_only=True)
class ModuleFacts:
    """Everything middleware-related one module says, gathered in a single tree walk."""

    mod: ModuleContext
    """The module."""
    dotted: str
    """Its dotted module name (`app.middleware`; `src/` stripped)."""
    is_package: bool
    """Whether it is a package's `__init__.py`."""
    classes: list[ClassRecord] = field(default_factory=list)
    """Every class it defines, in source order."""
    top_classes: set[str] = field(default_factory=set)
    """Names of the classes defined at module level."""
    imports: dict[str, str] = field(default_factory=dict)
    """Module-level imported name → absolute dotted name it binds."""
    constants: dict[str, str] = field(default_factory=dict)
    """Module-level `NAME = "literal"` string constants."""
    instance_vars: dict[str, str] = field(default_factory=dict)
    """Module-level `name = Cls(...)` assignments: name → absolute qualified name of the callee."""
    maps: list[HookableMap] = field(default_factory=list)
    """Hookable maps."""
    executes: list[ExecuteCall] = field(default_factory=list)
    """`execute_*` calls."""
    registers: list[RegisterCall] = field(default_factory=list)
    """`register_middleware` calls."""
    scans: list[ScanCall] = field(default_factory=list)
    """`scan` calls."""
    categories: list[cst.BaseExpression] = field(default_factory=list)
    """Every `categories=` argument of `@middleware`, `@hookable` and the `register_*` functions."""
    immediate_uses: list[tuple[cst.BaseExpression, str]] = field(default_factory=list)
    """Results of `execute_*` calls used on the spot (subscripted, unpacked...): (expression, runner name)."""
    creates_registry: bool = False
    """Whether it constructs a registry (`HopscotchRegistry()`, `svcs.Registry()`)."""

    def absolute(self, qualified: str) -> str:
        """Turn a name from `QualifiedNameProvider` into an absolute dotted name.

        Relative imports (`.middleware.X`) are resolved against this module; classes defined here (`X`,
        `f.<locals>.X`) get this module's dotted name in front.
        """
        if "<locals>" in qualified:
            return f"{self.dotted}.{qualified.rsplit('.', 1)[-1]}"
        if qualified.startswith("."):
            stripped = qualified.lstrip(".")
            level = len(qualified) - len(stripped)
            package = self.dotted.split(".") if self.is_package else self.dotted.split(".")[:-1]
            base = package[: len(package) - (level - 1)] if level > 1 else package
            return ".".join([*base, stripped] if stripped else base)
        if "." not in qualified and qualified in self.top_classes:
            return f"{self.dotted}.{qualified}"
        return qualified

    def names_of(self, node: cst.CSTNode) -> set[str]:
        """Absolute qualified names `node` may refer to."""
        return {self.absolute(name) for name in self.mod.qualified_names(node)}

    def is_a(self, node: cst.CSTNode, names: frozenset[str]) -> bool:
        """Whether `node` resolves to one of `names`."""
        return not self.mod.qualified_names(node).isdisjoint(names)


def module_name(relative: str) -> tuple[str, bool]:
    """`"src/app/middleware.py"` → `("app.middleware", False)`; `"app/__init__.py"` → `("app", True)`."""
    parts = relative.removesuffix(".py").split("/")
    is_package = parts[-1] == "__init__"
    if is_package:
        parts = parts[:-1]
    if len(parts) > 1 and parts[0] == "src":
        parts = parts[1:]
    return ".".join(parts), is_package


def _same_module(project: str, imported: str, roots: Sequence[str] = ()) -> bool:
    """Whether a project module (named from its path) is the module an import names.

    The workspace may sit above the import root (`packages/shop/src/shop/x.py` imported as `shop.x`)
    or be the package itself (`x.py` in a workspace named `shop`, imported as `shop.x`): `roots` holds
    the workspace directory's name for the second case.
    """
    return (
        project == imported
        or project.endswith("." + imported)
        or any(imported == f"{root}.{project}" for root in roots)
    )


def _within(module: str, package: str, roots: Sequence[str] = ()) -> bool:
    """Whether project module `module` is `package` or one of its submodules."""
    if package in roots:
        return True
    parts = module.split(".")
    return any(_same_module(".".join(parts[:n]), package, roots) for n in range(len(parts), 0, -1))


def literal_value(node: cst.BaseExpression | None) -> object:
    """The Python value of a literal (ints, floats, strings, True/False/None, unary minus); else `...`."""
    match node:
        case cst.Integer() | cst.Float():
            return node.evaluated_value
        case cst.SimpleString() | cst.ConcatenatedString():
            value = node.evaluated_value
            return value if value is not None else ...
        case cst.Name(value="True"):
            return True
        case cst.Name(value="False"):
            return False
        case cst.Name(value="None"):
            return None
        case cst.UnaryOperation(operator=cst.Minus(), expression=inner):
            value = literal_value(inner)
            return -value if isinstance(value, int | float) and not isinstance(value, bool) else ...
        case cst.UnaryOperation(operator=cst.Plus(), expression=inner):
            value = literal_value(inner)
            return value if isinstance(value, int | float) and not isinstance(value, bool) else ...
    return ...


def _arg(call: cst.Call, position: int | None, keyword: str) -> cst.Arg | None:
    """The argument bound to `keyword`, or given at `position` among the positional arguments."""
    positional = 0
    for arg in call.args:
        if arg.keyword is not None:
            if arg.keyword.value == keyword:
                return arg
        elif arg.star == "*":
            position = None  # later positions cannot be told apart
        elif not arg.star:
            if position is not None and positional == position:
                return arg
            positional += 1
    return None


def classify(record: ClassRecord) -> ClassRecord:
    """Resolve a class's bases and decorators (once): middleware marks, dataclass-ness, hookable map."""
    if record.classified:
        return record
    record.classified = True
    facts = record.facts
    for base in record.node.bases:
        if base.keyword is not None:
            continue
        value = base.value.value if isinstance(base.value, cst.Subscript) else base.value
        names = facts.names_of(value)
        if not names.isdisjoint(PROTOCOLS):
            record.protocol_subclass = True
        if not names.isdisjoint(PROTOCOL_BASES):
            record.is_protocol = True
        record.bases.append(min(names) if names else "?")
    for decorator in record.node.decorators:
        expr = decorator.decorator
        names = facts.names_of(expr.func if isinstance(expr, cst.Call) else expr)
        if not names.isdisjoint(MIDDLEWARE_DECORATOR):
            record.decorated_global = True
        if not names.isdisjoint(DATACLASS_DECORATORS):
            record.is_dataclass = True
            if isinstance(expr, cst.Call):
                kw_only = _arg(expr, None, "kw_only")
                record.kw_only = kw_only is not None and literal_value(kw_only.value) is True
        if isinstance(expr, cst.Call) and not names.isdisjoint(MIDDLEWARE_DECORATOR | HOOKABLE_DECORATOR):
            categories = _arg(expr, None, "categories")
            if categories is not None:
                record.categories = categories.value
            mapping = _arg(expr, None, "middleware")
            if mapping is not None and not names.isdisjoint(HOOKABLE_DECORATOR):
                record.hookable_map = mapping.value
    return record


def _string(facts: ModuleFacts, node: cst.BaseExpression) -> str | None:
    """A literal string, or a module-level string constant named by `node`; None otherwise."""
    value = literal_value(node)
    if isinstance(value, str):
        return value
    if isinstance(node, cst.Name):
        return facts.constants.get(node.value)
    return None


def _phase(facts: ModuleFacts, node: cst.BaseExpression) -> PhaseKey:
    """A phase key or argument: its literal value now, or the constant it names to resolve later."""
    value = literal_value(node)
    if isinstance(value, str):
        return PhaseKey(name=value, node=node)
    ref = None
    if isinstance(node, cst.Name | cst.Attribute):
        names = facts.mod.qualified_names(node)
        if names:
            name = min(names)
            ref = facts.absolute(name) if "." in name else f"{facts.dotted}.{name}"
    return PhaseKey(name=None, node=node, ref=ref)


_SKIPPED_FIELDS = frozenset(
    {
        "lpar",
        "rpar",
        "comma",
        "semicolon",
        "leading_lines",
        "lines_after_decorators",
        "header",
        "footer",
        "newline",
        "equal",
        "colon",
        "dot",
        "star",
        "whitespace",
        "indent",
        "default_indent",
        "default_newline",
        "encoding",
    }
)
_CHILD_FIELDS: dict[type[cst.CSTNode], tuple[str, ...]] = {}
_SCOPES = frozenset({cst.ClassDef, cst.FunctionDef, cst.Lambda})


def _child_fields(kind: type[cst.CSTNode]) -> tuple[str, ...]:
    fields = _CHILD_FIELDS.get(kind)
    if fields is None:
        fields = _CHILD_FIELDS[kind] = tuple(
            f.name
            for f in dataclass_fields(kind)
            if f.name not in _SKIPPED_FIELDS and "whitespace" not in f.name
        )
    return fields


_NODE_TYPES: dict[type, bool] = {}


def _is_node(kind: type) -> bool:
    known = _NODE_TYPES.get(kind)
    if known is None:
        known = _NODE_TYPES[kind] = issubclass(kind, cst.CSTNode)
    return known


def child_nodes(node: cst.CSTNode) -> list[cst.CSTNode]:
    """The direct children of `node` that can hold code (whitespace and punctuation skipped), in order."""
    children: list[cst.CSTNode] = []
    for name in _child_fields(type(node)):
        value = getattr(node, name)
        kind = type(value)
        if kind is tuple or kind is list:
            children.extend(item for item in value if _is_node(type(item)))
        elif _is_node(kind):
            children.append(value)
    return children


def iter_nodes(root: cst.CSTNode, *, enter_scopes: bool = True) -> Iterator[tuple[cst.CSTNode, int]]:
    """Every node under `root` with its scope depth (classes, functions and lambdas nest), `root` first.

    A plain walk over the dataclass fields: libcst's `visit` rebuilds every node it passes and is an
    order of magnitude slower. Whitespace and punctuation are skipped. With `enter_scopes=False`, nested
    classes, functions and lambdas are yielded but not entered.
    """
    stack: list[tuple[cst.CSTNode, int]] = [(root, 0)]
    while stack:
        node, depth = stack.pop()
        yield node, depth
        if node is not root and type(node) in _SCOPES:
            if not enter_scopes:
                continue
            depth += 1
        stack.extend((child, depth) for child in reversed(child_nodes(node)))


def _dotted(node: cst.BaseExpression) -> str:
    """`a.b.c` for a `Name` / `Attribute` chain (empty for anything else)."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        head = _dotted(node.value)
        return f"{head}.{node.attr.value}" if head else ""
    return ""


class _FactsVisitor:
    """One walk over a module collecting its `ModuleFacts` (handlers named `visit_<NodeType>`)."""

    def __init__(self, facts: ModuleFacts, *, resolve: bool) -> None:
        self.facts = facts
        self.resolving = resolve
        self.depth = 0
        """Nesting of function and class bodies (0 = module level)."""
        self.handlers: dict[type[cst.CSTNode], Callable[[Any], None] | None] = {}

    def run(self, module: cst.Module) -> None:
        """Read module-level imports and constants, then walk every node once."""
        for statement in module.body:
            if isinstance(statement, cst.ClassDef):
                self.facts.top_classes.add(statement.name.value)
            elif isinstance(statement, cst.SimpleStatementLine):
                for small in statement.body:
                    if isinstance(small, cst.Import):
                        self._import(small)
                    elif isinstance(small, cst.ImportFrom):
                        self._import_from(small)
                    elif isinstance(small, cst.Assign):
                        self._assign(small)
        handlers = self.handlers
        for node, depth in iter_nodes(module):
            kind = type(node)
            if kind not in handlers:
                handlers[kind] = getattr(self, f"visit_{kind.__name__}", None)
            handler = handlers[kind]
            if handler is not None:
                self.depth = depth
                handler(node)

    # --- module level: imports and constants -------------------------------------------------

    def _import(self, node: cst.Import) -> None:
        for alias in node.names:
            dotted = _dotted(alias.name)
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                self.facts.imports[alias.asname.name.value] = dotted
            else:
                self.facts.imports[dotted.split(".", 1)[0]] = dotted.split(".", 1)[0]

    def _import_from(self, node: cst.ImportFrom) -> None:
        if isinstance(node.names, cst.ImportStar):
            return
        source = "." * len(node.relative) + (_dotted(node.module) if node.module else "")
        for alias in node.names:
            name = _dotted(alias.name)
            local = (
                alias.asname.name.value if alias.asname and isinstance(alias.asname.name, cst.Name) else name
            )
            joined = f"{source}.{name}" if not source.endswith(".") else f"{source}{name}"
            self.facts.imports[local] = self.facts.absolute(joined)

    def _assign(self, node: cst.Assign) -> None:
        if len(node.targets) != 1 or not isinstance(node.targets[0].target, cst.Name):
            return
        name = node.targets[0].target.value
        value = literal_value(node.value)
        if isinstance(value, str):
            self.facts.constants[name] = value
        elif self.resolving and isinstance(node.value, cst.Call):
            for callee in self.facts.names_of(node.value.func):
                self.facts.instance_vars[name] = callee

    # --- classes -----------------------------------------------------------------------------

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        record = ClassRecord(
            facts=self.facts,
            node=node,
            name=node.name.value,
            key=f"{self.facts.dotted}.{node.name.value}",
            top_level=self.depth == 0,
        )
        if self.resolving:
            classify(record)
            if record.categories is not None:
                self.facts.categories.append(record.categories)
            if record.hookable_map is not None:
                self._hookable_map(record.hookable_map, record.name)
        self.facts.classes.append(record)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if self.resolving:
            for decorator in node.decorators:
                expr = decorator.decorator
                if isinstance(expr, cst.Call) and self.facts.is_a(expr.func, HOOKABLE_DECORATOR):
                    mapping = _arg(expr, None, "middleware")
                    if mapping is not None:
                        self._hookable_map(mapping.value, node.name.value)
                    categories = _arg(expr, None, "categories")
                    if categories is not None:
                        self.facts.categories.append(categories.value)

    # --- calls -------------------------------------------------------------------------------

    def visit_Call(self, node: cst.Call) -> None:
        if not self.resolving:
            return
        facts = self.facts
        names = facts.names_of(node.func)
        if not names:
            return
        if not names.isdisjoint(EXECUTE_SYNC):
            facts.executes.append(ExecuteCall(facts=facts, node=node, kind="sync"))
        elif not names.isdisjoint(EXECUTE_ASYNC):
            facts.executes.append(ExecuteCall(facts=facts, node=node, kind="async"))
        elif not names.isdisjoint(EXECUTE_TARGET):
            phase_arg = _arg(node, 3, "phase")
            phase = PhaseKey(name="before") if phase_arg is None else _phase(facts, phase_arg.value)
            facts.executes.append(ExecuteCall(facts=facts, node=node, kind="target", phase=phase))
        elif not names.isdisjoint(REGISTER_MIDDLEWARE):
            cls = _arg(node, 1, "middleware_type")
            categories = _arg(node, 2, "categories")
            ref = None
            if cls is not None and isinstance(cls.value, cst.Name | cst.Attribute):
                refs = facts.names_of(cls.value)
                ref = min(refs) if refs else None
            if categories is not None:
                facts.categories.append(categories.value)
            facts.registers.append(
                RegisterCall(
                    facts=facts, node=node, ref=ref, categories=categories.value if categories else None
                )
            )
        elif not names.isdisjoint(REGISTER_HOOKABLE):
            target = _arg(node, 1, "target")
            mapping = _arg(node, 2, "middleware")
            categories = _arg(node, 3, "categories")
            if mapping is not None:
                label = facts.mod.code(target.value) if target is not None else "target"
                self._hookable_map(mapping.value, label)
            if categories is not None:
                facts.categories.append(categories.value)
        elif not names.isdisjoint(SCAN):
            facts.scans.append(self._scan(node))
        elif not names.isdisjoint(REGISTRIES):
            facts.creates_registry = True

    def _scan(self, node: cst.Call) -> ScanCall:
        facts = self.facts
        modules: list[str] = []
        dynamic = False
        packages = [arg for arg in node.args[1:] if arg.keyword is None]
        scans_locals = False
        locals_arg = _arg(node, None, "locals_dict")
        if locals_arg is not None:
            value = locals_arg.value
            if isinstance(value, cst.Call) and isinstance(value.func, cst.Name) and not value.args:
                scans_locals = True
            else:
                dynamic = True
        elif not packages or (len(packages) == 1 and literal_value(packages[0].value) is None):
            # scan(registry): the caller's package
            parts = facts.dotted.split(".")
            modules.append(facts.dotted if facts.is_package or len(parts) == 1 else ".".join(parts[:-1]))
        for arg in packages:
            value = arg.value
            if arg.star:
                dynamic = True
                continue
            text = _string(facts, value)
            if text is not None:
                modules.append(text)
            elif literal_value(value) is None:
                continue
            elif isinstance(value, cst.Name) and value.value == "__name__":
                modules.append(facts.dotted)
            elif isinstance(value, cst.Name | cst.Attribute) and (names := facts.names_of(value)):
                modules.append(min(names))
            else:
                dynamic = True
        return ScanCall(
            facts=facts, node=node, modules=tuple(modules), scans_locals=scans_locals, dynamic=dynamic
        )

    def _hookable_map(self, value: cst.BaseExpression, target: str) -> None:
        facts = self.facts
        if isinstance(value, cst.List | cst.Tuple):
            entries = tuple(self._entries(value, key=PhaseKey(name="before"), target=target))
            facts.maps.append(
                HookableMap(facts=facts, node=value, target=target, shape="sequence", entries=entries)
            )
            return
        if not isinstance(value, cst.Dict):
            facts.maps.append(HookableMap(facts=facts, node=value, target=target, shape="dynamic"))
            return
        phases: list[PhaseKey] = []
        entries: list[MapEntry] = []
        for element in value.elements:
            if not isinstance(element, cst.DictElement):
                continue
            key = _phase(facts, element.key)
            phases.append(key)
            entries.extend(self._entries(element.value, key=key, target=target))
        facts.maps.append(
            HookableMap(
                facts=facts,
                node=value,
                target=target,
                shape="dict",
                phases=tuple(phases),
                entries=tuple(entries),
            )
        )

    def _entries(self, value: cst.BaseExpression, *, key: PhaseKey, target: str) -> Iterator[MapEntry]:
        if isinstance(value, cst.List | cst.Tuple):
            for element in value.elements:
                if isinstance(element, cst.Element):
                    entry = self._entry(element.value, key=key, target=target, bare=False)
                    if entry is not None:
                        yield entry
            return
        entry = self._entry(value, key=key, target=target, bare=True)
        if entry is not None:
            yield entry

    def _entry(self, node: cst.BaseExpression, *, key: PhaseKey, target: str, bare: bool) -> MapEntry | None:
        facts = self.facts
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Name | cst.Attribute):
            names = facts.names_of(node.func)
            ref = min(names) if names else None
            return MapEntry(
                facts=facts, node=node, kind="instance", bare=bare, ref=ref, key=key, target=target
            )
        if isinstance(node, cst.SimpleString | cst.ConcatenatedString):
            text = literal_value(node)
            if not isinstance(text, str):
                return None
            ref = facts.absolute(facts.imports.get(text, text))
            return MapEntry(facts=facts, node=node, kind="string", bare=bare, ref=ref, key=key, target=target)
        if isinstance(node, cst.Name) and node.value in facts.instance_vars:
            ref = facts.instance_vars[node.value]
            return MapEntry(
                facts=facts, node=node, kind="instance_var", bare=bare, ref=ref, key=key, target=target
            )
        if isinstance(node, cst.Name | cst.Attribute):
            names = facts.names_of(node)
            ref = min(names) if names else None
            return MapEntry(facts=facts, node=node, kind="class", bare=bare, ref=ref, key=key, target=target)
        return None

    # --- results of execute_* used on the spot -------------------------------------------------

    def _runner(self, node: cst.BaseExpression) -> str | None:
        if not self.resolving:
            return None
        call = node.expression if isinstance(node, cst.Await) else node
        if not isinstance(call, cst.Call):
            return None
        names = self.facts.mod.qualified_names(call.func)
        for runner in EXECUTE_SYNC | EXECUTE_ASYNC | EXECUTE_TARGET:
            if runner in names:
                return runner.rsplit(".", 1)[-1]
        return None

    def _use(self, node: cst.BaseExpression) -> None:
        runner = self._runner(node)
        if runner is not None:
            self.facts.immediate_uses.append((node, runner))

    def visit_Subscript(self, node: cst.Subscript) -> None:
        self._use(node.value)

    def visit_Attribute(self, node: cst.Attribute) -> None:
        self._use(node.value)

    def visit_Arg(self, node: cst.Arg) -> None:
        if node.star:
            self._use(node.value)

    def visit_StarredDictElement(self, node: cst.StarredDictElement) -> None:
        self._use(node.value)

    def visit_StarredElement(self, node: cst.StarredElement) -> None:
        self._use(node.value)

    def visit_For(self, node: cst.For) -> None:
        self._use(node.iter)

    def visit_CompFor(self, node: cst.CompFor) -> None:
        self._use(node.iter)

    def visit_ComparisonTarget(self, node: cst.ComparisonTarget) -> None:
        if isinstance(node.operator, cst.In | cst.NotIn):
            self._use(node.comparator)


def module_facts(mod: ModuleContext) -> ModuleFacts:
    """Walk `mod` once and gather its middleware facts (names resolve only where the domain is imported)."""
    dotted, is_package = module_name(mod.relative)
    facts = ModuleFacts(mod=mod, dotted=dotted, is_package=is_package)
    resolve = any(package in mod.source for package in _PACKAGES)
    _FactsVisitor(facts, resolve=resolve).run(mod.module)
    return facts


# --- class anatomy ---------------------------------------------------------------------------------


def _body(node: cst.ClassDef | cst.FunctionDef) -> Sequence[cst.CSTNode]:
    return node.body.body


def call_method(node: cst.ClassDef) -> cst.FunctionDef | None:
    """The class's own `__call__` method, if it defines one."""
    for statement in _body(node):
        if isinstance(statement, cst.FunctionDef) and statement.name.value == "__call__":
            return statement
    return None


def _method(node: cst.ClassDef, name: str) -> cst.FunctionDef | None:
    for statement in _body(node):
        if isinstance(statement, cst.FunctionDef) and statement.name.value == name:
            return statement
    return None


def _unwrap_field_default(value: cst.BaseExpression | None) -> tuple[cst.BaseExpression | None, bool]:
    """`(default expression, has default)` for a field value, looking inside `field(default=...)`."""
    if value is None:
        return None, False
    if isinstance(value, cst.Call) and isinstance(value.func, cst.Name | cst.Attribute):
        spelled = value.func.attr.value if isinstance(value.func, cst.Attribute) else value.func.value
        if spelled in {"field", "Field", "attrib", "ib"}:
            for arg in value.args:
                if arg.keyword is not None and arg.keyword.value == "default":
                    return arg.value, True
                if arg.keyword is not None and arg.keyword.value in {"default_factory", "factory"}:
                    return None, True
            return None, False
    return value, True


def _field_init(value: cst.BaseExpression | None) -> bool:
    """False for `field(init=False)`: such a field is not a constructor argument."""
    if isinstance(value, cst.Call):
        for arg in value.args:
            if arg.keyword is not None and arg.keyword.value == "init" and literal_value(arg.value) is False:
                return False
    return True


def own_priority(node: cst.ClassDef) -> PriorityInfo | None:
    """Where the class itself defines `priority`: in its body, as a property, or as `self.priority =`."""
    for statement in _body(node):
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                if isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name):
                    if small.target.value == "priority":
                        value, _ = _unwrap_field_default(small.value)
                        return PriorityInfo(
                            statement=statement,
                            target=small.target,
                            annotation=small.annotation.annotation,
                            value=value,
                        )
                elif isinstance(small, cst.Assign):
                    for target in small.targets:
                        if isinstance(target.target, cst.Name) and target.target.value == "priority":
                            return PriorityInfo(
                                statement=statement, target=target.target, annotation=None, value=small.value
                            )
        elif isinstance(statement, cst.FunctionDef) and statement.name.value == "priority":
            return PriorityInfo(
                statement=statement, target=statement.name, annotation=None, value=None, dynamic=True
            )
    init = _method(node, "__init__")
    if init is not None:
        for assigned in _self_assignments(init, "priority"):
            return PriorityInfo(
                statement=assigned, target=assigned, annotation=None, value=None, dynamic=True
            )
    return None


def _self_assignments(function: cst.FunctionDef, name: str) -> Iterator[cst.CSTNode]:
    for node, _ in iter_nodes(function, enter_scopes=False):
        if isinstance(node, cst.AssignTarget | cst.AnnAssign) and isinstance(node.target, cst.Attribute):
            target = node.target
            if (
                isinstance(target.value, cst.Name)
                and target.value.value == "self"
                and target.attr.value == name
            ):
                yield target


@dataclass(frozen=True, kw_only=True)
class FieldInfo:
    """One constructor input of a middleware class: a dataclass field or an `__init__` parameter."""

    name: str
    """The field or parameter name."""
    node: cst.CSTNode
    """Its name node."""
    statement: cst.SimpleStatementLine | None
    """The field's statement line (None for `__init__` parameters)."""
    annotation: cst.BaseExpression | None
    """Its annotation."""
    has_default: bool
    """Whether a default (or default factory) is given."""


def class_fields(record: ClassRecord) -> list[FieldInfo]:
    """The constructor inputs of a class: dataclass fields, or the parameters of its own `__init__`."""
    node = classify(record).node
    init = _method(node, "__init__")
    if init is not None:
        params = [*init.params.posonly_params, *init.params.params][1:]
        params += list(init.params.kwonly_params)
        return [
            FieldInfo(
                name=p.name.value,
                node=p.name,
                statement=None,
                annotation=p.annotation.annotation if p.annotation else None,
                has_default=p.default is not None,
            )
            for p in params
        ]
    if not record.is_dataclass:
        return []
    fields: list[FieldInfo] = []
    for statement in _body(node):
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if not isinstance(small, cst.AnnAssign) or not isinstance(small.target, cst.Name):
                continue
            annotation = small.annotation.annotation
            spelled = record.facts.mod.code(annotation)
            if spelled.startswith(("ClassVar", "typing.ClassVar", "KW_ONLY", "dataclasses.KW_ONLY")):
                continue
            if not _field_init(small.value):
                continue
            _, has_default = _unwrap_field_default(small.value)
            fields.append(
                FieldInfo(
                    name=small.target.value,
                    node=small.target,
                    statement=statement,
                    annotation=annotation,
                    has_default=has_default,
                )
            )
    return fields


def is_inject_annotation(facts: ModuleFacts, annotation: cst.BaseExpression | None) -> bool:
    """Whether an annotation is `Inject[...]` (or `InitVar[Inject[...]]`, or a string of one)."""
    if annotation is None:
        return False
    if isinstance(annotation, cst.SimpleString):
        text = annotation.evaluated_value
        return isinstance(text, str) and text.strip().startswith(("Inject[", "InitVar[Inject["))
    if not isinstance(annotation, cst.Subscript):
        return False
    names = facts.mod.qualified_names(annotation.value)
    if any(n.rsplit(".", 1)[-1] == "Inject" for n in names):
        return True
    if not names and isinstance(annotation.value, cst.Name) and annotation.value.value == "Inject":
        return True
    if any(n in {"dataclasses.InitVar"} for n in names) or (
        isinstance(annotation.value, cst.Name) and annotation.value.value == "InitVar"
    ):
        inner = annotation.slice[0].slice if annotation.slice else None
        return isinstance(inner, cst.Index) and is_inject_annotation(facts, inner.value)
    return False


# --- the project-wide index ----------------------------------------------------------------------


@dataclass(kw_only=True)
class MiddlewareIndex:
    """Middleware facts of the whole project, joined across modules."""

    modules: dict[str, ModuleFacts]
    """Facts per module (by relative path)."""
    classes_by_name: dict[str, list[ClassRecord]]
    """Every class of the project by its name."""
    middleware: dict[str, ClassRecord]
    """Every middleware class (decorated, protocol subclass, registered, or in a hookable map) by key."""
    global_keys: set[str]
    """Keys of global middleware (`@middleware` or `register_middleware`)."""
    registered_keys: set[str]
    """Keys passed to `register_middleware`."""
    mapped: dict[str, list[MapEntry]]
    """Key → the hookable map items (of class kind) that reference it."""
    executed_phases: set[str]
    """Phases passed to `execute_target_middleware` (`"before"` when omitted)."""
    phases_dynamic: bool
    """True when some `execute_target_middleware` phase is not a literal: phase checks are off."""
    executes_global: bool
    """Whether the project calls `execute_middleware` or `execute_middleware_async` anywhere."""
    sync_executes: list[ExecuteCall]
    """Every `execute_middleware` (sync) call."""
    scanned_keys: set[str]
    """Keys of classes some `scan()` call reaches (their module, or a scanned module importing them)."""
    scan_dynamic: bool
    """True when some `scan()` argument is not a module name: scan coverage is unknown."""
    has_setup: bool
    """Whether the project sets up a registry at all (scan, register, execute, or a registry constructor)."""
    roots: tuple[str, ...] = ()
    """The workspace directory's name when it is a valid package name (imports may start with it)."""

    @cached_property
    def specs(self) -> list[MiddlewareSpec]:
        """Every middleware class as a spec, in file and line order."""
        specs = [_spec(self, record) for record in self.middleware.values()]
        return sorted(specs, key=lambda s: (s.file, s.line, s.column))

    def resolve(self, qualified: str | None) -> ClassRecord | None:
        """The project class an absolute qualified name refers to, if any."""
        if not qualified:
            return None
        module, _, name = qualified.rpartition(".")
        candidates = self.classes_by_name.get(name, [])
        exact = [c for c in candidates if c.facts.dotted == module]
        if exact:
            return exact[0]
        if not module:
            return None
        close = [c for c in candidates if _same_module(c.facts.dotted, module, self.roots)]
        return close[0] if len(close) == 1 else None

    def bases(self, record: ClassRecord) -> tuple[list[ClassRecord], bool]:
        """Project classes among the (transitive) bases of `record`, and whether some base is unknown."""
        found: list[ClassRecord] = []
        unknown = False
        pending = [record]
        seen = {record.key}
        while pending:
            current = pending.pop()
            for base in classify(current).bases:
                if base in NEUTRAL_BASES:
                    continue
                parent = self.resolve(base)
                if parent is None:
                    unknown = True
                elif parent.key not in seen:
                    seen.add(parent.key)
                    found.append(parent)
                    pending.append(parent)
        return found, unknown

    def priority(self, record: ClassRecord) -> tuple[PriorityInfo | None, bool]:
        """`(priority definition, own or inherited; whether an unknown base might define it)`."""
        own = own_priority(record.node)
        if own is not None:
            return own, False
        parents, unknown = self.bases(record)
        for parent in parents:
            inherited = own_priority(parent.node)
            if inherited is not None:
                return inherited, False
        return None, unknown

    def call(self, record: ClassRecord) -> tuple[cst.FunctionDef | None, bool]:
        """`(__call__ definition, own or inherited; whether an unknown base might define it)`."""
        own = call_method(record.node)
        if own is not None:
            return own, False
        parents, unknown = self.bases(record)
        for parent in parents:
            inherited = call_method(parent.node)
            if inherited is not None:
                return inherited, False
        return None, unknown

    def is_async(self, record: ClassRecord) -> bool:
        """Whether the class's (own or inherited) `__call__` is `async def`."""
        method, _ = self.call(record)
        return method is not None and method.asynchronous is not None

    def in_module(self, mod: ModuleContext) -> list[ClassRecord]:
        """The middleware classes defined in `mod`."""
        facts = self.modules.get(mod.relative)
        if facts is None:
            return []
        return [c for c in facts.classes if c.key in self.middleware and self.middleware[c.key] is c]


def build_middleware_index(all_facts: Iterable[ModuleFacts]) -> MiddlewareIndex:
    """Join the facts of `all_facts` modules into one index (what `middleware_index` memoises)."""
    modules = {f.mod.relative: f for f in all_facts}
    by_name: dict[str, list[ClassRecord]] = {}
    for facts in modules.values():
        for record in facts.classes:
            by_name.setdefault(record.name, []).append(record)
    index = MiddlewareIndex(
        modules=modules,
        classes_by_name=by_name,
        middleware={},
        global_keys=set(),
        registered_keys=set(),
        mapped={},
        executed_phases=set(),
        phases_dynamic=False,
        executes_global=False,
        sync_executes=[],
        scanned_keys=set(),
        scan_dynamic=False,
        has_setup=False,
        roots=_roots(modules.values()),
    )
    for facts in modules.values():
        for hookable in facts.maps:
            for key in hookable.phases:
                _resolve_phase(index, key)
    for facts in modules.values():
        for record in facts.classes:
            if (record.decorated_global or record.protocol_subclass) and not record.is_protocol:
                index.middleware[record.key] = record
            if record.decorated_global:
                index.global_keys.add(record.key)
        for register in facts.registers:
            index.has_setup = True
            target = index.resolve(register.ref)
            if target is not None:
                index.middleware[target.key] = classify(target)
                index.global_keys.add(target.key)
                index.registered_keys.add(target.key)
        for hookable in facts.maps:
            for entry in hookable.entries:
                target = index.resolve(entry.ref)
                if target is not None:
                    index.middleware[target.key] = classify(target)
                    index.mapped.setdefault(target.key, []).append(entry)
        for call in facts.executes:
            index.has_setup = True
            if call.kind == "target" and call.phase is not None:
                _resolve_phase(index, call.phase)
                if call.phase.name is None:
                    index.phases_dynamic = True
                else:
                    index.executed_phases.add(call.phase.name)
            else:
                index.executes_global = True
            if call.kind == "sync":
                index.sync_executes.append(call)
        if facts.scans or facts.creates_registry:
            index.has_setup = True
    _cover_scans(index)
    return index


def _roots(all_facts: Iterable[ModuleFacts]) -> tuple[str, ...]:
    for facts in all_facts:
        depth = facts.mod.relative.count("/")
        name = facts.mod.path.parents[depth].name
        return (name,) if name.isidentifier() else ()
    return ()


def _resolve_phase(index: MiddlewareIndex, key: PhaseKey) -> None:
    """Fill in a phase named by a string constant of some project module."""
    if key.name is not None or key.ref is None:
        return
    module, _, name = key.ref.rpartition(".")
    for facts in index.modules.values():
        if name in facts.constants and _same_module(facts.dotted, module, index.roots):
            key.name = facts.constants[name]
            return


def _cover_scans(index: MiddlewareIndex) -> None:
    """Mark the classes some `scan()` reaches: module-level names of scanned modules and their imports."""
    targets: list[str] = []
    local_scans: list[ModuleFacts] = []
    for facts in index.modules.values():
        for scan in facts.scans:
            index.scan_dynamic = index.scan_dynamic or scan.dynamic
            targets.extend(scan.modules)
            if scan.scans_locals:
                local_scans.append(facts)
    for facts in index.modules.values():
        scanned_locally = facts in local_scans
        if not scanned_locally and not any(_within(facts.dotted, target, index.roots) for target in targets):
            continue
        for record in facts.classes:
            if record.top_level or scanned_locally:
                index.scanned_keys.add(record.key)
        for imported in facts.imports.values():
            target = index.resolve(imported)
            if target is not None:
                index.scanned_keys.add(target.key)


def _text(node: cst.CSTNode) -> str:
    return cst.Module([]).code_for_node(node)


def _categories(node: cst.BaseExpression | None) -> list[str] | None:
    if not isinstance(node, cst.List | cst.Tuple):
        return None
    values = [literal_value(e.value) for e in node.elements if isinstance(e, cst.Element)]
    return [v for v in values if isinstance(v, str)]


def _spec(index: MiddlewareIndex, record: ClassRecord) -> MiddlewareSpec:
    facts = record.facts
    mod = facts.mod
    line, column, _, _ = mod.location(record.node.name)
    priority, _ = index.priority(record)
    value = literal_value(priority.value) if priority is not None and priority.value is not None else ...
    categories = _categories(record.categories) if record.decorated_global else None
    if categories is None:
        for facts_ in index.modules.values():
            for register in facts_.registers:
                target = index.resolve(register.ref)
                if target is record and register.categories is not None:
                    categories = _categories(register.categories)
    entries = index.mapped.get(record.key, [])
    return MiddlewareSpec(
        name=record.name,
        qualified_name=record.key,
        priority=value if isinstance(value, int) and not isinstance(value, bool) else None,
        priority_text=_text(priority.value) if priority is not None and priority.value is not None else None,
        phases=sorted({e.phase for e in entries if e.phase is not None}),
        targets=sorted({e.target for e in entries}),
        is_global=record.key in index.global_keys,
        categories=categories,
        is_async=index.is_async(record),
        injected=[f.name for f in class_fields(record) if is_inject_annotation(facts, f.annotation)],
        file=mod.relative,
        line=line,
        column=column,
    )


def middleware_index(index: ProjectIndex) -> MiddlewareIndex:
    """The project-wide middleware facts, computed once per project index (`index.memo`)."""
    return index.memo(
        "mw:index", lambda project: build_middleware_index(module_facts(m) for m in project.iter_modules())
    )


def extract_middleware(mod: ModuleContext) -> list[MiddlewareSpec]:
    """The middleware classes `mod` declares, judged from this module alone.

    A class counts when it is decorated with `@middleware`, subclasses tdom-svcs `Middleware` /
    `AsyncMiddleware`, or is registered or listed in a hookable map within the same module. Use
    `middleware_index(index).specs` for the project-wide view.
    """
    return build_middleware_index([module_facts(mod)]).specs


def middleware_context(mod: ModuleContext, index: ProjectIndex) -> tuple[MiddlewareIndex, ModuleFacts]:
    """The project-wide middleware index and `mod`'s facts (a one-module index if `mod` is not in it)."""
    project = middleware_index(index)
    facts = project.modules.get(mod.relative)
    if facts is not None and facts.mod is mod:
        return project, facts
    alone = build_middleware_index([module_facts(mod)])
    return alone, alone.modules[mod.relative]
