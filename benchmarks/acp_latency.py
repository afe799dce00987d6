"""ACP latency: time to the first streamed chunk after `session/prompt`, and ACP overhead per update.

An instant model (replay) answers every turn with the same text; `punie acp` runs as a real subprocess
driven by the SDK's client over stdio. The overhead per update compares an ACP turn with the same turn
run in-process through `PunieSession` (no protocol), divided by the updates the ACP turn sent.

Run: `uv run python -m benchmarks.acp_latency [turns]`.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import acp
from acp.schema import ClientCapabilities

from punie_lsp.agent.events import AgentEvent, TextDelta
from punie_lsp.agent.session import PunieSession
from punie_lsp.models import ReplayModel
from punie_lsp.tools.context import ToolContext

TURNS = int(sys.argv[1]) if len(sys.argv) > 1 else 30
ANSWER = "Punie answers with a paragraph of ordinary length so the turn streams many chunks. " * 6
PUNIE = str(Path(sys.executable).parent / "punie")


class _Client(acp.Client):
    def __init__(self) -> None:
        self.first: float | None = None
        self.updates = 0

    async def session_update(self, session_id: str, update: Any, **kwargs: Any) -> None:
        self.updates += 1
        if self.first is None and update.session_update == "agent_message_chunk":
            self.first = time.perf_counter()


async def _acp(root: Path, replay: Path, home: Path) -> tuple[list[float], list[float], list[int]]:
    client = _Client()
    env = {**os.environ, "PUNIE_HOME": str(home)}
    env.pop("PUNIE_MODEL", None)
    firsts: list[float] = []
    totals: list[float] = []
    counts: list[int] = []
    async with acp.spawn_agent_process(client, PUNIE, "acp", "--model", f"replay:{replay}", env=env) as (
        conn,
        _,
    ):
        await conn.initialize(protocol_version=1, client_capabilities=ClientCapabilities())
        session = await conn.new_session(cwd=str(root), mcp_servers=[])
        await asyncio.sleep(0.2)
        for index in range(TURNS + 1):
            client.first, client.updates = None, 0
            started = time.perf_counter()
            await conn.prompt(session_id=session.session_id, prompt=[acp.text_block("go")])
            ended = time.perf_counter()
            if index and client.first is not None:
                firsts.append(client.first - started)
                totals.append(ended - started)
                counts.append(client.updates)
    return firsts, totals, counts


async def _in_process(root: Path, replay: Path) -> tuple[list[float], list[float]]:
    firsts: list[float] = []
    totals: list[float] = []
    first: float | None = None

    async def on_event(event: AgentEvent) -> None:
        nonlocal first
        if first is None and isinstance(event, TextDelta):
            first = time.perf_counter()

    async with PunieSession(model=ReplayModel(replay), ctx=ToolContext.for_root(root)) as session:
        for index in range(TURNS + 1):
            first = None
            started = time.perf_counter()
            await session.prompt("go", on_event=on_event)
            ended = time.perf_counter()
            if index and first is not None:
                firsts.append(first - started)
                totals.append(ended - started)
    return firsts, totals


async def main() -> None:
    with tempfile.TemporaryDirectory(prefix="punie-acp-bench-") as tmp:
        base = Path(tmp)
        root = base / "proj"
        root.mkdir()
        (root / "pyproject.toml").write_text('[project]\nname = "bench"\nversion = "0"\n')
        lines = "".join(json.dumps({"content": ANSWER}) + "\n" for _ in range(TURNS + 1))
        (base / "acp.jsonl").write_text(lines)
        (base / "local.jsonl").write_text(lines)
        acp_first, acp_total, counts = await _acp(root, base / "acp.jsonl", base / "home")
        local_first, local_total = await _in_process(root, base / "local.jsonl")
    updates = statistics.median(counts)
    overhead = (statistics.median(acp_total) - statistics.median(local_total)) / updates
    print(f"turns measured: {len(acp_first)} (instant replay model, {len(ANSWER)} characters per answer)")
    print(
        f"time to first streamed chunk after session/prompt: median {statistics.median(acp_first) * 1000:.2f} ms"
    )
    print(
        f"  in-process (no ACP) time to first text delta:    median {statistics.median(local_first) * 1000:.2f} ms"
    )
    print(
        f"ACP overhead per update: {overhead * 1e6:.0f} µs "
        f"(turn {statistics.median(acp_total) * 1000:.1f} ms over ACP vs {statistics.median(local_total) * 1000:.1f} ms "
        f"in-process, {updates:.0f} updates per turn)"
    )


if __name__ == "__main__":
    asyncio.run(main())
