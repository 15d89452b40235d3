"""SMTP (and submission, the same protocol on RFC 6409's port) for the runner."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import replace
from typing import Final

from harness.drivers.base import Judgement, SetupContext, SetupFailed
from harness.expect.smtp import parse_smtp_expectation, smtp_mismatch
from harness.readers.smtp import SmtpReader, SmtpReply, ehlo_keywords
from harness.session import Connection

STATE_ORDER: Final = ("connected", "greeted", "tls", "authenticated")


def render_reply(reply: SmtpReply) -> str:
    return reply.raw.decode("utf-8", "replace").rstrip("\r\n")


class SmtpDriver:
    def __init__(self, protocol: str = "smtp") -> None:
        self.protocol = protocol

    def new_reader(self) -> SmtpReader:
        return SmtpReader()

    def on_send(self, reader: SmtpReader, data: bytes) -> None:
        pass

    def read(self, conn: Connection, reader: SmtpReader, timeout: float) -> SmtpReply:
        return conn.read_into(reader, reader.next_reply, timeout)

    def expect(
        self,
        conn: Connection,
        reader: SmtpReader,
        patterns: tuple[str, ...],
        body: tuple[str, ...] | None,
        bound: Mapping[str, str],
        timeout: float,
    ) -> Judgement:
        expectation = parse_smtp_expectation(patterns[0])
        reply = self.read(conn, reader, timeout)
        return Judgement(smtp_mismatch(expectation, reply), render_reply(reply), {})

    def validate(self, pattern: str, body: tuple[str, ...] | None) -> set[str]:
        parse_smtp_expectation(pattern)
        return set()

    def starttls_command(self) -> bytes:
        return b"STARTTLS\r\n"

    def buffered(self, reader: SmtpReader) -> bytes:
        return reader.buffered

    def _command(self, conn: Connection, reader: SmtpReader, line: str, ok: str, ctx: SetupContext) -> SmtpReply:
        conn.send(line.encode() + b"\r\n")
        reply = self.read(conn, reader, ctx.timeout)
        shown = "AUTH ..." if line.startswith("AUTH") else line
        if not str(reply.code).startswith(ok):
            raise SetupFailed(f"{shown!r} answered {render_reply(reply)!r}, expected {ok}xx")
        if reader.buffered:  # one command, one reply (RFC 5321 §4.2): more means broken framing
            extra = reader.buffered.decode("utf-8", "replace")
            raise SetupFailed(f"{shown!r} was answered by more than one reply: extra {extra!r} (RFC 5321 §4.2.1)")
        return reply

    def setup(self, conn: Connection, reader: SmtpReader, state: str, ctx: SetupContext) -> None:
        """Reach `state` through the protocol: greeting, EHLO, STARTTLS, AUTH PLAIN (RFC 4954)."""
        if state == "connected":
            return
        greeting = self.read(conn, reader, ctx.timeout)
        if greeting.code != 220:
            raise SetupFailed(f"greeting {render_reply(greeting)!r}, expected 220")
        ehlo = self._command(conn, reader, f"EHLO {ctx.client_name}", "2", ctx)
        want_tls = state == "tls" or (state == "authenticated" and ctx.endpoint.tls == "starttls")
        if want_tls and not conn.tls:
            if "STARTTLS" not in ehlo_keywords(ehlo):
                raise SetupFailed("the server does not offer STARTTLS")
            self._command(conn, reader, "STARTTLS", "2", ctx)
            conn.start_tls(ctx.timeout)
            ehlo = self._command(conn, reader, f"EHLO {ctx.client_name}", "2", ctx)
        if state == "authenticated":
            token = base64.b64encode(f"\0{ctx.account.login}\0{ctx.account.password}".encode()).decode()
            self._command(conn, reader, f"AUTH PLAIN {token}", "2", ctx)

    def discover(self, conn: Connection, reader: SmtpReader, ctx: SetupContext) -> frozenset[str]:
        """EHLO keywords, before and (where offered) after STARTTLS, as `KEYWORD` and `KEYWORD=PARAM`."""
        found: set[str] = set()
        greeting = self.read(conn, reader, ctx.timeout)
        if greeting.code != 220:
            raise SetupFailed(f"greeting {render_reply(greeting)!r}, expected 220")
        found |= self._advertised(conn, reader, ctx)
        if "STARTTLS" in found and not conn.tls:
            self._command(conn, reader, "STARTTLS", "2", ctx)
            conn.start_tls(ctx.timeout)
            found |= self._advertised(conn, reader, ctx)
        conn.send(b"QUIT\r\n")
        return frozenset(found)

    def _advertised(self, conn: Connection, reader: SmtpReader, ctx: SetupContext) -> set[str]:
        """EHLO keywords, read leniently: discovery asks what the server offers, not how it
        formats the reply — a reply split into several by wrong continuation marks still
        lists its keywords here, and the §4.2.1 cases are the ones that fail it."""
        conn.send(f"EHLO {ctx.client_name}\r\n".encode())
        reply = self.read(conn, reader, ctx.timeout)
        if reply.code // 100 != 2:
            raise SetupFailed(f"'EHLO {ctx.client_name}' answered {render_reply(reply)!r}, expected 2xx")
        found = _keywords(reply)
        while reader.buffered:
            extra = self.read(conn, reader, ctx.timeout)
            found |= _keywords(replace(extra, lines=("", *extra.lines)))
        return found


def _keywords(reply: SmtpReply) -> set[str]:
    words: set[str] = set()
    for keyword, params in ehlo_keywords(reply).items():
        words.add(keyword)
        words.update(f"{keyword}={param.upper()}" for param in params.split())
    return words
