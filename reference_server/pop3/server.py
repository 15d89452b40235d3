"""The asyncio edge of the POP3 server: sockets, buffers, the autologout timer, TLS, the store.

Each connection is an `asyncio.Protocol` that only buffers bytes, plus one task that
drives the pure `Pop3Session`. The task answers every complete command already buffered
before it waits again (PIPELINING, RFC 2449 §6.6) and flushes when the input runs dry.
Owning the buffer lets STLS throw away plaintext that arrived after the command (RFC 2595
§4: the client "MUST NOT issue further commands until ... the TLS negotiation is
complete"). Messages stream from disk in chunks with write flow control, so a large
message never sits in memory.

The autologout timer (RFC 1939 §3, at least 10 minutes) closes the connection without a
response and without entering the UPDATE state. On server shutdown sessions are closed
the same way: nothing is deleted that the client did not QUIT for.

Wire lines are logged at DEBUG as ``%r >> %r`` / ``%r << %r`` with the session id first;
PASS, AUTH and SASL data are masked. Message bodies are not logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import logging
import os
import ssl
import time
from collections.abc import Callable
from typing import BinaryIO, Final

from reference_server.accounts import Accounts
from reference_server.lineconn import LineConnection, LineTooLong, Wake
from reference_server.pop3 import responses
from reference_server.pop3.maildrop import INBOX, ListingCache, MaildropLocks, open_maildrop
from reference_server.pop3.parsing import MessageEncoder
from reference_server.pop3.responses import Reply
from reference_server.pop3.state import (
    CheckCredentials,
    Expunge,
    OpenMaildrop,
    Outcome,
    Pop3Session,
    Pop3Settings,
    SendMessage,
    apop_timestamp,
)
from reference_server.sessions import SHUTDOWN_GRACE, Listener, SessionEnded, SessionRegistry, SessionRunnerBase
from reference_server.storage.api import MailStore, StorageError

log = logging.getLogger(__name__)
_RWF_NOWAIT: Final[int | None] = getattr(os, "RWF_NOWAIT", None)  # Linux 4.14+; elsewhere always a thread

DEFAULT_AUTOLOGOUT: Final = 600.0  # RFC 1939 §3: "MUST be of at least 10 minutes' duration"
READ_PAUSE_ABOVE: Final = 256 * 1024  # stop reading from a client this far ahead of us
READ_RESUME_BELOW: Final = 64 * 1024
MESSAGE_CHUNK: Final = 256 * 1024  # octets read from the store per step when sending a message
SYNC_READ_MAX: Final = 64 * 1024  # a message up to this size may be read on the event loop if cached
# RFC 1939 §8: -ERR when "a lock can not be acquired". A client that drops its connection and logs in
# again at once may find the lock still held only because the old session has not yet seen the EOF;
# a lock held for that long is not "in use", so login waits this long before answering [IN-USE].
LOCK_WAIT: Final = 1.0
LOCK_POLL: Final = 0.02
FAULTY_READ_BUFFER: Final = 128  # fault pop3.command-line-split-at-128; RFC 2449 §4 requires 255 with CRLF


class _Connection(LineConnection):
    """The shared line connection, plus the fixed-size command buffer of one POP3 fault."""

    def __init__(self, start_session: Callable[[_Connection], None]) -> None:
        super().__init__(start_session, READ_PAUSE_ABOVE, READ_RESUME_BELOW)

    def split_long_line(self, at: int) -> bytes | None:
        """The first `at` octets if the buffered line is longer than that, else None.

        Only for the fault pop3.command-line-split-at-128: a server reading commands into a
        fixed buffer takes a long line as two commands.
        """
        end = self.buffer.find(b"\r\n")
        if (end == -1 and len(self.buffer) <= at + 1) or 0 <= end <= at:
            return None
        return self.take(at)


_SERIALS: Final = itertools.count(1)


def _read_start(stream: BinaryIO) -> tuple[BinaryIO | None, bytes]:
    """Read up to MESSAGE_CHUNK octets (blocking: run it in a thread).

    Returns the stream still open when more may follow, or None when the end was reached (it
    is closed then), so a message smaller than a chunk needs no second hop to find its end.
    """
    try:
        pieces: list[bytes] = []
        wanted = MESSAGE_CHUNK
        while wanted > 0:
            piece = stream.read(wanted)
            if not piece:
                stream.close()
                return None, b"".join(pieces)
            pieces.append(piece)
            wanted -= len(piece)
        return stream, b"".join(pieces)
    except BaseException:
        stream.close()
        raise


def _read_if_cached(stream: BinaryIO) -> bytes | None:
    """The whole message if it is small and already in the page cache, else None; never blocks on I/O.

    A thread hop costs several times what reading a few KiB from memory does (the GIL changes
    hands twice), so small messages are read on the event loop -- but only with RWF_NOWAIT
    (Linux preadv2), which fails instead of waiting for the disk; a message only partly cached,
    a file system that cannot tell, or a stream without a file behind it goes to a thread.
    Maildir files are never rewritten in place, so the size from fstat is the size to read.
    """
    if _RWF_NOWAIT is None:
        return None
    try:
        fd = stream.fileno()
        size = os.fstat(fd).st_size
        if size > SYNC_READ_MAX:
            return None
        buffer = bytearray(size)
        got = os.preadv(fd, [buffer], 0, _RWF_NOWAIT) if size else 0
    except (OSError, ValueError):  # BlockingIOError when not cached; io.UnsupportedOperation is both
        return None
    return bytes(buffer) if got == size else None


class _SessionRunner(SessionRunnerBase):
    """Drives one Pop3Session over one connection and performs its effects."""

    _conn: _Connection

    def __init__(self, server: Pop3Server, connection: _Connection, session_id: str) -> None:
        super().__init__(connection, session_id, log)
        self._server = server
        self._faults = server.settings.faults
        # RFC 1939 §7: the timestamp "MUST be different each time the POP3 server issues a banner greeting"
        if self._faults.on("pop3.apop-timestamp-constant"):
            clock, serial = server.started_ns, 0  # the defect: made once, at start-up
        else:
            clock, serial = time.time_ns(), next(_SERIALS)
        timestamp = apop_timestamp(os.getpid(), clock, serial, server.settings.hostname)
        self.state = Pop3Session(server.settings, server.accounts, tls_active=server.implicit_tls, timestamp=timestamp)
        self._locked: str | None = None

    async def run(self) -> None:
        await self._drive("POP3 connection")

    async def _greet(self) -> None:
        await self._apply(self.state.greet())

    def _internal_error(self) -> bytes:
        self._queue(self.state.internal_error())  # -ERR
        return bytes(self._out)

    async def _end(self) -> None:
        """Release the lock first (unless deletions are still to apply), close, expunge what the state says."""
        doomed = self.state.connection_lost()
        if not doomed:
            self._release_lock()  # §6: no UPDATE state, so nothing to protect any longer
        self._conn.close()
        try:
            if doomed and self._locked is not None:
                log.warning("session %s: expunging %d messages without QUIT (fault)", self.id, len(doomed))
                with contextlib.suppress(StorageError, OSError):
                    await asyncio.to_thread(self._server.store.expunge, self._locked, INBOX, doomed)
        finally:
            self._release_lock()

    def _release_lock(self) -> None:
        if self._locked is not None:
            self._server.locks.release(self._locked)
            self._locked = None

    # --- the loop ----------------------------------------------------------------------------

    async def _command_loop(self) -> None:
        while not self.state.closed:
            line = self._next_line()
            if line is None:
                await self._flush()
                await self._wait()
                continue
            if isinstance(line, LineTooLong):
                self._log_in(b"<line too long, discarded>")
                await self._apply(self.state.line_too_long())
                continue
            if self._debug:
                self._log_in(self._masked(line))
            await self._apply(self.state.handle_line(line))
            if self._faults.on("pop3.pipelined-commands-dropped"):
                self._conn.discard_input()  # the defect: RFC 2449 §6.6 PIPELINING announced, then ignored

    def _next_line(self) -> bytes | LineTooLong | None:
        if not self.state.in_sasl_exchange and self._faults.on("pop3.command-line-split-at-128"):
            piece = self._conn.split_long_line(FAULTY_READ_BUFFER)
            if piece is not None:
                return piece  # the defect: the rest of the line is read as the next command
        return self._conn.next_line(self.state.line_limit)

    async def _wait(self) -> None:
        """Wait for more input; autologout and shutdown close without a response (§3)."""
        reason = await self._conn.wait_for_input(self._server.autologout, more=True)
        if reason is Wake.DATA:
            return
        raise SessionEnded(
            {Wake.EOF: "client closed the connection", Wake.TIMEOUT: "autologout"}.get(reason, reason.value)
        )

    # --- responses and effects ---------------------------------------------------------------

    def _queue(self, outcome: Outcome) -> None:
        for reply in outcome.replies:
            self._queue_reply(reply)

    def _queue_reply(self, reply: Reply) -> None:
        wire = responses.render(reply)
        if self._debug:
            log.debug("%r << %r", self.id, wire if len(wire) <= 512 else wire[:512] + b"...")
        self._out += wire

    async def _drain(self) -> None:
        """A client that stops reading is logged out like an idle one (§3 autologout)."""
        if not await self._conn.drain(self._server.autologout):
            raise SessionEnded("client stopped reading")

    async def _apply(self, outcome: Outcome) -> None:
        if outcome.delay > 0:
            await self._flush()
            await asyncio.sleep(outcome.delay)
        effect = outcome.effect
        if isinstance(effect, SendMessage):
            await self._send_message(outcome, effect)
            return
        self._queue(outcome)
        if effect is None:
            return
        if await self._connection_effect(effect):
            return
        if isinstance(effect, CheckCredentials):
            account = await asyncio.to_thread(
                self._server.accounts.authenticate, effect.login, effect.password, effect.authzid
            )
            log.info("session %s: login as %r %s", self.id, effect.login, "succeeded" if account else "failed")
            await self._apply(self.state.credentials_checked(account))
        elif isinstance(effect, OpenMaildrop):
            await self._apply(await self._open_maildrop(effect.login))
        elif isinstance(effect, Expunge):
            await self._expunge(effect)

    async def _open_maildrop(self, login: str) -> Outcome:
        """Lock, then list (RFC 1939 §4); a listing failure releases the lock before -ERR."""
        if not await self._acquire_lock(login):
            log.info("session %s: maildrop of %r is in use", self.id, login)
            return self.state.maildrop_in_use()
        self._locked = login
        try:
            maildrop = await asyncio.to_thread(
                open_maildrop, self._server.store, login, self._faults, self.id, self._server.listings
            )
        except (StorageError, OSError):
            log.exception("session %s: cannot open the maildrop of %r", self.id, login)
            self._release_lock()
            return self.state.maildrop_failed()
        log.info("session %s: %r logged in, %d messages", self.id, login, len(maildrop.all))
        return self.state.maildrop_opened(login, maildrop)

    async def _acquire_lock(self, login: str) -> bool:
        """Take the maildrop lock, waiting up to LOCK_WAIT for a session that is just ending (§8)."""
        locks = self._server.locks
        deadline = time.monotonic() + LOCK_WAIT
        while not locks.acquire(login):
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(LOCK_POLL)
        return True

    async def _expunge(self, effect: Expunge) -> None:
        login = self.state.login
        assert login is not None
        try:
            await asyncio.to_thread(self._server.store.expunge, login, INBOX, effect.uids)
            removed = True
        except (StorageError, OSError):
            log.exception("session %s: expunge failed", self.id)
            removed = False
        if removed:
            log.info("session %s: removed %d messages of %r", self.id, len(effect.uids), login)
        if effect.update:
            self._release_lock()  # §6: released whether the removal worked or not
            await self._apply(self.state.update_finished(removed))

    async def _send_message(self, outcome: Outcome, effect: SendMessage) -> None:
        """Open first, so that a message gone from disk gets -ERR instead of a broken +OK.

        The status line, the body and the terminating line are queued together, so a message
        that fits in one chunk leaves in one write (one TLS record run, one send) with
        whatever replies precede it; a larger one is written chunk by chunk under flow control.
        """
        login = self.state.login
        assert login is not None
        store = self._server.store
        try:
            opened = store.open_message(login, INBOX, effect.uid)  # metadata only: the snapshot just listed it
            whole = _read_if_cached(opened)
            if whole is None:
                stream, chunk = await asyncio.to_thread(_read_start, opened)
            else:
                opened.close()
                stream, chunk = None, whole
        except (StorageError, OSError):
            log.warning("session %s: message UID %d cannot be read", self.id, effect.uid)
            self._queue(self.state.message_unavailable())
            return
        encoder = MessageEncoder(effect.body_lines, stuff=effect.stuff)
        sent = 0
        try:
            self._queue_reply(effect.status)
            while True:
                wire = encoder.feed(chunk)
                sent += len(wire)
                self._out += wire
                if stream is None or encoder.done:
                    break
                await self._flush()
                chunk = await asyncio.to_thread(stream.read, MESSAGE_CHUNK)
                if not chunk:
                    break
        finally:
            if stream is not None:
                stream.close()
        self._out += encoder.finish()
        if self._debug:
            log.debug("%r << <%d octets of message UID %d>", self.id, sent, effect.uid)
        if len(self._out) >= MESSAGE_CHUNK:
            await self._flush()  # pipelined RETRs must not pile up unsent replies without bound

    # --- STLS ----------------------------------------------------------------------------------

    async def _start_tls(self) -> None:
        """RFC 2595 §4: drop pipelined plaintext, handshake, stay in AUTHORIZATION."""
        keep = self._faults.on("pop3.stls-buffered-commands-kept")
        await self._upgrade_to_tls(self._server.ssl_context, keep_plaintext=keep, command="STLS")
        self.state.tls_started()
        self._log_tls_started()

    # --- logging -------------------------------------------------------------------------------

    def _masked(self, line: bytes) -> bytes:
        """Passwords, APOP digests and SASL data never reach the log."""
        if self.state.in_sasl_exchange:
            return b"<SASL response masked>"
        keyword = line[:5].upper()
        if keyword == b"PASS ":
            return b"PASS <masked>"
        if keyword in (b"AUTH ", b"APOP ") and line.count(b" ") >= 2:
            return b" ".join(line.split(b" ")[:2]) + b" <masked>"
        return line


class Pop3Server(Listener):
    """One POP3 listener (tls: "none", "starttls" with STLS, or "implicit", RFC 8314 §3.1)."""

    def __init__(
        self,
        settings: Pop3Settings,
        accounts: Accounts,
        store: MailStore,
        locks: MaildropLocks,
        *,
        ssl_context: ssl.SSLContext | None = None,
        implicit_tls: bool = False,
        autologout: float = DEFAULT_AUTOLOGOUT,
        max_sessions: int = 100,
    ) -> None:
        if (implicit_tls or settings.tls_available) and ssl_context is None:
            raise ValueError("TLS needs an SSL context")
        super().__init__(ssl_context, implicit_tls)
        self.settings = settings
        self.accounts = accounts
        self.store = store
        self.locks = locks
        self.autologout = autologout
        self.registry = SessionRegistry(max_sessions, id_prefix="P")
        self.listings = ListingCache()
        self.started_ns = time.time_ns()

    def _start_session(self, connection: _Connection) -> None:
        session_id = self.registry.new_id()
        if self.registry.full:
            log.warning("session %s: refused, %d sessions already", session_id, self.registry.count)
            connection.write(responses.render(responses.err("[SYS/TEMP] too many connections, try again later")))
            connection.close()
            return
        runner = _SessionRunner(self, connection, session_id)
        task = asyncio.get_running_loop().create_task(runner.run(), name=f"pop3-{session_id}")
        self.registry.add(task, connection)

    def connection_factory(self) -> Callable[[], LineConnection]:
        return functools.partial(_Connection, self._start_session)

    async def shutdown(self, grace: float = SHUTDOWN_GRACE) -> None:
        """Close every session (without UPDATE, §3), cancelling those still busy after `grace`."""
        self.close()
        await self.registry.shutdown(grace)
        await self.wait_closed()
