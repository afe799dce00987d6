"""Lifecycles of svcs registries, containers and middleware props, as facts the LC rules share.

Ownership: this module walks one module's libcst tree once (`module_facts`) and records, per function,
the statements in execution order, the calls, name references and bindings the lifecycle rules need.
On top of it sit the shared analyses (which containers and registries a function creates and how they
are closed, which service types depend on which) and the typed model that `punie domain inspect` shows
(`ObjectLifecycle`, `LifecycleEvent`). It never imports the analysed code.

The flow analysis is deliberately simple and per function: statements are numbered in source order
(a compound statement's header before its body), and a statement is on the *spine* when it runs on every
normal path from the function's entry, namely the body itself plus the bodies of `with` and `try`.
An event on the spine therefore happens before every later statement of the function; events in `if`,
loop, `except` or `finally` blocks are only *possible*.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal

import libcst as cst
from pydantic import BaseModel, ConfigDict

from punie_lsp.domain.context import ModuleContext, ProjectIndex
from punie_lsp.domain.metadata import code_children

__all__ = (
    "ASYNC_RESOLVE_METHODS",
    "CONTAINER_CLASSES",
    "DI_ROOTS",
    "EXECUTE_FUNCTIONS",
    "LOCAL_REGISTER_METHODS",
    "REGISTRY_CLASSES",
    "RESOLVE_METHODS",
    "CallSite",
    "Dependencies",
    "Func",
    "LifecycleEvent",
    "ModuleFacts",
    "ObjectLifecycle",
    "Ref",
    "Stmt",
    "Tracked",
    "closes_of",
    "container_handles",
    "is_fixture",
    "management",
    "mentions_ecosystem",
    "module_facts",
    "module_lifecycles",
    "project_facts",
    "project_lifecycles",
    "service_dependencies",
    "tracked_objects",
    "type_key",
)

DI_ROOTS = frozenset({"svcs", "svcs_di", "svcs_hopscotch", "tdom_svcs"})
"""Packages whose `Registry` / `Container` classes are svcs lifecycles (legacy `hopscotch` is not)."""
CONTAINER_CLASSES = frozenset({"Container", "HopscotchContainer", "InjectorContainer"})
"""Class names (in `DI_ROOTS` packages) that construct a request-scoped container."""
REGISTRY_CLASSES = frozenset({"Registry", "HopscotchRegistry"})
"""Class names (in `DI_ROOTS` packages) that construct an application-scoped registry."""
RESOLVE_METHODS = frozenset({"get", "aget", "get_abstract", "aget_abstract", "inject", "ainject"})
"""Container methods that instantiate and cache services."""
ASYNC_RESOLVE_METHODS = frozenset({"aget", "aget_abstract", "ainject"})
"""Container methods that resolve async factories."""
LOCAL_REGISTER_METHODS = frozenset({"register_local_value", "register_local_factory"})
"""Container methods that register request-scoped services."""
REGISTER_METHODS = frozenset({"register_value", "register_factory"})
"""Registry methods that register application-scoped services."""
EXECUTE_FUNCTIONS = frozenset({"execute_middleware", "execute_target_middleware", "execute_middleware_async"})
"""tdom-svcs functions that run a middleware chain and return props or `None`."""
MANAGING_CALLS = frozenset(
    {"enter_context", "enter_async_context", "closing", "aclosing", "push", "callback", "push_async_callback"}
)
"""Callables that take over closing an object passed to them (contextlib and `ExitStack`)."""
_CANDIDATE_NAMES = (
    CONTAINER_CLASSES
    | REGISTRY_CLASSES
    | EXECUTE_FUNCTIONS
    | {"html", "scan", "Scope", "ScopedTemplate", "fixture", "cache", "lru_cache", "contextmanager"}
    | {"asynccontextmanager"}
)
_LEAVES = (
    cst.BaseParenthesizableWhitespace,
    cst.Newline,
    cst.Comment,
    cst.EmptyLine,
    cst.TrailingWhitespace,
    cst.SimpleString,
    cst.Integer,
    cst.Float,
)
_PRECHECK = ("svcs", "hopscotch", "tdom", "Container", "Registry", "execute_", "ContextVar", "Scope")

EventKind = Literal[
    "created", "entered", "local_registered", "registered", "resolved", "closed", "escaped", "attribute_set"
]
Management = Literal[
    "with",
    "async with",
    "finally",
    "closed",
    "close-not-in-finally",
    "unclosed",
    "escapes",
    "managed",
    "unknown",
]


# ---------------------------------------------------------------------------------------------------
# The typed model shown by `punie domain inspect`
# ---------------------------------------------------------------------------------------------------


class LifecycleEvent(BaseModel):
    """One state transition of a registry or container at a place in the source."""

    model_config = ConfigDict(extra="forbid")

    kind: EventKind
    """What happened: created, entered (`with`), local_registered, registered, resolved, closed…"""
    line: int
    """1-based line of the call or statement."""
    column: int
    """1-based column."""
    code: str
    """The call as written (shortened to one line)."""
    always: bool
    """True when the event runs on every normal path through the function (not in a branch or loop)."""


class ObjectLifecycle(BaseModel):
    """A registry or container created in a module, and what happens to it there."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["registry", "container"]
    """The svcs object's role: application-scoped registry or request-scoped container."""
    cls: str
    """The resolved class (`svcs.Container`, `svcs_hopscotch.injectors.HopscotchContainer`)."""
    name: str | None
    """The variable it is bound to, if any."""
    file: str
    """Module path relative to the workspace root."""
    scope: str
    """The function (`handler`, `App.build`) or `<module>` / class where it is created."""
    management: Management
    """How it is closed: with-block, close() in finally, unclosed, handed elsewhere…"""
    events: list[LifecycleEvent]
    """Its transitions in source order, starting with `created`."""


# ---------------------------------------------------------------------------------------------------
# Per-module facts
# ---------------------------------------------------------------------------------------------------


