"""What every protocol's listener and session runner does the same way.

SMTP and POP3 (and IMAP after them) differ in their state machines and their effects, not in
how a listener accepts and counts sessions, how a session learns its peer, upgrades to TLS or
logs the lines it reads. Those parts live here once, so a fix to one of them reaches every
protocol; each protocol keeps its own wording of replies and its faults.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import secrets
import ssl
from collections.abc import Callable
from typing import Final

from reference_server.effects import Close, StartTls
from reference_server.lineconn import LineConnection, listen

SHUTDOWN_GRACE: Final = 10.0  # seconds sessions get to finish what they are doing when the server stops


class SessionEnded(Exception):
    """The client went away, timed out, or the server is stopping (reason in args[0])."""


class SessionRegistry:
    """The live sessions of one or more listeners: the max_sessions limit and graceful shutdown."""

    def __init__(self, max_sessions: int, id_prefix: str = "S") -> None:
        self.max_sessions = max_sessions
        self._id_prefix = id_prefix
        self._sessions: dict[asyncio.Task[None], LineConnection] = {}
        self._ids = itertools.count(1)

    @property
    def count(self) -> int:
        return len(self._sessions)

    @property
    def full(self) -> bool:
        return len(self._sessions) >= self.max_sessions

    def new_id(self) -> str:
        """Short, unique in this process run, and not guessable from the previous one."""
        return f"{self._id_prefix}{next(self._ids)}-{secrets.token_hex(2)}"

    def add(self, task: asyncio.Task[None], connection: LineConnection) -> None:
        self._sessions[task] = connection
        task.add_done_callback(self._sessions.pop)

    async def shutdown(self, grace: float = SHUTDOWN_GRACE) -> None:
        """Ask every session to end (each protocol says goodbye its own way); cancel those still busy after `grace`."""
        for connection in self._sessions.values():
            connection.request_shutdown()
        tasks = list(self._sessions)
        if not tasks:
            return
        _, pending = await asyncio.wait(tasks, timeout=grace)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)


class Listener:
    """One listening socket whose connections start sessions through `start_session`."""

    def __init__(self, ssl_context: ssl.SSLContext | None, implicit_tls: bool) -> None:
        self.ssl_context = ssl_context
        self.implicit_tls = implicit_tls
        self._server: asyncio.Server | None = None

    def connection_factory(self) -> Callable[[], LineConnection]:
        """What listen() calls for each accepted socket."""
        raise NotImplementedError

    async def start(self, host: str, port: int) -> tuple[str, int]:
        """Bind and listen; return the bound address (port 0 picks a free port)."""
        self._server, bound = await listen(self.connection_factory(), host, port, self.ssl_context, self.implicit_tls)
        return bound

    def close(self) -> None:
        """Stop accepting connections; live sessions go on until their registry shuts them down."""
        if self._server is not None:
            self._server.close()

    async def wait_closed(self) -> None:
        if self._server is not None:
            await self._server.wait_closed()


class SessionRunnerBase:
    """The protocol-neutral half of a session runner: the peer, TLS, wire logging, the last-resort handler."""

    def __init__(self, connection: LineConnection, session_id: str, log: logging.Logger) -> None:
        self._conn = connection
        self.id = session_id
        self._log = log
        assert connection.transport is not None
        peer = connection.transport.get_extra_info("peername")
        self.peer_ip = str(peer[0]) if peer else "0.0.0.0"
        self._out = bytearray()
        self._debug = log.isEnabledFor(logging.DEBUG)

    async def _upgrade_to_tls(self, context: ssl.SSLContext | None, *, keep_plaintext: bool, command: str) -> None:
        """Handshake on the open connection, dropping plaintext that arrived after `command` unless a fault keeps it.

        RFC 3207 §6 and RFC 2595 §4: commands pipelined after STARTTLS/STLS in the clear must
        not be executed once TLS is up, or a man in the middle could inject them.
        """
        assert context is not None
        try:
            dropped = await self._conn.start_tls(context, drop_plaintext=not keep_plaintext)
        except OSError as exc:
            raise SessionEnded(str(exc)) from None
        if dropped:
            self._log.warning("session %s: discarded %d plaintext octets sent after %s", self.id, dropped, command)

    async def _flush(self) -> None:
        """Send what is queued for the client, then wait while it is not reading."""
        if self._out:
            self._conn.write(bytes(self._out))
            self._out.clear()
            await self._drain()

    async def _drain(self) -> None:
        await self._conn.drain()

    async def _connection_effect(self, effect: object) -> bool:
        """Carry out an effect every protocol shares (effects.py); False for any other effect.

        Both flush first: the replies before a close or a TLS handshake must reach the client
        in the clear and in full (RFC 3207 §4, RFC 2595 §4).
        """
        if isinstance(effect, Close):
            await self._flush()
            self._conn.close()
            raise SessionEnded("closed by server")
        if isinstance(effect, StartTls):
            await self._flush()
            await self._start_tls()
            return True
        return False

    async def _start_tls(self) -> None:
        """Upgrade with the protocol's context and faults (`_upgrade_to_tls`), then reset its state."""
        raise NotImplementedError

    async def _drive(self, opening: str) -> None:
        """Greet, answer commands until the session ends, then clean up -- whatever happens.

        The one last-resort handler of every protocol: an unexpected error gets the protocol's
        own error reply and a log line with the session id, never a traceback on the wire.
        """
        self._log.info("session %s: %s from %s", self.id, opening, self.peer_ip)
        try:
            await self._greet()
            await self._command_loop()
        except SessionEnded as ended:
            self._log.info("session %s: ended (%s)", self.id, ended.args[0])
        except Exception:
            self._log.exception("session %s: unexpected error; closing", self.id)
            with contextlib.suppress(Exception):
                self._conn.write(self._internal_error())
        finally:
            await self._end()

    async def _greet(self) -> None:
        raise NotImplementedError

    async def _command_loop(self) -> None:
        raise NotImplementedError

    def _internal_error(self) -> bytes:
        """Whatever is queued for the client, ending with the protocol's reply to an internal error."""
        raise NotImplementedError

    async def _end(self) -> None:
        """Release what the session holds and close the connection."""
        raise NotImplementedError

    def _log_tls_started(self) -> None:
        assert self._conn.transport is not None
        self._log.info("session %s: TLS started (%s)", self.id, self._conn.transport.get_extra_info("cipher"))

    def _log_in(self, line: bytes) -> None:
        self._log.debug("%r >> %r", self.id, line)
