"""Service registrations, the SVC family's noun, read statically from svcs / svcs-di / Hopscotch code.

`extract_registrations(mod)` lists every registration of one module as `ServiceRegistration` models:
`registry.register_factory(T, f)` / `register_value` / `register_implementation`, container-local
`register_local_*`, the svcs web integrations (`svcs.flask.register_factory(app, T, f)`) and `@injectable`
classes and functions. `registration_index(index)` joins them project-wide, with the packages `scan()`
covers, so cross-file rules (SVC005, SVC014) ask one question: is type T registered, and how?

Names are resolved as libcst's `QualifiedNameProvider` resolves them and made absolute with the
module's dotted name (`app/services.py` → `app.services`), so `from .models import Users` and
`from app.models import Users` are the same key. The richer per-module facts (`ModuleServices`, with
the libcst nodes the rules and fixers need) come from `module_services(mod, index)`, computed once per
module through `index.memo`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

import libcst as cst
from pydantic import BaseModel, ConfigDict

from punie_lsp.domain.context import ModuleContext, ProjectIndex
from punie_lsp.domain.metadata import visit_fast

__all__ = (
    "DI_ROOTS",
    "HOPSCOTCH_ROOTS",
    "InjectUse",
    "InjectableSite",
    "ModuleServices",
    "ProjectServices",
    "ReceiverKind",
    "RegistrationSite",
    "ResolveSite",
    "ScanSite",
    "ServiceRegistration",
    "all_params",
    "builtin_service",
    "dotted",
    "extract_registrations",
    "find_injects",
    "import_family",
    "is_api",
    "is_generator",
    "is_inject",
    "module_name",
    "module_services",
    "project_services",
    "registration_index",
    "simple_name",
    "type_kind",
)

ProviderKind = Literal["factory", "value", "injectable", "implementation"]
Lifecycle = Literal["app", "container", "local"]
ReceiverKind = Literal["svcs_registry", "hopscotch_registry", "registry", "container", "other"]
"""What a receiver is: a plain `svcs.Registry`, a `HopscotchRegistry`, a registry of unknown class, a
container (`svcs.Container` or a subclass), or something known not to be svcs (legacy `hopscotch`)."""
Family = Literal["svcs_di.injectors", "svcs_hopscotch", "hopscotch"]
"""The three mutually exclusive Hopscotch import families (SVC013)."""

DI_ROOTS = frozenset({"svcs", "svcs_di", "svcs_hopscotch", "tdom_svcs"})
"""Top-level packages of the svcs ecosystem; a module importing one of them is an svcs module."""
HOPSCOTCH_ROOTS = frozenset({"svcs_di", "svcs_hopscotch", "tdom_svcs"})
"""Packages whose `injectable` / `scan` / `HopscotchRegistry` are the current (non-legacy) API."""
CONVENTION_FUNCTIONS = frozenset({"svcs_registry", "svcs_container"})
"""Module-level functions `scan()` calls (registry) or stores for every `HopscotchContainer` (container)."""
REGISTER_METHODS: dict[str, tuple[ProviderKind, bool]] = {
    "register_factory": ("factory", False),
    "register_value": ("value", False),
    "register_local_factory": ("factory", True),
    "register_local_value": ("value", True),
    "register_implementation": ("implementation", False),
}
"""Method name → (provider kind, container-local)."""
SVCS_INTEGRATIONS = frozenset(
    {"svcs.flask", "svcs.starlette", "svcs.aiohttp", "svcs.pyramid", "svcs.fastapi"}
)
"""svcs web integrations whose module-level `register_*(app, T, f)` take the app first."""
RESOLVE_METHODS = frozenset({"get", "aget", "get_abstract", "aget_abstract"})
"""Container methods that resolve registered service types."""
BUILTIN_SERVICES = frozenset({"Container", "ServiceLocator", "Location", "Injector", "AsyncInjector"})
"""Types a container provides without a registration (`Inject[svcs.Container]` yields the container)."""


class ServiceRegistration(BaseModel):
    """One service registration found in the code: what is registered, how, and for how long."""

    model_config = ConfigDict(extra="forbid")

    service_type: str
    """The service key as written (`Database`, `"db"`, `Annotated[Conn, "ro"]`)."""
    service_qualified: str | None = None
    """The key's absolute dotted name when it resolves (`app.services.Database`)."""
    provider: ProviderKind
    """`factory` (register_factory), `value` (register_value), `injectable` (@injectable + scan) or
    `implementation` (HopscotchRegistry.register_implementation)."""
    expression: str
    """The factory, value or implementation expression as written (the decorated name for @injectable)."""
    provider_qualified: str | None = None
    """The factory's / implementation's absolute dotted name when it is a plain reference."""
    lifecycle: Lifecycle
    """`app` (on the registry), `local` (container.register_local_*), or `container` (registered inside
    a `svcs_container(container)` hook, so once for every container)."""
    ping: str | None = None
    """The `ping=` callable as written."""
    cleanup: bool = False
    """Whether the registration cleans up: a generator factory (`yield`), `enter=True`, or
    `on_registry_close=`."""
    is_async: bool = False
    """Whether the factory is async (`async def`, async generator, `auto_async(...)`): resolve with `aget`."""
    file: str
    """Path relative to the workspace root."""
    line: int
    """1-based line of the registration (the call, or the decorator)."""
    column: int
    """1-based column of the registration."""


