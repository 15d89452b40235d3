"""SMTP load generator: persistent connections, optional pipelining, bounded in count and time.

Each worker keeps one connection for the whole run and repeats MAIL/RCPT/DATA transactions on it
(RFC 5321 §3.3), so the numbers measure message handling, not connection set-up. A transaction's
latency runs from its first command to the reply after the end of data: the moment a server that
keeps its word has the message on stable storage (RFC 5321 §6.1). With ``--pipelining`` MAIL, RCPT
and DATA leave in one write, DATA last in the group as RFC 2920 §3.1 requires, whenever the server
offers PIPELINING; otherwise the worker waits for each reply in turn.

Loopback only: a load generator aimed at someone else's server is an attack, so any host that is
not a loopback address (or the name ``localhost``) is refused before a socket is opened.

    python -m benchmarks.smtp_load --server 127.0.0.1:2525 --connections 10 --messages 2000 \
        --size 1024 [--pipelining] [--max-seconds 60] [--starttls no]

prints one JSON object: msgs_per_s, p50_ms, p99_ms, sent, failed, seconds (and a few details).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import json
import math
import ssl
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Final

CRLF: Final = b"\r\n"
END_OF_DATA: Final = b".\r\n"  # RFC 5321 §4.1.1.4: "<CRLF>.<CRLF>", the last line's CRLF comes first
DATA_COMMAND: Final = b"DATA\r\n"
LOCALHOST: Final = "localhost"

TEXT_LINE_OCTETS: Final = 80  # 78 characters + CRLF: RFC 5322 §2.1.1, well inside RFC 5321 §4.5.3.1.6
PRINTABLE: Final = bytes(range(0x21, 0x7F))  # RFC 5322 §2.2 printable US-ASCII; "." leads every 94th line
STREAM_LIMIT_OCTETS: Final = 65536  # far above the 512 of RFC 5321 §4.5.3.1.5, so only garbage trips it
REPLY_CODE_OCTETS: Final = 3  # RFC 5321 §4.2: three digits, then "-", " " or the line end
SEQUENCE_DIGITS: Final = 12  # fixed width, so every message of a run has exactly the requested size

DEFAULT_MAX_SECONDS: Final = 60.0
DEFAULT_REPLY_TIMEOUT: Final = 60.0  # far below RFC 5321 §4.5.3.2's minutes: a benchmark must end
CONNECT_TIMEOUT: Final = 10.0
QUIT_TIMEOUT: Final = 2.0
REPLIES_PER_TRANSACTION: Final = 4  # MAIL, RCPT, DATA, end of data: bounds one transaction's wait

SIZE_SUFFIXES: Final = {"": 1, "K": 1 << 10, "M": 1 << 20}


class NotLoopback(ValueError):
    """The target is not this machine's loopback interface."""


class ProtocolError(Exception):
    """The server sent something that is not an SMTP reply (RFC 5321 §4.2)."""


class LoadError(Exception):
    """The run could not start (no connection, no greeting, no STARTTLS) or did not end in time."""


@dataclass(frozen=True)
class Endpoint:
    """Where to connect: ``address`` is always a loopback IP literal, whatever the user typed."""

    host: str
    address: str
    port: int


def loopback_address(host: str) -> str:
    """Return the IP literal to connect to, or raise NotLoopback.

    Names other than ``localhost`` are refused rather than resolved: a resolver answer could change
    between the check and the connection, and a benchmark has no use for any other name.
    """
    if host.lower() == LOCALHOST:
        return "127.0.0.1"
    refusal = f"{host!r} is not a loopback address; only 127.0.0.0/8, ::1 and localhost"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise NotLoopback(refusal) from None
    if not address.is_loopback:
        raise NotLoopback(refusal)
    return str(address)