@dataclass(eq=False, kw_only=True)
class Stmt:
    """One statement of a function, numbered in execution order."""

    node: cst.CSTNode
    """The statement (`SimpleStatementLine`, a compound statement, or a one-line `SimpleStatementSuite`)."""
    owner: cst.CSTNode | None
    """The node whose `body` list holds it (`IndentedBlock` or `Module`); None for an `elif` or a suite."""
    index: int
    """Its index in `owner.body`."""
    order: int
    """Pre-order number: a compound statement's header comes before its body."""
    end: int = 0
    """The largest `order` of any statement nested inside it (itself when simple)."""
    spine: bool
    """Runs on every normal path from the function's entry."""
    in_loop: bool
    """Inside a `for` / `while` body."""
    in_finally: bool
    """Inside a `finally` block."""
    in_except: bool
    """Inside an `except` handler."""
    main_guard: bool
    """Inside `if __name__ == "__main__":`."""


@dataclass(eq=False, kw_only=True)
class CallSite:
    """A call, with what the rules need to know about its callee."""

    node: cst.Call
    stmt: Stmt
    func: Func
    name: str
    """The callee's last name: `get` for `container.get(...)`, `Container` for `svcs.Container(...)`."""
    receiver: str | None
    """The identifier the method is called on (`container` in `container.get(X)`)."""
    receiver_attr: str | None
    """For `a.b.close()`, the attribute before the method (`b`)."""
    awaited: bool = False
    """Directly under `await`."""
    context: str = "other"
    """Where the call sits: assign, with, inline (a method is called on it), argument, return, default."""
    binding: str | None = None
    """For context `assign`/`with`, the name it is bound to."""
    with_node: cst.With | None = None
    """For context `with`, the statement."""

    def arg(self, position: int, keyword: str | None = None) -> cst.BaseExpression | None:
        """The argument at positional `position`, or given as `keyword=`."""
        positional = [a for a in self.node.args if a.keyword is None and not a.star]
        if position < len(positional):
            return positional[position].value
        if keyword is not None:
            return self.keyword(keyword)
        return None

    def keyword(self, name: str) -> cst.BaseExpression | None:
        """The value passed as `name=`, if any."""
        for candidate in self.node.args:
            if candidate.keyword is not None and candidate.keyword.value == name:
                return candidate.value
        return None


@dataclass(eq=False, kw_only=True)
class Ref:
    """A reference (load) to a plain name inside a function."""

    node: cst.Name
    stmt: Stmt
    role: Literal["receiver", "arg", "with", "subscript", "iter", "other"]
    """`receiver`: `x.attr`; `arg`: passed to a call; `with`: a `with` item; `subscript`: `x[...]`."""
    attr: str | None = None
    """For `receiver`, the attribute name."""
    called: bool = False
    """For `receiver`, whether the attribute is called (`x.close()`)."""
    store: bool = False
    """For `receiver`, whether the attribute is assigned (`x.location = ...`)."""
    callee: str | None = None
    """For `arg`, the called function's last name."""
    star: bool = False
    """For `arg`, passed as `*x` or `**x`."""


@dataclass(eq=False, kw_only=True)
class Binding:
    """A name bound in a function: assignment, `with … as`, parameter, loop target or import."""

    name: str
    stmt: Stmt | None
    value: cst.BaseExpression | None = None
    kind: Literal["assign", "with", "param", "other"] = "other"


@dataclass(eq=False, kw_only=True)
class AttrStore:
    """An assignment to an attribute of a plain name (`container.location = value`)."""

    target: cst.Attribute
    value: cst.BaseExpression
    stmt: Stmt


@dataclass(eq=False, kw_only=True)
class Func:
    """A function, lambda, class body or the module body, with what happens inside it."""

    node: cst.CSTNode
    kind: Literal["module", "function", "class", "lambda"]
    qualname: str
    is_async: bool = False
    parent: Func | None = None
    decorators: list[cst.BaseExpression] = field(default_factory=list)
    params: dict[str, cst.Param] = field(default_factory=dict)
    first_param: str | None = None
    calls: list[CallSite] = field(default_factory=list)
    refs: dict[str, list[Ref]] = field(default_factory=dict)
    bindings: dict[str, list[Binding]] = field(default_factory=dict)
    escapes: set[str] = field(default_factory=set)
    """Names returned, stored in attributes/containers, or aliased."""
    yielded: set[str] = field(default_factory=set)
    globals: set[str] = field(default_factory=set)
    has_yield: bool = False
    attr_stores: list[AttrStore] = field(default_factory=list)
    tstrings: list[tuple[cst.TemplatedString, Stmt]] = field(default_factory=list)
    stmts: list[Stmt] = field(default_factory=list)
    children: list[Func] = field(default_factory=list)
    inject_types: set[str] = field(default_factory=set)
    """Types named by `Inject[T]` in this class's fields or this function's parameters."""
    container_gets: set[str] = field(default_factory=set)
    """Types a factory resolves from its `svcs_container` parameter."""

    def nested_names(self) -> set[str]:
        """Identifiers referenced inside nested functions, lambdas and classes."""
        names: set[str] = set()
        for child in self.children:
            names.update(child.refs)
            names.update(child.nested_names())
        return names

    def bound_once(self, name: str) -> bool:
        """Whether `name` is bound exactly once in this function."""
        return len(self.bindings.get(name, [])) == 1


