"""Code actions: quick fixes from the domain fixers, fix-all, and the agent-backed actions.

A quick fix runs the rule's fixer on the buffer (on the domain thread), diffs old and new text into the
smallest `TextEdit`s, and keeps the edits that belong to the diagnostic it was asked for (edits that touch
another diagnostic of the same rule are left to that diagnostic's own fix). When the client can resolve
code actions lazily (`resolveSupport` for `edit`), the edit is computed only when the user picks the
action, so a light bulb costs nothing.

The agent-backed actions ("Fix with Punie", "Explain with Punie", "Write tests with Punie") are only
commands here: the model never runs inside a `codeAction` request (see `punie_lsp.lsp.features.commands`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import attrs
from lsprotocol import types
from lsprotocol.converters import get_converter

from punie_lsp.domain import RULES, DomainIssue
from punie_lsp.lsp._text import minimal_edits
from punie_lsp.lsp.features.commands import AGENT_COMMANDS, AgentActionArgs
from punie_lsp.lsp.features.diagnostics import check_document
from punie_lsp.lsp.server import SERVER_NAME, PunieLanguageServer

__all__ = ("FIX_ALL_KIND", "code_action", "register", "resolve_code_action")

logger = logging.getLogger(__name__)

FIX_ALL_KIND = f"{types.CodeActionKind.SourceFixAll.value}.{SERVER_NAME}"
"""`source.fixAll.punie`: every automatic fix in the file."""
EXPLAIN_KIND = f"{types.CodeActionKind.Refactor.value}.{SERVER_NAME}.explain"
TESTS_KIND = f"{types.CodeActionKind.Refactor.value}.{SERVER_NAME}.tests"
KINDS = [types.CodeActionKind.QuickFix, FIX_ALL_KIND, EXPLAIN_KIND, TESTS_KIND]

_CONVERTER = get_converter()


@attrs.define(kw_only=True)
class FixData:
    """What a quick fix needs to compute its edit later (`CodeAction.data`)."""

    uri: str
    version: int | None
    rule: str | None
    """The rule to fix; None for fix-all."""
    range: types.Range | None = None
    """The diagnostic's range (quick fixes only)."""


def _fix_title(rule_id: str, title: str) -> str:
    short = title if len(title) <= 60 else title[:59].rstrip() + "…"
    return f"Punie: fix {rule_id} ({short})"


def _overlaps(a: types.Range, b: types.Range) -> bool:
    return (a.start.line, a.start.character) <= (b.end.line, b.end.character) and (
        b.start.line,
        b.start.character,
    ) <= (a.end.line, a.end.character)


def _wanted(kind: str, only: list[str] | None) -> bool:
    return only is None or any(kind == k or kind.startswith(f"{k}.") for k in only)


def _resolves_edits(ls: PunieLanguageServer) -> bool:
    td = ls.client_capabilities.text_document
    action = td.code_action if td is not None else None
    support = action.resolve_support if action is not None else None
    return bool(
        action is not None and action.data_support is not False and support and "edit" in support.properties
    )


async def _edit(ls: PunieLanguageServer, data: FixData) -> types.WorkspaceEdit | None:
    doc = ls.open_document(data.uri)
    where = ls.locate(data.uri)
    if doc is None or where is None or (data.version is not None and doc.version != data.version):
        return None
    root, relative = where
    text = doc.source
    buffers = ls.buffers(root)
    if data.rule is None:
        fixed = await ls.domain.fix_all(root, relative, buffers)
    else:
        fixed = await ls.domain.quick_fix(root, relative, text, buffers, data.rule)
    if fixed is None:
        return None
    edits = minimal_edits(text, fixed, ls.codec)
    if data.rule is not None and data.range is not None:
        published = ls.published.get(data.uri)
        others = [
            d.range
            for d in (published.diagnostics if published is not None else [])
            if d.code == data.rule and d.range != data.range
        ]
        mine = [
            e
            for e in edits
            if _overlaps(e.range, data.range) or not any(_overlaps(e.range, o) for o in others)
        ]
        edits = mine or edits
    if not edits:
        return None
    if ls.document_changes:
        return types.WorkspaceEdit(
            document_changes=[
                types.TextDocumentEdit(
                    text_document=types.OptionalVersionedTextDocumentIdentifier(
                        uri=data.uri, version=doc.version
                    ),
                    edits=list(edits),
                )
            ]
        )
    return types.WorkspaceEdit(changes={data.uri: list(edits)})


