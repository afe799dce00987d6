"""tdom-svcs middleware chain rules (MW001–MW012), checked by `validate_middleware_chain`.

The facts come from `punie_lsp.domain.middleware`: one walk per module, joined project-wide through
`middleware_index` so that a class defined in one file is followed to the hookable maps, registrations,
scans and `execute_*` calls in the others. Fixers (MW002, MW003, MW005) rewrite only the nodes
involved and keep the rest of the module byte for byte.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import libcst as cst

from punie_lsp.domain.context import ModuleContext, ProjectIndex
from punie_lsp.domain.issues import DomainIssue
from punie_lsp.domain.middleware import (
    ClassRecord,
    MapEntry,
    MiddlewareIndex,
    ModuleFacts,
    call_method,
    child_nodes,
    class_fields,
    is_inject_annotation,
    iter_nodes,
    literal_value,
    middleware_context,
    own_priority,
)
from punie_lsp.domain.rules import fixer_for, rule

__all__ = ()

PRIORITY_RANGE = (-100, 100)
"""The priority range tdom-svcs's middleware spec asks for (lower runs first)."""


def _middleware(
    mod: ModuleContext, index: ProjectIndex
) -> tuple[MiddlewareIndex, ModuleFacts, list[ClassRecord]]:
    project, facts = middleware_context(mod, index)
    records = [r for r in project.in_module(mod) if not r.is_protocol]
    return project, facts, records


def _where(record: ClassRecord) -> str:
    line = record.facts.mod.location(record.node.name)[0]
    return f"{record.facts.mod.relative}:{line}"


# --- MW001 ----------------------------------------------------------------------------------------


def _call_params(method: cst.FunctionDef) -> tuple[list[cst.Param], bool, list[cst.Param]]:
    """`(positional parameters after self, takes *args, required keyword-only parameters)`."""
    params = method.params
    positional = [*params.posonly_params, *params.params]
    static = any(
        isinstance(d.decorator, cst.Name) and d.decorator.value == "staticmethod" for d in method.decorators
    )
    if not static:
        positional = positional[1:]
    varargs = isinstance(params.star_arg, cst.Param)
    required_kw = [p for p in params.kwonly_params if p.default is None]
    return positional, varargs, required_kw


@rule(
    "MW001",
    severity="error",
    title="`__call__(self, target, props, context)`: exactly three parameters after `self`",
    fix="S",
    why=(
        "The runners call every middleware as `mw(target, props, context)`. A `__call__` that takes fewer "
        "positional parameters, requires more, or requires keyword-only ones raises `TypeError` the first "
        "time the chain runs; a middleware class without `__call__` is not callable at all."
    ),
    bad="""
@middleware
@dataclass
class Logging:
    priority: int = -10

    def __call__(self, props):
        return props
""",
    good="""
@middleware
@dataclass
class Logging:
    priority: int = -10

    def __call__(self, target, props, context):
        return props
""",
)
def check_call_signature(mod: ModuleContext, index: ProjectIndex) -> Iterator[DomainIssue]:
    """`__call__` of every middleware class accepts `(target, props, context)` positionally."""
    project, _, records = _middleware(mod, index)
    for record in records:
        method = call_method(record.node)
        if method is None:
            inherited, unknown = project.call(record)
            if inherited is None and not unknown:
                yield mod.issue(
                    "MW001",
                    record.node.name,
                    f"Middleware `{record.name}` defines no `__call__`: the chain calls it as "
                    "`mw(target, props, context)`; add "
                    "`def __call__(self, target, props, context): ...` returning the props.",
                    suggestion="def __call__(self, target, props, context):\n    return props",
                )
            continue
        positional, varargs, required_kw = _call_params(method)
        required = [p for p in positional if p.default is None]
        if (len(positional) >= 3 or varargs) and len(required) <= 3 and not required_kw:
            continue
        names = ", ".join(p.name.value for p in [*positional, *required_kw]) or "nothing"
        yield mod.issue(
            "MW001",
            method.name,
            f"`{record.name}.__call__` takes {names} after `self`, but the chain calls "
            "`mw(target, props, context)`: declare exactly three parameters, "
            "`def __call__(self, target, props, context)`.",
            suggestion="def __call__(self, target, props, context):",
        )


# --- MW002 ----------------------------------------------------------------------------------------


def _is_int_annotation(mod: ModuleContext, annotation: cst.BaseExpression | None) -> bool | None:
    """True for `int`, False for another builtin scalar (`str`, `float`...), None when undecidable."""
    if annotation is None:
        return None
    if isinstance(annotation, cst.Subscript):  # ClassVar[int], Final[int]
        inner = annotation.slice[0].slice if annotation.slice else None
        return _is_int_annotation(mod, inner.value) if isinstance(inner, cst.Index) else None
    names = mod.qualified_names(annotation)
    if "builtins.int" in names:
        return True
    if names & {"builtins.str", "builtins.float", "builtins.bool", "builtins.bytes", "builtins.complex"}:
        return False
    return None


