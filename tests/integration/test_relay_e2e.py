"""Alice mails Bob across two reference servers: crepes.fr relays to hamburger.edu.

Both servers are real `python -m reference_server serve` child processes, configured by the
example files in docs/examples/ (only ports and mail roots are changed, so the examples are
proven to work). Alice submits with smtplib (STARTTLS + AUTH); crepes.fr queues the message
and relays it over loopback; Bob reads it with poplib (STLS). The second test kills crepes.fr
with SIGKILL while messages wait in its queue and checks each arrives exactly once after the
restart (RFC 5321 §6.1).
"""

from __future__ import annotations

import email.policy
import email.utils
import json
import poplib
import smtplib
import ssl
import tomllib
from collections import Counter
from collections.abc import Iterator
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any, Final

import pytest
import tomli_w

from tests.reference_server.queue.queue_support import ROOT, ServeProcess, free_ports, poll, run_queue_cli

EXAMPLES: Final = ROOT / "docs" / "examples"


def client_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # each server makes a self-signed certificate at start
    return context


class Pair:
    """The two example configurations with fresh ports and mail roots under tmp_path."""

    def __init__(self, work: Path) -> None:
        self.work = work
        ports = free_ports(6)
        self.ports = {
            "crepes.fr": dict(zip(("smtp", "submission", "pop3"), ports[:3], strict=True)),
            "hamburger.edu": dict(zip(("smtp", "submission", "pop3"), ports[3:], strict=True)),
        }
        self.configs = {name: self._write(name) for name in self.ports}
        self.mail_roots = {name: work / name for name in self.ports}
        self.servers = {name: ServeProcess(self.configs[name], work, name) for name in self.ports}

    def _write(self, name: str) -> Path:
        """The example file with only its listener ports, its routes' ports and its mail root replaced."""
        data: dict[str, Any] = tomllib.loads((EXAMPLES / f"{name}.toml").read_text())
        data["server"]["mail_root"] = str(self.work / name)
        for listener in data["listeners"]:
            listener["port"] = self.ports[name][listener["protocol"]]
        routes = data["relay"]["routes"]
        for domain in routes:
            routes[domain] = f"127.0.0.1:{self.ports[domain]['smtp']}"
        path = self.work / f"{name}.toml"
        path.write_text(tomli_w.dumps(data))
        return path

    def submit(self, message: bytes, sender: str = "alice@crepes.fr", to: str = "bob@hamburger.edu") -> None:
        with smtplib.SMTP("127.0.0.1", self.ports["crepes.fr"]["submission"], timeout=10) as client:
            client.ehlo("alice-laptop.crepes.fr")
            client.starttls(context=client_context())
            client.ehlo("alice-laptop.crepes.fr")
            client.login("alice", "alicepw")
            assert client.sendmail(sender, [to], message) == {}

    def bob_messages(self) -> list[bytes]:
        """Bob's maildrop over POP3 with STLS (download and keep)."""
        client = poplib.POP3("127.0.0.1", self.ports["hamburger.edu"]["pop3"], timeout=10)
        try:
            client.stls(context=client_context())
            client.user("bob")
            client.pass_("bobpw")
            count, _ = client.stat()
            return [b"\r\n".join(client.retr(n)[1]) + b"\r\n" for n in range(1, count + 1)]
        finally:
            client.quit()

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[Pair]:
    servers = Pair(tmp_path)
    try:
        yield servers
    finally:
        servers.stop()


def compose(subject: str, body: str = "Rendez-vous at noon.\r\n.A line that starts with a dot.\r\n") -> bytes:
    return (
        f"From: Alice <alice@crepes.fr>\r\nTo: Bob <bob@hamburger.edu>\r\nSubject: {subject}\r\n"
        f"Date: {email.utils.formatdate(localtime=True)}\r\n"
        f"Message-ID: {email.utils.make_msgid(domain='crepes.fr')}\r\n\r\n{body}"
    ).encode()


def parse(data: bytes) -> EmailMessage:
    message = BytesParser(policy=email.policy.default).parsebytes(data)
    assert isinstance(message, EmailMessage)
    return message


def test_alice_mails_bob_through_two_servers(pair: Pair) -> None:
    pair.servers["hamburger.edu"].start()
    pair.servers["crepes.fr"].start()
    sent = compose("Lunch on Friday?")
    pair.submit(sent)
    poll(lambda: len(pair.bob_messages()) == 1, timeout=20, what="Bob's message")
    [data] = pair.bob_messages()
    received = parse(data).get_all("Received") or []
    assert len(received) == 2
    assert "by mail.hamburger.edu" in received[0] and "from mail.crepes.fr" in received[0]  # the relay hop, on top
    assert "ESMTPS" in received[0]  # the relay used STARTTLS (tls = "opportunistic" in the example)
    assert "by mail.crepes.fr" in received[1] and "from alice-laptop.crepes.fr" in received[1]  # the submission
    assert "ESMTPSA" in received[1]  # RFC 3848: submitted with TLS and AUTH
    assert data.startswith(b"Return-Path: <alice@crepes.fr>\r\n")  # added once, at final delivery (§4.4)
    assert data.count(b"Return-Path:") == 1
    assert data.endswith(sent)  # header and body intact, dot line included
    queue = run_queue_cli("--config", str(pair.configs["crepes.fr"]))
    assert queue.returncode == 0 and queue.stdout == "The queue is empty.\n"


def test_kill_9_with_a_full_queue_delivers_each_message_exactly_once(pair: Pair) -> None:
    crepes, hamburger = pair.servers["crepes.fr"], pair.servers["hamburger.edu"]
    crepes.start()  # hamburger.edu is down: every message stays queued
    sent = [compose(f"queued {n}") for n in range(5)]
    for message in sent:
        pair.submit(message)

    def queued_attempts() -> list[int]:
        listed = run_queue_cli("--config", str(pair.configs["crepes.fr"]), "--json")
        assert listed.returncode == 0, listed.stderr
        return [entry["attempts"] for entry in json.loads(listed.stdout)["entries"]]

    poll(lambda: queued_attempts() == [1] * 5, timeout=20, what="a failed first attempt of each message")
    crepes.kill()
    assert len(queued_attempts()) == 5  # the spool survived SIGKILL
    hamburger.start()
    crepes.start()  # same mail root: the queue is loaded again; the next retry would be a minute away
    flushed = run_queue_cli("--config", str(pair.configs["crepes.fr"]), "--flush")
    assert flushed.returncode == 0, flushed.stderr
    poll(lambda: len(pair.bob_messages()) >= 5, timeout=20, what="all five messages at Bob's")
    poll(lambda: queued_attempts() == [], timeout=10, what="an empty queue at crepes.fr")
    message_ids = Counter(str(parse(data)["Message-ID"]) for data in pair.bob_messages())
    expected = Counter(str(parse(message)["Message-ID"]) for message in sent)
    assert message_ids == expected  # each once: no loss, no duplicate
