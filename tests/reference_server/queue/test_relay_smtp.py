"""Accepting mail for relaying: who may relay, loop detection, and what lands in the queue.

The state machine is checked directly for the RCPT and end-of-data decisions; the rest runs
the whole in-process server (ReferenceServer with a Maildir store in tmp_path) on 127.0.0.1,
with smtplib or a raw socket as the client in a worker thread.
"""

from __future__ import annotations

import asyncio
import base64
import mailbox
import smtplib
import socket
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, Final

import pytest

from reference_server.config import parse_config_text
from reference_server.faults import Faults
from reference_server.main import ReferenceServer
from reference_server.queue.spool import QueueEntry, Spool
from reference_server.smtp.state import Deliver, SessionSettings, SmtpSession
from reference_server.storage.api import IncomingMessage, StorageError
from reference_server.storage.store import MaildirStore
from tests.reference_server.queue.queue_support import ScriptedHop, wait_until
from tests.reference_server.smtp_support import cheap_hashes, config_head, make_accounts

ACCOUNTS: Final = make_accounts()  # alice and bob at example.test
PLAIN_ALICE: Final = base64.b64encode(b"\0alice\0alicepw").decode()
TRACE: Final = "Received: from a.example by b.example; Mon, 1 Jan 2024 00:00:00 +0000\r\n"


def message(received_fields: int = 0, subject: str = "relay test") -> bytes:
    return (
        TRACE * received_fields
        + f"From: alice@example.test\r\nTo: bob@hamburger.edu\r\nSubject: {subject}\r\n"
        + "Message-ID: <relay-1@example.test>\r\n\r\nHello Bob.\r\n"
    ).encode()


# --- the pure decisions --------------------------------------------------------------------------


def session(*, authenticated: bool, routes: Sequence[str] | None = ("hamburger.edu",), **settings: Any) -> SmtpSession:
    faults = Faults.of(settings.pop("faults", ()))
    route = None if routes is None else (lambda domain: domain.lower() in routes)
    smtp = SmtpSession(
        SessionSettings(hostname="mail.example.test", relay_route=route, faults=faults, **settings), ACCOUNTS
    )
    smtp.greet()
    assert smtp.handle_line(b"EHLO client.example.org").replies[0].code == 250
    if authenticated:
        smtp.credentials_checked(ACCOUNTS.by_login("alice"))
    assert smtp.handle_line(b"MAIL FROM:<alice@example.test>").replies[0].code == 250
    return smtp


def rcpt(smtp: SmtpSession, address: str) -> tuple[int, str | None]:
    [reply] = smtp.handle_line(f"RCPT TO:<{address}>".encode()).replies
    return reply.code, reply.enhanced


def test_relay_only_for_authenticated_clients_with_a_route() -> None:
    assert rcpt(session(authenticated=False), "bob@hamburger.edu") == (550, "5.7.1")  # no open relay (§7.9)
    assert rcpt(session(authenticated=True), "bob@hamburger.edu")[0] == 250
    assert rcpt(session(authenticated=True), "x@elsewhere.example") == (550, "5.4.4")  # RFC 3463: unable to route
    assert rcpt(session(authenticated=True, routes=None), "bob@hamburger.edu") == (550, "5.7.1")  # relaying off


def test_envelope_separates_local_and_relay_recipients() -> None:
    smtp = session(authenticated=True)
    for address in ("bob@example.test", "bob@hamburger.edu", "Carol@Hamburger.EDU", "bob@hamburger.edu"):
        assert rcpt(smtp, address)[0] == 250
    assert smtp.handle_line(b"DATA").replies[0].code == 354
    outcome = smtp.data_finished(set(), True, received_fields=1)
    assert isinstance(outcome.effect, Deliver)
    envelope = outcome.effect.envelope
    assert envelope.users == ("bob",)
    assert envelope.relay_recipients == ("bob@hamburger.edu", "Carol@Hamburger.EDU")


@pytest.mark.parametrize(
    ("fields", "faults", "code"), [(100, (), None), (101, (), 554), (150, ("relay.loop-not-detected",), None)]
)
def test_loop_detection_threshold(fields: int, faults: tuple[str, ...], code: int | None) -> None:
    """RFC 5321 §6.3: "at least 100 Received entries" before a message counts as looping."""
    smtp = session(authenticated=True, faults=faults)
    assert rcpt(smtp, "bob@hamburger.edu")[0] == 250
    smtp.handle_line(b"DATA")
    outcome = smtp.data_finished(set(), True, received_fields=fields)
    if code is None:
        assert isinstance(outcome.effect, Deliver)
    else:
        assert outcome.effect is None
        assert [(r.code, r.enhanced) for r in outcome.replies] == [(554, "5.4.6")]


