"""The reference server as a user meets it: `serve` in a child process, real sockets, real Maildir.

Clients this project did not write (Python's smtplib, swaks from Debian) deliver to it;
Python's mailbox.Maildir reads what was stored, and the stored bytes must equal what
was sent apart from the trace header fields the server prepends (RFC 5321 §4.4). A
SIGKILL right after a stream of 250 replies must lose none of the acknowledged messages.
"""

from __future__ import annotations

import email.utils
import mailbox
import shutil
import smtplib
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.targets import ReferenceServer, Target

TRACE_FIELDS = (b"return-path:", b"received:")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[ReferenceServer, Target]]:
    reference = ReferenceServer(mail_root=tmp_path / "mail")
    target = reference.start()
    try:
        yield reference, target
    finally:
        reference.stop()


def client_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the reference server's certificate is self-signed at start
    return context


def message(subject: str, body: str = "Hello Bob.\r\n") -> bytes:
    return (
        f"From: Alice <alice@example.test>\r\nTo: Bob <bob@example.test>\r\nSubject: {subject}\r\n"
        f"Date: {email.utils.formatdate()}\r\nMessage-ID: {email.utils.make_msgid()}\r\n\r\n{body}"
    ).encode()


def without_trace(stored: bytes) -> bytes:
    """Drop the leading Return-Path:/Received: fields (with continuation lines) the server adds."""
    lines = stored.splitlines(keepends=True)
    index = 0
    while index < len(lines) and lines[index].lower().startswith(TRACE_FIELDS):
        index += 1
        while index < len(lines) and lines[index][:1] in (b" ", b"\t"):
            index += 1
    return b"".join(lines[index:])


def inbox(target_root: Path, user: str) -> list[bytes]:
    box = mailbox.Maildir(target_root / "users" / user / "Maildir", factory=None, create=False)
    return [box.get_bytes(key) for key in box.iterkeys()]


def test_smtplib_plain_delivery_is_byte_exact(server: tuple[ReferenceServer, Target]) -> None:
    reference, target = server
    endpoint = target.endpoints["smtp"]
    sent = message("plain", "Line one.\r\n.Leading dot survives.\r\n\r\nLast line.\r\n")
    with smtplib.SMTP(endpoint.host, endpoint.port, timeout=10) as client:
        refused = client.sendmail("alice@example.test", ["bob@example.test"], sent)
    assert refused == {}
    stored = inbox(reference.mail_root, "bob")
    assert len(stored) == 1
    assert stored[0].startswith(b"Return-Path: <alice@example.test>\r\n")
    assert b"\r\nReceived: " in stored[0].split(b"\r\n\r\n", 1)[0] + b"\r\n"
    assert without_trace(stored[0]) == sent


def test_smtplib_starttls_and_auth_on_submission(server: tuple[ReferenceServer, Target]) -> None:
    reference, target = server
    endpoint = target.endpoints["submission"]
    sent = message("submitted")
    with smtplib.SMTP(endpoint.host, endpoint.port, timeout=10) as client:
        client.ehlo()
        assert client.has_extn("starttls")
        client.starttls(context=client_context())
        client.ehlo()
        client.login("alice", "alicepw")
        client.sendmail("alice@example.test", ["bob@example.test"], sent)
    stored = inbox(reference.mail_root, "bob")
    assert [without_trace(s) for s in stored] == [sent]
    assert b"ESMTPSA" in stored[0]  # RFC 3848: the trace says TLS and authentication were used


def test_submission_refuses_bad_credentials_and_mail_without_auth(server: tuple[ReferenceServer, Target]) -> None:
    _, target = server
    endpoint = target.endpoints["submission"]
    with smtplib.SMTP(endpoint.host, endpoint.port, timeout=10) as client:
        client.starttls(context=client_context())
        with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
            client.login("alice", "wrong")
        assert refused.value.smtp_code == 535
        assert b"wrong" not in refused.value.smtp_error  # reply text never carries credentials
        with pytest.raises(smtplib.SMTPSenderRefused) as no_auth:
            client.sendmail("alice@example.test", ["bob@example.test"], message("x"))
        assert no_auth.value.smtp_code == 530


def test_pipelined_transactions_in_one_packet(server: tuple[ReferenceServer, Target]) -> None:
    reference, target = server
    endpoint = target.endpoints["smtp"]
    bodies = [message(f"pipelined {n}") for n in range(3)]
    batch = (
        b"EHLO client.test\r\n"
        + b"".join(
            b"MAIL FROM:<alice@example.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n" + body + b".\r\n"
            for body in bodies
        )
        + b"QUIT\r\n"
    )
    with socket.create_connection((endpoint.host, endpoint.port), timeout=10) as sock:
        assert sock.recv(1000).startswith(b"220")
        sock.sendall(batch)
        received = b""
        while not received.endswith(b"\r\n") or b"\r\n221" not in b"\r\n" + received:
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
    codes = [line[:3] for line in received.split(b"\r\n") if line[3:4] == b" "]
    assert codes == [b"250"] + [b"250", b"250", b"354", b"250"] * 3 + [b"221"]
    assert sorted(without_trace(s) for s in inbox(reference.mail_root, "bob")) == sorted(bodies)


@pytest.mark.skipif(shutil.which("swaks") is None, reason="swaks is not installed (CI installs it from Debian)")
def test_swaks_delivers(server: tuple[ReferenceServer, Target]) -> None:
    reference, target = server
    endpoint = target.endpoints["smtp"]
    done = subprocess.run(
        [
            "swaks",
            "--server",
            f"{endpoint.host}:{endpoint.port}",
            "--from",
            "alice@example.test",
            "--to",
            "bob@example.test",
            "--header",
            "Subject: from swaks",
            "--body",
            "swaks body",
            "-tls",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    stored = inbox(reference.mail_root, "bob")
    assert len(stored) == 1
    assert b"Subject: from swaks" in stored[0]
    assert b"with ESMTPS" in stored[0]


def test_kill_9_after_250_loses_no_message(server: tuple[ReferenceServer, Target]) -> None:
    """RFC 5321 §6.1: a 250 after the data is a promise; SIGKILL right after it must not break it.

    This kills the process, not the machine, so it checks that 250 is sent only after the
    message is in the Maildir (rename done); the fsync before 250 is what extends the same
    promise to a power loss, and is checked by the storage tests' ordering.
    """
    reference, target = server
    endpoint = target.endpoints["smtp"]
    acknowledged: list[str] = []
    with smtplib.SMTP(endpoint.host, endpoint.port, timeout=10) as client:
        deadline = time.monotonic() + 2.0
        count = 0
        while time.monotonic() < deadline and count < 300:
            count += 1
            subject = f"durable {count}"
            client.sendmail("alice@example.test", ["bob@example.test"], message(subject))
            acknowledged.append(subject)
        assert reference.process is not None
        reference.process.kill()  # SIGKILL, right after the last 250
        reference.process.wait(10)
    stored_subjects = []
    for data in inbox(reference.mail_root, "bob"):
        for line in data.split(b"\r\n"):
            if line.startswith(b"Subject: "):
                stored_subjects.append(line[len(b"Subject: ") :].decode())
    assert sorted(stored_subjects) == sorted(acknowledged)
