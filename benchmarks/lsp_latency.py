"""Language server latency (issue #8): diagnostics after an edit, and hover via Punie versus ty.

Diagnostics: didChange → publishDiagnostics on a 1,000-line file. Hover: through Punie versus asking ty
directly.

Run: `uv run python -m benchmarks.lsp_latency [changes]`. Prints p50/p95 of the diagnostics latency with
the default debounce and without one (what the debounce adds is subtracted), where the time goes (the
same edit through the domain service in-process: re-parse versus rules), and hover medians through Punie
and straight to a `ty server` with the same client capabilities.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

from lsprotocol import types
from pygls.lsp.client import LanguageClient
from pytest_lsp import client_capabilities

from benchmarks.domain_speed import module_text
from punie_lsp.lsp._domain import DomainService
from punie_lsp.lsp.ty_proxy import find_ty

CHANGES = int(sys.argv[1]) if len(sys.argv) > 1 else 40
HOVERS = 60
PUNIE = [str(Path(sys.executable).parent / "punie"), "lsp"]


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _fmt(values: list[float]) -> str:
    return f"p50 {_pct(values, 0.5):7.1f} ms   p95 {_pct(values, 0.95):7.1f} ms"


class _Client(LanguageClient):
    def __init__(self) -> None:
        super().__init__("punie-bench", "1")
        self.published: dict[int, float] = {}
        self.event = asyncio.Event()

        @self.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def diagnostics(params: types.PublishDiagnosticsParams) -> None:
            if params.version is not None:
                self.published[params.version] = time.perf_counter()
                self.event.set()

        for method in (types.CLIENT_REGISTER_CAPABILITY, types.WINDOW_WORK_DONE_PROGRESS_CREATE):

            @self.feature(method)
            def ignore(params: types.RegistrationParams | types.WorkDoneProgressCreateParams) -> None:
                del params

        @self.feature(types.WORKSPACE_CONFIGURATION)
        def configuration(params: types.ConfigurationParams) -> list[None]:
            return [None for _ in params.items]

        @self.feature(types.WINDOW_LOG_MESSAGE)
        def log(params: types.LogMessageParams) -> None:
            del params


async def _start(command: list[str], root: Path, options: dict[str, object] | None) -> _Client:
    client = _Client()
    await client.start_io(*command, cwd=str(root))
    await client.initialize_async(
        types.InitializeParams(
            capabilities=client_capabilities("visual_studio_code"),
            root_uri=root.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name=root.name)],
            initialization_options=options,
        )
    )
    client.initialized(types.InitializedParams())
    return client


async def _stop(client: _Client) -> None:
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()


def _open(client: LanguageClient, uri: str, text: str) -> None:
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)
        )
    )


async def diagnostics_latency(root: Path, text: str, debounce_ms: int) -> list[float]:
    """Milliseconds from each didChange to the publishDiagnostics of that version."""
    client = await _start(PUNIE, root, {"punie": {"debounceMs": debounce_ms, "ty": {"enabled": False}}})
    uri = (root / "big.py").as_uri()
    _open(client, uri, text)
    while 1 not in client.published:
        client.event.clear()
        await asyncio.wait_for(client.event.wait(), 60)
    lines = text.splitlines(keepends=True)
    latencies = []
    for version in range(2, CHANGES + 2):
        line = 40 + version  # type one character into a different line each time
        client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                content_changes=[
                    types.TextDocumentContentChangePartial(
                        range=types.Range(
                            start=types.Position(line=line, character=len(lines[line].rstrip("\n"))),
                            end=types.Position(line=line, character=len(lines[line].rstrip("\n"))),
                        ),
                        text=" ",
                    )
                ],
            )
        )
        sent = time.perf_counter()
        while version not in client.published:
            client.event.clear()
            await asyncio.wait_for(client.event.wait(), 30)
        latencies.append((client.published[version] - sent) * 1000)
        await asyncio.sleep(0.05)
    await _stop(client)
    return latencies


async def where_the_time_goes(root: Path, text: str) -> tuple[list[float], list[float]]:
    """The same edits through the domain service in-process: re-parse and rules, in milliseconds."""
    service = DomainService()
    parse, rules = [], []
    await service.check(root, "big.py", text, {"big.py": text})
    for n in range(CHANGES):
        changed = text + f"\n# edit {n}\n"
        outcome = await service.check(root, "big.py", changed, {"big.py": changed})
        parse.append(outcome.parse_ms)
        rules.append(outcome.rules_ms)
    service.shutdown()
    return parse, rules


async def hover_overhead(root: Path, text: str) -> dict[str, tuple[list[float], list[float]]]:
    """Hover round trips through Punie and straight to ty, interleaved, at a plain name and a component."""
    ty = find_ty()
    assert ty is not None, "ty is needed for the hover comparison"
    punie = await _start(PUNIE, root, {"punie": {"debounceMs": 0}})
    direct = await _start([ty, "server"], root, None)
    uri = (root / "big.py").as_uri()
    for client in (punie, direct):
        _open(client, uri, text)
    lines = text.splitlines()
    targets = {
        "plain name": next(
            (n, line.index("registry")) for n, line in enumerate(lines) if "def register3(" in line
        ),
        "component": next((n, line.index("card3")) for n, line in enumerate(lines) if "def card3(" in line),
    }
    results: dict[str, tuple[list[float], list[float]]] = {}
    for label, (line, character) in targets.items():
        params = types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(line=line, character=character + 1),
        )
        for client in (punie, direct):  # warm both (ty's first hover on a file is cold)
            for _ in range(5):
                await client.text_document_hover_async(params)
        via_punie, via_ty = [], []
        for index in range(HOVERS):
            order = (
                ((punie, via_punie), (direct, via_ty))
                if index % 2
                else ((direct, via_ty), (punie, via_punie))
            )
            for client, sink in order:
                start = time.perf_counter()
                result = await client.text_document_hover_async(params)
                sink.append((time.perf_counter() - start) * 1000)
                assert result is not None
        results[label] = (via_punie, via_ty)
    await _stop(punie)
    await _stop(direct)
    return results


async def main() -> None:
    root = Path(tempfile.mkdtemp(prefix="punie-lsp-bench-"))
    (root / "pyproject.toml").write_text(
        '[project]\nname = "bench"\nversion = "0"\ndependencies = ["tdom>=0.1.16"]\n'
    )
    text = module_text(1000)
    (root / "big.py").write_text(text)
    print(f"1,000-line file ({text.count(chr(10))} lines), {CHANGES} single-character edits, one per line")
    for debounce in (150, 0):
        latencies = await diagnostics_latency(root, text, debounce)
        after = [max(0.0, v - debounce) for v in latencies]
        print(f"didChange → publishDiagnostics, debounce {debounce:3d} ms: {_fmt(latencies)}")
        if debounce:
            print(f"  after the debounce:                         {_fmt(after)}   (target p95 < 50 ms)")
    parse, rules = await where_the_time_goes(root, text)
    print(f"where it goes (in-process domain service):  re-parse {_fmt(parse)}")
    print(f"                                             rules    {_fmt(rules)}")
    for label, (via_punie, via_ty) in (await hover_overhead(root, text)).items():
        overhead = statistics.median(via_punie) - statistics.median(via_ty)
        print(
            f"hover ({label}): via Punie {_fmt(via_punie)};  ty directly {_fmt(via_ty)};  "
            f"median overhead {overhead:5.2f} ms (target < 5 ms)"
        )


if __name__ == "__main__":
    asyncio.run(main())
