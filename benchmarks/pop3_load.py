"""POP3 load generator: RETR throughput on persistent sessions, or whole poll sessions, bounded.

Two load shapes, each on ``--connections`` concurrent workers:

- ``retr``: every worker logs in once, lists the maildrop, then RETRs messages picked at random
  from 1..N until the count or the time is used up. It never sends DELE, so QUIT at the end
  removes nothing (RFC 1939 §6) and the maildrop is the same for the next run. One operation is
  one RETR; the clock starts once every session is in the TRANSACTION state.
- ``poll``: what a mail client polling for new mail does, over and over: connect, (STLS,) USER,
  PASS, STAT, LIST, RETR 1, QUIT. One operation is one whole session, timed from the connect to
  the reply to QUIT, so logins and connection set-up are what gets measured.

Every retrieved message is checked against its scan listing: after removing the byte-stuffing
(RFC 1939 §3) it must have exactly the size LIST gave for it (RFC 1939 §5 and §11). A message that
does not is counted as failed, so a server cannot look fast by sending less.

Loopback only, as ``smtp_load``: any host that is not a loopback address (or ``localhost``) is
refused before a socket is opened.

    python -m benchmarks.pop3_load --server 127.0.0.1:2110 --user bob --password bobpw \
        --mode retr|poll --connections 10 --max-seconds 10 [--stls] [--operations N] \
        [--account USER:PASSWORD ...]

With ``--account`` the workers take the accounts in turn, so a server that locks each maildrop
for the length of a session (RFC 1939 §4) can still be given concurrent sessions.

prints one JSON object: ops_per_s, p50_ms, p99_ms, ops, failed, seconds (and a few details).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import random
import ssl
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final, Literal

from benchmarks.smtp_load import (
    Endpoint,
    NotLoopback,
    RunTally,
    Tickets,
    client_tls_context,
    loopback_address,
    parse_endpoint,
)

__all__ = [
    "Credentials",
    "Endpoint",
    "LoadError",
    "LoadResult",
    "LoadSpec",
    "Mode",
    "NotLoopback",
    "ProtocolError",
    "Refused",
    "Response",
    "ResponseBuffer",
    "main",
    "parse_account",
    "parse_drop_listing",
    "parse_endpoint",
    "parse_scan_listings",
    "parse_status_line",
    "run_load",
]

Mode = Literal["retr", "poll"]
MODES: Final[tuple[Mode, ...]] = ("retr", "poll")

CRLF: Final = b"\r\n"
OK: Final = b"+OK"  # RFC 1939 §3: the two status indicators, which servers MUST send in upper case
ERR: Final = b"-ERR"
MULTILINE_END: Final = b"\r\n.\r\n"  # RFC 1939 §3: "terminated with the five octets "CRLF.CRLF""
TERMINATION_OCTET: Final = b"."
STATUS_LINE_LIMIT: Final = 512  # RFC 2449 §4 (and RFC 1939 §3): first line of a response, CRLF included
ARGUMENT_LIMIT: Final = 245  # RFC 2449 §4: a command is at most 255 octets; "USER " / "PASS " + CRLF take 7
DEFAULT_MAX_RESPONSE_OCTETS: Final = 64 << 20  # above the reference server's 50 MiB message limit
READ_CHUNK_OCTETS: Final = 1 << 16

DEFAULT_CONNECTIONS: Final = 10
DEFAULT_MAX_SECONDS: Final = 10.0
DEFAULT_MAX_OPERATIONS: Final = 10_000_000
DEFAULT_REPLY_TIMEOUT: Final = 30.0  # far below RFC 1939 §3's ten-minute autologout: a benchmark must end
CONNECT_TIMEOUT: Final = 10.0
QUIT_TIMEOUT: Final = 2.0
CLOSE_TIMEOUT: Final = 2.0
COMMANDS_PER_POLL: Final = 7  # STLS, USER, PASS, STAT, LIST, RETR, QUIT: bounds one poll session's wait
RESPONSE_TEXT_SHOWN: Final = 60  # of a refusal's text, in error reasons (the response code comes first)


class ProtocolError(Exception):
    """The server sent something that is not a POP3 response (RFC 1939 §3), or closed mid-response."""


class LoadError(Exception):
    """The run could not start (no connection, no greeting, no login, empty maildrop) or did not end."""


class Refused(Exception):
    """The server answered -ERR where the load needs +OK; the message is the reason counted."""


# --- responses: pure parsing, no I/O -------------------------------------------------------------


@dataclass(frozen=True)
class Response:
    """One POP3 response: status, the text after it and, for a multi-line one, the body.

    ``body`` is kept as received, still byte-stuffed, every line with its CRLF and without the
    terminating ".CRLF", so the hot RETR path never copies or splits a message.
    """

    ok: bool
    text: bytes
    body: bytes | None = None

    def content_octets(self) -> int:
        """Size of the body once the termination octet is unstuffed (RFC 1939 §3).

        Every line that starts with "." in the stuffed body lost exactly one octet when it was
        stuffed, and the terminating line is not part of the body, so this is a count, not a copy.
        """
        body = self.body or b""
        return len(body) - body.startswith(TERMINATION_OCTET) - body.count(CRLF + TERMINATION_OCTET)

    def lines(self) -> list[bytes]:
        """The body's lines without CRLF, with the stuffed termination octet removed (RFC 1939 §3)."""
        if not self.body:
            return []
        lines = self.body.split(CRLF)[:-1]
        return [line[1:] if line.startswith(TERMINATION_OCTET) else line for line in lines]

    def reason(self, verb: str) -> str:
        """'PASS -ERR [IN-USE] ...': the verb, then the extended response code if any (RFC 2449 §8)."""
        text = self.text.decode("ascii", "replace").strip()
        return f"{verb} -ERR {text[:RESPONSE_TEXT_SHOWN]}".rstrip()