@dataclass(eq=False, kw_only=True)
class RegistrationSite:
    """A registration with the libcst nodes rules and fixers need (`to_model()` gives the noun)."""

    mod: ModuleContext = field(repr=False)
    service_type: str
    service_qualified: str | None
    provider: ProviderKind
    expression: str
    provider_qualified: str | None
    lifecycle: Lifecycle
    ping: str | None
    cleanup: bool
    is_async: bool
    call: cst.Call
    method: cst.Name | None
    """The `register_*` name node (None for integrations called as plain functions)."""
    key: cst.BaseExpression | None
    provider_node: cst.BaseExpression | None
    keywords: dict[str, cst.Arg]
    receiver: ReceiverKind | None
    receiver_origin: cst.Call | None
    """The call that built the receiver (`svcs.Registry()`), when this module shows it."""
    local: bool
    """`register_local_*`."""
    function: cst.FunctionDef | None
    """The enclosing function, if any."""

    @property
    def file(self) -> str:
        """The module's path relative to the workspace root."""
        return self.mod.relative

    def to_model(self) -> ServiceRegistration:
        """The `ServiceRegistration` (resolving positions only now, when someone asks)."""
        line, column, _, _ = self.mod.location(self.call)
        return ServiceRegistration(
            service_type=self.service_type,
            service_qualified=self.service_qualified,
            provider=self.provider,
            expression=self.expression,
            provider_qualified=self.provider_qualified,
            lifecycle=self.lifecycle,
            ping=self.ping,
            cleanup=self.cleanup,
            is_async=self.is_async,
            file=self.mod.relative,
            line=line,
            column=column,
        )


@dataclass(eq=False, kw_only=True)
class InjectableSite:
    """An `@injectable` decorator (current API or legacy `hopscotch`)."""

    decorator: cst.Decorator
    target: cst.ClassDef | cst.FunctionDef
    call: cst.Call | None
    """The decorator call when written `@injectable(...)`."""
    keywords: dict[str, cst.Arg]
    legacy: bool
    """From the legacy `hopscotch` 0.3 package (venusian API)."""
    qualified: str
    """Absolute dotted name of the decorated class or function."""
    service_qualified: str | None
    """What it registers: `for_=` when given, else the class itself."""


@dataclass(eq=False, kw_only=True)
class ScanSite:
    """A `scan(registry, *packages)` call of svcs-di / svcs_hopscotch / tdom_svcs."""

    call: cst.Call
    registry: cst.BaseExpression | None
    registry_kind: ReceiverKind | None
    registry_origin: cst.Call | None
    """The call that built the registry (`svcs.Registry()`), when this module shows it."""
    modules: list[str]
    """Absolute module names scanned (packages include their submodules)."""
    unknown: bool
    """Some target could not be resolved (a variable): assume it may cover anything."""
    locals_dict: bool
    """`locals_dict=` given: scans this module's names."""


@dataclass(eq=False, kw_only=True)
class ResolveSite:
    """`container.get(T, ...)` / `aget` / `get_abstract` / `aget_abstract` on an svcs container."""

    call: cst.Call
    method: cst.Name
    types: list[cst.BaseExpression]
    typed: bool
    """The receiver is a container by type or binding, not only by its spelling."""
    function: cst.FunctionDef | None
    awaited: bool


@dataclass(eq=False, kw_only=True)
class InjectUse:
    """One `Inject[...]` (or bare `Inject`) in an annotation."""

    node: cst.BaseExpression
    """The `Inject[...]` subscript, or the bare `Inject` name."""
    inject: cst.BaseExpression
    """The `Inject` name or attribute itself."""
    args: list[cst.BaseExpression]
    """The subscript's elements (empty when bare)."""
    has_default: bool
    """The field or parameter has a default, so an unregistered type falls back to it."""


@dataclass(eq=False, kw_only=True)
class ImportSite:
    """An import that belongs to one of the Hopscotch families."""

    node: cst.Import | cst.ImportFrom
    module: str
    family: Family


@dataclass(kw_only=True)
class ClassInfo:
    """What the SVC rules need to know about a module-level class."""

    node: cst.ClassDef
    module: str
    """The defining module's relative path."""
    injects: bool
    """Has `Inject[...]` fields or `__init__` parameters."""
    callable: bool
    """Defines `__call__` (an instance can be a factory), or has bases we cannot see."""


@dataclass(kw_only=True)
class FunctionInfo:
    """A module-level function that may be a factory."""

    node: cst.FunctionDef
    module: str

    @property
    def is_async(self) -> bool:
        """`async def`."""
        return self.node.asynchronous is not None

    @cached_property
    def is_generator(self) -> bool:
        """The body yields (walked only when someone asks: most functions are never factories)."""
        return is_generator(self.node)


@dataclass(eq=False, kw_only=True)
class ModuleServices:
    """Every svcs fact of one module, with nodes, computed in one pass."""

    name: str
    """The module's dotted name."""
    uses_svcs: bool
    """Imports the svcs ecosystem or defines an svcs convention function."""
    registrations: list[RegistrationSite] = field(default_factory=list)
    """Registrations on svcs receivers (by type, binding, or spelling in an svcs module)."""
    weak_registrations: list[RegistrationSite] = field(default_factory=list)
    """`registry.register_*` calls in modules that never import svcs: counted as registrations for the
    project index, but not checked."""
    injectables: list[InjectableSite] = field(default_factory=list)
    scans: list[ScanSite] = field(default_factory=list)
    resolves: list[ResolveSite] = field(default_factory=list)
    injects: list[InjectUse] = field(default_factory=list)
    imports: list[ImportSite] = field(default_factory=list)
    classes: dict[str, cst.ClassDef] = field(default_factory=dict)
    functions: dict[str, cst.FunctionDef] = field(default_factory=dict)
    aliases: dict[str, cst.TypeAlias] = field(default_factory=dict)
    """PEP 695 `type X = …` statements at module level."""
    conventions: dict[str, cst.FunctionDef] = field(default_factory=dict)
    """`svcs_registry` / `svcs_container` definitions."""
    bound: set[str] = field(default_factory=set)
    """Every name bound at module level (definitions, assignments, imports)."""
    locations: list[tuple[cst.Call, cst.Arg]] = field(default_factory=list)
    """`location=` arguments of Hopscotch calls (`@injectable`, `HopscotchContainer`, …)."""
    legacy_keywords: list[tuple[cst.Call, cst.Arg, str]] = field(default_factory=list)
    """Legacy `hopscotch` keywords (`kind=`, `context=`) given to the current API: (call, arg, callee)."""
    dynamic_keys: bool = False
    """Some registration key is computed (a variable), so the set of registered types is open."""
    resolver: _Resolver | None = field(default=None, repr=False)

    def names(self, node: cst.CSTNode) -> set[str]:
        """Absolute dotted names `node` may refer to (empty when unknown or local)."""
        return self.resolver.names(node) if self.resolver is not None else set()

    def one(self, node: cst.CSTNode) -> str | None:
        """One absolute dotted name of `node` (the smallest, for determinism), or None."""
        return self.resolver.one(node) if self.resolver is not None else None


