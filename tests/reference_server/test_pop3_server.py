"""The POP3 server over loopback: poplib and a raw client against a real Maildir store.

Expected sizes and contents are computed here from the RFC rules (octets of the message
with CRLF line ends, RFC 1939 §11; byte-stuffing, §3), never read back from the server.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import poplib
import re
import smtplib
import socket
import ssl
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Final

import pytest
import trustme

from reference_server.accounts import hash_password
from reference_server.config import parse_config_text
from reference_server.faults import Faults
from reference_server.main import ReferenceServer
from reference_server.pop3.maildrop import MaildropLocks
from reference_server.pop3.server import (
    LOCK_WAIT,
    MESSAGE_CHUNK,
    SYNC_READ_MAX,
    Pop3Server,
    _read_if_cached,
    _read_start,
)
from reference_server.pop3.state import Pop3Settings
from reference_server.storage.store import MaildirStore
from tests.reference_server.smtp_support import PASSWORDS, LoopThread, make_accounts

HOST: Final = "127.0.0.1"
TIMEOUT: Final = 10.0
UNIQUE_ID_RE: Final = re.compile(rb"[\x21-\x7e]{1,70}")  # RFC 1939 §7

MESSAGES: Final = (
    b"From: a@example.test\r\nSubject: one\r\n\r\nfirst body\r\n",
    b"From: b@example.test\r\nSubject: dots\r\n\r\n.leading dot\r\n..two dots\r\n.\r\nend\r\n",
    b"From: c@example.test\nSubject: bare lf\n\nline one\nline two\n",  # as SMTP with bare_lf=accept stores it
)


def wire_form(message: bytes) -> bytes:
    """RFC 1939 §11: a message as sent, every line end a CRLF."""
    return re.sub(rb"(?<!\r)\n", b"\r\n", message)


def wire_lines(message: bytes) -> list[bytes]:
    """The lines poplib returns: unstuffed, without CRLF."""
    return wire_form(message).split(b"\r\n")[:-1]


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


class Pop3Thread(LoopThread):
    """A Pop3Server with a MaildirStore on its own event loop in a thread, for blocking clients."""

    def __init__(
        self,
        root: Path,
        ca: trustme.CA,
        *,
        faults: Sequence[str] = (),
        tls: str = "starttls",
        login_requires_tls: bool = True,
        failed_login_delay: float = 0.0,
        autologout: float = 30.0,
    ) -> None:
        self.store = MaildirStore(root)
        for user in PASSWORDS:
            self.store.ensure_user(user)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("localhost", HOST, common_name="localhost").configure_cert(context)  # fetchmail wants a CN
        self.client_context = ssl.create_default_context()
        ca.configure_trust(self.client_context)
        self.client_context.check_hostname = False  # certificate is for 127.0.0.1; verified below by IP
        settings = Pop3Settings(
            hostname="mail.example.test",
            tls_available=tls == "starttls",
            login_requires_tls=login_requires_tls,
            failed_login_delay=failed_login_delay,
            apop_secrets={"alice": PASSWORDS["alice"]},
            faults=Faults.of(faults),
        )
        self.locks = MaildropLocks(settings.faults)
        self.server = Pop3Server(
            settings,
            make_accounts(),
            self.store,
            self.locks,
            ssl_context=context if tls != "none" else None,
            implicit_tls=tls == "implicit",
            autologout=autologout,
        )
        super().__init__("pop3-test-server")
        self.port = 0

    def __enter__(self) -> Pop3Thread:
        self.start_loop()
        _, self.port = self.call(self.server.start(HOST, 0))
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if self.thread.is_alive():
            self.call(self.server.shutdown(grace=5))
            self.stop_loop()

    def deliver(self, user: str, *messages: bytes) -> None:
        async def deliver_all() -> None:
            for message in messages:
                incoming = self.store.open_incoming()
                incoming.write(message)
                await self.store.deliver(incoming, [user], b"")

        self.call(deliver_all())

    def idle(self, login: str) -> None:
        """Wait until no session holds the user's lock (a dropped session ends asynchronously)."""
        deadline = time.monotonic() + TIMEOUT
        while self.locks.is_locked(login):
            assert time.monotonic() < deadline, "lock never released"
            time.sleep(0.01)

    def pop(self, user: str = "alice", *, tls: bool = True) -> poplib.POP3:
        """A poplib client, after STLS, logged in with USER/PASS."""
        client = poplib.POP3(HOST, self.port, timeout=TIMEOUT)
        try:
            if tls:
                client.stls(self.client_context)
            client.user(user)
            client.pass_(PASSWORDS[user])
        except BaseException:
            client.close()
            raise
        return client