def parse_status_line(line: bytes) -> tuple[bool, bytes]:
    """'+OK text' -> (True, b'text'); '-ERR text' -> (False, b'text'); anything else is not POP3.

    RFC 1939 §3: a response is a status indicator, then possibly a space and more; servers MUST
    send the indicators in upper case, so a lower-case '+ok' is refused too.
    """
    for indicator, ok in ((OK, True), (ERR, False)):
        if line.startswith(indicator):
            rest = line[len(indicator) :]
            if rest and not rest.startswith(b" "):
                break
            return ok, rest[1:]
    raise ProtocolError(f"not a POP3 status line: {line[:80]!r}")


class ResponseBuffer:
    """Bytes received and not yet consumed; cuts whole responses out of them without any I/O.

    A multi-line response ends at the first CRLF "." CRLF counted from the CRLF of its status
    line, so an empty body ("+OK" CRLF "." CRLF) needs no special case; the byte-stuffing of
    RFC 1939 §3 guarantees no body line can look like the end. A long body is searched once: the
    search resumes where the last one stopped.
    """

    def __init__(self, max_response_octets: int = DEFAULT_MAX_RESPONSE_OCTETS) -> None:
        self._data = bytearray()
        self._searched = 0
        self._max = max_response_octets

    def __len__(self) -> int:
        return len(self._data)

    def feed(self, chunk: bytes) -> None:
        self._data += chunk
        if len(self._data) > self._max:
            raise ProtocolError(f"a response longer than {self._max} octets")

    def take(self, multiline: bool) -> Response | None:
        """The next whole response, or None until more bytes arrive.

        ``multiline`` says whether the command's +OK starts a multi-line response; a -ERR never
        does (RFC 1939 §3 and the "Possible Responses" of each command).
        """
        data = self._data
        line_end = data.find(CRLF, 0, STATUS_LINE_LIMIT)
        if line_end < 0:
            if len(data) >= STATUS_LINE_LIMIT:
                raise ProtocolError(f"a status line longer than {STATUS_LINE_LIMIT} octets")
            return None
        ok, text = parse_status_line(bytes(data[:line_end]))
        if not (ok and multiline):
            del data[: line_end + len(CRLF)]
            self._searched = 0
            return Response(ok, text)
        end = data.find(MULTILINE_END, max(line_end, self._searched))
        if end < 0:
            self._searched = max(line_end, len(data) - len(MULTILINE_END) + 1)
            return None
        body = bytes(data[line_end + len(CRLF) : end + len(CRLF)])
        del data[: end + len(MULTILINE_END)]
        self._searched = 0
        return Response(ok, text, body)


