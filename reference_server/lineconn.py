"""The asyncio edge every line protocol of the server shares: buffered input, wake-ups, flow control.

Each connection is an `asyncio.Protocol` that only buffers bytes, plus one task that drives a
pure session (SMTP, POP3, and IMAP to come). Owning the buffer is what lets a session answer
pipelined commands in order, throw away plaintext sent after STARTTLS/STLS, and read mail data
in bulk; the task reads lines with `next_line` and sleeps in `wait_for_input` when none is
complete.

Two rules keep the task from spinning or hanging. A wait with `more=True` (the buffered bytes
hold no complete line) returns at once only if bytes arrived since the last scan, so a partial
line never makes the loop busy; bytes that arrive while the task is busy elsewhere (writing a
reply) are never missed, because arrival sets that flag. And the deadline of a wait is one
timer per connection, moved lazily: almost every wait ends long before its deadline
(timeouts are minutes), so a timer made and cancelled per wait would be pure overhead.
"""

from __future__ import annotations

import asyncio
import enum
import ssl
from collections.abc import Callable
from typing import Final, Self

from reference_server.tls import HANDSHAKE_TIMEOUT, upgrade_server_side

DEADLINE_SLACK: Final = 0.001  # seconds: a timer may fire this early (the loop's clock resolution)


class Wake(enum.Enum):
    """Why `wait_for_input` returned."""

    DATA = "data"
    EOF = "eof"
    TIMEOUT = "timeout"
    SHUTDOWN = "shutdown"


class LineTooLong:
    """Marker: a command line longer than the limit was dropped."""


LINE_TOO_LONG: Final = LineTooLong()