def test_loop_detection_on_the_last_bdat_chunk() -> None:
    smtp = session(authenticated=True)
    assert rcpt(smtp, "bob@hamburger.edu")[0] == 250
    smtp.handle_line(b"BDAT 10")
    assert smtp.chunk_finished(10, True, received_fields=101).replies[0].code == 250  # not the last chunk yet
    smtp.handle_line(b"BDAT 10 LAST")
    outcome = smtp.chunk_finished(10, True, received_fields=101)
    assert [(r.code, r.enhanced) for r in outcome.replies] == [(554, "5.4.6")]


# --- the whole server ----------------------------------------------------------------------------

CONFIG: Final = (
    config_head()
    + """\
[[listeners]]
name = "smtp"
protocol = "smtp"
port = 0
tls = "none"
[[listeners]]
name = "submission"
protocol = "submission"
port = 0
tls = "none"
[smtp]
auth_requires_tls = false
[relay]
routes = {{ "hamburger.edu" = "127.0.0.1:{hop_port}" }}
retry_initial = {retry}
retry_max = {retry}
connect_timeout = 2
command_timeout = 3
tls = "none"
"""
)


class FailingLocalStore(MaildirStore):
    """Local delivery fails (a full disk cannot be made on demand when tests run as root)."""

    async def deliver(
        self, message: IncomingMessage, users: Sequence[str], prefix: bytes, folder: str = "INBOX"
    ) -> None:
        message.discard()
        raise StorageError("no space left on device (test)")


class Running:
    def __init__(self, server: ReferenceServer, root: Path) -> None:
        self.server = server
        self.root = root
        self.smtp = server.listeners["smtp"].port
        self.submission = server.listeners["submission"].port

    def queued(self) -> list[QueueEntry]:
        return list(Spool(self.root).load(repair=False).entries)

    def inbox(self, login: str) -> list[bytes]:
        box = mailbox.Maildir(self.root / "users" / login / "Maildir", factory=None, create=False)
        return [box.get_bytes(key) for key in box.iterkeys()]


def with_server(
    tmp_path: Path,
    test: Callable[[Running], Awaitable[None]],
    *,
    hop_port: int = 9,
    retry: float = 60,
    faults: Sequence[str] = (),
    store: type[MaildirStore] = MaildirStore,
) -> None:
    config = parse_config_text(CONFIG.format(hop_port=hop_port, retry=retry, **cheap_hashes()), "relay-test.toml")
    root = tmp_path / "mail"

    async def main() -> None:
        server = ReferenceServer(config, store(root), Faults.of(faults), any_port=True)
        await server.start()
        try:
            await test(Running(server, root))
        finally:
            await server.stop()

    asyncio.run(asyncio.wait_for(main(), 30))


def submit(port: int, recipients: Sequence[str], data: bytes, *, login: bool = True) -> dict[str, tuple[int, bytes]]:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.ehlo("client.example.org")
        if login:
            client.login("alice", "alicepw")
        return client.sendmail("alice@example.test", list(recipients), data)


def test_authenticated_submission_to_a_remote_domain_is_queued(tmp_path: Path) -> None:
    async def check(running: Running) -> None:
        refused = await asyncio.to_thread(submit, running.submission, ["bob@hamburger.edu"], message())
        assert refused == {}
        [entry] = running.queued()  # durable before the 250 (the route is a closed port: it stays queued)
        assert entry.reverse_path == "alice@example.test"
        assert [r.address for r in entry.recipients] == ["bob@hamburger.edu"]
        queued = Spool(running.root).message_path(entry.id).read_bytes()
        assert queued.startswith(b"Received: from client.example.org ([127.0.0.1])\r\n\tby mail.example.test")
        assert b"with ESMTPA id " + entry.id.encode() in queued  # RFC 3848: authenticated
        assert b"Return-Path:" not in queued  # only the final delivery adds it (RFC 5321 §4.4)
        assert queued.endswith(message())
        assert running.inbox("bob") == []

    with_server(tmp_path, check)


def test_unauthenticated_relay_is_refused_on_the_smtp_listener(tmp_path: Path) -> None:
    async def check(running: Running) -> None:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            await asyncio.to_thread(submit, running.smtp, ["bob@hamburger.edu"], message(), login=False)
        code, text = refused.value.recipients["bob@hamburger.edu"]
        assert code == 550 and text.startswith(b"5.7.1")
        assert running.queued() == []

    with_server(tmp_path, check)


def test_authenticated_relay_without_a_route_is_refused(tmp_path: Path) -> None:
    async def check(running: Running) -> None:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            await asyncio.to_thread(submit, running.submission, ["x@elsewhere.example"], message())
        code, text = refused.value.recipients["x@elsewhere.example"]
        assert code == 550 and text.startswith(b"5.4.4")

    with_server(tmp_path, check)


