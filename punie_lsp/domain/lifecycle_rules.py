"""Lifecycle / state transition rules (LC001–LC012), checked by `check_state_transitions`.

The lifecycles are the ones svcs and tdom-svcs really have: a Registry is configured once and serves the
whole application until it is closed; a Container is created per request, gets its local values, resolves
(and caches) services, and is closed; middleware props flow `props₀ → … → propsₙ` or halt at `None`.
The shared walk and analyses live in `punie_lsp.domain.lifecycle`; this module holds the rules and their
fixers (libcst transformers that edit statements in place and keep every other byte).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import libcst as cst
import libcst.matchers as m

from punie_lsp.domain.context import ModuleContext, ProjectIndex
from punie_lsp.domain.issues import DomainIssue
from punie_lsp.domain.lifecycle import (
    ASYNC_RESOLVE_METHODS,
    EXECUTE_FUNCTIONS,
    LOCAL_REGISTER_METHODS,
    RESOLVE_METHODS,
    CallSite,
    Func,
    ModuleFacts,
    Ref,
    Stmt,
    Tracked,
    closes_of,
    container_handles,
    is_fixture,
    management,
    module_facts,
    project_facts,
    service_dependencies,
    tracked_objects,
    type_key,
)
from punie_lsp.domain.metadata import walk
from punie_lsp.domain.rules import fixer_for, rule

__all__ = ()

_REGISTER_METHODS = frozenset({"register_value", "register_factory"})
_REQUEST_PARAMS = frozenset({"request", "req", "websocket"})
_REQUEST_TYPES = ("Request", "WebSocket", "HTTPConnection")
_ROUTE_DECORATORS = frozenset(
    {"get", "post", "put", "patch", "delete", "head", "options", "route", "api_route", "websocket"}
)
_NON_OWNING = frozenset(
    {"scan", "Container", "HopscotchContainer", "InjectorContainer", "register_middleware"}
)
_LOG_CALLS = frozenset({"print", "debug", "info", "warning", "warn", "error", "exception", "critical", "log"})
_TERMINATING_CALLS = frozenset({"abort", "exit", "_exit", "fail", "skip"})
_KNOWN_CONTEXT_MANAGERS = frozenset(
    {
        "builtins.open",
        "io.open",
        "sqlite3.connect",
        "psycopg.connect",
        "psycopg2.connect",
        "httpx.Client",
        "httpx.AsyncClient",
        "requests.Session",
        "requests.session",
        "aiohttp.ClientSession",
        "tempfile.TemporaryDirectory",
        "tempfile.NamedTemporaryFile",
        "tempfile.TemporaryFile",
        "socket.socket",
        "socket.create_connection",
        "smtplib.SMTP",
        "zipfile.ZipFile",
        "tarfile.open",
        "shelve.open",
        "concurrent.futures.ThreadPoolExecutor",
        "concurrent.futures.ProcessPoolExecutor",
        "sqlalchemy.orm.Session",
    }
)
_CONTEXT_MANAGER_METHODS = frozenset({"connect", "begin", "begin_nested"})


# ---------------------------------------------------------------------------------------------------
# Shared helpers
# ---------------------------------------------------------------------------------------------------


def _facts(mod: ModuleContext, index: ProjectIndex) -> ModuleFacts | None:
    return module_facts(mod, index)


def _functions(facts: ModuleFacts) -> Iterator[Func]:
    return (f for f in facts.funcs if f.kind == "function")


def _is_test_function(facts: ModuleFacts, func: Func) -> bool:
    """A `test_*` function or a pytest fixture."""
    return func.qualname.rsplit(".", 1)[-1].startswith("test") or is_fixture(facts, func)


def _last(node: cst.BaseExpression) -> str | None:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return node.attr.value
    if isinstance(node, cst.Call):
        return _last(node.func)
    return None


def _request_params(func: Func) -> set[str]:
    found = set()
    for name, param in func.params.items():
        annotation = param.annotation.annotation if param.annotation is not None else None
        spelled = _last(annotation) if annotation is not None else None
        if name in _REQUEST_PARAMS or (spelled is not None and spelled.endswith(_REQUEST_TYPES)):
            found.add(name)
    return found


def _is_handler(facts: ModuleFacts, func: Func) -> bool:
    """A request handler: takes a request, or is registered with a route decorator (tests excluded)."""
    if func.kind != "function" or _is_test_function(facts, func) or facts.is_test_file:
        return False
    if _request_params(func):
        return True
    for decorator in func.decorators:
        if (
            isinstance(decorator, cst.Call)
            and isinstance(decorator.func, cst.Attribute)
            and decorator.func.attr.value in _ROUTE_DECORATORS
        ):
            return True
    return False


def _stmt_index(func: Func) -> dict[cst.CSTNode, Stmt]:
    return {s.node: s for s in func.stmts}


def _names_in(func: Func, stmt: Stmt) -> set[str]:
    """Every name the statement reads (its header only, for a compound statement)."""
    return {name for name, refs in func.refs.items() if any(r.stmt is stmt for r in refs)}


def _single_statement(stmt: Stmt) -> cst.BaseSmallStatement | None:
    """The only small statement of a one-statement line in an editable block."""
    node = stmt.node
    if stmt.owner is None or not isinstance(node, cst.SimpleStatementLine) or len(node.body) != 1:
        return None
    return node.body[0]


def _expr_call(stmt: Stmt, call: cst.Call) -> bool:
    """Whether the statement is exactly `call` (or `await call`) as an expression statement."""
    small = _single_statement(stmt)
    if not isinstance(small, cst.Expr):
        return False
    value = small.value.expression if isinstance(small.value, cst.Await) else small.value
    return value is call


def _short(facts: ModuleFacts, node: cst.CSTNode) -> str:
    text = " ".join(facts.mod.code(node).split())
    return text if len(text) <= 60 else text[:57] + "…"


def _line(facts: ModuleFacts, node: cst.CSTNode) -> int:
    return facts.mod.location(node)[0]


class _Rewriter(cst.CSTTransformer):
    """Applies node replacements and block (statement list) edits keyed on original nodes."""

    def __init__(
        self,
        *,
        replace: dict[cst.CSTNode, Callable[[cst.CSTNode], cst.CSTNode]] | None = None,
        blocks: dict[cst.CSTNode, Callable[[list[cst.BaseStatement]], list[cst.BaseStatement]]] | None = None,
    ) -> None:
        super().__init__()
        self.replace = replace or {}
        self.blocks = blocks or {}

    def on_leave(
        self, original_node: cst.CSTNode, updated_node: cst.CSTNode
    ) -> cst.CSTNode | cst.RemovalSentinel | cst.FlattenSentinel[cst.CSTNode]:
        """Apply the edits registered for `original_node`."""
        if original_node in self.blocks and isinstance(updated_node, cst.Module | cst.IndentedBlock):
            updated_node = updated_node.with_changes(body=self.blocks[original_node](list(updated_node.body)))
        if original_node in self.replace:
            return self.replace[original_node](updated_node)
        return updated_node


def _rewrite(
    mod: ModuleContext,
    *,
    replace: dict[cst.CSTNode, Callable[[cst.CSTNode], cst.CSTNode]] | None = None,
    blocks: dict[cst.CSTNode, Callable[[list[cst.BaseStatement]], list[cst.BaseStatement]]] | None = None,
) -> cst.Module:
    if not replace and not blocks:
        return mod.module
    return mod.module.visit(_Rewriter(replace=replace, blocks=blocks))


def _statement(code: str) -> cst.BaseStatement:
    return cst.parse_statement(code)


def _method_call(receiver: str, method: str, call: cst.Call) -> cst.Call:
    return call.with_changes(func=cst.Attribute(value=cst.Name(receiver), attr=cst.Name(method)))


def _await_aclose(node: cst.CSTNode) -> cst.CSTNode:
    assert isinstance(node, cst.Call)
    assert isinstance(node.func, cst.Attribute)
    call = node.with_changes(func=node.func.with_changes(attr=cst.Name("aclose")))
    return cst.Await(expression=call)


# ---------------------------------------------------------------------------------------------------
# LC001: containers are closed
# ---------------------------------------------------------------------------------------------------


def _lc001_findings(facts: ModuleFacts) -> Iterator[tuple[Tracked, str]]:
    for tracked in tracked_objects(facts):
        if tracked.kind != "container" or tracked.func.kind != "function":
            continue
        how = management(facts, tracked)
        if how in {"unclosed", "close-not-in-finally"}:
            yield tracked, how


@rule(
    "LC001",
    severity="error",
    title="A `Container` is closed: `with`/`async with`, or `close()` in `finally`",
    fix="A",
    why=(
        "A container runs the cleanups of the services it created (closing connections, returning pool "
        "slots) only when it is closed. A container that is never closed, or closed only on the success "
        "path, leaks those resources and emits `ResourceWarning` when garbage-collected."
    ),
    bad="""