@rule(
    "MW002",
    severity="error",
    title="Middleware defines an int `priority` (field with a default), within −100…100",
    fix="A",
    why=(
        "The runners sort the chain with `mw.priority` (lower runs first): a class without it raises "
        "`AttributeError`, a `priority: int` field without a default makes `container.inject` fail to "
        "build the instance, and a string or float priority breaks or scrambles the ordering. tdom-svcs's "
        "middleware spec keeps priorities within −100…100 (for example logging −10, validation 0, "
        "transforms 10)."
    ),
    bad="""
@middleware
@dataclass
class Validation:
    def __call__(self, target, props, context):
        return props
""",
    good="""
@middleware
@dataclass
class Validation:
    priority: int = 0

    def __call__(self, target, props, context):
        return props
""",
    static_note=(
        "A priority computed at run time (a property, an `__init__` assignment, a named constant) is "
        "accepted unchecked; a class inheriting from a base outside the project is assumed to get its "
        "priority there. The fix adds `priority: int = 0` or a missing `= 0`; out-of-range and non-int "
        "values are left to you."
    ),
)
def check_priority(mod: ModuleContext, index: ProjectIndex) -> Iterator[DomainIssue]:
    """Every middleware class has an int `priority` with a default, within −100…100."""
    project, _, records = _middleware(mod, index)
    low, high = PRIORITY_RANGE
    for record in records:
        info = own_priority(record.node)
        if info is None:
            inherited, unknown = project.priority(record)
            if inherited is None and not unknown:
                yield mod.issue(
                    "MW002",
                    record.node.name,
                    f"Middleware `{record.name}` defines no `priority`: the chain sorts by `mw.priority` "
                    "and raises `AttributeError`; add `priority: int = 0` (−100…100, lower runs first).",
                    suggestion="priority: int = 0",
                )
            continue
        if info.dynamic:
            continue
        if info.value is None:
            yield mod.issue(
                "MW002",
                info.target,
                f"`{record.name}.priority` has no default: `container.inject` cannot build the middleware; "
                "give it one, `priority: int = 0`.",
                suggestion="priority: int = 0",
            )
            continue
        value = literal_value(info.value)
        text = mod.code(info.value)
        if value is ... or (isinstance(value, int) and not isinstance(value, bool)):
            if _is_int_annotation(mod, info.annotation) is False:
                yield mod.issue(
                    "MW002",
                    info.annotation or info.target,
                    f"`{record.name}.priority` is annotated `{mod.code(info.annotation or info.target)}`: "
                    "priorities are ints that sort the chain; annotate it `int`.",
                    suggestion=f"priority: int = {text}",
                )
            elif isinstance(value, int) and not low <= value <= high:
                yield mod.issue(
                    "MW002",
                    info.value,
                    f"`{record.name}.priority = {text}` is outside {low}…{high}: keep priorities in the "
                    "spec's range (lower runs first), for example -10 for logging, 0 for validation, 10 "
                    "for transforms.",
                    suggestion=f"priority: int = {max(low, min(high, value))}",
                )
            continue
        yield mod.issue(
            "MW002",
            info.value,
            f"`{record.name}.priority = {text}` is not an int: the chain sorts by `mw.priority`, so use an "
            f"int within {low}…{high}.",
            suggestion="priority: int = 0",
        )


def _priority_statement() -> cst.SimpleStatementLine:
    return cst.SimpleStatementLine(
        body=[
            cst.AnnAssign(
                target=cst.Name("priority"),
                annotation=cst.Annotation(annotation=cst.Name("int")),
                value=cst.Integer("0"),
            )
        ]
    )


def _is_field_line(statement: cst.CSTNode) -> bool:
    return isinstance(statement, cst.SimpleStatementLine) and any(
        isinstance(s, cst.AnnAssign | cst.Assign) for s in statement.body
    )


def _is_docstring(statement: cst.CSTNode) -> bool:
    return (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], cst.Expr)
        and isinstance(statement.body[0].value, cst.SimpleString | cst.ConcatenatedString)
    )


def _insert(
    body: list[cst.BaseStatement], position: int, statement: cst.BaseStatement
) -> list[cst.BaseStatement]:
    """Insert `statement`, keeping a blank line before a following `def`/`class` that had none."""
    if position < len(body):
        follower = body[position]
        if isinstance(follower, cst.FunctionDef | cst.ClassDef) and not follower.leading_lines:
            body[position] = follower.with_changes(leading_lines=[cst.EmptyLine(indent=False)])
    body.insert(position, statement)
    return body