def test_mixed_local_and_remote_recipients(tmp_path: Path) -> None:
    async def check(running: Running) -> None:
        data = message(received_fields=2)
        recipients = ["bob@example.test", "bob@hamburger.edu"]
        assert await asyncio.to_thread(submit, running.submission, recipients, data) == {}
        [stored] = running.inbox("bob")
        assert stored.startswith(b"Return-Path: <alice@example.test>\r\nReceived: from client.example.org")
        assert stored.endswith(data)
        [entry] = running.queued()
        assert [r.address for r in entry.recipients] == ["bob@hamburger.edu"]
        queued = Spool(running.root).message_path(entry.id).read_bytes()
        assert queued.startswith(b"Received: from client.example.org") and queued.endswith(data)

    with_server(tmp_path, check)


def test_failed_local_delivery_cancels_the_queued_copy(tmp_path: Path) -> None:
    async def check(running: Running) -> None:
        with pytest.raises(smtplib.SMTPDataError) as failed:
            await asyncio.to_thread(submit, running.submission, ["bob@example.test", "bob@hamburger.edu"], message())
        assert failed.value.smtp_code == 451
        assert running.queued() == []
        assert list(Spool(running.root).directory.glob("*.msg")) == []  # nothing left to relay after the 451

    with_server(tmp_path, check, store=FailingLocalStore)


def raw_session(port: int, commands: bytes) -> list[bytes]:
    """Send a pipelined command block over a plain socket; return the reply lines' codes in order."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        reader = sock.makefile("rb")
        reader.readline()
        sock.sendall(commands)
        codes = []
        while True:
            line = reader.readline()
            if not line:
                break
            if line[3:4] == b" ":
                codes.append(line[:3] + b" " + line[4:9])
            if line.startswith(b"221"):
                break
        return codes


def test_101_received_fields_are_refused_with_554_nothing_stored(tmp_path: Path) -> None:
    auth = f"AUTH PLAIN {PLAIN_ALICE}\r\n".encode()
    envelope = b"MAIL FROM:<alice@example.test>\r\nRCPT TO:<bob@hamburger.edu>\r\nRCPT TO:<bob@example.test>\r\n"
    looped, fine = message(received_fields=101), message(received_fields=100)

    async def check(running: Running) -> None:
        by_data = b"EHLO c.example\r\n" + auth + envelope + b"DATA\r\n" + looped + b".\r\nQUIT\r\n"
        codes = await asyncio.to_thread(raw_session, running.submission, by_data)
        assert codes[-2:] == [b"554 5.4.6", b"221 2.0.0"]
        by_bdat = (
            b"EHLO c.example\r\n" + auth + envelope + f"BDAT {len(looped)} LAST\r\n".encode() + looped + b"QUIT\r\n"
        )
        codes = await asyncio.to_thread(raw_session, running.submission, by_bdat)
        assert codes[-2:] == [b"554 5.4.6", b"221 2.0.0"]
        assert running.queued() == [] and running.inbox("bob") == []
        at_limit = b"EHLO c.example\r\n" + auth + envelope + b"DATA\r\n" + fine + b".\r\nQUIT\r\n"
        codes = await asyncio.to_thread(raw_session, running.submission, at_limit)
        assert codes[-2][:3] == b"250" and codes[-1][:3] == b"221"
        assert len(running.queued()) == 1 and len(running.inbox("bob")) == 1

    with_server(tmp_path, check)


def test_fault_received_missing_drops_our_trace_on_the_relay_path_only(tmp_path: Path) -> None:
    async def check(running: Running) -> None:
        data = message()
        assert (
            await asyncio.to_thread(submit, running.submission, ["bob@example.test", "bob@hamburger.edu"], data) == {}
        )
        [entry] = running.queued()
        assert Spool(running.root).message_path(entry.id).read_bytes() == data
        [stored] = running.inbox("bob")
        assert b"\r\nReceived: from client.example.org" in stored  # local delivery keeps it

    with_server(tmp_path, check, faults=["relay.received-missing"])


def test_relayed_message_reaches_the_next_hop_with_our_trace(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with ScriptedHop() as hop:

            async def check(running: Running) -> None:
                assert await asyncio.to_thread(submit, running.submission, ["bob@hamburger.edu"], message()) == {}
                await wait_until(lambda: len(hop.messages) == 1, what="the relayed message")
                await wait_until(lambda: running.queued() == [], what="an empty queue")

            await asyncio.to_thread(with_server, tmp_path, check, hop_port=hop.port, retry=0.2)
        [relayed] = hop.messages
        assert relayed.mail_from == "alice@example.test" and relayed.recipients == ["bob@hamburger.edu"]
        assert relayed.data.startswith(b"Received: from client.example.org") and relayed.data.endswith(message())

    asyncio.run(asyncio.wait_for(scenario(), 30))