@pytest.fixture
def pop3(tmp_path: Path, ca: trustme.CA) -> Iterator[Pop3Thread]:
    with Pop3Thread(tmp_path / "mail", ca) as server:
        yield server


class RawClient:
    """Lines over a socket, for what poplib hides (exact bytes, pipelining, STLS timing)."""

    def __init__(self, port: int) -> None:
        self.sock: socket.socket | ssl.SSLSocket = socket.create_connection((HOST, port), timeout=TIMEOUT)
        self.buffer = b""

    def __enter__(self) -> RawClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def line(self) -> bytes:
        while b"\r\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError(self.buffer)
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\r\n")
        return line

    def command(self, line: str) -> bytes:
        self.send(line.encode() + b"\r\n")
        return self.line()

    def multi(self) -> list[bytes]:
        """Raw lines of a multi-line body, still stuffed, up to (not including) the '.' line."""
        lines = []
        while (line := self.line()) != b".":
            lines.append(line)
        return lines

    def start_tls(self, context: ssl.SSLContext) -> None:
        assert not self.buffer
        self.sock = context.wrap_socket(self.sock, server_hostname=None)

    def at_eof(self) -> bool:
        try:
            return self.sock.recv(1) == b""
        except ConnectionError:
            return True


def login_raw(client: RawClient, context: ssl.SSLContext, user: str = "alice") -> None:
    assert client.line().startswith(b"+OK")
    assert client.command("STLS").startswith(b"+OK")
    client.start_tls(context)
    assert client.command(f"USER {user}").startswith(b"+OK")
    assert client.command(f"PASS {PASSWORDS[user]}").startswith(b"+OK")


# --- greeting, CAPA, STLS ------------------------------------------------------------------


def test_greeting_capa_and_stls(pop3: Pop3Thread) -> None:
    client = poplib.POP3(HOST, pop3.port, timeout=TIMEOUT)
    try:
        welcome = client.getwelcome()
        assert welcome.startswith(b"+OK") and re.search(rb"<[^<>@]+@[^<>]+>$", welcome)  # §7 timestamp
        before = client.capa()
        assert "STLS" in before and "USER" not in before and "SASL" not in before  # RFC 5034 §4
        with pytest.raises(poplib.error_proto, match=r"\[AUTH\]"):
            client.user("alice")
        client.stls(pop3.client_context)  # verifies the certificate against the test CA
        after = client.capa()
        assert "STLS" not in after and "USER" in after and after["SASL"] == ["PLAIN"]
        for tag in ("TOP", "UIDL", "RESP-CODES", "PIPELINING"):
            assert tag in before and tag in after
        client.user("alice")
        assert client.pass_("alicepw").startswith(b"+OK")
        assert client.quit().startswith(b"+OK")
    finally:
        client.close()


def test_stls_discards_pipelined_plaintext(pop3: Pop3Thread) -> None:
    """RFC 2595 §4: commands after STLS must wait for TLS; the server must not run injected ones."""
    with RawClient(pop3.port) as client:
        client.line()
        client.send(b"STLS\r\nUSER alice\r\n")
        assert client.line().startswith(b"+OK")
        client.start_tls(pop3.client_context)
        assert client.command("PASS alicepw").startswith(b"-ERR")  # the plaintext USER never happened


def test_implicit_tls(tmp_path: Path, ca: trustme.CA) -> None:
    """RFC 8314 §3.1: TLS from the first octet; no STLS offered."""
    with Pop3Thread(tmp_path / "mail", ca, tls="implicit") as server:
        server.deliver("bob", MESSAGES[0])
        client = poplib.POP3_SSL(HOST, server.port, timeout=TIMEOUT, context=server.client_context)
        try:
            assert "STLS" not in client.capa()
            client.user("bob")
            client.pass_("bobpw")
            assert client.stat() == (1, len(MESSAGES[0]))
            client.quit()
        finally:
            client.close()