def handle(request):
    container = svcs.Container(registry)
    db = container.get(Database)
    return db.fetch_user(request.user_id)
""",
    good="""
def handle(request):
    with svcs.Container(registry) as container:
        db = container.get(Database)
        return db.fetch_user(request.user_id)
""",
    static_note=(
        "Tracks containers constructed in a function and bound to a name (or used inline). A container "
        "returned, yielded, stored on an object or in a collection, captured by a nested function, entered "
        "later (`with container:`), or handed to `ExitStack.enter_context` / `closing()` is assumed to be "
        "closed elsewhere; passing it as an argument to an ordinary call is a use, not a hand-over. Tests "
        "and pytest fixtures may close without `finally` (after `yield`). The fix wraps the rest of the "
        "block in `with` (`async with` in an `async def`) when every use of the container is inside it."
    ),
)
def lc001(mod: ModuleContext, index: ProjectIndex) -> Iterator[DomainIssue]:
    """Find containers that are never closed, or closed outside `finally`."""
    facts = _facts(mod, index)
    if facts is None:
        return
    for tracked, how in _lc001_findings(facts):
        site = tracked.call
        code = _short(facts, site.node)
        keyword = "async with" if tracked.func.is_async else "with"
        if site.context == "inline":
            message = (
                f"`{code}` creates a container just to call one method on it and never closes it: "
                f"bind it with `{keyword} {code} as container:` and resolve inside the block."
            )
        elif how == "unclosed":
            message = (
                f"The container `{tracked.var}` (`{code}`) is never closed, so the cleanups of the services "
                f"it creates never run: use `{keyword} {code} as {tracked.var}:`."
            )
        else:
            message = (
                f"`{tracked.var}.close()` runs only if nothing raises before it: create the container with "
                f"`{keyword} {code} as {tracked.var}:` (or call `close()` in a `finally:` block)."
            )
        yield mod.issue(
            "LC001",
            site.node,
            message,
            suggestion=f"{keyword} {code} as {tracked.var or 'container'}:",
        )


def _is_close_line(statement: cst.CSTNode, name: str) -> bool:
    matcher = m.SimpleStatementLine(
        body=[
            m.Expr(
                value=m.Call(func=m.Attribute(value=m.Name(name), attr=m.Name("close") | m.Name("aclose")))
                | m.Await(
                    expression=m.Call(
                        func=m.Attribute(value=m.Name(name), attr=m.Name("close") | m.Name("aclose"))
                    )
                )
            )
        ]
    )
    return m.matches(statement, matcher)


@fixer_for("LC001")
def fix_lc001(mod: ModuleContext, index: ProjectIndex) -> cst.Module:
    """Wrap the rest of the block after `name = Container(...)` in `with Container(...) as name:`."""
    facts = _facts(mod, index)
    if facts is None:
        return mod.module
    blocks: dict[cst.CSTNode, Callable[[list[cst.BaseStatement]], list[cst.BaseStatement]]] = {}
    for tracked, _ in _lc001_findings(facts):
        site, name, func = tracked.call, tracked.var, tracked.func
        small = _single_statement(site.stmt)
        if name is None or site.context != "assign" or site.stmt.owner is None or site.stmt.owner in blocks:
            continue
        if not isinstance(small, cst.Assign | cst.AnnAssign) or small.value is not site.node:
            continue
        owner = site.stmt.owner
        siblings: Sequence[cst.CSTNode] = (
            owner.body if isinstance(owner, cst.Module | cst.IndentedBlock) else ()
        )
        by_node = _stmt_index(func)
        rest = [by_node[s] for s in siblings[site.stmt.index + 1 :]]
        if not rest or all(_is_close_line(s.node, name) for s in rest):
            continue
        last = max(s.end for s in rest)
        if any(not site.stmt.order < r.stmt.order <= last for r in func.refs.get(name, [])):
            continue
        blocks[owner] = _wrap_in_with(site.stmt.index, name, func.is_async)
    return _rewrite(mod, blocks=blocks)


def _wrap_in_with(
    start: int, name: str, asynchronous: bool
) -> Callable[[list[cst.BaseStatement]], list[cst.BaseStatement]]:
    def edit(body: list[cst.BaseStatement]) -> list[cst.BaseStatement]:
        creation = body[start]
        assert isinstance(creation, cst.SimpleStatementLine)
        assignment = creation.body[0]
        assert isinstance(assignment, cst.Assign | cst.AnnAssign)
        assert assignment.value is not None
        inner = [s for s in body[start + 1 :] if not _is_close_line(s, name)]
        statement = cst.With(
            items=[cst.WithItem(item=assignment.value, asname=cst.AsName(name=cst.Name(name)))],
            body=cst.IndentedBlock(body=inner, header=creation.trailing_whitespace),
            asynchronous=cst.Asynchronous() if asynchronous else None,
            leading_lines=creation.leading_lines,
        )
        return [*body[:start], statement]

    return edit


# ---------------------------------------------------------------------------------------------------
# LC002: async cleanups need aclose() / async with
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class _SyncClose:
    node: cst.CSTNode
    """The `with` statement or the `close()` call to make async."""
    report: cst.CSTNode
    what: str
    fixable: bool


def _lc002_findings(facts: ModuleFacts, index: ProjectIndex) -> Iterator[_SyncClose]:
    deps = service_dependencies(index)
    trackeds = tracked_objects(facts)
    for func in _functions(facts):
        if not func.is_async:
            continue
        for tracked in trackeds:
            if tracked.func is not func or tracked.kind != "container":
                continue
            name = tracked.var
            evidence = deps.async_factories or (
                name is not None
                and any(c.receiver == name and c.name in ASYNC_RESOLVE_METHODS for c in func.calls)
            )
            if not evidence:
                continue
            site = tracked.call
            if site.context == "with" and site.with_node is not None and site.with_node.asynchronous is None:
                yield _SyncClose(node=site.with_node, report=site.node, what="with", fixable=True)
            if name is not None and func.bound_once(name):
                for ref in closes_of(func, name):
                    if ref.attr == "close":
                        yield from _sync_close_call(func, ref)
        if deps.async_close_callbacks:
            registries = {
                t.var
                for t in trackeds
                if t.kind == "registry" and t.var and t.func in {func, facts.module_func}
            }
            for name in sorted(registries):
                for ref in closes_of(func, name):
                    if ref.attr == "close":
                        yield from _sync_close_call(func, ref)


def _sync_close_call(func: Func, ref: Ref) -> Iterator[_SyncClose]:
    for call in func.calls:
        if call.stmt is ref.stmt and call.receiver == ref.node.value and call.name == "close":
            yield _SyncClose(
                node=call.node, report=call.node, what="close", fixable=_expr_call(call.stmt, call.node)
            )


@rule(
    "LC002",
    severity="error",
    title="Async cleanups need `aclose()` / `async with`",
    fix="A",
    why=(
        "`Container.close()` and `Registry.close()` only run synchronous cleanups: async generator "
        "factories and async `on_registry_close` callbacks are skipped with a warning. Inside `async def`, "
        "close with `await container.aclose()` or use `async with`."
    ),
    bad="""
async def handle(request):
    with svcs.Container(registry) as container:
        db = await container.aget(AsyncDatabase)
""",
    good="""
async def handle(request):
    async with svcs.Container(registry) as container:
        db = await container.aget(AsyncDatabase)