def _fixed_priority_body(record: ClassRecord, project: MiddlewareIndex) -> list[cst.BaseStatement] | None:
    """The class body with its priority fixed, or None when there is nothing this fix can do."""
    block = record.node.body
    if not isinstance(block, cst.IndentedBlock):
        return None
    body = list(block.body)
    info = own_priority(record.node)
    if info is None:
        inherited, unknown = project.priority(record)
        if inherited is not None or unknown:
            return None
        fields = [i for i, s in enumerate(body) if _is_field_line(s)]
        position = fields[-1] + 1 if fields else (1 if body and _is_docstring(body[0]) else 0)
        return _insert(body, position, _priority_statement())
    if info.dynamic or info.value is not None or not isinstance(info.statement, cst.SimpleStatementLine):
        return None
    if len(info.statement.body) != 1 or not isinstance(info.statement.body[0], cst.AnnAssign):
        return None
    position = body.index(info.statement)
    later = [
        f for f in class_fields(record) if f.statement is not None and body.index(f.statement) > position
    ]
    if record.is_dataclass and not record.kw_only and any(not f.has_default for f in later):
        # A default before required fields would break the dataclass: move priority after the last field.
        del body[position]
        fields = [i for i, s in enumerate(body) if _is_field_line(s)]
        return _insert(body, fields[-1] + 1 if fields else position, _priority_statement())
    annassign = info.statement.body[0]
    body[position] = info.statement.with_changes(body=[annassign.with_changes(value=cst.Integer("0"))])
    return body


class _ClassBodies(cst.CSTTransformer):
    """Replace the bodies of the given (original) class definitions."""

    def __init__(self, bodies: dict[cst.ClassDef, list[cst.BaseStatement]]) -> None:
        super().__init__()
        self.bodies = bodies

    def leave_ClassDef(self, original_node: cst.ClassDef, updated_node: cst.ClassDef) -> cst.ClassDef:
        body = self.bodies.get(original_node)
        if body is None or not isinstance(updated_node.body, cst.IndentedBlock):
            return updated_node
        return updated_node.with_changes(body=updated_node.body.with_changes(body=body))


@fixer_for("MW002")
def fix_priority(mod: ModuleContext, index: ProjectIndex) -> cst.Module:
    """Add `priority: int = 0` where it is missing, or the missing `= 0` default."""
    project, _, records = _middleware(mod, index)
    bodies: dict[cst.ClassDef, list[cst.BaseStatement]] = {}
    for record in records:
        body = _fixed_priority_body(record, project)
        if body is not None:
            bodies[record.node] = body
    return mod.module.visit(_ClassBodies(bodies)) if bodies else mod.module


# --- MW003 ----------------------------------------------------------------------------------------


def _exits(statements: Sequence[cst.CSTNode]) -> bool:
    return any(_statement_exits(s) for s in statements)


def _block_exits(block: cst.BaseSuite) -> bool:
    return _exits(block.body)


def _breaks(statements: Sequence[cst.CSTNode]) -> bool:
    """Whether a `break` of this loop level appears (nested loops' bodies and nested scopes skipped)."""
    pending = list(statements)
    while pending:
        node = pending.pop()
        if isinstance(node, cst.Break):
            return True
        if isinstance(node, cst.For | cst.While):
            if node.orelse is not None:  # a `break` in a nested loop's `else` leaves this loop
                pending.append(node.orelse)
            continue
        if isinstance(node, cst.ClassDef | cst.FunctionDef | cst.Lambda):
            continue
        pending.extend(child_nodes(node))
    return False


def _statement_exits(node: cst.CSTNode) -> bool:
    """Whether control never continues past `node` (it returns or raises on every path)."""
    match node:
        case cst.Return() | cst.Raise():
            return True
        case cst.SimpleStatementLine():
            return any(isinstance(s, cst.Return | cst.Raise) for s in node.body)
        case cst.If():
            if not _block_exits(node.body) or node.orelse is None:
                return False
            if isinstance(node.orelse, cst.If):
                return _statement_exits(node.orelse)
            return _block_exits(node.orelse.body)
        case cst.Try() | cst.TryStar():
            if node.finalbody is not None and _block_exits(node.finalbody.body):
                return True
            main = _block_exits(node.body) or (node.orelse is not None and _block_exits(node.orelse.body))
            return main and all(_block_exits(h.body) for h in node.handlers)
        case cst.With():
            return _block_exits(node.body)
        case cst.While():
            return literal_value(node.test) is True and not _breaks(node.body.body)
        case cst.Match():
            wildcard = any(
                isinstance(case.pattern, cst.MatchAs) and case.pattern.pattern is None and case.guard is None
                for case in node.cases
            )
            return wildcard and all(_block_exits(case.body) for case in node.cases)
    return False


def _returns(method: cst.FunctionDef) -> list[cst.Return]:
    """The `return` statements of `method` itself (nested functions, lambdas and classes skipped)."""
    return [node for node, _ in iter_nodes(method.body, enter_scopes=False) if isinstance(node, cst.Return)]


_NOT_PROPS = (
    cst.SimpleString,
    cst.ConcatenatedString,
    cst.FormattedString,
    cst.TemplatedString,
    cst.Integer,
    cst.Float,
    cst.Imaginary,
    cst.List,
    cst.Tuple,
    cst.Set,
    cst.ListComp,
    cst.SetComp,
    cst.GeneratorExp,
)


def _not_props(value: cst.BaseExpression) -> bool:
    return isinstance(value, _NOT_PROPS) or (isinstance(value, cst.Name) and value.value in {"True", "False"})


def _props_name(method: cst.FunctionDef) -> str | None:
    positional, _, _ = _call_params(method)
    names = [p.name.value for p in positional]
    if "props" in names:
        return "props"
    return names[1] if len(names) >= 2 else None