# --- retrieval flows ---------------------------------------------------------------------------


def test_download_and_delete(pop3: Pop3Thread) -> None:
    pop3.deliver("alice", *MESSAGES)
    client = pop3.pop()
    try:
        assert client.stat() == (3, sum(len(wire_form(m)) for m in MESSAGES))
        _, listing, _ = client.list()
        assert listing == [f"{n} {len(wire_form(m))}".encode() for n, m in enumerate(MESSAGES, 1)]
        for number, message in enumerate(MESSAGES, 1):
            status, lines, _ = client.retr(number)
            assert status == f"+OK {len(wire_form(message))} octets".encode()
            assert lines == wire_lines(message)
            client.dele(number)
        assert client.stat() == (0, 0)
        client.quit()
    finally:
        client.close()
    pop3.idle("alice")
    assert pop3.store.snapshot("alice").messages == ()
    again = pop3.pop()
    try:
        assert again.stat() == (0, 0)
        again.quit()
    finally:
        again.close()


def test_download_and_keep_with_stable_uidl(pop3: Pop3Thread) -> None:
    pop3.deliver("alice", *MESSAGES)
    seen = []
    for _ in range(2):
        client = pop3.pop()
        try:
            _, uidl, _ = client.uidl()
            seen.append(uidl)
            for number in range(1, 4):
                client.retr(number)
            client.quit()
        finally:
            client.close()
        pop3.idle("alice")
    assert seen[0] == seen[1]  # RFC 1939 §7: persists across sessions
    ids = [line.split(b" ", 1)[1] for line in seen[0]]
    assert len(set(ids)) == 3 and all(UNIQUE_ID_RE.fullmatch(uid) for uid in ids)
    # deleting the first message keeps the others' ids
    client = pop3.pop()
    try:
        client.dele(1)
        client.quit()
    finally:
        client.close()
    pop3.idle("alice")
    client = pop3.pop()
    try:
        _, uidl, _ = client.uidl()
        assert [line.split(b" ", 1)[1] for line in uidl] == ids[1:]
        client.quit()
    finally:
        client.close()


def test_bytes_on_the_wire_are_stuffed_and_counted(pop3: Pop3Thread) -> None:
    """RFC 1939 §3 byte-stuffing and §5/§11 exact octet counts, read without poplib."""
    pop3.deliver("alice", MESSAGES[1], MESSAGES[2])
    with RawClient(pop3.port) as client:
        login_raw(client, pop3.client_context)
        for number, message in ((1, MESSAGES[1]), (2, MESSAGES[2])):
            expected_size = len(wire_form(message))
            assert client.command(f"LIST {number}") == f"+OK {number} {expected_size}".encode()
            assert client.command(f"RETR {number}") == f"+OK {expected_size} octets".encode()
            raw = client.multi()
            expected = [b"." + line if line.startswith(b".") else line for line in wire_lines(message)]
            assert raw == expected
            assert sum(len(line) + 2 for line in expected) - sum(line.startswith(b".") for line in expected) == (
                expected_size
            )
        assert client.command("QUIT").startswith(b"+OK")


def test_top(pop3: Pop3Thread) -> None:
    message = b"A: 1\r\nB: 2\r\n\r\nbody 1\r\n.body 2\r\nbody 3\r\n"
    pop3.deliver("alice", message)
    client = pop3.pop()
    try:
        assert client.top(1, 0)[1] == [b"A: 1", b"B: 2", b""]
        assert client.top(1, 2)[1] == [b"A: 1", b"B: 2", b"", b"body 1", b".body 2"]
        assert client.top(1, 99)[1] == wire_lines(message)  # §7: more lines than the body: everything
        client.quit()
    finally:
        client.close()


def test_large_message_streams(pop3: Pop3Thread) -> None:
    line = b"x" * 998 + b"\r\n"
    message = b"Subject: big\r\n\r\n" + line * 6000 + b".\r\n"
    pop3.deliver("alice", message)
    client = pop3.pop()
    try:
        status, lines, _ = client.retr(1)
        assert status == f"+OK {len(message)} octets".encode() and lines == wire_lines(message)
        client.quit()
    finally:
        client.close()


