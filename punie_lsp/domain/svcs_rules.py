"""svcs / svcs-di / Hopscotch registration rules (SVC001–SVC015), for `validate_service_registration`.

Every rule reads the facts `punie_lsp.domain.services` extracts once per module (registrations, scans,
container look-ups, `Inject[...]` uses, imports) and, for cross-file questions, once per project
(`project_services`: which types are registered, which factories are async, which modules `scan()`
covers). Fixers rewrite only the nodes those facts point at and leave every other byte alone.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator
from typing import Any

import libcst as cst

from punie_lsp.domain.context import ModuleContext, ProjectIndex
from punie_lsp.domain.issues import DomainIssue
from punie_lsp.domain.metadata import visit_fast
from punie_lsp.domain.rules import fixer_for, rule
from punie_lsp.domain.services import (
    DI_ROOTS,
    HOPSCOTCH_ROOTS,
    InjectableSite,
    ModuleServices,
    ProjectServices,
    RegistrationSite,
    ResolveSite,
    all_params,
    builtin_service,
    dotted,
    is_generator,
    module_name,
    module_services,
    project_services,
    simple_name,
    type_kind,
)

__all__ = ()

# -- shared helpers ------------------------------------------------------------------------------------


def _facts(mod: ModuleContext, index: ProjectIndex) -> ModuleServices:
    return module_services(mod, index)


def _project(index: ProjectIndex) -> ProjectServices:
    return project_services(index)


_STRINGS = (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString, cst.TemplatedString)
_LITERALS = (*_STRINGS, cst.Integer, cst.Float, cst.Imaginary, cst.Dict, cst.List, cst.Set, cst.Tuple)


_Replacements = dict[cst.CSTNode, cst.CSTNode | Callable[[cst.CSTNode], cst.CSTNode]]
"""Original node → its replacement, or a function of the updated node."""


class _Replace(cst.CSTTransformer):
    """Replace nodes by identity with prepared nodes (or with a function of the updated node)."""

    def __init__(self, replacements: _Replacements) -> None:
        super().__init__()
        self.replacements = replacements

    def on_leave(self, original_node: cst.CSTNode, updated_node: cst.CSTNode) -> Any:
        replacement = self.replacements.get(original_node)
        if replacement is None:
            return updated_node
        return replacement(updated_node) if callable(replacement) else replacement


def _apply(module: cst.Module, replacements: _Replacements) -> cst.Module:
    if not replacements:
        return module
    return module.visit(_Replace(replacements))


def _imported_as(module: cst.Module, sources: str | tuple[str, ...], name: str) -> str | None:
    """The local name `from <source> import name` is bound to at module level, if it is imported."""
    if isinstance(sources, str):
        sources = (sources,)
    for statement in module.body:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if (
                isinstance(small, cst.ImportFrom)
                and small.module is not None
                and not small.relative
                and dotted(small.module) in sources
                and not isinstance(small.names, cst.ImportStar)
            ):
                for alias in small.names:
                    if dotted(alias.name) == name:
                        if alias.asname is None:
                            return name
                        if isinstance(alias.asname.name, cst.Name):
                            return alias.asname.name.value
    return None


def _ensure_import(
    module: cst.Module,
    source: str,
    name: str,
    *,
    taken: set[str] | None = None,
    asname: str | None = None,
    first_party: frozenset[str] = frozenset(),
) -> tuple[cst.Module, str]:
    """Make `name` from `source` available at module level; return the module and the local name to use.

    An existing `from source import name` is reused, an existing `from source import ...` gets the name
    added in sorted position, and otherwise a new `from source import name` line goes where isort would
    put it (by section: stdlib, third party, first party `first_party`; then alphabetically). When `name`
    is already bound to something else (`taken`), it is imported as `<package>_<name>` (or `asname`).
    """
    if (local := _imported_as(module, source, name)) is not None and local == (asname or local):
        return module, local
    local = name
    alias = None
    if asname is not None or (taken and name in taken):
        local = asname or f"{source.split('.')[0]}_{name}"
        alias = cst.AsName(name=cst.Name(local))
    new_alias = cst.ImportAlias(name=cst.Name(name), asname=alias)
    merged = _merge_import(module, source, new_alias)
    if merged is not None:
        return merged, local
    module_expr = cst.parse_expression(source)
    assert isinstance(module_expr, (cst.Name, cst.Attribute))
    statement = cst.SimpleStatementLine(body=[cst.ImportFrom(module=module_expr, names=[new_alias])])
    key = (_section(source, relative=False, first_party=first_party), 1, source.lower())
    return _insert_import(module, statement, key, first_party), local


def _section(source: str, *, relative: bool, first_party: frozenset[str]) -> int:
    """isort's section of an import: future, stdlib, third party, first party, local folder."""
    if relative:
        return 4
    root = source.split(".")[0]
    if root == "__future__":
        return 0
    if root in first_party:
        return 3
    return 1 if root in sys.stdlib_module_names else 2


def _import_key(statement: cst.BaseStatement, first_party: frozenset[str]) -> tuple[int, int, str] | None:
    """(section, straight 0 / from 1, module) of a one-import statement; None for anything else."""
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return None
    small = statement.body[0]
    if isinstance(small, cst.Import):
        source = dotted(small.names[0].name)
        return _section(source, relative=False, first_party=first_party), 0, source.lower()
    if isinstance(small, cst.ImportFrom):
        source = dotted(small.module) if small.module is not None else ""
        return _section(source, relative=bool(small.relative), first_party=first_party), 1, source.lower()
    return None


def _insert_import(
    module: cst.Module,
    statement: cst.SimpleStatementLine,
    key: tuple[int, int, str],
    first_party: frozenset[str],
) -> cst.Module:
    body = list(module.body)
    start = 1 if body and _is_docstring(body[0]) else 0
    entries: list[tuple[int, tuple[int, int, str]]] = []
    for position in range(start, len(body)):
        existing = body[position]
        if not (
            isinstance(existing, cst.SimpleStatementLine)
            and all(isinstance(small, (cst.Import, cst.ImportFrom)) for small in existing.body)
        ):
            break
        if (found := _import_key(existing, first_party)) is not None:
            entries.append((position, found))
    if not entries:
        if start == 1:
            statement = statement.with_changes(leading_lines=[cst.EmptyLine()])
        if len(body) > start and not body[start].leading_lines:
            body[start] = body[start].with_changes(leading_lines=[cst.EmptyLine()])
        body.insert(start, statement)
        return module.with_changes(body=body)
    same = [(p, k) for p, k in entries if k[0] == key[0]]
    if same:  # join the section, in alphabetical position
        earlier = [p for p, k in same if k <= key]
        at = max(earlier) + 1 if earlier else same[0][0]
        if not earlier:
            statement = statement.with_changes(leading_lines=body[at].leading_lines)
            body[at] = body[at].with_changes(leading_lines=[])
    else:  # open a new section between the existing ones
        earlier = [p for p, k in entries if k[0] < key[0]]
        at = max(earlier) + 1 if earlier else entries[0][0]
        if earlier:
            statement = statement.with_changes(leading_lines=[cst.EmptyLine()])
        else:
            statement = statement.with_changes(leading_lines=body[at].leading_lines)
            body[at] = body[at].with_changes(leading_lines=[cst.EmptyLine()])
    body.insert(at, statement)
    return module.with_changes(body=body)


def _name_key(alias: cst.ImportAlias) -> tuple[int, str, str]:
    """ruff's `order-by-type` key: CONSTANTS, then Classes, then functions, each alphabetically."""
    name = dotted(alias.name)
    rank = 0 if name.isupper() and len(name) > 1 else 1 if name[:1].isupper() else 2
    return rank, name.lower(), name


def _merge_import(module: cst.Module, source: str, alias: cst.ImportAlias) -> cst.Module | None:
    """Add `alias` to the first top-level `from source import ...` (sorted); None when there is none."""
    for statement in module.body:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if (
                isinstance(small, cst.ImportFrom)
                and small.module is not None
                and not small.relative
                and dotted(small.module) == source
                and not isinstance(small.names, cst.ImportStar)
            ):
                return _apply(
                    module, {small: small.with_changes(names=_with_alias(list(small.names), alias))}
                )
    return None