@dataclass(eq=False, kw_only=True)
class ModuleFacts:
    """Everything the lifecycle rules read from one module, from a single walk."""

    mod: ModuleContext
    module_func: Func
    funcs: list[Func]
    aliases: dict[str, str]
    """`from x import Name as Alias`: alias → imported name."""
    is_test_file: bool
    async_generators: set[str] = field(default_factory=set)
    """Names of `async def` functions here that yield (async cleanups)."""
    async_functions: set[str] = field(default_factory=set)
    context_managers: set[str] = field(default_factory=set)
    """Functions decorated `@contextmanager` and classes with `__enter__` / `__aenter__`."""
    scope_providers: dict[str, set[str]] = field(default_factory=dict)
    """Component name → ContextVar names it binds with `Scope(cv, value)`."""

    def resolved(self, call: CallSite) -> set[str]:
        """Qualified names of the callee when its name is one the rules care about (else empty)."""
        name = self.aliases.get(call.name, call.name)
        if name not in _CANDIDATE_NAMES:
            return set()
        return self.mod.qualified_names(call.node.func)

    def is_class(self, call: CallSite, classes: frozenset[str]) -> str | None:
        """The resolved class name when `call` constructs one of `classes` from a DI package."""
        for name in sorted(self.resolved(call)):
            if name.partition(".")[0] in DI_ROOTS and name.rsplit(".", 1)[-1] in classes:
                return name
        return None

    def is_di_function(self, call: CallSite, names: Iterable[str]) -> bool:
        """Whether `call` calls one of `names` from a DI / tdom-svcs package."""
        wanted = set(names)
        return any(
            n.split(".", 1)[0] in DI_ROOTS and n.rsplit(".", 1)[-1] in wanted for n in self.resolved(call)
        )


def _last_name(node: cst.BaseExpression) -> str | None:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return node.attr.value
    if isinstance(node, cst.Call):
        return _last_name(node.func)
    return None


def type_key(node: cst.BaseExpression | None) -> str | None:
    """A service type as a comparable key: the last dotted name (`Request` for `starlette.Request`)."""
    if node is None:
        return None
    if isinstance(node, cst.Name | cst.Attribute):
        return _last_name(node)
    if isinstance(node, cst.Subscript):
        return _last_name(node.value)
    return None


def _inject_types(annotation: cst.BaseExpression) -> set[str]:
    """`T` for every `Inject[T]` inside an annotation (`InitVar[Inject[T]]` included)."""
    found: set[str] = set()
    stack: list[cst.BaseExpression] = [annotation]
    while stack:
        node = stack.pop()
        if isinstance(node, cst.Subscript):
            inner = [e.slice.value for e in node.slice if isinstance(e.slice, cst.Index)]
            if _last_name(node.value) == "Inject" and inner and (key := type_key(inner[0])):
                found.add(key)
            stack.extend(inner)
    return found


def _structural_names(node: cst.BaseExpression | None, *, constructors: bool) -> Iterator[str]:
    """Names that `node` hands over as a value: itself, tuple/list/dict members, (constructor arguments)."""
    if node is None:
        return
    if isinstance(node, cst.Name):
        yield node.value
    elif isinstance(node, cst.Tuple | cst.List | cst.Set):
        for element in node.elements:
            yield from _structural_names(element.value, constructors=constructors)
    elif isinstance(node, cst.Dict):
        for element in node.elements:
            if isinstance(element, cst.DictElement):
                yield from _structural_names(element.value, constructors=constructors)
            else:
                yield from _structural_names(element.value, constructors=constructors)
    elif isinstance(node, cst.IfExp):
        yield from _structural_names(node.body, constructors=constructors)
        yield from _structural_names(node.orelse, constructors=constructors)
    elif isinstance(node, cst.BooleanOperation):
        yield from _structural_names(node.left, constructors=constructors)
        yield from _structural_names(node.right, constructors=constructors)
    elif isinstance(node, cst.NamedExpr | cst.Await):
        inner = node.value if isinstance(node, cst.NamedExpr) else node.expression
        yield from _structural_names(inner, constructors=constructors)
    elif isinstance(node, cst.Call) and constructors:
        callee = _last_name(node.func)
        if callee and callee[:1].isupper():
            for argument in node.args:
                yield from _structural_names(argument.value, constructors=constructors)


def _is_main_guard(test: cst.BaseExpression) -> bool:
    if not isinstance(test, cst.Comparison) or len(test.comparisons) != 1:
        return False
    sides = [test.left, test.comparisons[0].comparator]
    names = {s.value for s in sides if isinstance(s, cst.Name)}
    strings = {s.evaluated_value for s in sides if isinstance(s, cst.SimpleString)}
    return names == {"__name__"} and strings == {"__main__"}


@dataclass(kw_only=True, frozen=True)
class _Ctx:
    func: Func
    spine: bool = True
    in_loop: bool = False
    in_finally: bool = False
    in_except: bool = False
    main_guard: bool = False

    def nested(self, **changes: bool) -> _Ctx:
        values = {
            "spine": self.spine,
            "in_loop": self.in_loop,
            "in_finally": self.in_finally,
            "in_except": self.in_except,
            "main_guard": self.main_guard,
        }
        values.update(changes)
        return _Ctx(func=self.func, **values)