def test_deleted_invisible_until_rset(pop3: Pop3Thread) -> None:
    pop3.deliver("alice", *MESSAGES)
    client = pop3.pop()
    try:
        client.dele(2)
        assert client.stat() == (2, len(wire_form(MESSAGES[0])) + len(wire_form(MESSAGES[2])))
        assert [entry.split()[0] for entry in client.list()[1]] == [b"1", b"3"]
        for call in (lambda: client.retr(2), lambda: client.dele(2), lambda: client.list(2)):
            with pytest.raises(poplib.error_proto, match="no such message"):
                call()
        client.rset()
        assert client.stat()[0] == 3
        client.quit()
    finally:
        client.close()
    pop3.idle("alice")
    assert len(pop3.store.snapshot("alice").messages) == 3


def test_dropped_connection_deletes_nothing(pop3: Pop3Thread) -> None:
    """RFC 1939 §6: no QUIT, no UPDATE state, nothing removed."""
    pop3.deliver("alice", *MESSAGES)
    client = pop3.pop()
    client.dele(1)
    client.dele(2)
    client.close()
    pop3.idle("alice")
    assert len(pop3.store.snapshot("alice").messages) == 3


def test_maildrop_lock(pop3: Pop3Thread) -> None:
    """RFC 1939 §4 exclusive access; RFC 2449 §8.1.2 [IN-USE] for the second session."""
    first = pop3.pop()
    try:
        second = poplib.POP3(HOST, pop3.port, timeout=TIMEOUT)
        try:
            second.stls(pop3.client_context)
            second.user("alice")
            with pytest.raises(poplib.error_proto, match=r"^b'-ERR \[IN-USE\]"):
                second.pass_("alicepw")
            bob = pop3.pop("bob")  # other users are not affected
            bob.quit()
            bob.close()
            first.quit()
            pop3.idle("alice")
            second.user("alice")
            assert second.pass_("alicepw").startswith(b"+OK")
            second.quit()
        finally:
            second.close()
    finally:
        first.close()


def test_login_waits_briefly_for_a_lock_that_is_being_released(pop3: Pop3Thread) -> None:
    """RFC 1939 §8: a session that has just dropped its connection does not make the next login fail."""

    async def hold_then_release() -> None:
        assert pop3.locks.acquire("alice")
        asyncio.get_running_loop().call_later(LOCK_WAIT / 4, pop3.locks.release, "alice")

    pop3.call(hold_then_release())
    client = pop3.pop()
    try:
        assert client.stat() == (0, 0)
        client.quit()
    finally:
        client.close()


def test_lock_held_past_the_wait_is_in_use(pop3: Pop3Thread) -> None:
    """RFC 1939 §8 / RFC 2449 §8.1.2: a lock still held after LOCK_WAIT is answered -ERR [IN-USE]."""

    async def hold() -> None:
        assert pop3.locks.acquire("alice")

    pop3.call(hold())
    started = time.monotonic()
    with pytest.raises(poplib.error_proto, match=r"^b'-ERR \[IN-USE\]"):
        pop3.pop().close()
    assert time.monotonic() - started >= LOCK_WAIT


def test_delivery_during_a_session_waits_for_the_next(pop3: Pop3Thread) -> None:
    pop3.deliver("alice", MESSAGES[0])
    client = pop3.pop()
    try:
        assert client.stat()[0] == 1
        pop3.deliver("alice", MESSAGES[1])
        assert client.stat()[0] == 1
        with pytest.raises(poplib.error_proto):
            client.list(2)
        client.quit()
    finally:
        client.close()
    pop3.idle("alice")
    client = pop3.pop()
    try:
        assert client.stat()[0] == 2
        client.quit()
    finally:
        client.close()


# --- authentication ------------------------------------------------------------------------------


