"""IMAP for the runner (RFC 3501 / RFC 9051).

An `S:` group is the untagged responses a command provokes, in any order, closed by
the tagged completion (or by a continuation request). As imaptest does, untagged
responses the group does not mention are allowed: servers may send unsolicited
EXISTS, FLAGS or CAPABILITY data at many points (RFC 3501 §7).
"""

from __future__ import annotations

from collections.abc import Mapping

from harness.drivers.base import Judgement, SetupContext, SetupFailed
from harness.expect.imap import imap_group_mismatch, parse_imap_group
from harness.readers.imap import ImapReader, ImapResponse
from harness.session import Connection


def render(response: ImapResponse) -> str:
    return response.line.decode("utf-8", "replace").rstrip("\r\n")


class ImapDriver:
    protocol = "imap"

    def __init__(self) -> None:
        self._tag_counter = 0

    def new_reader(self) -> ImapReader:
        return ImapReader()

    def on_send(self, reader: ImapReader, data: bytes) -> None:
        pass

    def read(self, conn: Connection, reader: ImapReader, timeout: float) -> ImapResponse:
        return conn.read_into(reader, reader.next_reply, timeout)

    def expect(
        self,
        conn: Connection,
        reader: ImapReader,
        patterns: tuple[str, ...],
        body: tuple[str, ...] | None,
        bound: Mapping[str, str],
        timeout: float,
    ) -> Judgement:
        group = parse_imap_group(patterns)
        responses: list[ImapResponse] = []
        while True:
            response = self.read(conn, reader, timeout)
            responses.append(response)
            if group.tag is not None:
                if response.kind == "tagged" and response.tag == group.tag:
                    break
            elif group.ends_with_continuation:
                if response.kind == "continuation":
                    break
            elif len(responses) >= len(patterns):
                break
        mismatch, captures = imap_group_mismatch(group, responses, bound)
        return Judgement(mismatch, "\n".join(render(r) for r in responses), captures)

    def validate(self, pattern: str, body: tuple[str, ...] | None) -> set[str]:
        return parse_imap_group((pattern,)).names

    def starttls_command(self) -> bytes:
        return b"tls1 STARTTLS\r\n"

    def buffered(self, reader: ImapReader) -> bytes:
        return reader.buffered

    def _command(self, conn: Connection, reader: ImapReader, command: str, ctx: SetupContext) -> None:
        self._tag_counter += 1
        tag = f"s{self._tag_counter}"
        conn.send(f"{tag} {command}\r\n".encode())
        while True:
            response = self.read(conn, reader, ctx.timeout)
            if response.kind == "tagged" and response.tag == tag:
                break
        if response.status != "OK":
            shown = "LOGIN ..." if command.startswith("LOGIN") else command
            raise SetupFailed(f"{shown!r} answered {render(response)!r}, expected OK")

    def setup(self, conn: Connection, reader: ImapReader, state: str, ctx: SetupContext) -> None:
        if state == "connected":
            return
        greeting = self.read(conn, reader, ctx.timeout)
        if greeting.kind != "untagged" or greeting.status not in ("OK", "PREAUTH"):
            raise SetupFailed(f"greeting {render(greeting)!r}, expected * OK")
        want_tls = state == "tls" or (state in ("authenticated", "selected") and ctx.endpoint.tls == "starttls")
        if want_tls and not conn.tls:
            self._command(conn, reader, "STARTTLS", ctx)
            conn.start_tls(ctx.timeout)
        if state in ("authenticated", "selected"):
            login = _quoted(ctx.account.login)
            self._command(conn, reader, f"LOGIN {login} {_quoted(ctx.account.password)}", ctx)
        if state == "selected":
            self._command(conn, reader, "SELECT INBOX", ctx)

    def discover(self, conn: Connection, reader: ImapReader, ctx: SetupContext) -> frozenset[str]:
        found: set[str] = set()
        greeting = self.read(conn, reader, ctx.timeout)
        if greeting.kind != "untagged":
            raise SetupFailed(f"greeting {render(greeting)!r}, expected * OK")
        found |= self._capability(conn, reader, ctx)
        if "STARTTLS" in found and not conn.tls:
            self._command(conn, reader, "STARTTLS", ctx)
            conn.start_tls(ctx.timeout)
            found |= self._capability(conn, reader, ctx)
        conn.send(b"s0 LOGOUT\r\n")
        return frozenset(found)

    def _capability(self, conn: Connection, reader: ImapReader, ctx: SetupContext) -> set[str]:
        conn.send(b"c1 CAPABILITY\r\n")
        found: set[str] = set()
        while True:
            response = self.read(conn, reader, ctx.timeout)
            if response.kind == "untagged" and response.values and str(response.values[0]).upper() == "CAPABILITY":
                found.update(str(v).upper() for v in response.values[1:])
            if response.kind == "tagged":
                return found


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
