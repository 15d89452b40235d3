"""The relay's SMTP client: one attempt to hand one message to one next hop.

`send_message` opens one connection, runs one mail transaction (RFC 5321 §3.3) and
returns one result per recipient; it never raises for network or protocol trouble, so
the queue runner decides retries and bounces from values alone (RFC 5321 §4.5.4.1,
§6.1). Replies are parsed, commands formatted and the data dot-stuffed in `wire.py`;
this module only moves bytes and decides what each reply means for each recipient.

Every decision the next hop did not make itself -- a failed connection, a timeout, a
malformed reply, an extension we need and it lacks -- is a local result with an RFC 3463
enhanced code, so that a delivery status notification can always say something precise.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ipaddress
import logging
import ssl
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Final

from reference_server.faults import NO_FAULTS, Faults
from reference_server.queue import wire
from reference_server.queue.wire import Extensions, MalformedReplyError, PathError, Reply, ReplyReader

log = logging.getLogger(__name__)

TLS_MODES: Final = ("none", "opportunistic", "required")
READ_SIZE: Final = 64 * 1024
DATA_CHUNK: Final = 64 * 1024  # the message is streamed: a 50 MB message never sits in memory

# RFC 3463 codes for decisions made here rather than by the next hop.
NO_ANSWER: Final = "4.4.1"  # X.4.1 No answer from host: the connection attempt failed
BAD_CONNECTION: Final = "4.4.2"  # X.4.2 Bad connection: timed out or dropped after connecting
PROTOCOL_ERROR: Final = "4.5.0"  # X.5.0 Other or undefined protocol status
LOCAL_ERROR: Final = "4.3.0"  # X.3.0 Other or undefined mail system status (our spool file)
SECURITY: Final = "4.7.0"  # X.7.0 Other or undefined security status (TLS required, not offered)
CRYPTO_FAILURE: Final = "4.7.5"  # X.7.5 Cryptographic failure (the TLS handshake failed)
TOO_BIG: Final = "5.3.4"  # X.3.4 Message too big for system (RFC 1870 §4)
NO_8BIT: Final = "5.6.3"  # X.6.3 Conversion required but not supported (RFC 6152 §3)
NO_UTF8: Final = "5.6.7"  # RFC 6531 §3.5: non-ASCII addresses not permitted
BAD_SENDER: Final = "5.1.7"  # X.1.7 Bad sender's mailbox address syntax
BAD_RECIPIENT: Final = "5.1.3"  # X.1.3 Bad destination mailbox address syntax


@dataclass(frozen=True)
class ClientSettings:
    """How the relay talks to next hops; one value shared by every attempt.

    Timeouts are per reply or per write, never per transaction (RFC 5321 §4.5.3.2).
    `ssl_context` None means an unverifying context: opportunistic STARTTLS protects
    against passive listeners only, and refusing an unverifiable certificate would just
    send the message in clear instead (RFC 3207 §4.1 leaves the decision to the client).
    """

    helo_name: str
    tls: str = "opportunistic"  # "none" | "opportunistic" (STARTTLS when offered) | "required"
    ssl_context: ssl.SSLContext | None = None
    connect_timeout: float = 30.0
    command_timeout: float = 300.0  # §4.5.3.2.1-4: greeting, MAIL, RCPT 5 min; DATA initiation 2 min
    data_timeout: float = 600.0  # §4.5.3.2.6: the reply after the final "."
    data_block_timeout: float = 180.0  # §4.5.3.2.5: each buffer of mail data handed to TCP
    quit_timeout: float = 10.0  # QUIT and closing: every recipient is decided by then
    faults: Faults = NO_FAULTS

    def __post_init__(self) -> None:
        wire.check_helo_name(self.helo_name)
        if self.tls not in TLS_MODES:
            raise ValueError(f"tls must be one of {', '.join(TLS_MODES)}, got {self.tls!r}")
        for name in ("connect_timeout", "command_timeout", "data_timeout", "data_block_timeout", "quit_timeout"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be a positive number of seconds")


@dataclass(frozen=True)
class OutgoingMessage:
    """One message for one next hop, as the spool hands it over."""

    reverse_path: str  # "" for the null reverse-path <>
    recipients: tuple[str, ...]  # forward-paths without angle brackets, all for this next hop
    path: Path  # the exact message bytes to send (CRLF line ends), NOT dot-stuffed
    size: int  # octets of the file
    eight_bit: bool  # has octets > 127 -> BODY=8BITMIME when offered
    smtputf8: bool  # addresses/headers need SMTPUTF8


@dataclass(frozen=True)
class RecipientResult:
    """What happened to one recipient in one attempt."""

    recipient: str
    code: int | None  # the reply code that decided it; None: no reply (connect failure, timeout, TLS failure)
    enhanced: str | None  # "5.1.1" etc. when the reply carried one, or our local decision's code
    text: str  # reply text or a one-line local reason

    @property
    def delivered(self) -> bool:
        return self.code is not None and 200 <= self.code < 300

    @property
    def permanent(self) -> bool:
        """5yz: do not repeat the request (RFC 5321 §4.2.1); the sender gets a bounce."""
        return self.code is not None and 500 <= self.code < 600

    @property
    def temporary(self) -> bool:
        """Everything else, no reply included: try again later (RFC 5321 §4.5.4.1)."""
        return not self.delivered and not self.permanent


@dataclass(frozen=True)
class AttemptResult:
    remote: str  # "host:port" actually contacted (DSN Remote-MTA)
    results: tuple[RecipientResult, ...]  # exactly one per recipient, same order as OutgoingMessage.recipients


class _Stop(Exception):
    """Ends the session: every recipient not decided yet gets this result.

    `polite` says whether the session is still in step so that QUIT makes sense; after a
    timeout, a drop, a malformed reply or a 421 the connection is just closed.
    """

    def __init__(self, code: int | None, enhanced: str | None, text: str, *, polite: bool) -> None:
        super().__init__(text)
        self.code = code
        self.enhanced = enhanced
        self.text = text
        self.polite = polite

    @classmethod
    def of(cls, reply: Reply) -> _Stop:
        """A 4yz or 5yz reply that decides every recipient still open (greeting, HELO, MAIL)."""
        return cls(reply.code, reply.enhanced, reply.text, polite=True)

    @classmethod
    def unexpected(cls, reply: Reply, what: str) -> _Stop:
        """A reply of a class this command cannot have (354 to RCPT, 250 to DATA): out of step."""
        return cls(None, PROTOCOL_ERROR, f"unexpected reply to {what}: {reply}", polite=False)


def format_remote(host: str, port: int) -> str:
    """`host:port`, with an IPv6 address in brackets so the port stays readable."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


