"""The SMTP server over real loopback sockets: smtplib for the happy paths, raw sockets for the rest."""

from __future__ import annotations

import base64
import re
import smtplib
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import pytest
import trustme

from reference_server.faults import Faults
from reference_server.smtp.server import Timeouts
from reference_server.smtp.state import SessionSettings
from tests.reference_server.smtp_support import HOSTNAME, FakeStore, ServerThread

MESSAGE: Final = (
    b"From: Alice <alice@example.test>\r\n"
    b"To: Bob <bob@example.test>\r\n"
    b"Cc: carol@elsewhere.example\r\n"
    b"Subject: conformance\r\n"
    b"\r\n"
    b"first line\r\n"
    b".a line that starts with a dot\r\n"
    b"..two dots\r\n"
    b"\xc3\xa9 eight-bit text\r\n"
)


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def server_tls(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert(HOSTNAME, "127.0.0.1").configure_cert(context)
    return context


@pytest.fixture(scope="module")
def client_tls(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


def settings(**overrides: Any) -> SessionSettings:
    values: dict[str, Any] = {"hostname": HOSTNAME, "max_message_size": 100_000}
    values.update(overrides)
    if "faults" in values and not isinstance(values["faults"], Faults):
        values["faults"] = Faults.of(values["faults"])
    return SessionSettings(**values)


@pytest.fixture
def store(tmp_path: Path) -> FakeStore:
    return FakeStore(tmp_path / "mail")


@pytest.fixture
def server(store: FakeStore, server_tls: ssl.SSLContext) -> Iterator[ServerThread]:
    with ServerThread(settings(tls_available=True), store, ssl_context=server_tls) as running:
        yield running


class Raw:
    """A line-level SMTP client on a plain socket, for what smtplib will not send."""

    def __init__(self, port: int) -> None:
        self.sock: socket.socket | ssl.SSLSocket = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buffer = b""

    def __enter__(self) -> Raw:
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _line(self) -> bytes:
        while b"\r\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError(self.buffer)
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line

    def reply(self) -> tuple[int, list[str]]:
        """One whole reply (RFC 5321 §4.2.1): lines up to the one with SP after the code."""
        lines = []
        while True:
            line = self._line()
            assert re.match(rb"[2-5]\d\d[ -]", line + b" "), line
            lines.append(line[4:].decode("utf-8", "replace"))
            if line[3:4] in (b" ", b""):
                return int(line[:3]), lines

    def code(self) -> int:
        return self.reply()[0]

    def closed_by_server(self) -> bool:
        try:
            return self.sock.recv(1) == b""
        except ConnectionResetError:
            return True

    def start_tls(self, context: ssl.SSLContext) -> None:
        assert not self.buffer
        self.sock = context.wrap_socket(self.sock, server_hostname="127.0.0.1")


def delivered(store: FakeStore, user: str) -> list[bytes]:
    return store.messages(user)


def split_trace(message: bytes) -> tuple[list[bytes], bytes]:
    """Leading trace fields (Return-Path, Received, with folding) and the rest."""
    fields: list[bytes] = []
    rest = message
    while rest.startswith((b"Return-Path:", b"Received:")):
        end = re.search(rb"\r?\n(?![ \t])", rest)
        assert end is not None
        fields.append(rest[: end.start()])
        rest = rest[end.end() :]
    return fields, rest


# --- the happy paths with smtplib ----------------------------------------------------------


def test_plain_send_is_stored_with_only_trace_fields_added(server: ServerThread, store: FakeStore) -> None:
    with smtplib.SMTP("127.0.0.1", server.port, timeout=10) as client:
        refused = client.sendmail("alice@example.test", ["bob@example.test"], MESSAGE)
        assert refused == {}
    (stored,) = delivered(store, "bob")
    fields, rest = split_trace(stored)
    assert rest == MESSAGE  # smtplib stuffed the leading dots, the server removed them (§4.5.2)
    assert fields[0] == b"Return-Path: <alice@example.test>"  # §4.4: final delivery
    assert fields[1].startswith(b"Received: from ")  # §4.4: the time stamp line
    assert b"by " + HOSTNAME.encode() in fields[1] and b"with ESMTP " in fields[1]
    assert b"[127.0.0.1]" in fields[1]
    assert delivered(store, "alice") == []  # To:/Cc: decide nothing; the envelope does
    assert store.open_spools() == []


def test_smtplib_dot_stuffing_round_trip(server: ServerThread, store: FakeStore) -> None:
    """§4.5.2: what the client stuffed, the server unstuffs: the text arrives unchanged."""
    text = b"Subject: dots\r\n\r\n.\r\n..\r\n.x\r\nend\r\n"
    with smtplib.SMTP("127.0.0.1", server.port, timeout=10) as client:
        client.sendmail("alice@example.test", ["bob@example.test"], text)
    assert split_trace(delivered(store, "bob")[0])[1] == text


def test_starttls_auth_plain_and_login(server: ServerThread, store: FakeStore, client_tls: ssl.SSLContext) -> None:
    with smtplib.SMTP("127.0.0.1", server.port, timeout=10) as client:
        client.ehlo("client.example.org")
        assert client.has_extn("starttls") and not client.has_extn("auth")
        with pytest.raises(smtplib.SMTPNotSupportedError):
            client.login("alice", "alicepw")
        client.starttls(context=client_tls)
        client.ehlo("client.example.org")
        assert not client.has_extn("starttls")  # RFC 3207 §4.2
        assert {"PLAIN", "LOGIN"} <= set(client.esmtp_features["auth"].upper().split())
        with pytest.raises(smtplib.SMTPAuthenticationError) as failed:
            client.login("alice", "wrong")
        assert failed.value.smtp_code == 535
        code, _ = client.login("alice", "alicepw")
        assert code == 235
        client.sendmail("alice@example.test", ["bob@example.test"], MESSAGE)
    (stored,) = delivered(store, "bob")
    assert b"with ESMTPSA " in split_trace(stored)[0][1]  # RFC 4954 §7, RFC 3848

    with smtplib.SMTP("127.0.0.1", server.port, timeout=10) as client:
        client.starttls(context=client_tls)
        client.ehlo()
        client.user, client.password = "bob", "bobpw"
        code, _ = client.auth("LOGIN", client.auth_login)
        assert code == 235


def test_submission_requires_auth(store: FakeStore, server_tls: ssl.SSLContext, client_tls: ssl.SSLContext) -> None:
    """RFC 6409 §4.3: MAIL without authentication is refused (530)."""
    submission = settings(submission=True, tls_available=True)
    with (
        ServerThread(submission, store, ssl_context=server_tls) as running,
        smtplib.SMTP("127.0.0.1", running.port, timeout=10) as client,
    ):
        client.starttls(context=client_tls)
        client.ehlo()
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:
            client.sendmail("alice@example.test", ["bob@example.test"], MESSAGE)
        assert refused.value.smtp_code == 530
        client.login("alice", "alicepw")
        client.sendmail("alice@example.test", ["bob@example.test"], MESSAGE)
    assert len(delivered(store, "bob")) == 1


def test_implicit_tls_listener(store: FakeStore, server_tls: ssl.SSLContext, client_tls: ssl.SSLContext) -> None:
    with (
        ServerThread(settings(tls_available=False), store, ssl_context=server_tls, implicit_tls=True) as running,
        smtplib.SMTP_SSL("127.0.0.1", running.port, timeout=10, context=client_tls) as client,
    ):
        client.ehlo()
        assert client.has_extn("auth") and not client.has_extn("starttls")
        client.login("bob", "bobpw")
        client.sendmail("bob@example.test", ["alice@example.test"], MESSAGE)
    assert b"with ESMTPSA " in delivered(store, "alice")[0]


def test_concurrent_clients(server: ServerThread, store: FakeStore) -> None:
    errors: list[BaseException] = []

    def send(index: int) -> None:
        try:
            with smtplib.SMTP("127.0.0.1", server.port, timeout=10) as client:
                for n in range(3):
                    client.sendmail(
                        "x@example.org", ["alice@example.test"], b"Subject: %d-%d\r\n\r\nhi\r\n" % (index, n)
                    )
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors
    assert len(delivered(store, "alice")) == 30


# --- pipelining (RFC 2920) ---------------------------------------------------------------------------


def test_pipelined_group_in_one_packet(server: ServerThread, store: FakeStore) -> None:
    """§3.2: replies in command order, nothing lost, message data may open the next group."""
    with Raw(server.port) as raw:
        assert raw.code() == 220
        raw.send(b"EHLO client.example.org\r\n")
        assert raw.code() == 250
        raw.send(
            b"MAIL FROM:<alice@example.test>\r\nRCPT TO:<bob@example.test>\r\n"
            b"RCPT TO:<nobody@example.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n"
        )
        assert [raw.code() for _ in range(5)] == [250, 250, 550, 250, 354]
        raw.send(b"Subject: one\r\n\r\nbody\r\n.\r\nMAIL FROM:<>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n")
        assert [raw.code() for _ in range(4)] == [250, 250, 250, 354]
        raw.send(b"Subject: two\r\n\r\n.\r\nQUIT\r\n")
        assert [raw.code() for _ in range(2)] == [250, 221]
        assert raw.closed_by_server()
    assert len(delivered(store, "bob")) == 2 and len(delivered(store, "alice")) == 1
    assert split_trace(delivered(store, "bob")[1])[0][0] == b"Return-Path: <>"


def test_bdat_chunks_are_binary_exact(server: ServerThread, store: FakeStore) -> None:
    """RFC 3030: chunks counted, not scanned; no dot-stuffing; bare LF and NUL preserved."""
    payload = b"Subject: bin\r\n\r\n.\r\n\x00\nline\r.\r\n"
    with Raw(server.port) as raw:
        raw.code()
        raw.send(b"EHLO c.example\r\n")
        raw.code()
        raw.send(b"MAIL FROM:<a@example.org> BODY=BINARYMIME\r\nRCPT TO:<alice@example.test>\r\n")
        assert [raw.code(), raw.code()] == [250, 250]
        raw.send(b"BDAT %d\r\n" % 10 + payload[:10] + b"BDAT %d LAST\r\n" % (len(payload) - 10) + payload[10:])
        assert [raw.code(), raw.code()] == [250, 250]
        raw.send(b"BDAT 4 LAST\r\nQUIT")  # no transaction: read the 4 octets, then 503
        assert raw.code() == 503
    assert split_trace(delivered(store, "alice")[0])[1] == payload


# --- bad input: the session (and the server) go on -----------------------------------------------------


def test_garbage_long_lines_and_nul(server: ServerThread) -> None:
    with Raw(server.port) as raw:
        raw.code()
        raw.send(b"\x00\xff\xfe garbage\r\n")
        assert raw.code() == 500
        raw.send(b"NOOP " + b"x" * 100_000 + b"\r\n")  # §4.5.3.1.4: 500, consumed without buffering
        assert raw.code() == 500
        raw.send(b"EHLO c.example\r\nMAIL FROM:<a\x00b@example.org>\r\n")
        assert [raw.code(), raw.code()] == [250, 501]
        raw.send(b"NOOP\r\n")
        assert raw.code() == 250


def test_data_smuggling_is_not_an_end(server: ServerThread, store: FakeStore) -> None:
    """§4.1.1.4: <LF>.<LF> MUST NOT end the data; the 'smuggled' MAIL is message text."""
    with Raw(server.port) as raw:
        raw.code()
        raw.send(b"EHLO c.example\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n")
        assert [raw.code() for _ in range(4)] == [250, 250, 250, 354]
        raw.send(b"Subject: x\r\n\r\nhi\n.\nMAIL FROM:<evil@example.org>\r\nRCPT TO:<alice@example.test>\r\n")
        raw.send(b"DATA\r\nsmuggled\r\n.\r\nNOOP\r\n")
        reply = raw.reply()
        assert reply[0] == 550 and reply[1][0].startswith("5.6.")  # bare LF rejected after the end
        assert raw.code() == 250  # the NOOP: nothing in between was run as a command
    assert delivered(store, "alice") == [] and delivered(store, "bob") == []
    assert store.open_spools() == []


def test_message_too_big_is_552_after_the_data(store: FakeStore) -> None:
    with ServerThread(settings(max_message_size=2000), store) as running, Raw(running.port) as raw:
        raw.code()
        raw.send(b"EHLO c.example\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n")
        assert [raw.code() for _ in range(4)] == [250, 250, 250, 354]
        for _ in range(50):
            raw.send(b"y" * 998 + b"\r\n")
        raw.send(b".\r\nNOOP\r\n")
        assert [raw.code(), raw.code()] == [552, 250]
    assert delivered(store, "bob") == [] and store.open_spools() == []


def test_storage_failure_is_451(store: FakeStore) -> None:
    store.fail_deliveries = True
    with ServerThread(settings(), store) as running, smtplib.SMTP("127.0.0.1", running.port, timeout=10) as client:
        with pytest.raises(smtplib.SMTPDataError) as failed:
            client.sendmail("a@example.org", ["bob@example.test"], MESSAGE)
        assert failed.value.smtp_code == 451
        assert client.noop()[0] == 250


class ExplodingStore(FakeStore):
    def open_incoming(self) -> Any:
        raise RuntimeError("unexpected bug (test)")


def test_unexpected_error_is_421_for_that_session_only(tmp_path: Path) -> None:
    """One last-resort handler: 421 4.3.0 to the client, a log line, other sessions unharmed."""
    store = ExplodingStore(tmp_path / "mail")
    with ServerThread(settings(), store) as running, Raw(running.port) as bystander:
        assert bystander.code() == 220
        with Raw(running.port) as raw:
            raw.code()
            raw.send(b"EHLO c.example\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n")
            assert [raw.code() for _ in range(4)] == [250, 250, 250, 354]
            code, lines = raw.reply()
            assert (code, lines[0].split(" ")[0]) == (421, "4.3.0")
            assert "Traceback" not in " ".join(lines)
            assert raw.closed_by_server()
        bystander.send(b"NOOP\r\n")
        assert bystander.code() == 250


def test_max_sessions(store: FakeStore) -> None:
    with ServerThread(settings(), store, max_sessions=1) as running, Raw(running.port) as first:
        assert first.code() == 220
        with Raw(running.port) as second:
            assert second.code() == 421
            assert second.closed_by_server()
        first.send(b"NOOP\r\n")
        assert first.code() == 250


def test_idle_timeout_is_421(store: FakeStore) -> None:
    """§4.5.3.2.7 / §3.8: after the timeout, 421 and close."""
    timeouts = Timeouts(command=5, data=5, idle=0.3)
    with ServerThread(settings(), store, timeouts=timeouts) as running, Raw(running.port) as raw:
        raw.code()
        started = time.monotonic()
        assert raw.code() == 421
        assert time.monotonic() - started < 5
        assert raw.closed_by_server()


def test_idle_timeout_counts_from_the_last_command(store: FakeStore) -> None:
    """§4.5.3.2: the timeout is per wait; activity restarts it, a quiet client still gets 421."""
    idle = 0.6
    timeouts = Timeouts(command=idle, data=idle, idle=idle)
    with ServerThread(settings(), store, timeouts=timeouts) as running, Raw(running.port) as raw:
        assert raw.code() == 220
        started = time.monotonic()
        for _ in range(4):  # 4 x 0.3 s of activity: twice the timeout in all, never idle for it
            time.sleep(idle / 2)
            raw.send(b"NOOP\r\n")
            assert raw.code() == 250
        assert time.monotonic() - started > idle
        last = time.monotonic()
        assert raw.code() == 421
        assert idle * 0.9 <= time.monotonic() - last < 5
        assert raw.closed_by_server()


def test_client_vanishing_mid_data_leaves_no_spool(server: ServerThread, store: FakeStore) -> None:
    with Raw(server.port) as raw:
        raw.code()
        raw.send(b"EHLO c.example\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n")
        assert [raw.code() for _ in range(4)] == [250, 250, 250, 354]
        raw.send(b"Subject: half\r\n\r\npartial")
    deadline = time.monotonic() + 5
    while server.registry.count and time.monotonic() < deadline:  # until the session has ended
        time.sleep(0.02)
    assert server.registry.count == 0 and store.opened  # the spool had been opened for the DATA
    assert store.open_spools() == []
    assert delivered(store, "bob") == []


def test_data_timeout_is_421_and_the_partial_message_is_dropped(store: FakeStore) -> None:
    """§4.5.3.2, §3.8: a client silent in the middle of its data gets 421; nothing half-received is kept."""
    timeouts = Timeouts(command=5, data=0.3, idle=5)
    with ServerThread(settings(), store, timeouts=timeouts) as running, Raw(running.port) as raw:
        raw.code()
        raw.send(b"EHLO c.example\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n")
        assert [raw.code() for _ in range(4)] == [250, 250, 250, 354]
        raw.send(b"Subject: half\r\n\r\npartial")
        started = time.monotonic()
        assert raw.code() == 421
        assert time.monotonic() - started < 5
        assert raw.closed_by_server()
    assert store.opened and store.open_spools() == []
    assert delivered(store, "bob") == []


def test_shutdown_sends_421(store: FakeStore) -> None:
    """§3.8: a server that is shut down SHOULD send 421 first."""
    running = ServerThread(settings(), store)
    with running, Raw(running.port) as raw:
        raw.code()
        running.stop()
        assert raw.code() == 421
        assert raw.closed_by_server()


# --- STARTTLS command injection (RFC 3207 §6) -------------------------------------------------------------------


@pytest.mark.parametrize("fault", [None, "smtp.starttls-buffered-commands-kept"])
def test_plaintext_after_starttls_is_discarded(
    fault: str | None, store: FakeStore, server_tls: ssl.SSLContext, client_tls: ssl.SSLContext
) -> None:
    faults = [fault] if fault else []
    with (
        ServerThread(settings(tls_available=True, faults=faults), store, ssl_context=server_tls) as running,
        Raw(running.port) as raw,
    ):
        raw.code()
        raw.send(b"EHLO c.example\r\n")
        raw.code()
        raw.send(b"STARTTLS\r\nNOOP injected\r\n")
        assert raw.code() == 220
        raw.start_tls(client_tls)
        raw.send(b"EHLO c.example\r\n")
        first = raw.reply()
        if fault is None:
            assert first[0] == 250 and first[1][0].startswith(HOSTNAME)  # the EHLO reply
        else:
            assert first[1][0].startswith("2.0.0")  # the injected NOOP ran inside TLS


def test_fault_pipelining_input_flushed(store: FakeStore) -> None:
    """RFC 2920 §3.2 (9): the input buffer MUST NOT be flushed when a command fails."""
    for faults, expected in (([], 250), (["smtp.pipelining-input-flushed"], 504)):
        with ServerThread(settings(faults=faults), store) as running, Raw(running.port) as raw:
            raw.code()
            raw.send(b"EHLO c.example\r\nMAIL FROM:<a@example.org>\r\n")
            assert [raw.code(), raw.code()] == [250, 250]
            raw.send(b"RCPT TO:<nobody@example.test>\r\nVRFY alice\r\n")
            assert raw.code() == 550
            raw.send(b"HELP NO-SUCH-TOPIC\r\n")
            assert raw.code() == expected  # 250 from VRFY, or 504 from HELP if VRFY was lost


def test_auth_initial_response_never_logged(
    server: ServerThread, client_tls: ssl.SSLContext, caplog: pytest.LogCaptureFixture
) -> None:
    secret = base64.b64encode(b"\0alice\0alicepw")
    # the level must be set before the session starts: it is read once per session
    with caplog.at_level("DEBUG", logger="reference_server.smtp.server"), Raw(server.port) as raw:
        raw.code()
        raw.send(b"EHLO c.example\r\nSTARTTLS\r\n")
        assert [raw.code(), raw.code()] == [250, 220]
        raw.start_tls(client_tls)
        raw.send(b"EHLO c.example\r\nAUTH PLAIN " + secret + b"\r\n")
        assert [raw.code(), raw.code()] == [250, 235]
        raw.send(b"AUTH LOGIN\r\n")
        assert raw.code() == 503
    text = caplog.text
    assert ">>" in text and "<<" in text
    assert secret.decode() not in text and "alicepw" not in text


def test_fault_replies_held_while_input_pending(store: FakeStore) -> None:
    """RFC 2920 §3.2 (5): the NOOP reply is not held while the next command line is incomplete."""
    for faults in ([], ["smtp.replies-held-while-input-pending"]):
        with ServerThread(settings(faults=faults), store) as running, Raw(running.port) as raw:
            raw.code()
            raw.send(b"NOOP\r\nNOO")
            raw.sock.settimeout(0.5)
            if faults:
                with pytest.raises(TimeoutError):
                    raw.code()
            else:
                assert raw.code() == 250
            raw.sock.settimeout(10)
            raw.send(b"P\r\n")
            assert [raw.code() for _ in range(2 if faults else 1)] == [250] * (2 if faults else 1)


def test_fault_pipelining_group_held_until_data(store: FakeStore) -> None:
    """RFC 2920 §3.2 (7): pending replies are sent when no more input is buffered."""
    for faults in ([], ["smtp.pipelining-group-held-until-data"]):
        with ServerThread(settings(faults=faults), store) as running, Raw(running.port) as raw:
            raw.code()
            raw.send(b"EHLO c.example\r\n")
            assert raw.code() == 250
            raw.send(b"MAIL FROM:<a@example.org>\r\nRCPT TO:<alice@example.test>\r\n")
            raw.sock.settimeout(0.5)
            if faults:
                with pytest.raises(TimeoutError):
                    raw.code()
                raw.sock.settimeout(10)
                raw.send(b"DATA\r\n")
                assert [raw.code(), raw.code(), raw.code()] == [250, 250, 354]
            else:
                assert [raw.code(), raw.code()] == [250, 250]


def test_fault_command_lines_split_on_any_newline(store: FakeStore) -> None:
    """§2.3.8: only CRLF ends a command line; "NOOP<LF>NOOP<CRLF>" is one line, one reply."""
    for faults, expected in (([], 1), (["smtp.command-lines-split-on-any-newline"], 2)):
        with ServerThread(settings(faults=faults), store) as running, Raw(running.port) as raw:
            raw.code()
            raw.send(b"NOOP\nNOOP\r\nQUIT\r\n")
            replies_: list[int] = []
            while not replies_ or replies_[-1] != 221:
                replies_.append(raw.code())
            assert len(replies_) - 1 == expected, replies_


def test_fault_input_after_data_dropped(store: FakeStore) -> None:
    """RFC 2920 §3.2 (9): a command that arrives with the end of the data is not lost."""
    for faults, after in (([], 250), (["smtp.input-after-data-dropped"], 221)):
        with ServerThread(settings(faults=faults), store) as running, Raw(running.port) as raw:
            raw.code()
            raw.send(b"EHLO c.example\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n")
            assert [raw.code() for _ in range(4)] == [250, 250, 250, 354]
            raw.send(b"Subject: x\r\n\r\nbody\r\n.\r\nNOOP\r\n")
            assert raw.code() == 250
            raw.send(b"QUIT\r\n")
            assert raw.code() == after  # the NOOP's 250, or QUIT's 221 when the NOOP was lost