def _is_abstract(method: cst.FunctionDef) -> bool:
    return any(_spelled(d.decorator).endswith("abstractmethod") for d in method.decorators)


def _spelled(node: cst.BaseExpression) -> str:
    if isinstance(node, cst.Name):
        return node.value
    return node.attr.value if isinstance(node, cst.Attribute) else ""


def _falls_off(method: cst.FunctionDef) -> bool:
    return not _block_exits(method.body)


@rule(
    "MW003",
    severity="error",
    title=(
        "Every path returns `props` (or a new dict) or an explicit `None`; falling off the end halts "
        "the chain silently"
    ),
    fix="A",
    why=(
        "The runners treat a `None` result as *halt*: every later middleware is skipped and the caller "
        "gets `None`. A `__call__` that mutates `props` and forgets `return props`, or uses a bare "
        "`return` to mean *skip me*, stops the whole chain without a trace. Returning anything but a "
        "dict (a string, a bool, a list) passes garbage on as the next middleware's props."
    ),
    bad="""
@middleware
@dataclass
class Stamp:
    priority: int = 10

    def __call__(self, target, props, context):
        props["stamped"] = True
""",
    good="""
@middleware
@dataclass
class Stamp:
    priority: int = 10

    def __call__(self, target, props, context):
        props["stamped"] = True
        return props
""",
    static_note=(
        "Control flow is followed through if/elif/else, try/except/finally, with, match and `while "
        "True`; a call that never returns (`sys.exit()`, a helper that always raises) is not recognised. "
        "The fix appends `return props` where the body falls off its end; bare `return`s and non-dict "
        "returns are left to you because only you know whether halting was meant."
    ),
)
def check_returns(mod: ModuleContext, index: ProjectIndex) -> Iterator[DomainIssue]:
    """Middleware `__call__` bodies return props or an explicit `None` on every path."""
    _, _, records = _middleware(mod, index)
    for record in records:
        method = call_method(record.node)
        if method is None or _is_abstract(method):
            continue
        props = _props_name(method) or "props"
        if _falls_off(method):
            yield mod.issue(
                "MW003",
                method.name,
                f"`{record.name}.__call__` can reach its end without `return`: the implicit `None` halts "
                f"the chain for every later middleware; end it with `return {props}` (or `return None` "
                "where halting is meant).",
                suggestion=f"return {props}",
            )
        for node in _returns(method):
            if node.value is None:
                yield mod.issue(
                    "MW003",
                    node,
                    f"Bare `return` in `{record.name}.__call__` returns `None`, which halts the whole "
                    f"chain: write `return {props}` to pass the props on, or `return None` to halt on "
                    "purpose.",
                    suggestion=f"return {props}",
                )
            elif _not_props(node.value):
                yield mod.issue(
                    "MW003",
                    node,
                    f"`{record.name}.__call__` returns `{mod.code(node.value)}`, which becomes the next "
                    f"middleware's props: return the props dict (`return {props}`) or `None` to halt.",
                    suggestion=f"return {props}",
                )


class _AppendReturn(cst.CSTTransformer):
    """Append `return <props>` to the given (original) `__call__` definitions."""

    def __init__(self, methods: dict[cst.FunctionDef, str]) -> None:
        super().__init__()
        self.methods = methods

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.FunctionDef:
        name = self.methods.get(original_node)
        if name is None:
            return updated_node
        body = updated_node.body
        if isinstance(body, cst.IndentedBlock):
            statement = cst.SimpleStatementLine(body=[cst.Return(value=cst.Name(name))])
            return updated_node.with_changes(body=body.with_changes(body=[*body.body, statement]))
        small = list(body.body)
        small[-1] = small[-1].with_changes(
            semicolon=cst.Semicolon(whitespace_after=cst.SimpleWhitespace(" "))
        )
        small.append(cst.Return(value=cst.Name(name)))
        return updated_node.with_changes(body=body.with_changes(body=small))


@fixer_for("MW003")
def fix_returns(mod: ModuleContext, index: ProjectIndex) -> cst.Module:
    """Append `return props` to middleware `__call__` bodies that fall off their end."""
    _, _, records = _middleware(mod, index)
    methods: dict[cst.FunctionDef, str] = {}
    for record in records:
        method = call_method(record.node)
        if method is None or _is_abstract(method):
            continue
        if _falls_off(method) and (name := _props_name(method)) is not None:
            methods[method] = name
    return mod.module.visit(_AppendReturn(methods)) if methods else mod.module


# --- MW004 ----------------------------------------------------------------------------------------


