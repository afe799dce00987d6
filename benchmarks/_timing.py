"""Shared timing helpers: interleaved runs so both sides see the same machine noise."""

from __future__ import annotations

import statistics
import time
from collections.abc import Awaitable, Callable


async def interleaved(
    first: Callable[[], Awaitable[object]],
    second: Callable[[], Awaitable[object]],
    *,
    repeat: int,
    setup: Callable[[], None] | None = None,
) -> tuple[float, float]:
    """Median seconds of `first` and `second`, run alternately `repeat` times each (after one warm-up)."""
    a: list[float] = []
    b: list[float] = []
    for index in range(repeat + 1):
        for fn, sink in ((first, a), (second, b)) if index % 2 == 0 else ((second, b), (first, a)):
            if setup is not None:
                setup()
            start = time.perf_counter()
            await fn()
            elapsed = time.perf_counter() - start
            if index:
                sink.append(elapsed)
    return statistics.median(a), statistics.median(b)