def _with_alias(names: list[cst.ImportAlias], alias: cst.ImportAlias) -> list[cst.ImportAlias]:
    keys = [_name_key(n) for n in names]
    at = len(names)
    if keys == sorted(keys):
        at = next((i for i, k in enumerate(keys) if k > _name_key(alias)), len(names))
    middle = next((n.comma for n in names[:-1] if isinstance(n.comma, cst.Comma)), None)
    if at < len(names) and (middle is not None or not isinstance(names[-1].comma, cst.Comma)):
        comma = middle or cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
        return [*names[:at], alias.with_changes(comma=comma), *names[at:]]
    last = names[-1]
    if isinstance(last.comma, cst.Comma):  # trailing comma: keep the layout
        return [*names, alias.with_changes(comma=last.comma)]
    return [
        *names[:-1],
        last.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))),
        alias,
    ]


def _first_party(index: ProjectIndex) -> frozenset[str]:
    """Top-level package and module names of the project (isort's first-party section)."""
    return frozenset(module_name(relative).split(".")[0] for relative in index.modules)


def _is_docstring(statement: cst.CSTNode) -> bool:
    return (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], cst.Expr)
        and isinstance(statement.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    )


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _call_with_method(call: cst.Call, method: str) -> cst.Call:
    assert isinstance(call.func, cst.Attribute)
    return call.with_changes(func=call.func.with_changes(attr=cst.Name(method)))


def _keyword(call: cst.Call, name: str) -> cst.Arg | None:
    return next((a for a in call.args if a.keyword is not None and a.keyword.value == name), None)


def _required_positional(params: cst.Parameters) -> tuple[int, int, bool]:
    """(required positional, all positional, takes *args)."""
    positional = [*params.posonly_params, *params.params]
    required = sum(1 for p in positional if p.default is None)
    return required, len(positional), isinstance(params.star_arg, cst.Param)


# -- SVC001 --------------------------------------------------------------------------------------------


def _svc001_sites(mod: ModuleContext, index: ProjectIndex) -> Iterator[RegistrationSite]:
    project = _project(index)
    for site in _facts(mod, index).registrations:
        node = site.provider_node
        if site.provider != "factory" or not isinstance(node, (cst.Name, cst.Attribute)):
            continue
        if site.receiver == "hopscotch_registry":
            continue
        info = project.classes.get(site.provider_qualified or "")
        if info is not None and info.injects:
            yield site


@rule(
    "SVC001",
    severity="error",
    title="A class with `Inject[]` fields registered as its own factory on a plain registry is wrapped in "
    "`auto()`",
    fix="A",
    why="svcs calls a factory with no arguments (or only the container). A class whose fields are "
    "`Inject[...]` markers registered directly is called as `Users()` and fails with a `TypeError` for the "
    "missing fields. `svcs_di.auto(Users)` builds a factory that resolves each `Inject[T]` from the "
    "container first.",
    bad="""
@dataclass
class Users:
    db: Inject[Database]

registry.register_factory(Users, Users)
""",
    good="""
from svcs_di import auto

registry.register_factory(Users, auto(Users))
""",
    static_note="Checks factories that name a class of this project; a `HopscotchRegistry` is exempt.",
)
def svc001(mod: ModuleContext, index: ProjectIndex) -> Iterator[DomainIssue]:
    """Classes with `Inject[...]` fields registered as their own factory without `auto()`."""
    for site in _svc001_sites(mod, index):
        assert site.provider_node is not None
        name = mod.code(site.provider_node)
        yield mod.issue(
            "SVC001",
            site.provider_node,
            f"`{name}` has `Inject[...]` fields, but svcs calls `{name}()` with no arguments: register "
            f"`auto({name})` (from `svcs_di`) so the fields are resolved from the container.",
            suggestion=f"auto({name})",
        )


@fixer_for("SVC001")
def fix_svc001(mod: ModuleContext, index: ProjectIndex) -> cst.Module:
    """Wrap the factory in `auto(...)` and import `auto` from `svcs_di`."""
    sites = list(_svc001_sites(mod, index))
    if not sites:
        return mod.module
    facts = _facts(mod, index)
    local = _imported_as(mod.module, ("svcs_di", "svcs_di.auto"), "auto")
    name = local or ("svcs_di_auto" if "auto" in facts.bound else "auto")
    replacements: _Replacements = {}
    for site in sites:
        assert site.provider_node is not None
        replacements[site.provider_node] = _wrap_auto(name)
    module = _apply(mod.module, replacements)
    if local is None:
        module, _ = _ensure_import(
            module, "svcs_di", "auto", taken=facts.bound, first_party=_first_party(index)
        )
    return module


def _wrap_auto(local: str) -> Callable[[cst.CSTNode], cst.CSTNode]:
    def wrap(node: cst.CSTNode) -> cst.CSTNode:
        assert isinstance(node, cst.BaseExpression)
        return cst.Call(func=cst.Name(local), args=[cst.Arg(value=node)])

    return wrap


# -- SVC002 --------------------------------------------------------------------------------------------


def _svc002_sites(mod: ModuleContext, index: ProjectIndex) -> Iterator[tuple[RegistrationSite, str]]:
    """(site, the method it should use)."""
    project = _project(index)
    facts = _facts(mod, index)
    for site in facts.registrations:
        node = site.provider_node
        provider = site.provider
        if provider == "factory":
            instance = isinstance(node, _LITERALS) or (
                isinstance(node, cst.Name) and node.value in {"True", "False", "None"}
            )
            if isinstance(node, cst.Call) and isinstance(node.func, (cst.Name, cst.Attribute)):
                info = project.classes.get(facts.one(node.func) or "")
                instance = info is not None and not info.callable
            if instance:
                yield site, "register_local_value" if site.local else "register_value"
        elif provider == "value" and isinstance(node, (cst.Name, cst.Attribute)):
            if not isinstance(site.key, (cst.Name, cst.Attribute)):
                continue
            target = site.provider_qualified
            if target is not None and (target in project.classes or target == site.service_qualified):
                yield site, "register_local_factory" if site.local else "register_factory"


@rule(
    "SVC002",
    severity="error",
    title="Instances go to `register_value`, factories to `register_factory` (not swapped)",
    fix="A",
    why="`register_factory` stores a callable that the container calls on first `get`; an instance there "
    "fails with `TypeError: ... object is not callable`. `register_value` returns the object as is, so a "
    "class registered as a value makes `get(Db)` return the class itself instead of an instance.",
    bad="""
registry.register_factory(Config, Config())
registry.register_value(Database, Database)
""",
    good="""
registry.register_value(Config, Config())
registry.register_factory(Database, Database)
""",
    static_note="Instances are recognised when they are literals or calls of project classes without "
    "`__call__`; classes when they are project classes or the key itself.",
)
def svc002(mod: ModuleContext, index: ProjectIndex) -> Iterator[DomainIssue]:
    """Instances registered as factories and classes registered as values."""
    for site, method in _svc002_sites(mod, index):
        assert site.provider_node is not None
        value = mod.code(site.provider_node)
        if "value" in method:
            message = (
                f"`{value}` is an instance, not a factory: svcs would call it on the first `get()` and fail. "
                f"Register a ready-made object with `{method}`."
            )
        else:
            message = (
                f"`{value}` is a class registered as a value, so `get()` returns the class itself instead of "
                f"an instance: register it with `{method}` so the container instantiates it."
            )
        yield mod.issue("SVC002", site.method or site.call, message, suggestion=method)


@fixer_for("SVC002")
def fix_svc002(mod: ModuleContext, index: ProjectIndex) -> cst.Module:
    """Swap `register_factory` ↔ `register_value` (and their `register_local_*` twins)."""
    replacements: _Replacements = {}
    for site, method in _svc002_sites(mod, index):
        if site.method is not None:
            replacements[site.method] = cst.Name(method)
    return _apply(mod.module, replacements)


# -- SVC003 --------------------------------------------------------------------------------------------


def _svc003_sites(
    mod: ModuleContext, index: ProjectIndex
) -> Iterator[tuple[cst.BaseExpression, str, str | None]]:
    """(key node, kind "string" | "alias", fix detail: the class name or the alias's absolute name)."""
    project = _project(index)
    facts = _facts(mod, index)
    keys: list[cst.BaseExpression] = [s.key for s in facts.registrations if s.key is not None]
    keys += [t for r in facts.resolves if r.typed for t in r.types]
    for key in keys:
        if isinstance(key, _STRINGS):
            text = key.evaluated_value if isinstance(key, cst.SimpleString) else None
            fixed = text if isinstance(text, str) and text in facts.classes else None
            yield key, "string", fixed
        elif isinstance(key, (cst.Name, cst.Attribute)):
            target = facts.one(key)
            if target is not None and target in project.aliases:
                yield key, "alias", target