def module_name(relative: str) -> str:
    """Dotted module name of a workspace-relative path (`src/app/__init__.py` → `app`)."""
    path = relative.removesuffix(".py")
    path = path.removeprefix("src/")
    parts = [p for p in path.split("/") if p]
    if parts and parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def import_family(module: str, names: Sequence[str] = ()) -> Family | None:
    """The Hopscotch family an import of `names` from `module` commits to, if any (SVC013)."""
    if module == "svcs_hopscotch" or module.startswith("svcs_hopscotch."):
        return "svcs_hopscotch"
    if module == "hopscotch" or module.startswith("hopscotch."):
        return "hopscotch"
    if module.startswith(("svcs_di.injectors", "svcs_di.hopscotch_registry")):
        return "svcs_di.injectors"
    hopscotch_names = {"HopscotchRegistry", "HopscotchContainer", "injectable", "scan"}
    if module == "svcs_di" and hopscotch_names.intersection(names):
        return "svcs_di.injectors"
    return None


def dotted(node: cst.BaseExpression) -> str:
    """The dotted text of a `Name` / `Attribute` chain (`svcs_di.injectors`); empty for anything else."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        base = dotted(node.value)
        return f"{base}.{node.attr.value}" if base else ""
    return ""


def _root(qualified: str) -> str:
    return qualified.split(".", 1)[0]


def _last(qualified: str) -> str:
    return qualified.rsplit(".", 1)[-1]


def is_api(qualified: str, name: str, *, legacy: bool = False) -> bool:
    """Whether `qualified` is the current Hopscotch API's `name` (or legacy `hopscotch`'s with `legacy`)."""
    if _last(qualified) != name or "." not in qualified:
        return False
    root = _root(qualified)
    return root == "hopscotch" if legacy else root in HOPSCOTCH_ROOTS


def type_kind(qualified: str) -> ReceiverKind | None:
    """The receiver kind an object of type (or built by) `qualified` has."""
    if qualified == "svcs.Registry":
        return "svcs_registry"
    if qualified == "svcs.Container":
        return "container"
    root, last = _root(qualified), _last(qualified)
    if root in HOPSCOTCH_ROOTS:
        if last == "HopscotchRegistry":
            return "hopscotch_registry"
        if last in {"HopscotchContainer", "InjectorContainer"}:
            return "container"
    if qualified.rpartition(".")[0] in SVCS_INTEGRATIONS:
        if last in {"svcs_from", "get_container"}:
            return "container"
        if last == "get_registry":
            return "registry"
    if root == "hopscotch":
        return "other"
    return None


class _Resolver:
    """Turns libcst's module-relative qualified names into absolute dotted names."""

    def __init__(self, mod: ModuleContext, name: str, top_level: set[str]) -> None:
        self.mod = mod
        self.name = name
        self.package = name if mod.relative.endswith("__init__.py") else name.rpartition(".")[0]
        self.top_level = top_level

    def absolute(self, qualified: str) -> str | None:
        if "<locals>" in qualified:
            return None
        if qualified.startswith("."):
            dots = len(qualified) - len(qualified.lstrip("."))
            parts = self.package.split(".") if self.package else []
            if dots - 1 > len(parts):
                return None
            base = parts[: len(parts) - (dots - 1)]
            rest = qualified[dots:]
            return ".".join([*base, rest]) if rest else ".".join(base)
        if _root(qualified) in self.top_level:
            return f"{self.name}.{qualified}" if self.name else qualified
        return qualified

    def names(self, node: cst.CSTNode) -> set[str]:
        found = set()
        for qualified in self.mod.qualified_names(node):
            if (absolute := self.absolute(qualified)) is not None:
                found.add(absolute)
        return found

    def one(self, node: cst.CSTNode) -> str | None:
        names = self.names(node)
        return min(names) if names else None


def _keywords(call: cst.Call) -> dict[str, cst.Arg]:
    return {arg.keyword.value: arg for arg in call.args if arg.keyword is not None}


def _positional(call: cst.Call) -> list[cst.BaseExpression]:
    return [arg.value for arg in call.args if arg.keyword is None and not arg.star]


def all_params(params: cst.Parameters) -> list[cst.Param]:
    """Every parameter, in order (positional-only, positional, `*args`, keyword-only, `**kwargs`)."""
    found = [*params.posonly_params, *params.params]
    if isinstance(params.star_arg, cst.Param):
        found.append(params.star_arg)
    found.extend(params.kwonly_params)
    if params.star_kwarg is not None:
        found.append(params.star_kwarg)
    return found


def is_generator(function: cst.FunctionDef | cst.Lambda) -> bool:
    """Whether the function body yields (nested functions and classes do not count)."""
    found = False

    class _Yields(cst.CSTVisitor):
        def visit_Yield(self, node: cst.Yield) -> bool:
            nonlocal found
            found = True
            return False

        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            return False

        def visit_Lambda(self, node: cst.Lambda) -> bool:
            return False

        def visit_ClassDef(self, node: cst.ClassDef) -> bool:
            return False

    if isinstance(function, cst.FunctionDef):
        visit_fast(function.body, _Yields())
    return found


def _body_statements(node: cst.ClassDef | cst.FunctionDef | cst.Module) -> Sequence[cst.CSTNode]:
    body = node.body
    return body if isinstance(body, Sequence) else body.body