def test_failed_logins_look_the_same_and_come_late(tmp_path: Path, ca: trustme.CA) -> None:
    delay = 0.3
    with Pop3Thread(tmp_path / "mail", ca, failed_login_delay=delay) as server:
        answers = []
        for user, password in (("alice", "wrong"), ("nobody", "alicepw")):
            client = poplib.POP3(HOST, server.port, timeout=TIMEOUT)
            try:
                client.stls(server.client_context)
                assert client.user(user).startswith(b"+OK")
                started = time.monotonic()
                with pytest.raises(poplib.error_proto) as raised:
                    client.pass_(password)
                assert time.monotonic() - started >= delay
                answers.append(raised.value.args[0])
                client.user("alice")
                assert client.pass_("alicepw").startswith(b"+OK")  # a new attempt may follow
                client.quit()
            finally:
                client.close()
            server.idle("alice")
        assert answers[0] == answers[1] and answers[0].startswith(b"-ERR [AUTH]")


def test_apop(pop3: Pop3Thread) -> None:
    """RFC 1939 §7: MD5 of the greeting's timestamp followed by the shared secret."""
    client = poplib.POP3(HOST, pop3.port, timeout=TIMEOUT)
    try:
        assert client.apop("alice", "alicepw").startswith(b"+OK")  # poplib computes the digest itself
        client.quit()
    finally:
        client.close()
    pop3.idle("alice")
    with RawClient(pop3.port) as raw:
        greeting = raw.line()
        match = re.search(rb"<[^>]+>", greeting)
        assert match is not None
        wrong = hashlib.md5(match[0] + b"not the secret").hexdigest()
        assert raw.command(f"APOP alice {wrong}").startswith(b"-ERR [AUTH]")
        bob = hashlib.md5(match[0] + b"bobpw").hexdigest()
        assert raw.command(f"APOP bob {bob}").startswith(b"-ERR [AUTH]")  # bob: hash only, no APOP


def test_auth_plain(pop3: Pop3Thread) -> None:
    """RFC 5034 §4 with RFC 4616 PLAIN, after STLS."""
    pop3.deliver("alice", MESSAGES[0])
    with RawClient(pop3.port) as client:
        client.line()
        assert client.command("AUTH PLAIN").startswith(b"-ERR")  # no PLAIN before TLS
        client.command("STLS")
        client.start_tls(pop3.client_context)
        assert client.command("AUTH PLAIN") == b"+ "
        assert client.command("*").startswith(b"-ERR")
        assert client.command("AUTH PLAIN") == b"+ "
        assert client.command("bad=base64").startswith(b"-ERR")
        message = base64.b64encode(b"\0alice\0alicepw").decode()
        assert client.command(f"AUTH PLAIN {message}").startswith(b"+OK")
        assert client.command("STAT") == f"+OK 1 {len(MESSAGES[0])}".encode()
        assert client.command("QUIT").startswith(b"+OK")


# --- session behaviour ----------------------------------------------------------------------------------


def test_unexpected_error_is_err_for_that_session_only(pop3: Pop3Thread, monkeypatch: pytest.MonkeyPatch) -> None:
    """One last-resort handler: -ERR [SYS/TEMP] to the client, the connection closed, other sessions unharmed."""
    real_snapshot = pop3.store.snapshot

    def snapshot(user: str, *args: object, **kwargs: object) -> object:
        if user == "bob":
            raise ZeroDivisionError("a bug, not a storage error")
        return real_snapshot(user, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pop3.store, "snapshot", snapshot)
    with RawClient(pop3.port) as bystander, RawClient(pop3.port) as client:
        login_raw(bystander, pop3.client_context)
        assert client.line().startswith(b"+OK")
        assert client.command("STLS").startswith(b"+OK")
        client.start_tls(pop3.client_context)
        assert client.command("USER bob").startswith(b"+OK")
        reply = client.command("PASS bobpw")
        assert reply == b"-ERR [SYS/TEMP] internal error, closing connection"
        assert client.at_eof()
        assert bystander.command("STAT").startswith(b"+OK 0 ")


def test_pipelined_commands_answered_in_order(pop3: Pop3Thread) -> None:
    """RFC 2449 §6.6: each command processed in turn."""
    pop3.deliver("alice", MESSAGES[0])
    with RawClient(pop3.port) as client:
        login_raw(client, pop3.client_context)
        client.send(b"STAT\r\nLIST\r\nNOOP\r\nUIDL 1\r\nXYZZY\r\nQUIT\r\n")
        assert client.line() == f"+OK 1 {len(MESSAGES[0])}".encode()
        assert client.line().startswith(b"+OK")
        assert client.multi() == [f"1 {len(MESSAGES[0])}".encode()]
        assert client.line() == b"+OK"
        assert client.line().startswith(b"+OK 1 ")
        assert client.line().startswith(b"-ERR")
        assert client.line().startswith(b"+OK")
        assert client.at_eof()