""",
    static_note=(
        "Reported inside `async def` only, where the fix is possible, and only when async cleanups are "
        "likely: the container is resolved with `aget`/`ainject`, or the project registers an async "
        "factory (an `async def` or `auto_async(...)`), or, for registries, an `on_registry_close` callback "
        "is an `async def`."
    ),
)
def lc002(mod: ModuleContext, index: ProjectIndex) -> Iterator[DomainIssue]:
    """Find sync `with` / `close()` on containers and registries whose cleanups are async."""
    facts = _facts(mod, index)
    if facts is None:
        return
    for finding in _lc002_findings(facts, index):
        code = _short(facts, finding.report)
        if finding.what == "with":
            message = (
                f"`with {code}` inside `async def` skips the async cleanups of the services it created: "
                f"use `async with {code} as …:`."
            )
            suggestion = f"async with {code}"
        else:
            message = (
                f"`{code}` inside `async def` skips async cleanups (async generator factories, async "
                f"`on_registry_close` callbacks): use `await {code.replace('.close(', '.aclose(')}`."
            )
            suggestion = f"await {code.replace('.close(', '.aclose(')}"
        yield mod.issue("LC002", finding.report, message, suggestion=suggestion)


@fixer_for("LC002")
def fix_lc002(mod: ModuleContext, index: ProjectIndex) -> cst.Module:
    """Turn `with` into `async with` and `x.close()` into `await x.aclose()` inside `async def`."""
    facts = _facts(mod, index)
    if facts is None:
        return mod.module
    replace: dict[cst.CSTNode, Callable[[cst.CSTNode], cst.CSTNode]] = {}
    for finding in _lc002_findings(facts, index):
        if not finding.fixable:
            continue
        if finding.what == "with":
            replace[finding.node] = lambda node: node.with_changes(asynchronous=cst.Asynchronous())
        else:
            replace[finding.node] = _await_aclose
    return _rewrite(mod, replace=replace)


# ---------------------------------------------------------------------------------------------------
# LC003: local values before the first resolution
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class _Resolution:
    call: CallSite
    keys: tuple[str, ...] | None
    """Service types resolved, or None when anything may be (rendering, middleware)."""


def _resolutions(facts: ModuleFacts, func: Func, name: str) -> list[_Resolution]:
    found = []
    for call in func.calls:
        if call.receiver == name and call.name in RESOLVE_METHODS:
            positional = [a.value for a in call.node.args if a.keyword is None and not a.star]
            keys = tuple(k for a in positional if (k := type_key(a)))
            found.append(_Resolution(call=call, keys=keys or None))
        elif call.name == "html" and isinstance(call.keyword("container"), cst.Name):
            container = call.keyword("container")
            if (
                isinstance(container, cst.Name)
                and container.value == name
                and facts.is_di_function(call, {"html"})
            ):
                found.append(_Resolution(call=call, keys=None))
        elif call.name in EXECUTE_FUNCTIONS:
            container = call.arg(2, "container")
            same = isinstance(container, cst.Name) and container.value == name
            if same and facts.is_di_function(call, EXECUTE_FUNCTIONS):
                found.append(_Resolution(call=call, keys=None))
    return found


def _depends(resolution: _Resolution, key: str | None, index: ProjectIndex) -> bool:
    if key is None:
        return False
    deps = service_dependencies(index)
    if resolution.keys is None:
        return key in deps.injected
    return any(key in deps.closure(resolved) for resolved in resolution.keys)


@dataclass(frozen=True, kw_only=True)
class _LateLocal:
    local: CallSite
    first: CallSite
    """The earliest resolution (on every path before it) that may depend on the local value."""


def _lc003_findings(facts: ModuleFacts, index: ProjectIndex) -> Iterator[_LateLocal]:
    for func in _functions(facts):
        for name in container_handles(facts, func):
            every = _resolutions(facts, func, name)
            resolutions = [r for r in every if r.call.stmt.spine]
            if not resolutions:
                continue
            closes = [r.stmt.order for r in closes_of(func, name)]
            for local in func.calls:
                if local.receiver != name or local.name not in LOCAL_REGISTER_METHODS:
                    continue
                at = local.stmt.order
                if any(_resets(c, at, every) for c in closes):
                    continue  # closed (cache dropped) before anything is resolved again
                key = type_key(local.arg(0))
                earlier = [
                    r
                    for r in resolutions
                    if r.call.stmt.order < at
                    and not any(r.call.stmt.order < c < at for c in closes)
                    and _depends(r, key, index)
                ]
                if earlier:
                    yield _LateLocal(local=local, first=min(earlier, key=lambda r: r.call.stmt.order).call)


def _resets(close: int, registered: int, resolutions: list[_Resolution]) -> bool:
    """Whether a close after the registration comes before any further resolution."""
    return close > registered and not any(registered < r.call.stmt.order < close for r in resolutions)


@rule(
    "LC003",
    severity="error",
    title=(
        "Local values are registered before the first `get`/`inject`/`html(container=…)` "
        "that may depend on them"
    ),
    fix="A",
    why=(
        "A container caches every service it builds. Once `container.get(Users)` has built `Users` (and "
        "whatever it injected), a `register_local_value(Request, request)` that comes later is never seen "
        "by it: the cached instance keeps the registry's value, or the resolution already failed."
    ),
    bad="""
with svcs.Container(registry) as container:
    users = container.get(Users)          # Users injects Request
    container.register_local_value(Request, request)
""",
    good="""
with svcs.Container(registry) as container:
    container.register_local_value(Request, request)
    users = container.get(Users)
""",
    static_note=(
        "Dependencies are read project-wide from `Inject[T]` fields and parameters, `auto(T)`, and factories "
        "that call `svcs_container.get(T)`, matching types by their last name; rendering with "
        "`html(..., container=…)` or running middleware may depend on any injected type. Only resolutions "
        "that run on every path before the registration count (not those in branches or loops). The fix "
        "moves the registration up when both statements are in the same block and its arguments do not "
        "depend on anything computed in between."
    ),
)
def lc003(mod: ModuleContext, index: ProjectIndex) -> Iterator[DomainIssue]:
    """Find `register_local_*` calls after a resolution that may already have cached a dependent service."""
    facts = _facts(mod, index)
    if facts is None:
        return
    for finding in _lc003_findings(facts, index):
        local, first = finding.local, finding.first
        message = (
            f"`{_short(facts, local.node)}` comes after `{_short(facts, first.node)}` (line "
            f"{_line(facts, first.node)}), which may already have built and cached a service that needs it: "
            f"register local values right after creating the container, before any resolution."
        )
        yield mod.issue(
            "LC003", local.node, message, suggestion="move the registration before the first resolution"
        )


@fixer_for("LC003")
def fix_lc003(mod: ModuleContext, index: ProjectIndex) -> cst.Module:
    """Move late `register_local_*` statements up, just before the first resolution in the same block."""
    facts = _facts(mod, index)
    if facts is None:
        return mod.module
    moves: dict[cst.CSTNode, list[tuple[int, int]]] = {}
    for finding in _lc003_findings(facts, index):
        local, first = finding.local, finding.first
        func = local.func
        if not _expr_call(local.stmt, local.node) or local.stmt.owner is not first.stmt.owner:
            continue
        if first.stmt.owner is None:
            continue
        between = {
            b.name
            for bindings in func.bindings.values()
            for b in bindings
            if b.stmt is not None and first.stmt.order <= b.stmt.order < local.stmt.order
        }
        if between & _names_in(func, local.stmt):
            continue
        moves.setdefault(first.stmt.owner, []).append((local.stmt.index, first.stmt.index))
    blocks = {owner: _move_up(pairs) for owner, pairs in moves.items()}
    return _rewrite(mod, blocks=blocks)


def _move_up(pairs: list[tuple[int, int]]) -> Callable[[list[cst.BaseStatement]], list[cst.BaseStatement]]:
    def edit(body: list[cst.BaseStatement]) -> list[cst.BaseStatement]:
        moving = {source for source, _ in pairs}
        inserts: dict[int, list[cst.BaseStatement]] = {}
        for source, target in sorted(pairs):
            inserts.setdefault(target, []).append(body[source])
        result: list[cst.BaseStatement] = []
        for position, statement in enumerate(body):
            result.extend(inserts.get(position, []))
            if position not in moving:
                result.append(statement)
        return result

    return edit


# ---------------------------------------------------------------------------------------------------
# LC004: no per-request data in the registry
# ---------------------------------------------------------------------------------------------------


def _request_derived(func: Func) -> set[str]:
    tainted = _request_params(func)
    changed = True
    while changed:
        changed = False
        for name, bindings in func.bindings.items():
            if name in tainted:
                continue
            for binding in bindings:
                derived = binding.stmt is not None and binding.kind in {"assign", "with"}
                if derived and binding.stmt is not None and _names_in(func, binding.stmt) & tainted:
                    tainted.add(name)
                    changed = True
                    break
    return tainted


def _lc004_findings(facts: ModuleFacts) -> Iterator[tuple[CallSite, str]]:
    for func in _functions(facts):
        if not _is_handler(facts, func):
            continue
        tainted: set[str] | None = None
        for call in func.calls:
            if call.name not in _REGISTER_METHODS or call.receiver is None:
                continue
            key = type_key(call.arg(0)) or ""
            if tainted is None:
                tainted = _request_derived(func)
            used = (_names_in(func, call.stmt) - {call.receiver}) & tainted
            if key.endswith(_REQUEST_TYPES) or used:
                yield call, key


@rule(
    "LC004",
    severity="error",
    title="No per-request data in the registry (`registry.register_value(Request, req)` inside a handler)",
    fix="A",
    why=(
        "The registry is shared by every request of the application. Registering the current request (or "
        "anything derived from it) there overwrites it for all concurrent requests and keeps it alive after "
        "the response. Per-request values belong on the request's container: `register_local_value`."
    ),
    bad="""
