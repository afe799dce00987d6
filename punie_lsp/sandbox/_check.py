"""Type-checking blocks before they run, against the stubs plus the session's earlier blocks.

Monty can check each feed itself (`checkout(type_check=True)`), but it carries earlier feeds forward
as declarations with their *inferred* types: after `n = 1`, the next feed's `n = n + 1` is rejected
because `Literal[2]` is not assignable to `Literal[1]`, and `for i in ["a"]` fails after an earlier
`for i in range(3)`. A model working across several blocks trips on that constantly.

So a session checks on its own terms: a dedicated checker session (type checking on, the stubs as its
context) is fed the earlier blocks and the new one as one program, exactly as Python would read them
in a row, preceded by a call to an external *barrier* function. When the check passes, execution stops
at the barrier (answered with an exception), so nothing runs there and nothing accumulates; the block
then runs in the runtime session with checking off. Diagnostics are mapped back to the block's lines.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Literal

from pydantic_monty import (
    AsyncFunctionSnapshot,
    AsyncMonty,
    AsyncMontySession,
    MontyError,
    MontyRuntimeError,
    MontySyntaxError,
    MontyTypingError,
)

from punie_lsp.sandbox._drive import MODULE_REQUESTS
from punie_lsp.sandbox._errors import SandboxErrorInfo, typing_error

__all__ = ("BARRIER", "BlockChecker")

BARRIER = "punie_check_barrier"
"""The external function that stops a checked program before its first statement runs."""
BARRIER_STUB = f'\n\ndef {BARRIER}() -> None:\n    """Internal: stops a type-check-only feed."""\n    ...\n'


class _BarrierReached(Exception):
    """Raised into the checker session at the barrier: the program type-checked and must not run."""


class BlockChecker:
    """Checks blocks in their session's context without running them.

    Args:
        pool: the pool to check a checker session out of.
        stubs: the stub text the model sees.
    """

    def __init__(self, pool: AsyncMonty, stubs: str) -> None:
        self._pool = pool
        self._stubs = stubs
        self._session: AsyncMontySession | None = None
        self._history: list[str] = []
        self._history_lines = 0
        self._stale = False
        self._pending: asyncio.Task[object] | None = None

    async def close(self) -> None:
        """Return the checker's worker to the pool."""
        await self._settle()
        session, self._session = self._session, None
        if session is not None:
            with contextlib.suppress(MontyError):  # the worker is already gone
                await session.__aexit__(None, None, None)

    def forget(self) -> None:
        """Drop the earlier blocks (the runtime session was replaced, its variables are gone)."""
        self._history.clear()
        self._history_lines = 0

    def commit(self, code: str) -> None:
        """Remember a block that ran (completely or not), so later blocks see what it bound."""
        text = code if code.endswith("\n") else code + "\n"
        self._history.append(text)
        self._history_lines += text.count("\n")

    async def restub(self, stubs: str) -> None:
        """Use new stubs from the next check on (a generated tool was registered)."""
        if stubs != self._stubs:
            self._stubs = stubs
            await self.close()

    async def check(self, code: str) -> SandboxErrorInfo | Literal["passed", "unparsed"]:
        """Type-check `code` after the earlier blocks.

        Returns:
            The type or syntax error; `passed`; or `unparsed` when the checker accepted the code but
            Monty's parser refuses it (class inheritance, for one): the runtime feed then reports that
            error with the block's own lines, and the block must not join the history.
        """
        try:
            return await self._check(code)
        except BaseException:
            self._stale = True  # cancelled mid-check: the session may be paused at the barrier
            raise

    async def _check(self, code: str) -> SandboxErrorInfo | Literal["passed", "unparsed"]:
        for attempt in (1, 2):
            session = await self._open()
            program = f"{BARRIER}()\n{''.join(self._history)}{code}"
            try:
                snapshot = await session.feed_start(program)
                while (
                    isinstance(snapshot, AsyncFunctionSnapshot)
                    and snapshot.is_os_function
                    and snapshot.function_name in MODULE_REQUESTS
                ):
                    snapshot = await snapshot.resume_not_handled()  # stubs of modules the host lacks: none
            except MontyTypingError as exc:
                found = typing_error(exc, line_offset=1 + self._history_lines)
                return found if found is not None else "passed"
            except (MontySyntaxError, MontyRuntimeError):
                return "unparsed"  # nothing ran: the barrier comes first, so this is the parser speaking
            except MontyError:
                await self.close()  # the checker worker died: start a new one and try once more
                if attempt == 2:
                    raise
                continue
            assert isinstance(snapshot, AsyncFunctionSnapshot), "the barrier is the program's first call"
            assert snapshot.function_name == BARRIER, "the barrier is the program's first call"
            # Unwinding the stopped program is one more round trip to the checker's worker; it runs
            # while the block itself runs in the runtime worker, and is awaited before the next check.
            self._pending = asyncio.ensure_future(
                snapshot.resume({"exception": _BarrierReached("check only")})
            )
            return "passed"
        raise AssertionError("unreachable: the loop returns or raises")

    async def _settle(self) -> None:
        """Wait for the previous check's program to finish unwinding (it ends in `_BarrierReached`)."""
        pending = self._pending
        if pending is None:
            return
        try:
            outcome = await pending
        except MontyError:
            pass  # the expected end: `_BarrierReached` raised inside the program
        else:
            raise AssertionError(f"a program stopped at the barrier cannot complete: {outcome!r}")
        finally:
            if pending.done():
                self._pending = None

    async def _open(self) -> AsyncMontySession:
        await self._settle()
        if self._stale:
            await self.close()
            self._stale = False
        self._pending: asyncio.Task[object] | None = None
        if self._session is None:
            session = self._pool.checkout(
                script_name="block.py",
                type_check=True,
                type_check_stubs=self._stubs + BARRIER_STUB,
                type_check_format="json",
                limits={"max_suspensions": 1_000_000},
            )
            await session.__aenter__()
            self._session = session
        return self._session
