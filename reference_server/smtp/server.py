"""The asyncio edge of the SMTP server: sockets, buffers, timeouts, TLS and the spool.

Each connection is an `asyncio.Protocol` that only buffers bytes, plus one task that
drives the pure `SmtpSession`. The task scans every complete command line already in the
buffer before it waits again, collects the replies of a pipelined group and writes them
with one call when the input runs dry or a reply must not wait (RFC 2920 §3.2). Owning
the buffer lets STARTTLS throw away plaintext that arrived after the command (RFC 3207
§6) -- the command-injection defence a stream reader would make awkward.

Wire lines are logged at DEBUG as ``%r >> %r`` (from the client) and ``%r << %r`` (to the
client) with the session id first; SASL data is masked.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import logging
import os
import re
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final, NoReturn, Protocol

from reference_server.accounts import Accounts
from reference_server.config import DEFAULT_COMMAND_TIMEOUT, DEFAULT_DATA_TIMEOUT, DEFAULT_IDLE_TIMEOUT
from reference_server.lineconn import LineConnection, LineTooLong, Wake
from reference_server.sessions import Listener, SessionEnded, SessionRegistry, SessionRunnerBase
from reference_server.smtp import replies
from reference_server.smtp.data import ChunkDecoder, DataPolicy, Defect, DotDecoder
from reference_server.smtp.headerscan import HeaderScanner
from reference_server.smtp.state import (
    CheckCredentials,
    Deliver,
    Envelope,
    Outcome,
    Phase,
    ReceiveChunk,
    ReceiveData,
    SessionSettings,
    SmtpSession,
    relay_prefix,
    trace_prefix,
)
from reference_server.storage.api import IncomingMessage, MailStore, StorageError

log = logging.getLogger(__name__)

READ_PAUSE_ABOVE: Final = 1024 * 1024  # stop reading from a client that is this far ahead of us
READ_RESUME_BELOW: Final = 256 * 1024


@dataclass(frozen=True)
class Timeouts:
    """Seconds to wait for the client (RFC 5321 §4.5.3.2)."""

    command: float = DEFAULT_COMMAND_TIMEOUT  # next command inside a transaction
    data: float = DEFAULT_DATA_TIMEOUT  # next block of mail data
    idle: float = DEFAULT_IDLE_TIMEOUT  # next command outside a transaction


class RelayQueue(Protocol):
    """The outgoing queue as a session sees it (reference_server.queue.runner.QueueRunner).

    An entry is enqueued durably but *held*, then released once every other part of the
    delivery succeeded (the 250 follows) or cancelled when something failed (the 451
    follows), so a client never gets a 451 for a message that is relayed anyway.
    """

    async def enqueue(
        self,
        message: IncomingMessage,
        *,
        reverse_path: str,
        recipients: Sequence[str],
        prefix: bytes,
        eight_bit: bool,
        smtputf8: bool,
        entry_id: str | None = None,
    ) -> str: ...

    def release(self, entry_id: str) -> None: ...

    async def cancel(self, entry_id: str) -> None: ...


_ANY_NEWLINE: Final = re.compile(rb"\r\n|\r|\n")  # fault smtp.command-lines-split-on-any-newline


class _Connection(LineConnection):
    """The shared line connection, plus the line-reading defects of two SMTP faults."""

    def __init__(self, start_session: Callable[[_Connection], None]) -> None:
        super().__init__(start_session, READ_PAUSE_ABOVE, READ_RESUME_BELOW)
        self.split_long_lines = False  # fault smtp.long-command-split

    def next_line(self, limit: int, any_newline: bool = False) -> bytes | LineTooLong | None:
        """Only CRLF ends a line (RFC 5321 §2.3.8), and a line over `limit` is dropped (§4.5.3.1.4),
        unless a fault makes any CR or LF end one, or cuts long lines into pieces."""
        if not any_newline and not self.split_long_lines:
            return super().next_line(limit)
        self._unscanned = False
        buffer = self.buffer
        end, ending = buffer.find(b"\r\n", self._scan_from), 2
        if any_newline and (match := _ANY_NEWLINE.search(buffer, self._scan_from)) is not None:
            end, ending = match.start(), match.end() - match.start()
        if self.split_long_lines and (end < 0 or end > limit) and len(buffer) > limit:
            return self.take(limit)  # a fixed-size line buffer: the rest is the "next line"
        if end < 0:
            self._hold_partial_line(limit)
            return None
        return self._cut_line(end, ending, limit)


_QUEUE_IDS: Final = itertools.count(1)
_QUEUE_PREFIX: Final = f"{int(time.time()):X}{os.getpid():X}"


def next_queue_id() -> str:
    """Unique per process run and cheap: ids are made on the hot path of every delivery."""
    return f"{_QUEUE_PREFIX}{next(_QUEUE_IDS):06X}"


class _SessionRunner(SessionRunnerBase):
    """Drives one SmtpSession over one connection and performs its effects."""

    _conn: _Connection

    def __init__(self, server: SmtpServer, connection: _Connection, session_id: str, accepting: bool) -> None:
        super().__init__(connection, session_id, log)
        self._server = server
        self._accepting = accepting  # False: over max_sessions, greet with 421 and close (§3.8)
        self.state = SmtpSession(
            server.settings,
            server.accounts,
            peer_ip=self.peer_ip,
            tls_active=server.implicit_tls,
        )
        self._faults = server.settings.faults
        connection.split_long_lines = self._faults.on("smtp.long-command-split")
        self._hold_while_input_pending = self._faults.on("smtp.replies-held-while-input-pending")
        self._input_dropped_after_errors = self._faults.on("smtp.pipelining-input-flushed")
        self._spool: IncomingMessage | None = None
        self._trace = HeaderScanner(b"received")  # RFC 5321 §6.3: Received: fields of the message
        self._eight_bit = False  # an octet > 127 in the message (the queue needs to know)

    async def run(self) -> None:
        await self._drive("connection")

    async def _greet(self) -> None:
        await self._apply(self.state.greet(self._accepting))

    def _internal_error(self) -> bytes:
        self._queue(self.state.internal_error())  # 421, RFC 5321 §3.8
        return bytes(self._out)

    async def _end(self) -> None:
        self._discard_spool()
        self.state.connection_lost()
        self._conn.close()

    # --- the loop -------------------------------------------------------------------------------

    async def _command_loop(self) -> None:
        any_newline = self._faults.on("smtp.command-lines-split-on-any-newline")
        hold_group = self._faults.on("smtp.pipelining-group-held-until-data")
        grouped = False
        while not self.state.closed:
            line = self._conn.next_line(self.state.line_limit, any_newline)
            if line is None:
                if hold_group and grouped and self._out:
                    await self._wait(self._command_timeout())  # waits for the group's DATA
                    continue
                if self._hold_while_input_pending and self._conn.buffer and self._out:
                    await self._wait(self._command_timeout())  # an unfinished line counts as "more input"
                    continue
                grouped = False
                await self._flush()
                await self._wait(self._command_timeout())
                continue
            if isinstance(line, LineTooLong):
                self._log_in(b"<line too long, discarded>")
                await self._apply(self.state.line_too_long())
                continue
            if self._debug:
                self._log_in(self._masked(line))
            if line[:4].upper() in (b"MAIL", b"RCPT", b"RSET"):
                grouped = grouped or bool(self._conn.buffer)
            await self._apply(self.state.handle_line(line))

    def _command_timeout(self) -> float:
        timeouts = self._server.timeouts
        if self.state.phase in (Phase.MAIL, Phase.RCPT, Phase.CHUNKING) or self.state.in_sasl_exchange:
            return timeouts.command
        return timeouts.idle

    async def _wait(self, timeout: float) -> None:
        """Wait for more input; on timeout or shutdown answer 421 and end (§3.8, §4.5.3.2)."""
        reason = await self._conn.wait_for_input(timeout, more=True)
        if reason is not Wake.DATA:
            await self._end_wait(reason)

    async def _end_wait(self, reason: Wake, during: str = "") -> NoReturn:
        """A wait ended without input: on timeout or shutdown the client hears 421 first (§3.8)."""
        if reason is Wake.EOF:
            raise SessionEnded(f"client closed the connection{during}")
        self._queue(self.state.timeout() if reason is Wake.TIMEOUT else self.state.shutdown())
        await self._flush()
        raise SessionEnded(f"{reason.value}{during}")

    # --- replies and effects ---------------------------------------------------------------

    def _queue(self, outcome: Outcome) -> None:
        for reply in outcome.replies:
            wire = replies.render(reply, self._faults)
            if self._debug:
                log.debug("%r << %r", self.id, wire)
            self._out += wire

    async def _apply(self, outcome: Outcome) -> None:
        self._queue(outcome)
        effect = outcome.effect
        if effect is None:
            if self._input_dropped_after_errors and any(r.code >= 400 for r in outcome.replies):
                self._conn.discard_input()
            if outcome.flush and not (self._hold_while_input_pending and self._conn.buffer):
                await self._flush()
            if self._spool is not None and self.state.phase is not Phase.CHUNKING:
                self._discard_spool()  # RSET, EHLO or a failure ended a BDAT transaction
            return
        if await self._connection_effect(effect):
            return
        if isinstance(effect, ReceiveData):
            await self._flush()
            defects, stored = await self._receive_data(effect.policy)
            await self._apply(self.state.data_finished(defects, stored, self._trace.count))
        elif isinstance(effect, ReceiveChunk):
            received, stored = await self._receive_chunk(effect)
            await self._apply(self.state.chunk_finished(received, stored, self._trace.count))
        elif isinstance(effect, CheckCredentials):
            await self._flush()
            creds = effect.credentials
            account = await asyncio.to_thread(
                self._server.accounts.authenticate, creds.login, creds.password, creds.authzid
            )
            log.info("session %s: AUTH as %r %s", self.id, creds.login, "succeeded" if account else "failed")
            await self._apply(self.state.credentials_checked(account))
        elif isinstance(effect, Deliver):
            await self._apply(await self._deliver(effect.envelope))

    # --- STARTTLS -------------------------------------------------------------------------------

    async def _start_tls(self) -> None:
        """RFC 3207: drop buffered plaintext (§6), handshake, reset the session (§4.2)."""
        keep = self._faults.on("smtp.starttls-buffered-commands-kept")
        await self._upgrade_to_tls(self._server.ssl_context, keep_plaintext=keep, command="STARTTLS")
        self.state.tls_started()
        self._log_tls_started()

    # --- mail data --------------------------------------------------------------------------------

    def _open_spool(self) -> bool:
        if self._spool is not None:
            return True
        try:
            self._spool = self._server.store.open_incoming()
        except (StorageError, OSError):
            log.exception("session %s: cannot open the spool", self.id)
            return False
        self._trace = HeaderScanner(b"received")
        self._eight_bit = False
        return True

    def _write_spool(self, data: bytes) -> bool:
        assert self._spool is not None
        self._trace.feed(data)
        self._eight_bit = self._eight_bit or not data.isascii()
        try:
            self._spool.write(data)
        except (StorageError, OSError):
            log.exception("session %s: cannot write the spool", self.id)
            self._discard_spool()
            return False
        return True

    def _discard_spool(self) -> None:
        spool, self._spool = self._spool, None
        if spool is not None:
            try:
                spool.discard()
            except (StorageError, OSError):
                log.exception("session %s: cannot discard the spool", self.id)

    async def _read_more(self) -> None:
        reason = await self._conn.wait_for_input(self._server.timeouts.data)
        if reason is not Wake.DATA:
            self._discard_spool()
            await self._end_wait(reason, " during mail data")

    async def _receive_data(self, policy: DataPolicy) -> tuple[set[Defect], bool]:
        """Stream DATA to the spool until <CRLF>.<CRLF>; never hold the message in memory."""
        decoder = DotDecoder(policy, self._faults)
        stored = self._open_spool()
        while True:
            if not self._conn.buffer:
                await self._read_more()
            decoded = decoder.feed(self._conn.take())
            if decoded.data and stored:
                stored = self._write_spool(decoded.data)
            if decoded.done:
                if not self._faults.on("smtp.input-after-data-dropped"):
                    self._conn.unread(decoded.rest)
                break
        level = logging.INFO if decoder.defects else logging.DEBUG
        log.log(
            level, "session %s: received %d octets of mail data%s", self.id, decoder.size, _defects(decoder.defects)
        )
        if decoder.rejected or not stored:
            self._discard_spool()
        return decoder.defects, stored

    async def _receive_chunk(self, chunk: ReceiveChunk) -> tuple[int, bool]:
        """Read one BDAT chunk exactly; keep at most `store_limit` octets of it (RFC 3030 §2)."""
        decoder = ChunkDecoder(chunk.size)
        stored = chunk.keep and self._open_spool()
        room = chunk.store_limit
        while decoder.remaining:
            if not self._conn.buffer:
                await self._read_more()
            decoded = decoder.feed(self._conn.take(decoder.remaining))
            if stored and decoded.data:
                part = decoded.data if room is None else decoded.data[:room]
                if room is not None:
                    room -= len(part)
                if part:
                    stored = self._write_spool(part)
        return chunk.size, stored or not chunk.keep

    async def _deliver(self, envelope: Envelope) -> Outcome:
        """Deliver locally and queue for relaying, and only then let the session say 250 (RFC 5321 §6.1).

        The queue copy is written first (it does not consume the spool), then local delivery
        consumes the spool; if that fails the queued entry is cancelled, so after a 451 nothing
        of the message remains to be delivered.
        """
        spool, self._spool = self._spool, None
        queue_id = next_queue_id()
        if spool is None:
            if not self._open_spool():
                return self.state.delivery_finished(False)
            spool, self._spool = self._spool, None
        assert spool is not None
        users = envelope.users
        relayed = envelope.relay_recipients
        dropped = [str(r.path) for r in envelope.recipients if r.login is None and not r.relay]
        if dropped:
            log.warning("session %s: %s accepted and dropped (fault)", self.id, ", ".join(dropped))
        if not users and not relayed:
            spool.discard()
            return self.state.delivery_finished(True)
        size = spool.size
        now = datetime.now().astimezone()
        entry_id = await self._enqueue(spool, envelope, relayed, now, queue_id) if relayed else None
        if relayed and entry_id is None:
            with contextlib.suppress(StorageError, OSError):
                spool.discard()
            return self.state.delivery_finished(False)
        if users:
            prefix = trace_prefix(envelope, self._server.settings.hostname, now, queue_id, self._faults)
            try:
                await self._server.store.deliver(spool, users, prefix)
            except (StorageError, OSError):
                log.exception("session %s: delivery failed", self.id)
                with contextlib.suppress(StorageError, OSError):
                    spool.discard()
                await self._cancel_queued(entry_id)
                return self.state.delivery_finished(False)
        else:
            spool.discard()
        if entry_id is not None:
            assert self._server.queue is not None
            self._server.queue.release(entry_id)
        log.info(
            "session %s: accepted %s from %s for %s (%d octets)",
            self.id,
            queue_id,
            envelope.reverse_path,
            ", ".join([*users, *(f"<{address}> (queued)" for address in relayed)]),
            size,
        )
        return self.state.delivery_finished(True)

    async def _enqueue(
        self, spool: IncomingMessage, envelope: Envelope, relayed: Sequence[str], now: datetime, queue_id: str
    ) -> str | None:
        """Write the relay copy into the outgoing queue (held); None if that failed."""
        queue = self._server.queue
        if queue is None:
            log.error("session %s: relay recipients accepted but the server has no queue", self.id)
            return None
        mailbox = envelope.reverse_path.mailbox
        try:
            return await queue.enqueue(
                spool,
                reverse_path=str(mailbox) if mailbox is not None else "",
                recipients=relayed,
                prefix=relay_prefix(envelope, self._server.settings.hostname, now, queue_id, self._faults),
                eight_bit=self._eight_bit,
                smtputf8=envelope.options.smtputf8,
                entry_id=queue_id,
            )
        except (StorageError, OSError):
            log.exception("session %s: cannot queue the message for relaying", self.id)
            return None

    async def _cancel_queued(self, entry_id: str | None) -> None:
        if entry_id is None or self._server.queue is None:
            return
        try:
            await self._server.queue.cancel(entry_id)
        except (StorageError, OSError):
            log.exception(
                "session %s: cannot remove queued entry %s; it may be relayed after the 451", self.id, entry_id
            )

    # --- logging -------------------------------------------------------------------------------------

    def _masked(self, line: bytes) -> bytes:
        """AUTH secrets never reach the log."""
        if self.state.in_sasl_exchange:
            return b"<SASL response masked>"
        if line[:5].upper() == b"AUTH " and line.count(b" ") >= 2:
            return b" ".join(line.split(b" ")[:2]) + b" <initial response masked>"
        return line


def _defects(defects: set[Defect]) -> str:
    return f" ({', '.join(sorted(d.value for d in defects))})" if defects else ""


class SmtpServer(Listener):
    """One SMTP or submission listener."""

    def __init__(
        self,
        settings: SessionSettings,
        accounts: Accounts,
        store: MailStore,
        registry: SessionRegistry,
        *,
        ssl_context: ssl.SSLContext | None = None,
        implicit_tls: bool = False,
        timeouts: Timeouts | None = None,
        queue: RelayQueue | None = None,
    ) -> None:
        if implicit_tls and ssl_context is None:
            raise ValueError("implicit TLS needs an SSL context")
        super().__init__(ssl_context, implicit_tls)
        self.settings = settings
        self.accounts = accounts
        self.store = store
        self.registry = registry
        self.timeouts = timeouts or Timeouts()
        self.queue = queue

    def _start_session(self, connection: _Connection) -> None:
        runner = _SessionRunner(self, connection, self.registry.new_id(), accepting=not self.registry.full)
        task = asyncio.get_running_loop().create_task(runner.run(), name=f"smtp-{runner.id}")
        self.registry.add(task, connection)

    def connection_factory(self) -> Callable[[], LineConnection]:
        return functools.partial(_Connection, self._start_session)