class _Walker:
    """One pass over a module, filling `Func` records (see the module docstring for the flow model)."""

    def __init__(self, facts: ModuleFacts) -> None:
        self.facts = facts
        self.order = 0
        self.call_context: dict[cst.Call, tuple[str, object, cst.With | None]] = {}

    # ----- statements ---------------------------------------------------------------------------

    def block(self, stmts: Sequence[cst.CSTNode], owner: cst.CSTNode | None, ctx: _Ctx) -> None:
        for index, statement in enumerate(stmts):
            self.stmt(statement, owner, index, ctx)

    def _body(self, body: cst.BaseSuite, ctx: _Ctx) -> None:
        if isinstance(body, cst.IndentedBlock):
            self.block(body.body, body, ctx)
        else:
            self.stmt(body, None, 0, ctx)

    def stmt(self, node: cst.CSTNode, owner: cst.CSTNode | None, index: int, ctx: _Ctx) -> None:
        self.order += 1
        info = Stmt(
            node=node,
            owner=owner,
            index=index,
            order=self.order,
            spine=ctx.spine,
            in_loop=ctx.in_loop,
            in_finally=ctx.in_finally,
            in_except=ctx.in_except,
            main_guard=ctx.main_guard,
        )
        func = ctx.func
        func.stmts.append(info)
        if isinstance(node, cst.SimpleStatementLine | cst.SimpleStatementSuite):
            for small in node.body:
                self.small(small, info, ctx)
        elif isinstance(node, cst.If):
            self.expr(node.test, info, ctx)
            guard = ctx.main_guard or (ctx.func.kind == "module" and _is_main_guard(node.test))
            self._body(node.body, ctx.nested(spine=False, main_guard=guard))
            if isinstance(node.orelse, cst.If):
                self.stmt(node.orelse, None, 0, ctx.nested(spine=False))
            elif isinstance(node.orelse, cst.Else):
                self._body(node.orelse.body, ctx.nested(spine=False))
        elif isinstance(node, cst.For):
            self.expr(node.iter, info, ctx)
            self.bind_target(node.target, info, ctx)
            self._body(node.body, ctx.nested(spine=False, in_loop=True))
            if node.orelse is not None:
                self._body(node.orelse.body, ctx.nested(spine=False))
        elif isinstance(node, cst.While):
            self.expr(node.test, info, ctx)
            self._body(node.body, ctx.nested(spine=False, in_loop=True))
            if node.orelse is not None:
                self._body(node.orelse.body, ctx.nested(spine=False))
        elif isinstance(node, cst.With):
            for item in node.items:
                if isinstance(item.item, cst.Call):
                    self.call_context[item.item] = ("with", item, node)
                if isinstance(item.item, cst.Name):
                    self.ref(item.item, info, ctx, role="with")
                else:
                    self.expr(item.item, info, ctx)
                if item.asname is not None:
                    self.bind_target(item.asname.name, info, ctx, value=item.item, kind="with")
            self._body(node.body, ctx)
        elif isinstance(node, cst.Try | cst.TryStar):
            self._body(node.body, ctx)
            for handler in node.handlers:
                if handler.type is not None:
                    self.expr(handler.type, info, ctx)
                if handler.name is not None:
                    self.bind_target(handler.name.name, info, ctx)
                self._body(handler.body, ctx.nested(spine=False, in_except=True))
            if node.orelse is not None:
                self._body(node.orelse.body, ctx.nested(spine=False))
            if node.finalbody is not None:
                self._body(node.finalbody.body, ctx.nested(spine=False, in_finally=True))
        elif isinstance(node, cst.Match):
            self.expr(node.subject, info, ctx)
            for case in node.cases:
                self._body(case.body, ctx.nested(spine=False))
        elif isinstance(node, cst.FunctionDef):
            self.function(node, info, ctx)
        elif isinstance(node, cst.ClassDef):
            self.klass(node, info, ctx)
        info.end = self.order

    def small(self, node: cst.CSTNode, info: Stmt, ctx: _Ctx) -> None:
        func = ctx.func
        if isinstance(node, cst.Assign):
            if isinstance(node.value, cst.Call):
                single = node.targets[0].target if len(node.targets) == 1 else None
                name = single.value if isinstance(single, cst.Name) else None
                self.call_context[node.value] = ("assign", name, None)
            self.expr(node.value, info, ctx)
            for target in node.targets:
                self.assign_target(target.target, node.value, info, ctx)
        elif isinstance(node, cst.AnnAssign):
            if func.kind == "class":
                func.inject_types |= _inject_types(node.annotation.annotation)
            if node.value is not None:
                if isinstance(node.value, cst.Call) and isinstance(node.target, cst.Name):
                    self.call_context[node.value] = ("assign", node.target.value, None)
                self.expr(node.value, info, ctx)
                self.assign_target(node.target, node.value, info, ctx)
        elif isinstance(node, cst.AugAssign):
            self.expr(node.value, info, ctx)
            func.escapes.update(_structural_names(node.value, constructors=True))
            if isinstance(node.target, cst.Name):
                self.add_binding(func, node.target.value, info, None, "other")
            else:
                self.expr(node.target, info, ctx)
        elif isinstance(node, cst.Return):
            if isinstance(node.value, cst.Call):
                self.call_context[node.value] = ("return", None, None)
            func.escapes.update(_structural_names(node.value, constructors=True))
            if node.value is not None:
                self.expr(node.value, info, ctx)
        elif isinstance(node, cst.Global | cst.Nonlocal):
            func.globals.update(n.name.value for n in node.names)
        elif isinstance(node, cst.Import):
            for alias in node.names:
                bound = alias.asname.name if alias.asname is not None else alias.name
                top = bound if isinstance(bound, cst.Name) else None
                if top is not None:
                    self.add_binding(func, top.value, info, None, "other")
        elif isinstance(node, cst.ImportFrom):
            if not isinstance(node.names, cst.ImportStar):
                for alias in node.names:
                    imported = alias.name.value if isinstance(alias.name, cst.Name) else None
                    if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                        if imported is not None:
                            self.facts.aliases[alias.asname.name.value] = imported
                        self.add_binding(func, alias.asname.name.value, info, None, "other")
                    elif imported is not None:
                        self.add_binding(func, imported, info, None, "other")
        elif isinstance(node, cst.Expr):
            self.expr(node.value, info, ctx)
        else:
            for child in code_children(node):
                self.expr(child, info, ctx)

    def assign_target(
        self, target: cst.BaseExpression, value: cst.BaseExpression, info: Stmt, ctx: _Ctx
    ) -> None:
        func = ctx.func
        if isinstance(target, cst.Name):
            self.add_binding(func, target.value, info, value, "assign")
            func.escapes.update(_structural_names(value, constructors=False))
        elif isinstance(target, cst.Tuple | cst.List):
            for element in target.elements:
                self.assign_target(element.value, value, info, ctx)
        elif isinstance(target, cst.StarredElement):
            self.assign_target(target.value, value, info, ctx)
        else:
            func.escapes.update(_structural_names(value, constructors=True))
            if isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name):
                func.attr_stores.append(AttrStore(target=target, value=value, stmt=info))
                self.ref(target.value, info, ctx, role="receiver", attr=target.attr.value, store=True)
            else:
                self.expr(target, info, ctx)

    def bind_target(
        self,
        target: cst.BaseExpression,
        info: Stmt,
        ctx: _Ctx,
        *,
        value: cst.BaseExpression | None = None,
        kind: Literal["assign", "with", "param", "other"] = "other",
    ) -> None:
        if isinstance(target, cst.Name):
            self.add_binding(ctx.func, target.value, info, value, kind)
        elif isinstance(target, cst.Tuple | cst.List):
            for element in target.elements:
                self.bind_target(element.value, info, ctx)
        elif isinstance(target, cst.StarredElement):
            self.bind_target(target.value, info, ctx)
        else:
            self.expr(target, info, ctx)

    @staticmethod
    def add_binding(
        func: Func,
        name: str,
        info: Stmt | None,
        value: cst.BaseExpression | None,
        kind: Literal["assign", "with", "param", "other"],
    ) -> None:
        func.bindings.setdefault(name, []).append(Binding(name=name, stmt=info, value=value, kind=kind))

    # ----- functions and classes ----------------------------------------------------------------

    def _decorator_names(self, decorators: Sequence[cst.Decorator]) -> list[cst.BaseExpression]:
        return [d.decorator for d in decorators]

    def params(self, params: cst.Parameters, outer: _Ctx, info: Stmt, inner: Func) -> None:
        everything = [*params.posonly_params, *params.params, *params.kwonly_params]
        for extra in (params.star_arg, params.star_kwarg):
            if isinstance(extra, cst.Param):
                everything.append(extra)
        for position, param in enumerate(everything):
            if position == 0:
                inner.first_param = param.name.value
            inner.params[param.name.value] = param
            inner.bindings.setdefault(param.name.value, []).append(
                Binding(name=param.name.value, stmt=None, kind="param")
            )
            if param.default is not None:
                if isinstance(param.default, cst.Call):
                    self.call_context[param.default] = ("default", None, None)
                self.expr(param.default, info, outer)
            if param.annotation is not None:
                inner.inject_types |= _inject_types(param.annotation.annotation)

    def function(self, node: cst.FunctionDef, info: Stmt, ctx: _Ctx) -> None:
        for decorator in node.decorators:
            self.expr(decorator.decorator, info, ctx)
        outer = ctx.func
        self.add_binding(outer, node.name.value, info, None, "other")
        prefix = "" if outer.kind == "module" else f"{outer.qualname}."
        inner = Func(
            node=node,
            kind="function",
            qualname=f"{prefix}{node.name.value}",
            is_async=node.asynchronous is not None,
            parent=outer,
            decorators=self._decorator_names(node.decorators),
        )
        outer.children.append(inner)
        self.facts.funcs.append(inner)
        self.params(node.params, ctx, info, inner)
        self._body(node.body, _Ctx(func=inner))
        if inner.has_yield and inner.is_async and outer.kind == "module":
            self.facts.async_generators.add(node.name.value)
        if inner.is_async and outer.kind == "module":
            self.facts.async_functions.add(node.name.value)
        if outer.kind == "module" and any(
            _last_name(d) in {"contextmanager", "asynccontextmanager"} for d in inner.decorators
        ):
            self.facts.context_managers.add(node.name.value)
        if outer.kind == "class" and node.name.value in {"__enter__", "__aenter__"}:
            self.facts.context_managers.add(outer.qualname.rsplit(".", 1)[-1])

    def klass(self, node: cst.ClassDef, info: Stmt, ctx: _Ctx) -> None:
        for decorator in node.decorators:
            self.expr(decorator.decorator, info, ctx)
        for base in node.bases:
            self.expr(base.value, info, ctx)
        outer = ctx.func
        self.add_binding(outer, node.name.value, info, None, "other")
        prefix = "" if outer.kind == "module" else f"{outer.qualname}."
        inner = Func(
            node=node,
            kind="class",
            qualname=f"{prefix}{node.name.value}",
            parent=outer,
            decorators=self._decorator_names(node.decorators),
        )
        outer.children.append(inner)
        self.facts.funcs.append(inner)
        self._body(node.body, _Ctx(func=inner))

    # ----- expressions --------------------------------------------------------------------------

    def ref(
        self,
        node: cst.Name,
        info: Stmt,
        ctx: _Ctx,
        *,
        role: Literal["receiver", "arg", "with", "subscript", "iter", "other"],
        attr: str | None = None,
        called: bool = False,
        store: bool = False,
        callee: str | None = None,
        star: bool = False,
    ) -> None:
        ctx.func.refs.setdefault(node.value, []).append(
            Ref(
                node=node,
                stmt=info,
                role=role,
                attr=attr,
                called=called,
                store=store,
                callee=callee,
                star=star,
            )
        )

    def call(self, node: cst.Call, info: Stmt, ctx: _Ctx, *, awaited: bool = False) -> None:
        func = node.func
        receiver = receiver_attr = None
        if isinstance(func, cst.Attribute):
            name = func.attr.value
            if isinstance(func.value, cst.Name):
                receiver = func.value.value
                self.ref(func.value, info, ctx, role="receiver", attr=name, called=True)
            else:
                if isinstance(func.value, cst.Attribute):
                    receiver_attr = func.value.attr.value
                if isinstance(func.value, cst.Call):
                    self.call_context[func.value] = ("inline", None, None)
                self.expr(func.value, info, ctx)
        elif isinstance(func, cst.Name):
            name = func.value
            self.ref(func, info, ctx, role="other")
        else:
            name = ""
            self.expr(func, info, ctx)
        context, binding, with_node = self.call_context.pop(node, ("other", None, None))
        site = CallSite(
            node=node,
            stmt=info,
            func=ctx.func,
            name=name,
            receiver=receiver,
            receiver_attr=receiver_attr,
            awaited=awaited,
            context=context,
            binding=binding if isinstance(binding, str) else None,
            with_node=with_node,
        )
        if context == "with" and isinstance(binding, cst.WithItem) and binding.asname is not None:
            target = binding.asname.name
            site.binding = target.value if isinstance(target, cst.Name) else None
        ctx.func.calls.append(site)
        if (
            ctx.func.first_param is not None
            and receiver == ctx.func.first_param
            and name in RESOLVE_METHODS
            and (key := type_key(site.arg(0)))
        ):
            ctx.func.container_gets.add(key)
        for argument in node.args:
            value = argument.value
            if isinstance(value, cst.Name):
                self.ref(value, info, ctx, role="arg", callee=name, star=bool(argument.star))
            else:
                if isinstance(value, cst.Call):
                    self.call_context[value] = ("argument", None, None)
                self.expr(value, info, ctx)

    def expr(self, node: cst.CSTNode, info: Stmt, ctx: _Ctx) -> None:
        if isinstance(node, cst.Call):
            self.call(node, info, ctx)
        elif isinstance(node, cst.Name):
            self.ref(node, info, ctx, role="other")
        elif isinstance(node, cst.Attribute):
            if isinstance(node.value, cst.Name):
                self.ref(node.value, info, ctx, role="receiver", attr=node.attr.value)
            else:
                self.expr(node.value, info, ctx)
        elif isinstance(node, cst.Subscript):
            if isinstance(node.value, cst.Name):
                self.ref(node.value, info, ctx, role="subscript")
            else:
                self.expr(node.value, info, ctx)
            for element in node.slice:
                self.expr(element, info, ctx)
        elif isinstance(node, cst.Await):
            if isinstance(node.expression, cst.Call):
                self.call(node.expression, info, ctx, awaited=True)
            else:
                self.expr(node.expression, info, ctx)
        elif isinstance(node, cst.Yield):
            ctx.func.has_yield = True
            value = node.value
            if isinstance(value, cst.From):
                value = value.item
            ctx.func.yielded.update(_structural_names(value, constructors=True))
            if value is not None:
                self.expr(value, info, ctx)
        elif isinstance(node, cst.Lambda):
            inner = Func(node=node, kind="lambda", qualname="<lambda>", parent=ctx.func)
            ctx.func.children.append(inner)
            self.params(node.params, ctx, info, inner)
            self.expr(node.body, info, _Ctx(func=inner, spine=False))
        elif isinstance(node, cst.NamedExpr):
            self.expr(node.value, info, ctx)
            if isinstance(node.target, cst.Name):
                self.add_binding(ctx.func, node.target.value, info, node.value, "assign")
        elif isinstance(node, cst.CompFor):
            self.expr(node.iter, info, ctx)
            self.bind_target(node.target, info, ctx)
            for condition in node.ifs:
                self.expr(condition.test, info, ctx)
            if node.inner_for_in is not None:
                self.expr(node.inner_for_in, info, ctx)
        elif isinstance(node, cst.TemplatedString):
            ctx.func.tstrings.append((node, info))
            for part in node.parts:
                if isinstance(part, cst.TemplatedStringExpression):
                    self.expr(part.expression, info, ctx)
        elif isinstance(node, cst.Comparison):
            self.expr(node.left, info, ctx)
            for target in node.comparisons:
                if isinstance(target.operator, cst.In | cst.NotIn) and isinstance(
                    target.comparator, cst.Name
                ):
                    self.ref(target.comparator, info, ctx, role="iter")
                else:
                    self.expr(target.comparator, info, ctx)
        elif isinstance(node, cst.Arg):
            self.expr(node.value, info, ctx)
        elif isinstance(node, _LEAVES):
            return
        else:
            for child in code_children(node):
                self.expr(child, info, ctx)

    # ----- entry --------------------------------------------------------------------------------

    def run(self) -> None:
        """Walk the whole module."""
        self.block(self.facts.mod.module.body, self.facts.mod.module, _Ctx(func=self.facts.module_func))