def parse_drop_listing(text: bytes) -> tuple[int, int]:
    """STAT's '+OK nn mm' -> (messages, octets); RFC 1939 §5 fixes the first two fields."""
    fields = text.split()
    if len(fields) < 2 or not fields[0].isdigit() or not fields[1].isdigit():
        raise ProtocolError(f"not a drop listing: {text[:80]!r}")
    return int(fields[0]), int(fields[1])


def parse_scan_listings(lines: Sequence[bytes]) -> dict[int, int]:
    """LIST's lines 'msg size' -> {message-number: size}; RFC 1939 §5 fixes the first two fields."""
    sizes: dict[int, int] = {}
    for line in lines:
        fields = line.split()
        if len(fields) < 2 or not fields[0].isdigit() or not fields[1].isdigit():
            raise ProtocolError(f"not a scan listing: {line[:80]!r}")
        sizes[int(fields[0])] = int(fields[1])
    return sizes


# --- the run's parameters and results ------------------------------------------------------------


@dataclass(frozen=True)
class Credentials:
    """A USER/PASS pair (RFC 1939 §7); checked so neither can smuggle in a second command."""

    user: str
    password: str = field(repr=False)

    def __post_init__(self) -> None:
        for name, value in (("user", self.user), ("password", self.password)):
            if not value or len(value.encode("utf-8")) > ARGUMENT_LIMIT:
                raise ValueError(f"the {name} must be 1 to {ARGUMENT_LIMIT} octets")
            if any(ch in value for ch in "\r\n\0"):
                raise ValueError(f"the {name} must not contain CR, LF or NUL")
        if " " in self.user:
            raise ValueError("the user must not contain a space (RFC 1939 §3: a space separates arguments)")


@dataclass(frozen=True)
class LoadSpec:
    """One run: where, as whom, which shape, how many workers, and the bounds."""

    endpoint: Endpoint
    credentials: Credentials
    more_accounts: tuple[Credentials, ...] = ()
    mode: Mode = "retr"
    connections: int = DEFAULT_CONNECTIONS
    max_operations: int = DEFAULT_MAX_OPERATIONS
    max_seconds: float = DEFAULT_MAX_SECONDS
    stls: bool = False
    cafile: str | None = None
    reply_timeout: float = DEFAULT_REPLY_TIMEOUT
    max_response_octets: int = DEFAULT_MAX_RESPONSE_OCTETS
    seed: int = 0

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}")
        if self.connections < 1 or self.max_operations < 0:
            raise ValueError("need at least one connection and a non-negative operation count")
        if not self.max_seconds > 0 or not self.reply_timeout > 0:
            raise ValueError("max-seconds and reply-timeout must be positive")
        loopback_address(self.endpoint.address)  # an Endpoint built by hand is checked too

    def account(self, worker: int) -> Credentials:
        """Workers take the accounts in turn: a server that locks each maildrop (RFC 1939 §4)
        answers a second concurrent session of the same user -ERR [IN-USE] (RFC 2449 §8.1.2)."""
        accounts = (self.credentials, *self.more_accounts)
        return accounts[worker % len(accounts)]


@dataclass
class LoadResult(RunTally):
    """What a run did: completed and failed operations, latencies of the completed ones, time."""

    mode: Mode
    connections: int
    stls: bool
    ops: int = 0
    octets: int = 0
    maildrop: int = 0

    @property
    def ops_per_s(self) -> float:
        return self.per_second(self.ops)

    def summary(self) -> dict[str, object]:
        details = {
            "mode": self.mode,
            "connections": self.connections,
            "stls": self.stls,
            "maildrop": self.maildrop,
            "octets_per_s": round(self.per_second(self.octets)),
        }
        return self.summarize("ops_per_s", "ops", self.ops, details)