def handle(request):
    registry.register_value(Request, request)
    with svcs.Container(registry) as container:
        return container.get(View).render()
""",
    good="""
def handle(request):
    with svcs.Container(registry) as container:
        container.register_local_value(Request, request)
        return container.get(View).render()
""",
    static_note=(
        "A handler is a function with a `request`/`req`/`websocket` parameter (or one annotated `…Request` / "
        "`WebSocket`) or a route decorator such as `@app.get(...)`; tests and fixtures are not handlers. "
        "Per-request data is a key ending in `Request`, or a value computed from the request parameter in "
        "the same function. The fix needs a container in the handler: one created before the registration, "
        "a container parameter, or a `with Container(...)` right after it (the registration moves into it)."
    ),
)
def lc004(mod: ModuleContext, index: ProjectIndex) -> Iterator[DomainIssue]:
    """Find registry registrations of request data inside request handlers."""
    facts = _facts(mod, index)
    if facts is None:
        return
    for call, _ in _lc004_findings(facts):
        local = "register_local_value" if call.name == "register_value" else "register_local_factory"
        message = (
            f"`{_short(facts, call.node)}` stores per-request data in the application-wide registry, where "
            f"every concurrent request sees (and overwrites) it: register it on the request's container with "
            f"`container.{local}(...)`."
        )
        yield mod.issue("LC004", call.node, message, suggestion=f"container.{local}(...)")


def _container_for(facts: ModuleFacts, call: CallSite) -> tuple[str, CallSite | None] | None:
    """The container to register on: (name, None) in place, or (name, with-site) to move into."""
    func = call.func
    for name, tracked in container_handles(facts, func).items():
        if tracked is None:
            return name, None
        site = tracked.call
        if site.context == "with" and site.with_node is not None:
            inside = site.stmt.order < call.stmt.order <= site.stmt.end
            if inside:
                return name, None
        elif site.context == "assign" and site.stmt.spine and site.stmt.order < call.stmt.order:
            return name, None
    if call.stmt.owner is None or not isinstance(call.stmt.owner, cst.Module | cst.IndentedBlock):
        return None
    siblings = call.stmt.owner.body
    for later in siblings[call.stmt.index + 1 :]:
        for tracked in container_handles(facts, func).values():
            if tracked is not None and tracked.call.with_node is later and tracked.var:
                return tracked.var, tracked.call
        if not isinstance(later, cst.SimpleStatementLine):
            break
    return None


@fixer_for("LC004")
def fix_lc004(mod: ModuleContext, index: ProjectIndex) -> cst.Module:
    """Register request data on the request's container (`register_local_value`) instead of the registry."""
    facts = _facts(mod, index)
    if facts is None:
        return mod.module
    replace: dict[cst.CSTNode, Callable[[cst.CSTNode], cst.CSTNode]] = {}
    blocks: dict[cst.CSTNode, Callable[[list[cst.BaseStatement]], list[cst.BaseStatement]]] = {}
    for call, _ in _lc004_findings(facts):
        target = _container_for(facts, call)
        if target is None or not _expr_call(call.stmt, call.node):
            continue
        name, into = target
        method = "register_local_value" if call.name == "register_value" else "register_local_factory"
        if into is None:
            replace[call.node] = _renamer(name, method)
            continue
        owner = call.stmt.owner
        if owner is None or owner in blocks or into.with_node is None:
            continue
        siblings = owner.body if isinstance(owner, cst.Module | cst.IndentedBlock) else ()
        blocks[owner] = _move_into_with(call.stmt.index, list(siblings).index(into.with_node), name, method)
    return _rewrite(mod, replace=replace, blocks=blocks)


def _renamer(name: str, method: str) -> Callable[[cst.CSTNode], cst.CSTNode]:
    def rename(node: cst.CSTNode) -> cst.CSTNode:
        assert isinstance(node, cst.Call)
        return _method_call(name, method, node)

    return rename


def _move_into_with(
    source: int, target: int, name: str, method: str
) -> Callable[[list[cst.BaseStatement]], list[cst.BaseStatement]]:
    def edit(body: list[cst.BaseStatement]) -> list[cst.BaseStatement]:
        line = body[source]
        statement = body[target]
        assert isinstance(line, cst.SimpleStatementLine)
        assert isinstance(statement, cst.With)
        expr = line.body[0]
        assert isinstance(expr, cst.Expr)
        assert isinstance(expr.value, cst.Call)
        moved = line.with_changes(
            body=[expr.with_changes(value=_method_call(name, method, expr.value))],
        )
        inner = statement.body
        assert isinstance(inner, cst.IndentedBlock)
        first = inner.body[0] if inner.body else None
        moved = moved.with_changes(leading_lines=())
        new_inner = [moved, *inner.body]
        if first is not None and line.leading_lines:
            new_inner[0] = moved.with_changes(leading_lines=line.leading_lines)
        entered = statement.with_changes(body=inner.with_changes(body=new_inner))
        return [*body[:source], *body[source + 1 : target], entered, *body[target + 1 :]]

    return edit


# ---------------------------------------------------------------------------------------------------
# LC005: one registry per application
# ---------------------------------------------------------------------------------------------------


@rule(
    "LC005",
    severity="warning",
    title=(
        "A Registry is created once per application (not inside a handler or loop); `scan()` runs at start-up"
    ),
    fix="S",
    why=(
        "A registry is the application's configuration: building it (and scanning packages into it) for "
        "every request repeats all registrations and imports, loses `on_registry_close` cleanups, and "
        "defeats caching of anything registered as a value."
    ),
    bad="""
def handle(request):
    registry = svcs.Registry()
    registry.register_factory(Database, connect)
    with svcs.Container(registry) as container:
        ...
""",
    good="""
registry = svcs.Registry()
registry.register_factory(Database, connect)

def handle(request):
    with svcs.Container(registry) as container:
        ...
""",
    static_note=(
        "Reports `Registry()` / `HopscotchRegistry()` and `scan(...)` inside request handlers (see LC004 for "
        "what counts as one), and registries created in a loop that also creates containers. A helper that "
        "builds a registry and is called per request is not followed across calls."
    ),
)
def lc005(mod: ModuleContext, index: ProjectIndex) -> Iterator[DomainIssue]:
    """Find registries created (or scanned) per request."""
    facts = _facts(mod, index)
    if facts is None:
        return
    trackeds = tracked_objects(facts)
    for tracked in trackeds:
        if tracked.kind != "registry":
            continue
        func, site = tracked.func, tracked.call
        code = _short(facts, site.node)
        if _is_handler(facts, func):
            yield mod.issue(
                "LC005",
                site.node,
                f"`{code}` builds a new registry on every call of the handler `{func.qualname}`: create the "
                f"registry once at start-up (module level or the app factory) and only create a container "
                f"per request.",
            )
        elif site.stmt.in_loop and any(
            t.kind == "container" and t.func is func and t.call.stmt.in_loop for t in trackeds
        ):
            yield mod.issue(
                "LC005",
                site.node,
                f"`{code}` is created inside a loop that also creates containers: create the registry once "
                f"before the loop and a container per iteration.",
            )
    for func in _functions(facts):
        if not _is_handler(facts, func):
            continue
        for call in func.calls:
            if call.name == "scan" and facts.is_di_function(call, {"scan"}):
                yield mod.issue(
                    "LC005",
                    call.node,
                    f"`{_short(facts, call.node)}` scans packages on every call of the handler "
                    f"`{func.qualname}`: scan once at start-up, right after creating the registry.",
                )


