"""The feed loop: run one snippet in a Monty session, answering each pause at an external call."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from pydantic_monty import (
    AsyncFunctionSnapshot,
    AsyncFutureSnapshot,
    AsyncMontySession,
    AsyncNameLookupSnapshot,
    ExternalResult,
    MontyComplete,
)

__all__ = ("HOST_ACCESS_REFUSED", "MODULE_REQUESTS", "CallHandler", "Printer", "drive")

CallHandler = Callable[[AsyncFunctionSnapshot], Awaitable[ExternalResult]]
"""Answers one external function call (the sandbox is paused until it returns)."""
Printer = Callable[[str, str], None]
"""Receives printed output as `(stream, text)`."""

MODULE_REQUESTS = frozenset({"import", "import_stubs"})
"""Requests for host modules (and their stubs): there are none, so Monty answers them itself."""

HOST_ACCESS_REFUSED = (
    "`{name}` is not available: the sandbox has no access to host files, environment, network or "
    "processes. Use the tools (file_read, file_list, file_search, …) to work with the project."
)


async def drive(
    session: AsyncMontySession,
    code: str,
    *,
    on_call: CallHandler,
    callable_names: Callable[[str], bool],
    printer: Printer,
    inputs: dict[str, Any] | None = None,
    skip_type_check: bool = False,
) -> object:
    """Run `code` to completion and return its last expression's value.

    Every external call pauses the sandbox and goes to `on_call`. OS calls (files, environment) are
    refused with `PermissionError`; imports of modules Monty lacks fail as they would without a host; a
    tool's name used as a value (`f = file_read`) resolves to a reference that calls back through
    `on_call`.

    Raises:
        MontyError: the code failed (syntax, types, runtime, limits, crash).
    """
    snapshot = await session.feed_start(
        code, inputs=inputs, print_callback=printer, skip_type_check=skip_type_check
    )
    while True:
        match snapshot:
            case MontyComplete():
                return snapshot.output
            case AsyncFunctionSnapshot() if (
                snapshot.is_os_function and snapshot.function_name in MODULE_REQUESTS
            ):
                snapshot = await snapshot.resume_not_handled()  # no host modules: Monty's own answer
            case AsyncFunctionSnapshot() if snapshot.is_os_function:
                refused = PermissionError(HOST_ACCESS_REFUSED.format(name=snapshot.function_name))
                snapshot = await snapshot.resume({"exception": refused})
            case AsyncFunctionSnapshot():
                snapshot = await snapshot.resume(await on_call(snapshot))
            case AsyncNameLookupSnapshot() if snapshot.object_id is None and callable_names(
                snapshot.variable_name
            ):
                snapshot = await snapshot.resume(value=_reference(snapshot.variable_name))
            case AsyncNameLookupSnapshot():
                snapshot = await snapshot.resume()
            case AsyncFutureSnapshot():
                raise AssertionError("no external call answers with a future, so none can be pending")


def _reference(name: str) -> Callable[..., None]:
    """A host function named `name`: calling it in the sandbox pauses at an external call of that name."""

    def reference(*args: object, **kwargs: object) -> None:
        raise AssertionError("external calls are answered by the feed loop, never run on the host")

    reference.__name__ = reference.__qualname__ = name
    return reference
