"""Code Mode overhead: a warm block calling 10 tools against the same 10 calls made directly (issue #4).

The tool is `file_read` on a small file (stable timing). Sides run interleaved so both see the same
machine noise; medians over many rounds. Per-block overhead is the median of an empty block; per-call
overhead is what a 10-call block costs beyond the empty block and the 10 direct calls, divided by 10
(the empty block is the same code looping zero times, so both are checked alike). Measured with the
type check on (the default: each block is checked against the stubs and the session's earlier blocks)
and off. The session is reset every `RESET_EVERY` rounds (untimed) so the checked history stays the
size of a real agent run. The "monty floor" column is Monty's own async pause/resume per call, with
none of Punie's checking, validation or events. Target: < 1 ms per block plus < 50 µs per call.

Run: `uv run python -m benchmarks.sandbox_overhead` (or `benchmarks/run.py` for every benchmark).
"""

from __future__ import annotations

import asyncio
import itertools
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from pydantic_monty import AsyncFunctionSnapshot, AsyncMonty, AsyncMontySession, MontyComplete

from punie_lsp.sandbox import CodeSandbox
from punie_lsp.sandbox._convert import wrap
from punie_lsp.tools.context import ToolContext
from punie_lsp.tools.files import file_read

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "sandbox_project"
ROUNDS = 300
RESET_EVERY = 5
CALLS = 10
BLOCK = """
total_{k} = 0
for i_{k} in range({calls}):
    total_{k} = total_{k} + file_read("app/util.py").line_count
total_{k}
"""
"""Each run gets fresh names (`{k}`): a session's blocks differ, and ty is slow on many identical rebinds."""
_runs = itertools.count()


def _block(calls: int) -> str:
    return BLOCK.format(k=next(_runs), calls=calls)


async def _measure(sandbox: CodeSandbox, ctx: ToolContext, raw: AsyncMontySession) -> dict[str, float]:
    async def direct() -> None:
        total = 0
        for _ in range(CALLS):
            total += (await file_read(ctx, "app/util.py")).line_count
        assert total == 13 * CALLS

    async def block() -> None:
        result = await sandbox.run(_block(CALLS))
        assert result.ok, result.error
        assert result.value == 13 * CALLS

    async def empty() -> None:
        result = await sandbox.run(_block(0))
        assert result.ok, result.error

    async def bare() -> None:
        """The floor: Monty's own pause/resume per call, with no checking, validation or events."""
        snapshot = await raw.feed_start(_block(CALLS))
        while not isinstance(snapshot, MontyComplete):
            assert isinstance(snapshot, AsyncFunctionSnapshot)
            result = await file_read(ctx, *snapshot.args)
            snapshot = await snapshot.resume({"return_value": wrap(result)})
        assert snapshot.output == 13 * CALLS

    sides = {"direct": direct, "block": block, "empty": empty, "bare": bare}
    samples: dict[str, list[float]] = {name: [] for name in sides}
    for index in range(ROUNDS + 1):
        if index % RESET_EVERY == 0:
            await sandbox.reset()
            await sandbox.run("warm = 1")
        order = list(sides.items()) if index % 2 == 0 else list(reversed(sides.items()))
        for name, fn in order:
            start = time.perf_counter()
            await fn()
            if index:
                samples[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in samples.items()}


async def _history_cost(sandbox: CodeSandbox) -> tuple[float, float]:
    """Median seconds of an empty block after 5 and after 100 earlier blocks (the checked history).

    The 15 timed blocks join the history too, so it grows by up to 15 while measuring.
    """
    costs: list[float] = []
    for history in (5, 100):
        await sandbox.reset()
        for index in range(history):
            await sandbox.run(f"v{index} = file_read('app/util.py').line_count + {index}")
        times = []
        for _ in range(15):
            start = time.perf_counter()
            await sandbox.run(_block(0))
            times.append(time.perf_counter() - start)
        costs.append(statistics.median(times))
    return costs[0], costs[1]


def _row(label: str, m: dict[str, float]) -> str:
    per_call = (m["block"] - m["empty"] - m["direct"]) / CALLS
    bare_call = (m["bare"] - m["direct"]) / CALLS
    return (
        f"{label:<12}{m['direct'] * 1e3:>9.3f} ms{m['block'] * 1e3:>9.3f} ms{m['empty'] * 1e3:>9.3f} ms"
        f"{per_call * 1e6:>9.1f} µs{bare_call * 1e6:>9.1f} µs"
    )


async def main() -> None:
    """Print the side-by-side figures."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "project"
        shutil.copytree(FIXTURE, root)
        ctx = ToolContext.for_root(root)
        print(f"{CALLS} x file_read per block, {ROUNDS} interleaved rounds, medians")
        print("  direct: the 10 calls from Python; block: one sandbox block making them;")
        print("  per block: an empty block; per call: (block - empty - direct) / 10;")
        print("  monty floor: bare AsyncMonty pause/resume per call, without checks, validation or events")
        header = ("type check", "direct", "block", "per block", "per call", "monty floor")
        print(f"{header[0]:<12}{header[1]:>12}{header[2]:>12}{header[3]:>12}{header[4]:>12}{header[5]:>12}")
        short = long = 0.0
        for type_check in (True, False):
            async with (
                AsyncMonty(max_processes=4) as pool,
                CodeSandbox(ctx, type_check=type_check) as sandbox,
            ):
                async with pool.checkout(limits={"max_suspensions": 10**7}) as raw:
                    measured = await _measure(sandbox, ctx, raw)
                print(_row("on" if type_check else "off", measured))
                if type_check:
                    short, long = await _history_cost(sandbox)
        print(
            f"empty block, type check on: {short * 1e3:.3f} ms after 5 earlier blocks, "
            f"{long * 1e3:.3f} ms after 100"
        )
        print("target: < 1 ms per block and < 50 µs per call")


if __name__ == "__main__":
    asyncio.run(main())
