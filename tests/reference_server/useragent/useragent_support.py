"""Helpers for the user agent tests: the real reference server in a thread, and how to reach it.

The server runs on its own event loop in a thread (the agent's smtplib and poplib calls
block), with submission (STARTTLS, implicit TLS, and one listener without TLS) and POP3
(STLS and implicit TLS) on free ports, and a certificate from a test CA so that the agent
can verify it the way it would verify a real one.
"""

from __future__ import annotations

import contextlib
import mailbox
import poplib
import smtplib
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from reference_server.main import BoundListener, ReferenceServer
from tests.reference_server.smtp_support import LoopThread, config_head

HOST: Final = "127.0.0.1"
TIMEOUT: Final = 10.0
PASSWORDS: Final = {"alice": "alicepw", "bob": "bobpw"}

CONFIG: Final = (
    config_head()
    + """\
[[listeners]]
name = "submission"
protocol = "submission"
tls = "starttls"

[[listeners]]
name = "submissions"
protocol = "submission"
tls = "implicit"

[[listeners]]
name = "plain"
protocol = "submission"
tls = "none"

[[listeners]]
name = "pop3"
protocol = "pop3"
tls = "starttls"

[[listeners]]
name = "pop3s"
protocol = "pop3"
tls = "implicit"

[tls]
cert_file = "{cert}"
key_file = "{key}"

[pop3]
failed_login_delay = 0
"""
)


@dataclass
class MailServer:
    """Where the running server listens, and how a test reaches it without the user agent."""

    listeners: dict[str, BoundListener]
    mail_root: Path
    cafile: Path
    password_files: dict[str, Path]

    def address(self, listener: str) -> str:
        return f"{HOST}:{self.listeners[listener].port}"

    def send_options(self, user: str = "alice", listener: str = "submission") -> list[str]:
        return ["--server", self.address(listener), *self.login_options(user)]

    def pop3_options(self, user: str = "bob", listener: str = "pop3") -> list[str]:
        return ["--pop3", self.address(listener), *self.login_options(user)]

    def login_options(self, user: str) -> list[str]:
        return ["--user", user, "--password-file", str(self.password_files[user]), "--cafile", str(self.cafile)]

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.cafile))

    def stored(self, user: str) -> list[bytes]:
        """The user's INBOX as the server stored it, read with the stdlib's Maildir reader."""
        box = mailbox.Maildir(self.mail_root / "users" / user / "Maildir", factory=None, create=False)
        return [box.get_bytes(key) for key in sorted(box.iterkeys())]

    def deliver(self, raw: bytes, recipients: list[str], sender: str = "alice@example.test") -> None:
        """Put a hand-written message into mailboxes over submission, as any client would."""
        port = self.listeners["submission"].port
        with smtplib.SMTP(HOST, port, timeout=TIMEOUT) as client:
            client.starttls(context=self.client_context())
            client.login("alice", PASSWORDS["alice"])
            assert client.sendmail(sender, recipients, raw) == {}

    @contextlib.contextmanager
    def pop3(self, user: str) -> Iterator[poplib.POP3]:
        """A poplib session of the test's own, independent of the agent; QUIT when the block ends."""
        client = poplib.POP3(HOST, self.listeners["pop3"].port, timeout=TIMEOUT)
        try:
            client.stls(self.client_context())
            client.user(user)
            client.pass_(PASSWORDS[user])
            yield client
            client.quit()
        finally:
            client.close()

    def pop3_stat(self, user: str) -> tuple[int, int]:
        """STAT (RFC 1939 §5): message count and maildrop size."""
        with self.pop3(user) as client:
            count, size = client.stat()
        return count, size


class ServerThread(LoopThread):
    """The whole reference server (ReferenceServer) on its own loop, for the user agent's blocking clients."""

    def __init__(self, server: ReferenceServer) -> None:
        super().__init__("useragent-test-server")
        self.server = server

    def start(self) -> dict[str, BoundListener]:
        self.start_loop()
        listeners: dict[str, BoundListener] = self.call(self.server.start())
        return listeners

    def stop(self) -> None:
        try:
            self.call(self.server.stop())
        finally:
            self.stop_loop()


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str