@functools.lru_cache(maxsize=1)
def _unverified_context() -> ssl.SSLContext:
    """Encryption without authentication, for opportunistic STARTTLS (see ClientSettings)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


class _Channel:
    """One connection: write commands, read whole replies before a deadline.

    Every failure is turned into a _Stop naming what was being waited for, so the
    session logic above reads as the RFC's sequence of commands and replies.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, remote: str) -> None:
        self._reader = reader
        self._writer = writer
        self._remote = remote
        self._parser = ReplyReader()
        self._ready: deque[Reply] = deque()

    @property
    def has_unread_input(self) -> bool:
        """Bytes received beyond the replies read so far."""
        return bool(self._ready) or self._parser.pending

    async def send(self, data: bytes, what: str, timeout: float) -> None:
        if what != "mail data":
            for line in data.splitlines():
                log.debug("%s >> %r", self._remote, line)
        try:
            self._writer.write(data)
            await asyncio.wait_for(self._writer.drain(), timeout)
        except TimeoutError:
            raise _Stop(None, BAD_CONNECTION, f"could not send {what} within {timeout:g} s", polite=False) from None
        except OSError as error:
            raise _Stop(None, BAD_CONNECTION, f"connection lost while sending {what}: {error}", polite=False) from None

    async def reply(self, what: str, timeout: float) -> Reply:
        """The next complete reply; a 421 at any point ends the session (RFC 5321 §3.8)."""
        try:
            async with asyncio.timeout(timeout):
                while not self._ready:
                    data = await self._reader.read(READ_SIZE)
                    if not data:
                        raise _Stop(
                            None,
                            BAD_CONNECTION,
                            f"connection closed by {self._remote} while waiting for the reply to {what}",
                            polite=False,
                        )
                    self._ready.extend(self._parser.feed(data))
        except TimeoutError:
            raise _Stop(None, BAD_CONNECTION, f"no reply to {what} within {timeout:g} s", polite=False) from None
        except MalformedReplyError as error:
            raise _Stop(None, PROTOCOL_ERROR, f"malformed reply to {what}: {error.reason}", polite=False) from None
        except OSError as error:
            raise _Stop(
                None, BAD_CONNECTION, f"connection lost while waiting for the reply to {what}: {error}", polite=False
            ) from None
        reply = self._ready.popleft()
        log.debug("%s << %s", self._remote, reply)
        if reply.code == 421:
            raise _Stop(421, reply.enhanced, reply.text, polite=False)
        return reply

    async def command(self, line: bytes, what: str, timeout: float) -> Reply:
        await self.send(line, what, timeout)
        return await self.reply(what, timeout)

    async def start_tls(self, context: ssl.SSLContext, server_hostname: str | None, timeout: float) -> None:
        try:
            await self._writer.start_tls(context, server_hostname=server_hostname, ssl_handshake_timeout=timeout)
        except (OSError, TimeoutError, ValueError) as error:  # ssl.SSLError is an OSError
            raise _Stop(None, CRYPTO_FAILURE, f"TLS handshake failed: {error}", polite=False) from None
        self._parser = ReplyReader()

    async def close(self, timeout: float, *, quit_first: bool) -> None:
        """QUIT (RFC 5321 §4.1.1.10) when in step, then close; never raises for network trouble."""
        if quit_first:
            with contextlib.suppress(_Stop):  # every recipient is decided already; a bad goodbye changes nothing
                await self.command(wire.QUIT, "QUIT", timeout)
        self._writer.close()
        try:
            await asyncio.wait_for(self._writer.wait_closed(), timeout)
        except (OSError, TimeoutError):
            self.abort()

    def abort(self) -> None:
        """Drop the connection at once (no await: safe while being cancelled)."""
        self._writer.transport.abort()