@functools.cache
def tls_context(cafile: str | None) -> ssl.SSLContext:
    """One client context per CA file for the whole process.

    Building one loads the system's CA store, which costs more than a handshake; doing that per
    poll session would make the load generator, not the server, the thing measured.
    """
    return client_tls_context(cafile)


# --- one connection ------------------------------------------------------------------------------

# What a broken connection looks like: it costs the operation and the connection is reopened.
CONNECTION_FAILURES: Final = (OSError, ProtocolError, TimeoutError, asyncio.IncompleteReadError)


class Pop3Connection:
    """One POP3 connection in lockstep: a command, then its whole response, then the next."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, spec: LoadSpec) -> None:
        self._reader = reader
        self._writer = writer
        self._timeout = spec.reply_timeout
        self._buffer = ResponseBuffer(spec.max_response_octets)

    @classmethod
    async def open(cls, spec: LoadSpec) -> Pop3Connection:
        """Connect and read the greeting; with ``stls``, negotiate TLS first (RFC 2595 §4)."""
        async with asyncio.timeout(CONNECT_TIMEOUT):
            reader, writer = await asyncio.open_connection(spec.endpoint.address, spec.endpoint.port)
        connection = cls(reader, writer, spec)
        try:
            greeting = await connection.response()
            if not greeting.ok:
                raise Refused(greeting.reason("greeting"))
            if spec.stls:
                reply = await connection.command(b"STLS\r\n")
                if not reply.ok:
                    raise Refused(reply.reason("STLS"))
                if len(connection._buffer):  # plaintext sent after the +OK must not count as protected
                    raise ProtocolError("the server sent data between STLS's +OK and the TLS negotiation")
                async with asyncio.timeout(spec.reply_timeout):
                    await writer.start_tls(tls_context(spec.cafile))
        except BaseException:
            await connection.close_socket()
            raise
        return connection

    async def response(self, multiline: bool = False) -> Response:
        async with asyncio.timeout(self._timeout):
            while (response := self._buffer.take(multiline)) is None:
                chunk = await self._reader.read(READ_CHUNK_OCTETS)
                if not chunk:
                    raise ProtocolError("the server closed the connection in the middle of a response")
                self._buffer.feed(chunk)
        return response

    async def command(self, line: bytes, *, multiline: bool = False) -> Response:
        self._writer.write(line)
        return await self.response(multiline)

    async def expect_ok(self, verb: str, line: bytes, *, multiline: bool = False) -> Response:
        response = await self.command(line, multiline=multiline)
        if not response.ok:
            raise Refused(response.reason(verb))
        return response

    async def login(self, credentials: Credentials) -> None:
        """USER then PASS (RFC 1939 §7); Refused with the failing verb if either is refused."""
        await self.expect_ok("USER", b"USER " + credentials.user.encode("utf-8") + CRLF)
        await self.expect_ok("PASS", b"PASS " + credentials.password.encode("utf-8") + CRLF)

    async def scan_listings(self) -> dict[int, int]:
        """LIST without an argument: every message's number and exact size (RFC 1939 §5)."""
        return parse_scan_listings((await self.expect_ok("LIST", b"LIST\r\n", multiline=True)).lines())

    async def quit(self) -> None:
        """QUIT (RFC 1939 §6), then close; a refusal or a broken connection only closes."""
        try:
            if not self._writer.is_closing():
                async with asyncio.timeout(QUIT_TIMEOUT):
                    await self.command(b"QUIT\r\n")
        except (*CONNECTION_FAILURES, Refused):
            pass
        finally:
            await self.close_socket()

    async def close_socket(self) -> None:
        self._writer.close()
        with contextlib.suppress(OSError, TimeoutError, ProtocolError):
            async with asyncio.timeout(CLOSE_TIMEOUT):
                await self._writer.wait_closed()


def retrieved_octets(response: Response, number: int, sizes: dict[int, int]) -> int:
    """The message's size if it matches its scan listing, else Refused naming the mismatch."""
    octets = response.content_octets()
    if octets != sizes.get(number):
        raise Refused(f"RETR size differs from LIST ({octets} != {sizes.get(number)})")
    return octets


# --- the two load shapes -------------------------------------------------------------------------


