"""Fast equivalents of the libcst metadata the rules read: scopes, parents and positions.

libcst's providers each walk the whole tree with `CSTNode.visit`, which rebuilds every node it passes;
on a 1,000-line module that costs 60–160 ms per provider. The walkers here read the (immutable) nodes
in place and reproduce the providers' results:

- `scope_map` runs a port of libcst's `ScopeVisitor` (with `ExpressionContextProvider` folded in) and
  builds the very same libcst `Scope`, `Assignment` and `Access` objects, so
  `scope.get_qualified_names_for(node)` answers exactly what `QualifiedNameProvider` answers.
- `parent_map` maps each node to its parent, as `ParentNodeProvider` does.
- `position_map` runs libcst's own code generation with a cheaper position-recording state, giving the
  ranges of `PositionProvider`.

Formatting nodes (whitespace, comments, punctuation, operators, parentheses and brackets) carry no
names and are left out of the scope and parent maps; libcst documents them as having no scope either.
Children are visited in libcst's order (`_CODE_FIELDS`, derived from libcst's
`_visit_and_replace_children`; `tests/domain/test_metadata.py` checks it against the installed libcst),
so maps iterate in the order libcst's would. Node types the table does not know (a newer libcst) fall
back to libcst's `children`.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import libcst as cst
from libcst import MaybeSentinel
from libcst._nodes.internal import CodegenState
from libcst.helpers import get_full_name_for_node
from libcst.metadata import CodePosition, CodeRange
from libcst.metadata.scope_provider import (
    _ASSIGNMENT_LIKE_NODES,
    Access,
    AnnotationScope,
    ClassScope,
    ComprehensionScope,
    FunctionScope,
    GlobalScope,
    Scope,
    _gen_dotted_names,
)

__all__ = (
    "FORMATTING",
    "PositionMap",
    "ScopeData",
    "code_children",
    "parent_map",
    "position_map",
    "scope_map",
    "visit_fast",
    "walk",
)

_FORMATTING_NAMES = (
    "Add AddAssign And AssignEqual Asynchronous BitAnd BitAndAssign BitInvert BitOr BitOrAssign BitXor "
    "BitXorAssign Colon Comma Comment Divide DivideAssign Dot EmptyLine Equal FloorDivide "
    "FloorDivideAssign GreaterThan GreaterThanEqual In Is IsNot LeftCurlyBrace LeftParen "
    "LeftShift LeftShiftAssign LeftSquareBracket LessThan LessThanEqual MatrixMultiply "
    "MatrixMultiplyAssign Minus Modulo ModuloAssign Multiply MultiplyAssign Newline Not NotEqual NotIn Or "
    "ParenthesizedWhitespace Plus Power PowerAssign RightCurlyBrace RightParen RightShift RightShiftAssign "
    "RightSquareBracket Semicolon SimpleWhitespace Subtract SubtractAssign TrailingWhitespace"
)
FORMATTING: frozenset[type[cst.CSTNode]] = frozenset(
    getattr(cst, name) for name in _FORMATTING_NAMES.split() if hasattr(cst, name)
)
"""Node types that hold only whitespace, comments or punctuation (never a name or an expression)."""

_CODE_FIELD_NAMES: dict[str, tuple[str, ...]] = {
    "AnnAssign": ("target", "annotation", "value"),
    "Annotation": ("annotation",),
    "Arg": ("keyword", "value"),
    "AsName": ("name",),
    "Assert": ("test", "msg"),
    "Assign": ("targets", "value"),
    "AssignTarget": ("target",),
    "Attribute": ("value", "attr"),
    "AugAssign": ("target", "value"),
    "Await": ("expression",),
    "BinaryOperation": ("left", "right"),
    "BooleanOperation": ("left", "right"),
    "Break": (),
    "Call": ("func", "args"),
    "ClassDef": ("decorators", "name", "type_parameters", "bases", "keywords", "body"),
    "CompFor": ("target", "iter", "ifs", "inner_for_in"),
    "CompIf": ("test",),
    "Comparison": ("left", "comparisons"),
    "ComparisonTarget": ("comparator",),
    "ConcatenatedString": ("left", "right"),
    "Continue": (),
    "Decorator": ("decorator",),
    "Del": ("target",),
    "Dict": ("elements",),
    "DictComp": ("key", "value", "for_in"),
    "DictElement": ("key", "value"),
    "Element": ("value",),
    "Ellipsis": (),
    "Else": ("body",),
    "ExceptHandler": ("type", "name", "body"),
    "ExceptStarHandler": ("type", "name", "body"),
    "Expr": ("value",),
    "Finally": ("body",),
    "Float": (),
    "For": ("target", "iter", "body", "orelse"),
    "FormattedString": ("parts",),
    "FormattedStringExpression": ("expression", "format_spec"),
    "FormattedStringText": (),
    "From": ("item",),
    "FunctionDef": ("decorators", "name", "type_parameters", "params", "returns", "body"),
    "GeneratorExp": ("elt", "for_in"),
    "Global": ("names",),
    "If": ("test", "body", "orelse"),
    "IfExp": ("body", "test", "orelse"),
    "Imaginary": (),
    "Import": ("names",),
    "ImportAlias": ("name", "asname"),
    "ImportFrom": ("module", "names"),
    "ImportStar": (),
    "IndentedBlock": ("body",),
    "Index": ("value",),
    "Integer": (),
    "Lambda": ("params", "body"),
    "LazyImport": ("names",),
    "LazyImportFrom": ("module", "names"),
    "List": ("elements",),
    "ListComp": ("elt", "for_in"),
    "Match": ("subject", "cases"),
    "MatchAs": ("pattern", "name"),
    "MatchCase": ("pattern", "guard", "body"),
    "MatchClass": ("cls", "patterns", "kwds"),
    "MatchKeywordElement": ("key", "pattern"),
    "MatchList": ("patterns",),
    "MatchMapping": ("elements", "rest"),
    "MatchMappingElement": ("key", "pattern"),
    "MatchOr": ("patterns",),
    "MatchOrElement": ("pattern",),
    "MatchSequenceElement": ("value",),
    "MatchSingleton": ("value",),
    "MatchStar": ("name",),
    "MatchTuple": ("patterns",),
    "MatchValue": ("value",),
    "Module": ("body",),
    "Name": (),
    "NameItem": ("name",),
    "NamedExpr": ("target", "value"),
    "Nonlocal": ("names",),
    "Param": ("name", "annotation", "default"),
    "ParamSlash": (),
    "ParamSpec": ("name",),
    "ParamStar": (),
    "Parameters": ("posonly_params", "posonly_ind", "params", "star_arg", "kwonly_params", "star_kwarg"),
    "Pass": (),
    "Raise": ("exc", "cause"),
    "Return": ("value",),
    "Set": ("elements",),
    "SetComp": ("elt", "for_in"),
    "SimpleStatementLine": ("body",),
    "SimpleStatementSuite": ("body",),
    "SimpleString": (),
    "Slice": ("lower", "upper", "step"),
    "StarredDictComp": ("value", "for_in"),
    "StarredDictElement": ("value",),
    "StarredElement": ("value",),
    "Subscript": ("value", "slice"),
    "SubscriptElement": ("slice",),
    "TemplatedString": ("parts",),
    "TemplatedStringExpression": ("expression", "format_spec"),
    "TemplatedStringText": (),
    "Try": ("body", "handlers", "orelse", "finalbody"),
    "TryStar": ("body", "handlers", "orelse", "finalbody"),
    "Tuple": ("elements",),
    "TypeAlias": ("name", "type_parameters", "value"),
    "TypeParam": ("param", "default"),
    "TypeParameters": ("params",),
    "TypeVar": ("name", "bound"),
    "TypeVarTuple": ("name",),
    "UnaryOperation": ("expression",),
    "While": ("test", "body", "orelse"),
    "With": ("items", "body"),
    "WithItem": ("item", "asname"),
    "Yield": ("value",),
}
"""Per node type: the fields that can hold code, in the order libcst visits them."""

_CODE_FIELDS: dict[type[cst.CSTNode], tuple[str, ...]] = {
    getattr(cst, name): fields for name, fields in _CODE_FIELD_NAMES.items() if hasattr(cst, name)
}
_DEFAULT = MaybeSentinel.DEFAULT


def code_children(node: cst.CSTNode) -> list[cst.CSTNode]:
    """The children of `node` that are not formatting, in libcst's visiting order."""
    fields = _CODE_FIELDS.get(type(node))
    if fields is None:
        return [child for child in node.children if type(child) not in FORMATTING]
    children: list[cst.CSTNode] = []
    for name in fields:
        value = getattr(node, name)
        if value is None or value is _DEFAULT:
            continue
        if isinstance(value, cst.CSTNode):
            children.append(value)
        else:
            children.extend(value)
    return children