class _Collector(cst.CSTVisitor):
    """One pass over a module collecting bindings, registrations, scans, resolutions and `Inject` uses."""

    def __init__(self, mod: ModuleContext, facts: ModuleServices, resolver: _Resolver) -> None:
        self.mod = mod
        self.facts = facts
        self.resolver = resolver
        self.scopes: list[cst.FunctionDef | cst.Lambda | None] = [None]
        self.bindings: dict[cst.CSTNode | None, dict[str, tuple[ReceiverKind, cst.Call | None]]] = {None: {}}
        self.functions: list[cst.FunctionDef] = []
        self.pending_calls: list[tuple[cst.Call, tuple[cst.CSTNode | None, ...], cst.FunctionDef | None]] = []
        self.awaited: set[int] = set()

    # -- scopes and bindings -------------------------------------------------------------------------

    def _bind(self, name: str, kind: ReceiverKind | None, origin: cst.BaseExpression | None = None) -> None:
        if kind is not None:
            call = origin if isinstance(origin, cst.Call) else None
            self.bindings.setdefault(self.scopes[-1], {})[name] = (kind, call)

    def _kind_of_type(self, node: cst.BaseExpression | None) -> ReceiverKind | None:
        if node is None or not isinstance(node, (cst.Name, cst.Attribute)):
            return None
        for qualified in self.resolver.names(node):
            if (kind := type_kind(qualified)) is not None:
                return kind
        return None

    def _kind_of_value(self, value: cst.BaseExpression) -> ReceiverKind | None:
        if isinstance(value, cst.Call):
            return self._kind_of_type(value.func)
        if isinstance(value, (cst.Dict, cst.List, cst.Tuple, cst.Set, cst.SimpleString)):
            return "other"
        return None

    def _enter_function(self, node: cst.FunctionDef | cst.Lambda) -> None:
        self.scopes.append(node)
        self.bindings.setdefault(node, {})
        params = all_params(node.params)
        convention = node.name.value if isinstance(node, cst.FunctionDef) else ""
        for index, param in enumerate(params):
            name = param.name.value
            annotation = param.annotation.annotation if param.annotation else None
            kind = self._kind_of_type(annotation)
            if kind is None and name == "svcs_container":
                kind = "container"
            if kind is None and index == 0 and convention == "svcs_container":
                kind = "container"
            if kind is None and index == 0 and convention in {"svcs_registry", "svcs_setup"}:
                kind = "registry"
            self._bind(name, kind)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._enter_function(node)
        self.functions.append(node)

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.scopes.pop()
        self.functions.pop()

    def visit_Lambda(self, node: cst.Lambda) -> None:
        self._enter_function(node)

    def leave_Lambda(self, original_node: cst.Lambda) -> None:
        self.scopes.pop()

    def visit_Assign(self, node: cst.Assign) -> None:
        if len(node.targets) == 1 and isinstance(node.targets[0].target, cst.Name):
            self._bind(node.targets[0].target.value, self._kind_of_value(node.value), node.value)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if isinstance(node.target, cst.Name):
            kind = self._kind_of_type(node.annotation.annotation)
            if node.value is not None:
                kind = self._kind_of_value(node.value) or kind
            self._bind(node.target.value, kind, node.value)
        self._injects(node.annotation.annotation, has_default=node.value is not None)

    def visit_Param(self, node: cst.Param) -> None:
        if node.annotation is not None:
            self._injects(node.annotation.annotation, has_default=node.default is not None)

    def visit_WithItem(self, node: cst.WithItem) -> None:
        if node.asname is not None and isinstance(node.asname.name, cst.Name):
            self._bind(node.asname.name.value, self._kind_of_value(node.item), node.item)

    # -- imports ----------------------------------------------------------------------------------

    def visit_Import(self, node: cst.Import) -> None:
        for alias in node.names:
            name = dotted(alias.name)
            if family := import_family(name):
                self.facts.imports.append(ImportSite(node=node, module=name, family=family))

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        if node.module is None or node.relative:
            return
        module = dotted(node.module)
        names = [] if isinstance(node.names, cst.ImportStar) else [dotted(a.name) for a in node.names]
        if family := import_family(module, names):
            self.facts.imports.append(ImportSite(node=node, module=module, family=family))

    # -- Inject ------------------------------------------------------------------------------------

    def _injects(self, annotation: cst.BaseExpression, *, has_default: bool) -> None:
        for node, inject, args in find_injects(self.mod, annotation):
            self.facts.injects.append(InjectUse(node=node, inject=inject, args=args, has_default=has_default))

    def visit_Await(self, node: cst.Await) -> None:
        self.awaited.add(id(node.expression))

    # -- calls ---------------------------------------------------------------------------------------

    def visit_Call(self, node: cst.Call) -> None:
        chain = tuple(self.scopes)
        function = self.functions[-1] if self.functions else None
        self.pending_calls.append((node, chain, function))

    def receiver_kind(
        self, receiver: cst.BaseExpression, chain: tuple[cst.CSTNode | None, ...]
    ) -> tuple[ReceiverKind | None, bool, cst.Call | None]:
        """(kind, typed, origin) of a method call's receiver.

        `typed` is False when only the receiver's spelling (`*registry*`, `*container*`) says what it is;
        `origin` is the constructor call that built it, when this module shows it.
        """
        if isinstance(receiver, cst.Name):
            for scope in reversed(chain):
                bound = self.bindings.get(scope, {}).get(receiver.value)
                if bound is not None:
                    return bound[0], True, bound[1]
        if isinstance(receiver, cst.Call):
            kind = self._kind_of_value(receiver)
            if kind is not None:
                return kind, True, receiver
        spelled = receiver.value if isinstance(receiver, cst.Name) else None
        if isinstance(receiver, cst.Attribute):
            spelled = receiver.attr.value
        if spelled is not None:
            lowered = spelled.lower()
            if "registry" in lowered:
                return "registry", False, None
            if "container" in lowered:
                return "container", False, None
        return None, False, None