async def open_retr_session(spec: LoadSpec, worker: int) -> tuple[Pop3Connection, dict[int, int]]:
    """A connection in the TRANSACTION state and the maildrop's scan listings."""
    connection = await Pop3Connection.open(spec)
    try:
        await connection.login(spec.account(worker))
        sizes = await connection.scan_listings()
    except BaseException:
        await connection.quit()
        raise
    return connection, sizes


async def _open_all(spec: LoadSpec) -> list[tuple[Pop3Connection, dict[int, int]]]:
    """Every RETR session, or LoadError (after closing the ones that did open)."""
    openings = (open_retr_session(spec, worker) for worker in range(spec.connections))
    opened = await asyncio.gather(*openings, return_exceptions=True)
    sessions = [item for item in opened if not isinstance(item, BaseException)]
    problems = [item for item in opened if isinstance(item, BaseException)]
    if problems:
        await asyncio.gather(*(connection.quit() for connection, _ in sessions))
        first = problems[0]
        if isinstance(first, (*CONNECTION_FAILURES, Refused)):
            raise LoadError(f"{len(problems)} of {spec.connections} sessions failed: {first}") from first
        raise first
    empty = sorted({spec.account(worker).user for worker, (_, sizes) in enumerate(sessions) if not sizes})
    if empty:
        await asyncio.gather(*(connection.quit() for connection, _ in sessions))
        raise LoadError(f"empty maildrop, nothing to RETR: {', '.join(empty)}")
    return sessions


async def _run_retr(spec: LoadSpec, result: LoadResult) -> None:
    sessions = await _open_all(spec)
    result.maildrop = min(len(sizes) for _, sizes in sessions)
    started = time.perf_counter()
    finished = started
    tickets = Tickets(spec.max_operations, started + spec.max_seconds)

    async def work(worker: int, connection: Pop3Connection, sizes: dict[int, int]) -> None:
        nonlocal finished
        numbers = sorted(sizes)
        pick = random.Random(spec.seed * 1000 + worker).choice  # same sequence against every server
        try:
            while tickets.take() is not None:
                number = pick(numbers)
                began = time.perf_counter()
                try:
                    response = await connection.expect_ok("RETR", b"RETR %d\r\n" % number, multiline=True)
                    octets = retrieved_octets(response, number, sizes)
                except Refused as refusal:
                    finished = time.perf_counter()
                    result.failed += 1
                    result.errors[str(refusal)] += 1
                    continue
                except CONNECTION_FAILURES as error:
                    result.failed += 1
                    result.errors[f"connection: {type(error).__name__}"] += 1
                    await connection.close_socket()
                    try:
                        connection, sizes = await open_retr_session(spec, worker)
                    except (*CONNECTION_FAILURES, Refused):
                        return
                    numbers = sorted(sizes)
                    continue
                finished = time.perf_counter()
                result.ops += 1
                result.octets += octets
                result.latencies.append(finished - began)
        finally:
            await connection.quit()

    await asyncio.gather(*(work(index, *session) for index, session in enumerate(sessions)))
    result.seconds = finished - started


async def poll_session(spec: LoadSpec, worker: int = 0) -> tuple[float, int]:
    """One mail-client poll; returns (seconds from connect to QUIT's reply, octets retrieved).

    Raises Refused when the server says -ERR to any step, CONNECTION_FAILURES when it breaks.
    """
    began = time.perf_counter()
    connection = await Pop3Connection.open(spec)
    try:
        await connection.login(spec.account(worker))
        messages, _ = parse_drop_listing((await connection.expect_ok("STAT", b"STAT\r\n")).text)
        sizes = await connection.scan_listings()
        if messages == 0 or len(sizes) != messages:
            raise Refused(f"STAT says {messages} messages, LIST lists {len(sizes)}")
        response = await connection.expect_ok("RETR", b"RETR 1\r\n", multiline=True)
        octets = retrieved_octets(response, 1, sizes)
        await connection.expect_ok("QUIT", b"QUIT\r\n")
        return time.perf_counter() - began, octets
    finally:
        await connection.close_socket()


