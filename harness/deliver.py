"""Fixture delivery: put messages in a mailbox through the target's own SMTP.

DESIGN.md: preconditions are set up through the target's protocols, never by writing
to its disk, so the same transcript works against any server. Messages carry the
run id so cases on a shared server never see each other's mail by mistake.
"""

from __future__ import annotations

import ssl
import time
from typing import Final

from harness.connect import connect
from harness.drivers.base import SetupContext, SetupFailed
from harness.drivers.smtp import SmtpDriver, render_reply
from harness.readers.errors import ReplyFramingError
from harness.session import SessionError, SessionLog
from harness.targets import Target

FILLER: Final = b"The quick brown fox jumps over the lazy dog, again and again and again.\r\n"


class DeliveryFailed(Exception):
    """The target refused or failed a fixture delivery."""


def fixture_message(target: Target, recipient: str, index: int, size: int) -> bytes:
    """A plain RFC 5322 message of roughly `size` octets (CRLF line ends, no leading dots)."""
    sender = target.accounts["alice"].address
    head = (
        f"From: <{sender}>\r\nTo: <{recipient}>\r\n"
        f"Subject: mailconform fixture {target.run_id} #{index}\r\n"
        f"Message-ID: <fixture-{target.run_id}-{index}@mailconform.test>\r\n"
        f"Date: Thu, 26 Nov 2026 12:00:00 +0000\r\n\r\n"
    ).encode()
    body = bytearray()
    while len(head) + len(body) < size:
        body += FILLER
    return head + bytes(body or FILLER)


def deliver_messages(
    target: Target, role: str, count: int, size: int, log: SessionLog, timeout: float, tls: ssl.SSLContext
) -> None:
    """Deliver `count` messages to account `role` on one SMTP connection (several transactions)."""
    protocol = "smtp" if "smtp" in target.endpoints else "submission"
    endpoint = target.endpoints.get(protocol)
    if endpoint is None:
        raise DeliveryFailed("the target has no SMTP endpoint to deliver fixtures through")
    driver = SmtpDriver(protocol)
    reader = driver.new_reader()
    recipient = target.accounts[role].address
    try:
        conn = connect(target, endpoint, "fixture", log, tls, timeout)
        state = "authenticated" if protocol == "submission" else "greeted"
        driver.setup(conn, reader, state, SetupContext(endpoint, target.accounts["alice"], target.client_name, timeout))
        for index in range(1, count + 1):
            data = fixture_message(target, recipient, index, size)
            for line, ok in (
                (f"MAIL FROM:<{target.accounts['alice'].address}>", 250),
                (f"RCPT TO:<{recipient}>", 250),
                ("DATA", 354),
            ):
                conn.send(line.encode() + b"\r\n")
                reply = driver.read(conn, reader, timeout)
                if reply.code != ok:
                    raise DeliveryFailed(f"{line!r} answered {render_reply(reply)!r}")
            conn.send(data + b".\r\n")
            reply = driver.read(conn, reader, timeout)
            if reply.code != 250:
                raise DeliveryFailed(f"end of data answered {render_reply(reply)!r}")
        conn.send(b"QUIT\r\n")
        conn.close()
        if target.fixture_settle:
            # An MTA that queues answers 250 before the mailbox has the message (Postfix in
            # front of Dovecot delivers over LMTP a few milliseconds later): give it time.
            time.sleep(target.fixture_settle)
    except (SetupFailed, SessionError, ReplyFramingError) as exc:
        raise DeliveryFailed(str(exc)) from None