def _agent_command(title: str, command: str, args: AgentActionArgs) -> types.Command:
    return types.Command(title=title, command=command, arguments=[_CONVERTER.unstructure(args)])


async def code_action(
    ls: PunieLanguageServer, params: types.CodeActionParams
) -> list[types.CodeAction | types.Command] | None:
    """Quick fixes for the Punie diagnostics in range, fix-all, and the agent-backed actions."""
    uri = params.text_document.uri
    doc = ls.open_document(uri)
    where = ls.locate(uri)
    if doc is None or where is None:
        return None
    published = await check_document(ls, uri)
    if published is None:
        return None
    only = [str(k) for k in params.context.only] if params.context.only else None
    lazy = _resolves_edits(ls)
    actions: list[types.CodeAction | types.Command] = []
    in_range = [
        (d, issue)
        for d, issue in zip(published.diagnostics, published.issues, strict=True)
        if _overlaps(d.range, params.range)
    ]
    for diagnostic, issue in in_range:
        rule = RULES.get(issue.rule)
        if rule is None or rule.fixer is None or not _wanted(types.CodeActionKind.QuickFix, only):
            continue
        data = FixData(uri=uri, version=published.version, rule=rule.id, range=diagnostic.range)
        action = types.CodeAction(
            title=_fix_title(rule.id, rule.title),
            kind=types.CodeActionKind.QuickFix,
            diagnostics=[diagnostic],
            is_preferred=True,
            data=_CONVERTER.unstructure(data) if lazy else None,
        )
        if not lazy:
            action.edit = await _edit(ls, data)
            if action.edit is None:
                continue
        actions.append(action)
    if any(i.fixable for i in published.issues) and _wanted(FIX_ALL_KIND, only):
        data = FixData(uri=uri, version=published.version, rule=None)
        action = types.CodeAction(
            title="Punie: fix all auto-fixable issues in this file",
            kind=FIX_ALL_KIND,
            data=_CONVERTER.unstructure(data) if lazy else None,
        )
        if not lazy:
            action.edit = await _edit(ls, data)
        if action.edit is not None or lazy:
            actions.append(action)
    if ls.settings_for(where[0]).agent_actions:
        actions.extend(_agent_actions(uri, published.version, params, in_range, only))
    return actions


def _agent_actions(
    uri: str,
    version: int | None,
    params: types.CodeActionParams,
    in_range: Sequence[tuple[types.Diagnostic, DomainIssue]],
    only: list[str] | None,
) -> list[types.CodeAction | types.Command]:
    actions: list[types.CodeAction | types.Command] = []
    ours = [d for d, _ in in_range] + [
        d for d in params.context.diagnostics if d.source == SERVER_NAME and d not in [x for x, _ in in_range]
    ]
    target = ours[0] if ours else None
    args = AgentActionArgs(
        uri=uri,
        range=target.range if target is not None else params.range,
        version=version,
        rule=str(target.code) if target is not None and target.code is not None else None,
        message=target.message if target is not None else None,
    )
    if target is not None and _wanted(types.CodeActionKind.QuickFix, only):
        actions.append(
            types.CodeAction(
                title="Fix with Punie (agent)",
                kind=types.CodeActionKind.QuickFix,
                diagnostics=[target],
                command=_agent_command("Fix with Punie", AGENT_COMMANDS["fix"], args),
            )
        )
    if _wanted(EXPLAIN_KIND, only):
        actions.append(
            types.CodeAction(
                title="Explain with Punie",
                kind=EXPLAIN_KIND,
                command=_agent_command("Explain with Punie", AGENT_COMMANDS["explain"], args),
            )
        )
    if _wanted(TESTS_KIND, only):
        actions.append(
            types.CodeAction(
                title="Write tests for this with Punie",
                kind=TESTS_KIND,
                command=_agent_command("Write tests with Punie", AGENT_COMMANDS["tests"], args),
            )
        )
    return actions


async def resolve_code_action(ls: PunieLanguageServer, action: types.CodeAction) -> types.CodeAction:
    """Compute a quick fix's edit when the user picks it."""
    if action.edit is not None or not isinstance(action.data, dict):
        return action
    try:
        data = _CONVERTER.structure(action.data, FixData)
    except Exception:
        logger.info("code action data %r is not Punie's", action.data)
        return action
    action.edit = await _edit(ls, data)
    return action


def register(ls: PunieLanguageServer) -> None:
    """Register `textDocument/codeAction` and `codeAction/resolve`."""
    ls.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=KINDS, resolve_provider=True),
    )(code_action)
    ls.feature(types.CODE_ACTION_RESOLVE)(resolve_code_action)