def is_inject(mod: ModuleContext, node: cst.BaseExpression) -> bool:
    """Whether `node` names svcs-di's `Inject` (or an `Inject` that was never imported)."""
    if not isinstance(node, (cst.Name, cst.Attribute)):
        return False
    names = mod.qualified_names(node)
    if not names:
        return isinstance(node, cst.Name) and node.value == "Inject"
    return any(_last(q) == "Inject" and "." in q for q in names)


def find_injects(
    mod: ModuleContext, annotation: cst.BaseExpression
) -> Iterator[tuple[cst.BaseExpression, cst.BaseExpression, list[cst.BaseExpression]]]:
    """(node, `Inject` name, subscript elements) for every `Inject` inside an annotation expression."""
    stack: list[cst.BaseExpression] = [annotation]
    while stack:
        node = stack.pop()
        if isinstance(node, cst.Subscript):
            elements = [e.slice.value for e in node.slice if isinstance(e.slice, cst.Index)]
            if is_inject(mod, node.value):
                yield node, node.value, elements
            else:
                stack.append(node.value)
            stack.extend(elements)
        elif isinstance(node, cst.BinaryOperation):
            stack.extend((node.left, node.right))
        elif isinstance(node, (cst.Name, cst.Attribute)) and is_inject(mod, node):
            yield node, node, []


def _module_level(module: cst.Module, facts: ModuleServices) -> set[str]:
    """Record module-level classes, functions and type aliases; return every top-level bound name."""
    top: set[str] = set()
    for statement in module.body:
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                if isinstance(small, (cst.Import, cst.ImportFrom)) and not isinstance(
                    small.names, cst.ImportStar
                ):
                    for alias in small.names:
                        bound = alias.asname.name if alias.asname is not None else alias.name
                        if isinstance(small, cst.Import) and alias.asname is None:
                            facts.bound.add(dotted(alias.name).split(".")[0])
                        elif isinstance(bound, cst.Name):
                            facts.bound.add(bound.value)
        if isinstance(statement, cst.ClassDef):
            facts.classes[statement.name.value] = statement
            top.add(statement.name.value)
        elif isinstance(statement, cst.FunctionDef):
            facts.functions[statement.name.value] = statement
            top.add(statement.name.value)
            if statement.name.value in CONVENTION_FUNCTIONS:
                facts.conventions[statement.name.value] = statement
        elif isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                if isinstance(small, cst.TypeAlias):
                    facts.aliases[small.name.value] = small
                    top.add(small.name.value)
                elif isinstance(small, cst.Assign):
                    top.update(t.target.value for t in small.targets if isinstance(t.target, cst.Name))
                elif isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name):
                    top.add(small.target.value)
    facts.bound |= top
    return top


def _uses_svcs(module: cst.Module, facts: ModuleServices) -> bool:
    if facts.conventions or "svcs_setup" in facts.functions:
        return True
    for statement in module.body:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if isinstance(small, cst.ImportFrom) and small.module is not None and not small.relative:
                if _root(dotted(small.module)) in DI_ROOTS:
                    return True
            elif isinstance(small, cst.Import):
                for alias in small.names:
                    if _root(dotted(alias.name)) in DI_ROOTS:
                        return True
    return False


def _scan_targets(
    mod: ModuleContext, resolver: _Resolver, args: list[cst.BaseExpression], name: str
) -> tuple[list[str], bool]:
    modules: list[str] = []
    unknown = False
    for arg in args:
        if isinstance(arg, cst.SimpleString):
            modules.append(arg.evaluated_value if isinstance(arg.evaluated_value, str) else "")
        elif isinstance(arg, cst.Name) and arg.value == "__name__":
            modules.append(name)
        elif isinstance(arg, cst.Name) and arg.value == "None":
            continue
        elif isinstance(arg, (cst.Name, cst.Attribute)) and (target := resolver.one(arg)):
            modules.append(target)
        else:
            unknown = True
    return modules, unknown


def _collect(mod: ModuleContext) -> ModuleServices:
    name = module_name(mod.relative)
    facts = ModuleServices(name=name, uses_svcs=False)
    top = _module_level(mod.module, facts)
    facts.uses_svcs = _uses_svcs(mod.module, facts)
    resolver = _Resolver(mod, name, top)
    facts.resolver = resolver
    if not (facts.uses_svcs or any(token in mod.source for token in ("register_", "Inject", "hopscotch"))):
        return facts  # nothing here can register, resolve or inject a service: skip the walk
    collector = _Collector(mod, facts, resolver)
    visit_fast(mod.module, collector)
    for call, chain, function in collector.pending_calls:
        _classify_call(mod, collector, resolver, call, chain, function)
    for site in facts.resolves:
        site.awaited = id(site.call) in collector.awaited
    for statement in mod.module.body:
        target = statement if isinstance(statement, (cst.ClassDef, cst.FunctionDef)) else None
        if target is not None:
            for decorator in target.decorators:
                _injectable(mod, facts, resolver, decorator, target)
    return facts