class LineConnection(asyncio.Protocol):
    """Buffers what the client sends and wakes the session task; applies flow control both ways.

    `pause_above`/`resume_below`: stop reading from a client that is this far ahead of the
    session, and start again once it has caught up.
    """

    def __init__(self, start_session: Callable[[Self], None], pause_above: int, resume_below: int) -> None:
        self._start_session: Callable[[], None] = lambda: start_session(self)
        self._pause_above = pause_above
        self._resume_below = resume_below
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self._scan_from = 0
        self._unscanned = False  # bytes arrived (or were put back) since next_line() last looked
        self._discarding = False
        self._eof = False
        self._shutdown = False
        self._waiter: asyncio.Future[Wake] | None = None
        self._deadline = 0.0  # loop time at which the current wait times out
        self._timer: asyncio.TimerHandle | None = None
        self._read_paused = False
        self._write_paused = False
        self._write_resumed: asyncio.Future[None] | None = None

    # --- asyncio callbacks ----------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        first = self.transport is None  # a TLS upgrade hands the protocol a new transport
        self.transport = transport
        if first:
            self._start_session()

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        self._unscanned = True
        if len(self.buffer) > self._pause_above and not self._read_paused and self.transport is not None:
            self._read_paused = True
            self.transport.pause_reading()
        self._wake(Wake.DATA)

    def eof_received(self) -> bool | None:
        self._eof = True
        self._wake(Wake.EOF)
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self._eof = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._wake(Wake.EOF)
        if self._write_resumed is not None and not self._write_resumed.done():
            self._write_resumed.set_result(None)

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        if self._write_resumed is not None and not self._write_resumed.done():
            self._write_resumed.set_result(None)

    # --- for the session task ---------------------------------------------------------------

    def _wake(self, reason: Wake) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(reason)

    def request_shutdown(self) -> None:
        self._shutdown = True
        self._wake(Wake.SHUTDOWN)

    async def wait_for_input(self, timeout: float, *, more: bool = False) -> Wake:
        """Return at once if input is there; else wait for data, EOF, shutdown or `timeout` seconds.

        With `more`, bytes already scanned do not count: the caller found no complete line in
        them and needs the next packet.
        """
        if self._shutdown:
            return Wake.SHUTDOWN
        if self.buffer and (self._unscanned or not more):
            return Wake.DATA
        if self._eof:
            return Wake.EOF
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[Wake] = loop.create_future()
        self._waiter = waiter
        self._arm_deadline(loop, loop.time() + timeout)
        try:
            return await waiter
        finally:
            self._waiter = None

    def _arm_deadline(self, loop: asyncio.AbstractEventLoop, deadline: float) -> None:
        """Keep one timer and move it only when the new deadline is earlier; see the module docstring."""
        self._deadline = deadline
        timer = self._timer
        if timer is not None and timer.when() <= deadline:
            return
        if timer is not None:
            timer.cancel()
        self._timer = loop.call_at(deadline, self._deadline_reached, loop)

    def _deadline_reached(self, loop: asyncio.AbstractEventLoop) -> None:
        self._timer = None
        if self._waiter is None or self._waiter.done():
            return  # not waiting: the next wait arms a fresh timer
        if loop.time() + DEADLINE_SLACK < self._deadline:
            self._timer = loop.call_at(self._deadline, self._deadline_reached, loop)  # fired for an older wait
            return
        self._wake(Wake.TIMEOUT)

    def next_line(self, limit: int) -> bytes | LineTooLong | None:
        """The next CRLF-terminated line without its CRLF; None if incomplete.

        Only CRLF ends a line. A line longer than `limit` is dropped as it arrives, so a client
        cannot make the buffer grow without bound; it is reported as LINE_TOO_LONG.
        """
        self._unscanned = False
        end = self.buffer.find(b"\r\n", self._scan_from)
        if end < 0:
            self._hold_partial_line(limit)
            return None
        return self._cut_line(end, 2, limit)

    def _hold_partial_line(self, limit: int) -> None:
        """No line end yet: keep scanning from the end next time; drop what is already too long."""
        buffer = self.buffer
        if len(buffer) > limit + 1:
            self._discarding = True
            keep = 1 if buffer.endswith(b"\r") else 0
            del buffer[: len(buffer) - keep]
            self._consumed()
        self._scan_from = max(len(buffer) - 1, 0)

    def _cut_line(self, end: int, ending: int, limit: int) -> bytes | LineTooLong:
        """Remove the line ending at `end` (and its `ending` octets) from the buffer and return it."""
        line = bytes(self.buffer[:end])
        del self.buffer[: end + ending]
        self._scan_from = 0
        self._consumed()
        if self._discarding or end > limit:
            self._discarding = False
            return LINE_TOO_LONG
        return line

    def take(self, limit: int | None = None) -> bytes:
        """Up to `limit` buffered octets (all when None): mail data read in bulk rather than by line,
        or a command cut at a fixed size by a session with a fixed-size line buffer (a fault)."""
        if limit is None or limit >= len(self.buffer):
            data = bytes(self.buffer)
            self.buffer.clear()
        else:
            data = bytes(self.buffer[:limit])
            del self.buffer[:limit]
        self._scan_from = 0
        self._unscanned = bool(self.buffer)
        self._consumed()
        return data

    def unread(self, data: bytes) -> None:
        """Put back input that followed the end of mail data (the next pipelined commands)."""
        if data:
            self.buffer[:0] = data
            self._scan_from = 0
            self._unscanned = True

    def discard_input(self) -> int:
        """Drop everything buffered (plaintext after STARTTLS/STLS); the number of octets dropped."""
        dropped = len(self.buffer)
        self.buffer.clear()
        self._scan_from = 0
        self._unscanned = False
        self._discarding = False
        self._consumed()
        return dropped

    def _consumed(self) -> None:
        if self._read_paused and len(self.buffer) < self._resume_below and self.transport is not None:
            self._read_paused = False
            self.transport.resume_reading()

    def write(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    async def drain(self, timeout: float | None = None) -> bool:
        """Wait while the client does not read what we sent; False if it stalls for `timeout` seconds."""
        while self._write_paused and not self._eof:
            self._write_resumed = asyncio.get_running_loop().create_future()
            try:
                await asyncio.wait_for(self._write_resumed, timeout)
            except TimeoutError:
                return False
        return True

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    async def start_tls(self, context: ssl.SSLContext, *, drop_plaintext: bool) -> int:
        """Handshake as the server on this connection; the number of plaintext octets dropped.

        Whatever the client sent after STARTTLS/STLS and before the handshake is plaintext it
        was told not to send (RFC 3207 §4.2 and §6, RFC 2595 §4): it is dropped unless a fault
        keeps it. Raises OSError when the handshake fails.
        """
        transport = self.transport
        assert transport is not None
        dropped = self.discard_input() if drop_plaintext else 0
        self.transport = await upgrade_server_side(transport, self, context)
        return dropped


async def listen(
    factory: Callable[[], asyncio.Protocol],
    host: str,
    port: int,
    ssl_context: ssl.SSLContext | None,
    implicit_tls: bool,
) -> tuple[asyncio.Server, tuple[str, int]]:
    """Bind and listen (port 0 picks a free port); the server and its bound address.

    With implicit TLS the handshake comes first (RFC 8314 §3) and is bounded in time, so a
    client that connects and says nothing cannot hold a half-open TLS session for ever.
    """
    server = await asyncio.get_running_loop().create_server(
        factory,
        host,
        port,
        ssl=ssl_context if implicit_tls else None,
        ssl_handshake_timeout=HANDSHAKE_TIMEOUT if implicit_tls else None,
        reuse_address=True,
    )
    bound = server.sockets[0].getsockname()
    return server, (str(bound[0]), int(bound[1]))