async def _run_poll(spec: LoadSpec, result: LoadResult) -> None:
    started = time.perf_counter()
    finished = started
    tickets = Tickets(spec.max_operations, started + spec.max_seconds)

    async def work(worker: int) -> None:
        nonlocal finished
        while tickets.take() is not None:
            try:
                seconds, octets = await poll_session(spec, worker)
            except Refused as refusal:
                result.errors[str(refusal)] += 1
            except CONNECTION_FAILURES as error:
                result.errors[f"connection: {type(error).__name__}"] += 1
            else:
                result.ops += 1
                result.octets += octets
                result.latencies.append(seconds)
                finished = time.perf_counter()
                continue
            result.failed += 1
            finished = time.perf_counter()

    await asyncio.gather(*(work(worker) for worker in range(spec.connections)))
    result.seconds = finished - started


async def run_load(spec: LoadSpec) -> LoadResult:
    """Run the load shape until the operation count or the time is used up.

    Raises LoadError when the run cannot start (RETR mode: any session fails to log in or the
    maildrop is empty) or does not end within its hard limit. In poll mode nothing is set up
    beforehand, so a server that refuses every login yields a result with only failures.
    """
    result = LoadResult(spec.mode, spec.connections, spec.stls)
    per_operation = spec.reply_timeout * COMMANDS_PER_POLL + CONNECT_TIMEOUT
    hard_limit = spec.max_seconds + 2 * per_operation + QUIT_TIMEOUT + CLOSE_TIMEOUT
    try:
        async with asyncio.timeout(hard_limit):
            if spec.mode == "retr":
                await _run_retr(spec, result)
            else:
                await _run_poll(spec, result)
    except TimeoutError:
        raise LoadError(f"the run did not end within {hard_limit:g} s") from None
    return result


# --- command line --------------------------------------------------------------------------------


def parse_account(text: str) -> Credentials:
    """'user:password' -> Credentials; the password may contain colons, the user may not."""
    user, colon, password = text.partition(":")
    if not colon:
        raise ValueError(f"{text!r}: expected USER:PASSWORD")
    return Credentials(user, password)


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.pop3_load", description="POP3 load generator (loopback only)."
    )
    parser.add_argument("--server", required=True, help="HOST:PORT on a loopback address")
    parser.add_argument("--user", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument(
        "--account",
        action="append",
        default=[],
        metavar="USER:PASSWORD",
        help="more accounts (repeatable); connection i logs in as account i modulo their number",
    )
    parser.add_argument("--mode", choices=MODES, default="retr", help="RETRs on kept sessions, or polls")
    parser.add_argument("--connections", type=int, default=DEFAULT_CONNECTIONS, help="concurrent workers")
    parser.add_argument("--max-seconds", type=float, default=DEFAULT_MAX_SECONDS, help="then start no more")
    parser.add_argument("--operations", type=int, default=DEFAULT_MAX_OPERATIONS, help="at most this many")
    parser.add_argument("--stls", action="store_true", help="STLS before logging in (RFC 2595 §4)")
    parser.add_argument("--cafile", help="verify the server certificate against this CA file")
    parser.add_argument("--reply-timeout", type=float, default=DEFAULT_REPLY_TIMEOUT)
    parser.add_argument("--seed", type=int, default=0, help="of the RETR message picks")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Print the run's JSON summary; exit 1 if any operation failed, 2 if the run could not happen."""
    arguments = _arguments(argv)
    try:
        spec = LoadSpec(
            endpoint=parse_endpoint(arguments.server),
            credentials=Credentials(arguments.user, arguments.password),
            more_accounts=tuple(parse_account(text) for text in arguments.account),
            mode=arguments.mode,
            connections=arguments.connections,
            max_operations=arguments.operations,
            max_seconds=arguments.max_seconds,
            stls=arguments.stls,
            cafile=arguments.cafile,
            reply_timeout=arguments.reply_timeout,
            seed=arguments.seed,
        )
        result = asyncio.run(run_load(spec))
    except (ValueError, LoadError) as error:
        print(f"pop3_load: {error}", file=sys.stderr)
        return 2
    print(json.dumps(result.summary()))
    return 1 if result.failed else 0


if __name__ == "__main__":
    sys.exit(main())