def parse_endpoint(server: str) -> Endpoint:
    """'127.0.0.1:2525', '[::1]:2525' or 'localhost:2525' -> Endpoint; NotLoopback for any other host."""
    host, colon, port_text = server.rpartition(":")
    if not host or not colon or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f"{server!r}: expected HOST:PORT")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return Endpoint(host=host, address=loopback_address(host), port=int(port_text))


def parse_octets(text: str) -> int:
    """'1024', '100K', '50M' -> octets (K and M are powers of 1024)."""
    number, suffix = (text[:-1], text[-1:].upper()) if text[-1:].isalpha() else (text, "")
    if suffix not in SIZE_SUFFIXES or not number.isdigit():
        raise ValueError(f"{text!r}: expected a number of octets, optionally with K or M")
    return int(number) * SIZE_SUFFIXES[suffix]


@dataclass(frozen=True)
class Reply:
    """One complete SMTP reply: its code and the text of each line (RFC 5321 §4.2)."""

    code: int
    lines: tuple[bytes, ...]

    @property
    def positive(self) -> bool:
        """2yz: the command was accepted (RFC 5321 §4.2.1)."""
        return 200 <= self.code < 300


def parse_reply_line(line: bytes) -> tuple[int, bool, bytes]:
    """Split one reply line into (code, is_last_line, text).

    RFC 5321 §4.2.1: every line but the last has a hyphen after the code; the last has a space
    or, which clients "MUST be prepared for", nothing at all.
    """
    body = line.rstrip(b"\r\n")
    code_text = body[:REPLY_CODE_OCTETS]
    if len(code_text) < REPLY_CODE_OCTETS or not code_text.isdigit() or code_text[:1] not in b"2345":
        raise ProtocolError(f"not an SMTP reply line: {line[:80]!r}")
    separator = body[REPLY_CODE_OCTETS : REPLY_CODE_OCTETS + 1]
    if separator not in (b"", b" ", b"-"):
        raise ProtocolError(f"no separator after the reply code: {line[:80]!r}")
    return int(code_text), separator != b"-", body[REPLY_CODE_OCTETS + 1 :]


async def read_reply(reader: asyncio.StreamReader) -> Reply:
    """Read one whole (possibly multiline) reply; every line must carry the same code (RFC 5321 §4.2.1)."""
    code: int | None = None
    texts: list[bytes] = []
    while True:
        line = await reader.readline()
        if not line.endswith(b"\n"):
            raise ProtocolError("the connection closed in the middle of a reply")
        line_code, last, text = parse_reply_line(line)
        if code is not None and line_code != code:
            raise ProtocolError(f"reply code changed from {code} to {line_code} inside one reply")
        code = line_code
        texts.append(text)
        if last:
            return Reply(code, tuple(texts))


def ehlo_keywords(reply: Reply) -> frozenset[str]:
    """The extension keywords of an EHLO reply: first word of every line after the greeting line."""
    words = (text.split() for text in reply.lines[1:])
    return frozenset(line[0].decode("ascii", "replace").upper() for line in words if line)


def dot_stuff(text: bytes) -> bytes:
    """Double the period that starts any line (RFC 5321 §4.5.2), so no line can end the data early."""
    stuffed = text.replace(b"\r\n.", b"\r\n..")
    return b"." + stuffed if stuffed.startswith(b".") else stuffed


def body_lines(octets: int) -> Iterator[bytes]:
    """CRLF-ended lines of printable text adding up to exactly ``octets``.

    Each line starts one character further along PRINTABLE, so every 94th line starts with a
    period and the server's dot-unstuffing is part of what gets measured.
    """
    if octets == 1:
        raise ValueError("a one-octet body cannot be a CRLF-ended line")
    repeated = PRINTABLE * 2
    remaining = octets
    index = 0
    while remaining:
        length = min(TEXT_LINE_OCTETS, remaining)
        if remaining - length == 1:  # never leave one octet behind: no line is that short
            length -= 1
        start = index % len(PRINTABLE)
        yield repeated[start : start + length - len(CRLF)] + CRLF
        remaining -= length
        index += 1