def _is_test_path(relative: str) -> bool:
    base = posixpath.basename(relative)
    parts = relative.split("/")
    return (
        base.startswith("test_")
        or base.endswith("_test.py")
        or base == "conftest.py"
        or "tests" in parts[:-1]
    )


def _scope_providers(facts: ModuleFacts) -> None:
    """Record which components bind which ContextVars through `Scope(cv, value)`."""
    for func in facts.funcs:
        if func.kind not in {"function", "class"}:
            continue
        owner = func
        while owner.parent is not None and owner.parent.kind == "class":
            owner = owner.parent
        for site in _all_calls(func):
            if site.name != "Scope" and facts.aliases.get(site.name) != "Scope":
                continue
            if not any(n.startswith("tdom") for n in facts.resolved(site)):
                continue
            if key := type_key(site.arg(0)):
                component = owner.qualname.rsplit(".", 1)[-1] if owner.kind == "class" else func.qualname
                facts.scope_providers.setdefault(component.rsplit(".", 1)[-1], set()).add(key)


def _all_calls(func: Func) -> Iterator[CallSite]:
    yield from func.calls
    for child in func.children:
        if child.kind == "lambda":
            yield from _all_calls(child)


def mentions_ecosystem(mod: ModuleContext) -> bool:
    """Whether the module's text mentions svcs, Hopscotch, tdom, middleware execution, ContextVar or Scope."""
    return any(word in mod.source for word in _PRECHECK)


