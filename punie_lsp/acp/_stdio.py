"""Newline-delimited JSON-RPC over stdio that answers bad input instead of dropping it.

The SDK's own transport logs and skips a line that is not JSON, and a JSON value that is not an object
reaches its dispatcher and ends the receive loop. This transport answers both as JSON-RPC 2.0 says
(`-32700` parse error, `-32600` invalid request, with `id: null`), refuses lines over a size limit
without reading them into memory whole, and writes each message synchronously in the order it was
sent (so a notification scheduled after a response never overtakes it).

Only ACP messages may reach the real standard output: the process's file descriptor 1 is pointed at
standard error before anything else runs, so a stray `print` or a child process that inherits stdout
can never corrupt the stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sys
import threading
from typing import Any

__all__ = ("MAX_LINE_BYTES", "LineTransport", "open_stdio")

logger = logging.getLogger(__name__)

MAX_LINE_BYTES = 32 * 1024 * 1024
"""The largest message accepted (32 MiB); a longer line is discarded and answered with an error."""

_READ_CHUNK = 64 * 1024


class _WriteProtocol(asyncio.Protocol):
    """A pipe protocol with flow control that any number of writers may wait on."""

    def __init__(self) -> None:
        self.can_write = asyncio.Event()
        self.can_write.set()
        self.lost = False

    def pause_writing(self) -> None:
        self.can_write.clear()

    def resume_writing(self) -> None:
        self.can_write.set()

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self.can_write.set()


class LineTransport:
    """A message transport for `acp.AgentSideConnection` over a byte reader and a pipe writer.

    Args:
        reader: the incoming bytes.
        transport: the outgoing pipe.
        protocol: its flow-control protocol.
        max_line_bytes: the largest message accepted.
    """

    def __init__(
        self,
        reader: asyncio.StreamReader,
        transport: asyncio.WriteTransport,
        protocol: _WriteProtocol,
        *,
        max_line_bytes: int = MAX_LINE_BYTES,
    ) -> None:
        self._reader = reader
        self._transport = transport
        self._protocol = protocol
        self._max = max_line_bytes

    async def send(self, message: dict[str, Any]) -> None:
        """Write one message as a line (written at once; waits only for flow control).

        Raises:
            ConnectionError: the client closed its end.
        """
        if self._protocol.lost or self._transport.is_closing():
            raise ConnectionError("the client closed the connection")
        data = json.dumps(message, separators=(",", ":"), ensure_ascii=False) + "\n"
        self._transport.write(data.encode("utf-8"))
        await self._protocol.can_write.wait()

    async def receive(self) -> dict[str, Any] | None:
        """The next valid message; None at end of input. Bad lines are answered and skipped."""
        while True:
            line = await self._read_line()
            if line is None:
                return None
            if not line.strip():
                continue
            try:
                message = json.loads(line)
            except (ValueError, RecursionError) as exc:
                await self._error(-32700, "Parse error", f"the line is not JSON: {exc}"[:300])
                continue
            if not isinstance(message, dict):
                await self._error(-32600, "Invalid Request", "a JSON-RPC message must be a JSON object")
                continue
            if not isinstance(message.get("method"), str) and "id" not in message:
                await self._error(-32600, "Invalid Request", "the message has neither `method` nor `id`")
                continue
            if "method" in message and not isinstance(message["method"], str):
                if "id" in message:
                    await self._error(-32600, "Invalid Request", "`method` must be a string", message["id"])
                continue
            return message

    async def close(self) -> None:
        """Close the writing end."""
        if not self._transport.is_closing():
            self._transport.close()

    async def _error(self, code: int, message: str, detail: str, request_id: object = None) -> None:
        logger.warning("bad input from the client: %s", detail)
        with contextlib.suppress(ConnectionError):
            await self.send(
                {
                    "jsonrpc": "2.0",
                    "id": request_id,
                    "error": {"code": code, "message": message, "data": {"details": detail}},
                }
            )

    async def _read_line(self) -> bytes | None:
        """One line; None at end of input. A line over the limit is answered, dropped and skipped."""
        chunks: list[bytes] = []
        size = 0
        while True:
            eof = False
            complete = True
            try:
                part = await self._reader.readuntil(b"\n")
            except asyncio.LimitOverrunError as exc:
                part = await self._reader.readexactly(max(1, exc.consumed))
                complete = False
            except asyncio.IncompleteReadError as exc:
                part, eof = exc.partial, True
            size += len(part)
            if size <= self._max:
                chunks.append(part)
            else:
                chunks.clear()
            if not complete:
                continue
            if size > self._max:
                await self._too_long(size)
                if eof:
                    return None
                chunks, size = [], 0
                continue
            if eof and size == 0:
                return None
            return b"".join(chunks)

    async def _too_long(self, size: int) -> None:
        await self._error(
            -32600, "Invalid Request", f"the message is {size:,} bytes, over the {self._max:,} byte limit"
        )


def _protect_stdout() -> int:
    """Duplicate stdout for the protocol and point file descriptor 1 at stderr; return the duplicate."""
    sys.stdout.flush()
    protocol_fd = os.dup(1)
    os.set_inheritable(protocol_fd, False)
    os.dup2(2, 1)
    return protocol_fd


def _feed_from_thread(loop: asyncio.AbstractEventLoop, reader: asyncio.StreamReader, fd: int) -> None:
    """Feed `reader` from a blocking file descriptor (a regular file given as stdin)."""

    def pump() -> None:
        try:
            while data := os.read(fd, _READ_CHUNK):
                loop.call_soon_threadsafe(reader.feed_data, data)
        finally:
            loop.call_soon_threadsafe(reader.feed_eof)

    threading.Thread(target=pump, name="punie-acp-stdin", daemon=True).start()


async def open_stdio(*, max_line_bytes: int = MAX_LINE_BYTES) -> LineTransport:
    """The process's stdin and stdout as a `LineTransport` (stdout must be a pipe, socket or terminal).

    Raises:
        OSError: stdout cannot carry the protocol (for example a regular file).
    """
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=_READ_CHUNK)
    stdin_fd = sys.stdin.fileno()
    try:
        await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(stdin_fd, "rb", 0, closefd=False)
        )
    except ValueError:
        _feed_from_thread(loop, reader, stdin_fd)
    protocol_fd = _protect_stdout()
    out = os.fdopen(protocol_fd, "wb", 0)
    try:
        transport, protocol = await loop.connect_write_pipe(_WriteProtocol, out)
    except ValueError as exc:
        raise OSError("`punie acp` needs its standard output to be a pipe (editors always use one)") from exc
    return LineTransport(reader, transport, protocol, max_line_bytes=max_line_bytes)