# ---------------------------------------------------------------------------------------------------
# LC006: containers are request-scoped
# ---------------------------------------------------------------------------------------------------


def _is_cached(facts: ModuleFacts, func: Func) -> bool:
    for decorator in func.decorators:
        target = decorator.func if isinstance(decorator, cst.Call) else decorator
        if _last(target) in {"cache", "lru_cache"}:
            names = facts.mod.qualified_names(target)
            if not names or any(n.startswith("functools.") for n in names):
                return True
    return False


@rule(
    "LC006",
    severity="warning",
    title="No module-level or long-lived `Container`: containers are request-scoped",
    fix="S",
    why=(
        "A container caches every service it resolves. A module-level, class-level or cached container "
        "shares those instances (database sessions, the current user, the request) across all requests "
        "and threads, and its cleanups never run."
    ),
    bad="""
container = svcs.Container(registry)

def handle(request):
    return container.get(Database).query()
""",
    good="""
def handle(request):
    with svcs.Container(registry) as container:
        return container.get(Database).query()
""",
    static_note=(
        'Reports containers created at module level (outside `with` and `if __name__ == "__main__":`), in a '
        "class body, as a parameter default, assigned to a `global`, or returned from a `@functools.cache` / "
        "`@lru_cache` function. Long-lived containers kept on objects (`self.container`) are not detected."
    ),
)
def lc006(mod: ModuleContext, index: ProjectIndex) -> Iterator[DomainIssue]:
    """Find containers that outlive a request."""
    facts = _facts(mod, index)
    if facts is None:
        return
    for tracked in tracked_objects(facts):
        if tracked.kind != "container":
            continue
        func, site, name = tracked.func, tracked.call, tracked.var
        code = _short(facts, site.node)
        where: str | None = None
        if func.kind == "module" and site.context != "with" and not site.stmt.main_guard:
            where = "at module level"
        elif func.kind == "class" and site.context != "with":
            where = f"in the body of class `{func.qualname}`"
        elif site.context == "default":
            where = "as a parameter default (evaluated once, at definition time)"
        elif name is not None and name in func.globals:
            where = f"and stored in the global `{name}`"
        elif (
            func.kind == "function"
            and _is_cached(facts, func)
            and (site.context == "return" or (name is not None and name in func.escapes))
        ):
            where = f"in the cached function `{func.qualname}` (every caller shares it)"
        if where is None:
            continue
        yield mod.issue(
            "LC006",
            site.node,
            f"`{code}` is created {where}, so it lives for the whole application and shares cached "
            f"services between requests: create a container per request (`with {code} as container:` "
            f"in the handler) and keep only the registry long-lived.",
        )


# ---------------------------------------------------------------------------------------------------
# LC007: registries with on_registry_close are closed
# ---------------------------------------------------------------------------------------------------


def _possibly_owned_names(index: ProjectIndex) -> set[str]:
    def compute(idx: ProjectIndex) -> set[str]:
        names = set(service_dependencies(idx).closed_names)
        for facts in project_facts(idx):
            for func in facts.funcs:
                for refs in func.refs.values():
                    for ref in refs:
                        if ref.role == "arg" and ref.callee not in _NON_OWNING:
                            names.add(ref.node.value)
        return names

    return index.memo("lc:owned-names", compute)


@rule(
    "LC007",
    severity="warning",
    title="A registry with `on_registry_close` callbacks is closed at shutdown",
    fix="S",
    why=(
        "`on_registry_close=` callbacks (closing engines, pools, clients) run only when the registry is "
        "closed. A registry that is never closed skips them and warns with `ResourceWarning` when it is "
        "garbage-collected."
    ),
    bad="""
registry = svcs.Registry()
registry.register_value(Engine, engine, on_registry_close=engine.dispose)
""",
    good="""
registry = svcs.Registry()
registry.register_value(Engine, engine, on_registry_close=engine.dispose)

@contextlib.asynccontextmanager
async def lifespan(app):
    yield
    await registry.aclose()
""",
    static_note=(
        "A registry counts as closed when any module of the project calls `.close()` / `.aclose()` on a "
        "name (or attribute) spelled like it, enters it with `with`, passes its `close` method along, or "
        "hands it to another function (a framework integration may close it). Registries returned from a "
        "function are the caller's to close and are not followed."
    ),
)
def lc007(mod: ModuleContext, index: ProjectIndex) -> Iterator[DomainIssue]:
    """Find registries with `on_registry_close` callbacks that nothing closes."""
    facts = _facts(mod, index)
    if facts is None:
        return
    owned: set[str] | None = None
    for tracked in tracked_objects(facts):
        name = tracked.var
        if tracked.kind != "registry" or tracked.call.context != "assign" or name is None:
            continue
        home = tracked.func
        if not home.bound_once(name) or name in home.escapes or name in home.yielded:
            continue
        scopes = (
            [home]
            if home.kind != "module"
            else [f for f in facts.funcs if f is home or name not in f.bindings]
        )
        callbacks = [
            call
            for func in scopes
            for call in func.calls
            if call.receiver == name and call.keyword("on_registry_close") is not None
        ]
        if not callbacks:
            continue
        if owned is None:
            owned = _possibly_owned_names(index)
        if name in owned:
            continue
        first = min(callbacks, key=lambda c: c.stmt.order)
        yield mod.issue(
            "LC007",
            tracked.call.node,
            f"`{name}` gets `on_registry_close=` callbacks (line {_line(facts, first.node)}) but is never "
            f"closed, so they never run: close it at shutdown (`await {name}.aclose()` in the app's "
            f"lifespan, or `{name}.close()`), or create it with `with`.",
        )


# ---------------------------------------------------------------------------------------------------
# LC008: close the container after overriding a factory in tests
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class _StaleOverride:
    override: CallSite
    container: str
    cached: CallSite
    again: CallSite


def _lc008_findings(facts: ModuleFacts, index: ProjectIndex) -> Iterator[_StaleOverride]:
    deps = service_dependencies(index)
    for func in _functions(facts):
        if not (facts.is_test_file or _is_test_function(facts, func)):
            continue
        overrides = [c for c in func.calls if c.name in _REGISTER_METHODS and c.stmt.spine]
        if not overrides:
            continue
        for name in container_handles(facts, func):
            resolutions = _resolutions(facts, func, name)
            closes = [r.stmt.order for r in closes_of(func, name)]
            for override in overrides:
                key = type_key(override.arg(0))
                if key is None:
                    continue
                cached = [
                    r
                    for r in resolutions
                    if r.call.stmt.spine
                    and r.call.stmt.order < override.stmt.order
                    and (
                        key in deps.injected
                        if r.keys is None
                        else any(key in deps.closure(k) for k in r.keys)
                    )
                ]
                later = [r for r in resolutions if r.call.stmt.order > override.stmt.order]
                if not cached or not later:
                    continue
                again = min(later, key=lambda r: r.call.stmt.order)
                if any(override.stmt.order < c <= again.call.stmt.order for c in closes):
                    continue
                yield _StaleOverride(
                    override=override, container=name, cached=cached[0].call, again=again.call
                )