def module_facts(mod: ModuleContext, index: ProjectIndex, *, any_module: bool = False) -> ModuleFacts | None:
    """The walked facts of `mod` (computed once per module version).

    Rules call it as is and get None for a module that never mentions the ecosystem (nothing to report
    there, and no name resolution is paid for). Project-wide facts pass `any_module=True`: a helper module
    may close a registry or define a context manager without importing svcs.
    """
    if not any_module and not mentions_ecosystem(mod):
        return None
    key = f"lc:facts:{mod.relative}:{id(mod.module)}"

    def compute(_: ProjectIndex) -> tuple[cst.Module, ModuleFacts]:
        module_func = Func(node=mod.module, kind="module", qualname="<module>")
        facts = ModuleFacts(
            mod=mod,
            module_func=module_func,
            funcs=[module_func],
            aliases={},
            is_test_file=_is_test_path(mod.relative),
        )
        _Walker(facts).run()
        _scope_providers(facts)
        return mod.module, facts

    module, facts = index.memo(key, compute)
    assert module is mod.module
    return facts


def project_facts(index: ProjectIndex) -> list[ModuleFacts]:
    """Facts of every module of the project, in path order (walked once per validation run)."""
    found = []
    for mod in index.iter_modules():
        facts = module_facts(mod, index, any_module=True)
        if facts is not None:
            found.append(facts)
    return found