def walk(root: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """Every non-formatting node under `root` (included), parents before children, in source order.

    A read-only replacement for a `CSTVisitor` that only looks at nodes: it never rebuilds them.
    """
    stack = [root]
    pop = stack.pop
    extend = stack.extend
    while stack:
        node = pop()
        yield node
        children = code_children(node)
        if children:
            children.reverse()
            extend(children)


_Handlers = tuple[Callable[[Any], Any] | None, Callable[[Any], Any] | None]
_FORMATTING_NAMES_SET = frozenset(_FORMATTING_NAMES.split())


def _visits_in_place(kind: type[cst.CSTVisitor]) -> bool:
    """Whether `visit_fast` can drive visitors of `kind` (only `visit_X` / `leave_X` of code nodes)."""
    if kind.on_visit is not cst.CSTVisitor.on_visit or kind.on_leave is not cst.CSTVisitor.on_leave:
        return False
    for klass in kind.__mro__:
        if klass is cst.CSTVisitor:
            break
        for attribute in vars(klass):
            prefix, _, rest = attribute.partition("_")
            if prefix in ("visit", "leave") and (rest in _FORMATTING_NAMES_SET or "_" in rest):
                return False  # a handler for formatting nodes, or an attribute hook (`visit_Call_func`)
    return True


def _inherited(kind: type[cst.CSTVisitor], attribute: str) -> bool:
    """Whether `kind.attribute` is libcst's do-nothing default."""
    return getattr(kind, attribute, None) is getattr(cst.CSTVisitor, attribute, None)


def _handler(visitor: cst.CSTVisitor, attribute: str) -> Callable[[Any], Any] | None:
    return None if _inherited(type(visitor), attribute) else getattr(visitor, attribute, None)


def visit_fast(root: cst.CSTNode, visitor: cst.CSTVisitor) -> None:
    """`root.visit(visitor)` for a read-only visitor, without libcst rebuilding every node it passes.

    Calls the visitor's `visit_<Type>` (children are skipped when it returns False) and `leave_<Type>`
    methods in libcst's order. Visitors that override `on_visit` / `on_leave`, handle formatting nodes or
    use attribute hooks are run by libcst itself.
    """
    if not _visits_in_place(type(visitor)):
        root.visit(visitor)
        return
    handlers: dict[type[cst.CSTNode], _Handlers] = {}

    def visit(node: cst.CSTNode) -> None:
        kind = type(node)
        pair = handlers.get(kind)
        if pair is None:
            name = kind.__name__
            pair = handlers[kind] = (_handler(visitor, f"visit_{name}"), _handler(visitor, f"leave_{name}"))
        enter, leave = pair
        if enter is None or enter(node) is not False:
            for child in code_children(node):
                visit(child)
        if leave is not None:
            leave(node)

    visit(root)


# ---------------------------------------------------------------------------------------------------------
# Parents
# ---------------------------------------------------------------------------------------------------------


def parent_map(module: cst.CSTNode) -> dict[cst.CSTNode, cst.CSTNode]:
    """Node → its parent, for every non-formatting node under `module` (what `ParentNodeProvider` gives).

    Like libcst, a node's children are recorded when the walk leaves it, so a node object shared by two
    parents (possible in transformed trees) maps to the parent left last.
    """
    parents: dict[cst.CSTNode, cst.CSTNode] = {}

    def leave(node: cst.CSTNode) -> None:
        children = code_children(node)
        for child in children:
            leave(child)
        for child in children:
            parents[child] = node

    leave(module)
    return parents


# ---------------------------------------------------------------------------------------------------------
# Scopes (a port of libcst.metadata.scope_provider.ScopeVisitor, libcst 1.x)
# ---------------------------------------------------------------------------------------------------------

_LOAD, _STORE, _NONE = 0, 1, 2
"""Expression contexts as `ExpressionContextProvider` assigns them (`_NONE`: the node gets none).

A name's context depends only on the path from the module to it: `_FIELD_CONTEXT` lists the fields where
libcst's `ExpressionContextVisitor` switches context (or stops visiting); every other field inherits its
parent's context, and nothing under a `_NONE` field gets one.
"""

_FIELD_CONTEXT: dict[tuple[type[cst.CSTNode], str], int] = {
    (cst.Assign, "targets"): _STORE,
    (cst.AnnAssign, "target"): _STORE,
    (cst.AugAssign, "target"): _STORE,
    (cst.NamedExpr, "target"): _STORE,
    (cst.AsName, "name"): _STORE,
    (cst.CompFor, "target"): _STORE,
    (cst.For, "target"): _STORE,
    (cst.ClassDef, "name"): _STORE,
    (cst.FunctionDef, "name"): _STORE,
    (cst.Param, "name"): _STORE,
    (cst.Del, "target"): _LOAD,  # DEL: the scope visitor treats it like LOAD
    (cst.Attribute, "value"): _LOAD,
    (cst.Attribute, "attr"): _NONE,
    (cst.Subscript, "value"): _LOAD,
    (cst.Subscript, "slice"): _LOAD,
    (cst.ClassDef, "type_parameters"): _NONE,
    (cst.FunctionDef, "type_parameters"): _NONE,
}

_ASSIGNMENT_LIKE: frozenset[type[cst.CSTNode]] = frozenset(
    kind for kind in (*_CODE_FIELDS, *FORMATTING) if issubclass(kind, _ASSIGNMENT_LIKE_NODES)
)


def _context(parent: cst.CSTNode, field: str, context: int) -> int:
    if context == _NONE:
        return _NONE
    return _FIELD_CONTEXT.get((type(parent), field), context)


@dataclass(frozen=True, slots=True)
class ScopeData:
    """What `scope_map` computes for one module."""

    scopes: dict[cst.CSTNode, Scope]
    """Node → the libcst `Scope` it belongs to (the mapping `ScopeProvider` gives), in libcst's order."""
    foreign: frozenset[cst.CSTNode]
    """Nodes parsed out of string annotations: they have a scope but no qualified names."""


def scope_map(module: cst.Module, source: str | None = None) -> ScopeData:
    """Scope metadata for `module`, equal to libcst's `ScopeProvider` on its non-formatting nodes.

    Args:
        module: The module to analyse.
        source: The module's text, if known. libcst resolves the name of every call and subscript while
            it walks (to spot `typing.cast`, `typing.TypeVar`, `typing.Literal` …); that is skipped, with
            the same outcome, when the text never mentions `typing`.
    """
    builder = _ScopeBuilder(typing=source is None or "typing" in source)
    builder.visit(module, _LOAD)
    builder.infer_accesses()
    return ScopeData(scopes=builder.scopes, foreign=frozenset(builder.foreign))


class _ScopeBuilder:
    """libcst's `ScopeVisitor`, walking the tree in place instead of through `CSTNode.visit`."""

    def __init__(self, *, typing: bool) -> None:
        self.scopes: dict[cst.CSTNode, Scope] = {}
        self.scope: Scope = GlobalScope()
        self.typing = typing
        self.deferred: list[tuple[Access, cst.Attribute | None, cst.BaseString | None]] = []
        self.top_attribute: list[cst.Attribute | None] = [None]
        self.in_annotation: list[bool] = [False]
        self.in_type_hint: list[bool] = [False]
        self.ignored_subscripts: set[cst.Subscript] = set()
        self.last_string_annotation: cst.BaseString | None = None
        self.foreign: list[cst.CSTNode] = []
        self.in_string = 0

    # -- the walk -----------------------------------------------------------------------------------

    def visit(self, node: cst.CSTNode, context: int) -> None:
        kind = type(node)
        handler = _VISIT.get(kind)
        if handler is None or handler(self, node, context) is not False:
            fields = _CODE_FIELDS.get(kind)
            if fields is None:
                for child in node.children:
                    if type(child) not in FORMATTING:
                        self.visit(child, context)
            else:
                for name in fields:
                    value = getattr(node, name)
                    if value is None or value is _DEFAULT:
                        continue
                    child_context = _context(node, name, context)
                    if isinstance(value, cst.CSTNode):
                        self.visit(value, child_context)
                    else:
                        for child in value:
                            self.visit(child, child_context)
        # libcst's `on_leave`
        self.scopes[node] = self.scope
        if self.in_string:
            self.foreign.append(node)
        if kind in _ASSIGNMENT_LIKE:
            self.scope._assignment_count += 1
        leave = _LEAVE.get(kind)
        if leave is not None:
            leave(self, node)

    def child(self, parent: cst.CSTNode, field: str, node: cst.CSTNode, context: int) -> None:
        self.visit(node, _context(parent, field, context))

    # -- handlers (same names and logic as libcst's ScopeVisitor) --------------------------------------

    def visit_import_alike(self, node: cst.Import | cst.ImportFrom, context: int) -> bool:
        names = node.names
        if isinstance(names, cst.ImportStar):
            return False
        for name in names:
            self.scopes[name] = self.scope
            asname = name.asname
            if asname is not None:
                name_values = _gen_dotted_names(cst.ensure_type(asname.name, cst.Name))
                import_node_asname = asname.name
            else:
                name_values = _gen_dotted_names(name.name)
                import_node_asname = name.name
            for name_value, _ in name_values:
                self.scope.record_import_assignment(name_value, node, import_node_asname)
        return False

    def visit_attribute(self, node: cst.Attribute, context: int) -> bool:
        if self.top_attribute[-1] is None:
            self.top_attribute[-1] = node
        self.child(node, "value", node.value, context)
        if self.top_attribute[-1] is node:
            self.top_attribute[-1] = None
        return False

    def _qualified(self, node: cst.CSTNode) -> set[str]:
        if not self.typing:
            return set()
        return {qualified.name for qualified in self.scope.get_qualified_names_for(node)}

    def visit_call(self, node: cst.Call, context: int) -> bool:
        self.top_attribute.append(None)
        self.in_type_hint.append(False)
        qualified = self._qualified(node)
        if "typing.NewType" in qualified or "typing.TypeVar" in qualified:
            self.child(node, "func", node.func, context)
            self.in_type_hint[-1] = True
            for arg in node.args[1:]:
                self.child(node, "args", arg, context)
            return False
        if "typing.cast" in qualified:
            self.child(node, "func", node.func, context)
            if len(node.args) > 0:
                self.in_type_hint.append(True)
                self.child(node, "args", node.args[0], context)
                self.in_type_hint.pop()
                for arg in node.args[1:]:
                    self.child(node, "args", arg, context)
            return False
        return True

    def leave_call(self, node: cst.Call) -> None:
        self.top_attribute.pop()
        self.in_type_hint.pop()

    def visit_annotation(self, node: cst.Annotation, context: int) -> bool:
        self.in_annotation.append(True)
        return True

    def leave_annotation(self, node: cst.Annotation) -> None:
        self.in_annotation.pop()

    def visit_simple_string(self, node: cst.SimpleString, context: int) -> bool:
        self.handle_string_annotation(node)
        return False

    def visit_concatenated_string(self, node: cst.ConcatenatedString, context: int) -> bool:
        return not self.handle_string_annotation(node)

    def handle_string_annotation(self, node: cst.SimpleString | cst.ConcatenatedString) -> bool:
        if (self.in_type_hint[-1] or self.in_annotation[-1]) and not self.ignored_subscripts:
            value = node.evaluated_value
            if value:
                top_level_annotation = self.last_string_annotation is None
                if top_level_annotation:
                    self.last_string_annotation = node
                self.typing = True  # the string may spell names the module text does not
                try:
                    parsed = cst.parse_module(value)
                    self.in_string += 1
                    try:
                        self.visit(parsed, _NONE)
                    finally:
                        self.in_string -= 1
                except cst.ParserSyntaxError:
                    pass
                if top_level_annotation:
                    self.last_string_annotation = None
                return True
        return False

    def visit_subscript(self, node: cst.Subscript, context: int) -> bool:
        in_type_hint = False
        if isinstance(node.value, cst.Name):
            qualified = self._qualified(node.value)
            if any(name.startswith(("typing.", "typing_extensions.")) for name in qualified):
                in_type_hint = True
            if "typing.Literal" in qualified or "typing_extensions.Literal" in qualified:
                self.ignored_subscripts.add(node)
        self.in_type_hint.append(in_type_hint)
        return True

    def leave_subscript(self, node: cst.Subscript) -> None:
        self.in_type_hint.pop()
        self.ignored_subscripts.discard(node)

    def visit_name(self, node: cst.Name, context: int) -> bool:
        if context == _STORE:
            self.scope.record_assignment(node.value, node)
        else:
            access = Access(
                node,
                self.scope,
                is_annotation=bool(self.in_annotation[-1]),
                is_type_hint=bool(self.in_type_hint[-1]),
            )
            self.deferred.append((access, self.top_attribute[-1], self.last_string_annotation))
        return True

    def visit_function_def(self, node: cst.FunctionDef, context: int) -> bool:
        self.scope.record_assignment(node.name.value, node)
        self.scopes[node.name] = self.scope
        outer = self.scope
        if node.type_parameters:
            self.scope = AnnotationScope(outer, node, None)
            self.child(node, "type_parameters", node.type_parameters, context)
        around = self.scope
        self.scope = FunctionScope(around, node, get_full_name_for_node(node.name))
        self.child(node, "params", node.params, context)
        self.child(node, "body", node.body, context)
        self.scope = around
        for decorator in node.decorators:
            self.child(node, "decorators", decorator, context)
        returns = node.returns
        if returns:
            self.child(node, "returns", returns, context)
        self.scope = outer
        return False

    def visit_lambda(self, node: cst.Lambda, context: int) -> bool:
        outer = self.scope
        self.scope = FunctionScope(outer, node)
        self.child(node, "params", node.params, context)
        self.child(node, "body", node.body, context)
        self.scope = outer
        return False

    def visit_param(self, node: cst.Param, context: int) -> bool:
        self.scope.record_assignment(node.name.value, node)
        self.scopes[node.name] = self.scope
        inner = self.scope
        self.scope = inner.parent
        if node.default:
            self.child(node, "default", node.default, context)
        if node.annotation:
            self.child(node, "annotation", node.annotation, context)
        self.scope = inner
        return False

    def visit_arg(self, node: cst.Arg, context: int) -> bool:
        if node.value:
            self.child(node, "value", node.value, context)
        return False

    def visit_class_def(self, node: cst.ClassDef, context: int) -> bool:
        self.scope.record_assignment(node.name.value, node)
        self.scopes[node.name] = self.scope
        for decorator in node.decorators:
            self.child(node, "decorators", decorator, context)
        outer = self.scope
        if node.type_parameters:
            self.scope = AnnotationScope(outer, node, None)
            self.child(node, "type_parameters", node.type_parameters, context)
        for base in node.bases:
            self.child(node, "bases", base, context)
        for keyword in node.keywords:
            self.child(node, "keywords", keyword, context)
        around = self.scope
        self.scope = ClassScope(around, node, get_full_name_for_node(node.name))
        body_context = _context(node, "body", context)
        for statement in node.body.body:
            self.child(node.body, "body", statement, body_context)
        self.scope = outer
        return False

    def visit_global(self, node: cst.Global, context: int) -> bool:
        for name_item in node.names:
            self.scope.record_global_overwrite(name_item.name.value)
        return False

    def visit_nonlocal(self, node: cst.Nonlocal, context: int) -> bool:
        for name_item in node.names:
            self.scope.record_nonlocal_overwrite(name_item.name.value)
        return False

    def visit_comp_alike(
        self, node: cst.ListComp | cst.SetComp | cst.DictComp | cst.GeneratorExp, context: int
    ) -> bool:
        for_in = node.for_in
        for_context = _context(node, "for_in", context)
        self.child(for_in, "iter", for_in.iter, for_context)
        self.scopes[for_in] = self.scope
        outer = self.scope
        self.scope = ComprehensionScope(outer, node)
        self.child(for_in, "target", for_in.target, for_context)
        self.scope._assignment_count += 1
        for condition in for_in.ifs:
            self.child(for_in, "ifs", condition, for_context)
        inner_for_in = for_in.inner_for_in
        if inner_for_in:
            self.child(for_in, "inner_for_in", inner_for_in, for_context)
        if isinstance(node, cst.DictComp):
            self.child(node, "key", node.key, context)
            self.child(node, "value", node.value, context)
        else:
            self.child(node, "elt", node.elt, context)
        self.scope = outer
        return False

    def visit_for(self, node: cst.For, context: int) -> bool:
        self.child(node, "target", node.target, context)
        self.scope._assignment_count += 1
        self.child(node, "iter", node.iter, context)
        self.child(node, "body", node.body, context)
        if node.orelse is not None:
            self.child(node, "orelse", node.orelse, context)
        # `node.asynchronous` is formatting: libcst visits it, but it holds nothing
        return False

    def visit_type_alias(self, node: cst.TypeAlias, context: int) -> bool:
        self.scope.record_assignment(node.name.value, node)
        outer = self.scope
        self.scope = AnnotationScope(outer, node, None)
        if node.type_parameters is not None:
            self.child(node, "type_parameters", node.type_parameters, context)
        self.child(node, "value", node.value, context)
        self.scope = outer
        return False

    def visit_type_var(self, node: cst.TypeVar, context: int) -> bool:
        self.scope.record_assignment(node.name.value, node)
        if node.bound is not None:
            self.child(node, "bound", node.bound, context)
        return False

    def visit_type_var_tuple(self, node: cst.TypeVarTuple | cst.ParamSpec, context: int) -> bool:
        self.scope.record_assignment(node.name.value, node)
        return False

    def infer_accesses(self) -> None:
        """Resolve the deferred accesses (libcst's `ScopeVisitor.infer_accesses`)."""
        scope_name_accesses: defaultdict[tuple[Scope, str], set[Access]] = defaultdict(set)
        for access, enclosing_attribute, enclosing_string_annotation in self.deferred:
            name = cst.ensure_type(access.node, cst.Name).value
            if enclosing_attribute is not None:
                for attr_name, node in _gen_dotted_names(enclosing_attribute):
                    if attr_name in access.scope:
                        access.node = node
                        name = attr_name
                        break
            if enclosing_string_annotation is not None:
                access.node = enclosing_string_annotation
            scope_name_accesses[(access.scope, name)].add(access)
            access.record_assignments(name)
            access.scope.record_access(name, access)
        for (scope, name), accesses in scope_name_accesses.items():
            for assignment in scope._resolve_scope_for_access(name, scope):
                assignment.record_accesses(accesses)
        self.deferred = []


_VISIT: dict[type[cst.CSTNode], Callable[[_ScopeBuilder, Any, int], bool]] = {
    cst.Import: _ScopeBuilder.visit_import_alike,
    cst.ImportFrom: _ScopeBuilder.visit_import_alike,
    cst.Attribute: _ScopeBuilder.visit_attribute,
    cst.Call: _ScopeBuilder.visit_call,
    cst.Annotation: _ScopeBuilder.visit_annotation,
    cst.SimpleString: _ScopeBuilder.visit_simple_string,
    cst.ConcatenatedString: _ScopeBuilder.visit_concatenated_string,
    cst.Subscript: _ScopeBuilder.visit_subscript,
    cst.Name: _ScopeBuilder.visit_name,
    cst.FunctionDef: _ScopeBuilder.visit_function_def,
    cst.Lambda: _ScopeBuilder.visit_lambda,
    cst.Param: _ScopeBuilder.visit_param,
    cst.Arg: _ScopeBuilder.visit_arg,
    cst.ClassDef: _ScopeBuilder.visit_class_def,
    cst.Global: _ScopeBuilder.visit_global,
    cst.Nonlocal: _ScopeBuilder.visit_nonlocal,
    cst.ListComp: _ScopeBuilder.visit_comp_alike,
    cst.SetComp: _ScopeBuilder.visit_comp_alike,
    cst.DictComp: _ScopeBuilder.visit_comp_alike,
    cst.GeneratorExp: _ScopeBuilder.visit_comp_alike,
    cst.For: _ScopeBuilder.visit_for,
    cst.TypeAlias: _ScopeBuilder.visit_type_alias,
    cst.TypeVar: _ScopeBuilder.visit_type_var,
    cst.TypeVarTuple: _ScopeBuilder.visit_type_var_tuple,
    cst.ParamSpec: _ScopeBuilder.visit_type_var_tuple,
}
_LEAVE: dict[type[cst.CSTNode], Callable[[_ScopeBuilder, Any], None]] = {
    cst.Call: _ScopeBuilder.leave_call,
    cst.Annotation: _ScopeBuilder.leave_annotation,
    cst.Subscript: _ScopeBuilder.leave_subscript,
}


# ---------------------------------------------------------------------------------------------------------
# Positions
# ---------------------------------------------------------------------------------------------------------

_NEWLINE = re.compile(r"\r\n?|\n")

Span = tuple[int, int, int, int]
"""`(start line, start column, end line, end column)` in libcst's convention (1-based lines)."""


class PositionMap(Mapping[cst.CSTNode, CodeRange]):
    """Node → `CodeRange`, built on demand from compact spans (what `PositionProvider` gives)."""

    __slots__ = ("_spans",)

    def __init__(self, spans: dict[cst.CSTNode, Span]) -> None:
        self._spans = spans

    def __getitem__(self, node: cst.CSTNode) -> CodeRange:
        line, column, end_line, end_column = self._spans[node]
        return CodeRange(CodePosition(line, column), CodePosition(end_line, end_column))

    def __iter__(self) -> Iterator[cst.CSTNode]:
        return iter(self._spans)

    def __len__(self) -> int:
        return len(self._spans)

    def __contains__(self, node: object) -> bool:
        return node in self._spans


class _Syntactic:
    """`PositionProvidingCodegenState.record_syntactic_position` as a plain context manager."""

    __slots__ = ("column", "end_node", "line", "node", "start_node", "state")

    def __init__(
        self, state: _PositionState, node: cst.CSTNode, start: cst.CSTNode | None, end: cst.CSTNode | None
    ) -> None:
        self.state = state
        self.node = node
        self.start_node = start
        self.end_node = end

    def __enter__(self) -> None:
        self.line = self.state.line
        self.column = self.state.column

    def __exit__(self, *exc: object) -> None:
        state = self.state
        spans = state.spans
        if self.start_node is not None:
            line, column = spans[self.start_node][:2]
        else:
            line, column = self.line, self.column
        if self.end_node is not None:
            end_line, end_column = spans[self.end_node][2:]
        else:
            end_line, end_column = state.line, state.column
        spans[self.node] = (line, column, end_line, end_column)


class _PositionState(CodegenState):
    """libcst's `PositionProvidingCodegenState`, recording plain tuples instead of `CodeRange`s."""

    def __init__(self, default_indent: str, default_newline: str) -> None:
        super().__init__(default_indent=default_indent, default_newline=default_newline)
        self.line = 1
        self.column = 0
        self.spans: dict[cst.CSTNode, Span] = {}
        self.stack: list[tuple[int, int]] = []

    def add_indent_tokens(self) -> None:
        self.tokens.extend(self.indent_tokens)
        for token in self.indent_tokens:
            self._advance(token)

    def add_token(self, value: str) -> None:
        self.tokens.append(value)
        if "\n" in value or "\r" in value:
            self._advance(value)
        else:
            self.column += len(value)

    def _advance(self, value: str) -> None:
        if "\n" not in value and "\r" not in value:
            self.column += len(value)
            return
        segments = _NEWLINE.split(value)
        self.line += len(segments) - 1
        self.column = len(segments[-1])

    def before_codegen(self, node: cst.CSTNode) -> None:
        self.stack.append((self.line, self.column))

    def after_codegen(self, node: cst.CSTNode) -> None:
        line, column = self.stack.pop()
        self.spans.setdefault(node, (line, column, self.line, self.column))  # syntactic positions win

    def record_syntactic_position(  # ty: ignore[incompatible-method-override]
        self,
        node: cst.CSTNode,
        *,
        start_node: cst.CSTNode | None = None,
        end_node: cst.CSTNode | None = None,
    ) -> _Syntactic:
        return _Syntactic(self, node, start_node, end_node)


def position_map(module: cst.Module) -> PositionMap:
    """Every node's range, as libcst's `PositionProvider` computes it (one code generation pass)."""
    state = _PositionState(module.default_indent, module.default_newline)
    module._codegen(state)
    return PositionMap(state.spans)