class _Attempt:
    """The per-recipient bookkeeping of one attempt: who is decided, who is still open."""

    def __init__(self, message: OutgoingMessage, settings: ClientSettings) -> None:
        self.message = message
        self.settings = settings
        self.faults = settings.faults
        self._decided: dict[int, RecipientResult] = {}

    def decide(self, index: int, code: int | None, enhanced: str | None, text: str) -> None:
        if index not in self._decided:
            self._decided[index] = RecipientResult(self.message.recipients[index], code, enhanced, text)

    def decide_by(self, indexes: Iterable[int], reply: Reply) -> None:
        for index in indexes:
            self.decide(index, reply.code, reply.enhanced, reply.text)

    def decide_rest(self, code: int | None, enhanced: str | None, text: str) -> None:
        for index in range(len(self.message.recipients)):
            self.decide(index, code, enhanced, text)

    def is_open(self, index: int) -> bool:
        return index not in self._decided

    def results(self) -> tuple[RecipientResult, ...]:
        return tuple(self._decided[index] for index in range(len(self.message.recipients)))

    # --- the session, in RFC 5321 order ---------------------------------------------------

    async def run(self, host: str, port: int, remote: str, source: BinaryIO) -> None:
        channel: _Channel | None = None
        closed = False
        try:
            polite = True
            try:
                channel = await self._connect(host, port, remote)
                await self._session(channel, host, source)
            except _Stop as stop:
                self.decide_rest(stop.code, stop.enhanced, stop.text)
                polite = stop.polite
            if channel is not None:
                await channel.close(self.settings.quit_timeout, quit_first=polite)
            closed = True
        finally:
            if channel is not None and not closed:
                channel.abort()  # cancelled (or a bug): leave no connection behind

    async def _connect(self, host: str, port: int, remote: str) -> _Channel:
        timeout = self.settings.connect_timeout
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        except TimeoutError:
            raise _Stop(None, NO_ANSWER, f"no connection to {remote} within {timeout:g} s", polite=False) from None
        except ConnectionRefusedError:
            raise _Stop(None, NO_ANSWER, "connection refused", polite=False) from None
        except OSError as error:
            reason = error.strerror or str(error)
            raise _Stop(None, NO_ANSWER, f"cannot connect to {remote}: {reason}", polite=False) from None
        return _Channel(reader, writer, remote)

    async def _session(self, channel: _Channel, host: str, source: BinaryIO) -> None:
        timeout = self.settings.command_timeout
        greeting = await channel.reply("the greeting", timeout)
        if greeting.severity != 2:
            raise _Stop.of(greeting) if greeting.severity in (4, 5) else _Stop.unexpected(greeting, "the greeting")
        extensions = await self._hello(channel)
        extensions = await self._secure(channel, host, extensions)
        utf8 = self._needs_smtputf8()
        body = self._check_extensions(extensions, utf8)
        mail = self._mail_command(extensions, body, utf8)
        rcpts = self._rcpt_commands(utf8)
        if not rcpts:
            return
        if extensions.offers("PIPELINING") or self.faults.on("relay.pipelining-unannounced"):
            await self._pipelined(channel, mail, rcpts, source)
        else:
            await self._lockstep(channel, mail, rcpts, source)

    async def _hello(self, channel: _Channel) -> Extensions:
        """EHLO, or HELO when EHLO is refused (RFC 5321 §3.2); HELO means no extensions."""
        timeout = self.settings.command_timeout
        name = self.settings.helo_name
        ehlo = await channel.command(wire.ehlo_command(name), "EHLO", timeout)
        if ehlo.severity == 2:
            extensions = wire.parse_ehlo(ehlo)
            if extensions.ignored:
                log.info("ignored EHLO lines that are not ehlo-lines: %r", extensions.ignored)
            return extensions
        if ehlo.severity not in (4, 5):
            raise _Stop.unexpected(ehlo, "EHLO")
        helo = await channel.command(wire.helo_command(name), "HELO", timeout)
        if helo.severity == 2:
            return wire.NO_EXTENSIONS
        raise _Stop.of(helo) if helo.severity in (4, 5) else _Stop.unexpected(helo, "HELO")

    async def _secure(self, channel: _Channel, host: str, extensions: Extensions) -> Extensions:
        """STARTTLS (RFC 3207 §4) when offered and wanted; the EHLO after it replaces the extensions (§4.2)."""
        mode = self.settings.tls
        if mode == "none":
            return extensions
        if not extensions.offers("STARTTLS"):
            if mode == "required":
                raise _Stop(454, SECURITY, "TLS is required but the next hop does not offer STARTTLS", polite=True)
            return extensions
        timeout = self.settings.command_timeout
        reply = await channel.command(wire.STARTTLS, "STARTTLS", timeout)
        if reply.severity in (4, 5):
            if mode == "required":
                raise _Stop(454, SECURITY, f"TLS is required but the next hop refused STARTTLS: {reply}", polite=True)
            return extensions  # §4: the session goes on as before, in clear
        if reply.severity != 2:
            raise _Stop.unexpected(reply, "STARTTLS")
        if channel.has_unread_input:
            # §4.2: nothing from before the handshake may be trusted; plaintext sent after the
            # 220 would otherwise be read as if it had come through TLS (reply injection).
            raise _Stop(None, PROTOCOL_ERROR, "the next hop sent more data after its 220 to STARTTLS", polite=False)
        context = self.settings.ssl_context or _unverified_context()
        await channel.start_tls(context, None if _is_ip_literal(host) else host, timeout)
        return await self._hello(channel)

    def _needs_smtputf8(self) -> bool:
        message = self.message
        addresses = (message.reverse_path, *message.recipients)
        return message.smtputf8 or not all(address.isascii() for address in addresses)

    def _check_extensions(self, extensions: Extensions, utf8: bool) -> str | None:
        """Refuse locally what the next hop could not take; return the BODY= value to use."""
        message = self.message
        limit = extensions.size_limit
        if limit is not None and message.size > limit:
            raise _Stop(
                552,
                TOO_BIG,
                f"message of {message.size} octets exceeds the next hop's SIZE limit of {limit} (RFC 1870 §4)",
                polite=True,
            )
        if utf8 and not extensions.offers("SMTPUTF8"):
            raise _Stop(
                553, NO_UTF8, "the message needs SMTPUTF8 and the next hop lacks it (RFC 6531 §3.2)", polite=True
            )
        if not message.eight_bit:
            return None
        if extensions.offers("8BITMIME"):
            return "8BITMIME"
        if self.faults.on("relay.8bit-to-7bit-server"):
            return None
        raise _Stop(
            554, NO_8BIT, "the message has 8-bit content and the next hop lacks 8BITMIME (RFC 6152 §3)", polite=True
        )

    def _mail_command(self, extensions: Extensions, body: str | None, utf8: bool) -> bytes:
        reverse_path = self.message.reverse_path
        if reverse_path == "" and self.faults.on("relay.null-sender-rewritten"):
            reverse_path = f"postmaster@{self.settings.helo_name}"
        size = self.message.size if extensions.offers("SIZE") else None
        try:
            return wire.mail_command(reverse_path, size=size, body=body, smtputf8=utf8)
        except PathError as error:
            raise _Stop(553, BAD_SENDER, f"cannot send the reverse-path: {error}", polite=True) from None

    def _rcpt_commands(self, utf8: bool) -> list[tuple[int, bytes]]:
        """One RCPT per recipient, in order; an unsendable address is refused here, alone."""
        recipients = self.message.recipients
        commands: list[tuple[int, bytes]] = []
        for index, recipient in enumerate(recipients):
            if index == len(recipients) - 1 and index > 0 and self.faults.on("relay.drops-last-recipient"):
                self.decide(index, 250, "2.0.0", "OK")
                continue
            try:
                commands.append((index, wire.rcpt_command(recipient, smtputf8=utf8)))
            except PathError as error:
                self.decide(index, 553, BAD_RECIPIENT, f"cannot send the forward-path: {error}")
        return commands

    def _mail_accepted(self, reply: Reply) -> bool:
        """MAIL refused: that reply decides every recipient (RFC 5321 §4.1.1.2)."""
        if reply.severity == 2:
            return True
        if reply.severity not in (4, 5):
            raise _Stop.unexpected(reply, "MAIL")
        self.decide_by(range(len(self.message.recipients)), reply)
        return False

    def _rcpt_accepted(self, index: int, reply: Reply) -> bool:
        """A refused RCPT decides its recipient only (RFC 5321 §4.1.1.3)."""
        if reply.severity == 2:
            return self.is_open(index)
        if reply.severity not in (4, 5):
            raise _Stop.unexpected(reply, "RCPT")
        self.decide_by((index,), reply)
        return False

    async def _lockstep(self, channel: _Channel, mail: bytes, rcpts: list[tuple[int, bytes]], source: BinaryIO) -> None:
        """Without PIPELINING: each command waits for the reply to the one before."""
        timeout = self.settings.command_timeout
        if not self._mail_accepted(await channel.command(mail, "MAIL", timeout)):
            return
        accepted = []
        for index, command in rcpts:
            if self._rcpt_accepted(index, await channel.command(command, "RCPT", timeout)):
                accepted.append(index)
        if not accepted:
            return  # no DATA without a recipient; QUIT follows
        await self._data(channel, await channel.command(wire.DATA, "DATA", timeout), accepted, source)

    async def _pipelined(
        self, channel: _Channel, mail: bytes, rcpts: list[tuple[int, bytes]], source: BinaryIO
    ) -> None:
        """RFC 2920 §3.1: MAIL, every RCPT and DATA in one group, then every reply, counted in order.

        The group goes to the transport's buffer and is written while the replies are read,
        which is the non-blocking operation §3.1 allows (no TCP window bookkeeping needed).
        """
        timeout = self.settings.command_timeout
        await channel.send(mail + b"".join(command for _, command in rcpts) + wire.DATA, "MAIL, RCPT and DATA", timeout)
        mail_ok = self._mail_accepted(await channel.reply("MAIL", timeout))
        accepted = []
        for index, _ in rcpts:
            reply = await channel.reply("RCPT", timeout)
            if self._rcpt_accepted(index, reply) and mail_ok:
                accepted.append(index)
        data_reply = await channel.reply("DATA", timeout)
        if accepted:
            await self._data(channel, data_reply, accepted, source)
        elif data_reply.severity == 3:
            # §3.1: "if the DATA command was accepted the client SMTP should send a single dot".
            await channel.send(wire.END_OF_DATA, "the empty mail data", timeout)
            await channel.reply("the empty mail data", self.settings.data_timeout)

    async def _data(self, channel: _Channel, reply: Reply, accepted: list[int], source: BinaryIO) -> None:
        """DATA (RFC 5321 §4.1.1.4): 354, the dot-stuffed message, and the reply that decides them all."""
        if reply.severity in (4, 5):
            self.decide_by(accepted, reply)
            return
        if reply.severity != 3:
            raise _Stop.unexpected(reply, "DATA")
        stuffer = wire.DotStuffer(transparency=not self.faults.on("relay.dot-stuffing-missing"))
        block_timeout = self.settings.data_block_timeout
        while True:
            try:
                chunk = source.read(DATA_CHUNK)  # a local file read: short next to any network wait
            except OSError as error:
                # Never end the data here: a "." now would deliver a truncated message.
                raise _Stop(None, LOCAL_ERROR, f"cannot read the message file: {error}", polite=False) from None
            if not chunk:
                break
            wire_chunk = stuffer.feed(chunk)
            if wire_chunk:
                await channel.send(wire_chunk, "mail data", block_timeout)
        await channel.send(stuffer.finish(), "mail data", block_timeout)
        final = await channel.reply("the end of the mail data", self.settings.data_timeout)
        if final.severity in (2, 4, 5):
            self.decide_by(accepted, final)
            return
        raise _Stop.unexpected(final, "the end of the mail data")


async def send_message(host: str, port: int, message: OutgoingMessage, settings: ClientSettings) -> AttemptResult:
    """Try once to hand `message` to the SMTP server at host:port; one result per recipient.

    Never raises for network or protocol trouble (only asyncio.CancelledError passes
    through): whatever goes wrong becomes the result of every recipient it leaves open.
    """
    remote = format_remote(host, port)
    attempt = _Attempt(message, settings)
    if not message.recipients:
        return AttemptResult(remote, ())
    try:
        source = message.path.open("rb")
    except OSError as error:
        attempt.decide_rest(None, LOCAL_ERROR, f"cannot read the message file: {error.strerror or error}")
        return AttemptResult(remote, attempt.results())
    with source:
        await attempt.run(host, port, remote, source)
    # Every path above decides every recipient; should one ever stay open, it is retried, never lost.
    attempt.decide_rest(None, PROTOCOL_ERROR, "the attempt ended without a reply for this recipient")
    return AttemptResult(remote, attempt.results())