# ---------------------------------------------------------------------------------------------------
# Shared analyses
# ---------------------------------------------------------------------------------------------------


@dataclass(eq=False, kw_only=True)
class Tracked:
    """A registry or container constructed in a module."""

    kind: Literal["registry", "container"]
    cls: str
    call: CallSite
    func: Func

    @property
    def var(self) -> str | None:
        """The name it is bound to (`c` in `c = Container(r)` or `with Container(r) as c`)."""
        return self.call.binding if self.call.context in {"assign", "with"} else None


def tracked_objects(facts: ModuleFacts) -> list[Tracked]:
    """Every registry and container construction in the module, in source order."""
    found = []
    for func in facts.funcs:
        for site in func.calls:
            if cls := facts.is_class(site, CONTAINER_CLASSES):
                found.append(Tracked(kind="container", cls=cls, call=site, func=func))
            elif cls := facts.is_class(site, REGISTRY_CLASSES):
                found.append(Tracked(kind="registry", cls=cls, call=site, func=func))
    found.sort(key=lambda t: t.call.stmt.order)
    return found


def is_fixture(facts: ModuleFacts, func: Func) -> bool:
    """Whether `func` is a pytest fixture (its teardown after `yield` always runs)."""
    for decorator in func.decorators:
        target = decorator.func if isinstance(decorator, cst.Call) else decorator
        if _last_name(target) == "fixture":
            names = facts.mod.qualified_names(target)
            if not names or any(n.split(".")[0] in {"pytest", "pytest_asyncio"} for n in names):
                return True
    return False


def closes_of(func: Func, name: str) -> list[Ref]:
    """References `name.close()` / `name.aclose()` that call the method."""
    return [
        r
        for r in func.refs.get(name, [])
        if r.role == "receiver" and r.called and r.attr in {"close", "aclose"}
    ]


def management(facts: ModuleFacts, tracked: Tracked) -> Management:
    """How a construction is closed within its function (the decision behind LC001)."""
    site = tracked.call
    if site.context == "with":
        return "async with" if site.with_node is not None and site.with_node.asynchronous else "with"
    if site.context in {"argument", "return", "default"}:
        return "escapes" if site.context == "return" else "managed"
    if site.context == "inline":
        return "unclosed"
    name = tracked.var
    func = tracked.func
    if name is None or site.context != "assign":
        return "unknown"
    if not func.bound_once(name) or name in func.globals:
        return "escapes"
    fixture = is_fixture(facts, func)
    in_test = fixture or facts.is_test_file or func.qualname.rsplit(".", 1)[-1].startswith("test")
    if name in func.escapes or (name in func.yielded and not fixture) or name in func.nested_names():
        return "escapes"
    closes: list[Ref] = []
    for ref in func.refs.get(name, []):
        if ref.role == "receiver" and ref.attr in {"close", "aclose"}:
            if not ref.called:
                return "managed"
            closes.append(ref)
        elif ref.role == "with" or (ref.role == "arg" and ref.callee in MANAGING_CALLS):
            return "managed"
    if any(r.stmt.in_finally or r.stmt.in_except for r in closes):
        return "finally"
    if closes:
        return "closed" if in_test else "close-not-in-finally"
    return "unclosed"


def container_handles(facts: ModuleFacts, func: Func) -> dict[str, Tracked | None]:
    """Names in `func` that hold a container: constructed here (`Tracked`) or a container parameter (None)."""
    handles: dict[str, Tracked | None] = {}
    for name, param in func.params.items():
        annotation = param.annotation.annotation if param.annotation is not None else None
        if name == "svcs_container":
            handles[name] = None
        elif annotation is not None and _last_name(annotation) in CONTAINER_CLASSES:
            names = facts.mod.qualified_names(annotation)
            if not names or any(n.split(".")[0] in DI_ROOTS for n in names):
                handles[name] = None
        elif name == "container" and facts.is_test_file:
            handles[name] = None
    for site in func.calls:
        if not site.binding or site.context not in {"assign", "with"} or not func.bound_once(site.binding):
            continue
        if cls := facts.is_class(site, CONTAINER_CLASSES):
            handles[site.binding] = Tracked(kind="container", cls=cls, call=site, func=func)
    return handles


@dataclass(kw_only=True)
class Dependencies:
    """Which service types depend on which, project wide (`Inject[T]` fields and factories)."""

    direct: dict[str, set[str]]
    """Service type → types it (or its registered factory) resolves."""
    injected: set[str]
    """Every type that some `Inject[T]` or factory resolves."""
    async_factories: bool
    """Whether the project registers an async (generator) factory: containers then need `aclose()`."""
    async_close_callbacks: bool
    """Whether some `on_registry_close=` callback is an `async def`."""
    closed_names: set[str]
    """Names (simple) of objects closed, entered or handed to a lifecycle manager anywhere."""

    def closure(self, service: str) -> set[str]:
        """`service` and everything it depends on, transitively."""
        seen = {service}
        stack = [service]
        while stack:
            for dep in self.direct.get(stack.pop(), set()):
                if dep not in seen:
                    seen.add(dep)
                    stack.append(dep)
        return seen