def _classify_call(
    mod: ModuleContext,
    collector: _Collector,
    resolver: _Resolver,
    call: cst.Call,
    chain: tuple[cst.CSTNode | None, ...],
    function: cst.FunctionDef | None,
) -> None:
    facts = collector.facts
    func = call.func
    qualified = resolver.names(func) if isinstance(func, (cst.Name, cst.Attribute)) else set()
    keywords = _keywords(call)
    if keywords:
        _keyword_sites(facts, call, func, qualified, keywords)
    if any(is_api(q, "scan") for q in qualified):
        positional = _positional(call)
        modules, unknown = _scan_targets(mod, resolver, positional[1:], facts.name)
        has_locals = "locals_dict" in keywords
        if not positional[1:] and not has_locals:
            package = resolver.package
            modules.append(package or facts.name)
        registry = positional[0] if positional else None
        kind, _, origin = (
            collector.receiver_kind(registry, chain) if registry is not None else (None, 0, None)
        )
        facts.scans.append(
            ScanSite(
                call=call,
                registry=registry,
                registry_kind=kind,
                registry_origin=origin,
                modules=modules,
                unknown=unknown,
                locals_dict=has_locals,
            )
        )
        return
    integration = next(
        (q for q in qualified if q.rpartition(".")[0] in SVCS_INTEGRATIONS and _last(q) in REGISTER_METHODS),
        None,
    )
    if integration is not None:
        _registration(
            mod, facts, resolver, call, None, _last(integration), ("registry", None), function, shift=1
        )
        return
    if not isinstance(func, cst.Attribute):
        return
    method = func.attr.value
    if method in REGISTER_METHODS:
        if (
            isinstance(func.value, (cst.Name, cst.Attribute))
            and resolver.names(func.value) & SVCS_INTEGRATIONS
        ):
            # `svcs.flask.register_factory(app, T, f)` spelled through the module
            _registration(
                mod, facts, resolver, call, func.attr, method, ("registry", None), function, shift=1
            )
            return
        kind, typed, origin = collector.receiver_kind(func.value, chain)
        confident = typed or facts.uses_svcs
        if kind == "other" or not (confident or kind is not None):
            return
        _registration(
            mod,
            facts,
            resolver,
            call,
            func.attr,
            method,
            (kind, origin),
            function,
            shift=0,
            weak=not confident,
        )
    elif method in RESOLVE_METHODS:
        kind, typed, _ = collector.receiver_kind(func.value, chain)
        if kind != "container" or not (typed or facts.uses_svcs):
            return
        facts.resolves.append(
            ResolveSite(
                call=call,
                method=func.attr,
                types=_positional(call),
                typed=typed,
                function=function,
                awaited=False,
            )
        )


def _computed_key(mod: ModuleContext, facts: ModuleServices, key: cst.BaseExpression) -> bool:
    """Whether a registration key is a run-time value (a parameter, a loop variable) rather than a type."""
    if isinstance(key, (cst.Attribute, cst.Subscript, cst.SimpleString)):
        return False
    if not isinstance(key, cst.Name):
        return True
    names = mod.qualified_names(key)
    if any("<locals>" in q for q in names):
        # a class defined in the function (tests do this) is a type; parameters and loop variables are not
        scope = mod.scopes.get(key)
        assignments = scope[key.value] if scope is not None else set()
        return not assignments or not all(isinstance(a.node, cst.ClassDef) for a in assignments)
    return key.value not in facts.bound and not any(q.startswith("builtins.") for q in names)


def _keyword_sites(
    facts: ModuleServices,
    call: cst.Call,
    func: cst.BaseExpression,
    qualified: set[str],
    keywords: dict[str, cst.Arg],
) -> None:
    callee = next(
        (
            _last(q)
            for q in qualified
            if _root(q) in HOPSCOTCH_ROOTS
            and _last(q) in {"injectable", "HopscotchContainer", "HopscotchRegistry", "ServiceLocator"}
        ),
        None,
    )
    method = func.attr.value if isinstance(func, cst.Attribute) else None
    if "location" in keywords and (
        callee in {"injectable", "HopscotchContainer"}
        or (method in {"register_implementation", "get_implementation"} and facts.uses_svcs)
    ):
        facts.locations.append((call, keywords["location"]))
    if callee in {"injectable", "HopscotchContainer", "HopscotchRegistry"}:
        for name in ("kind", "context"):
            if name in keywords:
                facts.legacy_keywords.append((call, keywords[name], callee))


def _registration(
    mod: ModuleContext,
    facts: ModuleServices,
    resolver: _Resolver,
    call: cst.Call,
    method_node: cst.Name | None,
    method: str,
    receiver: tuple[ReceiverKind | None, cst.Call | None],
    function: cst.FunctionDef | None,
    *,
    shift: int,
    weak: bool = False,
) -> None:
    provider, local = REGISTER_METHODS[method]
    positional = _positional(call)[shift:]
    keywords = _keywords(call)
    key = positional[0] if positional else getattr(keywords.get("svc_type"), "value", None)
    provider_node = positional[1] if len(positional) > 1 else None
    for name in ("factory", "value", "implementation"):
        if provider_node is None and name in keywords:
            provider_node = keywords[name].value
    if key is None or provider_node is None:
        return
    if _computed_key(mod, facts, key):
        facts.dynamic_keys = True
    lifecycle: Lifecycle = "local" if local else "app"
    if function is not None and function.name.value == "svcs_container":
        lifecycle = "container"
    ping = keywords.get("ping")
    enter = keywords.get("enter")
    info = _factory_info(facts, resolver, provider_node)
    cleanup = (
        (provider == "factory" and info[1])
        or "on_registry_close" in keywords
        or (enter is not None and isinstance(enter.value, cst.Name) and enter.value.value == "True")
    )
    (facts.weak_registrations if weak else facts.registrations).append(
        RegistrationSite(
            mod=mod,
            service_type=mod.code(key),
            service_qualified=resolver.one(key) if isinstance(key, (cst.Name, cst.Attribute)) else None,
            provider=provider,
            expression=mod.code(provider_node),
            provider_qualified=(
                resolver.one(provider_node) if isinstance(provider_node, (cst.Name, cst.Attribute)) else None
            ),
            lifecycle=lifecycle,
            ping=mod.code(ping.value) if ping is not None else None,
            cleanup=bool(cleanup),
            is_async=provider == "factory" and info[0],
            call=call,
            method=method_node,
            key=key,
            provider_node=provider_node,
            keywords=keywords,
            receiver=receiver[0],
            receiver_origin=receiver[1],
            local=local,
            function=function,
        )
    )