def test_overlong_line_is_refused_and_session_goes_on(pop3: Pop3Thread) -> None:
    with RawClient(pop3.port) as client:
        client.line()
        assert client.command("NOOP " + "x" * 300).startswith(b"-ERR")  # RFC 2449 §4: 255 octets
        assert client.command("CAPA").startswith(b"+OK")
        client.multi()
        client.command("QUIT")


def test_autologout_closes_silently_without_update(tmp_path: Path, ca: trustme.CA) -> None:
    """RFC 1939 §3: no response, no UPDATE state."""
    with Pop3Thread(tmp_path / "mail", ca, autologout=0.3) as server:
        server.deliver("alice", MESSAGES[0])
        with RawClient(server.port) as client:
            login_raw(client, server.client_context)
            assert client.command("DELE 1").startswith(b"+OK")
            started = time.monotonic()
            assert client.at_eof()
            assert time.monotonic() - started >= 0.25
        server.idle("alice")
        assert len(server.store.snapshot("alice").messages) == 1


# --- faults at the edge and in the maildrop -----------------------------------------------------------


def test_fault_stls_buffered_commands_kept(tmp_path: Path, ca: trustme.CA) -> None:
    with (
        Pop3Thread(tmp_path / "mail", ca, faults=["pop3.stls-buffered-commands-kept"]) as server,
        RawClient(server.port) as client,
    ):
        client.line()
        client.send(b"STLS\r\nUSER alice\r\n")
        client.line()
        client.start_tls(server.client_context)
        assert client.command("PASS alicepw").startswith(b"+OK")  # the injected USER was run


def test_fault_apop_timestamp_constant(tmp_path: Path, ca: trustme.CA) -> None:
    """RFC 1939 §7: the timestamp MUST differ in each greeting; with the fault it repeats."""

    def greeting(port: int) -> bytes:
        with RawClient(port) as client:
            return client.line()

    with Pop3Thread(tmp_path / "clean", ca) as server:
        assert greeting(server.port) != greeting(server.port)
    with Pop3Thread(tmp_path / "mail", ca, faults=["pop3.apop-timestamp-constant"]) as server:
        first = greeting(server.port)
        assert b"<" in first and greeting(server.port) == first


def test_fault_pipelined_commands_dropped(tmp_path: Path, ca: trustme.CA) -> None:
    with (
        Pop3Thread(tmp_path / "mail", ca, faults=["pop3.pipelined-commands-dropped"]) as server,
        RawClient(server.port) as client,
    ):
        login_raw(client, server.client_context)
        client.send(b"NOOP\r\nSTAT\r\n")
        assert client.line() == b"+OK"
        assert client.command("NOOP") == b"+OK"  # the answer to STAT never came: it was thrown away


def test_fault_command_line_split_at_128(tmp_path: Path, ca: trustme.CA) -> None:
    """RFC 2449 §4: 255 octets are one command; with the fault a long line becomes two."""
    line = "USER " + "x" * 200  # 207 octets with CRLF
    with Pop3Thread(tmp_path / "clean", ca) as server, RawClient(server.port) as client:
        login_raw(client, server.client_context)
        assert client.command(line).startswith(b"-ERR")  # one answer: USER is refused after login
        assert client.command("NOOP") == b"+OK"
    with (
        Pop3Thread(tmp_path / "mail", ca, faults=["pop3.command-line-split-at-128"]) as server,
        RawClient(server.port) as client,
    ):
        login_raw(client, server.client_context)
        assert client.command(line).startswith(b"-ERR")
        assert client.command("NOOP").startswith(b"-ERR")  # the answer to the line's second half


def test_fault_octets_lf_counted(tmp_path: Path, ca: trustme.CA) -> None:
    with Pop3Thread(tmp_path / "mail", ca, faults=["pop3.octets-lf-counted"]) as server:
        server.deliver("alice", MESSAGES[0])
        client = server.pop()
        try:
            assert client.stat()[1] == len(MESSAGES[0]) - MESSAGES[0].count(b"\n")
            client.quit()
        finally:
            client.close()


