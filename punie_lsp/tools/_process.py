"""Run external tools as async subprocesses, with a timeout that really stops them.

The child runs in its own process group so a timeout kills everything it started (pytest's own
children included). A missing binary and a timeout become `ToolError`s with a message fit for users.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from punie_lsp.exceptions import ToolError

__all__ = ("ProcessResult", "ToolTimeout", "find_binary", "run_process")


class ToolTimeout(ToolError):
    """A tool ran past its timeout and was stopped."""


@dataclass(frozen=True, kw_only=True)
class ProcessResult:
    """What a finished subprocess left behind."""

    returncode: int
    """The exit status."""
    stdout: str
    """Standard output, decoded as UTF-8 with replacement."""
    stderr: str
    """Standard error, decoded as UTF-8 with replacement."""
    duration: float
    """Wall-clock seconds from spawn to exit."""


def find_binary(name: str) -> str:
    """Locate a tool's executable: `PUNIE_<NAME>` override, then beside this interpreter, then `PATH`.

    Looking beside `sys.executable` first means the ruff and ty pinned with Punie are used even when the
    virtual environment is not activated.

    Raises:
        ToolError: the binary cannot be found; the message names it and the places searched.
    """
    override = os.environ.get(f"PUNIE_{name.upper()}")
    if override is not None:
        if Path(override).is_file() and os.access(override, os.X_OK):
            return override
        raise ToolError(f"`{name}` not found: PUNIE_{name.upper()}={override!r} is not an executable file")
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise ToolError(
            f"`{name}` not found beside `{sys.executable}` or on PATH; install it (`uv add {name}`)"
        )
    return found


async def run_process(
    args: list[str],
    *,
    cwd: Path,
    timeout: float,
    env: dict[str, str] | None = None,
    stdin: bytes | None = None,
) -> ProcessResult:
    """Run `args` in `cwd` and collect its output; kill its whole process group after `timeout` seconds.

    Raises:
        ToolError: the executable cannot be started, or the process ran past `timeout`.
    """
    started = time.perf_counter()
    try:
        proc = await asyncio.create_subprocess_exec(
            *args,
            cwd=cwd,
            env=env,
            stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
    except FileNotFoundError as exc:
        raise ToolError(f"`{args[0]}` not found: {exc.strerror}") from exc
    except PermissionError as exc:
        raise ToolError(f"`{args[0]}` cannot be executed: {exc.strerror}") from exc
    try:
        out, err = await asyncio.wait_for(proc.communicate(stdin), timeout)
    except (TimeoutError, asyncio.CancelledError) as exc:
        _kill_group(proc)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(proc.wait(), 5)
        if isinstance(exc, asyncio.CancelledError):
            raise
        raise ToolTimeout(f"`{Path(args[0]).name}` timed out after {timeout:g} s and was stopped") from exc
    return ProcessResult(
        returncode=proc.returncode if proc.returncode is not None else -1,
        stdout=out.decode("utf-8", "replace"),
        stderr=err.decode("utf-8", "replace"),
        duration=time.perf_counter() - started,
    )


def _kill_group(proc: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        proc.kill()