def _factory_info(facts: ModuleServices, resolver: _Resolver, node: cst.BaseExpression) -> tuple[bool, bool]:
    """(is_async, is_generator) of a factory expression, as far as this module can tell."""
    if isinstance(node, cst.Call) and isinstance(node.func, (cst.Name, cst.Attribute)):
        if any(_root(q) in HOPSCOTCH_ROOTS and _last(q) == "auto_async" for q in resolver.names(node.func)):
            return True, False
        return False, False
    if isinstance(node, cst.Name) and node.value in facts.functions:
        definition = facts.functions[node.value]
        return definition.asynchronous is not None, is_generator(definition)
    return False, False


def _injectable(
    mod: ModuleContext,
    facts: ModuleServices,
    resolver: _Resolver,
    decorator: cst.Decorator,
    target: cst.ClassDef | cst.FunctionDef,
) -> None:
    expression = decorator.decorator
    call = expression if isinstance(expression, cst.Call) else None
    func = call.func if call is not None else expression
    if not isinstance(func, (cst.Name, cst.Attribute)):
        return
    names = resolver.names(func)
    current = any(is_api(q, "injectable") for q in names)
    legacy = any(is_api(q, "injectable", legacy=True) for q in names)
    if not (current or legacy):
        return
    keywords = _keywords(call) if call is not None else {}
    qualified = f"{facts.name}.{target.name.value}" if facts.name else target.name.value
    for_ = keywords.get("for_") or (keywords.get("kind") if legacy else None)
    service: str | None = qualified if isinstance(target, cst.ClassDef) else None
    if for_ is not None:
        service = resolver.one(for_.value) if isinstance(for_.value, (cst.Name, cst.Attribute)) else None
    facts.injectables.append(
        InjectableSite(
            decorator=decorator,
            target=target,
            call=call,
            keywords=keywords,
            legacy=legacy and not current,
            qualified=qualified,
            service_qualified=service,
        )
    )


def module_services(mod: ModuleContext, index: ProjectIndex | None = None) -> ModuleServices:
    """Every svcs fact of `mod` (computed once per module version, shared through `index.memo`)."""
    if index is None:
        return _collect(mod)
    cached = index.memo(f"svc:module:{mod.relative}", lambda _: _Cached())
    if cached.module is not mod.module or cached.facts is None:
        cached.module = mod.module
        cached.facts = _collect(mod)
    return cached.facts


@dataclass
class _Cached:
    module: cst.Module | None = None
    facts: ModuleServices | None = None


def extract_registrations(mod: ModuleContext) -> list[ServiceRegistration]:
    """Every service registration in one module, in source order (register_* calls and @injectable)."""
    facts = module_services(mod)
    found = [site.to_model() for site in [*facts.registrations, *facts.weak_registrations]]
    for site in facts.injectables:
        found.append(_injectable_model(mod, site))
    return sorted(found, key=lambda r: (r.line, r.column))


def _injectable_type(mod: ModuleContext, site: InjectableSite) -> str:
    for_ = site.keywords.get("for_") or (site.keywords.get("kind") if site.legacy else None)
    return mod.code(for_.value) if for_ is not None else site.target.name.value


def _injectable_model(mod: ModuleContext, site: InjectableSite) -> ServiceRegistration:
    line, column, _, _ = mod.location(site.decorator)
    is_function = isinstance(site.target, cst.FunctionDef)
    return ServiceRegistration(
        service_type=_injectable_type(mod, site),
        service_qualified=site.service_qualified,
        provider="injectable",
        expression=site.target.name.value,
        provider_qualified=site.qualified,
        lifecycle="app",
        cleanup=is_function and is_generator(site.target),
        is_async=is_function and site.target.asynchronous is not None,
        file=mod.relative,
        line=line,
        column=column,
    )


@dataclass(kw_only=True)
class ProjectServices:
    """Project-wide svcs facts: every module's facts joined into lookups."""

    modules: dict[str, ModuleServices]
    """Facts by relative path."""
    sites: list[RegistrationSite]
    """Every register_* call of the project (checked and weak ones)."""
    covered_injectables: list[tuple[ModuleContext, InjectableSite]]
    """@injectable targets that some `scan()` covers."""
    registered: set[str]
    """Absolute names of registered service types."""
    registered_simple: set[str]
    """Last segments of registered types (lenient matching across re-exports)."""
    async_types: set[str]
    """Absolute names of types whose factory is async."""
    async_simple: set[str]
    open_world: bool
    """Some key or scan target is computed, so SVC014 cannot tell what is missing."""
    wiring: bool
    """The project registers anything at all (otherwise it is a library and SVC014 stays quiet)."""
    unscanned: dict[str, str]
    """Absolute names of types whose only registration is an unscanned @injectable → its file."""
    classes: dict[str, ClassInfo]
    """Module-level classes by absolute name."""
    functions: dict[str, FunctionInfo]
    """Module-level functions by absolute name."""
    aliases: dict[str, str]
    """PEP 695 aliases by absolute name → defining file."""
    factories: dict[str, list[RegistrationSite]]
    """Absolute function name → the registrations that use it as a factory."""
    pings: dict[str, list[RegistrationSite]]
    """Absolute function name → the registrations that use it as `ping=`."""
    families: dict[Family, int]
    """Import statements per Hopscotch family."""
    scanned: list[str]
    """Absolute module names scan() covers (packages include submodules)."""


def _covered(module: str, scanned: list[str]) -> bool:
    return any(module == s or module.startswith(s + ".") for s in scanned)