@rule(
    "SVC003",
    severity="warning",
    title="Service keys are classes, NewType, Annotated or Protocols: not strings, not `type X = …` aliases",
    fix="A",
    why="svcs looks services up by the key object. A string key is invisible to type checkers and to "
    "`Inject[...]`, and svcs documents PEP 695 `type` aliases as unsupported keys: `Inject[Conn]` and "
    "`get(Conn)` stop matching the registration. `NewType` gives a distinct, typed key.",
    bad="""
type Conn = Connection
registry.register_factory(Conn, connect)
registry.register_value("settings", settings)
""",
    good="""
Conn = NewType("Conn", Connection)
registry.register_factory(Conn, connect)
registry.register_value(Settings, settings)
""",
    static_note="Aliases defined in another module are reported but only rewritten where they are defined "
    "in the same module; a string key is replaced only when it names a class of the module.",
)
def svc003(mod: ModuleContext, index: ProjectIndex) -> Iterator[DomainIssue]:
    """String keys and PEP 695 alias keys in registrations and typed container look-ups."""
    for key, kind, detail in _svc003_sites(mod, index):
        text = mod.code(key)
        if kind == "string":
            hint = f"`{detail}`" if detail else "a class, `NewType` or `Annotated[...]` type"
            yield mod.issue(
                "SVC003",
                key,
                f"String service key {text}: svcs keys are types, so `Inject[...]` and type checkers can "
                f"match them; use {hint} instead.",
                suggestion=detail,
            )
        else:
            yield mod.issue(
                "SVC003",
                key,
                f"`{text}` is a PEP 695 `type` alias, which svcs does not support as a key: define it as "
                f'`{simple_name(text)} = NewType("{simple_name(text)}", ...)` instead.',
            )


@fixer_for("SVC003")
def fix_svc003(mod: ModuleContext, index: ProjectIndex) -> cst.Module:
    """Replace a string key naming a module class with the class; turn same-module aliases into NewType."""
    facts = _facts(mod, index)
    replacements: _Replacements = {}
    needed: set[str] = set()
    for key, kind, detail in _svc003_sites(mod, index):
        if kind == "string" and detail:
            replacements[key] = cst.Name(detail)
        elif kind == "alias" and detail is not None:
            alias = facts.aliases.get(simple_name(detail))
            if alias is None or f"{facts.name}.{alias.name.value}" != detail or alias.type_parameters:
                continue
            if alias in replacements:
                continue
            replacements[alias], helper = _distinct_key(alias)
            needed.add(helper)
    module = _apply(mod.module, replacements)
    for helper in sorted(needed):
        module, _ = _ensure_import(module, "typing", helper, first_party=_first_party(index))
    return module


def _distinct_key(alias: cst.TypeAlias) -> tuple[cst.Assign, str]:
    """`type X = C` → `X = NewType("X", C)`; a subscripted value → `X = Annotated[value, "X"]`."""
    name = alias.name.value
    label = cst.SimpleString(f'"{name}"')
    if isinstance(alias.value, (cst.Name, cst.Attribute)):
        value: cst.BaseExpression = cst.Call(
            func=cst.Name("NewType"), args=[cst.Arg(label), cst.Arg(alias.value)]
        )
        helper = "NewType"
    else:
        value = cst.Subscript(
            value=cst.Name("Annotated"),
            slice=[
                cst.SubscriptElement(
                    slice=cst.Index(alias.value),
                    comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")),
                ),
                cst.SubscriptElement(slice=cst.Index(label)),
            ],
        )
        helper = "Annotated"
    return cst.Assign(targets=[cst.AssignTarget(target=cst.Name(name))], value=value), helper


# -- SVC004 --------------------------------------------------------------------------------------------

_CONTAINER_METHODS = frozenset(
    {
        "get",
        "aget",
        "inject",
        "ainject",
        "get_abstract",
        "aget_abstract",
        "register_local_value",
        "register_local_factory",
    }
)


