"""Read a message back from the target's mailbox over POP3, found by its Message-ID.

The counterpart of harness.deliver: what a server stored is judged by what its own access
protocol returns, never by reading its disk (DESIGN.md), so the same check runs against any
server. A queueing MTA stores a message a moment after its 250, so the search is repeated
until a deadline; each try is a new session because a POP3 maildrop is fixed at login
(RFC 1939 §4 locks it for the session).
"""

from __future__ import annotations

import ssl
import time
from dataclasses import dataclass
from typing import Final

from harness.connect import connect
from harness.drivers.base import SetupContext, SetupFailed
from harness.drivers.pop3 import Pop3Driver, render_reply
from harness.readers.errors import ReplyFramingError
from harness.readers.pop3 import Pop3Reader, Pop3Reply
from harness.session import Connection, SessionError, SessionLog
from harness.targets import Target

NEWEST_SEARCHED: Final = 10  # messages looked at, newest first: a case's message is among the last few
RETRY_PAUSE: Final = 0.25


class RetrievalFailed(Exception):
    """The mailbox could not be read (no endpoint, refused login, a reply that is not +OK)."""


@dataclass(frozen=True)
class Found:
    data: bytes  # the message as RETR returned it, dot-unstuffed, every line ended by CRLF
    number: int
    maildrop_size: int


def find_message(
    target: Target, role: str, message_id: str, log: SessionLog, timeout: float, tls: ssl.SSLContext
) -> Found | None:
    """The newest message of `role`'s maildrop whose Message-ID: is `message_id`, or None at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        found = _search_once(target, role, message_id, log, timeout, tls)
        if found is not None or time.monotonic() >= deadline:
            return found
        time.sleep(RETRY_PAUSE)


def _search_once(
    target: Target, role: str, message_id: str, log: SessionLog, timeout: float, tls: ssl.SSLContext
) -> Found | None:
    endpoint = target.endpoints.get("pop3")
    if endpoint is None:
        raise RetrievalFailed("the target has no pop3 endpoint to read the message back")
    driver = Pop3Driver()
    reader = driver.new_reader()
    wanted = f"message-id: {message_id}".lower().encode()
    try:
        conn = connect(target, endpoint, "retrieve", log, tls, timeout)
        try:
            context = SetupContext(endpoint, target.accounts[role], target.client_name, timeout)
            driver.setup(conn, reader, "authenticated", context)
            count = int(_command(driver, conn, reader, "STAT", timeout).text.split()[0])
            for number in range(count, max(0, count - NEWEST_SEARCHED), -1):
                body = _command(driver, conn, reader, f"RETR {number}", timeout).body or ()
                if any(line.lower().startswith(wanted) for line in _header_lines(body)):
                    return Found(b"".join(line + b"\r\n" for line in body), number, count)
            _command(driver, conn, reader, "QUIT", timeout)
        finally:
            conn.close()
    except (SetupFailed, SessionError, ReplyFramingError, ValueError, IndexError) as exc:
        raise RetrievalFailed(str(exc)) from None
    return None


def _command(driver: Pop3Driver, conn: Connection, reader: Pop3Reader, line: str, timeout: float) -> Pop3Reply:
    data = line.encode() + b"\r\n"
    driver.on_send(reader, data)
    conn.send(data)
    reply = driver.read(conn, reader, timeout)
    if reply.status != "OK":
        raise RetrievalFailed(f"{line!r} answered {render_reply(reply)!r}")
    return reply


def _header_lines(body: tuple[bytes, ...]) -> list[bytes]:
    """Header lines up to the first empty one; a folded Message-ID is rare enough to miss."""
    lines: list[bytes] = []
    for line in body:
        if not line:
            break
        lines.append(line)
    return lines