@rule(
    "LC008",
    severity="warning",
    title="After overriding a factory in tests, close the container before `get` again",
    fix="A",
    why=(
        "A container caches what it resolved. Overriding a factory or value on the registry after the "
        "container already built the service (or something depending on it) has no effect on that "
        "container: the next `get` returns the cached instance. Close the container to drop the cache."
    ),
    bad="""
def test_fake_db(registry, container):
    container.get(Database)
    registry.register_value(Database, FakeDatabase())
    assert isinstance(container.get(Database), FakeDatabase)   # still the real one
""",
    good="""
def test_fake_db(registry, container):
    container.get(Database)
    registry.register_value(Database, FakeDatabase())
    container.close()
    assert isinstance(container.get(Database), FakeDatabase)
""",
    static_note=(
        "Checked in test modules and `test_*` functions / fixtures: an override (`register_factory` / "
        "`register_value` on every path) of a type that an earlier resolution of the container built or "
        "depends on (project-wide `Inject[T]` facts), followed by another resolution with no `close()` in "
        "between. A container reaches the test through a parameter named `container` / `svcs_container` "
        "or annotated as a container, or is created in the test."
    ),
)
def lc008(mod: ModuleContext, index: ProjectIndex) -> Iterator[DomainIssue]:
    """Find test overrides of services a container already cached."""
    facts = _facts(mod, index)
    if facts is None:
        return
    for finding in _lc008_findings(facts, index):
        close = (
            f"await {finding.container}.aclose()"
            if finding.override.func.is_async
            else f"{finding.container}.close()"
        )
        yield mod.issue(
            "LC008",
            finding.override.node,
            f"`{_short(facts, finding.override.node)}` overrides a service that `{finding.container}` "
            f"already cached at line {_line(facts, finding.cached.node)}, so "
            f"`{_short(facts, finding.again.node)}` (line {_line(facts, finding.again.node)}) still returns "
            f"the old instance: call `{close}` right after the override.",
            suggestion=close,
        )


@fixer_for("LC008")
def fix_lc008(mod: ModuleContext, index: ProjectIndex) -> cst.Module:
    """Insert `container.close()` (or `await container.aclose()`) right after the override."""
    facts = _facts(mod, index)
    if facts is None:
        return mod.module
    inserts: dict[cst.CSTNode, dict[int, str]] = {}
    for finding in _lc008_findings(facts, index):
        stmt = finding.override.stmt
        if _single_statement(stmt) is None or stmt.owner is None:
            continue
        code = (
            f"await {finding.container}.aclose()"
            if finding.override.func.is_async
            else f"{finding.container}.close()"
        )
        inserts.setdefault(stmt.owner, {})[stmt.index] = code
    blocks = {owner: _insert_after(after) for owner, after in inserts.items()}
    return _rewrite(mod, blocks=blocks)


def _insert_after(after: dict[int, str]) -> Callable[[list[cst.BaseStatement]], list[cst.BaseStatement]]:
    def edit(body: list[cst.BaseStatement]) -> list[cst.BaseStatement]:
        result: list[cst.BaseStatement] = []
        for position, statement in enumerate(body):
            result.append(statement)
            if position in after:
                result.append(_statement(after[position] + "\n"))
        return result

    return edit


# ---------------------------------------------------------------------------------------------------
# LC009: HopscotchContainer resource/location via the constructor
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class _LateAttribute:
    tracked: Tracked
    node: cst.CSTNode
    attribute: str
    value: cst.BaseExpression | None
    stmt: Stmt


def _lc009_findings(facts: ModuleFacts) -> Iterator[_LateAttribute]:
    for func in _functions(facts):
        for name, tracked in container_handles(facts, func).items():
            if tracked is None or not tracked.cls.endswith("HopscotchContainer"):
                continue
            for store in func.attr_stores:
                target = store.target
                if (
                    isinstance(target.value, cst.Name)
                    and target.value.value == name
                    and target.attr.value in {"resource", "location"}
                ):
                    yield _LateAttribute(
                        tracked=tracked,
                        node=target,
                        attribute=target.attr.value,
                        value=store.value,
                        stmt=store.stmt,
                    )
            for call in func.calls:
                first, second = call.arg(0), call.arg(1)
                if (
                    call.name == "setattr"
                    and isinstance(first, cst.Name)
                    and first.value == name
                    and isinstance(second, cst.SimpleString)
                    and second.evaluated_value in {"resource", "location"}
                ):
                    yield _LateAttribute(
                        tracked=tracked,
                        node=call.node,
                        attribute=str(second.evaluated_value),
                        value=None,
                        stmt=call.stmt,
                    )


@rule(
    "LC009",
    severity="warning",
    title="`HopscotchContainer` resource/location are set only through its keyword constructor arguments",
    fix="A",
    why=(
        "`HopscotchContainer(registry, resource=…, location=…)` registers `Location` as a local value and "
        "runs the `svcs_container` hooks while it is constructed. Assigning `container.location` or "
        "`container.resource` afterwards skips that: `Inject[Location]` is missing and location-bound "
        "implementations are not selected."
    ),
    bad="""
with HopscotchContainer(registry) as container:
    container.location = PurePath("/fr")
""",
    good="""
with HopscotchContainer(registry, location=PurePath("/fr")) as container:
    ...
""",
    static_note=(
        "Detects assignments (and `setattr`) to `resource` / `location` on a container constructed in the "
        "same function. The fix moves the value into the constructor when the assignment is on the "
        "construction's own block and its value does not depend on anything computed after the construction."
    ),
)
def lc009(mod: ModuleContext, index: ProjectIndex) -> Iterator[DomainIssue]:
    """Find `resource` / `location` set on a HopscotchContainer after construction."""
    facts = _facts(mod, index)
    if facts is None:
        return
    for finding in _lc009_findings(facts):
        name = finding.tracked.var
        yield mod.issue(
            "LC009",
            finding.node,
            f"Setting `{name}.{finding.attribute}` after construction skips what `HopscotchContainer` does "
            f"with it at creation (registering `Location`, running `svcs_container` hooks): pass "
            f"`{finding.attribute}=` to `{_short(facts, finding.tracked.call.node)}` instead.",
            suggestion=f"{finding.attribute}=…",
        )


def _with_keyword(call: cst.Call, keyword: str, value: cst.BaseExpression) -> cst.Call:
    args = [a for a in call.args if not (a.keyword is not None and a.keyword.value == keyword)]
    new = cst.Arg(
        value=value,
        keyword=cst.Name(keyword),
        equal=cst.AssignEqual(
            whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")
        ),
    )
    if args:
        last = args[-1]
        if not isinstance(last.comma, cst.Comma):
            args[-1] = last.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
        else:
            new = new.with_changes(comma=last.comma)
            args[-1] = last.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
    return call.with_changes(args=[*args, new])


@fixer_for("LC009")
def fix_lc009(mod: ModuleContext, index: ProjectIndex) -> cst.Module:
    """Move `container.location = value` into `HopscotchContainer(..., location=value)`."""
    facts = _facts(mod, index)
    if facts is None:
        return mod.module
    keywords: dict[cst.CSTNode, dict[str, cst.BaseExpression]] = {}
    removals: dict[cst.CSTNode, set[int]] = {}
    for finding in _lc009_findings(facts):
        site, stmt, value = finding.tracked.call, finding.stmt, finding.value
        func = site.func
        if value is None or _single_statement(stmt) is None or stmt.owner is None:
            continue
        same_block = stmt.owner is site.stmt.owner and site.context == "assign"
        in_with = (
            site.context == "with"
            and isinstance(site.with_node, cst.With)
            and (stmt.owner is site.with_node.body)
        )
        if not (same_block or in_with):
            continue
        between = {
            b.name
            for bindings in func.bindings.values()
            for b in bindings
            if b.stmt is not None and site.stmt.order <= b.stmt.order < stmt.order
        }
        var = finding.tracked.var
        if (_names_in(func, stmt) - {var}) & between or var in _value_names(value):
            continue
        keywords.setdefault(site.node, {})[finding.attribute] = value
        removals.setdefault(stmt.owner, set()).add(stmt.index)
    replace: dict[cst.CSTNode, Callable[[cst.CSTNode], cst.CSTNode]] = {}
    for node, pairs in keywords.items():

        def add(updated: cst.CSTNode, pairs: dict[str, cst.BaseExpression] = pairs) -> cst.CSTNode:
            assert isinstance(updated, cst.Call)
            for keyword, value in pairs.items():
                updated = _with_keyword(updated, keyword, value)
            return updated

        replace[node] = add
    blocks = {owner: _remove(gone) for owner, gone in removals.items()}
    return _rewrite(mod, replace=replace, blocks=blocks)