@rule(
    "MW004",
    severity="error",
    title="`async def __call__` middleware runs only through `execute_middleware_async`",
    fix="S",
    why=(
        "`execute_middleware` raises `RuntimeError` as soon as it meets a middleware whose `__call__` is "
        "a coroutine function, and `execute_target_middleware` does not await at all: the un-awaited "
        "coroutine is passed on as the props. Async middleware must be global and run with "
        "`await execute_middleware_async(...)`; hookable (per-target) middleware must stay sync."
    ),
    bad="""
@middleware
@dataclass
class AuditLog:
    priority: int = -10

    async def __call__(self, target, props, context):
        await audit(props)
        return props

result = execute_middleware(Page, props, container)
""",
    good="""
result = await execute_middleware_async(Page, props, container)
""",
    static_note=(
        "Global middleware is followed across the project (decorated or registered classes) and assumed to "
        "share one registry, so a sync runner anywhere meets every async global class; middleware whose "
        "class lives outside the project is not seen."
    ),
)
def check_async_runner(mod: ModuleContext, index: ProjectIndex) -> Iterator[DomainIssue]:
    """Sync runners never meet async middleware."""
    project, facts, _ = _middleware(mod, index)
    async_globals = [
        r for key, r in project.middleware.items() if key in project.global_keys and project.is_async(r)
    ]
    if async_globals:
        names = ", ".join(f"`{r.name}` ({_where(r)})" for r in async_globals)
        for call in facts.executes:
            if call.kind == "sync":
                yield mod.issue(
                    "MW004",
                    call.node,
                    f"`execute_middleware` raises `RuntimeError` on async middleware, and {names} "
                    "has `async def __call__`: call `await execute_middleware_async(...)` from an "
                    "`async def` instead.",
                    suggestion="await execute_middleware_async(target, props, container)",
                )
    for hookable in facts.maps:
        for entry in hookable.entries:
            record = project.resolve(entry.ref)
            if record is not None and project.is_async(record):
                yield mod.issue(
                    "MW004",
                    entry.node,
                    f"`{record.name}` has `async def __call__`, but `{entry.target}`'s hookable map runs "
                    "through `execute_target_middleware`, which does not await it (the coroutine becomes "
                    "the props): make its `__call__` sync, or make it global middleware run with "
                    "`await execute_middleware_async(...)`.",
                )


# --- MW005 ----------------------------------------------------------------------------------------


def _module_binds(facts: ModuleFacts, name: str) -> bool:
    return name in facts.imports or any(c.top_level and c.name == name for c in facts.classes)


def _entry_fix(entry: MapEntry, project: MiddlewareIndex) -> cst.BaseExpression | None:
    """The class expression an entry should be, when the fix is certain."""
    node = entry.node
    if entry.kind == "instance" and isinstance(node, cst.Call) and not node.args:
        return node.func if project.resolve(entry.ref) is not None else None
    if entry.kind == "string":
        text = literal_value(node)
        if isinstance(text, str) and text.isidentifier() and _module_binds(entry.facts, text):
            return cst.Name(text)
        return None
    if entry.kind == "class" and entry.bare:
        return node
    return None


def _is_bad_entry(entry: MapEntry, project: MiddlewareIndex) -> bool:
    match entry.kind:
        case "string" | "instance_var":
            return True
        case "instance":
            return project.resolve(entry.ref) is not None
        case _:
            return entry.bare and project.resolve(entry.ref) is not None


@rule(
    "MW005",
    severity="error",
    title="`@hookable(middleware=…)` maps phase names to lists of classes, not instances or strings",
    fix="A",
    why=(
        "`execute_target_middleware` looks the phase up in the map and calls `container.inject(mw_type)` "
        "for each item, so the map must be `dict[str, list[type]]`: an instance or a class name in a "
        "string cannot be injected, a class not wrapped in a list is iterated like a list, and a bare "
        "list instead of a dict has no phases at all."
    ),
    bad="""
@hookable(middleware={"rendering": [AriaChecker()]})
@dataclass
class Image:
    def __call__(self) -> Template:
        return t"<img src='a.png'>"
""",
    good="""
@hookable(middleware={"rendering": [AriaChecker]})
@dataclass
class Image:
    def __call__(self) -> Template:
        return t"<img src='a.png'>"
""",
    static_note=(
        "Instances are recognised when the called class is defined in the project; a map built at run "
        'time is not checked. The fix turns `Cls()` into `Cls`, `"Cls"` into `Cls` when that name is '
        'bound in the module, wraps a lone class in a list and a lone list in `{"before": [...]}`.'
    ),
)
def check_hookable_map(mod: ModuleContext, index: ProjectIndex) -> Iterator[DomainIssue]:
    """Hookable maps have the shape `{"phase": [Cls, ...]}`."""
    project, facts, _ = _middleware(mod, index)
    for hookable in facts.maps:
        if hookable.shape == "sequence":
            yield mod.issue(
                "MW005",
                hookable.node,
                f"`middleware=` of `{hookable.target}` is a list, not a map of phases: write "
                f'`{{"before": {mod.code(hookable.node)}}}` (or the phase you execute).',
                suggestion=f'{{"before": {mod.code(hookable.node)}}}',
            )
        for key in hookable.phases:
            value = literal_value(key.node)
            if key.node is not None and key.name is None and value is not ... and not isinstance(value, str):
                yield mod.issue(
                    "MW005",
                    key.node,
                    f"Hookable phase key `{mod.code(key.node)}` of `{hookable.target}` is not a string: "
                    'phases are names such as `"before"` or `"rendering"`.',
                )
        for entry in hookable.entries:
            if not _is_bad_entry(entry, project):
                continue
            text = mod.code(entry.node)
            fixed = _entry_fix(entry, project)
            cls = mod.code(fixed) if fixed is not None else None
            match entry.kind:
                case "instance":
                    what = f"`{text}` is an instance"
                case "instance_var":
                    what = f"`{text}` holds an instance"
                case "string":
                    what = f"`{text}` is a string"
                case _:
                    what = f"`{text}` is not in a list"
            better = f"`[{cls}]`" if entry.bare and cls else f"`{cls}`" if cls else "the class itself"
            yield mod.issue(
                "MW005",
                entry.node,
                f"{what} in the `{entry.phase or '?'}` phase of `{entry.target}`'s hookable map: "
                f"`container.inject` needs a list of middleware classes; write {better}.",
                suggestion=f"[{cls}]" if entry.bare and cls else cls,
            )