def _uses_as_container(function: cst.FunctionDef | cst.Lambda, name: str) -> bool:
    found = False

    class _Uses(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            nonlocal found
            func = node.func
            if (
                isinstance(func, cst.Attribute)
                and isinstance(func.value, cst.Name)
                and func.value.value == name
                and func.attr.value in _CONTAINER_METHODS
            ):
                found = True

    visit_fast(function.body, _Uses())
    return found


def _svc004_sites(
    mod: ModuleContext, index: ProjectIndex
) -> Iterator[tuple[cst.FunctionDef | cst.Lambda, cst.Param]]:
    project = _project(index)
    facts = _facts(mod, index)
    candidates: list[cst.FunctionDef | cst.Lambda] = []
    for name, function in facts.functions.items():
        qualified = f"{facts.name}.{name}" if facts.name else name
        if qualified in project.factories:
            candidates.append(function)
    for site in facts.registrations:
        if site.provider == "factory" and isinstance(site.provider_node, cst.Lambda):
            candidates.append(site.provider_node)
    for function in candidates:
        positional = [*function.params.posonly_params, *function.params.params]
        if not positional or positional[0].default is not None:
            continue
        first = positional[0]
        name = first.name.value
        if name == "svcs_container":
            continue
        annotation = first.annotation.annotation if first.annotation is not None else None
        kinds = facts.names(annotation) if annotation is not None else set()
        if "svcs.Container" in kinds:
            continue
        if isinstance(annotation, cst.SimpleString) and annotation.evaluated_value in {
            "svcs.Container",
            "Container",
        }:
            continue
        container_like = (
            "container" in name.lower()
            or any(type_kind(k) == "container" for k in kinds)
            or _uses_as_container(function, name)
        )
        if container_like:
            yield function, first


@rule(
    "SVC004",
    severity="error",
    title="A factory that needs the container names its first parameter `svcs_container` or annotates "
    "`svcs.Container`",
    fix="A",
    why="svcs passes the container to a factory only when its first parameter is named `svcs_container` or "
    "annotated exactly `svcs.Container` (not a subclass such as `HopscotchContainer`); otherwise it calls "
    "the factory with no arguments and it fails with a `TypeError`.",
    bad="""
def make_users(container):
    return Users(container.get(Database))
""",
    good="""
def make_users(svcs_container):
    return Users(svcs_container.get(Database))
""",
    static_note="Reported for functions of this project registered as factories (anywhere in the project) "
    "and for lambda factories, when the first parameter looks like a container (its name, annotation, or "
    "`.get(...)` calls on it).",
)
def svc004(mod: ModuleContext, index: ProjectIndex) -> Iterator[DomainIssue]:
    """Factories whose container parameter svcs will not fill."""
    for function, param in _svc004_sites(mod, index):
        label = function.name.value if isinstance(function, cst.FunctionDef) else "lambda"
        yield mod.issue(
            "SVC004",
            param,
            f"svcs passes the container only to a first parameter named `svcs_container` (or annotated "
            f"`svcs.Container`); `{label}` would be called with no arguments. Rename `{param.name.value}` "
            f"to `svcs_container`.",
            suggestion="svcs_container",
        )


@fixer_for("SVC004")
def fix_svc004(mod: ModuleContext, index: ProjectIndex) -> cst.Module:
    """Rename the container parameter (and its uses) to `svcs_container`."""
    replacements: _Replacements = {}
    for _, param in _svc004_sites(mod, index):
        old = param.name.value
        scope = mod.scopes.get(param)
        if scope is None or "svcs_container" in scope:
            continue
        replacements[param.name] = cst.Name("svcs_container")
        for assignment in scope.assignments[old]:
            for access in assignment.references:
                if isinstance(access.node, cst.Name):
                    replacements[access.node] = cst.Name("svcs_container")
    return _apply(mod.module, replacements)


# -- SVC005 --------------------------------------------------------------------------------------------


def _svc005_sites(mod: ModuleContext, index: ProjectIndex) -> Iterator[tuple[ResolveSite, str]]:
    project = _project(index)
    facts = _facts(mod, index)
    for site in facts.resolves:
        if site.method.value not in {"get", "get_abstract"}:
            continue
        for arg in site.types:
            if not isinstance(arg, (cst.Name, cst.Attribute)):
                continue
            target = facts.one(arg)
            is_async = (
                target in project.async_types
                if target is not None
                else simple_name(dotted(arg)) in project.async_simple
            )
            if is_async:
                yield site, mod.code(arg)
                break


@rule(
    "SVC005",
    severity="error",
    title="Services with async factories are resolved with `aget`/`ainject` inside `async def`",
    fix="A",
    why="A container refuses to run an async factory from the synchronous `get()`: it raises "
    "`TypeError: Use aget() for async factories.` The service must be awaited with `aget()` (or "
    "`ainject()` on a Hopscotch container) from an `async def`.",
    bad="""
async def make_db() -> Database: ...
registry.register_factory(Database, make_db)

async def handler(container):
    db = container.get(Database)
""",
    good="""
async def handler(container):
    db = await container.aget(Database)
""",
    static_note="Knows a factory is async when it is an `async def` of the project or `auto_async(...)`; "
    "fixed automatically only inside an `async def`.",
)
def svc005(mod: ModuleContext, index: ProjectIndex) -> Iterator[DomainIssue]:
    """Sync `get()` of services whose factory is async."""
    for site, name in _svc005_sites(mod, index):
        call = site.call
        in_async = site.function is not None and site.function.asynchronous is not None
        where = "" if in_async else " (make the enclosing function `async def`)"
        method = "aget" if site.method.value == "get" else "aget_abstract"
        assert isinstance(call.func, cst.Attribute)
        receiver = mod.code(call.func.value)
        yield mod.issue(
            "SVC005",
            call,
            f"`{name}` has an async factory, so `{receiver}.{site.method.value}(...)` raises `TypeError`: "
            f"use "
            f"`await {receiver}.{method}({name})`{where}.",
            suggestion=f"await {receiver}.{method}(...)",
        )


@fixer_for("SVC005")
def fix_svc005(mod: ModuleContext, index: ProjectIndex) -> cst.Module:
    """Inside `async def`: `c.get(T)` → `await c.aget(T)` (parenthesised where needed)."""
    replacements: _Replacements = {}
    parents = None
    for site, _ in _svc005_sites(mod, index):
        function = site.function
        if function is None or function.asynchronous is None:
            continue
        call = site.call
        method = "aget" if site.method.value == "get" else "aget_abstract"
        if site.awaited:
            replacements[call] = _renamer(method)
            continue
        if parents is None:
            parents = mod.parents
        parent = parents.get(call)
        needs_parens = (
            (isinstance(parent, cst.Attribute) and parent.value is call)
            or (isinstance(parent, cst.Subscript) and parent.value is call)
            or (isinstance(parent, cst.Call) and parent.func is call)
            or (isinstance(parent, cst.BinaryOperation) and isinstance(parent.operator, cst.Power))
        )
        replacements[call] = _awaiter(method, needs_parens)
    return _apply(mod.module, replacements)


def _renamer(method: str) -> Callable[[cst.CSTNode], cst.CSTNode]:
    def rename(node: cst.CSTNode) -> cst.CSTNode:
        assert isinstance(node, cst.Call)
        return _call_with_method(node, method)

    return rename


def _awaiter(method: str, parens: bool) -> Callable[[cst.CSTNode], cst.CSTNode]:
    def wrap(node: cst.CSTNode) -> cst.CSTNode:
        assert isinstance(node, cst.Call)
        renamed = _call_with_method(node, method).with_changes(lpar=[], rpar=[])
        awaited = cst.Await(expression=renamed, lpar=node.lpar, rpar=node.rpar)
        if parens and not node.lpar:
            awaited = awaited.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
        return awaited

    return wrap


# -- SVC006 --------------------------------------------------------------------------------------------


def _svc006_sites(
    mod: ModuleContext, index: ProjectIndex
) -> Iterator[tuple[cst.CSTNode, RegistrationSite, cst.FunctionDef | cst.Lambda, int]]:
    """(where to report, a registration using it, the callable's definition here, required positional).

    A lambda or a function of this module is reported at `ping=`; a function of this module used as
    `ping=` by another module is reported at its definition, so the fix always edits this module.
    """
    project = _project(index)
    facts = _facts(mod, index)
    seen: set[int] = set()
    for site in facts.registrations:
        arg = site.keywords.get("ping")
        if arg is None:
            continue
        value = arg.value
        if isinstance(value, cst.Lambda):
            definition: cst.FunctionDef | cst.Lambda = value
        elif (
            isinstance(value, cst.Name)
            and value.value in facts.functions
            and facts.one(value) in project.pings
        ):
            definition = facts.functions[value.value]
        else:
            continue
        required, total, star = _required_positional(definition.params)
        if not (required <= 1 and (total >= 1 or star)):
            seen.add(id(definition))
            yield value, site, definition, required
    for name, function in facts.functions.items():
        qualified = f"{facts.name}.{name}" if facts.name else name
        users = [s for s in project.pings.get(qualified, []) if s.file != mod.relative]
        if not users or id(function) in seen:
            continue
        required, total, star = _required_positional(function.params)
        if not (required <= 1 and (total >= 1 or star)):
            yield function.name, users[0], function, required


@rule(
    "SVC006",
    severity="error",
    title="A `ping=` callable takes exactly one argument (the service)",
    fix="A",
    why="`container.get_pings()` wraps each `ping=` callable and its health check calls it with the "
    "service instance: `ping(service)`. A callable with no parameter (or with more than one required) "
    "fails with a `TypeError` exactly when the health check runs.",
    bad="""
registry.register_factory(Database, make_db, ping=lambda: True)
""",
    good="""
registry.register_factory(Database, make_db, ping=lambda database: database.execute("SELECT 1"))
""",
    static_note="Checks lambdas and functions of the project; a parameter is added automatically only "
    "when the callable has none.",
)
def svc006(mod: ModuleContext, index: ProjectIndex) -> Iterator[DomainIssue]:
    """`ping=` callables that do not take exactly one argument."""
    for node, site, definition, required in _svc006_sites(mod, index):
        text = f"`{definition.name.value}`" if isinstance(definition, cst.FunctionDef) else "the lambda"
        count = "no parameter" if required == 0 else f"{required} required parameters"
        used = "" if site.file == mod.relative else f" (used as `ping=` in `{site.file}`)"
        yield mod.issue(
            "SVC006",
            node,
            f"`ping=` is called with the service as its only argument, but {text}{used} takes {count}: "
            f"accept exactly one (the `{site.service_type}` instance).",
        )


@fixer_for("SVC006")
def fix_svc006(mod: ModuleContext, index: ProjectIndex) -> cst.Module:
    """Give a parameterless `ping=` callable one parameter named after the service."""
    replacements: _Replacements = {}
    for _, site, definition, required in _svc006_sites(mod, index):
        if required != 0 or definition in replacements:
            continue
        if definition.params.posonly_params or definition.params.params:
            continue
        replacements[definition] = _add_param(_param_name(site, definition))
    return _apply(mod.module, replacements)


def _param_name(site: RegistrationSite, definition: cst.FunctionDef | cst.Lambda) -> str:
    candidate = _snake(simple_name(site.service_type)) if site.service_qualified else "service"
    if not candidate.isidentifier():
        candidate = "service"
    used = {n.value for n in _names_in(definition.body)}
    for name in (candidate, "service", "svc"):
        if name not in used:
            return name
    return "_service"


def _names_in(node: cst.CSTNode) -> Iterator[cst.Name]:
    found: list[cst.Name] = []

    class _Names(cst.CSTVisitor):
        def visit_Name(self, node: cst.Name) -> None:
            found.append(node)

    visit_fast(node, _Names())
    return iter(found)


def _add_param(name: str) -> Callable[[cst.CSTNode], cst.CSTNode]:
    def add(node: cst.CSTNode) -> cst.CSTNode:
        assert isinstance(node, (cst.FunctionDef, cst.Lambda))
        params = node.params.with_changes(params=[cst.Param(name=cst.Name(name))])
        if isinstance(node, cst.Lambda):
            return node.with_changes(params=params, whitespace_after_lambda=cst.SimpleWhitespace(" "))
        return node.with_changes(params=params)

    return add


# -- SVC007 --------------------------------------------------------------------------------------------

_RESOURCE_CALLS = frozenset(
    {
        "connect",
        "open",
        "Session",
        "ClientSession",
        "Client",
        "AsyncClient",
        "socket",
        "create_connection",
        "cursor",
        "urlopen",
        "TemporaryFile",
        "NamedTemporaryFile",
        "TemporaryDirectory",
        "begin",
    }
)
_NEVER_CLOSES = frozenset({"sqlite3.connect"})
"""Calls whose context manager does not close the resource (sqlite3 only commits or rolls back)."""


def _returns(function: cst.FunctionDef) -> Iterator[tuple[cst.Return, list[cst.With]]]:
    """Every `return` of the function body, with the `with` blocks around it."""
    found: list[tuple[cst.Return, list[cst.With]]] = []

    class _Returns(cst.CSTVisitor):
        def __init__(self) -> None:
            super().__init__()
            self.withs: list[cst.With] = []

        def visit_With(self, node: cst.With) -> None:
            self.withs.append(node)

        def leave_With(self, original_node: cst.With) -> None:
            self.withs.pop()

        def visit_Return(self, node: cst.Return) -> None:
            found.append((node, list(self.withs)))

        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            return False

        def visit_Lambda(self, node: cst.Lambda) -> bool:
            return False

        def visit_ClassDef(self, node: cst.ClassDef) -> bool:
            return False

    visit_fast(function.body, _Returns())
    return iter(found)


def _svc007_sites(mod: ModuleContext, index: ProjectIndex) -> Iterator[tuple[cst.CSTNode, str]]:
    project = _project(index)
    facts = _facts(mod, index)
    for name, function in facts.functions.items():
        qualified = f"{facts.name}.{name}" if facts.name else name
        sites = project.factories.get(qualified)
        if not sites or is_generator(function):
            continue
        enter_false = any(
            (arg := s.keywords.get("enter")) is not None
            and isinstance(arg.value, cst.Name)
            and arg.value.value == "False"
            for s in sites
        )
        for statement, withs in _returns(function):
            value = statement.value
            if value is None:
                continue
            bound = {
                item.asname.name.value
                for w in withs
                for item in w.items
                if item.asname is not None and isinstance(item.asname.name, cst.Name)
            }
            if isinstance(value, cst.Name) and value.value in bound:
                yield (
                    statement,
                    (
                        f"`{name}` returns `{value.value}` from inside its `with` block, so the resource is "
                        f"closed before the service is used: `yield {value.value}` instead (a generator "
                        f"factory "
                        f"is cleaned up when the container closes)."
                    ),
                )
                continue
            if isinstance(value, cst.Call) and isinstance(value.func, (cst.Name, cst.Attribute)):
                callee = facts.names(value.func)
                last = simple_name(dotted(value.func)) if dotted(value.func) else ""
                if callee & _NEVER_CLOSES:
                    yield (
                        statement,
                        (
                            f"`{name}` returns a `sqlite3` connection, whose context manager never closes "
                            f"it: make the factory a generator (`conn = sqlite3.connect(...)`, `yield conn`, "
                            f"then "
                            f"`conn.close()` in `finally`)."
                        ),
                    )
                elif enter_false and last in _RESOURCE_CALLS:
                    yield (
                        statement,
                        (
                            f"`{name}` opens a resource (`{mod.code(value.func)}(...)`) but is registered "
                            f"with `enter=False`, so nothing closes it: yield it from a generator factory, "
                            f"or drop `enter=False` so svcs enters and exits the context manager."
                        ),
                    )


@rule(
    "SVC007",
    severity="warning",
    title="A factory that owns a resource cleans it up (generator with `yield`, or context manager with "
    "`enter=True`)",
    fix="S",
    why="The container can only release what it is told about: code after `yield` in a generator factory "
    "runs when the container closes, and a returned context manager is exited only when it was entered "
    "(`enter=True`, the default for factories). Returning from inside `with` closes the resource before "
    "anyone uses it.",
    bad="""
def make_connection():
    with engine.connect() as conn:
        return conn
""",
    good="""
def make_connection():
    with engine.connect() as conn:
        yield conn
""",
    static_note="Detects returns from inside `with`, `sqlite3.connect` results, and resource-opening calls "
    "registered with `enter=False`; other leaks are invisible statically.",
)
def svc007(mod: ModuleContext, index: ProjectIndex) -> Iterator[DomainIssue]:
    """Resource-owning factories without cleanup."""
    for node, message in _svc007_sites(mod, index):
        yield mod.issue("SVC007", node, message)


# -- SVC008 --------------------------------------------------------------------------------------------


def _svc008_sites(
    mod: ModuleContext, index: ProjectIndex
) -> Iterator[tuple[InjectableSite, cst.FunctionDef]]:
    for site in _facts(mod, index).injectables:
        if site.legacy or not isinstance(site.target, cst.FunctionDef):
            continue
        if {"for_", "kind"} & site.keywords.keys():
            continue
        yield site, site.target


@rule(
    "SVC008",
    severity="error",
    title="`@injectable` on a function gives `for_=`",
    fix="A",
    why="`scan()` registers a decorated class under the class itself, but a function has no type to "
    "register under: scanning raises `ValueError: Function ... must specify for_ parameter`.",
    bad="""
@injectable
def make_greeting() -> Greeting:
    return Greeting("Hello")
""",
    good="""
@injectable(for_=Greeting)
def make_greeting() -> Greeting:
    return Greeting("Hello")
""",
    static_note="The fix takes `for_=` from the function's return annotation; without one it is a "
    "suggestion.",
)
def svc008(mod: ModuleContext, index: ProjectIndex) -> Iterator[DomainIssue]:
    """`@injectable` functions without `for_=`."""
    for site, function in _svc008_sites(mod, index):
        returns = mod.code(function.returns.annotation) if function.returns is not None else None
        hint = f"`@injectable(for_={returns})`" if returns else "`@injectable(for_=ServiceType)`"
        yield mod.issue(
            "SVC008",
            site.decorator,
            f"`@injectable` on function `{function.name.value}` needs `for_=`: `scan()` raises `ValueError` "
            f"because a function has no type to register under. Use {hint}.",
            suggestion=hint.strip("`"),
        )


@fixer_for("SVC008")
def fix_svc008(mod: ModuleContext, index: ProjectIndex) -> cst.Module:
    """Add `for_=<return annotation>` to `@injectable` on functions."""
    replacements: _Replacements = {}
    for site, function in _svc008_sites(mod, index):
        if function.returns is None:
            continue
        for_ = cst.Arg(
            value=function.returns.annotation,
            keyword=cst.Name("for_"),
            equal=cst.AssignEqual(cst.SimpleWhitespace(""), cst.SimpleWhitespace("")),
        )
        decorator = site.decorator
        expression = decorator.decorator
        if isinstance(expression, cst.Call):
            args = list(expression.args)
            if args:
                for_ = for_.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
            replacements[expression] = expression.with_changes(args=[for_, *args])
        else:
            replacements[expression] = cst.Call(func=expression, args=[for_])
    return _apply(mod.module, replacements)


# -- SVC009 --------------------------------------------------------------------------------------------

_DATACLASS_LIKE = frozenset(
    {
        "dataclasses.dataclass",
        "attrs.define",
        "attrs.frozen",
        "attrs.mutable",
        "attr.s",
        "attr.attrs",
        "attr.define",
        "attr.frozen",
        "pydantic.dataclasses.dataclass",
    }
)


def _decorator_names(facts: ModuleServices, decorator: cst.Decorator) -> set[str]:
    expression = decorator.decorator
    func = expression.func if isinstance(expression, cst.Call) else expression
    return facts.names(func) if isinstance(func, (cst.Name, cst.Attribute)) else set()


def _svc009_sites(
    mod: ModuleContext, index: ProjectIndex
) -> Iterator[tuple[cst.ClassDef | cst.FunctionDef, list[int], list[int]]]:
    """(definition, indices of DI decorators, indices of dataclass-like decorators) when misordered."""
    facts = _facts(mod, index)
    for definition in [*facts.classes.values(), *facts.functions.values()]:
        if len(definition.decorators) < 2:
            continue
        di: list[int] = []
        data: list[int] = []
        for position, decorator in enumerate(definition.decorators):
            names = _decorator_names(facts, decorator)
            if any(
                q.split(".")[0] in HOPSCOTCH_ROOTS
                and simple_name(q) in {"injectable", "middleware", "hookable"}
                for q in names
            ):
                di.append(position)
            elif names & _DATACLASS_LIKE:
                data.append(position)
        if di and data and min(data) < max(di):
            yield definition, di, data


@rule(
    "SVC009",
    severity="warning",
    title="Decorator order: `@injectable` / `@middleware` / `@hookable` outermost, `@dataclass` inner",
    fix="A",
    why="Decorators apply bottom-up. The DI decorators tag the finished class for `scan()`, so every "
    "svcs-di / tdom-svcs example puts them on top of `@dataclass`; below it they tag the intermediate class, "
    "which a class-replacing decorator (`@dataclass(slots=True)`, attrs) need not carry over.",
    bad="""
@dataclass
@injectable
class Greeting:
    salutation: str = "Hello"
""",
    good="""
@injectable
@dataclass
class Greeting:
    salutation: str = "Hello"
""",
)
def svc009(mod: ModuleContext, index: ProjectIndex) -> Iterator[DomainIssue]:
    """DI decorators below `@dataclass`."""
    for definition, di, data in _svc009_sites(mod, index):
        first_inner = next(i for i in di if i > min(data))
        decorator = definition.decorators[first_inner]
        yield mod.issue(
            "SVC009",
            decorator,
            f"`@{mod.code(decorator.decorator)}` is below "
            f"`@{mod.code(definition.decorators[min(data)].decorator)}` "
            f"on `{definition.name.value}`: put the DI decorator outermost (above `@dataclass`).",
        )


@fixer_for("SVC009")
def fix_svc009(mod: ModuleContext, index: ProjectIndex) -> cst.Module:
    """Move the DI decorators right above the first dataclass-like decorator."""
    replacements: _Replacements = {}
    for definition, di, data in _svc009_sites(mod, index):
        decorators = list(definition.decorators)
        first = min(data)
        moving = [decorators[i] for i in di if i > first]
        staying = [d for i, d in enumerate(decorators) if not (i in di and i > first)]
        order = staying[:first] + moving + staying[first:]
        reordered = [
            new.with_changes(leading_lines=old.leading_lines)
            for old, new in zip(decorators, order, strict=True)
        ]
        replacements[definition] = _with_decorators(reordered)
    return _apply(mod.module, replacements)


def _with_decorators(decorators: list[cst.Decorator]) -> Callable[[cst.CSTNode], cst.CSTNode]:
    def apply(node: cst.CSTNode) -> cst.CSTNode:
        assert isinstance(node, (cst.ClassDef, cst.FunctionDef))
        return node.with_changes(decorators=decorators)

    return apply


# -- SVC010 --------------------------------------------------------------------------------------------


def _svc010_sites(mod: ModuleContext, index: ProjectIndex) -> Iterator[cst.Arg]:
    for _, arg in _facts(mod, index).locations:
        if isinstance(arg.value, _STRINGS):
            yield arg


@rule(
    "SVC010",
    severity="warning",
    title="`location=` is a `PurePath`, not a str",
    fix="A",
    why="Hopscotch treats locations as paths: the request side calls `location.is_relative_to(...)`, so a "
    "str given to `HopscotchContainer(location=...)` raises `AttributeError` once a location-bound "
    "implementation is considered, and `Inject[Location]` receives a str. On registrations a str works "
    "only because `PurePath.is_relative_to` happens to accept one; the API is typed `PurePath`.",
    bad="""
@injectable(for_=Greeting, location="/fr")
class FrenchGreeting(Greeting): ...
""",
    good="""
from pathlib import PurePath

@injectable(for_=Greeting, location=PurePath("/fr"))
class FrenchGreeting(Greeting): ...
""",
)
def svc010(mod: ModuleContext, index: ProjectIndex) -> Iterator[DomainIssue]:
    """String `location=` arguments of Hopscotch calls."""
    for arg in _svc010_sites(mod, index):
        text = mod.code(arg.value)
        yield mod.issue(
            "SVC010",
            arg.value,
            f"`location={text}` is a str, but Hopscotch compares locations as paths: use "
            f"`location=PurePath({text})` (from `pathlib`).",
            suggestion=f"PurePath({text})",
        )


@fixer_for("SVC010")
def fix_svc010(mod: ModuleContext, index: ProjectIndex) -> cst.Module:
    """Wrap string locations in `PurePath(...)` and import it from `pathlib`."""
    sites = list(_svc010_sites(mod, index))
    if not sites:
        return mod.module
    facts = _facts(mod, index)
    local = _imported_as(mod.module, "pathlib", "PurePath")
    name = local or ("pathlib_PurePath" if "PurePath" in facts.bound else "PurePath")
    replacements: _Replacements = {}
    for arg in sites:
        value = arg.value
        replacements[value] = cst.Call(func=cst.Name(name), args=[cst.Arg(value=value)])
    module = _apply(mod.module, replacements)
    if local is None:
        module, _ = _ensure_import(
            module, "pathlib", "PurePath", taken=facts.bound, first_party=_first_party(index)
        )
    return module


# -- SVC011 --------------------------------------------------------------------------------------------


def _svc011_sites(
    mod: ModuleContext, index: ProjectIndex
) -> Iterator[tuple[cst.CSTNode, str, cst.Call | None]]:
    """(node, message, the `svcs.Registry()` call to turn into `HopscotchRegistry()` when known)."""
    project = _project(index)
    facts = _facts(mod, index)
    conventions = {info.name: relative for relative, info in project.modules.items() if info.conventions}
    for scan in facts.scans:
        if scan.registry_kind != "svcs_registry" or scan.registry is None:
            continue
        hits = sorted(
            relative
            for name, relative in conventions.items()
            if any(name == m or name.startswith(m + ".") for m in scan.modules)
        )
        if hits:
            yield (
                scan.registry,
                (
                    f"`scan()` finds `svcs_registry`/`svcs_container` in `{hits[0]}`, which need a "
                    f"`HopscotchRegistry`; with a plain `svcs.Registry` scanning raises `TypeError`: create "
                    f"the "
                    f"registry with `HopscotchRegistry()`."
                ),
                scan.registry_origin,
            )
    for site in facts.registrations:
        if site.provider == "implementation" and site.receiver == "svcs_registry":
            assert site.method is not None
            yield (
                site.method,
                (
                    "`register_implementation` exists only on `HopscotchRegistry`; a plain `svcs.Registry` "
                    "raises `AttributeError`: create the registry with `HopscotchRegistry()`."
                ),
                site.receiver_origin,
            )
    if facts.uses_svcs:
        for name, function in facts.conventions.items():
            params = all_params(function.params)
            required, total, _ = _required_positional(function.params)
            if total != 1 or required != 1 or len(params) != 1:
                subject = "registry" if name == "svcs_registry" else "container"
                yield (
                    function.name,
                    (
                        f"`{name}` is called with exactly one argument (the {subject}); give it exactly one "
                        f"parameter: `def {name}({subject}): ...`."
                    ),
                    None,
                )


@rule(
    "SVC011",
    severity="error",
    title="`svcs_registry` / `svcs_container` conventions and `register_implementation` need a "
    "`HopscotchRegistry`",
    fix="A",
    why="`scan()` calls a module's `svcs_registry(registry)` and stores `svcs_container(container)` for "
    "every `HopscotchContainer`; with a plain `svcs.Registry` it raises `TypeError`. "
    "`register_implementation` (the ServiceLocator) exists only on `HopscotchRegistry`. Each convention "
    "function receives exactly one argument.",
    bad="""
registry = svcs.Registry()
scan(registry, "myapp.site")   # myapp/site/__init__.py defines svcs_registry(registry)
""",
    good="""
registry = HopscotchRegistry()
scan(registry, "myapp.site")
""",
    static_note="Scan targets are resolved when they are modules or string literals of this project.",
)
def svc011(mod: ModuleContext, index: ProjectIndex) -> Iterator[DomainIssue]:
    """Hopscotch-only features used with a plain `svcs.Registry`, and convention functions' arity."""
    for node, message, _ in _svc011_sites(mod, index):
        yield mod.issue("SVC011", node, message, suggestion="HopscotchRegistry()")


@fixer_for("SVC011")
def fix_svc011(mod: ModuleContext, index: ProjectIndex) -> cst.Module:
    """Build the registry with `HopscotchRegistry()` from the Hopscotch package the project uses."""
    origins = [origin for _, _, origin in _svc011_sites(mod, index) if origin is not None]
    if not origins:
        return mod.module
    project = _project(index)
    facts = _facts(mod, index)
    source = "svcs_hopscotch.injectors" if "svcs_hopscotch" in project.families else "svcs_di.injectors"
    local = _imported_as(mod.module, source, "HopscotchRegistry")
    name = local or "HopscotchRegistry"
    replacements: _Replacements = {}
    for origin in origins:
        replacements[origin.func] = cst.Name(name)
    module = _apply(mod.module, replacements)
    if local is None:
        module, _ = _ensure_import(
            module,
            source,
            "HopscotchRegistry",
            taken=facts.bound - {"HopscotchRegistry"},
            first_party=_first_party(index),
        )
    return module


# -- SVC012 --------------------------------------------------------------------------------------------

_VALID_INJECT = frozenset({"svcs_di.Inject", "svcs_di.auto.Inject", "svcs_di.types.Inject"})


def _valid_inject(qualified: str) -> bool:
    return qualified in _VALID_INJECT or qualified.startswith("svcs_hopscotch.")


def _svc012_sites(mod: ModuleContext, index: ProjectIndex) -> Iterator[tuple[cst.CSTNode, str, str]]:
    """(node, kind "shape" | "import" | "missing", message)."""
    facts = _facts(mod, index)
    for use in facts.injects:
        names = mod.qualified_names(use.inject)
        if names and not any(_valid_inject(q) for q in facts.names(use.inject)):
            continue  # a wrongly sourced Inject is reported once, at its import
        if not names and "Inject" not in facts.bound:
            yield (
                use.inject,
                "missing",
                ("`Inject` is used but never imported: add `from svcs_di import Inject`."),
            )
        if use.node is use.inject:
            yield (
                use.node,
                "shape",
                ("Bare `Inject` has no type to resolve: write `Inject[ServiceType]` with exactly one type."),
            )
        elif len(use.args) != 1:
            yield (
                use.node,
                "shape",
                (
                    f"`{mod.code(use.node)}` must name exactly one service type: `Inject[ServiceType]` "
                    f"(use `Annotated[...]` or a `NewType` for variants)."
                ),
            )
        elif isinstance(use.args[0], cst.SimpleString):
            text = use.args[0].evaluated_value
            head = text.split(".")[0] if isinstance(text, str) else ""
            if not head.isidentifier() or head not in facts.bound:
                yield (
                    use.args[0],
                    "shape",
                    (
                        f"Forward reference {mod.code(use.args[0])} does not resolve in this module, so "
                        f"svcs-di raises `TypeHintResolutionError`: import the type (under `TYPE_CHECKING` "
                        f"is "
                        f"not enough) and write `Inject[{head or 'ServiceType'}]`."
                    ),
                )
    for statement in mod.module.body:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if not isinstance(small, cst.ImportFrom) or small.module is None or small.relative:
                continue
            source = dotted(small.module)
            if source.split(".")[0] not in DI_ROOTS | {"hopscotch", "tdom"}:
                continue
            if isinstance(small.names, cst.ImportStar):
                continue
            for alias in small.names:
                if dotted(alias.name) == "Inject" and not _valid_inject(f"{source}.Inject"):
                    yield (
                        alias,
                        "import",
                        (
                            f"`Inject` does not come from `{source}`: import it from svcs-di "
                            f"(`from svcs_di import Inject`)."
                        ),
                    )


@rule(
    "SVC012",
    severity="error",
    title="`Inject` is subscripted with exactly one resolvable type and imported from the DI package in use",
    fix="A",
    why="svcs-di recognises a dependency by `get_origin(hint) is Inject` and resolves its single argument: "
    "a bare `Inject`, several arguments or an unresolvable string forward reference break resolution "
    "(`TypeHintResolutionError`), and an `Inject` from another package (legacy `hopscotch`, `svcs`, "
    "`svcs_di.injectors`) is not the marker at all.",
    bad="""
from hopscotch import Inject

@dataclass
class Users:
    db: Inject
""",
    good="""
from svcs_di import Inject

@dataclass
class Users:
    db: Inject[Database]
""",
    static_note="The fix repairs the import (adds or re-sources `from svcs_di import Inject`); a missing or "
    "extra type argument is a suggestion.",
)
def svc012(mod: ModuleContext, index: ProjectIndex) -> Iterator[DomainIssue]:
    """Malformed or wrongly imported `Inject`."""
    for node, _, message in _svc012_sites(mod, index):
        yield mod.issue("SVC012", node, message)


@fixer_for("SVC012")
def fix_svc012(mod: ModuleContext, index: ProjectIndex) -> cst.Module:
    """Import `Inject` from `svcs_di` (re-sourcing a wrong import, or adding a missing one)."""
    sites = list(_svc012_sites(mod, index))
    wrong = {node for node, kind, _ in sites if kind == "import"}
    missing = any(kind == "missing" for _, kind, _ in sites)
    if not wrong and not missing:
        return mod.module
    module = mod.module
    aliases: list[cst.ImportAlias] = []
    if wrong:
        replacements: _Replacements = {}
        for statement in module.body:
            if not isinstance(statement, cst.SimpleStatementLine):
                continue
            for small in statement.body:
                if not isinstance(small, cst.ImportFrom) or isinstance(small.names, cst.ImportStar):
                    continue
                hit = [a for a in small.names if a in wrong]
                if not hit:
                    continue
                aliases.extend(hit)
                rest = [a for a in small.names if a not in wrong]
                if not rest:
                    if len(statement.body) == 1:
                        replacements[statement] = statement.with_changes(
                            body=[
                                small.with_changes(
                                    module=cst.Name("svcs_di"),
                                    names=[a.with_changes(comma=cst.MaybeSentinel.DEFAULT) for a in hit],
                                )
                            ]
                        )
                        aliases = [a for a in aliases if a not in hit]
                    continue
                rest[-1] = rest[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
                replacements[small] = small.with_changes(names=rest)
        module = _apply(module, replacements)
    first_party = _first_party(index)
    for alias in aliases:
        asname = alias.asname.name.value if alias.asname and isinstance(alias.asname.name, cst.Name) else None
        module, _ = _ensure_import(module, "svcs_di", "Inject", asname=asname, first_party=first_party)
    if missing:
        module, _ = _ensure_import(module, "svcs_di", "Inject", first_party=first_party)
    return module


# -- SVC013 --------------------------------------------------------------------------------------------

_RECENCY = {"svcs_hopscotch": 3, "svcs_di.injectors": 2, "hopscotch": 1}
_LEGACY_RENAMES = {
    ("injectable", "kind"): "for_",
    ("injectable", "context"): "resource",
    ("HopscotchContainer", "context"): "resource",
}


def _preferred(project: ProjectServices) -> str | None:
    if len(project.families) < 2:
        return None
    return max(project.families, key=lambda f: (project.families[f], _RECENCY[f]))


def _moved_module(module: str, preferred: str) -> str | None:
    if preferred == "svcs_hopscotch":
        for old in ("svcs_di.injectors", "svcs_di.hopscotch_registry"):
            if module == old or module.startswith(old + "."):
                return "svcs_hopscotch" + module.removeprefix("svcs_di")
    if preferred == "svcs_di.injectors":
        for old in ("svcs_hopscotch.injectors", "svcs_hopscotch.hopscotch_registry"):
            if module == old or module.startswith(old + "."):
                return "svcs_di" + module.removeprefix("svcs_hopscotch")
    return None


def _svc013_sites(
    mod: ModuleContext, index: ProjectIndex
) -> Iterator[tuple[cst.CSTNode, str, cst.CSTNode | None, cst.CSTNode | None]]:
    """(node, message, node to replace, replacement) — replacement None when there is no safe fix."""
    project = _project(index)
    facts = _facts(mod, index)
    preferred = _preferred(project)
    if preferred is not None:
        for site in facts.imports:
            if site.family == preferred:
                continue
            counts = ", ".join(f"`{f}` ×{n}" for f, n in sorted(project.families.items()))
            target = _moved_module(site.module, preferred)
            replacement = None
            replace = None
            node = site.node
            if target is not None and isinstance(node, cst.ImportFrom) and node.module is not None:
                replace = node.module
                replacement = cst.parse_expression(target)
            elif (
                preferred == "svcs_hopscotch"
                and isinstance(node, cst.ImportFrom)
                and node.module is not None
                and site.module == "svcs_di"
                and not isinstance(node.names, cst.ImportStar)
                and all(
                    dotted(a.name) in {"HopscotchRegistry", "HopscotchContainer", "injectable", "scan"}
                    for a in node.names
                )
            ):
                replace = node.module
                replacement = cst.parse_expression("svcs_hopscotch.injectors")
            how = (
                f"import from `{dotted(replacement)}`"
                if replacement is not None
                else f"port this code to `{preferred}`"
            )
            yield (
                node,
                (
                    f"This project mixes Hopscotch import families ({counts}); `{site.module}` is not the "
                    f"`{preferred}` family the rest uses: {how}."
                ),
                replace,
                replacement,
            )
    for call, arg, callee in facts.legacy_keywords:
        assert arg.keyword is not None
        keyword = arg.keyword.value
        new = _LEGACY_RENAMES.get((callee, keyword))
        hint = f"`{new}=`" if new else "the current API"
        yield (
            arg,
            (
                f"`{keyword}=` is a legacy `hopscotch` 0.3 keyword; `{callee}` from the current API does not "
                f"accept it: use {hint}."
            ),
            (arg.keyword if new and _keyword(call, new) is None else None),
            (cst.Name(new) if new else None),
        )


@rule(
    "SVC013",
    severity="warning",
    title="One import family per project: do not mix `svcs_di.injectors`, `svcs_hopscotch.injectors` and "
    "legacy `hopscotch` keywords (`kind=`, `context=`)",
    fix="A",
    why="Hopscotch moved from `svcs_di.injectors` (svcs-di 0.2.0) to `svcs_hopscotch.injectors`, and the "
    "legacy `hopscotch` 0.3 package is a different, venusian-based API. Objects from one family are not "
    "seen by another (an `@injectable` from one is ignored by the other's `scan()`), and legacy keywords "
    "such as `@injectable(kind=...)` raise `TypeError` in the current API.",
    bad="""
from svcs_di.injectors import injectable          # the rest of the project uses svcs_hopscotch
@injectable(kind=Greeting)
class FrenchGreeting(Greeting): ...
""",
    good="""
from svcs_hopscotch.injectors import injectable
@injectable(for_=Greeting)
class FrenchGreeting(Greeting): ...
""",
    static_note="The family most imported in the project wins (newest on a tie); imports are moved "
    "automatically only between `svcs_di.injectors` and `svcs_hopscotch.injectors`.",
)
def svc013(mod: ModuleContext, index: ProjectIndex) -> Iterator[DomainIssue]:
    """Mixed Hopscotch import families and legacy keywords on the current API."""
    for node, message, _, replacement in _svc013_sites(mod, index):
        yield mod.issue(
            "SVC013",
            node,
            message,
            suggestion=dotted(replacement) if isinstance(replacement, cst.BaseExpression) else None,
        )


@fixer_for("SVC013")
def fix_svc013(mod: ModuleContext, index: ProjectIndex) -> cst.Module:
    """Move imports to the preferred family and rename legacy keywords (`kind=` → `for_=`)."""
    replacements: _Replacements = {}
    for _, _, replace, replacement in _svc013_sites(mod, index):
        if replace is not None and replacement is not None:
            replacements[replace] = replacement
    return _apply(mod.module, replacements)


# -- SVC014 --------------------------------------------------------------------------------------------


def _svc014_sites(mod: ModuleContext, index: ProjectIndex) -> Iterator[tuple[cst.BaseExpression, str]]:
    project = _project(index)
    if project.open_world or not project.wiring:
        return
    facts = _facts(mod, index)
    candidates: list[tuple[cst.BaseExpression, str]] = []
    for use in facts.injects:
        if use.has_default or len(use.args) != 1:
            continue
        if not any(_valid_inject(q) for q in facts.names(use.inject)):
            continue
        candidates.append((use.args[0], "Inject"))
    for site in facts.resolves:
        candidates.extend((t, site.method.value) for t in site.types)
    for node, how in candidates:
        if not isinstance(node, (cst.Name, cst.Attribute)):
            continue
        target = facts.one(node)
        text = dotted(node)
        last = simple_name(text) if text else ""
        if not last[:1].isupper() or last.isupper():
            continue  # types are CapWords: `get(SETTINGS_KEY)` and `Inject[str]` are no service types
        if target is not None and (builtin_service(target) or target in project.registered):
            continue
        if simple_name(text) in project.registered_simple:
            continue
        if target is None and not mod.qualified_names(node):
            continue  # an unresolved name is SVC012's or the type checker's business
        yield node, how


@rule(
    "SVC014",
    severity="warning",
    title="Every `Inject[T]` / `container.get(T)` type is registered somewhere in the project",
    fix="S",
    why="A type nobody registers makes the container raise `ServiceNotFoundError` at the first request that "
    "needs it. Registrations count from `register_factory`/`register_value`/`register_local_*`, "
    "`register_implementation`, and `@injectable` classes in modules some `scan()` covers.",
    bad="""
@dataclass
class Dashboard:
    users: Inject[Users]     # nothing registers Users, and no scan() covers its @injectable
""",
    good="""
registry.register_factory(Users, auto(Users))
""",
    static_note="Quiet when the project registers nothing at all (a library), when a registration key or "
    "scan target is computed at run time, for `Inject[T]` with a default, and for names that are not "
    "CapWords types (constants, builtins); names are matched by qualified name, or by class name across "
    "re-exports.",
)
def svc014(mod: ModuleContext, index: ProjectIndex) -> Iterator[DomainIssue]:
    """Injected or looked-up types with no registration in the project."""
    project = _project(index)
    for node, how in _svc014_sites(mod, index):
        text = dotted(node)
        target = _facts(mod, index).one(node)
        unscanned = project.unscanned.get(target or "")
        if unscanned is not None:
            detail = (
                f"its `@injectable` in `{unscanned}` is never scanned: pass that module or its package to "
                f"`scan(registry, ...)`"
            )
        else:
            detail = (
                f"register it (`registry.register_factory({text}, ...)`, `register_value`, "
                f"`container.register_local_value`) or mark it `@injectable` in a scanned module"
            )
        what = f"`Inject[{text}]`" if how == "Inject" else f"`{how}({text})`"
        yield mod.issue(
            "SVC014",
            node,
            f"{what} needs a registration for `{text}`, but none exists in the project, so resolving it "
            f"raises `ServiceNotFoundError`: {detail}.",
        )


# -- SVC015 --------------------------------------------------------------------------------------------


def _svc015_sites(mod: ModuleContext, index: ProjectIndex) -> Iterator[cst.Name]:
    for site in _facts(mod, index).resolves:
        if site.method.value in {"get_abstract", "aget_abstract"}:
            yield site.method


@rule(
    "SVC015",
    severity="info",
    title="`get_abstract` / `aget_abstract` are deprecated: use `get` / `aget`",
    fix="A",
    why="Since svcs 26.1.0 `get()` and `aget()` accept abstract types and Protocols directly (PEP 747 "
    "TypeForm); `get_abstract` / `aget_abstract` remain only as deprecated aliases.",
    bad="""
repo = container.get_abstract(UserRepository)
""",
    good="""
repo = container.get(UserRepository)
""",
)
def svc015(mod: ModuleContext, index: ProjectIndex) -> Iterator[DomainIssue]:
    """Deprecated `get_abstract` / `aget_abstract` calls."""
    for method in _svc015_sites(mod, index):
        new = "get" if method.value == "get_abstract" else "aget"
        yield mod.issue(
            "SVC015",
            method,
            f"`{method.value}` is deprecated since svcs 26.1.0: call `{new}` (it accepts abstract types and "
            f"Protocols).",
            suggestion=new,
        )


@fixer_for("SVC015")
def fix_svc015(mod: ModuleContext, index: ProjectIndex) -> cst.Module:
    """Rename `get_abstract` → `get` and `aget_abstract` → `aget`."""
    replacements: _Replacements = {
        method: cst.Name("get" if method.value == "get_abstract" else "aget")
        for method in _svc015_sites(mod, index)
    }
    return _apply(mod.module, replacements)