def _remove(gone: set[int]) -> Callable[[list[cst.BaseStatement]], list[cst.BaseStatement]]:
    def edit(body: list[cst.BaseStatement]) -> list[cst.BaseStatement]:
        return [statement for position, statement in enumerate(body) if position not in gone]

    return edit


def _value_names(value: cst.BaseExpression) -> set[str]:
    return {n.value for n in walk(value) if isinstance(n, cst.Name)}


# ---------------------------------------------------------------------------------------------------
# LC010: context managers passed to register_value are never entered
# ---------------------------------------------------------------------------------------------------


def _project_context_managers(index: ProjectIndex) -> set[str]:
    def compute(idx: ProjectIndex) -> set[str]:
        return {name for facts in project_facts(idx) for name in facts.context_managers}

    return index.memo("lc:context-managers", compute)


@rule(
    "LC010",
    severity="warning",
    title="A context manager passed to `register_value` is never entered: use a generator factory",
    fix="S",
    why=(
        "`register_value` stores the object as is (`enter=False` by default): a connection, session or "
        "client registered that way is never entered and never closed. A generator factory opens it per "
        "container and closes it when the container closes."
    ),
    bad="""
registry.register_value(Connection, engine.connect())
""",
    good="""
def connection():
    with engine.connect() as conn:
        yield conn

registry.register_factory(Connection, connection)
""",
    static_note=(
        "Recognises well-known context-manager constructors (`open`, `sqlite3.connect`, `httpx.Client`, "
        "`requests.Session`, `tempfile.TemporaryDirectory`…), `.connect()` / `.begin()` method calls, and "
        "the project's own `@contextmanager` functions and classes defining `__enter__`; other return types "
        "are unknown statically. `enter=True` silences it."
    ),
)
def lc010(mod: ModuleContext, index: ProjectIndex) -> Iterator[DomainIssue]:
    """Find context managers registered as plain values."""
    facts = _facts(mod, index)
    if facts is None:
        return
    project: set[str] | None = None
    for func in facts.funcs:
        for call in func.calls:
            if call.name not in {"register_value", "register_local_value"} or call.receiver is None:
                continue
            enter = call.keyword("enter")
            if isinstance(enter, cst.Name) and enter.value == "True":
                continue
            value = call.arg(1, "value")
            if not isinstance(value, cst.Call):
                continue
            names = facts.mod.qualified_names(value.func)
            callee = _last(value.func) or ""
            known = bool(names & _KNOWN_CONTEXT_MANAGERS) or (
                isinstance(value.func, cst.Attribute) and callee in _CONTEXT_MANAGER_METHODS
            )
            if not known:
                if project is None:
                    project = _project_context_managers(index)
                known = callee in project
            if not known:
                continue
            service = call.arg(0)
            key = _short(facts, service) if service is not None else "T"
            yield mod.issue(
                "LC010",
                value,
                f"`{_short(facts, value)}` is a context manager, but `{call.name}` never enters or closes "
                f"it: register a generator factory that does "
                f"`with {_short(facts, value)} as value: yield value` (`register_factory({key}, factory)`).",
            )


# ---------------------------------------------------------------------------------------------------
# LC011: ContextVar Scope consumers read inside component bodies
# ---------------------------------------------------------------------------------------------------


def _scope_providers(index: ProjectIndex) -> dict[str, set[str]]:
    def compute(idx: ProjectIndex) -> dict[str, set[str]]:
        providers: dict[str, set[str]] = {}
        for facts in project_facts(idx):
            for name, cvs in facts.scope_providers.items():
                providers.setdefault(name, set()).update(cvs)
        return providers

    return index.memo("lc:scope-providers", compute)


def _context_reads(expression: cst.CSTNode, cvs: set[str]) -> Iterator[cst.Call]:
    for found in walk(expression):
        if not isinstance(found, cst.Call) or not isinstance(found.func, cst.Attribute):
            continue
        receiver = found.func.value
        if found.func.attr.value == "get" and isinstance(receiver, cst.Name) and receiver.value in cvs:
            yield found


def _inline_reads(
    tstring: cst.TemplatedString, providers: dict[str, set[str]]
) -> Iterator[tuple[cst.Call, str]]:
    """`cv.get()` interpolated between a provider's tags, with the provider's name."""
    open_stack: list[str] = []
    in_tag: str | None = None
    pending: str | None = None
    before = ""
    for part in tstring.parts:
        if isinstance(part, cst.TemplatedStringText):
            text = part.value
            if in_tag is not None:
                end = text.find(">")
                if end < 0:
                    continue
                if in_tag == "open" and pending is not None and not text[:end].rstrip().endswith("/"):
                    open_stack.append(pending)
                in_tag, pending = None, None
                text = text[end + 1 :]
            before = text
            continue
        assert isinstance(part, cst.TemplatedStringExpression)
        expression = part.expression
        if in_tag is not None:
            continue
        name = type_key(expression) if isinstance(expression, cst.Name | cst.Attribute) else None
        if before.endswith("</"):
            if name in open_stack:
                del open_stack[len(open_stack) - 1 - open_stack[::-1].index(name)]
            in_tag, pending = "close", None
        elif before.endswith("<"):
            in_tag, pending = "open", (name if name in providers else None)
        elif open_stack:
            cvs = set().union(*(providers[p] for p in open_stack))
            for read in _context_reads(expression, cvs):
                yield read, open_stack[-1]
        before = ""


@rule(
    "LC011",
    severity="warning",
    title=(
        "ContextVar `Scope` consumers read the value inside a component body, "
        "not inline between the provider's tags"
    ),
    fix="S",
    why=(
        "A t-string evaluates its interpolations when it is created, before the provider component has "
        "activated its `Scope`. `{theme.get()}` written inline among the provider's children (or in the "
        "template bundled into `ScopedTemplate`) therefore reads the outer value; a component body runs "
        "while the scope is active."
    ),
    bad="""
t"<{ThemeProvider} value='dark'><p>{theme.get()}</p></{ThemeProvider}>"
""",
    good="""
def ThemedText() -> Template:
    return t"<p>{theme.get()}</p>"

t"<{ThemeProvider} value='dark'><{ThemedText} /></{ThemeProvider}>"
""",
    static_note=(
        "Providers are the project's components whose body builds `tdom.Scope(cv, value)`; a read is "
        "`cv.get()` on one of their ContextVars, matched by name. Also reports `ScopedTemplate(Scope(cv, …), "
        't"…{cv.get()}…")`. Providers from installed packages are not known.'
    ),
)
def lc011(mod: ModuleContext, index: ProjectIndex) -> Iterator[DomainIssue]:
    """Find ContextVar reads that run before the provider's scope is active."""
    facts = _facts(mod, index)
    if facts is None:
        return
    providers: dict[str, set[str]] | None = None
    for func in facts.funcs:
        for tstring, _ in func.tstrings:
            if providers is None:
                providers = _scope_providers(index)
            if not providers:
                break
            for read, provider in _inline_reads(tstring, providers):
                code = _short(facts, read)
                yield mod.issue(
                    "LC011",
                    read,
                    f"`{{{code}}}` between `<{{{provider}}}>` tags is evaluated when the t-string is built, "
                    f"before `{provider}` activates its scope, so it reads the outer value: read it in the "
                    f'body of a child component (`def Child() -> Template: return t"…{{{code}}}…"`).',
                )
        for call in func.calls:
            if call.name != "ScopedTemplate" or not any(n.startswith("tdom") for n in facts.resolved(call)):
                continue
            cvs = {
                key
                for a in call.node.args
                if isinstance(a.value, cst.Call)
                and _last(a.value.func) == "Scope"
                and (key := type_key(a.value.args[0].value if a.value.args else None))
            }
            for argument in call.node.args:
                if isinstance(argument.value, cst.TemplatedString):
                    for read in _context_reads(argument.value, cvs):
                        code = _short(facts, read)
                        yield mod.issue(
                            "LC011",
                            read,
                            f"`{{{code}}}` in the template given to `ScopedTemplate` is evaluated before the "
                            f"scope is active, so it reads the outer value: read it in a child component's "
                            f"body.",
                        )