def _compute_dependencies(index: ProjectIndex) -> Dependencies:
    class_injects: dict[str, set[str]] = {}
    func_injects: dict[str, set[str]] = {}
    registrations: list[tuple[str, cst.BaseExpression]] = []
    async_functions: set[str] = set()
    async_generators: set[str] = set()
    closed: set[str] = set()
    close_callbacks: list[str] = []
    all_facts = project_facts(index)
    for facts in all_facts:
        async_functions |= facts.async_functions
        async_generators |= facts.async_generators
        for func in facts.funcs:
            if func.kind == "class":
                short = func.qualname.rsplit(".", 1)[-1]
                class_injects.setdefault(short, set()).update(func.inject_types)
                init = next((c for c in func.children if c.qualname.endswith(".__init__")), None)
                if init is not None:
                    class_injects[short] |= init.inject_types
            elif func.kind == "function":
                func_injects.setdefault(func.qualname.rsplit(".", 1)[-1], set()).update(
                    func.inject_types | func.container_gets
                )
            for site in func.calls:
                if site.name in {"register_factory", "register_local_factory", "register_implementation"}:
                    key, factory = type_key(site.arg(0)), site.arg(1, "factory")
                    if key and factory is not None:
                        registrations.append((key, factory))
                if (callback := site.keyword("on_registry_close")) is not None and (
                    name := _last_name(callback)
                ):
                    close_callbacks.append(name)
                if site.name in {"close", "aclose"}:
                    closed.update(n for n in (site.receiver, site.receiver_attr) if n)
                if site.name in MANAGING_CALLS or site.name in {"init_app", "lifespan"}:
                    closed.update(n for a in site.node.args if (n := _last_name(a.value)))
                if site.context == "with" and site.binding:
                    closed.add(site.binding)
            for name, refs in func.refs.items():
                for ref in refs:
                    if ref.role == "with" or (
                        ref.role == "receiver" and not ref.called and ref.attr in {"close", "aclose"}
                    ):
                        closed.add(name)
    direct: dict[str, set[str]] = {name: set(types) for name, types in class_injects.items()}
    async_factories = False
    for key, factory in registrations:
        target = factory
        if isinstance(factory, cst.Call) and _last_name(factory.func) in {"auto", "auto_async"}:
            if _last_name(factory.func) == "auto_async":
                async_factories = True
            target = factory.args[0].value if factory.args else factory
        name = _last_name(target)
        if name is None:
            continue
        if name in async_functions or name in async_generators:
            async_factories = True
        deps = class_injects.get(name, set()) | func_injects.get(name, set())
        direct.setdefault(key, set()).update(deps - {key})
    injected = set().union(*direct.values()) if direct else set()
    return Dependencies(
        direct=direct,
        injected=injected,
        async_factories=async_factories,
        async_close_callbacks=any(name in async_functions for name in close_callbacks),
        closed_names=closed,
    )


def service_dependencies(index: ProjectIndex) -> Dependencies:
    """Project-wide dependency facts, computed once per validation run."""
    return index.memo("lc:dependencies", _compute_dependencies)


# ---------------------------------------------------------------------------------------------------
# The inspect model
# ---------------------------------------------------------------------------------------------------

_EVENT_BY_METHOD: dict[str, EventKind] = {
    **dict.fromkeys(RESOLVE_METHODS, "resolved"),
    **dict.fromkeys(LOCAL_REGISTER_METHODS, "local_registered"),
    **dict.fromkeys(REGISTER_METHODS | {"register_implementation"}, "registered"),
    "close": "closed",
    "aclose": "closed",
}


def _event(facts: ModuleFacts, kind: EventKind, node: cst.CSTNode, stmt: Stmt) -> LifecycleEvent:
    line, column, _, _ = facts.mod.location(node)
    code = facts.mod.code(node).strip().splitlines()[0] if node is not None else ""
    return LifecycleEvent(
        kind=kind, line=line, column=column, code=code[:120], always=stmt.spine and not stmt.in_loop
    )


def module_lifecycles(mod: ModuleContext, index: ProjectIndex) -> list[ObjectLifecycle]:
    """The registries and containers created in `mod`, with their transitions (for `punie domain inspect`)."""
    facts = module_facts(mod, index)
    if facts is None:
        return []
    lifecycles = []
    for tracked in tracked_objects(facts):
        site = tracked.call
        events = [_event(facts, "created", site.node, site.stmt)]
        if site.context == "with":
            events.append(_event(facts, "entered", site.with_node or site.node, site.stmt))
        name = tracked.var
        if name is not None and tracked.func.bound_once(name):
            for call in tracked.func.calls:
                if call.receiver == name and (kind := _EVENT_BY_METHOD.get(call.name)):
                    events.append(_event(facts, kind, call.node, call.stmt))
            for store in tracked.func.attr_stores:
                if isinstance(store.target.value, cst.Name) and store.target.value.value == name:
                    events.append(_event(facts, "attribute_set", store.target, store.stmt))
            if name in tracked.func.escapes:
                events.append(_event(facts, "escaped", site.node, site.stmt))
        events.sort(key=lambda e: (e.line, e.column))
        how: Management
        if tracked.kind == "container":
            module_level = tracked.func.kind in {"module", "class"} and site.context != "with"
            how = "unclosed" if module_level else management(facts, tracked)
        elif site.context == "with":
            how = "async with" if site.with_node is not None and site.with_node.asynchronous else "with"
        elif name is not None and name in service_dependencies(index).closed_names:
            how = "closed"
        elif site.context in {"return", "argument"} or (name is not None and name in tracked.func.escapes):
            how = "escapes"
        else:
            how = "unclosed"
        lifecycles.append(
            ObjectLifecycle(
                kind=tracked.kind,
                cls=tracked.cls,
                name=name,
                file=mod.relative,
                scope=tracked.func.qualname,
                management=how,
                events=events,
            )
        )
    return lifecycles


def project_lifecycles(index: ProjectIndex) -> list[ObjectLifecycle]:
    """`module_lifecycles` for every module of the project, in path order."""
    return [lc for mod in index.iter_modules() for lc in module_lifecycles(mod, index)]