def validate_address(address: str) -> str:
    """Refuse anything that could break out of the angle brackets of MAIL FROM / RCPT TO."""
    if not address.isascii() or any(ch in address for ch in "<> \t\r\n") or "@" not in address:
        raise ValueError(f"{address!r}: expected a plain local@domain address")
    return address


class MessageFactory:
    """Messages of one exact size that differ only in their Message-ID.

    The body is built and dot-stuffed once; a message costs one small header per transaction.
    ``octets`` counts the message as stored: header, body and every CRLF, without the stuffed
    dots or the final ".CRLF" (the same measure as RFC 1870 §6's SIZE parameter).
    """

    def __init__(self, octets: int, mail_from: str, rcpt: str) -> None:
        date = format_datetime(datetime.now(UTC))
        self._header = (
            f"Date: {date}\r\n"
            f"From: {validate_address(mail_from)}\r\n"
            f"To: {validate_address(rcpt)}\r\n"
            "Subject: mailconform load test\r\n"
            f"Message-ID: <%0{SEQUENCE_DIGITS}d.%d@loadgen.invalid>\r\n"
            "\r\n"
        ).encode("ascii")
        body_octets = octets - len(self.header(0, 0))
        if body_octets < 0 or body_octets == 1:
            raise ValueError(f"{octets} octets: the header alone takes {len(self.header(0, 0))}")
        self.octets = octets
        self.body_wire = dot_stuff(b"".join(body_lines(body_octets))) + END_OF_DATA

    def header(self, worker: int, sequence: int) -> bytes:
        """The header section and its empty line; never starts a line with a period."""
        return self._header % (sequence, worker)


def percentile(ordered: Sequence[float], fraction: float) -> float | None:
    """Nearest-rank percentile of already sorted values: the smallest value with at least that share."""
    if not ordered:
        return None
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def latency_summary(latencies: Iterable[float]) -> dict[str, float | None]:
    """Median and 99th percentile in milliseconds (to the microsecond), None with no latencies:
    the two numbers every load generator's summary and both runners' tables report."""
    ordered = sorted(latencies)
    p50, p99 = percentile(ordered, 0.50), percentile(ordered, 0.99)
    return {
        "p50_ms": None if p50 is None else round(p50 * 1000, 3),
        "p99_ms": None if p99 is None else round(p99 * 1000, 3),
    }


@dataclass(frozen=True)
class LoadSpec:
    """One run: where, how many connections and messages, how big, and the bounds."""

    endpoint: Endpoint
    connections: int = 10
    messages: int = 2000
    size: int = 1024
    pipelining: bool = False
    max_seconds: float = DEFAULT_MAX_SECONDS
    starttls: bool = False
    cafile: str | None = None
    mail_from: str = "loadgen@localhost"
    rcpt: str = "sink@localhost"
    reply_timeout: float = DEFAULT_REPLY_TIMEOUT

    def __post_init__(self) -> None:
        if self.connections < 1 or self.messages < 0:
            raise ValueError("need at least one connection and a non-negative message count")
        if not self.max_seconds > 0 or not self.reply_timeout > 0:
            raise ValueError("max-seconds and reply-timeout must be positive")
        loopback_address(self.endpoint.address)  # an Endpoint built by hand is checked too
        validate_address(self.mail_from)
        validate_address(self.rcpt)


@dataclass(kw_only=True)
class RunTally:
    """What every load generator's run keeps, whatever the protocol: failures, elapsed time, the
    latency of each completed operation and the failures by reason. The SMTP and POP3 results
    build on it, so their summaries state these the same way and in the same place."""

    failed: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)

    def per_second(self, count: int) -> float:
        """``count`` over the elapsed time; 0 for a run that took no time (and so did nothing)."""
        return count / self.seconds if self.seconds > 0 else 0.0

    def summarize(
        self, rate_name: str, count_name: str, count: int, details: Mapping[str, object]
    ) -> dict[str, object]:
        """The printed summary: the rate of ``count`` and latencies first, then the counts, then the
        protocol's own ``details``, the failure reasons (most frequent first) last."""
        return {
            rate_name: round(self.per_second(count), 1),
            **latency_summary(self.latencies),
            count_name: count,
            "failed": self.failed,
            "seconds": round(self.seconds, 3),
            **details,
            "errors": dict(self.errors.most_common()),
        }


