"""Hover: ty's answer for the position, merged with what Punie knows there.

Punie adds, when they apply: the documentation of each domain rule reported at the position (what, why,
bad → good, and how it is fixed); for a component, its props and where it is used; for the `T` of
`Inject[T]` or `container.get(T)`, where `T` is registered. ty is asked concurrently and bounded by its
timeout; the domain facts come from the worker thread. Neither can fail the hover: each missing part is
simply left out.
"""

from __future__ import annotations

import asyncio
import logging

from lsprotocol import types

from punie_lsp.domain import RULES
from punie_lsp.domain.components import ComponentSpec
from punie_lsp.domain.services import ServiceRegistration
from punie_lsp.lsp._domain import HoverFacts
from punie_lsp.lsp._text import LineIndex
from punie_lsp.lsp.server import PunieLanguageServer
from punie_lsp.lsp.ty_proxy import hover_markdown

__all__ = ("component_markdown", "hover", "register", "registrations_markdown")

logger = logging.getLogger(__name__)

DOMAIN_HOVER_TIMEOUT_S = 1.0
"""The longest a hover waits for the domain thread (busy with a large validation) before answering."""
MAX_USAGES = 10


def _contains(diagnostic: types.Diagnostic, position: types.Position) -> bool:
    start, end = diagnostic.range.start, diagnostic.range.end
    here = (position.line, position.character)
    return (start.line, start.character) <= here <= (end.line, end.character)


def component_markdown(spec: ComponentSpec, usages: list[tuple[str, int, int]]) -> str:
    """A component's signature as tdom sees it, and where it is used as a tag."""
    lines = [f"**Component `{spec.name}`** ({spec.kind}, `{spec.file}:{spec.line}`)", ""]
    if spec.props:
        lines.append("Props:")
        for prop in spec.props:
            annotation = f": `{prop.annotation}`" if prop.annotation else ""
            if prop.injected:
                note = " (injected)"
            elif prop.required:
                note = " (required)"
            else:
                note = f" = `{prop.default}`" if prop.default is not None else ""
            lines.append(f"- `{prop.name}`{annotation}{note}")
    else:
        lines.append("No props.")
    extras = []
    if spec.accepts_children:
        extras.append("accepts children")
    if spec.accepts_kwargs:
        extras.append("accepts any attribute (`**kwargs`)")
    if spec.injected:
        extras.append("needs a DI container (" + ", ".join(f"`{t}`" for t in spec.injected) + ")")
    if extras:
        lines += ["", "; ".join(extras).capitalize() + "."]
    lines.append("")
    if usages:
        lines.append(f"Used as a tag in {len(usages)} place(s):")
        lines += [f"- `{file}:{line}:{column}`" for file, line, column in usages[:MAX_USAGES]]
        if len(usages) > MAX_USAGES:
            lines.append(f"- … and {len(usages) - MAX_USAGES} more")
    else:
        lines.append("Not used as a `<{…}>` tag anywhere in the project.")
    return "\n".join(lines)


def registrations_markdown(service: str, registrations: list[ServiceRegistration]) -> str:
    """Where the service type `service` is registered (or that it is not)."""
    if not registrations:
        return f"**Service `{service}`** is not registered anywhere in this project (see SVC014)."
    lines = [f"**Service `{service}`** is registered in {len(registrations)} place(s):"]
    for reg in registrations:
        details = [reg.provider, f"lifecycle `{reg.lifecycle}`"]
        if reg.is_async:
            details.append("async: resolve with `aget`")
        if reg.cleanup:
            details.append("cleans up")
        lines.append(f"- `{reg.file}:{reg.line}`: `{reg.expression}` ({', '.join(details)})")
    return "\n".join(lines)


def _facts_markdown(facts: HoverFacts) -> str | None:
    if facts.service is not None:
        return registrations_markdown(facts.service, facts.registrations)
    if facts.component is not None:
        return component_markdown(facts.component, facts.usages)
    return None


async def _domain_sections(ls: PunieLanguageServer, uri: str, position: types.Position) -> list[str]:
    doc = ls.open_document(uri)
    where = ls.locate(uri)
    if doc is None or where is None:
        return []
    root, relative = where
    sections: list[str] = []
    published = ls.published.get(uri)
    if published is not None and published.version == doc.version:
        for diagnostic, issue in zip(published.diagnostics, published.issues, strict=True):
            rule = RULES.get(issue.rule)
            if rule is None or not _contains(diagnostic, position):
                continue
            parts = [f"**Punie {rule.id}**: {issue.message}"]
            if issue.suggestion:
                parts.append(f"Suggestion: {issue.suggestion}")
            if issue.fixable:
                parts.append("A quick fix is available.")
            parts.append(rule.docs_markdown())
            sections.append("\n\n".join(parts))
    text = doc.source
    lines = LineIndex(text, ls.codec)
    if position.line >= len(lines.lines):
        return sections
    at = lines.to_server(position)
    line = lines.lines[at.line]
    word = _word(line, at.character)
    try:
        facts = await asyncio.wait_for(
            ls.domain.hover_facts(
                root, relative, text, ls.buffers(root), word=word, line=line, column=at.character
            ),
            DOMAIN_HOVER_TIMEOUT_S,
        )
    except TimeoutError:
        return sections
    if (extra := _facts_markdown(facts)) is not None:
        sections.append(extra)
    return sections


def _word(line: str, column: int) -> str:
    start = column
    while start > 0 and (line[start - 1].isalnum() or line[start - 1] == "_"):
        start -= 1
    end = column
    while end < len(line) and (line[end].isalnum() or line[end] == "_"):
        end += 1
    return line[start:end]


async def hover(ls: PunieLanguageServer, params: types.HoverParams) -> types.Hover | None:
    """ty's hover and Punie's sections, separated by a rule."""
    uri, position = params.text_document.uri, params.position
    if ls.open_document(uri) is None:
        return None
    ty_task = asyncio.ensure_future(ls.ty.hover(uri, position)) if ls.ty is not None else None
    try:
        sections = await _domain_sections(ls, uri, position)
    except Exception:  # a domain bug must not cost the user ty's hover
        logger.exception("domain hover failed")
        sections = []
    ty_hover = await ty_task if ty_task is not None else None
    ty_text = hover_markdown(ty_hover)
    if not sections:
        return ty_hover if ty_text else None
    value = "\n\n---\n\n".join([ty_text, *sections] if ty_text else sections)
    kind = types.MarkupKind.Markdown if ls.markdown else types.MarkupKind.PlainText
    return types.Hover(
        contents=types.MarkupContent(kind=kind, value=value),
        range=ty_hover.range if ty_hover is not None else None,
    )


def register(ls: PunieLanguageServer) -> None:
    """Register `textDocument/hover`."""
    ls.feature(types.TEXT_DOCUMENT_HOVER)(hover)