def test_fault_uidl_per_session(tmp_path: Path, ca: trustme.CA) -> None:
    with Pop3Thread(tmp_path / "mail", ca, faults=["pop3.uidl-per-session"]) as server:
        server.deliver("alice", MESSAGES[0])
        seen = []
        for _ in range(2):
            client = server.pop()
            try:
                seen.append(client.uidl()[1])
                client.quit()
            finally:
                client.close()
            server.idle("alice")
        assert seen[0] != seen[1]


def test_fault_dele_immediate_and_update_without_quit(tmp_path: Path, ca: trustme.CA) -> None:
    for fault in ("pop3.dele-immediate", "pop3.update-without-quit"):
        with Pop3Thread(tmp_path / fault, ca, faults=[fault]) as server:
            server.deliver("alice", *MESSAGES)
            client = server.pop()
            client.dele(1)
            client.close()  # no QUIT
            server.idle("alice")
            assert len(server.store.snapshot("alice").messages) == 2, fault


def test_fault_no_maildrop_lock(tmp_path: Path, ca: trustme.CA) -> None:
    with Pop3Thread(tmp_path / "mail", ca, faults=["pop3.no-maildrop-lock"]) as server:
        first, second = server.pop(), server.pop()
        for client in (first, second):
            client.quit()
            client.close()


def test_fault_no_byte_stuffing_on_the_wire(tmp_path: Path, ca: trustme.CA) -> None:
    with Pop3Thread(tmp_path / "mail", ca, faults=["pop3.no-byte-stuffing"]) as server:
        server.deliver("alice", b"A: b\r\n\r\n.x\r\n")
        with RawClient(server.port) as client:
            login_raw(client, server.client_context)
            client.command("RETR 1")
            assert client.multi() == [b"A: b", b"", b".x"]


# --- wired into the reference server: SMTP in, POP3 out ---------------------------------------------------

SERVE_CONFIG: Final = """\
domains = ["example.test"]

[[accounts]]
login = "alice"
address = "alice@example.test"
password = "alicepw"

[[accounts]]
login = "bob"
address = "bob@example.test"
password_hash = "{bob_hash}"

[[listeners]]
protocol = "submission"

[[listeners]]
protocol = "pop3"
tls = "{pop3_tls}"

[pop3]
failed_login_delay = 0
"""


@pytest.mark.parametrize("pop3_tls", ["starttls", "implicit"])
def test_reference_server_delivers_by_smtp_and_serves_by_pop3(tmp_path: Path, pop3_tls: str) -> None:
    config = parse_config_text(
        SERVE_CONFIG.format(bob_hash=hash_password("bobpw", n=16, r=1, p=1), pop3_tls=pop3_tls), "test.toml"
    )
    loop = asyncio.new_event_loop()
    server = ReferenceServer(config, MaildirStore(tmp_path / "mail"), any_port=True)
    try:
        listeners = loop.run_until_complete(server.start())
        pop3 = listeners["pop3"]
        assert server.ready_info(tmp_path / "mail")["listeners"]["pop3"] == {  # type: ignore[index]
            "host": HOST,
            "port": pop3.port,
            "tls": pop3_tls,
        }
        body = b"Subject: via smtp\r\n\r\n.starts with a dot\r\nbye\r\n"

        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # the server's own self-signed certificate

        def connect() -> poplib.POP3:
            if pop3_tls == "implicit":
                return poplib.POP3_SSL(HOST, pop3.port, timeout=TIMEOUT, context=context)
            client = poplib.POP3(HOST, pop3.port, timeout=TIMEOUT)
            client.stls(context)
            return client

        def client() -> tuple[int, list[bytes], list[bytes]]:
            with smtplib.SMTP(HOST, listeners["submission"].port, timeout=TIMEOUT) as smtp:
                smtp.starttls(context=context)
                smtp.login("bob", "bobpw")
                smtp.sendmail("bob@example.test", ["alice@example.test"], body)
            pop = connect()
            try:
                assert pop.apop("alice", "alicepw").startswith(b"+OK")  # alice has a plain password
                count, _ = pop.stat()
                _, lines, _ = pop.retr(1)
                pop.dele(1)
                pop.quit()
            finally:
                pop.close()
            again = connect()
            try:
                again.user("bob")
                again.pass_("bobpw")
                with pytest.raises(poplib.error_proto):
                    again.apop("bob", "bobpw")  # wrong state now; and bob has no APOP secret anyway
                _, uidl, _ = again.uidl()
                again.quit()
            finally:
                again.close()
            return count, lines, uidl

        count, lines, bob_listing = loop.run_until_complete(asyncio.to_thread(client))
        assert count == 1 and bob_listing == []
        assert lines[-3:] == [b"", b".starts with a dot", b"bye"]
        assert lines[0].startswith(b"Return-Path: <bob@example.test>")
        assert MaildirStore(tmp_path / "mail").snapshot("alice").messages == ()
    finally:
        loop.run_until_complete(server.stop())
        loop.run_until_complete(loop.shutdown_default_executor())
        loop.close()