class _Replace(cst.CSTTransformer):
    """Replace (original) nodes by new ones."""

    def __init__(self, replacements: dict[cst.CSTNode, cst.CSTNode]) -> None:
        super().__init__()
        self.replacements = replacements

    def on_leave(
        self, original_node: cst.CSTNode, updated_node: cst.CSTNode
    ) -> cst.CSTNode | cst.RemovalSentinel | cst.FlattenSentinel[cst.CSTNode]:
        return self.replacements.get(original_node, updated_node)


@fixer_for("MW005")
def fix_hookable_map(mod: ModuleContext, index: ProjectIndex) -> cst.Module:
    """Rewrite hookable map items into classes in lists, and lone lists into `{"before": [...]}`."""
    project, facts, _ = _middleware(mod, index)
    replacements: dict[cst.CSTNode, cst.CSTNode] = {}
    for hookable in facts.maps:
        if hookable.shape == "sequence" and isinstance(hookable.node, cst.List | cst.Tuple):
            value = hookable.node if isinstance(hookable.node, cst.List) else cst.List(hookable.node.elements)
            replacements[hookable.node] = cst.Dict(
                [cst.DictElement(key=cst.SimpleString('"before"'), value=value)]
            )
            continue
        for entry in hookable.entries:
            if not _is_bad_entry(entry, project):
                continue
            fixed = _entry_fix(entry, project)
            if fixed is None:
                continue
            replacements[entry.node] = cst.List([cst.Element(fixed)]) if entry.bare else fixed
    return mod.module.visit(_Replace(replacements)) if replacements else mod.module


# --- MW006 ----------------------------------------------------------------------------------------


@rule(
    "MW006",
    severity="warning",
    title='Hookable phase names match phases the app executes (default phase `"before"`)',
    fix="S",
    why=(
        "Phase names are free strings: `execute_target_middleware(target, props, container, phase=...)` "
        'runs only the classes listed under that exact key (`"before"` when no phase is given). A key '
        "that no call executes, often a typo or a phase renamed on one side, means its middleware never "
        "runs and nothing reports it."
    ),
    bad="""
@hookable(middleware={"pre_resolution": [Auth]})
class SecurePage: ...

execute_target_middleware(SecurePage, props, container)  # runs "before" only
""",
    good="""
@hookable(middleware={"pre_resolution": [Auth]})
class SecurePage: ...

execute_target_middleware(SecurePage, props, container, phase="pre_resolution")
""",
    static_note=(
        "Executed phases are collected from every `execute_target_middleware` call in the project; when "
        "one passes a phase that is not a literal (or a module-level string constant) the rule stays "
        "silent, since any phase might run. A project that never sets a registry up (a component library "
        "whose applications run the phases) is not checked."
    ),
)
def check_phases(mod: ModuleContext, index: ProjectIndex) -> Iterator[DomainIssue]:
    """Every phase of a hookable map is executed somewhere in the project."""
    project, facts, _ = _middleware(mod, index)
    if project.phases_dynamic or not project.has_setup:
        return
    executed = ", ".join(f"`{p!r}`" for p in sorted(project.executed_phases))
    for hookable in facts.maps:
        for key in hookable.phases:
            phase = key.name
            if phase is None or key.node is None or phase in project.executed_phases:
                continue
            if executed:
                why = f"the project calls `execute_target_middleware` only with phase {executed}"
            else:
                why = "the project never calls `execute_target_middleware`"
            yield mod.issue(
                "MW006",
                key.node,
                f"Phase `{phase!r}` of `{hookable.target}`'s hookable map never runs: {why}. Rename the "
                f"key, or run it with `execute_target_middleware({hookable.target}, props, container, "
                f"phase={phase!r})`.",
                suggestion=f"execute_target_middleware({hookable.target}, props, container, phase={phase!r})",
            )


# --- MW007 ----------------------------------------------------------------------------------------