# ---------------------------------------------------------------------------------------------------
# LC012: props are not used after a middleware chain halted
# ---------------------------------------------------------------------------------------------------


def _unwrap_call(node: cst.BaseExpression) -> cst.Call | None:
    if isinstance(node, cst.Await):
        node = node.expression
    return node if isinstance(node, cst.Call) else None


def _none_test(test: cst.BaseExpression) -> tuple[cst.BaseExpression, str] | None:
    """(tested expression, halted branch: "body" or "orelse") for a `None` check."""
    if isinstance(test, cst.Comparison) and len(test.comparisons) == 1:
        target = test.comparisons[0]
        if isinstance(target.comparator, cst.Name) and target.comparator.value == "None":
            if isinstance(target.operator, cst.Is | cst.Equal):
                return test.left, "body"
            if isinstance(target.operator, cst.IsNot | cst.NotEqual):
                return test.left, "orelse"
        return None
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        return test.expression, "body"
    return test, "orelse"


def _terminates(block: Sequence[cst.BaseStatement] | None, name: str) -> bool:
    """Whether a halted branch stops the flow (return/raise/continue/break/abort) or rebinds `name`."""
    if not block:
        return False
    for statement in block:
        if isinstance(statement, cst.SimpleStatementLine) and any(_stops(s, name) for s in statement.body):
            return True
        if isinstance(statement, cst.If) and statement.orelse is not None:
            branches = [_branch(statement, "body"), _branch(statement, "orelse")]
            if isinstance(statement.orelse, cst.If):
                branches[1] = [statement.orelse]
            if all(_terminates(b, name) for b in branches):
                return True
        body = statement.body if isinstance(statement, cst.With) else None
        if isinstance(body, cst.IndentedBlock) and _terminates(body.body, name):
            return True
    return False


def _stops(small: cst.BaseSmallStatement, name: str) -> bool:
    if isinstance(small, cst.Return | cst.Raise | cst.Continue | cst.Break):
        return True
    if isinstance(small, cst.Assign):
        return any(isinstance(t.target, cst.Name) and t.target.value == name for t in small.targets)
    call = small.value if isinstance(small, cst.Expr) else None
    return isinstance(call, cst.Call) and _last(call.func) in _TERMINATING_CALLS


def _branch(node: cst.If, which: str) -> Sequence[cst.BaseStatement]:
    if which == "body":
        return node.body.body if isinstance(node.body, cst.IndentedBlock) else ()
    if isinstance(node.orelse, cst.Else) and isinstance(node.orelse.body, cst.IndentedBlock):
        return node.orelse.body.body
    return ()


def _is_use(ref: Ref) -> bool:
    """Whether a reference needs the props dict (attribute, item, iteration, or passed on)."""
    if ref.role in {"receiver", "subscript", "iter"}:
        return True
    return ref.role == "arg" and (ref.star or ref.callee not in _LOG_CALLS)


@dataclass(frozen=True, kw_only=True)
class _UseAfterHalt:
    use: Ref
    name: str
    halt: cst.CSTNode
    """The `None` check (or the discarded call) that shows where the chain may halt."""
    discarded: bool = False


def _execute_call(facts: ModuleFacts, func: Func, node: cst.BaseExpression | None) -> CallSite | None:
    call = _unwrap_call(node) if node is not None else None
    if call is None:
        return None
    for site in func.calls:
        if (
            site.node is call
            and site.name in EXECUTE_FUNCTIONS
            and facts.is_di_function(site, EXECUTE_FUNCTIONS)
        ):
            return site
    return None


def _uses_between(func: Func, name: str, start: int, stop: int) -> list[Ref]:
    return sorted(
        (r for r in func.refs.get(name, []) if start < r.stmt.order <= stop and _is_use(r)),
        key=lambda r: (r.stmt.order, r.node.value),
    )


def _next_binding(func: Func, name: str, after: int) -> int:
    orders = [
        b.stmt.order for b in func.bindings.get(name, []) if b.stmt is not None and b.stmt.order > after
    ]
    return min(orders, default=10**9)


def _lc012_findings(facts: ModuleFacts) -> Iterator[_UseAfterHalt]:
    for func in _functions(facts):
        if not any(c.name in EXECUTE_FUNCTIONS for c in func.calls):
            continue
        by_node = _stmt_index(func)
        results: dict[str, int] = {}
        for name, bindings in func.bindings.items():
            for binding in bindings:
                if binding.stmt is not None and _execute_call(facts, func, binding.value) is not None:
                    results.setdefault(name, binding.stmt.order)
        for stmt in func.stmts:
            node = stmt.node
            if isinstance(node, cst.If) and (check := _none_test(node.test)) is not None:
                tested, which = check
                name: str | None = None
                if isinstance(tested, cst.NamedExpr) and isinstance(tested.target, cst.Name):
                    name = tested.target.value if _execute_call(facts, func, tested.value) else None
                elif (
                    isinstance(tested, cst.Name)
                    and tested.value in results
                    and results[tested.value] < stmt.order
                ):
                    name = tested.value
                elif (site := _execute_call(facts, func, tested)) is not None:
                    props = site.arg(1, "props")
                    name = props.value if isinstance(props, cst.Name) else None
                if name is None:
                    continue
                branch = _branch(node, which)
                if _terminates(branch, name):
                    continue
                inside = [by_node[s] for s in branch if s in by_node]
                branch_end = max((s.end for s in inside), default=stmt.order)
                branch_start = min((s.order for s in inside), default=stmt.order) - 1
                stop = _next_binding(func, name, stmt.end)
                uses = _uses_between(func, name, branch_start, branch_end) + _uses_between(
                    func, name, stmt.end, stop - 1
                )
                if uses:
                    yield _UseAfterHalt(use=uses[0], name=name, halt=node.test)
            small = _single_statement(stmt)
            if isinstance(small, cst.Expr) and (site := _execute_call(facts, func, small.value)) is not None:
                props = site.arg(1, "props")
                if isinstance(props, cst.Name):
                    stop = _next_binding(func, props.value, stmt.order)
                    uses = _uses_between(func, props.value, stmt.order, stop - 1)
                    if uses:
                        yield _UseAfterHalt(use=uses[0], name=props.value, halt=site.node, discarded=True)


@rule(
    "LC012",
    severity="warning",
    title="After a middleware chain halts (`None`), props are not used",
    fix="S",
    why=(
        "A middleware returning `None` halts the chain: `execute_middleware` returns `None` and the target "
        "must not run. Code that notices the halt but falls through (or ignores the result and keeps using "
        "the props it passed in) renders with missing or half-processed props."
    ),
    bad="""
props = execute_middleware(Page, props, container)
if props is None:
    logger.info("halted")
return render(Page, **props)
""",
    good="""
props = execute_middleware(Page, props, container)
if props is None:
    return forbidden()
return render(Page, **props)
""",
    static_note=(
        "Follows one function: a result of `execute_middleware` / `execute_target_middleware` / "
        "`execute_middleware_async` checked against `None` whose halted branch neither exits (return, raise, "
        "continue, break, `abort()`) nor gives the variable a new value, followed by uses of it; and calls "
        "whose result is discarded while the props passed in are used afterwards. Using a result with no "
        "check at all is MW010."
    ),
)
def lc012(mod: ModuleContext, index: ProjectIndex) -> Iterator[DomainIssue]:
    """Find props used after the middleware chain may have halted."""
    facts = _facts(mod, index)
    if facts is None:
        return
    for finding in _lc012_findings(facts):
        if finding.discarded:
            message = (
                f"The result of `{_short(facts, finding.halt)}` is discarded, so a halt (`None`) is ignored "
                f"and `{finding.name}` is used anyway: assign the result and return early when it is `None`."
            )
        else:
            message = (
                f"`{finding.name}` is used after the middleware chain may have halted (checked at line "
                f"{_line(facts, finding.halt)}): return or raise in the `None` branch, or give "
                f"`{finding.name}` a fallback value there."
            )
        yield mod.issue("LC012", finding.use.node, message)