def test_client_that_stops_reading_is_logged_out(tmp_path: Path, ca: trustme.CA) -> None:
    """A RETR the client never reads must not hold the session (and the lock) for ever."""
    with Pop3Thread(tmp_path / "mail", ca, login_requires_tls=False, autologout=0.5) as server:
        server.deliver("alice", b"Subject: big\r\n\r\n" + (b"y" * 998 + b"\r\n") * 12_000)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.settimeout(TIMEOUT)
            sock.connect((HOST, server.port))
            sock.sendall(b"USER alice\r\nPASS alicepw\r\n")
            received = b""
            while received.count(b"\r\n") < 3:
                received += sock.recv(4096)
            assert received.split(b"\r\n")[2].startswith(b"+OK")
            assert server.locks.is_locked("alice")
            sock.sendall(b"RETR 1\r\n")  # and never read the answer
            server.idle("alice")  # the session ended and released the lock
        finally:
            sock.close()


# --- reading messages off the store ------------------------------------------------------------


def test_small_cached_message_is_read_whole_without_a_thread(tmp_path: Path) -> None:
    path = tmp_path / "message"
    path.write_bytes(b"A: b\r\n\r\nbody\r\n")
    with path.open("rb") as stream:
        stream.read()  # now certainly in the page cache
        assert _read_if_cached(stream) == b"A: b\r\n\r\nbody\r\n"


def test_large_or_fileless_messages_go_to_a_thread(tmp_path: Path) -> None:
    path = tmp_path / "message"
    path.write_bytes(b"x" * (SYNC_READ_MAX + 1))
    with path.open("rb") as stream:
        stream.read()
        assert _read_if_cached(stream) is None
    assert _read_if_cached(io.BytesIO(b"A: b\r\n\r\n")) is None


def test_read_start_returns_small_messages_whole_and_closed() -> None:
    stream = io.BytesIO(b"A: b\r\n\r\nbody\r\n")
    rest, chunk = _read_start(stream)
    assert rest is None and chunk == b"A: b\r\n\r\nbody\r\n" and stream.closed


def test_read_start_leaves_a_large_message_open_after_one_chunk() -> None:
    data = b"y" * (MESSAGE_CHUNK + 10)
    stream = io.BytesIO(data)
    rest, chunk = _read_start(stream)
    assert rest is stream and chunk == data[:MESSAGE_CHUNK]
    assert stream.read() == data[MESSAGE_CHUNK:]
    stream.close()


def test_pipelined_retrs_of_small_and_large_messages_arrive_whole_and_in_order(pop3: Pop3Thread) -> None:
    """§3/§11: each RETR answer is its message, stuffed, in order, whichever way it was read."""
    small = b"Subject: small\r\n\r\n.dot\r\nend\r\n"
    large = b"Subject: large\r\n\r\n" + b"".join(b".%07d" % n + b"z" * 70 + b"\r\n" for n in range(4000))
    assert len(large) > SYNC_READ_MAX
    pop3.deliver("alice", small)
    pop3.deliver("alice", large)
    with RawClient(pop3.port) as client:
        login_raw(client, pop3.client_context)
        client.send(b"RETR 2\r\nRETR 1\r\nRETR 2\r\n")
        for message in (large, small, large):
            status = client.line()
            assert status.startswith(b"+OK")
            assert client.multi() == [b"." + line if line.startswith(b".") else line for line in wire_lines(message)]
