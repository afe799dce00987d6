"""Domain diagnostics: pushed on open, save and (debounced) change; pulled when the client prefers it.

Every diagnostic has `source: "punie"`, the rule ID as `code` and a `codeDescription` linking the rule's
documentation. Document sync notifications are also mirrored to the ty proxy here, since this module is
where they arrive.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from functools import cache
from pathlib import Path

from lsprotocol import types
from pygls.uris import from_fs_path

import punie_lsp
from punie_lsp.config import default_punie_home
from punie_lsp.domain import RULES, DomainIssue
from punie_lsp.domain.rules import catalogue_markdown
from punie_lsp.lsp._text import LineIndex
from punie_lsp.lsp.server import SERVER_NAME, Published, PunieLanguageServer

__all__ = (
    "check_document",
    "register",
    "revalidate_all",
    "rule_doc_href",
    "schedule",
    "to_diagnostic",
)

_SEVERITY = {
    "error": types.DiagnosticSeverity.Error,
    "warning": types.DiagnosticSeverity.Warning,
    "info": types.DiagnosticSeverity.Information,
}


# -- rule documentation links ------------------------------------------------------------------------


def _slug(heading: str) -> str:
    """The anchor GitHub (and VS Code's Markdown preview) give a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


@cache
def _rules_document() -> Path | None:
    """`docs/rules.md` of a source checkout, else a copy generated into `PUNIE_HOME/docs/`."""
    source = Path(punie_lsp.__file__).resolve().parent.parent / "docs" / "rules.md"
    if source.is_file():
        return source
    generated = default_punie_home() / "docs" / "rules.md"
    text = catalogue_markdown()
    try:
        if not generated.is_file() or generated.read_text(encoding="utf-8") != text:
            generated.parent.mkdir(parents=True, exist_ok=True)
            generated.write_text(text, encoding="utf-8")
    except OSError:
        return None
    return generated


def rule_doc_href(rule_id: str, template: str | None = None) -> str | None:
    """The link to `rule_id`'s documentation: the configured template, else the rules document's anchor."""
    rule = RULES.get(rule_id)
    if rule is None:
        return None
    if template:
        return template.replace("{rule}", rule_id).replace("{rule_lower}", rule_id.lower())
    document = _rules_document()
    uri = from_fs_path(str(document)) if document is not None else None
    if uri is None:
        return None
    return f"{uri}#{_slug(f'{rule.id} ({rule.severity}): {rule.title}')}"


# -- conversion ---------------------------------------------------------------------------------------


def to_diagnostic(
    issue: DomainIssue, lines: LineIndex, *, docs_template: str | None = None
) -> types.Diagnostic:
    """One domain issue as an LSP diagnostic, positions in the client's units."""
    start = lines.position(issue.line, issue.column)
    end = lines.position(issue.end_line, issue.end_column)
    if (end.line, end.character) < (start.line, start.character):
        end = start
    message = (
        issue.message if issue.suggestion is None else f"{issue.message}\nSuggestion: {issue.suggestion}"
    )
    href = rule_doc_href(issue.rule, docs_template)
    return types.Diagnostic(
        range=types.Range(start=start, end=end),
        message=message,
        severity=_SEVERITY[issue.severity],
        code=issue.rule,
        code_description=types.CodeDescription(href=href) if href else None,
        source=SERVER_NAME,
        data={"rule": issue.rule, "fixable": issue.fixable},
    )


# -- computing ------------------------------------------------------------------------------------------


async def check_document(ls: PunieLanguageServer, uri: str) -> Published | None:
    """Run the domain rules on the open document `uri` and remember the result; None if it is not ours."""
    doc = ls.open_document(uri)
    where = ls.locate(uri)
    if doc is None or where is None:
        return None
    root, relative = where
    version, text = doc.version, doc.source
    generation = ls.generation
    cached = ls.published.get(uri)
    if cached is not None and cached.version == version and cached.generation == generation:
        return cached
    outcome = await ls.domain.check(root, relative, text, ls.buffers(root))
    ls.timing.parse_ms.append(outcome.parse_ms)
    ls.timing.rules_ms.append(outcome.rules_ms)
    del ls.timing.parse_ms[:-200], ls.timing.rules_ms[:-200]
    current = ls.open_document(uri)
    if current is None or current.version != version:
        return None  # the document changed (or closed) meanwhile; a newer check is on its way
    lines = LineIndex(text, ls.codec)
    template = ls.settings_for(root).rule_docs_url
    diagnostics = [to_diagnostic(issue, lines, docs_template=template) for issue in outcome.issues]
    digest = hashlib.sha1(
        repr([(d.range, d.code, d.message, d.severity) for d in diagnostics]).encode("utf-8", "replace")
    ).hexdigest()[:16]
    published = Published(
        version=version,
        generation=generation,
        issues=outcome.issues,
        diagnostics=diagnostics,
        result_id=digest,
    )
    ls.published[uri] = published
    return published


async def _validate(ls: PunieLanguageServer, uri: str, delay: float, *, neighbours: bool) -> None:
    if delay > 0:
        await asyncio.sleep(delay)
    published = await check_document(ls, uri)
    if published is None:
        return
    if not ls.pull_diagnostics:
        ls.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(
                uri=uri, version=published.version, diagnostics=published.diagnostics
            )
        )
    if neighbours:
        await _revalidate_neighbours(ls, uri)


