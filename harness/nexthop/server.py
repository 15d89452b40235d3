"""The capture hop's network edge: two asyncio listeners in a background thread.

The harness runs cases synchronously (pexpect); the hop must answer the server under
test at any time, also between steps and between cases. So it owns an event loop in a
daemon thread, started once per pytest worker, and hands finished messages to the
`HopRecorder`, which the runner thread waits on.

Pipelining is seen here, where the timing is: every received line is stamped with the
number of replies sent when its first byte arrived. A line processed after more replies
went out arrived before the reply to the line before it — it was pipelined.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import logging
import threading
from collections import deque
from collections.abc import Mapping
from typing import Final

from harness.nexthop.protocol import LEGACY, LISTENERS, RELAY, HopSession, Phase, delays_reply
from harness.nexthop.record import HopRecorder

log = logging.getLogger(__name__)

LEGACY_REPLY_DELAY: Final = 0.2  # seconds the legacy listener holds MAIL/RCPT replies back
IDLE_TIMEOUT: Final = 60.0  # seconds a session may stay silent before the hop says 421 and closes
MAX_LINE: Final = 1024 * 1024  # octets without CRLF before the hop gives up on a session
MAX_SESSIONS: Final = 100  # concurrent sessions per hop; more are refused with 421
START_TIMEOUT: Final = 10.0
STOP_TIMEOUT: Final = 10.0
HOSTNAME: Final = "hop.mailconform.test"


class HopError(Exception):
    """The hop could not start (a capture address in use, an unknown host)."""


class _HopConnection(asyncio.Protocol):
    """One session: lines are queued with their arrival stamp and answered in order by a task."""

    def __init__(self, hop: CaptureHop, listener: str) -> None:
        self.hop = hop
        self.listener = listener
        self.replies_sent = 0
        self.lines: deque[tuple[bytes, int]] = deque()
        self.partial = bytearray()
        self.partial_stamp = 0
        self.arrived = asyncio.Event()
        self.eof = False
        self.transport: asyncio.Transport | None = None
        self.task: asyncio.Task[None] | None = None
        self.session: HopSession | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        peername = transport.get_extra_info("peername")
        peer = f"{peername[0]}:{peername[1]}" if isinstance(peername, tuple) else str(peername)
        number = next(self.hop.session_numbers)
        self.session = HopSession(self.listener, number, peer, HOSTNAME, self.hop.tempfailed)
        self.hop.recorder.session_opened(number, self.listener, peer)
        if len(self.hop.connections) >= MAX_SESSIONS:
            self._write(b"421 4.3.2 too many sessions on the capture hop\r\n")
            transport.close()
            self.hop.recorder.session_closed(number, "refused: too many sessions")
            return
        self.hop.connections.add(self)
        self._write(self.session.greeting())
        self.task = asyncio.get_running_loop().create_task(self._run())
        self.hop.tasks.add(self.task)
        self.task.add_done_callback(self.hop.tasks.discard)

    def data_received(self, data: bytes) -> None:
        start = 0
        while start < len(data):
            if not self.partial:
                self.partial_stamp = self.replies_sent
            end = data.find(b"\n", start)
            if end < 0:
                self.partial += data[start:]
                break
            self.partial += data[start : end + 1]
            start = end + 1
            if self.partial.endswith(b"\r\n"):
                self.lines.append((bytes(self.partial[:-2]), self.partial_stamp))
                self.partial.clear()
        if len(self.partial) > MAX_LINE:
            self.lines.append((b"", -1))  # marks an overlong line; the task ends the session
            self.partial.clear()
        self.arrived.set()

    def eof_received(self) -> bool:
        self.eof = True
        self.arrived.set()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.eof = True
        self.arrived.set()
        self.hop.connections.discard(self)

    def _write(self, reply: bytes) -> None:
        assert self.transport is not None and self.session is not None
        if self.transport.is_closing():
            return
        self.transport.write(reply)
        self.replies_sent += 1
        self.hop.recorder.trace(self.session.session, ">>", reply.decode("utf-8", "replace").rstrip("\r\n"))

    async def _run(self) -> None:
        assert self.transport is not None and self.session is not None
        session = self.session
        outcome = "closed by the client"
        try:
            while True:
                if not self.lines:
                    if self.eof:
                        break
                    self.arrived.clear()
                    try:
                        await asyncio.wait_for(self.arrived.wait(), IDLE_TIMEOUT)
                    except TimeoutError:
                        self._write(b"421 4.4.2 idle too long, closing\r\n")
                        outcome = f"closed by the hop after {IDLE_TIMEOUT:g} s of silence"
                        break
                    continue
                line, stamp = self.lines.popleft()
                if stamp < 0:
                    self._write(b"500 5.5.2 line too long, closing\r\n")
                    outcome = f"closed by the hop: a line of more than {MAX_LINE} octets"
                    break
                early = stamp < self.replies_sent
                if session.phase is not Phase.DATA:
                    self.hop.recorder.trace(session.session, "<<", line.decode("utf-8", "replace"))
                result = session.receive(line, early)
                if result.addresses:
                    self.hop.recorder.named(session.session, result.addresses)
                if result.replies and delays_reply(self.listener, line):
                    await asyncio.sleep(LEGACY_REPLY_DELAY)
                if result.message is not None:
                    self.hop.recorder.trace(
                        session.session, "<<", f"<mail data: {len(result.message.wire)} octets on the wire>"
                    )
                    self.hop.recorder.add(result.message)
                for reply in result.replies:
                    self._write(reply)
                if result.close:
                    outcome = "QUIT"
                    break
        finally:
            self.hop.recorder.session_closed(session.session, outcome)
            self.transport.close()


class CaptureHop:
    """Two capture listeners ("relay" and "legacy") on their own event loop thread.

    `start()` binds both (port 0 picks a free port) and returns once they listen;
    `stop()` closes every session and the loop. The recorder outlives `stop()`.
    """

    def __init__(self, addresses: Mapping[str, tuple[str, int]]) -> None:
        unknown = set(addresses) - set(LISTENERS)
        if unknown or not addresses:
            raise ValueError(f"listeners are {', '.join(LISTENERS)}")
        self.requested = dict(addresses)
        self.recorder = HopRecorder()
        self.tempfailed: set[str] = set()  # touched by the loop thread only
        self.session_numbers = itertools.count(1)
        self.connections: set[_HopConnection] = set()
        self.tasks: set[asyncio.Task[None]] = set()
        self.bound: dict[str, tuple[str, int]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._servers: list[asyncio.Server] = []
        self._ready = threading.Event()
        self._stopping: asyncio.Event | None = None
        self._error: BaseException | None = None

    def address(self, listener: str) -> tuple[str, int]:
        return self.bound[listener]

    def start(self) -> CaptureHop:
        self._thread = threading.Thread(target=self._main, name="mailconform-capture-hop", daemon=True)
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT):
            raise HopError(f"the capture hop did not start in {START_TIMEOUT:g} s")
        if self._error is not None:
            self._thread.join(STOP_TIMEOUT)
            raise HopError(f"the capture hop cannot listen: {self._error}") from None
        return self

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        stopping = self._stopping
        if stopping is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop ended already
                loop.call_soon_threadsafe(stopping.set)
        thread.join(STOP_TIMEOUT)
        self._thread = None

    def __enter__(self) -> CaptureHop:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _main(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve())
        except BaseException as exc:  # reported to start(); the thread must not die silently
            self._error = exc
            self._ready.set()
        finally:
            with contextlib.suppress(Exception):
                loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _serve(self) -> None:
        self._stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        try:
            for listener, (host, port) in self.requested.items():
                server = await loop.create_server(
                    functools.partial(_HopConnection, self, listener), host, port, reuse_address=True
                )
                self._servers.append(server)
                sockname = server.sockets[0].getsockname()
                self.bound[listener] = (sockname[0], sockname[1])
        except OSError as exc:
            self._error = exc
            await self._close_all()
            self._ready.set()
            return
        log.info("capture hop listening: %s", ", ".join(f"{k} {h}:{p}" for k, (h, p) in self.bound.items()))
        self._ready.set()
        await self._stopping.wait()
        await self._close_all()

    async def _close_all(self) -> None:
        for server in self._servers:
            server.close()
        for connection in list(self.connections):
            if connection.transport is not None:
                connection.transport.close()
        tasks = list(self.tasks)
        for server in self._servers:
            await server.wait_closed()
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.sleep(0)  # let the transports' close callbacks run


__all__ = ["LEGACY", "RELAY", "CaptureHop", "HopError"]