def _class_info(mod: ModuleContext, facts: ModuleServices, node: cst.ClassDef) -> ClassInfo:
    if "Inject" not in mod.source:  # spares resolving names in modules that cannot have Inject fields
        return ClassInfo(node=node, module=mod.relative, injects=False, callable=_has_call_or_bases(node))
    injects = False
    callable_ = False
    for statement in _body_statements(node):
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                if isinstance(small, cst.AnnAssign) and any(
                    True for _ in find_injects(mod, small.annotation.annotation)
                ):
                    injects = True
        elif isinstance(statement, cst.FunctionDef):
            if statement.name.value == "__call__":
                callable_ = True
            if statement.name.value == "__init__":
                for param in all_params(statement.params):
                    if param.annotation is not None and any(
                        True for _ in find_injects(mod, param.annotation.annotation)
                    ):
                        injects = True
    for base in node.bases:
        if base.keyword is not None:
            continue
        value = base.value
        if isinstance(value, cst.Name) and value.value in facts.classes and value.value != node.name.value:
            inherited = _class_info(mod, facts, facts.classes[value.value])
            injects = injects or inherited.injects
            callable_ = callable_ or inherited.callable
        elif not (isinstance(value, cst.Name) and value.value in {"object", "Protocol"}):
            callable_ = True  # a base we cannot see may define __call__
    return ClassInfo(node=node, module=mod.relative, injects=injects, callable=callable_)


def _has_call_or_bases(node: cst.ClassDef) -> bool:
    """Whether instances may be callable: a `__call__` of its own, or a base class we do not look into."""
    for statement in _body_statements(node):
        if isinstance(statement, cst.FunctionDef) and statement.name.value == "__call__":
            return True
    return any(
        base.keyword is None
        and not (isinstance(base.value, cst.Name) and base.value.value in {"object", "Protocol"})
        for base in node.bases
    )


def _build(index: ProjectIndex) -> ProjectServices:
    modules = {mod.relative: module_services(mod, index) for mod in index.iter_modules()}
    sites: list[RegistrationSite] = []
    covered: list[tuple[ModuleContext, InjectableSite]] = []
    scanned: list[str] = []
    open_world = False
    classes: dict[str, ClassInfo] = {}
    functions: dict[str, FunctionInfo] = {}
    aliases: dict[str, str] = {}
    factories: dict[str, list[RegistrationSite]] = {}
    pings: dict[str, list[RegistrationSite]] = {}
    families: dict[Family, int] = {}
    locals_scanned: set[str] = set()
    for relative, facts in modules.items():
        mod = index.modules[relative]
        prefix = f"{facts.name}." if facts.name else ""
        for name, node in facts.classes.items():
            classes[prefix + name] = _class_info(mod, facts, node)
        for name, node in facts.functions.items():
            functions[prefix + name] = FunctionInfo(node=node, module=relative)
        for name in facts.aliases:
            aliases[prefix + name] = relative
        for site in facts.imports:
            families[site.family] = families.get(site.family, 0) + 1
        for scan in facts.scans:
            scanned.extend(scan.modules)
            open_world = open_world or scan.unknown
            if scan.locals_dict:
                locals_scanned.add(facts.name)
        open_world = open_world or facts.dynamic_keys
    for facts in modules.values():
        sites.extend(facts.weak_registrations)
        for site in facts.registrations:
            ping = site.keywords.get("ping")
            if ping is not None and isinstance(ping.value, cst.Name) and (target := facts.one(ping.value)):
                pings.setdefault(target, []).append(site)
            if site.provider_qualified and site.provider == "factory":
                factories.setdefault(site.provider_qualified, []).append(site)
                info = functions.get(site.provider_qualified)
                if info is not None:  # a factory imported from another module
                    site.is_async = site.is_async or info.is_async
                    site.cleanup = site.cleanup or info.is_generator
            sites.append(site)
    unscanned: dict[str, str] = {}
    for relative, facts in modules.items():
        mod = index.modules[relative]
        for site in facts.injectables:
            if site.legacy:
                continue
            if _covered(facts.name, scanned) or facts.name in locals_scanned or open_world:
                covered.append((mod, site))
            elif site.service_qualified:
                unscanned[site.service_qualified] = relative
    registered = {s.service_qualified for s in sites if s.service_qualified}
    registered |= {site.service_qualified for _, site in covered if site.service_qualified}
    registered_simple = {_last(s.service_type) for s in sites}
    registered_simple |= {_last(_injectable_type(mod, site)) for mod, site in covered}
    async_types = {s.service_qualified for s in sites if s.is_async and s.service_qualified}
    async_simple = {_last(s.service_type) for s in sites if s.is_async}
    for mod, site in covered:
        if isinstance(site.target, cst.FunctionDef) and site.target.asynchronous is not None:
            if site.service_qualified:
                async_types.add(site.service_qualified)
            async_simple.add(_last(_injectable_type(mod, site)))
    for name in registered:
        unscanned.pop(name, None)
    return ProjectServices(
        modules=modules,
        sites=sites,
        covered_injectables=covered,
        registered=registered,
        registered_simple=registered_simple,
        async_types=async_types,
        async_simple=async_simple,
        open_world=open_world,
        wiring=bool(sites or covered or scanned or unscanned),
        unscanned=unscanned,
        classes=classes,
        functions=functions,
        aliases=aliases,
        factories=factories,
        pings=pings,
        families=families,
        scanned=scanned,
    )


def project_services(index: ProjectIndex) -> ProjectServices:
    """The project-wide svcs facts, computed once per index (`index.memo("svc:project", …)`)."""
    return index.memo("svc:project", _build)


def registration_index(index: ProjectIndex) -> list[ServiceRegistration]:
    """Every registration in the project: register_* calls, and @injectable targets some scan() covers."""
    return index.memo("svc:registrations", _models)


def _models(index: ProjectIndex) -> list[ServiceRegistration]:
    project = project_services(index)
    found = [site.to_model() for site in project.sites]
    found += [_injectable_model(mod, site) for mod, site in project.covered_injectables]
    return sorted(found, key=lambda r: (r.file, r.line, r.column))


def simple_name(qualified: str) -> str:
    """The last segment of a dotted name."""
    return _last(qualified)


def builtin_service(qualified: str) -> bool:
    """Whether a container provides `qualified` without any registration (the container itself, …)."""
    return qualified == "svcs.Container" or (
        _root(qualified) in HOPSCOTCH_ROOTS | {"svcs"} and _last(qualified) in BUILTIN_SERVICES
    )