@rule(
    "MW007",
    severity="warning",
    title="A class is not both global `@middleware` and in a hookable map (it would run twice)",
    fix="S",
    why=(
        "Global middleware runs for every target through `execute_middleware`; a hookable map adds it "
        "again for one target through `execute_target_middleware`. A class in both places runs twice "
        "for that target (double logging, double transformations). Per-target middleware is usually a "
        "plain `@injectable` class."
    ),
    bad="""
@middleware
@dataclass
class Aria:
    priority: int = 10
    def __call__(self, target, props, context):
        return props

@hookable(middleware={"rendering": [Aria]})
class Image: ...
""",
    good="""
@injectable
@dataclass
class Aria:
    priority: int = 10
    def __call__(self, target, props, context):
        return props

@hookable(middleware={"rendering": [Aria]})
class Image: ...
""",
)
def check_double_registration(mod: ModuleContext, index: ProjectIndex) -> Iterator[DomainIssue]:
    """No hookable map lists a global middleware class."""
    project, facts, _ = _middleware(mod, index)
    for hookable in facts.maps:
        for entry in hookable.entries:
            record = project.resolve(entry.ref)
            if record is None or record.key not in project.global_keys:
                continue
            how = "decorated with `@middleware`" if record.decorated_global else "registered globally"
            yield mod.issue(
                "MW007",
                entry.node,
                f"`{record.name}` is {how} ({_where(record)}) and also listed in `{hookable.target}`'s "
                "hookable map, so it runs twice for that target: keep it global, or drop `@middleware` / "
                "`register_middleware` and keep it per target (`@injectable`).",
            )


# --- MW008 ----------------------------------------------------------------------------------------


@rule(
    "MW008",
    severity="error",
    title="Middleware fields other than `Inject[…]` have defaults",
    fix="S",
    why=(
        "The runners build every middleware with `container.inject(cls)`, which supplies only the "
        "`Inject[...]` fields (and the defaults). Any other field without a default is a required "
        "constructor argument nobody passes: `TypeError` the first time the chain runs."
    ),
    bad="""
@middleware
@dataclass
class RateLimit:
    threshold: int
    priority: int = 0
""",
    good="""
@middleware
@dataclass
class RateLimit:
    settings: Inject[Settings]
    threshold: int = 100
    priority: int = 0
""",
    static_note=(
        "Fields are read from dataclass-style classes (dataclasses, attrs, pydantic dataclasses) and "
        "from the class's own `__init__`; inherited fields are not followed."
    ),
)
def check_field_defaults(mod: ModuleContext, index: ProjectIndex) -> Iterator[DomainIssue]:
    """Non-`Inject` middleware fields have defaults."""
    _, facts, records = _middleware(mod, index)
    for record in records:
        for item in class_fields(record):
            if item.has_default or is_inject_annotation(facts, item.annotation):
                continue
            if item.name == "priority" and item.statement is not None:
                continue  # MW002 reports a priority field without default
            annotation = mod.code(item.annotation) if item.annotation is not None else "T"
            yield mod.issue(
                "MW008",
                item.node,
                f"`{record.name}.{item.name}` has no default and is not `Inject[...]`: `container.inject` "
                f"cannot supply it; give it a default (`{item.name}: {annotation} = ...`) or inject it "
                f"(`{item.name}: Inject[{annotation}]`).",
            )


# --- MW009 ----------------------------------------------------------------------------------------


@rule(
    "MW009",
    severity="warning",
    title="Modules defining middleware are scanned or registered with `register_middleware`",
    fix="S",
    why=(
        "`@middleware` only marks a class; it joins the global chain when `scan(registry, ...)` imports "
        "its module (or a module that imports it) or when `register_middleware(registry, Cls)` names it. "
        "A class that is never reached is silently missing from every chain."
    ),
    bad="""
# app/middleware.py
@middleware
@dataclass
class Logging: ...

# app/main.py
scan(registry, "app.components")
""",
    good="""
# app/main.py
scan(registry, "app.components", "app.middleware")
""",
    static_note=(
        "Reported only when the project sets a registry up (a scan, a registry, a `register_middleware` "
        "or an `execute_*` call): a library defining middleware for others to scan stays quiet. A scan "
        "whose arguments are not literal module names or imported modules turns the rule off."
    ),
)
def check_registration(mod: ModuleContext, index: ProjectIndex) -> Iterator[DomainIssue]:
    """Global middleware classes are reached by a scan or a `register_middleware` call."""
    project, _, records = _middleware(mod, index)
    if not project.has_setup or project.scan_dynamic:
        return
    for record in records:
        if record.key in project.registered_keys:
            continue
        if record.decorated_global:
            if record.key in project.scanned_keys:
                continue
            yield mod.issue(
                "MW009",
                record.node.name,
                f"`{record.name}` is decorated with `@middleware`, but no `scan()` reaches "
                f"`{record.facts.dotted}` and no `register_middleware` names it: it never joins the "
                f'chain. Add `scan(registry, "{record.facts.dotted}")` at start-up, or '
                f"`register_middleware(registry, {record.name})`.",
                suggestion=f'scan(registry, "{record.facts.dotted}")',
            )
        elif record.protocol_subclass and record.key not in project.mapped:
            yield mod.issue(
                "MW009",
                record.node.name,
                f"`{record.name}` implements `Middleware` but is neither registered nor in a hookable "
                f"map: call `register_middleware(registry, {record.name})` at start-up, or decorate it "
                "with `@middleware` and scan its module.",
                suggestion=f"register_middleware(registry, {record.name})",
            )


