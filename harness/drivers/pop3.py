"""POP3 for the runner (RFC 1939, CAPA from RFC 2449, STLS from RFC 2595)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from harness.drivers.base import Judgement, SetupContext, SetupFailed
from harness.expect.pop3 import parse_pop3_expectation, pop3_mismatch
from harness.readers.pop3 import Pop3Reader, Pop3Reply, pop3_command_is_multiline
from harness.session import Connection, ServerClosed, StepTimeout

# A CAPA list arrives in one burst; waiting longer for its end line only slows every run against a
# server that forgets it (RFC 2449 §5), which the CAPA cases report on their own.
CAPA_DISCOVERY_TIMEOUT: Final = 2.0


def render_reply(reply: Pop3Reply) -> str:
    return reply.raw.decode("utf-8", "replace").rstrip("\r\n")


class Pop3Driver:
    protocol = "pop3"

    def new_reader(self) -> Pop3Reader:
        return Pop3Reader()

    def on_send(self, reader: Pop3Reader, data: bytes) -> None:
        """Each command line sent decides whether its +OK carries a body (RFC 1939 §3)."""
        for line in data.split(b"\r\n")[:-1] if data.endswith(b"\r\n") else data.split(b"\r\n"):
            if line:
                reader.expect(pop3_command_is_multiline(line.decode("utf-8", "replace")))

    def read(self, conn: Connection, reader: Pop3Reader, timeout: float) -> Pop3Reply:
        return conn.read_into(reader, reader.next_reply, timeout)

    def expect(
        self,
        conn: Connection,
        reader: Pop3Reader,
        patterns: tuple[str, ...],
        body: tuple[str, ...] | None,
        bound: Mapping[str, str],
        timeout: float,
    ) -> Judgement:
        expectation = parse_pop3_expectation(patterns[0], body)
        reply = self.read(conn, reader, timeout)
        mismatch, captures = pop3_mismatch(expectation, reply, bound)
        return Judgement(mismatch, render_reply(reply), captures)

    def validate(self, pattern: str, body: tuple[str, ...] | None) -> set[str]:
        return parse_pop3_expectation(pattern, body).names

    def starttls_command(self) -> bytes:
        return b"STLS\r\n"

    def buffered(self, reader: Pop3Reader) -> bytes:
        return reader.buffered

    def _command(self, conn: Connection, reader: Pop3Reader, line: str, ctx: SetupContext) -> Pop3Reply:
        data = line.encode() + b"\r\n"
        self.on_send(reader, data)
        conn.send(data)
        reply = self.read(conn, reader, ctx.timeout)
        if reply.status != "OK":
            shown = "PASS ..." if line.startswith("PASS") else line
            raise SetupFailed(f"{shown!r} answered {render_reply(reply)!r}, expected +OK")
        return reply

    def setup(self, conn: Connection, reader: Pop3Reader, state: str, ctx: SetupContext) -> None:
        if state == "connected":
            return
        reader.expect(False)
        greeting = self.read(conn, reader, ctx.timeout)
        if greeting.status != "OK":
            raise SetupFailed(f"greeting {render_reply(greeting)!r}, expected +OK")
        want_tls = state == "tls" or (state == "authenticated" and ctx.endpoint.tls == "starttls")
        if want_tls and not conn.tls:
            self._command(conn, reader, "STLS", ctx)
            conn.start_tls(ctx.timeout)
        if state == "authenticated":
            self._command(conn, reader, f"USER {ctx.account.login}", ctx)
            self._command(conn, reader, f"PASS {ctx.account.password}", ctx)

    def discover(self, conn: Connection, reader: Pop3Reader, ctx: SetupContext) -> frozenset[str]:
        """CAPA tags (RFC 2449 §5), before and after STLS, as `TAG` and `TAG=ARG`.

        One malformed CAPA reply must not make the whole endpoint unusable: the list is read
        leniently (see `LenientCapaList`), and when even that fails discovery stops with what it
        has, leaving a note in the log. The cases that check CAPA itself fail on their own.
        """
        found: set[str] = set()
        reader.expect(False)
        greeting = self.read(conn, reader, ctx.timeout)
        if greeting.status != "OK":
            raise SetupFailed(f"greeting {render_reply(greeting)!r}, expected +OK")
        if "<" in greeting.text and ">" in greeting.text:
            found.add("APOP")  # RFC 1939 §7: a timestamp in the greeting offers APOP
        tags, in_step = self._capa(conn, ctx)
        found |= tags
        if in_step and "STLS" in found and not conn.tls:
            self._command(conn, reader, "STLS", ctx)
            conn.start_tls(ctx.timeout)
            tags, in_step = self._capa(conn, ctx)
            found |= tags
        if in_step:
            conn.send(b"QUIT\r\n")
        return frozenset(found)

    def _capa(self, conn: Connection, ctx: SetupContext) -> tuple[set[str], bool]:
        """The tags of one CAPA reply, and whether the connection can still be used afterwards."""
        conn.send(b"CAPA\r\n")
        capa = LenientCapaList()
        try:
            conn.read_into(capa, capa.take, min(ctx.timeout, CAPA_DISCOVERY_TIMEOUT))
        except StepTimeout:
            if not capa.ok:
                conn.log.note(conn.name, "CAPA unanswered: no capabilities discovered from it")
                return set(), False
            conn.log.note(conn.name, "CAPA list not ended by '.' (RFC 2449 §5): taken as received")
        except ServerClosed:
            conn.log.note(conn.name, "the server closed the connection after CAPA")
            return capa_tags(capa.lines) if capa.ok else set(), False
        return capa_tags(capa.lines) if capa.ok else set(), True


class LenientCapaList:
    """Collects a CAPA reply line by line, so that a list lacking its end line still says something.

    `take` returns True once the reply is complete: a status line other than +OK, or the
    terminating ".". Body lines are kept as they arrive, un-stuffed (RFC 1939 §3).
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        self.status: bytes | None = None
        self.lines: list[bytes] = []
        self._done = False

    @property
    def ok(self) -> bool:
        return self.status == b"+OK"

    def feed(self, data: bytes) -> None:
        self._buffer += data
        while not self._done and (end := self._buffer.find(b"\n")) >= 0:
            line = bytes(self._buffer[:end]).removesuffix(b"\r")
            del self._buffer[: end + 1]
            if self.status is None:
                self.status = line.partition(b" ")[0].upper()
                self._done = not self.ok
            elif line == b".":
                self._done = True
            else:
                self.lines.append(line[1:] if line.startswith(b".") else line)

    def take(self) -> bool | None:
        return True if self._done else None


def capa_tags(lines: list[bytes]) -> set[str]:
    """`TAG` for each capability line and `TAG=ARG` for each of its arguments (RFC 2449 §5)."""
    found: set[str] = set()
    for line in lines:
        words = line.decode("utf-8", "replace").upper().split()
        if words:
            found.add(words[0])
            found.update(f"{words[0]}={arg}" for arg in words[1:])
    return found