@dataclass
class LoadResult(RunTally):
    """What a run did: delivered and failed counts, latencies of the delivered ones, elapsed time."""

    connections: int
    size: int
    pipelined: bool = False
    sent: int = 0

    @property
    def msgs_per_s(self) -> float:
        return self.per_second(self.sent)

    def summary(self) -> dict[str, object]:
        details = {"connections": self.connections, "size": self.size, "pipelined": self.pipelined}
        return self.summarize("msgs_per_s", "sent", self.sent, details)


def client_tls_context(cafile: str | None) -> ssl.SSLContext:
    """Verify the chain when a CA file is given; otherwise encrypt without verifying.

    Verification buys nothing on a loopback benchmark (the peer is our own child process) and
    test servers usually run on throwaway certificates; the host name is never checked because
    the loopback address is not what such a certificate names.
    """
    context = ssl.create_default_context(cafile=cafile)
    context.check_hostname = False
    if cafile is None:
        context.verify_mode = ssl.CERT_NONE
    return context


# What a broken connection looks like; ValueError is StreamReader's "line longer than the limit".
CONNECTION_FAILURES: Final = (OSError, ProtocolError, TimeoutError, ValueError, asyncio.IncompleteReadError)


class Connection:
    """One persistent SMTP connection, greeted and EHLO'd, ready for transactions."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        spec: LoadSpec,
        keywords: frozenset[str],
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._timeout = spec.reply_timeout
        self.pipelined = spec.pipelining and "PIPELINING" in keywords
        size_parameter = f" SIZE={spec.size}" if "SIZE" in keywords else ""  # RFC 1870 §6
        self._mail = f"MAIL FROM:<{spec.mail_from}>{size_parameter}\r\n".encode("ascii")
        self._rcpt = f"RCPT TO:<{spec.rcpt}>\r\n".encode("ascii")

    @classmethod
    async def open(cls, spec: LoadSpec) -> Connection:
        """Connect, read the 220 greeting, EHLO; with STARTTLS, negotiate TLS and EHLO again."""
        async with asyncio.timeout(CONNECT_TIMEOUT):
            reader, writer = await asyncio.open_connection(
                spec.endpoint.address, spec.endpoint.port, limit=STREAM_LIMIT_OCTETS
            )
        try:
            async with asyncio.timeout(spec.reply_timeout):
                greeting = await read_reply(reader)
                if greeting.code != 220:
                    raise LoadError(f"greeting {greeting.code}, not 220")
                keywords = await cls._ehlo(reader, writer)
                if spec.starttls:
                    if "STARTTLS" not in keywords:
                        raise LoadError("--starttls yes, but the server does not offer STARTTLS")
                    writer.write(b"STARTTLS\r\n")
                    reply = await read_reply(reader)
                    if reply.code != 220:
                        raise LoadError(f"STARTTLS answered {reply.code}, not 220")
                    await writer.start_tls(client_tls_context(spec.cafile))
                    keywords = await cls._ehlo(reader, writer)  # RFC 3207 §4.2: forget the old list
        except BaseException:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
            raise
        return cls(reader, writer, spec, keywords)

    @staticmethod
    async def _ehlo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> frozenset[str]:
        writer.write(b"EHLO loadgen.localhost\r\n")
        reply = await read_reply(reader)
        if reply.code != 250:
            raise LoadError(f"EHLO answered {reply.code}, not 250")
        return ehlo_keywords(reply)

    async def deliver(self, header: bytes, body_wire: bytes) -> str | None:
        """One transaction; None when the server took the message, else why not.

        Raises on a broken connection (OSError, ProtocolError, TimeoutError): the caller must
        reconnect, since nobody knows what state the session is in.
        """
        async with asyncio.timeout(self._timeout * REPLIES_PER_TRANSACTION):
            if self.pipelined:
                return await self._deliver_pipelined(header, body_wire)
            return await self._deliver_lockstep(header, body_wire)

    async def _deliver_lockstep(self, header: bytes, body_wire: bytes) -> str | None:
        for stage, command in (("MAIL", self._mail), ("RCPT", self._rcpt)):
            self._writer.write(command)
            reply = await read_reply(self._reader)
            if not reply.positive:
                return await self._reset(f"{stage} {reply.code}")
        self._writer.write(DATA_COMMAND)
        reply = await read_reply(self._reader)
        if reply.code != 354:
            return await self._reset(f"DATA {reply.code}")
        return await self._send_content(header, body_wire)

    async def _deliver_pipelined(self, header: bytes, body_wire: bytes) -> str | None:
        """RFC 2920 §3.1: one group ending in DATA, then every one of its replies is checked."""
        self._writer.write(self._mail + self._rcpt + DATA_COMMAND)
        mail = await read_reply(self._reader)
        rcpt = await read_reply(self._reader)
        data = await read_reply(self._reader)
        if data.code != 354:
            refusals = [f"{verb} {r.code}" for verb, r in (("MAIL", mail), ("RCPT", rcpt)) if not r.positive]
            return await self._reset(refusals[0] if refusals else f"DATA {data.code}")
        if mail.positive and rcpt.positive:
            return await self._send_content(header, body_wire)
        # DATA accepted with nobody to deliver to: "the client SMTP should send a single dot".
        self._writer.write(END_OF_DATA)
        await read_reply(self._reader)
        return f"MAIL {mail.code}" if not mail.positive else f"RCPT {rcpt.code}"

    async def _send_content(self, header: bytes, body_wire: bytes) -> str | None:
        self._writer.write(header + body_wire)  # one segment where it fits, as a buffering client sends
        await self._writer.drain()
        reply = await read_reply(self._reader)
        return None if reply.positive else f"end of data {reply.code}"

    async def _reset(self, reason: str) -> str:
        """Leave a refused transaction with RSET so the next one starts clean (RFC 5321 §4.1.1.5)."""
        self._writer.write(b"RSET\r\n")
        await read_reply(self._reader)
        return reason

    async def close(self) -> None:
        """QUIT politely if the server still listens; close the socket whatever happens."""
        try:
            if not self._writer.is_closing():
                async with asyncio.timeout(QUIT_TIMEOUT):
                    self._writer.write(b"QUIT\r\n")
                    await read_reply(self._reader)
        except CONNECTION_FAILURES:
            pass
        finally:
            self.abort()
            with contextlib.suppress(OSError, TimeoutError):
                async with asyncio.timeout(QUIT_TIMEOUT):
                    await self._writer.wait_closed()

    def abort(self) -> None:
        self._writer.close()


class Tickets:
    """Hands out numbers (of messages; of operations in pop3_load) until the count or the deadline is reached."""

    def __init__(self, total: int, deadline: float) -> None:
        self._total = total
        self._deadline = deadline
        self._next = 0

    def take(self) -> int | None:
        if self._next >= self._total or time.perf_counter() >= self._deadline:
            return None
        self._next += 1
        return self._next - 1


async def run_load(spec: LoadSpec) -> LoadResult:
    """Open every connection, then run transactions until the count or the time is used up.

    The clock starts once all connections are greeted, so a slow accept loop does not hide in
    the message rate, and stops at the last reply (QUIT is not timed). A connection that breaks
    costs its message and is reopened; a worker that cannot reopen one stops.
    """
    factory = MessageFactory(spec.size, spec.mail_from, spec.rcpt)
    openings = (Connection.open(spec) for _ in range(spec.connections))
    opened = await asyncio.gather(*openings, return_exceptions=True)
    connections = [item for item in opened if isinstance(item, Connection)]
    problems = [item for item in opened if not isinstance(item, Connection)]
    if problems:
        await asyncio.gather(*(connection.close() for connection in connections))
        first = problems[0]
        if isinstance(first, LoadError | OSError | ProtocolError | TimeoutError):
            raise LoadError(f"{len(problems)} of {spec.connections} connections failed: {first!r}") from first
        raise first
    result = LoadResult(spec.connections, spec.size, pipelined=all(c.pipelined for c in connections))
    started = time.perf_counter()
    finished = started
    tickets = Tickets(spec.messages, started + spec.max_seconds)

    async def work(worker: int, connection: Connection) -> None:
        nonlocal finished
        try:
            while (sequence := tickets.take()) is not None:
                began = time.perf_counter()
                try:
                    failure = await connection.deliver(factory.header(worker, sequence), factory.body_wire)
                except CONNECTION_FAILURES as error:
                    result.failed += 1
                    result.errors[f"connection: {type(error).__name__}"] += 1
                    connection.abort()
                    try:
                        connection = await Connection.open(spec)
                    except (*CONNECTION_FAILURES, LoadError):
                        return
                    continue
                finished = time.perf_counter()
                if failure is None:
                    result.sent += 1
                    result.latencies.append(finished - began)
                else:
                    result.failed += 1
                    result.errors[failure] += 1
        finally:
            await connection.close()

    last_transaction = spec.reply_timeout * REPLIES_PER_TRANSACTION
    hard_limit = spec.max_seconds + last_transaction + CONNECT_TIMEOUT + QUIT_TIMEOUT
    try:
        async with asyncio.timeout(hard_limit):
            await asyncio.gather(*(work(index, connection) for index, connection in enumerate(connections)))
    except TimeoutError:
        raise LoadError(f"the run did not end within {hard_limit:g} s") from None
    result.seconds = finished - started
    return result


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.smtp_load", description="SMTP load generator (loopback only)."
    )
    parser.add_argument("--server", required=True, help="HOST:PORT on a loopback address")
    parser.add_argument("--connections", type=int, default=10, help="persistent connections (default 10)")
    parser.add_argument("--messages", type=int, default=2000, help="messages in all (default 2000)")
    parser.add_argument("--size", type=parse_octets, default=1024, help="octets per message; K/M suffixes")
    parser.add_argument("--pipelining", action="store_true", help="MAIL+RCPT+DATA in one write (RFC 2920)")
    parser.add_argument("--max-seconds", type=float, default=DEFAULT_MAX_SECONDS, help="then start no more")
    parser.add_argument("--starttls", choices=("no", "yes"), default="no", help="STARTTLS first (RFC 3207)")
    parser.add_argument("--cafile", help="verify the server certificate against this CA file")
    parser.add_argument("--mail-from", default="loadgen@localhost")
    parser.add_argument("--rcpt", default="sink@localhost")
    parser.add_argument("--reply-timeout", type=float, default=DEFAULT_REPLY_TIMEOUT)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Print the run's JSON summary; exit 1 if any message failed, 2 if the run could not happen."""
    arguments = _arguments(argv)
    try:
        spec = LoadSpec(
            endpoint=parse_endpoint(arguments.server),
            connections=arguments.connections,
            messages=arguments.messages,
            size=arguments.size,
            pipelining=arguments.pipelining,
            max_seconds=arguments.max_seconds,
            starttls=arguments.starttls == "yes",
            cafile=arguments.cafile,
            mail_from=arguments.mail_from,
            rcpt=arguments.rcpt,
            reply_timeout=arguments.reply_timeout,
        )
        result = asyncio.run(run_load(spec))
    except (ValueError, LoadError) as error:
        print(f"smtp_load: {error}", file=sys.stderr)
        return 2
    print(json.dumps(result.summary()))
    return 1 if result.failed else 0


if __name__ == "__main__":
    sys.exit(main())