async def _revalidate_neighbours(ls: PunieLanguageServer, uri: str) -> None:
    """Cross-file rules: after one buffer changed, the other open buffers of its root may change too."""
    where = ls.locate(uri)
    if where is None:
        return
    others = [
        doc.uri
        for doc in ls.open_documents()
        if doc.uri != uri and (other := ls.locate(doc.uri)) is not None and other[0] == where[0]
    ]
    if not others:
        return
    if ls.pull_diagnostics:
        if _refresh_supported(ls):
            await ls.workspace_diagnostic_refresh_async(None)
        return
    for other in others:
        if other in ls.pending:
            continue  # its own debounced validation will run anyway
        before = ls.published.get(other)
        published = await check_document(ls, other)
        if published is not None and (before is None or before.diagnostics != published.diagnostics):
            ls.text_document_publish_diagnostics(
                types.PublishDiagnosticsParams(
                    uri=other, version=published.version, diagnostics=published.diagnostics
                )
            )


def _refresh_supported(ls: PunieLanguageServer) -> bool:
    ws = ls.client_capabilities.workspace
    return bool(ws is not None and ws.diagnostics is not None and ws.diagnostics.refresh_support)


def schedule(ls: PunieLanguageServer, uri: str, *, delay: float) -> None:
    """(Re)start the validation of `uri` after `delay` seconds, cancelling the one still waiting."""
    ls.generation += 1
    pending = ls.pending.pop(uri, None)
    if pending is not None:
        pending.cancel()
    if ls.pull_diagnostics and delay > 0:
        # The client pulls after each change; only the other open files may need a refresh.
        task = ls.spawn(_debounced_refresh(ls, uri, delay))
    else:
        task = ls.spawn(_validate(ls, uri, delay, neighbours=True))
    ls.pending[uri] = task
    task.add_done_callback(lambda t: ls.pending.pop(uri, None) if ls.pending.get(uri) is t else None)


async def _debounced_refresh(ls: PunieLanguageServer, uri: str, delay: float) -> None:
    await asyncio.sleep(delay)
    await _revalidate_neighbours(ls, uri)


async def revalidate_all(ls: PunieLanguageServer) -> None:
    """Re-check every open document (settings or files on disk changed)."""
    ls.published.clear()
    ls.generation += 1
    if ls.pull_diagnostics:
        if _refresh_supported(ls):
            await ls.workspace_diagnostic_refresh_async(None)
        return
    for doc in ls.open_documents():
        schedule(ls, doc.uri, delay=0)


def _debounce(ls: PunieLanguageServer, uri: str) -> float:
    where = ls.locate(uri)
    return ls.settings_for(where[0] if where else None).debounce_ms / 1000


# -- handlers -------------------------------------------------------------------------------------------


async def did_open(ls: PunieLanguageServer, params: types.DidOpenTextDocumentParams) -> None:
    """Mirror to ty, then validate at once."""
    doc = params.text_document
    if ls.ty is not None:
        ls.ty.did_open(doc.uri, language_id=doc.language_id, version=doc.version, text=doc.text)
    schedule(ls, doc.uri, delay=0)


async def did_change(ls: PunieLanguageServer, params: types.DidChangeTextDocumentParams) -> None:
    """Mirror the new text to ty, then validate after the debounce delay."""
    uri = params.text_document.uri
    doc = ls.open_document(uri)
    if doc is None:
        return
    if ls.ty is not None:
        ls.ty.did_change(uri, version=params.text_document.version, text=doc.source)
    schedule(ls, uri, delay=_debounce(ls, uri))


async def did_save(ls: PunieLanguageServer, params: types.DidSaveTextDocumentParams) -> None:
    """Validate at once (a save often follows a burst of changes)."""
    uri = params.text_document.uri
    if ls.ty is not None:
        ls.ty.did_save(uri)
    if ls.open_document(uri) is not None:
        schedule(ls, uri, delay=0)


async def did_close(ls: PunieLanguageServer, params: types.DidCloseTextDocumentParams) -> None:
    """Forget the document; clear its diagnostics; re-read it from disk if it closed unsaved."""
    uri = params.text_document.uri
    if ls.ty is not None:
        ls.ty.did_close(uri)
    pending = ls.pending.pop(uri, None)
    if pending is not None:
        pending.cancel()
    published = ls.published.pop(uri, None)
    ls.generation += 1
    where = ls.locate(uri)
    if where is not None and published is not None:
        ls.domain.invalidate(where[0])  # the buffer may differ from the file now read in its place
    if not ls.pull_diagnostics:
        ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))


async def pull(
    ls: PunieLanguageServer, params: types.DocumentDiagnosticParams
) -> types.DocumentDiagnosticReport:
    """`textDocument/diagnostic`: the current report, or `unchanged` when the client already has it."""
    uri = params.text_document.uri
    published = await check_document(ls, uri)
    if published is None:
        doc = ls.open_document(uri)
        if doc is not None and ls.locate(uri) is not None:
            # It changed while being checked: check the newest version (bounded, one retry).
            published = await check_document(ls, uri)
    if published is None:
        return types.RelatedFullDocumentDiagnosticReport(items=[], result_id="none")
    if params.previous_result_id == published.result_id:
        return types.RelatedUnchangedDocumentDiagnosticReport(result_id=published.result_id)
    return types.RelatedFullDocumentDiagnosticReport(
        items=published.diagnostics, result_id=published.result_id
    )


def register(ls: PunieLanguageServer) -> None:
    """Register document sync and diagnostics."""
    ls.feature(types.TEXT_DOCUMENT_DID_OPEN)(did_open)
    ls.feature(types.TEXT_DOCUMENT_DID_CHANGE)(did_change)
    ls.feature(types.TEXT_DOCUMENT_DID_SAVE, types.SaveOptions(include_text=False))(did_save)
    ls.feature(types.TEXT_DOCUMENT_DID_CLOSE)(did_close)
    ls.feature(
        types.TEXT_DOCUMENT_DIAGNOSTIC,
        types.DiagnosticOptions(
            identifier=SERVER_NAME, inter_file_dependencies=True, workspace_diagnostics=False
        ),
    )(pull)