# --- MW010 ----------------------------------------------------------------------------------------


@rule(
    "MW010",
    severity="warning",
    title="Callers handle a `None` result before using props",
    fix="S",
    why=(
        "`execute_middleware`, `execute_middleware_async` and `execute_target_middleware` return `None` "
        "when a middleware halts the chain. Subscripting, unpacking, iterating or calling a method on "
        "the result straight away turns every halt into a `TypeError` / `AttributeError`."
    ),
    bad="""
title = execute_middleware(Page, props, container)["title"]
""",
    good="""
if (result := execute_middleware(Page, props, container)) is None:
    return forbidden()
title = result["title"]
""",
    static_note=(
        "Covers the result used on the spot (subscript, attribute, `*`/`**` unpacking, iteration, `in`). "
        "A result stored in a variable and used later without a check is the lifecycle rule LC012."
    ),
)
def check_none_result(mod: ModuleContext, index: ProjectIndex) -> Iterator[DomainIssue]:
    """Results of `execute_*` calls are not used before a `None` check."""
    _, facts, _ = _middleware(mod, index)
    for node, runner in facts.immediate_uses:
        yield mod.issue(
            "MW010",
            node,
            f"`{runner}(...)` returns `None` when a middleware halts the chain, and this result is used "
            f"at once: bind it and check first, `if (props := {runner}(...)) is None: ...`.",
            suggestion=f"if (props := {runner}(...)) is None:\n    ...",
        )


# --- MW011 ----------------------------------------------------------------------------------------


@rule(
    "MW011",
    severity="info",
    title="`@middleware` defined but `execute_middleware*` never called: it never runs",
    fix="S",
    why=(
        "Rendering with `html(...)` does not run middleware: global middleware runs only where the "
        "application calls `execute_middleware(target, props, container)` or "
        "`execute_middleware_async(...)`. Without such a call the class is dead code."
    ),
    bad="""
@middleware
@dataclass
class Logging: ...

html(t"<{Page} />", container=container)
""",
    good="""
if (props := execute_middleware(Page, props, container)) is not None:
    html(t"<{Page} title={props['title']} />", container=container)
""",
    static_note="A library whose applications call the runners elsewhere gets this note too.",
)
def check_never_executed(mod: ModuleContext, index: ProjectIndex) -> Iterator[DomainIssue]:
    """Global middleware exists only if some `execute_middleware*` call runs it."""
    project, _, records = _middleware(mod, index)
    if project.executes_global:
        return
    for record in records:
        if record.key in project.global_keys:
            yield mod.issue(
                "MW011",
                record.node.name,
                f"`{record.name}` is global middleware, but the project never calls "
                "`execute_middleware` or `execute_middleware_async`, and rendering does not run it: call "
                "`execute_middleware(target, props, container)` where props are prepared, or remove it.",
            )


# --- MW012 ----------------------------------------------------------------------------------------


def _category_problem(facts: ModuleFacts, node: cst.BaseExpression) -> str | None:
    """Why a `categories=` value is not a list/tuple of string literals (None when fine or unknown)."""
    if literal_value(node) is None:
        return None
    if isinstance(node, cst.List | cst.Tuple):
        for element in node.elements:
            if not isinstance(element, cst.Element):
                continue
            value = element.value
            if isinstance(value, cst.SimpleString | cst.ConcatenatedString | cst.FormattedString):
                continue
            if isinstance(value, cst.Name | cst.Attribute | cst.Call | cst.Subscript):
                continue  # a constant or a computed string: cannot tell
            return f"`{facts.mod.code(value)}` is not a string"
        return None
    if isinstance(node, cst.SimpleString | cst.ConcatenatedString | cst.FormattedString):
        return "a single string is not a list of categories"
    if isinstance(node, cst.Set | cst.Dict | cst.Integer | cst.Float | cst.TemplatedString):
        return f"`{facts.mod.code(node)}` is not a list or tuple"
    return None


@rule(
    "MW012",
    severity="info",
    title="`categories=`, when given, is a list/tuple of string literals",
    fix="S",
    why=(
        "Categories tag middleware and hookable targets for `registry.get_by_category(...)`. They are "
        "optional; when given they are a list or tuple of plain strings. A bare string, a set or "
        "non-string items make the category queries miss."
    ),
    bad="""
@middleware(categories="security")
""",
    good="""
@middleware(categories=["security"])
""",
    static_note="Names and calls inside the list are assumed to be strings.",
)
def check_categories(mod: ModuleContext, index: ProjectIndex) -> Iterator[DomainIssue]:
    """`categories=` arguments are lists or tuples of strings."""
    _, facts, _ = _middleware(mod, index)
    for node in facts.categories:
        problem = _category_problem(facts, node)
        if problem is None:
            continue
        text = mod.code(node)
        suggestion = f"[{text}]" if isinstance(node, cst.SimpleString) else None
        example = suggestion or '["security"]'
        yield mod.issue(
            "MW012",
            node,
            f"`categories={text}`: {problem}; pass a list of string literals, for example "
            f"`categories={example}`.",
            suggestion=suggestion,
        )
