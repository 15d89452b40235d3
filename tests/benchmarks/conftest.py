"""Fixtures for the load generator tests: a scripted stub server on a loopback port.

Both load generators are tested against small scripted servers (an SMTP and a POP3 stub). What
is not the protocol is the same for both and lives here once: starting the stub and telling it
its port, bounding each session in time, closing its connection, and taking the stub down
without leaving a session behind. A fixture rather than an importable helper module: mypy
run on this folder alone names a helper module differently from the ``tests.benchmarks...``
import the test files would use, and reports it as found twice.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Final, Protocol, TypeVar

import pytest

SESSION_TIMEOUT: Final = 5.0  # the longest a stub session lasts, and the wait for one at the end


class ScriptedStub(Protocol):
    """A stub server: the port it listens on once started, and one session's protocol (``handle``
    returns when the session is over; the connection is closed for it)."""

    port: int

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None: ...


Stub = TypeVar("Stub", bound=ScriptedStub)


class ServeStub(Protocol):
    """What the ``serve_stub`` fixture gives: ``async with serve_stub(stub) as stub: ...``."""

    def __call__(self, stub: Stub, /) -> contextlib.AbstractAsyncContextManager[Stub]: ...


@contextlib.asynccontextmanager
async def _serving(stub: Stub) -> AsyncIterator[Stub]:
    """Serve ``stub`` on a free loopback port (set as ``stub.port``) for the ``async with`` block.

    A session ends after SESSION_TIMEOUT at the latest (a test may stall a client on purpose), and
    a stalled client, a failed TLS handshake or a reset just ends it. On the way out the listener
    closes and every session still running gets a bounded time to end: nothing may outlive the
    test (filterwarnings = error turns a stray task into a failure).
    """
    sessions: set[asyncio.Task[None]] = set()

    async def session(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        sessions.add(task)
        try:
            async with asyncio.timeout(SESSION_TIMEOUT):
                await stub.handle(reader, writer)
        except (TimeoutError, OSError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
            sessions.discard(task)

    server = await asyncio.start_server(session, "127.0.0.1", 0)
    stub.port = server.sockets[0].getsockname()[1]
    try:
        yield stub
    finally:
        server.close()
        if sessions:
            await asyncio.wait(sessions, timeout=SESSION_TIMEOUT)
        await server.wait_closed()


@pytest.fixture
def serve_stub() -> ServeStub:
    """Runs a scripted stub server for the length of an ``async with`` block."""
    return _serving
